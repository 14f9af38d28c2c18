//! Least loaded: the instance with the earliest predicted completion of the request
//! (predicted wait plus its predicted service there); ties to the lowest id.

use migsched_core::TraceChoice;

use crate::scheduler::{Decision, Request, Scheduler, View};

/// Earliest predicted completion.
#[derive(Debug, Default, Clone)]
pub struct LeastLoaded;

impl Scheduler for LeastLoaded {
    fn name(&self) -> &'static str {
        "least-loaded"
    }
    fn dispatch(
        &mut self,
        view: &View<'_>,
        request: &Request,
        mut choices: Option<&mut Vec<TraceChoice>>,
    ) -> Decision {
        let mut best: Option<(u64, u32)> = None;
        for &i in view.instances_of(request.model) {
            let (wait_ns, service_ns) = (view.wait_ns(i), view.service_ns(i, request.batch));
            if let Some(c) = choices.as_deref_mut() {
                c.push(TraceChoice {
                    instance: i,
                    wait_ns,
                    service_ns,
                });
            }
            let done = wait_ns + service_ns;
            if best.is_none_or(|(b, _)| done < b) {
                best = Some((done, i));
            }
        }
        Decision::Enqueue {
            instance: best.map_or(0, |b| b.1),
        }
    }
}
