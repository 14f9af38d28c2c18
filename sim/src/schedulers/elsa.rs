//! ELSA (Kim, Choi, Rhu, DAC 2022): visit the model's partitions from smallest to largest
//! (compute slices, then id); with `T_wait` the partition's predicted wait and `T_est` the
//! request's predicted service there, enqueue on the first with `D − now > α·(T_wait + β·T_est)`
//! (the smallest partition that still meets the SLA); if none qualifies, on the one with the
//! smallest `T_wait + T_est` (the fastest completion, first in visiting order on ties).
//!
//! With MPS slots, `T_wait` is the queued and remaining predicted work over the slots (see
//! [`View::wait_ns`](crate::scheduler::View::wait_ns)). α and β are unpublished; defaults 1.

use migsched_core::TraceChoice;

use crate::scheduler::{Decision, Request, Scheduler, View};

/// The elastic scheduler of PARIS + ELSA.
#[derive(Debug, Clone)]
pub struct Elsa {
    /// Weight of the predicted completion against the slack.
    pub alpha: f64,
    /// Weight of the request's own service time.
    pub beta: f64,
    order: Vec<Vec<u32>>,
}

impl Elsa {
    /// ELSA with the given α and β.
    pub fn new(alpha: f64, beta: f64) -> Elsa {
        Elsa {
            alpha,
            beta,
            order: Vec::new(),
        }
    }
}

impl Default for Elsa {
    fn default() -> Self {
        Elsa::new(1.0, 1.0)
    }
}

impl Scheduler for Elsa {
    fn name(&self) -> &'static str {
        "elsa"
    }
    fn parameters(&self) -> Vec<(String, f64)> {
        vec![("alpha".into(), self.alpha), ("beta".into(), self.beta)]
    }
    fn dispatch(
        &mut self,
        view: &View<'_>,
        request: &Request,
        mut choices: Option<&mut Vec<TraceChoice>>,
    ) -> Decision {
        if self.order.len() <= request.model {
            self.order.resize(request.model + 1, Vec::new());
        }
        if self.order[request.model].is_empty() {
            let mut v = view.instances_of(request.model).to_vec();
            v.sort_by_key(|&i| (view.gpcs(i), i));
            self.order[request.model] = v;
        }
        let slack = request.deadline_ns as f64 - view.now as f64;
        let mut fastest: Option<(u64, u32)> = None;
        for &i in &self.order[request.model] {
            let (wait_ns, service_ns) = (view.wait_ns(i), view.service_ns(i, request.batch));
            if let Some(c) = choices.as_deref_mut() {
                c.push(TraceChoice {
                    instance: i,
                    wait_ns,
                    service_ns,
                });
            }
            if slack > self.alpha * (wait_ns as f64 + self.beta * service_ns as f64) {
                return Decision::Enqueue { instance: i };
            }
            let done = wait_ns + service_ns;
            if fastest.is_none_or(|(b, _)| done < b) {
                fastest = Some((done, i));
            }
        }
        Decision::Enqueue {
            instance: fastest.map_or(0, |f| f.1),
        }
    }
}
