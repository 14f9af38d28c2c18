//! The slice of a GPU one serving process sees: its SMs, the tensor peak of each, and its
//! memory bandwidth, for a MIG profile shared by `k` MPS processes.

use migsched_core::catalog::{GpuType, Profile};
use serde::Serialize;

use super::error::AnalyticError;

/// The hardware one process of a MIG instance runs on.
///
/// Modelling choices:
/// - **Peak per SM** is the whole GPU's dense fp16 tensor peak divided by its SM count: MIG
///   carves whole SMs out of the same chip at the same clocks, so an instance's peak is
///   proportional to its SMs.
/// - **Instance bandwidth** is the whole GPU's bandwidth times the instance's share of memory
///   slices: each memory slice owns its own HBM channels and L2 slice.
/// - **MPS** with `k` processes running the same model gives each process `S/k` SMs and `1/k`
///   of the instance's bandwidth on average: the processes split the instance evenly. The SM
///   share is fluid, not a rigid partition: MPS clients are not synchronized, so SMs left idle
///   by the last wave of one process's kernel run another's tiles (see the SM-fill model in
///   `node`). Each process keeps its own kernel launches, so per-kernel overhead is not shared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProcessShare {
    /// SMs of the whole instance.
    pub instance_sms: f64,
    /// SMs available to the process on average, `instance_sms / procs`.
    pub sms: f64,
    /// Dense fp16 tensor-core peak of one SM, FLOP/s.
    pub peak_flops_per_sm: f64,
    /// Memory bandwidth available to the process, bytes/s.
    pub bandwidth_bytes_per_s: f64,
}

impl ProcessShare {
    /// The share of one of `procs` processes on an instance of `profile` (a profile of `gpu`).
    pub fn new(gpu: &GpuType, profile: &Profile, procs: u32) -> Result<Self, AnalyticError> {
        if procs == 0 {
            return Err(AnalyticError::ZeroProcs);
        }
        let sheet = gpu.datasheet().ok_or_else(|| AnalyticError::NoDatasheet {
            gpu: gpu.id().to_string(),
        })?;
        let k = f64::from(procs);
        let instance_bandwidth =
            sheet.memory_bandwidth_gbs * 1e9 * f64::from(profile.memory_slices())
                / f64::from(gpu.memory_slices());
        Ok(ProcessShare {
            instance_sms: f64::from(profile.sm_count()),
            sms: f64::from(profile.sm_count()) / k,
            peak_flops_per_sm: sheet.fp16_tensor_tflops * 1e12 / f64::from(gpu.sm_count()),
            bandwidth_bytes_per_s: instance_bandwidth / k,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migsched_core::catalog::Catalog;

    #[test]
    fn a100_instances_scale_by_sms_and_memory_slices() {
        let gpu = Catalog::builtin().gpu("a100-80gb").unwrap();
        let p7 = gpu.profile(gpu.profile_by_name("7g.80gb").unwrap());
        let whole = ProcessShare::new(gpu, p7, 1).unwrap();
        assert_eq!(whole.sms, 98.0);
        assert!((whole.peak_flops_per_sm - 312e12 / 108.0).abs() < 1.0);
        assert!((whole.bandwidth_bytes_per_s - 2039e9).abs() < 1.0);
        let p1 = gpu.profile(gpu.profile_by_name("1g.10gb").unwrap());
        let third = ProcessShare::new(gpu, p1, 3).unwrap();
        assert!((third.sms - 14.0 / 3.0).abs() < 1e-12);
        assert!((third.bandwidth_bytes_per_s - 2039e9 / 8.0 / 3.0).abs() < 1.0);
        assert_eq!(
            ProcessShare::new(gpu, p1, 0).unwrap_err(),
            AnalyticError::ZeroProcs
        );
    }
}
