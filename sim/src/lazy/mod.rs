//! LazyBatching (Choi, Kim, Rhu, HPCA 2021) on one instance: a model runs as its sequence of
//! graph nodes, and a scheduler batches at node granularity so that late requests catch up
//! with batches in flight while the predicted slack allows; graph batching and serial
//! execution are the baselines, run by the same node-level loop.
//!
//! ```
//! use migsched_sim::Stop;
//! use migsched_sim::lazy::{Arrivals, NodeCurve, NodeProfile, NodeSimConfig, Policy, simulate_nodes};
//!
//! // Three nodes of 1 ms at batch 1, 1.2 ms at batch 8.
//! let nodes: Vec<NodeCurve> = (0..3)
//!     .map(|i| NodeCurve { name: format!("n{i}"), latency_ns: vec![(1, 1e6), (8, 1.2e6)] })
//!     .collect();
//! let profile = NodeProfile::from_curves(&nodes, 8)?;
//! let config = NodeSimConfig {
//!     policy: Policy::Lazy { max_batch: 8 },
//!     slo_ns: 20_000_000,
//!     arrivals: Arrivals::poisson(500.0),
//!     stop: Stop::Requests { n: 1000 },
//!     seed: 1,
//! };
//! let report = simulate_nodes(&profile, &config, &mut migsched_sim::NoObserver)?;
//! assert_eq!(report.completed, 1000);
//! # Ok::<(), migsched_sim::lazy::LazyError>(())
//! ```
//!
//! # The model, and every choice the paper leaves open
//!
//! **Node latencies.** A [`NodeProfile`] gives each node's kernel time at batches
//! `1..=max_batch` in whole nanoseconds: from explicit points (linear between them, see
//! [`NodeCurve`]), from a per-node table ([`NodeRow`]), or from the analytic model of a zoo graph
//! (its kernels only: graph inputs and fused epilogues cost nothing). The whole model's latency
//! is the sum of its nodes', so graph batching of `b` requests takes exactly
//! [`NodeProfile::whole_ns`]`(b)`. Predictions use the same profile as execution: without new
//! arrivals they are exact.
//!
//! **The instance** runs one node kernel at a time (a single stream, as the analytic model
//! assumes); kernels are not preempted. Every request is one sample with deadline
//! `arrival + slo`.
//!
//! **Scheduling points** come when the instance is idle, once every event of the instant has
//! been applied: after each kernel finishes, at arrivals while idle, and when a graph batch's
//! window closes. So requests arriving at the same instant are seen together, and a kernel that
//! finishes when a request arrives is followed by a decision that knows of it.
//!
//! **Groups.** Requests at the same node that run their kernels together form a group.
//! - An arrival joins the newest group at node 0 if it has room (fewer than the max batch) and
//!   is not running, else starts its own: requests that wait at node 0 batch together.
//! - A group that finishes a kernel lands on its next node and merges there with the group at
//!   that node (it can only land on one it fits with; see below). Members stay in arrival
//!   order. Groups never split, and never exceed the max batch.
//! - The default order of groups is most progressed first (higher next node), ties older first.
//!
//! **Serial** runs the first group of the default order, with groups of one: the request
//! started, else the oldest (FIFO). It is exactly lazy batching with a max batch of 1.
//!
//! **Graph batching** (Triton's dynamic batcher with a max queue delay): a batch in progress
//! runs on, node after node. Otherwise the oldest group at node 0 is the next batch: the
//! oldest waiting requests, up to the max batch. It starts as soon as it is full or its oldest
//! request has waited `window_ns` (so a batch formed when the previous one finishes starts at
//! once if its oldest request waited the window already; window 0 means at once with whatever
//! arrived by then). Requests arriving while a batch runs wait for the next.
//!
//! **Lazy batching**, at each scheduling point:
//! 1. Candidates are the groups that are not the most progressed and have room, least
//!    progressed first (lower node; ties older first).
//! 2. A candidate's target is the group at the nearest node ahead of it. If the two do not fit
//!    in one batch, the candidate is not eligible: running it would only overtake, not merge.
//! 3. The candidate is eligible if the **slack rule** holds: every request predicted to meet
//!    its deadline under the default plan (groups run to completion in default order, each at
//!    its size, no further catch-up) is still predicted to meet it under the catch-up plan (the
//!    candidate runs alone up to the target's node, then candidate and target run as one batch
//!    at the merged size in the target's place; everything else as before). "Predicted
//!    remaining time" is thus the time until the request's last node ends: the work of the
//!    groups before it plus its own remaining nodes at its group's (merged) size. Every request
//!    on the instance is considered affected: those ahead wait for the catch-up, those behind
//!    see the batch change.
//! 4. The first eligible candidate runs one node (and the rule is asked again at the next
//!    scheduling point, so a catch-up stops as soon as a new arrival makes it unsafe). If none is
//!    eligible, the most progressed group runs: it never needs permission.
//! 5. Requests already predicted to miss under the default plan (their deadline passed, or it
//!    cannot be met even without the catch-up) still run but do not veto: the rule forbids
//!    turning a predicted hit into a predicted miss, and no choice here saves them.
//! 6. At a lazy kernel start the run reports the smallest predicted slack among the kernel's
//!    members under the plan it chose ([`NodeEvent::Start`]'s `slack_ns`).
//!
//! Lazy batching is work-conserving (it never idles while a request waits); graph batching is
//! not. See [`NodeReport`] for what a run reports.

mod error;
mod groups;
mod observe;
mod policy;
mod profile;
mod report;
mod run;
mod slack;

pub use error::LazyError;
pub use observe::{NodeEvent, NodeObserver, TraceRecorder, node_trace_header};
pub use policy::Policy;
pub use profile::{
    MAX_BATCH, MAX_MODEL_LATENCY_NS, MAX_PROFILE_CELLS, NodeCurve, NodeProfile, NodeRow,
};
pub use report::NodeReport;
pub use run::{Arrivals, NodeSimConfig, simulate_nodes};
