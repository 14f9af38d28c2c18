//! Plan files (JSON): the output of every solver method and the input of the simulator, the
//! verifier and the hardware bench. Plain data: a plan read from a file is what it says, legal
//! or not; the checkers decide.
//!
//! ```json
//! {
//!   "format": "migsched-plan/1",
//!   "instance": "example",
//!   "method": "ilp",
//!   "objective": "min-gpus",
//!   "gpus": [
//!     { "index": 0, "type": "a100-80gb", "layout": "3g.40gb@0,3g.40gb@4",
//!       "instances": [
//!         { "profile": "3g.40gb", "start": 0, "model": "resnet50", "batch": 8, "procs": 2,
//!           "latency_ms": 21.5, "throughput_rps": 744.2 },
//!         { "profile": "3g.40gb", "start": 4, "model": null } ] } ],
//!   "models": [ { "model": "resnet50", "slo_ms": 100.0, "rate_rps": 700.0,
//!                 "served_rps": 744.2, "instances": 1 } ],
//!   "gpus_used": 1,
//!   "cost": 1.0
//! }
//! ```

use serde::{Deserialize, Serialize};

/// The format tag written into every plan.
pub const PLAN_FORMAT: &str = "migsched-plan/1";

/// A serving plan: a layout per GPU and a model per instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// The instance's name.
    pub instance: String,
    /// The method that made it (`ilp`, `paris`, `greedy`, ..., or `imported`).
    pub method: String,
    /// The objective it was made for.
    pub objective: String,
    /// Every configured GPU, in order.
    pub gpus: Vec<PlanGpu>,
    /// Per model: demand and what the plan serves.
    pub models: Vec<ModelService>,
    /// GPUs with at least one instance serving a model.
    pub gpus_used: u32,
    /// Sum of the used GPUs' costs.
    pub cost: f64,
}

/// One GPU of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanGpu {
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
    /// Sum of the predicted throughput of the instances serving it.
    pub served_rps: f64,
    /// Instances serving it.
    pub instances: u32,
}

impl Plan {
    /// Instances serving a model, across all GPUs, as (gpu index, instance).
    pub fn serving(&self, model: &str) -> impl Iterator<Item = (u32, &PlanInstance)> {
        self.gpus.iter().flat_map(move |g| {
            g.instances
                .iter()
                .filter(move |i| i.model.as_deref() == Some(model))
                .map(move |i| (g.index, i))
        })
    }
}
