//! Shared helpers: fixtures, snapshots built from layouts.

use std::path::PathBuf;
use std::sync::Arc;

use migsched_core::{GpuType, Layout};
use migsched_hwbench::state::{
    ComputeInstanceState, DeviceState, GpuInstanceState, GpuState, MigMode, STATE_FORMAT,
    full_ci_profile_id,
};

/// A fixture's path.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A recorded device state from the fixtures.
pub fn load(name: &str) -> DeviceState {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    DeviceState::from_json_str(&text, &path.display().to_string()).expect("fixture is valid")
}

/// A one-GPU snapshot (index 0) whose GPU instances are `layout`, GI ids from `first_id`,
/// each with one full-size compute instance; `name` is what NVML would report.
pub fn snapshot(ty: &Arc<GpuType>, layout: &Layout, first_id: u32) -> DeviceState {
    let gpu_instances = layout
        .instances()
        .enumerate()
        .map(|(i, (pl, p))| GpuInstanceState {
            id: first_id + i as u32,
            profile_id: p.nvml_id(),
            start: pl.start,
            size: p.memory_slices(),
            compute_instances: vec![ComputeInstanceState {
                id: 0,
                profile_id: full_ci_profile_id(u32::from(p.compute_slices())).unwrap(),
                slice_count: u32::from(p.compute_slices()),
                start: 0,
                sm_count: Some(p.sm_count()),
                uuid: None,
                processes: Vec::new(),
            }],
        })
        .collect();
    DeviceState {
        format: STATE_FORMAT.into(),
        source: "test".into(),
        driver_version: "580.65.06".into(),
        cuda_driver_version: None,
        nvml_version: None,
        gpus: vec![GpuState {
            index: 0,
            name: format!("NVIDIA {}", ty.name()),
            uuid: "GPU-test".into(),
            pci_device_id: None,
            memory_mib: (ty.memory_gib() * 1024.0) as u64,
            sm_count: Some(ty.sm_count()),
            max_sm_clock_mhz: None,
            max_memory_clock_mhz: None,
            mig: Some(MigMode {
                current: true,
                pending: true,
            }),
            profiles: Vec::new(),
            gpu_instances,
            processes: Vec::new(),
        }],
    }
}
