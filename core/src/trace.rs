//! Event traces (JSON lines): what a serving system did with every request, in a format any
//! system can write and `migsched verify trace` can check.
//!
//! The first line is a [`TraceHeader`]; every other line is one [`TraceEvent`], in
//! non-decreasing time order:
//!
//! ```text
//! {"format":"migsched-trace/1","scheduler":"elsa","seed":7,"duration_ns":60000000000,
//!  "instances":[{"instance":0,"gpu":0,"profile":"3g.40gb","start":0,"model":"resnet50",
//!                "slots":2,"max_batch":8}, ...],
//!  "models":[{"model":"resnet50","slo_ms":15.0}], "work_conserving":false}
//! {"t":1000,"ev":"arrival","req":0,"model":"resnet50","batch":1}
//! {"t":1000,"ev":"dispatch","req":0,"instance":3}
//! {"t":1500,"ev":"start","instance":3,"slot":0,"members":[0],"batch":1,"service_ns":2100000}
//! {"t":2101500,"ev":"finish","instance":3,"slot":0,"members":[0]}
//! {"t":9000,"ev":"drop","req":5}
//! ```
//!
//! - `arrival`: a request (a query of `batch` samples) arrives for `model`.
//! - `dispatch`: the scheduler assigns it to an instance's queue (or, for schedulers with a
//!   central queue, to the instance that starts it).
//! - `start`: an instance slot (an MPS process) starts a batch of requests (`members`); `batch`
//!   is their total samples; `service_ns` the service time.
//! - `finish`: the batch completes; every member is done.
//! - `drop`: a request is abandoned (its deadline passed before it started).
//!
//! Optional fields carry what a checker can replay: `slack_ns` on dispatch (ELSA's
//! `deadline − now`), and `choices` with each candidate's predicted wait and service.
//!
//! Node-level traces (a model run as its sequence of graph nodes, as LazyBatching does) use the
//! same `start` and `finish` events, one pair per node kernel, with `node` set to the index of
//! the node in the model's execution order; `members` are the requests batched in that kernel.
//! At a lazy scheduler's node start, `slack_ns` may carry the smallest predicted slack
//! (deadline minus predicted completion) among the kernel's members, so a checker can verify
//! the slack rule:
//!
//! ```text
//! {"t":2000,"ev":"start","batch":2,"instance":0,"slot":0,"members":[4,5],"service_ns":41000,"slack_ns":7300000,"node":12}
//! {"t":43000,"ev":"finish","instance":0,"slot":0,"members":[4,5],"node":12}
//! ```
//!
//! A node-level trace's header may carry `nodes`: the predicted latency table its scheduler
//! used, one [`TraceNode`] per node in execution order with the kernel time at batch 1, 2, ...
//! (`{"name":"conv1","latency_ns":[41000,52000,...]}`). With it a checker can recompute every
//! predicted slack without the scheduler's code. Headers without it read as before.

use serde::{Deserialize, Serialize};

/// The format tag of the header line.
pub const TRACE_FORMAT: &str = "migsched-trace/1";

/// The first line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceHeader {
    /// Always [`TRACE_FORMAT`].
    pub format: String,
    /// The scheduler's name (`fifs`, `round-robin`, `least-loaded`, `elsa`, or another
    /// system's).
    pub scheduler: String,
    /// Parameters of the scheduler (e.g. ELSA's α and β), when it has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<(String, f64)>,
    /// Random seed of the run, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Simulated duration, ns (the end time of the trace).
    pub duration_ns: u64,
    /// The serving instances.
    pub instances: Vec<TraceInstance>,
    /// The models with their SLOs.
    pub models: Vec<TraceModel>,
    /// Whether the scheduler claims work conservation: no slot idle while a request it may
    /// serve waits.
    #[serde(default)]
    pub work_conserving: bool,
    /// How instances form batches: [`BATCHING_PREBATCHED`] (each query runs as it arrived; the
    /// default when absent) or [`BATCHING_DYNAMIC`] (a slot takes queued requests up to its
    /// `max_batch`). Checkers use it to recompute predicted waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<String>,
    /// Whether the run served every request that arrived before it ended. `false`: arrivals
    /// stopped at `duration_ns` and requests still in flight then are legitimately left
    /// unfinished. Absent means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained: Option<bool>,
    /// The warm-up, ns: metrics count only requests that arrive at or after it, over
    /// `duration_ns − warmup_ns` (see [`crate::metrics`]). Absent means 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_ns: Option<u64>,
    /// Node-level traces: the predicted latency of every node of the (single) model, in
    /// execution order, that the scheduler decided with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<TraceNode>>,
}

/// One graph node in a node-level trace header: its name and its predicted kernel time at
/// batch `b` (`latency_ns[b - 1]`), for every batch from 1 to the largest the scheduler may
/// run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceNode {
    /// The node's name.
    pub name: String,
    /// Kernel time at batch 1, 2, ..., ns.
    pub latency_ns: Vec<u64>,
}

/// [`TraceHeader::batching`]: each query runs as one batch, as it arrived.
pub const BATCHING_PREBATCHED: &str = "prebatched";
/// [`TraceHeader::batching`]: a slot takes queued requests up to the instance's max batch.
pub const BATCHING_DYNAMIC: &str = "dynamic";

/// One serving instance in a trace header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceInstance {
    /// Instance id used by events.
    pub instance: u32,
    /// GPU index in the plan.
    pub gpu: u32,
    /// MIG profile.
    pub profile: String,
    /// Placement start.
    pub start: u8,
    /// The model it serves.
    pub model: String,
    /// Parallel slots (MPS processes).
    pub slots: u32,
    /// Largest batch (samples) a slot may run.
    pub max_batch: u32,
    /// The predicted service time (ns) of a batch of `b` samples on one slot, at index
    /// `b − 1`, as the scheduler predicts it: lets a checker verify the predictions a
    /// scheduler logged. Absent when the system does not publish it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ns: Option<Vec<u64>>,
}

/// A model in a trace header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceModel {
    /// Model name.
    pub model: String,
    /// Latency SLO, ms.
    pub slo_ms: f64,
}

/// What happened, without its fields (for messages and counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A request arrived.
    Arrival,
    /// A request was assigned to an instance.
    Dispatch,
    /// A slot started a batch.
    Start,
    /// A slot finished a batch.
    Finish,
    /// A request was abandoned.
    Drop,
}

impl EventKind {
    /// The name in traces.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Arrival => "arrival",
            EventKind::Dispatch => "dispatch",
            EventKind::Start => "start",
            EventKind::Finish => "finish",
            EventKind::Drop => "drop",
        }
    }
}

/// One line of a trace after the header: a time and what happened, each kind with exactly
/// its own fields. On the wire it is one flat JSON object (`{"t":…,"ev":"start",…}`); a line
/// missing a field its kind needs, or carrying one that belongs to another kind, does not
/// read.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    /// Time, ns since the start of the run.
    pub t: u64,
    /// What happened.
    pub event: Event,
}

/// What happened, with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A request (a query of `batch` samples) arrives for `model`.
    Arrival {
        /// The request.
        req: u64,
        /// Its model.
        model: String,
        /// Its samples.
        batch: u32,
    },
    /// The scheduler assigns a request to an instance.
    Dispatch {
        /// The request.
        req: u64,
        /// The instance.
        instance: u32,
        /// Time to the request's deadline at dispatch, ns (may be negative).
        slack_ns: Option<i64>,
        /// The candidates a deciding scheduler weighed, in the order it visited them.
        choices: Option<Vec<TraceChoice>>,
    },
    /// An instance slot starts a batch (node-level traces: one node kernel).
    Start {
        /// The instance.
        instance: u32,
        /// Its slot.
        slot: u32,
        /// The requests of the batch.
        members: Vec<u64>,
        /// Their samples together.
        batch: u32,
        /// Service time of the batch, ns.
        service_ns: u64,
        /// Node-level lazy traces: the smallest predicted slack among the members, ns.
        slack_ns: Option<i64>,
        /// Node-level traces: the graph node, by execution order.
        node: Option<u32>,
    },
    /// The batch completes; every member is done (node-level: done with that node).
    Finish {
        /// The instance.
        instance: u32,
        /// Its slot.
        slot: u32,
        /// The requests of the batch.
        members: Vec<u64>,
        /// Node-level traces: the graph node.
        node: Option<u32>,
    },
    /// A request is abandoned (its deadline passed before it started).
    Drop {
        /// The request.
        req: u64,
    },
}

impl TraceEvent {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self.event {
            Event::Arrival { .. } => EventKind::Arrival,
            Event::Dispatch { .. } => EventKind::Dispatch,
            Event::Start { .. } => EventKind::Start,
            Event::Finish { .. } => EventKind::Finish,
            Event::Drop { .. } => EventKind::Drop,
        }
    }

    /// The request of an arrival, dispatch or drop.
    pub fn req(&self) -> Option<u64> {
        match self.event {
            Event::Arrival { req, .. } | Event::Dispatch { req, .. } | Event::Drop { req } => {
                Some(req)
            }
            _ => None,
        }
    }

    /// The instance of a dispatch, start or finish.
    pub fn instance(&self) -> Option<u32> {
        match self.event {
            Event::Dispatch { instance, .. }
            | Event::Start { instance, .. }
            | Event::Finish { instance, .. } => Some(instance),
            _ => None,
        }
    }

    /// The members of a start or finish.
    pub fn members(&self) -> Option<&[u64]> {
        match &self.event {
            Event::Start { members, .. } | Event::Finish { members, .. } => Some(members),
            _ => None,
        }
    }

    /// The samples of an arrival or a start.
    pub fn batch(&self) -> Option<u32> {
        match self.event {
            Event::Arrival { batch, .. } | Event::Start { batch, .. } => Some(batch),
            _ => None,
        }
    }

    /// The service time of a start.
    pub fn service_ns(&self) -> Option<u64> {
        match self.event {
            Event::Start { service_ns, .. } => Some(service_ns),
            _ => None,
        }
    }

    /// The slack recorded at a dispatch or a (node-level) start.
    pub fn slack_ns(&self) -> Option<i64> {
        match self.event {
            Event::Dispatch { slack_ns, .. } | Event::Start { slack_ns, .. } => slack_ns,
            _ => None,
        }
    }

    /// The graph node of a node-level kernel's start or finish.
    pub fn node(&self) -> Option<u32> {
        match self.event {
            Event::Start { node, .. } | Event::Finish { node, .. } => node,
            _ => None,
        }
    }
}

/// The wire form: one flat object, every field but `t` and `ev` optional.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    t: u64,
    ev: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    req: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    instance: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    members: Option<std::borrow::Cow<'a, [u64]>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slack_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    choices: Option<std::borrow::Cow<'a, [TraceChoice]>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<u32>,
}

impl Serialize for TraceEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use std::borrow::Cow::Borrowed;
        let mut w = Wire {
            t: self.t,
            ev: self.kind(),
            req: None,
            model: None,
            batch: None,
            instance: None,
            slot: None,
            members: None,
            service_ns: None,
            slack_ns: None,
            choices: None,
            node: None,
        };
        match &self.event {
            Event::Arrival { req, model, batch } => {
                (w.req, w.model, w.batch) =
                    (Some(*req), Some(Borrowed(model.as_str())), Some(*batch));
            }
            Event::Dispatch {
                req,
                instance,
                slack_ns,
                choices,
            } => {
                (w.req, w.instance, w.slack_ns) = (Some(*req), Some(*instance), *slack_ns);
                w.choices = choices.as_deref().map(Borrowed);
            }
            Event::Start {
                instance,
                slot,
                members,
                batch,
                service_ns,
                slack_ns,
                node,
            } => {
                (w.batch, w.instance, w.slot) = (Some(*batch), Some(*instance), Some(*slot));
                w.members = Some(Borrowed(members));
                (w.service_ns, w.slack_ns, w.node) = (Some(*service_ns), *slack_ns, *node);
            }
            Event::Finish {
                instance,
                slot,
                members,
                node,
            } => {
                (w.instance, w.slot, w.node) = (Some(*instance), Some(*slot), *node);
                w.members = Some(Borrowed(members));
            }
            Event::Drop { req } => w.req = Some(*req),
        }
        w.serialize(s)
    }
}

impl<'de> Deserialize<'de> for TraceEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        w.typed().map_err(serde::de::Error::custom)
    }
}

impl Wire<'_> {
    /// The typed event: the fields its kind needs present, no field of another kind.
    fn typed(self) -> Result<TraceEvent, String> {
        let kind = self.ev;
        let need = |field: &str| format!("the {} event needs '{field}'", kind.name());
        let mut extra: Vec<&str> = Vec::new();
        let mut no = |present: bool, field: &'static str| {
            if present {
                extra.push(field);
            }
        };
        let event = match kind {
            EventKind::Arrival => {
                no(self.instance.is_some(), "instance");
                no(self.slot.is_some(), "slot");
                no(self.members.is_some(), "members");
                no(self.service_ns.is_some(), "service_ns");
                no(self.slack_ns.is_some(), "slack_ns");
                no(self.choices.is_some(), "choices");
                no(self.node.is_some(), "node");
                Event::Arrival {
                    req: self.req.ok_or_else(|| need("req"))?,
                    model: self.model.ok_or_else(|| need("model"))?.into_owned(),
                    batch: self.batch.ok_or_else(|| need("batch"))?,
                }
            }
            EventKind::Dispatch => {
                no(self.model.is_some(), "model");
                no(self.batch.is_some(), "batch");
                no(self.slot.is_some(), "slot");
                no(self.members.is_some(), "members");
                no(self.service_ns.is_some(), "service_ns");
                no(self.node.is_some(), "node");
                Event::Dispatch {
                    req: self.req.ok_or_else(|| need("req"))?,
                    instance: self.instance.ok_or_else(|| need("instance"))?,
                    slack_ns: self.slack_ns,
                    choices: self.choices.map(|c| c.into_owned()),
                }
            }
            EventKind::Start => {
                no(self.req.is_some(), "req");
                no(self.model.is_some(), "model");
                no(self.choices.is_some(), "choices");
                Event::Start {
                    instance: self.instance.ok_or_else(|| need("instance"))?,
                    slot: self.slot.ok_or_else(|| need("slot"))?,
                    members: self.members.ok_or_else(|| need("members"))?.into_owned(),
                    batch: self.batch.ok_or_else(|| need("batch"))?,
                    service_ns: self.service_ns.ok_or_else(|| need("service_ns"))?,
                    slack_ns: self.slack_ns,
                    node: self.node,
                }
            }
            EventKind::Finish => {
                no(self.req.is_some(), "req");
                no(self.model.is_some(), "model");
                no(self.batch.is_some(), "batch");
                no(self.service_ns.is_some(), "service_ns");
                no(self.slack_ns.is_some(), "slack_ns");
                no(self.choices.is_some(), "choices");
                Event::Finish {
                    instance: self.instance.ok_or_else(|| need("instance"))?,
                    slot: self.slot.ok_or_else(|| need("slot"))?,
                    members: self.members.ok_or_else(|| need("members"))?.into_owned(),
                    node: self.node,
                }
            }
            EventKind::Drop => {
                no(self.model.is_some(), "model");
                no(self.batch.is_some(), "batch");
                no(self.instance.is_some(), "instance");
                no(self.slot.is_some(), "slot");
                no(self.members.is_some(), "members");
                no(self.service_ns.is_some(), "service_ns");
                no(self.slack_ns.is_some(), "slack_ns");
                no(self.choices.is_some(), "choices");
                no(self.node.is_some(), "node");
                Event::Drop {
                    req: self.req.ok_or_else(|| need("req"))?,
                }
            }
        };
        if !extra.is_empty() {
            return Err(format!(
                "a {} event has no '{}'",
                kind.name(),
                extra.join("', '")
            ));
        }
        Ok(TraceEvent { t: self.t, event })
    }
}

/// One candidate of a dispatch decision: the instance, its predicted wait (queued work still
/// ahead, per slot) and the predicted service time of the request there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceChoice {
    /// The instance.
    pub instance: u32,
    /// Predicted wait before the request would start, ns.
    pub wait_ns: u64,
    /// Predicted service time of the request there, ns.
    pub service_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_byte_for_byte_and_carry_only_their_fields() {
        for line in [
            r#"{"t":1000,"ev":"arrival","req":0,"model":"resnet50","batch":1}"#,
            r#"{"t":1000,"ev":"dispatch","req":0,"instance":3,"slack_ns":-4,"choices":[{"instance":3,"wait_ns":0,"service_ns":9}]}"#,
            r#"{"t":1500,"ev":"start","batch":1,"instance":3,"slot":0,"members":[0],"service_ns":2100000}"#,
            r#"{"t":2000,"ev":"start","batch":2,"instance":0,"slot":0,"members":[4,5],"service_ns":41000,"slack_ns":7300000,"node":12}"#,
            r#"{"t":2101500,"ev":"finish","instance":3,"slot":0,"members":[0]}"#,
            r#"{"t":9000,"ev":"drop","req":5}"#,
        ] {
            let e: TraceEvent = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&e).unwrap(), line);
        }
        let e: TraceEvent = serde_json::from_str(
            r#"{"t":1,"ev":"finish","instance":0,"slot":0,"members":[1],"node":2}"#,
        )
        .unwrap();
        assert_eq!(
            e.event,
            Event::Finish {
                instance: 0,
                slot: 0,
                members: vec![1],
                node: Some(2)
            }
        );
        assert_eq!(e.kind(), EventKind::Finish);
        let missing = serde_json::from_str::<TraceEvent>(r#"{"t":1,"ev":"drop"}"#).unwrap_err();
        assert!(
            missing.to_string().contains("the drop event needs 'req'"),
            "{missing}"
        );
        let extra = serde_json::from_str::<TraceEvent>(r#"{"t":1,"ev":"drop","req":1,"slot":0}"#)
            .unwrap_err();
        assert!(
            extra.to_string().contains("a drop event has no 'slot'"),
            "{extra}"
        );
        let unknown = serde_json::from_str::<TraceEvent>(r#"{"t":1,"ev":"drop","req":1,"x":0}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn the_node_table_is_optional_in_the_header() {
        let old = r#"{"format":"migsched-trace/1","scheduler":"fifs","duration_ns":5,"instances":[],"models":[],"work_conserving":false}"#;
        let h: TraceHeader = serde_json::from_str(old).unwrap();
        assert_eq!(h.nodes, None);
        assert_eq!(serde_json::to_string(&h).unwrap(), old);
        let with = TraceHeader {
            nodes: Some(vec![TraceNode {
                name: "fc".into(),
                latency_ns: vec![10, 12],
            }]),
            ..h
        };
        let text = serde_json::to_string(&with).unwrap();
        assert!(text.ends_with(r#""nodes":[{"name":"fc","latency_ns":[10,12]}]}"#));
        assert_eq!(serde_json::from_str::<TraceHeader>(&text).unwrap(), with);
    }
}
