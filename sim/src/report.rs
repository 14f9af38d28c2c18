//! What a run reports: per model and overall counts, SLO attainment, goodput, throughput,
//! latency percentiles, queueing, per-instance utilization, and optionally per-second series.

use migsched_core::metrics::RunMetrics;
use serde::Serialize;

use crate::histogram::Percentiles;

/// The result of a simulation.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// Scheduler name.
    pub scheduler: String,
    /// Scheduler parameters.
    pub parameters: Vec<(String, f64)>,
    /// Whether the run claims work conservation: the scheduler does, and the batcher never
    /// holds a slot idle to wait for a fuller batch (no max queue delay).
    pub work_conserving: bool,
    /// Seed of the run.
    pub seed: u64,
    /// Load factor on every model's rate.
    pub load: f64,
    /// Measured duration (end minus warm-up), seconds.
    pub duration_s: f64,
    /// Simulated end time, ns.
    pub end_ns: u64,
    /// Requests that arrived after the warm-up.
    pub requests: u64,
    /// Of those, completed.
    pub completed: u64,
    /// Of those, dropped past their deadline.
    pub dropped: u64,
    /// Requests of any time still queued or running at the end.
    pub in_flight: u64,
    /// All arrivals, warm-up included (conservation: arrived = completed + dropped + in flight).
    pub arrived_total: u64,
    /// All completions, warm-up included.
    pub completed_total: u64,
    /// All drops, warm-up included.
    pub dropped_total: u64,
    /// Completed within the SLO over the requests after the warm-up (dropped and in-flight
    /// requests miss; 1 without requests): `metrics.overall.slo_attainment`.
    pub slo_attainment: f64,
    /// Completed requests per second.
    pub throughput_rps: f64,
    /// Completed within the SLO per second.
    pub goodput_rps: f64,
    /// Completed samples per second.
    pub samples_per_second: f64,
    /// Response time (arrival to finish) of completed requests, ms.
    pub latency_ms: Percentiles,
    /// Queueing time (arrival to start) of started requests, ms.
    pub queue_ms: Percentiles,
    /// Per model.
    pub per_model: Vec<ModelReport>,
    /// Per instance.
    pub per_instance: Vec<InstanceReport>,
    /// Events processed.
    pub events: u64,
    /// The serving metrics as `migsched_core::metrics` defines them, which `verify trace
    /// --metrics` recomputes from the trace.
    pub metrics: RunMetrics,
}

/// One model's results.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    /// Model name.
    pub model: String,
    /// SLO, ms.
    pub slo_ms: f64,
    /// Offered rate (times the load), requests/s.
    pub rate_rps: f64,
    /// Requests after the warm-up.
    pub requests: u64,
    /// Completed.
    pub completed: u64,
    /// Dropped.
    pub dropped: u64,
    /// Completed within the SLO over its requests (dropped and in-flight ones miss).
    pub slo_attainment: f64,
    /// Completed per second.
    pub throughput_rps: f64,
    /// Completed within the SLO per second.
    pub goodput_rps: f64,
    /// Response time, ms.
    pub latency_ms: Percentiles,
    /// Queueing time, ms.
    pub queue_ms: Percentiles,
    /// Mean service time of the batches its requests ran in, ms.
    pub service_ms_mean: f64,
    /// Per-second counts, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_series: Option<Vec<SeriesPoint>>,
}

/// One instance's results.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    /// Instance id (as in traces).
    pub instance: u32,
    /// GPU index in the plan.
    pub gpu: u32,
    /// MIG profile.
    pub profile: String,
    /// Placement start.
    pub start: u8,
    /// Model served.
    pub model: String,
    /// Slots (MPS processes).
    pub slots: u32,
    /// Largest batch.
    pub max_batch: u32,
    /// Batches run.
    pub batches: u64,
    /// Mean samples per batch.
    pub mean_batch: f64,
    /// Busy fraction of its slots over the run.
    pub utilization: f64,
}

/// Counts of one model in one simulated second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeriesPoint {
    /// The second (0-based).
    pub second: u64,
    /// Arrivals.
    pub arrived: u64,
    /// Completions.
    pub completed: u64,
    /// Completions within the SLO.
    pub slo_met: u64,
    /// Drops.
    pub dropped: u64,
}
