//! One finished cell of a sweep: a row of its results, as written to `cells/<key>.json` and
//! read back by the sweep, its merge and the aggregation over seeds.

use serde::{Deserialize, Serialize};

/// One finished cell: a row of the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Index in the grid.
    pub index: usize,
    /// File name of the cell (without `.json`).
    pub key: String,
    /// Instance name (file stem).
    pub instance: String,
    /// FNV-1a fingerprint of the instance file.
    pub instance_hash: String,
    /// FNV-1a fingerprint of its profile files, or `analytic`.
    pub profiles_hash: String,
    /// Planning method.
    pub method: String,
    /// Objective name.
    pub objective: String,
    /// Solver status.
    pub status: String,
    /// GPUs the plan uses (0 without a plan).
    pub gpus_used: u64,
    /// Scheduler name.
    pub scheduler: String,
    /// Load factor.
    pub load: f64,
    /// Seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Serving mode name.
    pub mode: String,
    /// Arrival process (cells of sweeps before the field: `poisson`).
    #[serde(default = "default_arrival")]
    pub arrival: String,
    /// Service-time noise (cells of sweeps before the field: `none`).
    #[serde(default = "default_noise")]
    pub noise: String,
    /// Query batch, when the spec sets one (else the instance's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_batch: Option<String>,
    /// Requests simulated.
    pub requests: u64,
    /// Simulated figures; absent when the cell has no plan (or nothing finished).
    pub slo_attainment: Option<f64>,
    /// Throughput, requests/s.
    pub throughput_rps: Option<f64>,
    /// Goodput (requests within their SLO), requests/s.
    pub goodput_rps: Option<f64>,
    /// Mean latency, ms.
    pub latency_mean_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub latency_p99_ms: Option<f64>,
    /// Why the cell has no plan (the solver's reason), when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// migsched version that ran the cell.
    pub version: String,
}

fn default_arrival() -> String {
    "poisson".into()
}

fn default_noise() -> String {
    "none".into()
}
