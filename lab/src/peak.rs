//! Peak search: the largest load factor at which a plan keeps a target SLO attainment.

use anyhow::{Result, bail};
use migsched_sim::{NoObserver, Scheduler, SimConfig, SimReport, SimSetup, simulate};
use serde::Serialize;

/// One step of a peak search: a load and whether it met the target.
#[derive(Debug, Clone, Serialize)]
pub struct PeakStep {
    /// Load factor.
    pub load: f64,
    /// SLO attainment there.
    pub slo_attainment: f64,
    /// Whether it met the target.
    pub meets_target: bool,
}

/// What a peak search looks for: the SLO attainment to keep, how narrow the final bracket is
/// (relative), and the largest load factor tried.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PeakGoal {
    /// SLO attainment to keep, in (0, 1].
    pub target: f64,
    /// Stop when the bracket is this narrow, relative, in [1e-6, 1).
    pub tolerance: f64,
    /// Largest load factor tried, in (0, 1e6].
    pub max_load: f64,
}

impl PeakGoal {
    /// Checks the goal's domains (a tolerance below 1e-6 would bisect below the resolution
    /// of the simulated rates; a huge load cap would simulate absurd arrival counts).
    pub fn validate(&self) -> Result<()> {
        if !(self.target > 0.0 && self.target <= 1.0) {
            bail!("--target {} is not in (0, 1]", self.target);
        }
        if !(self.tolerance >= 1e-6 && self.tolerance < 1.0) {
            bail!("--tolerance {} is not in [1e-6, 1)", self.tolerance);
        }
        if !(self.max_load > 0.0 && self.max_load <= 1e6) {
            bail!("--max-load {} is not in (0, 1e6]", self.max_load);
        }
        Ok(())
    }
}

/// Bisects the largest load factor at which SLO attainment stays at or above the goal's
/// target: doubling from 1 (or halving) to bracket it, then halving the bracket to the
/// tolerance. Each step is one simulation with the same seed; `progress` sees every step.
/// Returns the peak with its report (`None` when no load down to 1e-4 meets the target).
pub fn peak_search(
    setup: &SimSetup,
    base: &SimConfig,
    make: &dyn Fn() -> Result<Box<dyn Scheduler>>,
    goal: PeakGoal,
    steps: &mut Vec<PeakStep>,
    progress: &mut dyn FnMut(&PeakStep),
) -> Result<Option<(f64, SimReport)>> {
    goal.validate()?;
    let PeakGoal {
        target,
        tolerance,
        max_load,
    } = goal;
    let mut eval = |load: f64, steps: &mut Vec<PeakStep>| -> Result<(bool, SimReport)> {
        let mut scheduler = make()?;
        let config = SimConfig {
            load,
            ..base.clone()
        };
        let r = simulate(setup, &config, scheduler.as_mut(), &mut NoObserver)?;
        let ok = r.slo_attainment >= target;
        let step = PeakStep {
            load,
            slo_attainment: r.slo_attainment,
            meets_target: ok,
        };
        progress(&step);
        steps.push(step);
        Ok((ok, r))
    };
    let mut best: Option<(f64, SimReport)> = None;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let (ok, r) = eval(1.0, steps)?;
    if ok {
        best = Some((1.0, r));
        lo = 1.0;
        loop {
            hi = (lo * 2.0).min(max_load);
            if hi <= lo {
                break;
            }
            let (ok, r) = eval(hi, steps)?;
            if !ok {
                break;
            }
            best = Some((hi, r));
            lo = hi;
            if hi >= max_load {
                break;
            }
        }
    } else {
        while hi > 1e-4 {
            lo = hi / 2.0;
            let (ok, r) = eval(lo, steps)?;
            if ok {
                best = Some((lo, r));
                break;
            }
            hi = lo;
        }
    }
    if best.is_some() && lo < hi {
        while (hi - lo) > tolerance * lo {
            let mid = 0.5 * (lo + hi);
            let (ok, r) = eval(mid, steps)?;
            if ok {
                lo = mid;
                best = Some((mid, r));
            } else {
                hi = mid;
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use migsched_sim::{ServingMode, Stop};
    use migsched_solver::{MigMethod, Objective, SolveOptions, solve};

    use super::*;
    use crate::Env;
    use crate::inputs::{datasets_dir, load_problem, setup_of};
    use crate::sched::{SchedulerKind, make_scheduler};

    fn small() -> (SimSetup, SimConfig) {
        let env = Env::load(None).unwrap();
        let path = datasets_dir().join("instances").join("small.toml");
        let (instance, problem) = load_problem(&env, &path).unwrap();
        let plan = solve(
            &problem,
            MigMethod::Greedy,
            Objective::MinGpus,
            &SolveOptions::default(),
        )
        .plan
        .unwrap();
        let setup = setup_of(&env, &plan, &instance, &path).unwrap();
        let base = SimConfig {
            stop: Stop::Duration {
                ns: 1_000_000_000,
                drain: false,
            },
            seed: 1,
            mode: ServingMode::Dynamic {
                max_queue_delay_ns: 0,
            },
            ..SimConfig::default()
        };
        (setup, base)
    }

    #[test]
    fn the_peak_meets_the_target_and_a_load_within_tolerance_above_misses() {
        let (setup, base) = small();
        let make = || make_scheduler(SchedulerKind::Fifs, 1.0, 1.0);
        let (target, tolerance) = (0.95, 0.05);
        let mut steps = Vec::new();
        let mut seen = 0;
        let (peak, report) = peak_search(
            &setup,
            &base,
            &make,
            PeakGoal {
                target,
                tolerance,
                max_load: 64.0,
            },
            &mut steps,
            &mut |_| seen += 1,
        )
        .unwrap()
        .expect("some load meets 95%");
        assert_eq!(seen, steps.len());
        assert!(report.slo_attainment >= target);
        assert!(steps.iter().any(|s| s.load == peak && s.meets_target));
        // Every load that met the target is at most the peak (the search only moves up).
        assert!(
            steps
                .iter()
                .filter(|s| s.meets_target)
                .all(|s| s.load <= peak)
        );
        // Unless capped, a missing load brackets the peak within the tolerance.
        if peak < 64.0 {
            let above = steps
                .iter()
                .filter(|s| !s.meets_target && s.load > peak)
                .map(|s| s.load)
                .fold(f64::INFINITY, f64::min);
            assert!(
                above <= peak * (1.0 + tolerance) + 1e-12,
                "{above} vs {peak}"
            );
        }
    }

    #[test]
    fn goals_outside_their_domains_are_refused() {
        let ok = PeakGoal {
            target: 0.99,
            tolerance: 0.01,
            max_load: 64.0,
        };
        assert!(ok.validate().is_ok());
        for bad in [
            PeakGoal { target: 0.0, ..ok },
            PeakGoal {
                target: f64::NAN,
                ..ok
            },
            PeakGoal {
                tolerance: 1e-17,
                ..ok
            },
            PeakGoal {
                tolerance: 1.0,
                ..ok
            },
            PeakGoal {
                max_load: 1e12,
                ..ok
            },
        ] {
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.starts_with("--"), "{e}");
        }
    }

    #[test]
    fn a_target_every_load_meets_stops_at_the_cap() {
        let (setup, base) = small();
        let make = || make_scheduler(SchedulerKind::Elsa, 1.0, 1.0);
        let mut steps = Vec::new();
        let best = peak_search(
            &setup,
            &base,
            &make,
            PeakGoal {
                target: 1e-9,
                tolerance: 0.05,
                max_load: 4.0,
            },
            &mut steps,
            &mut |_| {},
        )
        .unwrap()
        .unwrap();
        assert_eq!(best.0, 4.0);
        let loads: Vec<f64> = steps.iter().map(|s| s.load).collect();
        assert_eq!(loads, [1.0, 2.0, 4.0]);
    }
}
