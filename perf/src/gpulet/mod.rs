//! gpulets (Choi et al., USENIX ATC 2022): MPS partitions of one GPU by SM percentage, at most
//! two per GPU (`p` and `100 − p`), each serving one or more models time-shared in a duty cycle.
//!
//! This module is the resource model: the latency, memory and utilization of a model at batch
//! `b` on `p`% of a GPU's SMs, from migsched's analytic model. Modelling choices:
//! - **SMs** are `p`% of the GPU's SMs (MPS `CUDA_MPS_ACTIVE_THREAD_PERCENTAGE` caps the SMs a
//!   client's kernels may occupy); the tensor peak per SM is the GPU's.
//! - **Memory bandwidth** is not partitioned by MPS: a gpulet alone sees the whole GPU's
//!   bandwidth; a co-located gpulet's traffic is what the interference model
//!   ([`interference`]) accounts for.
//! - **Memory**: one process per (gpulet, model) holding a CUDA context (`context_mib`), its
//!   weights and its activations; a GPU's gpulets together must fit in `memory_limit` (default
//!   0.9, the paper's margin) of its memory.
//! - **Utilization features** (the interference model's inputs) at batch `b` on the whole GPU:
//!   `dram` is the fraction of the batch's time the DRAM is busy (Σ memory time / latency);
//!   `l2` is the fraction of time the SMs compute GEMM tiles (Σ compute time / latency). The
//!   analytic model has no cache model, so `l2` is a stand-in for L2 traffic: tensor-core GEMMs
//!   stream their operand tiles through L2 while they compute. The paper measures both with
//!   Nsight Compute; measured features can replace these.

pub mod interference;

use migsched_core::catalog::GpuType;
use serde::{Deserialize, Serialize};

use crate::analytic::{AnalyticError, AnalyticParams, PreparedGraph, ProcessShare, RawCost};
use crate::zoo::ModelGraph;

/// The gpulet sizes of the paper, % of a GPU's SMs: every pair `p | 100 − p` is a legal split.
pub const DEFAULT_SIZES: [u32; 6] = [20, 40, 50, 60, 80, 100];

/// Share of a GPU's memory its gpulets may use together (the paper keeps a 10% margin).
pub const DEFAULT_MEMORY_LIMIT: f64 = 0.9;

/// Parameters of the resource model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuletParams {
    /// Legal gpulet sizes, % of SMs, ascending; each `p < 100` needs `100 − p` too.
    pub sizes: Vec<u32>,
    /// Fraction of GPU memory the gpulets of one GPU may use together, in (0, 1].
    pub memory_limit: f64,
    /// The analytic model's parameters (its `context_mib` is the per-process context size).
    pub analytic: AnalyticParams,
}

impl Default for GpuletParams {
    fn default() -> Self {
        GpuletParams {
            sizes: DEFAULT_SIZES.to_vec(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            analytic: AnalyticParams::default(),
        }
    }
}

impl GpuletParams {
    /// Checks the sizes (in 1..=100, ascending, unique, closed under `p -> 100 − p`, 100
    /// among them), the memory limit and the analytic parameters.
    pub fn validate(&self) -> Result<(), String> {
        if self.sizes.is_empty() {
            return Err("gpulet sizes: none given".into());
        }
        for w in self.sizes.windows(2) {
            if w[0] >= w[1] {
                return Err(format!(
                    "gpulet sizes: must be ascending and unique, got {:?}",
                    self.sizes
                ));
            }
        }
        for &p in &self.sizes {
            if p == 0 || p > 100 {
                return Err(format!("gpulet size {p}: must be in 1..=100"));
            }
            if p < 100 && !self.sizes.contains(&(100 - p)) {
                return Err(format!(
                    "gpulet size {p}: its complement {} is not a size",
                    100 - p
                ));
            }
        }
        if !self.sizes.contains(&100) {
            return Err("gpulet sizes: 100 (the whole GPU) must be among them".into());
        }
        if !(self.memory_limit > 0.0 && self.memory_limit <= 1.0) {
            return Err(format!(
                "gpulet memory limit {}: must be in (0, 1]",
                self.memory_limit
            ));
        }
        self.analytic.validate().map_err(|e| e.to_string())
    }
}

/// A model's figures at one (size, batch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpuletPoint {
    /// Batch size.
    pub batch: u32,
    /// Latency of one batch alone on the gpulet, ms.
    pub latency_ms: f64,
    /// Memory of the serving process, MiB.
    pub memory_mib: f64,
    /// L2 utilization feature on the whole GPU at this batch, in [0, 1].
    pub l2: f64,
    /// DRAM utilization feature on the whole GPU at this batch, in [0, 1].
    pub dram: f64,
}

/// One model's curve at one gpulet size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuletCurve {
    /// Gpulet size, % of SMs.
    pub percent: u32,
    /// Points by ascending batch.
    pub points: Vec<GpuletPoint>,
}

/// The share one gpulet of `percent`% of `gpu`'s SMs sees (see the module docs).
pub fn gpulet_share(gpu: &GpuType, percent: u32) -> Result<ProcessShare, AnalyticError> {
    let sheet = gpu.datasheet().ok_or_else(|| AnalyticError::NoDatasheet {
        gpu: gpu.id().to_string(),
    })?;
    let sms = (f64::from(gpu.sm_count()) * f64::from(percent) / 100.0).max(1.0);
    Ok(ProcessShare {
        instance_sms: sms,
        sms,
        peak_flops_per_sm: sheet.fp16_tensor_tflops * 1e12 / f64::from(gpu.sm_count()),
        bandwidth_bytes_per_s: sheet.memory_bandwidth_gbs * 1e9,
    })
}

/// Sums of the node parts: (latency s, compute s, memory s).
fn sums(raw: &[RawCost], params: &AnalyticParams) -> (f64, f64, f64) {
    raw.iter().fold((0.0, 0.0, 0.0), |(l, c, m), r| {
        let (rc, rm, _) = r.parts(params);
        (l + r.seconds(params), c + rc, m + rm)
    })
}

/// The node parts `(compute, memory, overhead)` in seconds of `graph` at `batch` on a gpulet
/// of `percent`%: what the synthetic co-location data are made of.
pub fn node_parts(
    graph: &ModelGraph,
    gpu: &GpuType,
    percent: u32,
    batch: u32,
    params: &AnalyticParams,
) -> Result<Vec<(f64, f64, f64)>, AnalyticError> {
    params.validate()?;
    if batch == 0 {
        return Err(AnalyticError::ZeroBatch);
    }
    let share = gpulet_share(gpu, percent)?;
    let prepared = PreparedGraph::new(graph, params);
    Ok(prepared
        .raw(batch, &share, params)
        .iter()
        .filter(|r| r.kind.is_kernel())
        .map(|r| r.parts(params))
        .collect())
}

/// The curve of `graph` on a gpulet of `percent`% of `gpu` at `batches`.
pub fn gpulet_curve(
    graph: &ModelGraph,
    gpu: &GpuType,
    percent: u32,
    batches: &[u32],
    params: &AnalyticParams,
) -> Result<GpuletCurve, AnalyticError> {
    params.validate()?;
    let share = gpulet_share(gpu, percent)?;
    let whole = gpulet_share(gpu, 100)?;
    let prepared = PreparedGraph::new(graph, params);
    let mut points = Vec::new();
    for &b in batches {
        if b == 0 {
            return Err(AnalyticError::ZeroBatch);
        }
        let (latency_s, _, _) = sums(&prepared.raw(b, &share, params), params);
        let (whole_s, compute_s, memory_s) = sums(&prepared.raw(b, &whole, params), params);
        points.push(GpuletPoint {
            batch: b,
            latency_ms: latency_s * 1e3,
            memory_mib: prepared.memory_mib(b, 1, params),
            l2: (compute_s / whole_s).clamp(0.0, 1.0),
            dram: (memory_s / whole_s).clamp(0.0, 1.0),
        });
    }
    Ok(GpuletCurve { percent, points })
}

/// Every size's curve of `graph` on `gpu`.
pub fn gpulet_curves(
    graph: &ModelGraph,
    gpu: &GpuType,
    batches: &[u32],
    params: &GpuletParams,
) -> Result<Vec<GpuletCurve>, AnalyticError> {
    params
        .sizes
        .iter()
        .map(|&p| gpulet_curve(graph, gpu, p, batches, &params.analytic))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::{ZooOptions, build};
    use migsched_core::catalog::Catalog;

    #[test]
    fn latency_falls_with_size_and_features_are_fractions() {
        let gpu = Catalog::builtin().gpu("a100-80gb").unwrap();
        let g = build("resnet50", &ZooOptions::default()).unwrap();
        let params = GpuletParams::default();
        let curves = gpulet_curves(&g, gpu, &[1, 8, 32], &params).unwrap();
        assert_eq!(curves.len(), 6);
        for w in curves.windows(2) {
            for (a, b) in w[0].points.iter().zip(&w[1].points) {
                assert!(b.latency_ms <= a.latency_ms + 1e-12);
            }
        }
        for c in &curves {
            for p in &c.points {
                assert!((0.0..=1.0).contains(&p.l2) && (0.0..=1.0).contains(&p.dram));
                assert!(p.memory_mib > params.analytic.context_mib);
            }
            for w in c.points.windows(2) {
                assert!(w[1].latency_ms >= w[0].latency_ms);
            }
        }
    }

    #[test]
    fn sizes_must_pair_up() {
        let mut p = GpuletParams::default();
        assert!(p.validate().is_ok());
        p.sizes = vec![30, 100];
        assert!(p.validate().unwrap_err().contains("complement 70"));
        p.sizes = vec![50];
        assert!(p.validate().unwrap_err().contains("100"));
        p.sizes = vec![100];
        p.memory_limit = 1.5;
        assert!(p.validate().is_err());
    }
}
