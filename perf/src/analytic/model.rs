//! Whole-model figures: latency of one batch on one process, throughput of the instance, and
//! memory of the instance, for a zoo graph on a MIG profile shared by `k` MPS processes.
//!
//! - **Latency** is the sum of the node times in the graph's execution order: one CUDA stream
//!   per process, no concurrency between nodes.
//! - **Throughput** of the instance is `k · b / latency`: the `k` processes run concurrently,
//!   each on its [`ProcessShare`].
//! - **Memory** of the instance is `k · (context + weights) + k · b · peak live activation
//!   bytes per sample · activation_factor`: every process holds its own CUDA context and its own
//!   copy of the weights (MPS clients are separate processes), and its activations at the
//!   graph's peak of live tensors. A configuration whose memory exceeds the profile's
//!   `memory_gib` does not fit.

use migsched_core::catalog::{GpuType, Profile};
use serde::Serialize;

use super::error::AnalyticError;
use super::node::{NodeKind, NodeLatency, RawCost, node_kinds, node_rows, raw_costs};
use super::params::AnalyticParams;
use super::share::ProcessShare;
use crate::zoo::ModelGraph;

const MIB: f64 = 1024.0 * 1024.0;

/// The model's figures for one (graph, profile, batch, procs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEstimate {
    /// Latency of one batch on one process while all `procs` run, ms.
    pub latency_ms: f64,
    /// Samples per second of the whole instance, `procs · batch / latency`.
    pub throughput_rps: f64,
    /// Memory of the whole instance, MiB.
    pub memory_mib: f64,
    /// Memory of the profile, MiB (`memory_gib · 1024`).
    pub capacity_mib: f64,
    /// Whether `memory_mib ≤ capacity_mib`.
    pub fits: bool,
}

/// A graph with its fusion decided and its totals summed, reused across many configurations.
pub(crate) struct PreparedGraph<'g> {
    pub graph: &'g ModelGraph,
    pub kinds: Vec<NodeKind>,
    weight_bytes: f64,
    peak_activation_bytes_per_sample: f64,
}

impl<'g> PreparedGraph<'g> {
    pub fn new(graph: &'g ModelGraph, params: &AnalyticParams) -> Self {
        let totals = graph.totals();
        PreparedGraph {
            graph,
            kinds: node_kinds(graph, params.fuse_epilogues),
            weight_bytes: totals.weight_bytes as f64,
            peak_activation_bytes_per_sample: totals.peak_activation_bytes_per_sample as f64,
        }
    }

    /// Raw per-node costs (see [`RawCost`]).
    pub fn raw(&self, batch: u32, share: &ProcessShare, params: &AnalyticParams) -> Vec<RawCost> {
        raw_costs(self.graph, &self.kinds, batch, share, params)
    }

    /// Instance memory in MiB (see the module docs).
    pub fn memory_mib(&self, batch: u32, procs: u32, params: &AnalyticParams) -> f64 {
        let k = f64::from(procs);
        let per_process = params.context_mib + self.weight_bytes / MIB;
        let activations = f64::from(batch) * self.peak_activation_bytes_per_sample / MIB
            * params.activation_factor;
        k * per_process + k * activations
    }

    /// The whole-model estimate; arguments already checked.
    pub fn estimate(
        &self,
        profile: &Profile,
        batch: u32,
        procs: u32,
        share: &ProcessShare,
        params: &AnalyticParams,
    ) -> ModelEstimate {
        let latency_s: f64 = self
            .raw(batch, share, params)
            .iter()
            .map(|c| c.seconds(params))
            .sum();
        let memory_mib = self.memory_mib(batch, procs, params);
        let capacity_mib = profile.memory_gib() * 1024.0;
        ModelEstimate {
            latency_ms: latency_s * 1e3,
            throughput_rps: f64::from(procs) * f64::from(batch) / latency_s,
            memory_mib,
            capacity_mib,
            fits: memory_mib <= capacity_mib,
        }
    }
}

/// Checks the common arguments and builds the process share.
pub(crate) fn checked_share(
    gpu: &GpuType,
    profile: &Profile,
    batch: u32,
    procs: u32,
    params: &AnalyticParams,
) -> Result<ProcessShare, AnalyticError> {
    params.validate()?;
    if batch == 0 {
        return Err(AnalyticError::ZeroBatch);
    }
    ProcessShare::new(gpu, profile, procs)
}

/// Latency, throughput and memory of serving `graph` with batches of `batch` on an instance of
/// `profile` (one of `gpu`'s profiles) shared by `procs` MPS processes. The estimate is returned
/// whether or not it fits in memory; [`ModelEstimate::fits`] says which.
pub fn estimate(
    graph: &ModelGraph,
    gpu: &GpuType,
    profile: &Profile,
    batch: u32,
    procs: u32,
    params: &AnalyticParams,
) -> Result<ModelEstimate, AnalyticError> {
    let share = checked_share(gpu, profile, batch, procs, params)?;
    Ok(PreparedGraph::new(graph, params).estimate(profile, batch, procs, &share, params))
}

/// The modelled latency of every node of `graph` (in execution order, inputs and fused nodes
/// included at zero) for one batch on one of `procs` processes sharing an instance of
/// `profile`: the per-node profile a node-level batching scheduler needs. Their sum is
/// [`estimate`]'s latency.
pub fn node_latencies(
    graph: &ModelGraph,
    gpu: &GpuType,
    profile: &Profile,
    batch: u32,
    procs: u32,
    params: &AnalyticParams,
) -> Result<Vec<NodeLatency>, AnalyticError> {
    let share = checked_share(gpu, profile, batch, procs, params)?;
    let raw = PreparedGraph::new(graph, params).raw(batch, &share, params);
    Ok(node_rows(graph, &raw, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::{ZooOptions, build};
    use migsched_core::catalog::Catalog;

    fn graph(name: &str) -> ModelGraph {
        build(name, &ZooOptions::default()).unwrap()
    }

    fn a100() -> &'static GpuType {
        Catalog::builtin().gpu("a100-80gb").unwrap()
    }

    fn profile<'a>(gpu: &'a GpuType, name: &str) -> &'a Profile {
        gpu.profile(gpu.profile_by_name(name).unwrap())
    }

    #[test]
    fn node_latencies_add_up_to_the_model_latency() {
        let g = graph("resnet50");
        let gpu = a100();
        let p = profile(gpu, "3g.40gb");
        let params = AnalyticParams::default();
        let nodes = node_latencies(&g, gpu, p, 8, 2, &params).unwrap();
        assert_eq!(nodes.len(), g.nodes().len());
        let sum_ms: f64 = nodes.iter().map(|n| n.latency_us).sum::<f64>() / 1e3;
        let e = estimate(&g, gpu, p, 8, 2, &params).unwrap();
        assert!((sum_ms - e.latency_ms).abs() < 1e-9 * e.latency_ms);
        assert!((e.throughput_rps - 2.0 * 8.0 / (e.latency_ms / 1e3)).abs() < 1e-6);
        for n in &nodes {
            let expected = n.compute_us.max(n.memory_us) + n.overhead_us;
            assert!((n.latency_us - expected).abs() < 1e-9, "{}", n.name);
            assert_eq!(n.overhead_us > 0.0, n.kind.is_kernel(), "{}", n.name);
        }
    }

    #[test]
    fn memory_follows_the_documented_convention() {
        let g = graph("resnet50");
        let totals = g.totals();
        let params = AnalyticParams::default();
        let gpu = a100();
        let e = estimate(&g, gpu, profile(gpu, "7g.80gb"), 16, 3, &params).unwrap();
        let expected = 3.0 * (512.0 + totals.weight_bytes as f64 / MIB)
            + 3.0 * 16.0 * totals.peak_activation_bytes_per_sample as f64 / MIB * 2.0;
        assert!((e.memory_mib - expected).abs() < 1e-9, "{e:?}");
        assert!(e.fits);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let g = graph("mobilenetv2");
        let gpu = a100();
        let p = profile(gpu, "1g.10gb");
        let params = AnalyticParams::default();
        assert_eq!(
            estimate(&g, gpu, p, 0, 1, &params).unwrap_err(),
            AnalyticError::ZeroBatch
        );
        assert_eq!(
            node_latencies(&g, gpu, p, 1, 0, &params).unwrap_err(),
            AnalyticError::ZeroProcs
        );
        let bad = AnalyticParams {
            bandwidth_efficiency: 2.0,
            ..AnalyticParams::default()
        };
        assert!(matches!(
            estimate(&g, gpu, p, 1, 1, &bad).unwrap_err(),
            AnalyticError::InvalidParam {
                field: "bandwidth_efficiency",
                ..
            }
        ));
    }
}
