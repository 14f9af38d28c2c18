//! Round robin: each model's requests go to its instances in turn, whatever their load.

use migsched_core::TraceChoice;

use crate::scheduler::{Decision, Request, Scheduler, View};

/// Instances in turn, per model.
#[derive(Debug, Default, Clone)]
pub struct RoundRobin {
    next: Vec<usize>,
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "round-robin"
    }
    fn dispatch(
        &mut self,
        view: &View<'_>,
        request: &Request,
        _: Option<&mut Vec<TraceChoice>>,
    ) -> Decision {
        let list = view.instances_of(request.model);
        if self.next.len() <= request.model {
            self.next.resize(request.model + 1, 0);
        }
        let k = self.next[request.model] % list.len();
        self.next[request.model] = k + 1;
        Decision::Enqueue { instance: list[k] }
    }
}
