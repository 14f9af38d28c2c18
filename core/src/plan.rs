//! Plan files (JSON): the output of every solver method and the input of the simulator, the
//! verifier and the hardware bench. Plain data: a plan read from a file is what it says, legal
//! or not; the checkers decide.
//!
//! Each GPU entry says what it is (`"kind"`): a MIG layout with its GPU instances, or an MPS
//! split into at most two gpulets, each running its models round robin in a duty cycle.
//!
//! ```json
//! {
//!   "format": "migsched-plan/2",
//!   "instance": "example",
//!   "method": "ilp",
//!   "objective": "min-gpus",
//!   "gpus": [
//!     { "kind": "mig", "index": 0, "type": "a100-80gb", "layout": "3g.40gb@0,3g.40gb@4",
//!       "instances": [
//!         { "profile": "3g.40gb", "start": 0, "model": "resnet50", "batch": 8, "procs": 2,
//!           "latency_ms": 21.5, "throughput_rps": 744.2 },
//!         { "profile": "3g.40gb", "start": 4, "model": null } ] },
//!     { "kind": "mps", "index": 1, "type": "a100-80gb",
//!       "gpulets": [
//!         { "percent": 60, "duty_ms": 20.0,
//!           "tasks": [ { "model": "bert", "batch": 4, "latency_ms": 9.5,
//!                        "throughput_rps": 200.0, "memory_mib": 1650.0 } ] },
//!         { "percent": 40, "tasks": [] } ] } ],
//!   "models": [ { "model": "resnet50", "slo_ms": 100.0, "rate_rps": 700.0,
//!                 "served_rps": 744.2, "instances": 1 } ],
//!   "gpus_used": 2,
//!   "cost": 2.0
//! }
//! ```
//!
//! [`Plan::from_json`] reads this format and the previous one (`migsched-plan/1`, where a
//! gpulet GPU hid its split in the layout string, `mps:60,40`, and each gpulet's index in an
//! entry's `start`); plans are always written in the current one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, GpuType, UnknownGpu};
use crate::error::InputError;
use crate::layout::{Driver, Layout, LayoutError};
use crate::method::{Method, Objective};
use crate::mig_parted::{Devices, ExportEntry, render_config};

/// The format tag written into every plan.
pub const PLAN_FORMAT: &str = "migsched-plan/2";
/// The previous format, still read.
pub const PLAN_FORMAT_V1: &str = "migsched-plan/1";

/// A serving plan: per GPU a MIG layout or an MPS split, and what each part serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`] once read.
    pub format: String,
    /// The instance's name.
    pub instance: String,
    /// The method that made it.
    pub method: Method,
    /// The objective it was made for; `null` for layouts made for none (a mig-parted
    /// config read as a plan).
    pub objective: Option<Objective>,
    /// Every configured GPU, in order.
    pub gpus: Vec<PlanGpu>,
    /// Per model: demand and what the plan serves.
    pub models: Vec<ModelService>,
    /// GPUs with at least one part serving a model.
    pub gpus_used: u32,
    /// Sum of the used GPUs' costs.
    pub cost: f64,
}

/// One GPU of a plan: what it is decides which rules apply to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PlanGpu {
    /// A MIG layout and a model per GPU instance.
    Mig(MigGpu),
    /// An MPS split into gpulets.
    Mps(MpsGpu),
}

/// A GPU partitioned with MIG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigGpu {
    /// Position in the plan (0-based), also the device index a mig-parted export uses.
    pub index: u32,
    /// Catalog GPU id.
    #[serde(rename = "type")]
    pub gpu: String,
    /// The layout's text form (`3g.40gb@0,...`).
    pub layout: String,
    /// One entry per GPU instance of the layout, in start order.
    pub instances: Vec<PlanInstance>,
}

/// A GPU shared through MPS, split by SM percentage into gpulets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpsGpu {
    /// Position in the plan (0-based).
    pub index: u32,
    /// Catalog GPU id.
    #[serde(rename = "type")]
    pub gpu: String,
    /// The gpulets, in order (gpulet's rule: at most two, sizes adding to at most 100).
    pub gpulets: Vec<PlanGpulet>,
}

/// One gpulet: a share of the GPU's SMs running its models round robin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanGpulet {
    /// Size, % of the GPU's SMs.
    pub percent: u32,
    /// How its tasks share it.
    #[serde(default, skip_serializing_if = "GpuletSchedule::is_duty_cycle")]
    pub schedule: GpuletSchedule,
    /// The duty cycle, ms: every cycle each task runs one batch (absent when idle, and in
    /// occupancy plans, where each task has its own cycle `batch / throughput`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_ms: Option<f64>,
    /// The models it serves, each one batch per cycle.
    pub tasks: Vec<GpuletTask>,
}

/// How the tasks of a gpulet share it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpuletSchedule {
    /// gpulet's schedule: one duty cycle, each task one batch per cycle, round robin.
    #[default]
    DutyCycle,
    /// An occupancy plan (the exact program's relaxation): each task at its saturated batch
    /// on its own cycle, the gpulet's occupancies adding to at most 1; the timing between
    /// tasks is relaxed, so it is a lower bound rather than a schedule.
    Occupancy,
}

impl GpuletSchedule {
    /// Whether it is the default, [`GpuletSchedule::DutyCycle`].
    pub fn is_duty_cycle(&self) -> bool {
        *self == GpuletSchedule::DutyCycle
    }
}

/// One model served by a gpulet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuletTask {
    /// The model.
    pub model: String,
    /// Requests per batch (one batch per cycle).
    pub batch: u32,
    /// Planned latency of one batch, ms (interference included when the planner weighed it).
    pub latency_ms: f64,
    /// Planned rate served, requests/s (`batch / duty`).
    pub throughput_rps: f64,
    /// Memory of the model at this batch, MiB, as the planner predicted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<f64>,
}

/// One GPU instance of a plan and what it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInstance {
    /// MIG profile.
    pub profile: String,
    /// Placement start.
    pub start: u8,
    /// The model served, or `None` for an idle instance.
    pub model: Option<String>,
    /// Batch size (when serving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// MPS processes (when serving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procs: Option<u32>,
    /// Predicted latency of one batch, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Predicted throughput of the instance, samples/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_rps: Option<f64>,
}

/// One model's service in a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelService {
    /// Model name.
    pub model: String,
    /// SLO, ms.
    pub slo_ms: f64,
    /// Demand, requests/s.
    pub rate_rps: f64,
    /// Sum of the predicted throughput of the instances (or gpulet tasks) serving it.
    pub served_rps: f64,
    /// Instances (or gpulet tasks) serving it.
    pub instances: u32,
}

impl PlanGpu {
    /// Position in the plan.
    pub fn index(&self) -> u32 {
        match self {
            PlanGpu::Mig(g) => g.index,
            PlanGpu::Mps(g) => g.index,
        }
    }

    /// Catalog GPU id.
    pub fn gpu(&self) -> &str {
        match self {
            PlanGpu::Mig(g) => &g.gpu,
            PlanGpu::Mps(g) => &g.gpu,
        }
    }

    /// The MIG side, if it is one.
    pub fn as_mig(&self) -> Option<&MigGpu> {
        match self {
            PlanGpu::Mig(g) => Some(g),
            PlanGpu::Mps(_) => None,
        }
    }

    /// The MIG side, mutably, if it is one.
    pub fn as_mig_mut(&mut self) -> Option<&mut MigGpu> {
        match self {
            PlanGpu::Mig(g) => Some(g),
            PlanGpu::Mps(_) => None,
        }
    }

    /// The MPS side, if it is one.
    pub fn as_mps(&self) -> Option<&MpsGpu> {
        match self {
            PlanGpu::Mps(g) => Some(g),
            PlanGpu::Mig(_) => None,
        }
    }

    /// Whether any part of it serves a model.
    pub fn serves(&self) -> bool {
        match self {
            PlanGpu::Mig(g) => g.instances.iter().any(|i| i.model.is_some()),
            PlanGpu::Mps(g) => g.gpulets.iter().any(|l| !l.tasks.is_empty()),
        }
    }
}

impl Plan {
    /// MIG instances serving a model, across all GPUs, as (gpu index, instance).
    pub fn serving(&self, model: &str) -> impl Iterator<Item = (u32, &PlanInstance)> {
        self.mig_gpus().flat_map(move |g| {
            g.instances
                .iter()
                .filter(move |i| i.model.as_deref() == Some(model))
                .map(move |i| (g.index, i))
        })
    }

    /// The MIG GPUs.
    pub fn mig_gpus(&self) -> impl Iterator<Item = &MigGpu> {
        self.gpus.iter().filter_map(PlanGpu::as_mig)
    }

    /// The MPS GPUs.
    pub fn mps_gpus(&self) -> impl Iterator<Item = &MpsGpu> {
        self.gpus.iter().filter_map(PlanGpu::as_mps)
    }

    /// Whether every GPU is an MPS split (a gpulet plan); false for an empty plan.
    pub fn is_gpulet_plan(&self) -> bool {
        !self.gpus.is_empty() && self.gpus.iter().all(|g| matches!(g, PlanGpu::Mps(_)))
    }

    /// Reads a plan file of the current or the previous format; `origin` names the file in
    /// errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Plan, InputError> {
        if text.trim().is_empty() {
            return Err(InputError::new(
                origin,
                format!("the file is empty; a plan is a JSON object of format {PLAN_FORMAT}"),
            ));
        }
        #[derive(Deserialize)]
        struct Tag {
            format: Option<serde_json::Value>,
        }
        let tag: Tag = serde_json::from_str(text)
            .map_err(|e| InputError::at_line(origin, e.line(), format!("not a plan: {e}")))?;
        let not_a_plan = |e: serde_json::Error| {
            InputError::at_line(origin, e.line(), format!("not a plan: {e}"))
        };
        match tag.format.as_ref().and_then(|v| v.as_str()) {
            Some(PLAN_FORMAT) => serde_json::from_str(text).map_err(not_a_plan),
            Some(PLAN_FORMAT_V1) => {
                let old: v1::Plan = serde_json::from_str(text).map_err(not_a_plan)?;
                old.upgrade(origin)
            }
            _ => Err(InputError::new(
                origin,
                format!(
                    "format {} is not {PLAN_FORMAT} (or the older {PLAN_FORMAT_V1})",
                    tag.format
                        .map_or("(missing)".to_string(), |v| v.to_string())
                ),
            )
            .with_field("format")),
        }
    }

    /// The plan as pretty JSON with a final newline, as `solve -o` writes it.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan always encodes");
        text.push('\n');
        text
    }
}

/// A MIG GPU of a plan resolved against the catalog: its GPU type and its layout, legal under
/// the driver rules it was resolved with.
#[derive(Debug, Clone)]
pub struct ResolvedMig<'p> {
    /// The plan's entry (instances and what they serve).
    pub entry: &'p MigGpu,
    /// The catalog's GPU type.
    pub gpu: Arc<GpuType>,
    /// The layout its text names.
    pub layout: Layout,
}

/// A plan GPU that cannot be resolved against the catalog.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    /// A GPU type the catalog does not have.
    #[error("plan GPU {index}: {source}")]
    UnknownGpu {
        /// The GPU's index in the plan.
        index: u32,
        /// The catalog's answer.
        source: UnknownGpu,
    },
    /// A layout text that cannot be read or breaks the rules.
    #[error("plan GPU {index} ({gpu}): layout '{layout}': {source}")]
    Layout {
        /// The GPU's index in the plan.
        index: u32,
        /// Its type.
        gpu: String,
        /// The layout text.
        layout: String,
        /// Why (boxed: layout errors carry whole layouts).
        source: Box<LayoutError>,
    },
    /// An MPS GPU where a MIG layout is needed.
    #[error("plan GPU {index} ({gpu}) is an MPS split into gpulets, not a MIG layout")]
    NotMig {
        /// The GPU's index in the plan.
        index: u32,
        /// Its type.
        gpu: String,
    },
}

impl Plan {
    /// Every GPU resolved as a MIG layout, in plan order: the one way the simulator, the
    /// hardware bench and the mig-parted export read a plan's layouts. An MPS GPU is an error
    /// here (it has no MIG layout).
    pub fn resolve_mig(
        &self,
        catalog: &Catalog,
        driver: Driver,
    ) -> Result<Vec<ResolvedMig<'_>>, ResolveError> {
        self.gpus
            .iter()
            .map(|g| {
                let PlanGpu::Mig(entry) = g else {
                    return Err(ResolveError::NotMig {
                        index: g.index(),
                        gpu: g.gpu().to_string(),
                    });
                };
                let gpu = catalog
                    .gpu(&entry.gpu)
                    .map_err(|source| ResolveError::UnknownGpu {
                        index: entry.index,
                        source,
                    })?
                    .clone();
                let layout =
                    Layout::parse(gpu.clone(), &entry.layout, driver).map_err(|source| {
                        ResolveError::Layout {
                            index: entry.index,
                            gpu: entry.gpu.clone(),
                            layout: entry.layout.clone(),
                            source: Box::new(source),
                        }
                    })?;
                Ok(ResolvedMig { entry, gpu, layout })
            })
            .collect()
    }

    /// A mig-parted v1 config named `name` with one device entry per plan GPU (device index
    /// = plan index).
    pub fn mig_parted_config(
        &self,
        catalog: &Catalog,
        driver: Driver,
        name: &str,
    ) -> Result<String, ResolveError> {
        let resolved = self.resolve_mig(catalog, driver)?;
        let entries: Vec<ExportEntry<'_>> = resolved
            .iter()
            .map(|r| ExportEntry {
                devices: Devices::List(vec![r.entry.index]),
                layout: &r.layout,
            })
            .collect();
        Ok(render_config(name, &entries))
    }
}

/// The previous format, `migsched-plan/1`, and its upgrade.
mod v1 {
    use serde::Deserialize;

    use super::{
        GpuletSchedule, GpuletTask, MigGpu, ModelService, MpsGpu, PlanGpu, PlanGpulet, PlanInstance,
    };
    use crate::error::InputError;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Plan {
        #[allow(dead_code)]
        format: String,
        instance: String,
        method: String,
        objective: String,
        gpus: Vec<Gpu>,
        models: Vec<ModelService>,
        gpus_used: u32,
        cost: f64,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Gpu {
        index: u32,
        #[serde(rename = "type")]
        gpu: String,
        layout: String,
        instances: Vec<PlanInstance>,
    }

    impl Plan {
        pub(super) fn upgrade(self, origin: &str) -> Result<super::Plan, InputError> {
            // v1 names were free-form: a method migsched does not have ("hand", another
            // system's) made the plan elsewhere, and an objective it does not have ("none")
            // is no objective.
            let method = self
                .method
                .parse()
                .unwrap_or(crate::method::Method::Imported);
            let objective = self.objective.parse().ok();
            let gpus = self
                .gpus
                .into_iter()
                .enumerate()
                .map(|(pos, g)| match g.layout.strip_prefix("mps:") {
                    None => Ok(PlanGpu::Mig(MigGpu {
                        index: g.index,
                        gpu: g.gpu,
                        layout: g.layout,
                        instances: g.instances,
                    })),
                    Some(sizes) => {
                        let schedule = if self.method == "gpulet-ilp" {
                            GpuletSchedule::Occupancy
                        } else {
                            GpuletSchedule::DutyCycle
                        };
                        mps(origin, pos, (g.index, g.gpu), sizes, schedule, g.instances)
                    }
                })
                .collect::<Result<_, _>>()?;
            Ok(super::Plan {
                format: super::PLAN_FORMAT.to_string(),
                instance: self.instance,
                method,
                objective,
                gpus,
                models: self.models,
                gpus_used: self.gpus_used,
                cost: self.cost,
            })
        }
    }

    /// A v1 gpulet GPU: layout `mps:p[,q]`, entries with profile `gpulet-<p>` and the
    /// gpulet's index in `start`.
    fn mps(
        origin: &str,
        pos: usize,
        (index, gpu): (u32, String),
        sizes: &str,
        schedule: GpuletSchedule,
        entries: Vec<PlanInstance>,
    ) -> Result<PlanGpu, InputError> {
        let field = |f: &str| format!("gpus[{pos}].{f}");
        let mut gpulets = sizes
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u32>()
                    .map(|percent| PlanGpulet {
                        percent,
                        schedule,
                        duty_ms: None,
                        tasks: Vec::new(),
                    })
                    .map_err(|_| {
                        InputError::new(origin, format!("gpulet size '{s}' is not a number"))
                            .with_field(field("layout"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (k, e) in entries.into_iter().enumerate() {
            let at = field(&format!("instances[{k}]"));
            let Some(l) = gpulets.get_mut(usize::from(e.start)) else {
                return Err(InputError::new(
                    origin,
                    format!(
                        "entry at gpulet {} but the layout mps:{sizes} has {} gpulets",
                        e.start,
                        sizes.split(',').count()
                    ),
                )
                .with_field(at));
            };
            if e.profile != format!("gpulet-{}", l.percent) {
                return Err(InputError::new(
                    origin,
                    format!("profile '{}' is not gpulet-{}", e.profile, l.percent),
                )
                .with_field(at));
            }
            let Some(model) = e.model else { continue };
            let (Some(batch), Some(latency_ms), Some(throughput_rps)) =
                (e.batch, e.latency_ms, e.throughput_rps)
            else {
                return Err(InputError::new(
                    origin,
                    format!("the entry for '{model}' needs batch, latency_ms and throughput_rps"),
                )
                .with_field(at));
            };
            if schedule == GpuletSchedule::DutyCycle && l.duty_ms.is_none() && throughput_rps > 0.0
            {
                l.duty_ms = Some(1000.0 * f64::from(batch) / throughput_rps);
            }
            l.tasks.push(GpuletTask {
                model,
                batch,
                latency_ms,
                throughput_rps,
                memory_mib: None,
            });
        }
        Ok(PlanGpu::Mps(MpsGpu {
            index,
            gpu,
            gpulets,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_GPULET: &str = r#"{"format":"migsched-plan/1","instance":"t","method":"gpulet",
      "objective":"min-gpus","gpus":[{"index":0,"type":"a100-80gb","layout":"mps:60,40",
      "instances":[{"profile":"gpulet-60","start":0,"model":"bert","batch":4,"procs":1,
      "latency_ms":9.5,"throughput_rps":200.0},{"profile":"gpulet-40","start":1,"model":null}]}],
      "models":[{"model":"bert","slo_ms":40.0,"rate_rps":150.0,"served_rps":200.0,"instances":1}],
      "gpus_used":1,"cost":1.0}"#;

    #[test]
    fn v1_gpulet_plans_read_as_mps_gpus() {
        let p = Plan::from_json(V1_GPULET, "old.json").unwrap();
        assert_eq!(p.format, PLAN_FORMAT);
        assert!(p.is_gpulet_plan());
        let g = p.gpus[0].as_mps().unwrap();
        assert_eq!(g.gpulets.len(), 2);
        assert_eq!(g.gpulets[0].percent, 60);
        assert_eq!(g.gpulets[0].duty_ms, Some(20.0));
        assert_eq!(g.gpulets[0].tasks[0].model, "bert");
        assert!(g.gpulets[1].tasks.is_empty());
        // The upgraded plan writes and reads back as the current format.
        assert_eq!(Plan::from_json(&p.to_json(), "new.json").unwrap(), p);
    }

    #[test]
    fn v1_mig_plans_read_unchanged() {
        let text = r#"{"format":"migsched-plan/1","instance":"t","method":"ilp","objective":"min-gpus",
          "gpus":[{"index":0,"type":"a100-80gb","layout":"7g.80gb@0","instances":[
          {"profile":"7g.80gb","start":0,"model":"m","batch":8,"procs":1,"latency_ms":5.0,"throughput_rps":1600.0}]}],
          "models":[],"gpus_used":1,"cost":1.0}"#;
        let p = Plan::from_json(text, "old.json").unwrap();
        let g = p.gpus[0].as_mig().unwrap();
        assert_eq!(g.layout, "7g.80gb@0");
        assert_eq!(p.serving("m").count(), 1);
        assert!(p.to_json().contains(r#""kind": "mig""#));
    }

    #[test]
    fn bad_plans_name_the_file_and_field() {
        let e = Plan::from_json("", "p.json").unwrap_err().to_string();
        assert!(e.starts_with("p.json: the file is empty"), "{e}");
        let e = Plan::from_json(r#"{"format":"migsched-plan/9"}"#, "p.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.json: format: format \"migsched-plan/9\""),
            "{e}"
        );
        let hand = Plan::from_json(&V1_GPULET.replace("\"gpulet\",", "\"hand\","), "p.json");
        assert_eq!(hand.unwrap().method, Method::Imported);
        let v2 = Plan::from_json(V1_GPULET, "x").unwrap().to_json();
        let e = Plan::from_json(&v2.replace("\"gpulet\",", "\"hand\","), "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown method 'hand'"), "{e}");
        let e = Plan::from_json(&V1_GPULET.replace("gpulet-40", "gpulet-30"), "p.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("gpus[0].instances[1]: profile 'gpulet-30'"),
            "{e}"
        );
        let v2 = Plan::from_json(V1_GPULET, "x").unwrap().to_json();
        let e = Plan::from_json(&v2.replace("\"mps\"", "\"tpu\""), "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.json:") && e.contains("tpu"), "{e}");
    }
}
