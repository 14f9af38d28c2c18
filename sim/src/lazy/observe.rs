//! What a node-level run reports as it goes: arrivals and each node kernel's start and finish,
//! as borrowed events, and a recorder that turns them into trace lines.

use migsched_core::Ns;
use migsched_core::{Event, TRACE_FORMAT, TraceEvent, TraceHeader, TraceInstance, TraceModel};

use super::profile::NodeProfile;
use super::report::NodeReport;
use super::run::NodeSimConfig;
use crate::NoObserver;

/// One event of a node-level run. The instance is always instance 0, slot 0 in traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEvent<'a> {
    /// A request arrived (one sample).
    Arrival {
        /// Time, ns.
        t: u64,
        /// Request id (0, 1, ... in arrival order).
        req: u64,
    },
    /// A node kernel started.
    Start {
        /// Time, ns.
        t: u64,
        /// Node index in execution order.
        node: u32,
        /// The batch's requests, in id order.
        members: &'a [u64],
        /// The kernel's latency, ns.
        service_ns: u64,
        /// Lazy policy: the smallest predicted slack among the members under the plan the
        /// scheduler checked (see the module docs), ns.
        slack_ns: Option<i64>,
    },
    /// A node kernel finished; after the last node its members are done.
    Finish {
        /// Time, ns.
        t: u64,
        /// Node index in execution order.
        node: u32,
        /// The batch's requests, in id order.
        members: &'a [u64],
    },
}

impl NodeEvent<'_> {
    /// The trace line of this event for a run of `model`.
    pub fn to_trace(&self, model: &str) -> TraceEvent {
        let (t, event) = match *self {
            NodeEvent::Arrival { t, req } => (
                t,
                Event::Arrival {
                    req,
                    model: model.to_string(),
                    batch: 1,
                },
            ),
            NodeEvent::Start {
                t,
                node,
                members,
                service_ns,
                slack_ns,
            } => (
                t,
                Event::Start {
                    instance: 0,
                    slot: 0,
                    members: members.to_vec(),
                    batch: members.len() as u32,
                    service_ns,
                    slack_ns,
                    node: Some(node),
                },
            ),
            NodeEvent::Finish { t, node, members } => (
                t,
                Event::Finish {
                    instance: 0,
                    slot: 0,
                    members: members.to_vec(),
                    node: Some(node),
                },
            ),
        };
        TraceEvent { t, event }
    }
}

/// Receives a node-level run's events; `enabled` false lets the run skip building them.
pub trait NodeObserver {
    /// Whether to report events at all.
    fn enabled(&self) -> bool;
    /// One event.
    fn observe(&mut self, event: NodeEvent<'_>);
}

impl NodeObserver for NoObserver {
    fn enabled(&self) -> bool {
        false
    }
    fn observe(&mut self, _: NodeEvent<'_>) {}
}

/// Keeps every event as a trace line.
#[derive(Debug, Clone, Default)]
pub struct TraceRecorder {
    model: String,
    events: Vec<TraceEvent>,
}

impl TraceRecorder {
    /// A recorder for a run of `model`.
    pub fn new(model: &str) -> TraceRecorder {
        TraceRecorder {
            model: model.to_string(),
            events: Vec::new(),
        }
    }

    /// The events so far, in the order they happened.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// The events, in the order they happened.
    pub fn into_events(self) -> Vec<TraceEvent> {
        self.events
    }
}

impl NodeObserver for TraceRecorder {
    fn enabled(&self) -> bool {
        true
    }
    fn observe(&mut self, event: NodeEvent<'_>) {
        self.events.push(event.to_trace(&self.model));
    }
}

/// The header of a node-level run's trace: one instance (id 0, GPU 0, one slot) of
/// `gpu_profile` serving `model`, with the run's policy, seed, SLO and end, and the node
/// table the scheduler predicted with.
pub fn node_trace_header(
    model: &str,
    gpu_profile: &str,
    profile: &NodeProfile,
    config: &NodeSimConfig,
    report: &NodeReport,
) -> TraceHeader {
    TraceHeader {
        format: TRACE_FORMAT.to_string(),
        scheduler: config.policy.name().to_string(),
        parameters: config.policy.parameters(),
        seed: Some(config.seed),
        duration_ns: report.end_ns,
        instances: vec![TraceInstance {
            instance: 0,
            gpu: 0,
            profile: gpu_profile.to_string(),
            start: 0,
            model: model.to_string(),
            slots: 1,
            max_batch: config.policy.max_batch(),
            service_ns: None,
        }],
        models: vec![TraceModel {
            model: model.to_string(),
            slo_ms: Ns(config.slo_ns).ms(),
        }],
        work_conserving: !matches!(config.policy, super::Policy::Graph { .. }),
        batching: None,
        drained: Some(!matches!(
            config.stop,
            crate::Stop::Duration { drain: false, .. }
        )),
        warmup_ns: None,
        nodes: Some(profile.trace_nodes()),
    }
}
