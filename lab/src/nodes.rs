//! Node-level runs of one model on one instance: per-node latency tables (analytic or read
//! from a CSV), the scheduling policies by name, and the `simulate-nodes` command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use migsched_core::metrics::RunMetrics;
use migsched_out::{Outputs, print_json, read_text};
use migsched_perf::analytic::AnalyticParams;
use migsched_perf::zoo::{ZooOptions, build};
use migsched_sim::Stop;
use migsched_sim::lazy::{Arrivals, NodeReport, NodeSimConfig, node_trace_header, simulate_nodes};
use migsched_sim::lazy::{NodeProfile, NodeRow, Policy};
use serde::Serialize;

use crate::Env;
use crate::observe::NodeTraceWriter;

/// Node-level schedulers on the command line.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum NodeSchedulerArg {
    /// One request at a time through the whole graph, first come first served
    Serial,
    /// Graph batching with a time window and a max batch (Triton's dynamic batcher)
    Graph,
    /// LazyBatching: node-level batching under the slack rule
    Lazy,
}

/// The analytic per-node profile of `model` on `gpu`'s `profile`, batches `1..=max_batch`.
pub fn analytic_node_profile(
    env: &Env,
    model: &str,
    gpu: &str,
    profile: &str,
    max_batch: u32,
) -> Result<NodeProfile> {
    let g = env.gpu(gpu)?;
    let p = g.profile(g.profile_by_name(profile)?);
    let graph = build(model, &ZooOptions::default()).with_context(|| format!("model '{model}'"))?;
    NodeProfile::from_graph(&graph, &g, p, max_batch, &AnalyticParams::default())
        .with_context(|| format!("node latencies of {model} on {gpu} {profile}"))
}

/// Reads a per-node table (CSV: node,batch,latency_ms).
pub fn read_node_table(path: &Path, max_batch: u32) -> Result<NodeProfile> {
    let text = read_text(path, "node table")?;
    let origin = path.display();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("{origin}: the file is empty; expected the header node,batch,latency_ms");
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    if cols != ["node", "batch", "latency_ms"] {
        bail!("{origin}: line 1: header '{header}', expected node,batch,latency_ms");
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let at = |field: &str, v: &str| format!("{origin}: line {}: field {field} = '{v}'", i + 1);
        if f.len() != 3 {
            bail!("{origin}: line {}: {} fields, expected 3", i + 1, f.len());
        }
        let batch: u32 = f[1]
            .parse()
            .with_context(|| at("batch", f[1]) + ": not a whole number")?;
        let latency_ms: f64 = f[2]
            .parse()
            .with_context(|| at("latency_ms", f[2]) + ": not a number")?;
        if !(latency_ms.is_finite() && latency_ms > 0.0) {
            bail!("{}: expected a positive number", at("latency_ms", f[2]));
        }
        rows.push(NodeRow {
            node: f[0].to_string(),
            batch,
            latency_ms,
        });
    }
    if rows.is_empty() {
        bail!("{origin}: no rows after the header");
    }
    NodeProfile::from_rows(&rows, max_batch).with_context(|| format!("{origin}"))
}

/// The policy for a scheduler argument.
pub fn policy(scheduler: NodeSchedulerArg, window_ms: f64, max_batch: u32) -> Result<Policy> {
    if !(window_ms.is_finite() && window_ms >= 0.0) {
        bail!("--window-ms {window_ms}: expected a number of ms, at least 0");
    }
    Ok(match scheduler {
        NodeSchedulerArg::Serial => Policy::Serial,
        NodeSchedulerArg::Graph => Policy::Graph {
            window_ns: window_ms * 1e6,
            max_batch,
        },
        NodeSchedulerArg::Lazy => Policy::Lazy { max_batch },
    })
}

/// An SLO in ms as whole ns, checked.
pub fn slo_ns(slo_ms: f64) -> Result<u64> {
    if !(slo_ms.is_finite() && slo_ms > 0.0 && slo_ms < 1e12) {
        bail!("--slo-ms {slo_ms}: expected a positive number of ms");
    }
    Ok(((slo_ms * 1e6).round() as u64).max(1))
}

/// The largest batch a node-level run accepts (its tables hold one row per batch size).
pub const MAX_NODE_BATCH: u32 = 4096;

/// `simulate-nodes`: the model, instance, scheduler, workload and outputs.
#[derive(Debug, Clone)]
pub struct NodesSpec {
    /// Zoo model.
    pub model: String,
    /// GPU type.
    pub gpu: String,
    /// MIG profile of the instance.
    pub profile: String,
    /// Scheduler.
    pub scheduler: NodeSchedulerArg,
    /// Graph batching window, ms.
    pub window_ms: f64,
    /// Largest batch of a kernel.
    pub max_batch: u32,
    /// Poisson arrivals per second.
    pub rate: f64,
    /// Simulated seconds of arrivals.
    pub duration: f64,
    /// Simulate this many requests instead.
    pub requests: Option<u64>,
    /// Latency SLO, ms.
    pub slo_ms: f64,
    /// Seed of the arrival stream.
    pub seed: u64,
    /// Measured per-node latencies instead of the analytic model.
    pub node_table: Option<PathBuf>,
    /// Where the trace goes.
    pub trace: Option<PathBuf>,
    /// Where the JSON report goes.
    pub report: Option<PathBuf>,
    /// Print one JSON object.
    pub json: bool,
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

/// Runs one model on one instance node by node, writes the trace and report `spec` asks for,
/// and prints the report.
pub fn simulate_nodes_files(env: &Env, args: &NodesSpec) -> Result<()> {
    let mut outputs = Outputs::new();
    for path in [&args.trace, &args.report].into_iter().flatten() {
        outputs.reserve(path)?;
    }
    if !(1..=MAX_NODE_BATCH).contains(&args.max_batch) {
        bail!(
            "--max-batch {}: expected 1..={MAX_NODE_BATCH}",
            args.max_batch
        );
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
        let mut writer = NodeTraceWriter::create(path, &args.model)?;
        let report = simulate_nodes(&profile, &config, &mut writer)?;
        let header = node_trace_header(&args.model, &args.profile, &profile, &config, &report);
        outputs.add_stream(writer.finish(&header)?)?;
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
        outputs.add(path, &crate::simulate::report_json(&summary)?)?;
    }
    outputs.commit()?;
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
    Ok(())
}
