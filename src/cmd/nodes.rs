//! `migsched simulate-nodes`: one model on one instance, run node by node (its layer graph's
//! kernels) under serial execution, graph batching or LazyBatching.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use migsched_core::metrics::RunMetrics;
use migsched_lab::nodes::{
    NodeSchedulerArg, analytic_node_profile, policy, read_node_table, slo_ns,
};
use migsched_out::{print_json, write_atomic};
use migsched_sim::Stop;
use migsched_sim::lazy::{
    Arrivals, NodeReport, NodeSimConfig, TraceRecorder, node_trace_header, simulate_nodes,
};
use serde::Serialize;

use super::{Env, Outcome};

pub const SIMULATE_NODES_HELP: &str = "\
Runs one model on one MIG instance as its sequence of graph nodes (the zoo's layer graph, one
kernel per node; per-node latency from the analytic model, or from --node-table) and reports
response time, throughput, p99 and SLA satisfaction. Schedulers: serial (one request at a
time), graph (Triton-style: a batch collected over --window-ms or up to --max-batch runs the
whole graph) and lazy (LazyBatching: node-level batching; late requests catch up with batches
in flight while every request's predicted slack stays non-negative).

--node-table FILE: a CSV with the header node,batch,latency_ms (nodes in order of first
appearance), covering batches up to --max-batch; replaces the analytic model.
Traces (--trace) carry the node table in their header and pass `migsched verify trace`.

Exit codes: 0 the run finished; 2 unusable input. Same inputs and seed, same output.

Examples:
  migsched simulate-nodes --model resnet50 --scheduler lazy --rate 500 --duration 10
  migsched simulate-nodes --model bert-base --profile 3g.40gb --scheduler graph --window-ms 10
  migsched simulate-nodes --model mobilenetv2 --scheduler lazy --trace t.jsonl --json
  migsched verify trace t.jsonl";

#[derive(Debug, Args)]
pub struct SimulateNodesArgs {
    /// Model of the zoo (see `migsched models`)
    #[arg(long, default_value = "resnet50")]
    model: String,
    /// GPU type
    #[arg(long, default_value = "a100-80gb")]
    gpu: String,
    /// MIG profile of the instance
    #[arg(long, default_value = "7g.80gb")]
    profile: String,
    /// Scheduler
    #[arg(long, value_enum, default_value = "lazy")]
    scheduler: NodeSchedulerArg,
    /// Graph batching: most time the oldest request waits for a fuller batch, ms
    #[arg(long, default_value_t = 10.0)]
    window_ms: f64,
    /// Largest batch of a kernel (graph, lazy)
    #[arg(long, default_value_t = 32)]
    max_batch: u32,
    /// Poisson arrivals, requests per second
    #[arg(long, default_value_t = 250.0)]
    rate: f64,
    /// Simulated seconds of arrivals (what is in flight then is served)
    #[arg(long, default_value_t = 10.0, conflicts_with = "requests")]
    duration: f64,
    /// Simulate this many requests instead of a duration
    #[arg(long)]
    requests: Option<u64>,
    /// Latency SLO of every request, ms
    #[arg(long, default_value_t = 50.0)]
    slo_ms: f64,
    /// Seed of the arrival stream
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Measured per-node latencies (CSV: node,batch,latency_ms) instead of the analytic model
    #[arg(long, value_name = "FILE")]
    node_table: Option<PathBuf>,
    /// Write the node-level event trace (JSON lines) here
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write the JSON report (with its `metrics` section, for `verify trace --metrics`) here
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct NodesJson<'a> {
    model: &'a str,
    gpu: &'a str,
    profile: &'a str,
    source: &'a str,
    rate_rps: f64,
    whole_model_ms_batch1: f64,
    report: &'a NodeReport,
    /// The serving metrics (`migsched_core::metrics`), which `verify trace --metrics` checks.
    metrics: RunMetrics,
}

pub fn run(env: &Env, args: SimulateNodesArgs) -> Result<Outcome> {
    if args.max_batch == 0 {
        bail!("--max-batch 0: expected at least 1");
    }
    let profile_batch = match args.scheduler {
        NodeSchedulerArg::Serial => 1,
        _ => args.max_batch,
    };
    let (profile, source) = match &args.node_table {
        Some(path) => (read_node_table(path, profile_batch)?, "node-table"),
        None => (
            analytic_node_profile(env, &args.model, &args.gpu, &args.profile, profile_batch)?,
            "analytic",
        ),
    };
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!(
            "--rate {}: expected a positive number of requests per second",
            args.rate
        );
    }
    let stop = match args.requests {
        Some(0) => bail!("--requests 0: expected at least 1"),
        Some(n) => Stop::Requests { n },
        None => {
            if !(args.duration.is_finite() && args.duration > 0.0 && args.duration < 1e6) {
                bail!(
                    "--duration {}: expected a positive number of seconds",
                    args.duration
                );
            }
            Stop::Duration {
                ns: (args.duration * 1e9).round() as u64,
                drain: true,
            }
        }
    };
    let config = NodeSimConfig {
        policy: policy(args.scheduler, args.window_ms, args.max_batch)?,
        slo_ns: slo_ns(args.slo_ms)?,
        arrivals: Arrivals::poisson(args.rate),
        stop,
        seed: args.seed,
    };
    let report = if let Some(path) = &args.trace {
        let mut rec = TraceRecorder::new(&args.model);
        let report = simulate_nodes(&profile, &config, &mut rec)?;
        let header = node_trace_header(&args.model, &args.profile, &profile, &config, &report);
        let mut text = serde_json::to_string(&header).context("encoding the trace header")?;
        text.push('\n');
        for e in rec.events() {
            text.push_str(&serde_json::to_string(e).context("encoding a trace event")?);
            text.push('\n');
        }
        write_atomic(path, &text)?;
        report
    } else {
        simulate_nodes(&profile, &config, &mut migsched_sim::NoObserver)?
    };
    let whole1 = profile.whole_ns(1) as f64 / 1e6;
    let summary = NodesJson {
        model: &args.model,
        gpu: &args.gpu,
        profile: &args.profile,
        source,
        rate_rps: args.rate,
        whole_model_ms_batch1: whole1,
        report: &report,
        metrics: report.run_metrics(&args.model),
    };
    if let Some(path) = &args.report {
        let mut text = serde_json::to_string_pretty(&summary).context("encoding the report")?;
        text.push('\n');
        write_atomic(path, &text)?;
    }
    if args.json {
        print_json(&summary)?;
    } else {
        let mut params = String::new();
        for (k, v) in &report.parameters {
            let _ = write!(params, " {k}={v}");
        }
        outln!(
            "{} on {} {} · {} nodes ({source}; {:.3} ms at batch 1) · {}{params} · {} req/s · SLO {} ms · seed {}",
            args.model,
            args.gpu,
            args.profile,
            report.nodes,
            whole1,
            report.policy,
            args.rate,
            report.slo_ms,
            report.seed
        );
        outln!(
            "requests {}  completed {}  SLA satisfaction {:.2}%  throughput {:.1}/s  goodput {:.1}/s",
            report.requests,
            report.completed,
            100.0 * report.slo_attainment,
            report.throughput_rps,
            report.goodput_rps
        );
        outln!(
            "response ms: mean {:.3}  p50 {:.3}  p99 {:.3}  max {:.3}",
            report.latency_ms.mean,
            report.latency_ms.p50,
            report.latency_ms.p99,
            report.latency_ms.max
        );
        outln!(
            "kernels {}  mean batch {:.2}  catch-up kernels {}  utilization {:.1}%",
            report.kernels,
            report.mean_batch,
            report.catch_up_kernels,
            100.0 * report.utilization
        );
    }
    Ok(Outcome::Yes)
}
