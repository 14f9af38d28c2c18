//! Node-level traces: the node simulator's serial, graph and lazy runs through the node
//! checker on random workloads (the slack rule is never broken), and hand-broken traces
//! caught by the rule that names the break.

use migsched_core::{EventKind, TraceEvent};
use migsched_sim::Stop;
use migsched_sim::lazy::{
    Arrivals, NodeCurve, NodeProfile, NodeSimConfig, Policy, TraceRecorder, node_trace_header,
    simulate_nodes,
};
use migsched_verify::{Rule, Trace, TraceOptions, check_trace};
use proptest::prelude::*;

use crate::config;

/// Nodes with latency `base · (1 + growth · (b − 1))` ns at batch b.
fn profile(nodes: &[(f64, f64)], max_batch: u32) -> NodeProfile {
    let curves: Vec<NodeCurve> = nodes
        .iter()
        .enumerate()
        .map(|(i, &(base, growth))| NodeCurve {
            name: format!("n{i}"),
            latency_ns: (1..=max_batch)
                .map(|b| (b, base * (1.0 + growth * f64::from(b - 1))))
                .collect(),
        })
        .collect();
    NodeProfile::from_curves(&curves, max_batch).unwrap()
}

/// The trace of a run of `policy` on `p` with arrivals at `times`, and how many kernels
/// caught up.
fn trace(p: &NodeProfile, policy: Policy, slo_ns: u64, times: &[u64]) -> (Trace, u64) {
    let config = NodeSimConfig {
        policy,
        slo_ns,
        arrivals: Arrivals::Times { ns: times.to_vec() },
        stop: Stop::Requests {
            n: times.len() as u64,
        },
        seed: 0,
    };
    let mut rec = TraceRecorder::new("m");
    let report = simulate_nodes(p, &config, &mut rec).unwrap();
    let header = node_trace_header("m", "7g.80gb", p, &config, &report);
    let events = rec
        .into_events()
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i + 2, e));
    (
        Trace {
            header,
            events: events.collect(),
        },
        report.catch_up_kernels,
    )
}

fn rules(t: &Trace) -> Vec<Rule> {
    check_trace(t, &TraceOptions::default())
        .violations
        .iter()
        .map(|v| v.rule)
        .collect()
}

fn times(gaps: &[u64]) -> Vec<u64> {
    gaps.iter()
        .scan(0, |t, g| {
            *t += g;
            Some(*t)
        })
        .collect()
}

proptest! {
    #![proptest_config(config(64))]

    /// Random profiles, SLOs and bursty arrivals: every policy's trace is clean, so the lazy
    /// scheduler never breaks the slack rule as the checker re-derives it.
    #[test]
    fn simulator_traces_are_clean_and_the_slack_rule_holds(
        nodes in prop::collection::vec((1_000.0f64..200_000.0, 0.0f64..1.0), 1..8),
        max_batch in 1u32..6,
        slo_ns in 50_000u64..3_000_000,
        gaps in prop::collection::vec(prop_oneof![Just(0u64), 0u64..400_000], 1..40),
        window_ns in 0.0f64..500_000.0,
    ) {
        let p = profile(&nodes, max_batch);
        let t = times(&gaps);
        for policy in [
            Policy::Serial,
            Policy::Graph { window_ns, max_batch },
            Policy::Lazy { max_batch },
        ] {
            let (trace, _) = trace(&p, policy, slo_ns, &t);
            let report = check_trace(&trace, &TraceOptions::default());
            prop_assert!(report.is_clean(), "{}: {:?}", policy.name(), report.violations);
            prop_assert_eq!(report.metrics.requests, t.len() as u64);
        }
    }
}

/// A workload where lazy catches up: a request in flight through ten nodes, a second one
/// arriving behind it with room in the deadline.
fn catch_up_trace() -> Trace {
    let p = profile(&[(100_000.0, 0.1); 10], 4);
    let (trace, catch_ups) = trace(&p, Policy::Lazy { max_batch: 4 }, 5_000_000, &[0, 250_000]);
    assert!(catch_ups > 0, "the late request caught up");
    assert!(rules(&trace).is_empty(), "{:?}", rules(&trace));
    trace
}

#[test]
fn a_catch_up_that_breaks_the_slack_rule_is_caught() {
    let mut t = catch_up_trace();
    // Same events, but a 1.2 ms SLO: the first request (1 ms alone) cannot wait for the
    // catch-up, so the recorded decisions break the slack rule.
    t.header.models[0].slo_ms = 1.2;
    let r = rules(&t);
    assert!(r.contains(&Rule::NodeSlack), "{r:?}");
}

#[test]
fn out_of_order_nodes_mixed_batches_and_wrong_service_are_caught() {
    let base = catch_up_trace();
    // Request 1's first kernel labelled node 1: out of order.
    let mut t = base.clone();
    let (_, e) = t
        .events
        .iter_mut()
        .find(|(_, e)| e.ev == EventKind::Start && e.members.as_deref() == Some(&[1u64][..]))
        .unwrap();
    e.node = Some(1);
    assert!(rules(&t).contains(&Rule::NodeOrder), "{:?}", rules(&t));
    // A merged kernel with a service time the node table does not give.
    let mut t = base.clone();
    let (_, e) = t
        .events
        .iter_mut()
        .find(|(_, e)| e.ev == EventKind::Start && e.members.as_deref() == Some(&[0u64, 1][..]))
        .unwrap();
    *e.service_ns.as_mut().unwrap() += 1;
    assert!(rules(&t).contains(&Rule::ServiceTime), "{:?}", rules(&t));
    // A batch beyond the instance's max.
    let mut t = base.clone();
    t.header.instances[0].max_batch = 1;
    assert!(rules(&t).contains(&Rule::BatchLimit), "{:?}", rules(&t));
    // Two requests at different nodes in one kernel: request 0 at node 3 with request 1 at 0.
    let mut t = base;
    let i = t
        .events
        .iter()
        .position(|(_, e)| e.ev == EventKind::Start && e.members.as_deref() == Some(&[1u64][..]))
        .unwrap();
    let e: &mut TraceEvent = &mut t.events[i].1;
    e.members = Some(vec![0, 1]);
    e.batch = Some(2);
    assert!(rules(&t).contains(&Rule::NodeBatch), "{:?}", rules(&t));
}

#[test]
fn an_unfinished_request_is_caught() {
    let mut t = catch_up_trace();
    let last_finish = t
        .events
        .iter()
        .rposition(|(_, e)| e.ev == EventKind::Finish)
        .unwrap();
    t.events.truncate(last_finish);
    let r = rules(&t);
    assert!(r.contains(&Rule::EndsOnce), "{r:?}");
}
