//! `migsched simulate-nodes`: one model on one instance, run node by node (its layer graph's
//! kernels) under serial execution, graph batching or LazyBatching.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use migsched_lab::nodes::{NodeSchedulerArg, NodesSpec, simulate_nodes_files};

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

pub fn run(env: &Env, a: SimulateNodesArgs) -> Result<Outcome> {
    simulate_nodes_files(
        env,
        &NodesSpec {
            model: a.model,
            gpu: a.gpu,
            profile: a.profile,
            scheduler: a.scheduler,
            window_ms: a.window_ms,
            max_batch: a.max_batch,
            rate: a.rate,
            duration: a.duration,
            requests: a.requests,
            slo_ms: a.slo_ms,
            seed: a.seed,
            node_table: a.node_table,
            trace: a.trace,
            report: a.report,
            json: a.json,
        },
    )?;
    Ok(Outcome::Yes)
}
