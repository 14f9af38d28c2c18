//! Solver options with explicit defaults; every solve records the ones it used.

use serde::Serialize;

/// Options of a solve. Defaults: 60 s time limit, relative gap 1e-6, one thread, seed 0,
/// PARIS utilization cap 0.7 and knee threshold 0.1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolveOptions {
    /// Wall-clock limit for the integer programs, seconds. A solve stopped by it is never
    /// reported optimal, and (being wall-clock) may differ between runs.
    pub time_limit_s: f64,
    /// Relative MIP gap at which HiGHS may stop; a plan above a zero gap is reported
    /// `feasible` unless the objective is integral and the bound proves it optimal.
    pub mip_rel_gap: f64,
    /// HiGHS threads (1 keeps results deterministic).
    pub threads: u32,
    /// HiGHS random seed.
    pub seed: u32,
    /// PARIS setting: most busy fraction of an instance (queueing headroom), in (0, 1].
    pub rho: f64,
    /// Knee threshold of the PARIS heuristic: a batch whose successor raises throughput by
    /// less than this fraction is where a profile saturates.
    pub knee_threshold: f64,
    /// Homogeneous baseline: use this size class (e.g. `3g`) instead of the best one.
    pub homogeneous_class: Option<String>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            time_limit_s: 60.0,
            mip_rel_gap: 1e-6,
            threads: 1,
            seed: 0,
            rho: 0.7,
            knee_threshold: 0.1,
            homogeneous_class: None,
        }
    }
}
