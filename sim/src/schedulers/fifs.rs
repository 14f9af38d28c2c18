//! FIFS: first idle instance, first in first served. A request goes to the lowest-numbered
//! instance of its model that can start it now, or waits in the model's central FIFO for the
//! next one to free up. Work-conserving by construction: no slot idles while a request of its
//! model waits.

use migsched_core::TraceChoice;

use crate::scheduler::{Decision, Request, Scheduler, View};

/// First idle instance, FIFO.
#[derive(Debug, Default, Clone)]
pub struct Fifs;

impl Scheduler for Fifs {
    fn name(&self) -> &'static str {
        "fifs"
    }
    fn work_conserving(&self) -> bool {
        true
    }
    fn dispatch(
        &mut self,
        view: &View<'_>,
        request: &Request,
        _: Option<&mut Vec<TraceChoice>>,
    ) -> Decision {
        match view
            .instances_of(request.model)
            .iter()
            .find(|&&i| view.accepts(i))
        {
            Some(&instance) => Decision::Enqueue { instance },
            None => Decision::Hold,
        }
    }
}
