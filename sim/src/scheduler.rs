//! The scheduler interface: at each arrival a scheduler picks an instance queue, or holds the
//! request in its model's central FIFO, from which instances of the model take requests (oldest
//! first) whenever they can start them. Adding a scheduler is one file in `schedulers/`.

use migsched_core::TraceChoice;

use crate::engine::Inst;

/// A request as schedulers see it.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Id (arrival order).
    pub id: u64,
    /// Index into the models.
    pub model: usize,
    /// Samples in the query.
    pub batch: u32,
    /// Arrival time, ns.
    pub arrival_ns: u64,
    /// Deadline (arrival + SLO), ns.
    pub deadline_ns: u64,
}

/// What to do with an arriving request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Put it in this instance's queue.
    Enqueue {
        /// The instance.
        instance: u32,
    },
    /// Keep it in the model's central FIFO until an instance of the model is idle.
    Hold,
}

/// A read-only view of the servers at a decision.
pub struct View<'a> {
    /// Current time, ns.
    pub now: u64,
    pub(crate) instances: &'a [Inst],
    pub(crate) by_model: &'a [Vec<u32>],
}

impl View<'_> {
    /// The instances serving a model, in id order.
    pub fn instances_of(&self, model: usize) -> &[u32] {
        &self.by_model[model]
    }
    /// Predicted wait before a new request would start on an instance: the predicted service
    /// of everything queued there plus what running batches still have, over its slots (ns).
    pub fn wait_ns(&self, instance: u32) -> u64 {
        self.instances[instance as usize].predicted_wait(self.now)
    }
    /// Predicted service time of a request of `batch` samples on an instance (ns).
    pub fn service_ns(&self, instance: u32, batch: u32) -> u64 {
        self.instances[instance as usize].predicted_service(batch)
    }
    /// Whether a request given to an instance now would start with its next batch: a free
    /// slot with no query waiting for it (pre-batched), or room in the batches its free slots
    /// are forming (dynamic batching).
    pub fn accepts(&self, instance: u32) -> bool {
        self.instances[instance as usize].accepts()
    }
    /// Compute slices (GPCs) of an instance's profile.
    pub fn gpcs(&self, instance: u32) -> u8 {
        self.instances[instance as usize].gpcs
    }
}

/// An online scheduler.
pub trait Scheduler {
    /// Its name in reports and traces.
    fn name(&self) -> &'static str;
    /// Its parameters, for reports and traces.
    fn parameters(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
    /// Whether it claims work conservation: no slot idle while a request it may serve waits.
    fn work_conserving(&self) -> bool {
        false
    }
    /// Decides where an arriving request goes. When `choices` is given, a scheduler that
    /// weighs candidates records each (instance, predicted wait, predicted service) in the
    /// order it visited them, for traces.
    fn dispatch(
        &mut self,
        view: &View<'_>,
        request: &Request,
        choices: Option<&mut Vec<TraceChoice>>,
    ) -> Decision;
}
