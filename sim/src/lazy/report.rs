//! What a node-level run reports: counts, SLO attainment, throughput, latency percentiles and
//! how full its node kernels were.

use migsched_core::metrics::{RunMetrics, ServingMetrics};
use serde::Serialize;

use crate::histogram::Percentiles;

/// The result of a node-level run on one instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeReport {
    /// Policy name (`serial`, `graph`, `lazy`).
    pub policy: String,
    /// Policy parameters.
    pub parameters: Vec<(String, f64)>,
    /// Seed of the arrival stream.
    pub seed: u64,
    /// Latency SLO of every request, ms.
    pub slo_ms: f64,
    /// Nodes (kernels) of the model.
    pub nodes: u32,
    /// Simulated end time, ns: the stop time of a duration run without drain, else the last
    /// completion (or the stop time, if later).
    pub end_ns: u64,
    /// `end_ns` in seconds.
    pub duration_s: f64,
    /// Requests that arrived.
    pub requests: u64,
    /// Of those, completed.
    pub completed: u64,
    /// Arrived but not completed at the end.
    pub in_flight: u64,
    /// Completed within the SLO.
    pub slo_met: u64,
    /// `slo_met / completed` (1 when none completed); requests in flight are left out.
    pub slo_attainment: f64,
    /// Completed requests per second of `duration_s`.
    pub throughput_rps: f64,
    /// Completed within the SLO per second.
    pub goodput_rps: f64,
    /// Response time (arrival to the end of the last node) of completed requests, ms.
    pub latency_ms: Percentiles,
    /// Node kernels run.
    pub kernels: u64,
    /// Mean batch per node kernel.
    pub mean_batch: f64,
    /// Kernels that a lazy group ran to catch up with a more progressed group.
    pub catch_up_kernels: u64,
    /// Busy fraction of the instance over `end_ns`.
    pub utilization: f64,
    /// The serving metrics of its one model as `migsched_core::metrics` defines them
    /// ([`NodeReport::run_metrics`] names the model).
    #[serde(skip)]
    pub serving: ServingMetrics,
}

impl NodeReport {
    /// The serving metrics with the model's name, as a report's `metrics` section.
    pub fn run_metrics(&self, model: &str) -> RunMetrics {
        RunMetrics {
            overall: self.serving.clone(),
            models: [(model.to_string(), self.serving.clone())].into(),
        }
    }
}
