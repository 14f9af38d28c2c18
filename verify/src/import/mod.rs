//! Plans made by other tools, turned into migsched plans so they can be verified like
//! migsched's own: ParvaGPU's deployment CSV and NVIDIA mig-parted configs. An import
//! records what the file says, legal or not, and never repairs it; it fails only on input it
//! cannot read.

pub mod mig_parted;
pub mod parvagpu;

use migsched_core::{
    Method, MigGpu, ModelDemand, ModelService, Objective, PLAN_FORMAT, Plan, PlanGpu, PlanInstance,
};

/// A plan made from another tool's file, with notes on what the import decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The plan (method `imported`).
    pub plan: Plan,
    /// What the import decided or could not fill in.
    pub notes: Vec<String>,
}

/// Assembles a plan from its GPUs: the model list (demand from `models`, served rate and
/// instance count summed over the GPUs), GPUs used, and cost.
pub(crate) fn finish_plan(
    name: &str,
    objective: Option<Objective>,
    gpus: Vec<MigGpu>,
    models: &[ModelDemand],
    cost_per_gpu: f64,
) -> Plan {
    let services = models
        .iter()
        .map(|m| {
            let mine: Vec<&PlanInstance> = gpus
                .iter()
                .flat_map(|g| &g.instances)
                .filter(|i| i.model.as_deref() == Some(m.name.as_str()))
                .collect();
            ModelService {
                model: m.name.clone(),
                slo_ms: m.slo_ms,
                rate_rps: m.rate_rps,
                served_rps: mine.iter().map(|i| i.throughput_rps.unwrap_or(0.0)).sum(),
                instances: mine.len() as u32,
            }
        })
        .collect();
    let used = gpus
        .iter()
        .filter(|g| g.instances.iter().any(|i| i.model.is_some()))
        .count() as u32;
    Plan {
        format: PLAN_FORMAT.to_string(),
        instance: name.to_string(),
        method: Method::Imported,
        objective,
        gpus: gpus.into_iter().map(PlanGpu::Mig).collect(),
        models: services,
        gpus_used: used,
        cost: f64::from(used) * cost_per_gpu,
    }
}
