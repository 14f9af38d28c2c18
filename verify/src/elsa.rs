//! ELSA's dispatch rule (ALGORITHMS.md), replayed from the numbers a trace records.
//!
//! ELSA visits a model's instances from the smallest partition to the largest (by the
//! profile's compute slices, ties by instance id). With `slack = D − now`, `T_wait` an
//! instance's predicted wait and `T_est` the request's predicted service there, it enqueues
//! on the first instance with `slack > α·(T_wait + β·T_est)`; when none qualifies, on the one
//! with the smallest `T_wait + T_est` (the first such in visiting order).
//!
//! A comparison within [`TOLERANCE_NS`] of its threshold could go either way in another
//! implementation's arithmetic; such a candidate is accepted as well as the strict answer.

use migsched_core::TraceChoice;

/// Nanoseconds within which predicted times and threshold comparisons are taken as equal
/// (rounding of milliseconds to nanoseconds, division by slots).
pub const TOLERANCE_NS: f64 = 1000.0;

/// ELSA's two parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElsaParams {
    /// Scales the predicted completion time against the slack.
    pub alpha: f64,
    /// Scales the predicted service time.
    pub beta: f64,
}

impl Default for ElsaParams {
    /// ALGORITHMS.md's defaults: α = β = 1.
    fn default() -> Self {
        ElsaParams {
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

/// The replayed decision: the instances ELSA may have chosen, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ElsaDecision {
    /// The instance the rule picks with exact arithmetic.
    pub chosen: u32,
    /// Every instance a near-tie (within [`TOLERANCE_NS`]) could also give; includes `chosen`.
    pub acceptable: Vec<u32>,
    /// Whether `chosen` qualified (slack above its threshold) rather than being the fallback
    /// (soonest completion when none qualifies).
    pub qualified: bool,
    /// The comparison that decided it, in milliseconds.
    pub why: String,
}

fn ms(ns: f64) -> String {
    crate::plan::fmt_num(migsched_core::time::ns_to_ms(ns))
}

/// Replays the rule over `choices` in visiting order. `None` when there are no choices.
pub fn replay(slack_ns: i64, choices: &[TraceChoice], params: ElsaParams) -> Option<ElsaDecision> {
    let slack = slack_ns as f64;
    let threshold =
        |c: &TraceChoice| params.alpha * (c.wait_ns as f64 + params.beta * c.service_ns as f64);
    let mut acceptable: Vec<u32> = Vec::new();
    for c in choices {
        let t = threshold(c);
        if slack > t {
            let near = slack - t <= TOLERANCE_NS;
            let mut acc = acceptable.clone();
            acc.push(c.instance);
            if near {
                // Taken as not qualifying, the rule would go on to later candidates.
                if let Some(rest) = replay_tail(slack, choices, c, params) {
                    acc.extend(rest);
                }
            }
            acc.dedup();
            return Some(ElsaDecision {
                chosen: c.instance,
                acceptable: acc,
                qualified: true,
                why: format!(
                    "instance {} is the first in visiting order with slack {} ms > α·(wait + \
                     β·est) = {}·({} + {}·{}) = {} ms",
                    c.instance,
                    ms(slack),
                    crate::plan::fmt_num(params.alpha),
                    ms(c.wait_ns as f64),
                    crate::plan::fmt_num(params.beta),
                    ms(c.service_ns as f64),
                    ms(t)
                ),
            });
        }
        if t - slack <= TOLERANCE_NS {
            acceptable.push(c.instance);
        }
    }
    let total = |c: &TraceChoice| c.wait_ns as f64 + c.service_ns as f64;
    let best = choices
        .iter()
        .reduce(|a, b| if total(b) < total(a) { b } else { a })?;
    for c in choices {
        if total(c) - total(best) <= TOLERANCE_NS && !acceptable.contains(&c.instance) {
            acceptable.push(c.instance);
        }
    }
    Some(ElsaDecision {
        chosen: best.instance,
        acceptable,
        qualified: false,
        why: format!(
            "no instance has slack {} ms > α·(wait + β·est); instance {} completes soonest \
             (wait + est = {} ms)",
            ms(slack),
            best.instance,
            ms(total(best))
        ),
    })
}

/// The instances the rule could reach after `from` when `from` is taken as not qualifying.
fn replay_tail(
    slack: f64,
    choices: &[TraceChoice],
    from: &TraceChoice,
    params: ElsaParams,
) -> Option<Vec<u32>> {
    let pos = choices.iter().position(|c| std::ptr::eq(c, from))?;
    let mut rest: Vec<TraceChoice> = choices.to_vec();
    // Make `from` fail by construction: the remaining candidates decide.
    rest[pos].wait_ns = u64::MAX / 4;
    replay(slack as i64, &rest, params).map(|d| d.acceptable)
}

/// Compute slices of a profile from its name's `<g>g.` prefix (MIG's naming convention), or
/// `None` when the name does not start that way.
pub fn compute_slices_of(profile: &str) -> Option<u8> {
    let (g, _) = profile.trim().split_once(['g', 'G'])?;
    g.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(instance: u32, wait_ms: f64, service_ms: f64) -> TraceChoice {
        TraceChoice {
            instance,
            wait_ns: (wait_ms * 1e6) as u64,
            service_ns: (service_ms * 1e6) as u64,
        }
    }

    fn ns(ms: f64) -> i64 {
        (ms * 1e6) as i64
    }

    #[test]
    fn first_qualifying_instance_in_visiting_order() {
        let choices = [c(0, 10.0, 5.0), c(1, 2.0, 3.0), c(2, 0.0, 1.0)];
        let d = replay(ns(8.0), &choices, ElsaParams::default()).unwrap();
        assert_eq!(d.chosen, 1);
        assert_eq!(d.acceptable, [1]);
        assert_eq!(
            d.why,
            "instance 1 is the first in visiting order with slack 8 ms > α·(wait + β·est) = \
             1·(2 + 1·3) = 5 ms"
        );
    }

    #[test]
    fn falls_back_to_the_soonest_completion() {
        let choices = [c(0, 10.0, 5.0), c(1, 6.0, 3.0), c(2, 4.0, 6.0)];
        let d = replay(ns(2.0), &choices, ElsaParams::default()).unwrap();
        assert_eq!(d.chosen, 1);
        // 9 ms against 15 and 10: no near tie, so no other answer.
        assert_eq!(d.acceptable, [1]);
        assert_eq!(
            d.why,
            "no instance has slack 2 ms > α·(wait + β·est); instance 1 completes soonest \
             (wait + est = 9 ms)"
        );
        // Ties go to the first in visiting order.
        let tie = [c(4, 1.0, 1.0), c(5, 0.0, 2.0)];
        let d = replay(ns(1.0), &tie, ElsaParams::default()).unwrap();
        assert_eq!((d.chosen, d.acceptable), (4, vec![4, 5]));
        // A negative slack (deadline passed) never qualifies.
        assert_eq!(
            replay(-5, &choices, ElsaParams::default()).unwrap().chosen,
            1
        );
    }

    #[test]
    fn alpha_and_beta_scale_the_threshold() {
        let choices = [c(0, 2.0, 4.0), c(1, 0.0, 1.0)];
        // 1·(2 + 1·4) = 6 < 7: instance 0.
        assert_eq!(
            replay(ns(7.0), &choices, ElsaParams::default())
                .unwrap()
                .chosen,
            0
        );
        // 2·(2 + 1·4) = 12 > 7: instance 1 (2·(0 + 1) = 2 < 7).
        let p = ElsaParams {
            alpha: 2.0,
            beta: 1.0,
        };
        assert_eq!(replay(ns(7.0), &choices, p).unwrap().chosen, 1);
        // 1·(2 + 0.25·4) = 3 < 7: instance 0 again.
        let p = ElsaParams {
            alpha: 1.0,
            beta: 0.25,
        };
        assert_eq!(replay(ns(7.0), &choices, p).unwrap().chosen, 0);
        // α multiplies: 2·(2 + 1·4) = 12 > 10 rejects instance 0 (2 + 6 = 8 would admit it).
        let p = ElsaParams {
            alpha: 2.0,
            beta: 1.0,
        };
        let d = replay(ns(10.0), &choices, p).unwrap();
        assert_eq!((d.chosen, d.acceptable), (1, vec![1]));
        // β multiplies: 1·(2 + 2·4) = 10 > 9 rejects instance 0 (2 + 2 + 4 = 8 would admit it).
        let p = ElsaParams {
            alpha: 1.0,
            beta: 2.0,
        };
        let d = replay(ns(9.0), &choices, p).unwrap();
        assert_eq!((d.chosen, d.acceptable), (1, vec![1]));
    }

    #[test]
    fn the_comparison_is_strict() {
        // slack == threshold does not qualify.
        let choices = [c(0, 2.0, 3.0), c(1, 0.0, 1.0)];
        let d = replay(ns(5.0), &choices, ElsaParams::default()).unwrap();
        assert_eq!(d.chosen, 1);
        // ... but lies within the tolerance, so instance 0 is acceptable too.
        assert_eq!(d.acceptable, [0, 1]);
        // Far from the threshold, only one answer.
        let d = replay(ns(5.1), &choices, ElsaParams::default()).unwrap();
        assert_eq!((d.chosen, d.acceptable), (0, vec![0]));
    }

    #[test]
    fn a_near_tie_above_the_threshold_admits_the_next_answer() {
        let choices = [c(0, 2.0, 3.0), c(1, 0.0, 1.0)];
        let d = replay(ns(5.0) + 500, &choices, ElsaParams::default()).unwrap();
        assert_eq!(d.chosen, 0);
        assert_eq!(d.acceptable, [0, 1]);
        // The next answer is whatever the rule gives without the near candidate.
        let choices = [c(3, 2.0, 3.0), c(9, 4.0, 4.0), c(7, 0.0, 1.0)];
        let d = replay(ns(5.0) + 500, &choices, ElsaParams::default()).unwrap();
        assert_eq!((d.chosen, d.acceptable), (3, vec![3, 7]));
    }

    #[test]
    fn no_choices_no_decision() {
        assert_eq!(replay(0, &[], ElsaParams::default()), None);
    }

    #[test]
    fn compute_slices_from_the_name() {
        assert_eq!(compute_slices_of("3g.40gb"), Some(3));
        assert_eq!(compute_slices_of("1g.10gb+me"), Some(1));
        assert_eq!(compute_slices_of("7g.80gb"), Some(7));
        assert_eq!(compute_slices_of("gpulet-50"), None);
        assert_eq!(compute_slices_of(""), None);
    }
}
