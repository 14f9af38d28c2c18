//! Per-node latency: a roofline of the node's implicit GEMM with an SM-fill (wave-quantization)
//! efficiency, a memory-traffic bound, and a fixed per-kernel overhead.
//!
//! The time of a node that runs as a kernel, for a batch `b` on a process's [`ProcessShare`]
//! (`S` SMs, bandwidth `B`), is
//!
//! ```text
//! time = max(compute, memory) + kernel_overhead
//! compute = FLOPs(b) / (peak_per_SM · S · compute_efficiency · fill(b))      (GEMM nodes)
//! memory  = (b · (input + output bytes per sample) + weight bytes) / (B · bandwidth_efficiency)
//! ```
//!
//! **SM fill.** A GEMM of `M x N` output (M grows with the batch) is cut into output tiles of
//! `tile_m x tile_n`, one tile per SM per wave: `tiles = ceil(M/tile_m) · ceil(N/tile_n) ·
//! groups`, `waves = ceil(tiles / S)`. A wave takes as long as its largest tile, so
//! `compute = waves · tile FLOPs / (peak_per_SM · compute_efficiency)` with tile FLOPs
//! `2 · min(M, tile_m) · N/ceil(N/tile_n) · K`, and `fill = FLOPs / (waves · S · tile FLOPs)`:
//! the wave quantization `tiles / (waves · S)` times the occupancy of the tiles (the last row of
//! tiles may be partly empty). This is what makes a larger partition need a larger batch to
//! saturate. Two deliberate details:
//! - A GEMM smaller than one tile in M shrinks its tile to M rows (libraries pick narrow tiles or
//!   GEMV kernels for skinny products) rather than paying for a full tile.
//! - Once M spans several tiles, the partly filled last tile costs a full one. Averaging tile work
//!   instead (the plain `tiles / (waves · S)`) would make a batch one row past a tile boundary
//!   faster than the batch before it; with the largest tile setting the pace, latency never
//!   decreases with the batch. Columns are balanced over `ceil(N/tile_n)` tiles, as a library
//!   that picks a tile width dividing N would.
//!
//! **MPS.** With `k` processes on an instance of `S_i` SMs (`S = S_i/k` each), the waves of a
//! process's kernel are `max(ceil(tiles / S_i), tiles / S)`: a kernel is never faster than alone
//! on the whole instance (its own wave quantization), and beyond that the instance's SMs are a
//! fluid pool shared evenly, since unsynchronized clients fill each other's idle tail SMs. A
//! rigid `ceil(tiles / S)` would make 4 processes serve less than 3 whenever a kernel's tiles
//! just exceed a quarter of the instance, an artifact of assuming the processes run in
//! lockstep. With `k = 1` both are `ceil(tiles / S)`.
//!
//! Batching multiplies M by `b` for convolutions and linear layers (samples stack into rows) but
//! multiplies the groups for the attention products (each sample's product is independent).
//!
//! **Memory traffic** counts every input and the output once per sample and the weights once
//! per batch (a perfect cache for the reuse inside the kernel, none across kernels). Two
//! gathers read less than their tables: an embedding reads the gathered rows (position
//! embeddings read `seq` rows once per batch), token selection reads the selected token.
//!
//! **Node kinds.** Graph inputs are free: the batch is assumed resident on the GPU
//! (host-to-device copies are not modelled). GEMM-like nodes are as above. Every other node is
//! memory-bound: its few FLOPs per element run on CUDA cores well below the bandwidth roof.
//! With `fuse_epilogues`, a batch norm or unary activation whose only input is a GEMM (or an
//! already fused node) that nothing else reads is folded into that GEMM's epilogue and costs
//! nothing: the GEMM already writes a tensor of the same size.

use serde::Serialize;

use super::params::AnalyticParams;
use super::share::ProcessShare;
use crate::zoo::{EmbeddingIndices, ModelGraph, Node, NodeId, Op};

/// How the model treats a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A graph input: already on the GPU, no kernel.
    Input,
    /// A batch norm or activation folded into the preceding GEMM's epilogue: no kernel.
    Fused,
    /// A convolution, linear layer or attention product: compute- or memory-bound kernel.
    Gemm,
    /// Any other operator: a memory-bound kernel.
    Memory,
}

impl NodeKind {
    /// Whether the node runs as a kernel of its own (and pays the per-kernel overhead).
    pub fn is_kernel(self) -> bool {
        matches!(self, NodeKind::Gemm | NodeKind::Memory)
    }
}

/// The modelled latency of one node for one batch on one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeLatency {
    /// The node's id in its graph.
    pub node: NodeId,
    /// The node's name.
    pub name: String,
    /// How the model treats it.
    pub kind: NodeKind,
    /// Compute time at the fitted efficiency and SM fill, µs (0 for non-GEMM nodes).
    pub compute_us: f64,
    /// Memory-traffic time at the fitted bandwidth efficiency, µs.
    pub memory_us: f64,
    /// Per-kernel overhead, µs (0 for nodes that are not kernels).
    pub overhead_us: f64,
    /// `max(compute_us, memory_us) + overhead_us`.
    pub latency_us: f64,
    /// SM-fill efficiency of the node's GEMM (see the module docs); `None` for other nodes.
    pub sm_fill: Option<f64>,
}

/// Cost of a node before the efficiencies and overhead are applied: times at efficiency 1.
/// Fusion and tiles are fixed by the parameters that built it, so calibration can vary the
/// efficiencies and overhead without recomputing these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawCost {
    pub kind: NodeKind,
    /// Seconds at `compute_efficiency = 1`.
    pub compute_s: f64,
    /// Seconds at `bandwidth_efficiency = 1`.
    pub memory_s: f64,
    pub sm_fill: Option<f64>,
}

impl RawCost {
    /// `(compute, memory, overhead)` in seconds under `params`.
    pub fn parts(&self, params: &AnalyticParams) -> (f64, f64, f64) {
        if !self.kind.is_kernel() {
            return (0.0, 0.0, 0.0);
        }
        (
            self.compute_s / params.compute_efficiency,
            self.memory_s / params.bandwidth_efficiency,
            params.kernel_overhead_us * 1e-6,
        )
    }

    /// The node's time in seconds under `params`.
    pub fn seconds(&self, params: &AnalyticParams) -> f64 {
        let (compute, memory, overhead) = self.parts(params);
        compute.max(memory) + overhead
    }
}

/// The kind of every node of a graph, fusion decided once per graph.
pub(crate) fn node_kinds(graph: &ModelGraph, fuse_epilogues: bool) -> Vec<NodeKind> {
    let nodes = graph.nodes();
    // Readers of each node's output; leaving the model counts as one more reader, since the
    // unfused tensor is then needed.
    let mut readers = vec![0u32; nodes.len()];
    for node in nodes {
        for input in node.inputs() {
            readers[input.index()] += 1;
        }
    }
    for output in graph.outputs() {
        readers[output.index()] += 1;
    }
    let mut kinds: Vec<NodeKind> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let kind = match node.op() {
            Op::Input { .. } => NodeKind::Input,
            op if op.is_gemm() => NodeKind::Gemm,
            Op::BatchNorm { .. } | Op::Relu | Op::Relu6 | Op::Gelu | Op::Tanh
                if fuse_epilogues
                    && matches!(node.inputs(), [p]
                        if readers[p.index()] == 1
                            && matches!(kinds[p.index()], NodeKind::Gemm | NodeKind::Fused)) =>
            {
                NodeKind::Fused
            }
            _ => NodeKind::Memory,
        };
        kinds.push(kind);
    }
    kinds
}

/// Bytes a node moves for a batch of `batch` samples (see the module docs).
fn traffic_bytes(node: &Node, batch: f64) -> f64 {
    let input = node.input_bytes_per_sample() as f64;
    let output = node.output_bytes_per_sample() as f64;
    let weights = node.weight_bytes() as f64;
    match node.op() {
        Op::Embedding { indices, .. } => {
            let gathered = match indices {
                EmbeddingIndices::Input => batch * output,
                EmbeddingIndices::Positions => output,
            };
            batch * (input + output) + gathered.min(weights)
        }
        Op::SelectToken { .. } => batch * 2.0 * output,
        _ => batch * (input + output) + weights,
    }
}

/// Compute seconds at efficiency 1 and the SM fill of a GEMM node (see the module docs).
fn gemm_compute(
    node: &Node,
    batch: f64,
    share: &ProcessShare,
    params: &AnalyticParams,
) -> (f64, f64) {
    let Some(g) = node.gemm() else {
        return (0.0, 1.0);
    };
    let (rows, groups) = match node.op() {
        Op::AttentionScores { .. } | Op::AttentionContext { .. } => {
            (g.m_per_sample as f64, g.groups as f64 * batch)
        }
        _ => (g.m_per_sample as f64 * batch, g.groups as f64),
    };
    let (tile_m, tile_n) = (f64::from(params.tile_m), f64::from(params.tile_n));
    let (n, k) = (g.n as f64, g.k as f64);
    let tiles_n = (n / tile_n).ceil();
    let tiles = (rows / tile_m).ceil() * tiles_n * groups;
    let waves = (tiles / share.instance_sms).ceil().max(tiles / share.sms);
    let tile_flops = 2.0 * rows.min(tile_m) * (n / tiles_n) * k;
    let flops = 2.0 * rows * n * k * groups;
    if flops == 0.0 {
        return (0.0, 1.0);
    }
    let compute_s = waves * tile_flops / share.peak_flops_per_sm;
    let fill = flops / (waves * share.sms * tile_flops);
    (compute_s, fill)
}

/// The raw cost of every node of `graph` (kinds from [`node_kinds`]) for a batch on a share.
pub(crate) fn raw_costs(
    graph: &ModelGraph,
    kinds: &[NodeKind],
    batch: u32,
    share: &ProcessShare,
    params: &AnalyticParams,
) -> Vec<RawCost> {
    let b = f64::from(batch);
    graph
        .nodes()
        .iter()
        .zip(kinds)
        .map(|(node, &kind)| match kind {
            NodeKind::Input | NodeKind::Fused => RawCost {
                kind,
                compute_s: 0.0,
                memory_s: 0.0,
                sm_fill: None,
            },
            NodeKind::Gemm => {
                let (compute_s, fill) = gemm_compute(node, b, share, params);
                RawCost {
                    kind,
                    compute_s,
                    memory_s: traffic_bytes(node, b) / share.bandwidth_bytes_per_s,
                    sm_fill: Some(fill),
                }
            }
            NodeKind::Memory => RawCost {
                kind,
                compute_s: 0.0,
                memory_s: traffic_bytes(node, b) / share.bandwidth_bytes_per_s,
                sm_fill: None,
            },
        })
        .collect()
}

/// Turns raw costs into the public per-node rows under `params`.
pub(crate) fn node_rows(
    graph: &ModelGraph,
    raw: &[RawCost],
    params: &AnalyticParams,
) -> Vec<NodeLatency> {
    graph
        .nodes()
        .iter()
        .zip(raw)
        .enumerate()
        .map(|(index, (node, cost))| {
            let (compute, memory, overhead) = cost.parts(params);
            NodeLatency {
                node: NodeId(index as u32),
                name: node.name().to_string(),
                kind: cost.kind,
                compute_us: compute * 1e6,
                memory_us: memory * 1e6,
                overhead_us: overhead * 1e6,
                latency_us: cost.seconds(params) * 1e6,
                sm_fill: cost.sm_fill,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::{ZooOptions, build};

    fn graph(name: &str) -> ModelGraph {
        build(name, &ZooOptions::default()).unwrap()
    }

    fn share(sms: f64) -> ProcessShare {
        ProcessShare {
            instance_sms: sms,
            sms,
            peak_flops_per_sm: 1e12,
            bandwidth_bytes_per_s: 1e11,
        }
    }

    #[test]
    fn resnet_fuses_bn_and_relu_into_convs_but_not_the_residual_add() {
        let g = graph("resnet50");
        let kinds = node_kinds(&g, true);
        let kind = |name: &str| kinds[g.find(name).unwrap().0.index()];
        assert_eq!(kind("input"), NodeKind::Input);
        assert_eq!(kind("conv1"), NodeKind::Gemm);
        assert_eq!(kind("bn1"), NodeKind::Fused);
        assert_eq!(kind("relu"), NodeKind::Fused);
        assert_eq!(kind("maxpool"), NodeKind::Memory);
        assert_eq!(kind("fc"), NodeKind::Gemm);
        let unfused = node_kinds(&g, false);
        assert!(!unfused.contains(&NodeKind::Fused));
        assert_eq!(unfused[g.find("bn1").unwrap().0.index()], NodeKind::Memory);
    }

    #[test]
    fn densenet_pre_activation_after_concat_is_not_fused() {
        let g = graph("densenet121");
        let kinds = node_kinds(&g, true);
        // A dense layer's first batch norm reads the concatenated features (not a GEMM); the
        // second follows its 1x1 convolution.
        let first = g
            .nodes()
            .iter()
            .position(|n| {
                matches!(n.op(), Op::BatchNorm { .. }) && {
                    let p = n.inputs()[0].index();
                    matches!(g.nodes()[p].op(), Op::Concat { .. })
                }
            })
            .expect("a batch norm after a concat");
        assert_eq!(kinds[first], NodeKind::Memory);
        assert!(kinds.contains(&NodeKind::Fused));
    }

    #[test]
    fn sm_fill_is_wave_quantization_times_tile_occupancy() {
        let g = graph("resnet50");
        let (_, conv) = g.find("layer4.0.conv2").unwrap();
        let gemm = conv.gemm().unwrap();
        // 7x7 output, 512 channels: M = 49 per sample, N = 512 -> 4 column tiles.
        assert_eq!((gemm.m_per_sample, gemm.n), (49, 512));
        let params = AnalyticParams::default();
        // Batch 1: one row of 4 tiles (shrunk to 49 rows) on 98 SMs, one wave.
        let (_, fill) = gemm_compute(conv, 1.0, &share(98.0), &params);
        assert!((fill - 4.0 / 98.0).abs() < 1e-12, "{fill}");
        // Batch 128: 49 row tiles x 4 = 196 tiles = 2 full waves on 98 SMs.
        let (_, fill) = gemm_compute(conv, 128.0, &share(98.0), &params);
        assert!((fill - 1.0).abs() < 1e-12, "{fill}");
        // Batch 3: 147 rows -> 2 row tiles, the second 19/128 full; 8 tiles, one wave.
        let (_, fill) = gemm_compute(conv, 3.0, &share(98.0), &params);
        assert!(
            (fill - (147.0 / 256.0) * (8.0 / 98.0)).abs() < 1e-12,
            "{fill}"
        );
    }

    #[test]
    fn gemm_time_never_drops_past_a_tile_boundary() {
        let g = graph("resnet50");
        let (_, fc) = g.find("fc").unwrap();
        let params = AnalyticParams::default();
        let mut last = 0.0;
        for b in 1..=300 {
            let (t, fill) = gemm_compute(fc, f64::from(b), &share(98.0), &params);
            assert!(t >= last, "batch {b}: {t} < {last}");
            assert!(fill > 0.0 && fill <= 1.0 + 1e-12, "batch {b}: fill {fill}");
            last = t;
        }
    }

    #[test]
    fn mps_shares_the_instance_as_a_fluid_pool() {
        let g = graph("resnet50");
        // 4 column tiles x ceil(49 b / 128) row tiles: 12 tiles at batch 6.
        let (_, conv) = g.find("layer4.0.conv2").unwrap();
        let params = AnalyticParams::default();
        let instance = 28.0;
        let alone = gemm_compute(conv, 6.0, &share(instance), &params).0;
        let shared = |k: f64| {
            let s = ProcessShare {
                instance_sms: instance,
                sms: instance / k,
                ..share(instance)
            };
            gemm_compute(conv, 6.0, &s, &params).0
        };
        // Two processes' 24 tiles fit one wave of 28 SMs; three need 36/28 waves, not the
        // ceil(12 / 9.33) = 2 waves of a rigid split.
        assert_eq!(shared(2.0), alone);
        assert!((shared(3.0) / alone - 36.0 / 28.0).abs() < 1e-12);
    }

    #[test]
    fn attention_batches_as_groups() {
        let g = graph("bert-base");
        let (_, scores) = g.find("encoder.layer.0.attention.self.scores").unwrap();
        let params = AnalyticParams::default();
        // 12 heads x 128x128 per sample: one tile each. Batch 2 -> 24 tiles on 98 SMs.
        let (_, fill) = gemm_compute(scores, 2.0, &share(98.0), &params);
        assert!((fill - 24.0 / 98.0).abs() < 1e-12, "{fill}");
    }

    #[test]
    fn embedding_reads_gathered_rows_not_the_table() {
        let g = graph("bert-base");
        let (_, words) = g.find("embeddings.word_embeddings").unwrap();
        let per_sample = words.output_bytes_per_sample() as f64;
        let ids = words.input_bytes_per_sample() as f64;
        assert_eq!(traffic_bytes(words, 2.0), 2.0 * (ids + 2.0 * per_sample));
        assert!(traffic_bytes(words, 2.0) < words.weight_bytes() as f64);
    }
}
