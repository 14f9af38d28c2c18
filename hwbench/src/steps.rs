//! The step planner: from what a GPU is configured as (a snapshot) to a plan's layout, the
//! `nvidia-smi mig` commands that change only what must change.
//!
//! A GPU instance whose profile and placement the plan has is kept, untouched; when its
//! compute instances are not the one full-size CI that serving uses, only they are
//! replaced. Every other GI is destroyed (its CIs first, as the driver requires) and the
//! plan's missing instances are created at their explicit placements (`-cgi <id>:<start>`),
//! each with its default full-size CI (`-C`). Destroying first makes every intermediate
//! layout a subset of the current layout and then of the target, so each is legal; the
//! planner still replays its steps through [`simulate`] (core's layout engine) before it
//! returns them.

use std::fmt;
use std::sync::Arc;

use migsched_core::{Catalog, Driver, GpuType, Layout, Placement, Plan};
use serde::Serialize;

use crate::compare::{current_layout, identify};
use crate::state::{GpuInstanceState, GpuState, full_ci_profile_id};

/// One command that changes a GPU's MIG configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Step {
    /// Enable MIG mode (takes effect after a GPU reset; the GPU must be idle).
    EnableMig {
        /// GPU index.
        gpu: u32,
    },
    /// Destroy a compute instance.
    DestroyCi {
        /// GPU index.
        gpu: u32,
        /// Its GPU instance.
        gi: u32,
        /// The CI id.
        ci: u32,
    },
    /// Destroy a GPU instance (it has no compute instances left).
    DestroyGi {
        /// GPU index.
        gpu: u32,
        /// The GI id.
        gi: u32,
        /// Its profile (for the reader).
        profile: String,
        /// Its placement start (for the reader).
        start: u8,
    },
    /// Create a compute instance spanning a kept GPU instance.
    CreateCi {
        /// GPU index.
        gpu: u32,
        /// The GI id.
        gi: u32,
        /// CI profile id (nvml.h's `NVML_COMPUTE_INSTANCE_PROFILE_*`).
        ci_profile_id: u32,
    },
    /// Create a GPU instance at an explicit placement, with its default compute instance.
    CreateGi {
        /// GPU index.
        gpu: u32,
        /// Profile name (for the reader).
        profile: String,
        /// GI profile id.
        profile_id: u32,
        /// Placement start.
        start: u8,
    },
}

impl Step {
    /// The GPU it acts on.
    pub fn gpu(&self) -> u32 {
        match *self {
            Step::EnableMig { gpu }
            | Step::DestroyCi { gpu, .. }
            | Step::DestroyGi { gpu, .. }
            | Step::CreateCi { gpu, .. }
            | Step::CreateGi { gpu, .. } => gpu,
        }
    }

    /// The `nvidia-smi` argument vector that performs it.
    pub fn argv(&self) -> Vec<String> {
        let s = |x: &str| x.to_string();
        match self {
            Step::EnableMig { gpu } => {
                vec![s("nvidia-smi"), s("-i"), gpu.to_string(), s("-mig"), s("1")]
            }
            Step::DestroyCi { gpu, gi, ci } => vec![
                s("nvidia-smi"),
                s("mig"),
                s("-i"),
                gpu.to_string(),
                s("-gi"),
                gi.to_string(),
                s("-ci"),
                ci.to_string(),
                s("-dci"),
            ],
            Step::DestroyGi { gpu, gi, .. } => vec![
                s("nvidia-smi"),
                s("mig"),
                s("-i"),
                gpu.to_string(),
                s("-gi"),
                gi.to_string(),
                s("-dgi"),
            ],
            Step::CreateCi {
                gpu,
                gi,
                ci_profile_id,
            } => vec![
                s("nvidia-smi"),
                s("mig"),
                s("-i"),
                gpu.to_string(),
                s("-gi"),
                gi.to_string(),
                s("-cci"),
                ci_profile_id.to_string(),
            ],
            Step::CreateGi {
                gpu,
                profile_id,
                start,
                ..
            } => vec![
                s("nvidia-smi"),
                s("mig"),
                s("-i"),
                gpu.to_string(),
                s("-cgi"),
                format!("{profile_id}:{start}"),
                s("-C"),
            ],
        }
    }

    /// What it does, in words.
    pub fn describe(&self) -> String {
        match self {
            Step::EnableMig { gpu } => {
                format!("enable MIG mode on GPU {gpu} (takes effect after a GPU reset)")
            }
            Step::DestroyCi { gpu, gi, ci } => format!("destroy CI {ci} of GI {gi} on GPU {gpu}"),
            Step::DestroyGi {
                gpu,
                gi,
                profile,
                start,
            } => format!("destroy GI {gi} ({profile}@{start}) on GPU {gpu}"),
            Step::CreateCi { gpu, gi, .. } => {
                format!("create the full compute instance of GI {gi} on GPU {gpu}")
            }
            Step::CreateGi {
                gpu,
                profile,
                start,
                ..
            } => format!("create {profile}@{start} with its compute instance on GPU {gpu}"),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.argv().join(" "))
    }
}

/// A GPU instance the plan keeps as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptGi {
    /// GI id.
    pub gi: u32,
    /// `profile@start`.
    pub instance: String,
    /// Whether its compute instances are replaced (they were not one full-size CI).
    pub cis_replaced: bool,
    /// Processes running on it (`--apply` refuses to replace its CIs while there are any).
    pub processes: Vec<u32>,
}

/// A GPU instance to destroy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestroyedGi {
    /// GI id.
    pub gi: u32,
    /// `profile@start` (or the raw profile id when the catalog lacks it).
    pub instance: String,
    /// Processes running on it (`--apply` refuses while there are any).
    pub processes: Vec<u32>,
}

/// One GPU of a plan against the machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuDiff {
    /// The plan's GPU index (= NVML index).
    pub index: u32,
    /// The plan's GPU type.
    pub gpu_type: String,
    /// The current layout's text form (`empty` without instances; `None` when MIG is off).
    pub current: Option<String>,
    /// The plan's layout.
    pub target: String,
    /// Instances that already match.
    pub keep: Vec<KeptGi>,
    /// Instances to destroy.
    pub destroy: Vec<DestroyedGi>,
    /// Instances to create (`profile@start`).
    pub create: Vec<String>,
    /// The commands, in an order that succeeds.
    pub steps: Vec<Step>,
    /// Why this GPU cannot be brought to the plan (wrong type, absent, no MIG).
    pub error: Option<String>,
}

impl GpuDiff {
    /// Whether the GPU already is as the plan says.
    pub fn matches(&self) -> bool {
        self.error.is_none() && self.steps.is_empty()
    }
}

/// Plans every GPU of a plan against a snapshot. Errors only on a plan that is unusable in
/// itself (unknown GPU type, illegal layout); a machine that cannot reach it is reported in
/// the GPU's `error`.
pub fn diff_plan(
    catalog: &Catalog,
    state: &crate::state::DeviceState,
    plan: &Plan,
    driver: Driver,
) -> anyhow::Result<Vec<GpuDiff>> {
    Ok(plan
        .resolve_mig(catalog, driver)?
        .iter()
        .map(|r| {
            let index = r.entry.index;
            diff_gpu(catalog, state.gpu(index), index, &r.gpu, &r.layout, driver)
        })
        .collect())
}

/// Steps that destroy every compute instance of `gi` on GPU `gpu`, by CI id.
fn destroy_ci_steps(gpu: u32, gi: &GpuInstanceState) -> Vec<Step> {
    let mut cis: Vec<u32> = gi.compute_instances.iter().map(|c| c.id).collect();
    cis.sort_unstable();
    cis.into_iter()
        .map(|ci| Step::DestroyCi { gpu, gi: gi.id, ci })
        .collect()
}

/// Plans one GPU: `device` is the GPU with the plan's index, if the machine has one.
pub fn diff_gpu(
    catalog: &Catalog,
    device: Option<&GpuState>,
    index: u32,
    ty: &Arc<GpuType>,
    target: &Layout,
    driver: Driver,
) -> GpuDiff {
    let mut d = GpuDiff {
        index,
        gpu_type: ty.id().to_string(),
        current: None,
        target: target.text(),
        keep: Vec::new(),
        destroy: Vec::new(),
        create: Vec::new(),
        steps: Vec::new(),
        error: None,
    };
    let Some(dev) = device else {
        d.error = Some(format!("the machine has no GPU with index {index}"));
        return d;
    };
    match identify(catalog, dev) {
        Some(t) if t.id() == ty.id() => {}
        Some(t) => {
            d.error = Some(format!(
                "GPU {index} is a {} ({}), the plan wants {}",
                t.id(),
                dev.name,
                ty.id()
            ));
            return d;
        }
        None => {
            d.error = Some(format!(
                "GPU {index} ({}) is not in the catalog, the plan wants {}",
                dev.name,
                ty.id()
            ));
            return d;
        }
    }
    if dev.mig.is_none() {
        d.error = Some(format!("GPU {index} ({}) does not support MIG", dev.name));
        return d;
    }
    let current = if dev.mig_enabled() {
        match current_layout(dev, ty, driver) {
            Ok(l) => l,
            Err(e) => {
                d.error = Some(format!(
                    "GPU {index}: {e}; run `hwbench discover` to compare it with the catalog"
                ));
                return d;
            }
        }
    } else {
        if target.is_empty() {
            // MIG off and nothing wanted: the plan leaves this GPU unused.
            return d;
        }
        d.steps.push(Step::EnableMig { gpu: index });
        Layout::empty(ty.clone())
    };
    if dev.mig_enabled() {
        d.current = Some(current.text());
    }

    // Pair existing GIs with the target's instances by (profile, start).
    let mut wanted: Vec<Option<Placement>> =
        target.placements().iter().copied().map(Some).collect();
    let mut destroy_cis = Vec::new();
    let mut destroy_gis = Vec::new();
    let mut repair = Vec::new();
    let mut gis: Vec<_> = if dev.mig_enabled() {
        dev.gpu_instances.iter().collect()
    } else {
        Vec::new()
    };
    gis.sort_by_key(|g| g.id);
    for gi in gis {
        // current_layout succeeded: every GI's profile is in the catalog.
        let profile = ty
            .profile_by_nvml_id(gi.profile_id)
            .expect("a GI of a legal current layout has a catalog profile");
        let p = ty.profile(profile);
        let instance = format!("{}@{}", p.name(), gi.start);
        let pl = Placement {
            profile,
            start: gi.start,
        };
        if let Some(slot) = wanted.iter_mut().find(|w| **w == Some(pl)) {
            *slot = None;
            let full = gi.compute_instances.len() == 1
                && gi.compute_instances[0].slice_count == u32::from(p.compute_slices());
            d.keep.push(KeptGi {
                gi: gi.id,
                instance,
                cis_replaced: !full,
                processes: gi.processes().map(|pr| pr.pid).collect(),
            });
            if !full {
                let ci_profile_id = full_ci_profile_id(u32::from(p.compute_slices()))
                    .expect("catalog profiles have 1 to 8 compute slices");
                repair.extend(destroy_ci_steps(index, gi));
                repair.push(Step::CreateCi {
                    gpu: index,
                    gi: gi.id,
                    ci_profile_id,
                });
            }
        } else {
            destroy_cis.extend(destroy_ci_steps(index, gi));
            destroy_gis.push(Step::DestroyGi {
                gpu: index,
                gi: gi.id,
                profile: p.name().to_string(),
                start: gi.start,
            });
            d.destroy.push(DestroyedGi {
                gi: gi.id,
                instance,
                processes: gi.processes().map(|pr| pr.pid).collect(),
            });
        }
    }
    // Largest first (the order NVIDIA recommends when placements are implicit; with explicit
    // placements any order of a legal target succeeds), ties by start.
    let mut creates: Vec<Placement> = wanted.into_iter().flatten().collect();
    creates.sort_by_key(|pl| {
        let p = ty.profile(pl.profile);
        (
            std::cmp::Reverse((p.memory_slices(), p.compute_slices())),
            pl.start,
        )
    });
    d.steps.extend(destroy_cis);
    d.steps.extend(destroy_gis);
    d.steps.extend(repair);
    for pl in creates {
        let p = ty.profile(pl.profile);
        d.create.push(format!("{}@{}", p.name(), pl.start));
        d.steps.push(Step::CreateGi {
            gpu: index,
            profile: p.name().to_string(),
            profile_id: p.nvml_id(),
            start: pl.start,
        });
    }
    // Replay: the steps must execute in order and end at the target.
    match simulate(dev, ty, driver, &d.steps) {
        Ok(layouts) => {
            let end = layouts.last().cloned().unwrap_or(current);
            if end.placements() != target.placements() {
                d.error = Some(format!(
                    "internal error: the steps end at {end}, not at {target} (a bug)"
                ));
            }
        }
        Err(e) => {
            d.error = Some(format!(
                "internal error: the steps do not replay: {e} (a bug)"
            ))
        }
    }
    d
}

#[derive(Debug, Clone)]
struct SimGi {
    id: u32,
    placement: Placement,
    /// (CI id, compute slices).
    cis: Vec<(u32, u32)>,
}

/// Replays steps on a GPU's state, checking each as the driver would: CIs are destroyed
/// before their GI, only existing ids are touched, every new GI keeps the layout legal under
/// the catalog's rules, and a new CI fits its GI. Returns the layout after each step.
pub fn simulate(
    gpu: &GpuState,
    ty: &Arc<GpuType>,
    driver: Driver,
    steps: &[Step],
) -> Result<Vec<Layout>, String> {
    let mut mig = gpu.mig_enabled();
    let mut gis: Vec<SimGi> = Vec::new();
    if mig {
        for gi in &gpu.gpu_instances {
            let profile = ty.profile_by_nvml_id(gi.profile_id).ok_or_else(|| {
                format!("GI {} has an unknown profile id {}", gi.id, gi.profile_id)
            })?;
            gis.push(SimGi {
                id: gi.id,
                placement: Placement {
                    profile,
                    start: gi.start,
                },
                cis: gi
                    .compute_instances
                    .iter()
                    .map(|c| (c.id, c.slice_count))
                    .collect(),
            });
        }
    }
    let layout_of = |gis: &[SimGi]| {
        Layout::new(
            ty.clone(),
            gis.iter().map(|g| g.placement).collect(),
            driver,
        )
        .map_err(|e| e.to_string())
    };
    layout_of(&gis)?;
    let mut out = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let at = |m: String| format!("step {} ({step}): {m}", n + 1);
        if step.gpu() != gpu.index {
            return Err(at(format!("acts on GPU {}, not {}", step.gpu(), gpu.index)));
        }
        if !mig && !matches!(step, Step::EnableMig { .. }) {
            return Err(at("MIG mode is off".into()));
        }
        match step {
            Step::EnableMig { .. } => {
                if mig {
                    return Err(at("MIG mode is already on".into()));
                }
                mig = true;
            }
            Step::DestroyCi { gi, ci, .. } => {
                let g = gis
                    .iter_mut()
                    .find(|g| g.id == *gi)
                    .ok_or_else(|| at(format!("no GI {gi}")))?;
                let before = g.cis.len();
                g.cis.retain(|(id, _)| id != ci);
                if g.cis.len() == before {
                    return Err(at(format!("GI {gi} has no CI {ci}")));
                }
            }
            Step::DestroyGi { gi, .. } => {
                let pos = gis
                    .iter()
                    .position(|g| g.id == *gi)
                    .ok_or_else(|| at(format!("no GI {gi}")))?;
                if !gis[pos].cis.is_empty() {
                    return Err(at(format!("GI {gi} still has compute instances")));
                }
                gis.remove(pos);
            }
            Step::CreateCi {
                gi, ci_profile_id, ..
            } => {
                let g = gis
                    .iter_mut()
                    .find(|g| g.id == *gi)
                    .ok_or_else(|| at(format!("no GI {gi}")))?;
                let slices = (1..=8)
                    .find(|&s| full_ci_profile_id(s) == Some(*ci_profile_id))
                    .ok_or_else(|| at(format!("unknown CI profile id {ci_profile_id}")))?;
                let used: u32 = g.cis.iter().map(|c| c.1).sum();
                let room = u32::from(ty.profile(g.placement.profile).compute_slices());
                if used + slices > room {
                    return Err(at(format!(
                        "a {slices}-slice CI does not fit GI {gi} ({used} of {room} slices used)"
                    )));
                }
                let id = (0..).find(|i| g.cis.iter().all(|c| c.0 != *i)).unwrap_or(0);
                g.cis.push((id, slices));
            }
            Step::CreateGi {
                profile_id, start, ..
            } => {
                let profile = ty
                    .profile_by_nvml_id(*profile_id)
                    .ok_or_else(|| at(format!("unknown profile id {profile_id}")))?;
                let placement = Placement {
                    profile,
                    start: *start,
                };
                let mut all: Vec<Placement> = gis.iter().map(|g| g.placement).collect();
                all.push(placement);
                Layout::new(ty.clone(), all, driver).map_err(|e| at(e.to_string()))?;
                let id = (1..).find(|i| gis.iter().all(|g| g.id != *i)).unwrap_or(1);
                let slices = u32::from(ty.profile(profile).compute_slices());
                gis.push(SimGi {
                    id,
                    placement,
                    cis: vec![(0, slices)],
                });
            }
        }
        out.push(layout_of(&gis).map_err(at)?);
    }
    Ok(out)
}
