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

/// What happened.
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

/// One line of a trace after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceEvent {
    /// Time, ns since the start of the run.
    pub t: u64,
    /// Kind of event.
    pub ev: EventKind,
    /// The request (arrival, dispatch, drop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    /// The model (arrival).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Samples: of the request (arrival) or of the whole batch (start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// The instance (dispatch, start, finish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<u32>,
    /// The slot of the instance (start, finish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u32>,
    /// The requests of the batch (start, finish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<u64>>,
    /// Service time of the batch, ns (start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ns: Option<u64>,
    /// Time to the request's deadline at dispatch, ns (may be negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_ns: Option<i64>,
    /// The candidates a deciding scheduler weighed at dispatch, in the order it visited them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<TraceChoice>>,
    /// The graph node a node-level kernel runs (start, finish of node-level traces): its index
    /// in the model's execution order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
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

impl TraceEvent {
    /// An event of `kind` at `t` with no other field set.
    pub fn new(t: u64, ev: EventKind) -> TraceEvent {
        TraceEvent {
            t,
            ev,
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_field_is_optional_and_round_trips() {
        let line = r#"{"t":1500,"ev":"start","batch":1,"instance":3,"slot":0,"members":[0],"service_ns":2100000}"#;
        let old: TraceEvent = serde_json::from_str(line).unwrap();
        assert_eq!(old.node, None);
        assert_eq!(serde_json::to_string(&old).unwrap(), line);
        let node = TraceEvent {
            members: Some(vec![4, 5]),
            slack_ns: Some(-3),
            node: Some(12),
            ..TraceEvent::new(2000, EventKind::Finish)
        };
        let text = serde_json::to_string(&node).unwrap();
        assert_eq!(
            text,
            r#"{"t":2000,"ev":"finish","members":[4,5],"slack_ns":-3,"node":12}"#
        );
        assert_eq!(serde_json::from_str::<TraceEvent>(&text).unwrap(), node);
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
