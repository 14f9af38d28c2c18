//! The device-state snapshot: everything discovery finds on a machine, as plain serializable
//! data. Live discovery (NVML) fills one; a recorded one is read from JSON, so the comparison
//! with the catalog and the step planner run, and are tested, without a GPU.
//!
//! ```json
//! { "format": "migsched-device-state/1", "source": "nvml", "driver_version": "580.65.06",
//!   "cuda_driver_version": "13.0", "nvml_version": "13.580.65.06",
//!   "gpus": [ { "index": 0, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-...",
//!     "pci_device_id": "0x20B2", "memory_mib": 81920, "sm_count": 108,
//!     "max_sm_clock_mhz": 1410, "max_memory_clock_mhz": 1593,
//!     "mig": { "current": true, "pending": true },
//!     "profiles": [ { "id": 9, "name": "3g.40gb", "slice_count": 3, "memory_mib": 40192,
//!                     "sm_count": 42, "instance_count": 2, "placements": [0, 4],
//!                     "placement_size": 4 } ],
//!     "gpu_instances": [ { "id": 2, "profile_id": 9, "start": 4, "size": 4,
//!       "compute_instances": [ { "id": 0, "profile_id": 2, "slice_count": 3, "start": 0,
//!         "sm_count": 42, "uuid": "MIG-...", "processes": [] } ] } ],
//!     "processes": [] } ] }
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The format tag of every snapshot file.
pub const STATE_FORMAT: &str = "migsched-device-state/1";

/// What discovery found on one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceState {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// Where the snapshot comes from: `nvml` for live discovery, or a note on the facts a
    /// recorded state was written from.
    pub source: String,
    /// The display driver's version, e.g. `580.65.06`.
    pub driver_version: String,
    /// The CUDA version the driver supports, e.g. `13.0`, when known.
    #[serde(default)]
    pub cuda_driver_version: Option<String>,
    /// NVML's own version, when known.
    #[serde(default)]
    pub nvml_version: Option<String>,
    /// Every GPU, by index.
    pub gpus: Vec<GpuState>,
}

/// One physical GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuState {
    /// NVML index (what `nvidia-smi -i` takes).
    pub index: u32,
    /// Product name as NVML reports it, e.g. `NVIDIA A100-SXM4-80GB`.
    pub name: String,
    /// `GPU-...` UUID.
    pub uuid: String,
    /// PCI device id (`0x20B2`), when known.
    #[serde(default)]
    pub pci_device_id: Option<String>,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// SMs of the whole GPU (from CUDA; NVML reports them only per MIG device), when known.
    #[serde(default)]
    pub sm_count: Option<u32>,
    /// Maximum SM clock, MHz.
    #[serde(default)]
    pub max_sm_clock_mhz: Option<u32>,
    /// Maximum memory clock, MHz.
    #[serde(default)]
    pub max_memory_clock_mhz: Option<u32>,
    /// MIG mode, or `None` when the GPU does not support MIG.
    #[serde(default)]
    pub mig: Option<MigMode>,
    /// The GPU-instance profiles the driver offers (empty when MIG is unsupported).
    #[serde(default)]
    pub profiles: Vec<GiProfileInfo>,
    /// Existing GPU instances.
    #[serde(default)]
    pub gpu_instances: Vec<GpuInstanceState>,
    /// Processes on the whole GPU (without MIG; with MIG they are listed per compute instance).
    #[serde(default)]
    pub processes: Vec<ProcessInfo>,
}

/// MIG mode now and after the next GPU reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigMode {
    /// Enabled now.
    pub current: bool,
    /// Enabled after the next reset.
    pub pending: bool,
}

/// One GPU-instance profile as the driver reports it (`nvmlDeviceGetGpuInstanceProfileInfo`
/// plus its possible placements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiProfileInfo {
    /// The profile id (`nvidia-smi mig -lgip`'s ID column).
    pub id: u32,
    /// Name without the `MIG ` prefix, e.g. `3g.40gb`.
    pub name: String,
    /// Compute slices.
    pub slice_count: u32,
    /// Memory, MiB.
    pub memory_mib: u64,
    /// SMs per instance.
    pub sm_count: u32,
    /// Most instances of this profile.
    pub instance_count: u32,
    /// Legal placement starts.
    pub placements: Vec<u8>,
    /// Placement size in memory slices.
    pub placement_size: u8,
}

/// One existing GPU instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuInstanceState {
    /// GI id (`nvidia-smi mig -lgi`'s GI ID).
    pub id: u32,
    /// Its GI profile id.
    pub profile_id: u32,
    /// Placement start (memory slice).
    pub start: u8,
    /// Placement size (memory slices).
    pub size: u8,
    /// Its compute instances.
    #[serde(default)]
    pub compute_instances: Vec<ComputeInstanceState>,
}

/// One compute instance inside a GPU instance; each is one MIG device to CUDA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeInstanceState {
    /// CI id within its GI.
    pub id: u32,
    /// CI profile id (0 = 1 slice, 1 = 2, 2 = 3, 3 = 4, 4 = 7, as in nvml.h).
    pub profile_id: u32,
    /// Compute slices it uses.
    pub slice_count: u32,
    /// Placement start within the GI (compute slice).
    #[serde(default)]
    pub start: u32,
    /// SMs, when known.
    #[serde(default)]
    pub sm_count: Option<u32>,
    /// The MIG device UUID (`MIG-...`) that `CUDA_VISIBLE_DEVICES` selects, when known.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Processes running on it.
    #[serde(default)]
    pub processes: Vec<ProcessInfo>,
}

/// A process using a GPU or MIG device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Its name, when it could be read.
    #[serde(default)]
    pub name: Option<String>,
    /// GPU memory it uses, MiB, when reported.
    #[serde(default)]
    pub used_memory_mib: Option<u64>,
}

/// A snapshot file that cannot be used: the shared located input error, naming the file, the
/// field (a JSON path such as `gpus[0].gpu_instances[1].start`) and what is wrong.
pub type StateError = migsched_core::InputError;

/// A snapshot error at `field` (none when empty).
fn state_error(origin: &str, field: &str, message: String) -> StateError {
    let e = StateError::new(origin, message);
    if field.is_empty() {
        e
    } else {
        e.with_field(field)
    }
}

/// The CI profile id (nvml.h's `NVML_COMPUTE_INSTANCE_PROFILE_<n>_SLICE`) of a compute
/// instance spanning `slices` compute slices, for the sizes a full-GI CI can have.
pub fn full_ci_profile_id(slices: u32) -> Option<u32> {
    // nvml.h: 1_SLICE 0x0, 2_SLICE 0x1, 3_SLICE 0x2, 4_SLICE 0x3, 7_SLICE 0x4, 8_SLICE 0x5,
    // 6_SLICE 0x6.
    match slices {
        1 => Some(0),
        2 => Some(1),
        3 => Some(2),
        4 => Some(3),
        7 => Some(4),
        8 => Some(5),
        6 => Some(6),
        _ => None,
    }
}

impl DeviceState {
    /// Parses and checks a snapshot; `origin` names the file in errors.
    pub fn from_json_str(text: &str, origin: &str) -> Result<DeviceState, StateError> {
        let err = |field: &str, message: String| state_error(origin, field, message);
        if text.trim().is_empty() {
            return Err(err("", "the file is empty".into()));
        }
        let state: DeviceState = serde_json::from_str(text)
            .map_err(|e| err("", format!("not a device-state file: {e}")))?;
        state.check(origin)?;
        Ok(state)
    }

    /// The snapshot as pretty JSON (what `discover --json` prints and `--state` reads).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a device state encodes as JSON");
        s.push('\n');
        s
    }

    /// Checks what serde cannot: the format tag, unique ids, placements inside the GPU.
    pub fn check(&self, origin: &str) -> Result<(), StateError> {
        let err = |field: String, message: String| state_error(origin, &field, message);
        if self.format != STATE_FORMAT {
            return Err(err(
                "format".into(),
                format!("'{}' is not '{STATE_FORMAT}'", self.format),
            ));
        }
        let mut indices = BTreeSet::new();
        for (g, gpu) in self.gpus.iter().enumerate() {
            let at = |f: &str| format!("gpus[{g}].{f}");
            if !indices.insert(gpu.index) {
                return Err(err(
                    at("index"),
                    format!("index {} appears twice", gpu.index),
                ));
            }
            if gpu.name.trim().is_empty() {
                return Err(err(at("name"), "is empty".into()));
            }
            if gpu.memory_mib == 0 {
                return Err(err(at("memory_mib"), "must be positive".into()));
            }
            if gpu.mig.is_none() && !gpu.gpu_instances.is_empty() {
                return Err(err(
                    at("gpu_instances"),
                    "a GPU without MIG support has no GPU instances".into(),
                ));
            }
            if gpu.mig.is_some_and(|m| !m.current) && !gpu.gpu_instances.is_empty() {
                return Err(err(
                    at("gpu_instances"),
                    "a GPU with MIG disabled has no GPU instances".into(),
                ));
            }
            let mut profile_ids = BTreeSet::new();
            for (p, prof) in gpu.profiles.iter().enumerate() {
                if !profile_ids.insert(prof.id) {
                    return Err(err(
                        at(&format!("profiles[{p}].id")),
                        format!("profile id {} appears twice", prof.id),
                    ));
                }
                if prof.placement_size == 0 {
                    return Err(err(
                        at(&format!("profiles[{p}].placement_size")),
                        "must be positive".into(),
                    ));
                }
            }
            let mut gi_ids = BTreeSet::new();
            for (i, gi) in gpu.gpu_instances.iter().enumerate() {
                let at_gi = |f: &str| at(&format!("gpu_instances[{i}].{f}"));
                if !gi_ids.insert(gi.id) {
                    return Err(err(at_gi("id"), format!("GI id {} appears twice", gi.id)));
                }
                if gi.size == 0 {
                    return Err(err(at_gi("size"), "must be positive".into()));
                }
                if let Some(prof) = gpu.profiles.iter().find(|p| p.id == gi.profile_id)
                    && prof.placement_size != gi.size
                {
                    return Err(err(
                        at_gi("size"),
                        format!(
                            "{} but profile {} ({}) has placement size {}",
                            gi.size, prof.id, prof.name, prof.placement_size
                        ),
                    ));
                }
                let mut ci_ids = BTreeSet::new();
                for (c, ci) in gi.compute_instances.iter().enumerate() {
                    if !ci_ids.insert(ci.id) {
                        return Err(err(
                            at_gi(&format!("compute_instances[{c}].id")),
                            format!("CI id {} appears twice in GI {}", ci.id, gi.id),
                        ));
                    }
                    if ci.slice_count == 0 {
                        return Err(err(
                            at_gi(&format!("compute_instances[{c}].slice_count")),
                            "must be positive".into(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The GPU with this NVML index.
    pub fn gpu(&self, index: u32) -> Option<&GpuState> {
        self.gpus.iter().find(|g| g.index == index)
    }
}

impl GpuState {
    /// Whether MIG is enabled now.
    pub fn mig_enabled(&self) -> bool {
        self.mig.is_some_and(|m| m.current)
    }

    /// The driver's profile info for a profile id.
    pub fn profile(&self, id: u32) -> Option<&GiProfileInfo> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Every process on the GPU: on the whole GPU and on each compute instance.
    pub fn all_processes(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.processes.iter().chain(
            self.gpu_instances
                .iter()
                .flat_map(|gi| gi.compute_instances.iter())
                .flat_map(|ci| ci.processes.iter()),
        )
    }
}

impl GpuInstanceState {
    /// Processes on any of its compute instances.
    pub fn processes(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.compute_instances
            .iter()
            .flat_map(|ci| ci.processes.iter())
    }
}
