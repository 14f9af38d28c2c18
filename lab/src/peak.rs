//! Peak search: the largest load factor at which a plan keeps a target SLO attainment.

use anyhow::Result;
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

/// Bisects the largest load factor at which SLO attainment stays at or above `target`:
/// doubling from 1 (or halving) to bracket it, then halving the bracket to `tolerance`
/// (relative). Each step is one simulation with the same seed; `progress` sees every step.
/// Returns the peak with its report (`None` when no load down to 1e-4 meets the target).
#[allow(clippy::too_many_arguments)]
pub fn peak_search(
    setup: &SimSetup,
    base: &SimConfig,
    make: &dyn Fn() -> Result<Box<dyn Scheduler>>,
    target: f64,
    tolerance: f64,
    max_load: f64,
    steps: &mut Vec<PeakStep>,
    progress: &mut dyn FnMut(&PeakStep),
) -> Result<Option<(f64, SimReport)>> {
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
