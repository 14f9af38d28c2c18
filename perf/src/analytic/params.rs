//! The analytic model's few free parameters, their physically motivated defaults, and their
//! validation.

use serde::{Deserialize, Serialize};

use super::error::AnalyticError;

/// Free parameters of the analytic latency, throughput and memory model.
///
/// Plain data (every field public), read from TOML with any field left out taking its default:
///
/// ```toml
/// compute_efficiency = 0.6
/// bandwidth_efficiency = 0.8
/// kernel_overhead_us = 5.0
/// ```
///
/// The defaults describe a tuned inference engine (TensorRT-like: fp16 tensor cores, fused
/// epilogues, CUDA-graph launches). A framework running eagerly (PyTorch) has a much larger
/// per-kernel overhead and a lower efficiency; [`calibrate`](super::calibrate) fits them to
/// measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticParams {
    /// Fraction of the tensor-core peak that a well-filled GEMM (every SM busy in every wave)
    /// reaches, in (0, 1]. Default 0.6: cuBLAS reaches 70-80% of the fp16 peak on large square
    /// GEMMs, implicit-GEMM convolutions of CNN layers (small K, im2col address arithmetic,
    /// epilogues) typically 50-65%.
    pub compute_efficiency: f64,
    /// Fraction of the datasheet memory bandwidth that a streaming kernel reaches, in (0, 1].
    /// Default 0.8: copy and elementwise kernels reach 80-90% of HBM peak on A100 and H100.
    pub bandwidth_efficiency: f64,
    /// Time added to every node that runs as its own kernel, in microseconds: launch latency,
    /// the kernel's ramp-up and tail, and framework dispatch. Default 5 µs: a kernel boundary
    /// under CUDA graphs or TensorRT costs 2-5 µs; eager PyTorch is nearer 20-50 µs per op.
    pub kernel_overhead_us: f64,
    /// Rows (M) of the output tile one SM computes per wave, for the SM-fill model. Default 128,
    /// the common threadblock tile of fp16 tensor-core GEMM and convolution kernels (CUTLASS,
    /// cuDNN), one threadblock per SM.
    pub tile_m: u32,
    /// Columns (N) of that output tile. Default 128, as `tile_m`.
    pub tile_n: u32,
    /// Memory every serving process holds whatever the batch, in MiB: the CUDA context with lazy
    /// module loading (about 300 MiB on A100/H100) plus cuBLAS/cuDNN handles and workspaces.
    /// Default 512.
    pub context_mib: f64,
    /// Multiplier on the peak live activation bytes per sample (see
    /// [`GraphTotals::peak_activation_bytes_per_sample`](crate::zoo::GraphTotals)) to get the
    /// activation memory per sample actually held: allocator rounding and caching, convolution
    /// workspaces that grow with the batch, input and output staging buffers. Default 2.
    pub activation_factor: f64,
    /// Whether a batch norm or an elementwise activation (ReLU, ReLU6, GELU, tanh) that directly
    /// follows a convolution or linear layer (or another such fused node) is folded into that
    /// GEMM's epilogue and costs nothing, as inference engines do. Default true.
    pub fuse_epilogues: bool,
}

impl Default for AnalyticParams {
    fn default() -> Self {
        AnalyticParams {
            compute_efficiency: 0.6,
            bandwidth_efficiency: 0.8,
            kernel_overhead_us: 5.0,
            tile_m: 128,
            tile_n: 128,
            context_mib: 512.0,
            activation_factor: 2.0,
            fuse_epilogues: true,
        }
    }
}

impl AnalyticParams {
    /// Checks every field: efficiencies in (0, 1], tiles at least 1, the activation factor
    /// positive, overhead and context memory finite and not negative (zero is an allowed
    /// idealization). The error names the first offending field.
    pub fn validate(&self) -> Result<(), AnalyticError> {
        let invalid = |field: &'static str, value: String, expected: &'static str| {
            Err(AnalyticError::InvalidParam {
                field,
                value,
                expected,
            })
        };
        for (field, v) in [
            ("compute_efficiency", self.compute_efficiency),
            ("bandwidth_efficiency", self.bandwidth_efficiency),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return invalid(field, v.to_string(), "a fraction in (0, 1]");
            }
        }
        for (field, v) in [
            ("kernel_overhead_us", self.kernel_overhead_us),
            ("context_mib", self.context_mib),
        ] {
            // Beyond a second of overhead per kernel or a TB of context the tables only hold
            // infinities and rows that fit nowhere.
            if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
                return invalid(field, v.to_string(), "a number in [0, 1e6]");
            }
        }
        if !(self.activation_factor.is_finite()
            && self.activation_factor > 0.0
            && self.activation_factor <= 1e3)
        {
            return invalid(
                "activation_factor",
                self.activation_factor.to_string(),
                "a number in (0, 1e3]",
            );
        }
        for (field, v) in [("tile_m", self.tile_m), ("tile_n", self.tile_n)] {
            if !(1..=4096).contains(&v) {
                return invalid(field, v.to_string(), "a whole number in 1..=4096");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let p = AnalyticParams::default();
        p.validate().unwrap();
        let text = toml::to_string(&p).unwrap();
        let back: AnalyticParams = toml::from_str(&text).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn toml_fields_left_out_take_their_defaults() {
        let p: AnalyticParams = toml::from_str("kernel_overhead_us = 25.0\n").unwrap();
        assert_eq!(p.kernel_overhead_us, 25.0);
        assert_eq!(
            p.compute_efficiency,
            AnalyticParams::default().compute_efficiency
        );
        assert!(toml::from_str::<AnalyticParams>("compute_eff = 0.5\n").is_err());
    }

    #[test]
    fn bad_params_name_the_field() {
        let check = |edit: fn(&mut AnalyticParams), expected: &str| {
            let mut p = AnalyticParams::default();
            edit(&mut p);
            assert_eq!(p.validate().unwrap_err().to_string(), expected);
        };
        check(
            |p| p.compute_efficiency = 1.5,
            "analytic parameter compute_efficiency = 1.5: expected a fraction in (0, 1]",
        );
        check(
            |p| p.compute_efficiency = 0.0,
            "analytic parameter compute_efficiency = 0: expected a fraction in (0, 1]",
        );
        check(
            |p| p.bandwidth_efficiency = f64::NAN,
            "analytic parameter bandwidth_efficiency = NaN: expected a fraction in (0, 1]",
        );
        check(
            |p| p.kernel_overhead_us = -1.0,
            "analytic parameter kernel_overhead_us = -1: expected a number in [0, 1e6]",
        );
        check(
            |p| p.context_mib = f64::INFINITY,
            "analytic parameter context_mib = inf: expected a number in [0, 1e6]",
        );
        check(
            |p| p.activation_factor = 0.0,
            "analytic parameter activation_factor = 0: expected a number in (0, 1e3]",
        );
        check(
            |p| p.tile_n = 0,
            "analytic parameter tile_n = 0: expected a whole number in 1..=4096",
        );
    }
}
