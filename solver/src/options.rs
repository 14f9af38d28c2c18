//! Solver options with explicit defaults; every solve records the ones it used.

use serde::Serialize;
use thiserror::Error;

/// The largest seed HiGHS takes (its `random_seed` is a C `int`).
pub const MAX_SEED: u32 = i32::MAX as u32;

/// The most HiGHS threads a solve asks for (HiGHS allocates per thread; a million threads
/// end in `bad_alloc`).
pub const MAX_THREADS: u32 = 1024;

/// A solve option outside its domain: the option, its value and the domain.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("solver option {option} = {value} is outside its domain: {domain}")]
pub struct OptionsError {
    /// The option's name (the field of [`SolveOptions`]).
    pub option: &'static str,
    /// The value given.
    pub value: String,
    /// The allowed values, with their bounds.
    pub domain: String,
}

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

impl SolveOptions {
    /// Checks every option against its documented domain: `seed` at most [`MAX_SEED`],
    /// `threads` from 1 to [`MAX_THREADS`], `time_limit_s` positive (infinity: no limit),
    /// `mip_rel_gap` finite and at least 0, `rho` in (0, 1], `knee_threshold` finite and at
    /// least 0. [`crate::try_solve`] calls it; a caller taking options from input should too.
    pub fn validate(&self) -> Result<(), OptionsError> {
        let bad = |option, value: String, domain: String| {
            Err(OptionsError {
                option,
                value,
                domain,
            })
        };
        if self.seed > MAX_SEED {
            return bad("seed", self.seed.to_string(), format!("0 to {MAX_SEED}"));
        }
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return bad(
                "threads",
                self.threads.to_string(),
                format!("1 to {MAX_THREADS}"),
            );
        }
        if self.time_limit_s.is_nan() || self.time_limit_s <= 0.0 {
            let domain = "seconds above 0 (inf: no limit)".to_string();
            return bad("time_limit_s", self.time_limit_s.to_string(), domain);
        }
        if !self.mip_rel_gap.is_finite() || self.mip_rel_gap < 0.0 {
            let domain = "a finite fraction of at least 0".to_string();
            return bad("mip_rel_gap", self.mip_rel_gap.to_string(), domain);
        }
        if self.rho.is_nan() || self.rho <= 0.0 || self.rho > 1.0 {
            return bad("rho", self.rho.to_string(), "(0, 1]".to_string());
        }
        if !self.knee_threshold.is_finite() || self.knee_threshold < 0.0 {
            let domain = "a finite fraction of at least 0".to_string();
            return bad("knee_threshold", self.knee_threshold.to_string(), domain);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(change: impl Fn(&mut SolveOptions), expected: &str) {
        let mut o = SolveOptions::default();
        change(&mut o);
        let got = o.validate().map_err(|e| e.to_string());
        assert_eq!(
            got.err().as_deref(),
            (!expected.is_empty()).then_some(expected)
        );
    }

    #[test]
    fn options_outside_their_domain_name_the_bound() {
        check(|_| {}, "");
        check(|o| o.seed = MAX_SEED, "");
        check(
            |o| o.seed = 2_147_483_648,
            "solver option seed = 2147483648 is outside its domain: 0 to 2147483647",
        );
        check(
            |o| o.threads = 1_000_000,
            "solver option threads = 1000000 is outside its domain: 1 to 1024",
        );
        check(
            |o| o.threads = 0,
            "solver option threads = 0 is outside its domain: 1 to 1024",
        );
        check(|o| o.time_limit_s = f64::INFINITY, "");
        check(
            |o| o.time_limit_s = f64::NAN,
            "solver option time_limit_s = NaN is outside its domain: seconds above 0 (inf: no limit)",
        );
        check(
            |o| o.rho = 1.5,
            "solver option rho = 1.5 is outside its domain: (0, 1]",
        );
        check(
            |o| o.mip_rel_gap = -1.0,
            "solver option mip_rel_gap = -1 is outside its domain: a finite fraction of at least 0",
        );
        check(
            |o| o.knee_threshold = f64::NAN,
            "solver option knee_threshold = NaN is outside its domain: a finite fraction of at least 0",
        );
    }
}
