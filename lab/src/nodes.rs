//! Node-level runs of one model on one instance: per-node latency tables (analytic or read
//! from a CSV) and the scheduling policies by name.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use migsched_out::read_text;
use migsched_perf::analytic::AnalyticParams;
use migsched_perf::zoo::{ZooOptions, build};
use migsched_sim::lazy::{NodeProfile, NodeRow, Policy};

use crate::Env;

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
