//! What discovery found, compared with the catalog: the GPU type, its memory and SMs, the
//! driver's GI profiles (ids, sizes, SM counts, counts, legal placements) and the existing
//! GPU instances as a layout under the catalog's rules.

use std::sync::Arc;

use migsched_core::nvidia_smi::{DiffClass, DiffOptions, LgipRow, LgippRow, diff_catalog};
use migsched_core::{Catalog, Driver, GpuType, Layout, Placement};
use serde::Serialize;

use crate::state::{DeviceState, GpuState};

/// Relative difference of total memory above which it is reported (GPUs report a little less
/// than the nominal capacity: an H100 80GB HBM3 shows 81559 MiB).
const MEMORY_TOLERANCE: f64 = 0.05;

/// One GPU's comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuComparison {
    /// NVML index.
    pub index: u32,
    /// Product name as reported.
    pub name: String,
    /// The catalog GPU type it was identified as.
    pub gpu_type: Option<String>,
    /// The existing GPU instances as a layout (text form), when they form a legal one.
    pub layout: Option<String>,
    /// Every difference from the catalog (empty = it agrees).
    pub differences: Vec<Finding>,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
}

/// One way a GPU differs from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What it is about: `gpu`, a profile name, or `GI <id>`.
    pub subject: String,
    /// The field that differs.
    pub field: String,
    /// The catalog's value.
    pub catalog: String,
    /// What the GPU reports.
    pub device: String,
}

/// The driver rules a driver version string (`470.82.01`, `580.65.06`) implies.
pub fn driver_rules(driver_version: &str) -> Driver {
    let major = driver_version
        .split('.')
        .next()
        .and_then(|m| m.trim().parse::<u32>().ok());
    match major {
        Some(m) if m < 510 => Driver::BeforeR510,
        _ => Driver::R510OrLater,
    }
}

/// The catalog GPU type of a discovered GPU: by product name, else by PCI device id.
pub fn identify<'a>(catalog: &'a Catalog, gpu: &GpuState) -> Option<&'a Arc<GpuType>> {
    catalog.gpu(&gpu.name).ok().or_else(|| {
        let id = gpu.pci_device_id.as_deref()?;
        let hex = id.trim().trim_start_matches("0x").trim_start_matches("0X");
        let id = u16::from_str_radix(hex.get(..4.min(hex.len()))?, 16).ok()?;
        catalog.gpu_by_pci_device_id(id)
    })
}

/// The existing GPU instances of a GPU as a layout of `gpu_type`, or why they are not one.
pub fn current_layout(
    gpu: &GpuState,
    gpu_type: &Arc<GpuType>,
    driver: Driver,
) -> Result<Layout, String> {
    let mut placements = Vec::new();
    for gi in &gpu.gpu_instances {
        let Some(profile) = gpu_type.profile_by_nvml_id(gi.profile_id) else {
            return Err(format!(
                "GI {} has profile id {}, which {} does not have in the catalog",
                gi.id,
                gi.profile_id,
                gpu_type.id()
            ));
        };
        let p = gpu_type.profile(profile);
        if gi.size != p.memory_slices() {
            return Err(format!(
                "GI {} ({}) has placement size {}, the catalog says {}",
                gi.id,
                p.name(),
                gi.size,
                p.memory_slices()
            ));
        }
        placements.push(Placement {
            profile,
            start: gi.start,
        });
    }
    Layout::new(gpu_type.clone(), placements, driver).map_err(|e| e.to_string())
}

/// Compares every GPU of a snapshot with the catalog.
pub fn compare(catalog: &Catalog, state: &DeviceState) -> Vec<GpuComparison> {
    let driver = driver_rules(&state.driver_version);
    state
        .gpus
        .iter()
        .map(|g| compare_gpu(catalog, g, driver))
        .collect()
}

fn compare_gpu(catalog: &Catalog, gpu: &GpuState, driver: Driver) -> GpuComparison {
    let mut out = GpuComparison {
        index: gpu.index,
        name: gpu.name.clone(),
        gpu_type: None,
        layout: None,
        differences: Vec::new(),
        notes: Vec::new(),
    };
    let mut differences = Vec::new();
    let mut find = |subject: &str, field: &str, catalog: String, device: String| {
        differences.push(Finding {
            subject: subject.to_string(),
            field: field.to_string(),
            catalog,
            device,
        });
    };
    let Some(ty) = identify(catalog, gpu) else {
        find(
            "gpu",
            "type",
            "absent".into(),
            format!(
                "{} (PCI device {})",
                gpu.name,
                gpu.pci_device_id.as_deref().unwrap_or("unknown")
            ),
        );
        out.differences = differences;
        return out;
    };
    let memory_gib = gpu.memory_mib as f64 / 1024.0;
    if (memory_gib - ty.memory_gib()).abs() > MEMORY_TOLERANCE * ty.memory_gib() {
        find(
            "gpu",
            "memory_gib",
            format!("{:.2}", ty.memory_gib()),
            format!("{memory_gib:.2}"),
        );
    }
    if let Some(sm) = gpu.sm_count
        && sm != ty.sm_count()
    {
        find("gpu", "sm_count", ty.sm_count().to_string(), sm.to_string());
    }
    if gpu.mig.is_none() {
        find("gpu", "mig", "supported".into(), "unsupported".into());
    }
    if gpu.profiles.is_empty() {
        if gpu.mig.is_some() {
            out.notes.push(
                "the driver reported no GI profiles (NVML lists them only in MIG mode on some \
                 drivers): profiles not compared"
                    .into(),
            );
        }
    } else {
        // The same comparison as `migsched catalog diff`, over what NVML reported.
        let lgip: Vec<LgipRow> = gpu
            .profiles
            .iter()
            .map(|p| LgipRow {
                gpu: gpu.index,
                name: p.name.clone(),
                id: p.id,
                free: 0,
                total: p.instance_count,
                // The catalog holds nvidia-smi's two-decimal GiB; the comparison allows for
                // that rounding.
                memory_gib: p.memory_mib as f64 / 1024.0,
                sm_count: p.sm_count,
                line: 0,
            })
            .collect();
        let lgipp: Vec<LgippRow> = gpu
            .profiles
            .iter()
            .filter(|p| !p.placements.is_empty())
            .map(|p| LgippRow {
                gpu: gpu.index,
                id: p.id,
                starts: p.placements.clone(),
                size: p.placement_size,
                line: 0,
            })
            .collect();
        // Driver-dependent memory and older names are not findings about the catalog; a
        // profile newer than the driver is (the lab may want a newer driver).
        let options = DiffOptions::default();
        for d in diff_catalog(ty, &lgip, &lgipp, &options) {
            if matches!(d.class, DiffClass::Mismatch | DiffClass::NewerProfile) {
                find(&d.profile, d.field, d.catalog, d.device);
            }
        }
    }
    out.gpu_type = Some(ty.id().to_string());
    if gpu.mig_enabled() {
        match current_layout(gpu, ty, driver) {
            Ok(layout) => out.layout = Some(layout.text()),
            Err(e) => find("gpu_instances", "layout", "legal".into(), e),
        }
    }
    out.differences = differences;
    out
}
