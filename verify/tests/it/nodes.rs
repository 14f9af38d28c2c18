//! Node-level traces: the node simulator's serial, graph and lazy runs through the node
//! checker on random workloads (the slack rule is never broken), and hand-broken traces
//! caught by the rule that names the break.

use migsched_core::{Event, EventKind, TraceEvent};
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
    let (t, catch_ups, _) = trace_and_report(p, policy, slo_ns, times);
    (t, catch_ups)
}

/// [`trace`] with the run's report.
fn trace_and_report(
    p: &NodeProfile,
    policy: Policy,
    slo_ns: u64,
    times: &[u64],
) -> (Trace, u64, migsched_sim::lazy::NodeReport) {
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
    let catch_ups = report.catch_up_kernels;
    (
        Trace {
            header,
            events: events.collect(),
        },
        catch_ups,
        report,
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
            let (trace, _, run) = trace_and_report(&p, policy, slo_ns, &t);
            // Every metric of the simulator's report is checked against the trace.
            let reported = crate::pipeline::reported(&run.run_metrics("m"));
            let report = check_trace(
                &trace,
                &TraceOptions { metrics: Some(&reported), ..TraceOptions::default() },
            );
            prop_assert!(report.is_clean(), "{}: {:?}", policy.name(), report.violations);
            prop_assert!(
                !report.not_checked.iter().any(|n| n.contains("metrics")),
                "{:?}",
                report.not_checked
            );
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
        .find(|(_, e)| e.kind() == EventKind::Start && e.members() == Some(&[1u64][..]))
        .unwrap();
    set_node(e, Some(1));
    assert!(rules(&t).contains(&Rule::NodeOrder), "{:?}", rules(&t));
    // A merged kernel with a service time the node table does not give.
    let mut t = base.clone();
    let (_, e) = t
        .events
        .iter_mut()
        .find(|(_, e)| e.kind() == EventKind::Start && e.members() == Some(&[0u64, 1][..]))
        .unwrap();
    *service_mut(e) += 1;
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
        .position(|(_, e)| e.kind() == EventKind::Start && e.members() == Some(&[1u64][..]))
        .unwrap();
    let e: &mut TraceEvent = &mut t.events[i].1;
    set_members(e, vec![0, 1]);
    set_batch(e, 2);
    assert!(rules(&t).contains(&Rule::NodeBatch), "{:?}", rules(&t));
}

#[test]
fn an_unfinished_request_is_caught() {
    let mut t = catch_up_trace();
    let last_finish = t
        .events
        .iter()
        .rposition(|(_, e)| e.kind() == EventKind::Finish)
        .unwrap();
    t.events.truncate(last_finish);
    let r = rules(&t);
    assert!(r.contains(&Rule::EndsOnce), "{r:?}");
    // Located at the request's arrival line, at the trace's last event.
    let end = t.events.last().unwrap().1.t;
    let v = violations(&t);
    let never = v.iter().find(|v| v.rule == Rule::EndsOnce).unwrap();
    assert_eq!((never.at.line, never.at.time_ns), (Some(2), Some(end)));
    assert_eq!(never.at.request, Some(0));
}

#[test]
fn reported_node_metrics_are_compared_and_unknown_names_noted() {
    let t = catch_up_trace();
    let check = |json: &str| {
        let m = migsched_verify::parse_metrics(json, "m.json").unwrap();
        let options = TraceOptions {
            metrics: Some(&m),
            ..TraceOptions::default()
        };
        let r = check_trace(&t, &options);
        (r.violations.len(), r.not_checked.len())
    };
    assert_eq!(check(r#"{"finished": 2}"#), (0, 0));
    assert_eq!(check(r#"{"finished": 3}"#), (1, 0));
    assert_eq!(check(r#"{"finished": 2, "gpu_hours": 1}"#), (0, 1));
}

fn violations(t: &Trace) -> Vec<migsched_verify::Violation> {
    check_trace(t, &TraceOptions::default()).violations
}

/// The index of the first kernel start whose members are `members`.
fn start_of(t: &Trace, members: &[u64]) -> usize {
    t.events
        .iter()
        .position(|(_, e)| e.kind() == EventKind::Start && e.members() == Some(members))
        .unwrap()
}

#[test]
fn node_violations_say_where() {
    let mut t = catch_up_trace();
    let i = start_of(&t, &[1]);
    set_node(&mut t.events[i].1, Some(1));
    let (line, time) = (t.events[i].0, t.events[i].1.t);
    let v = violations(&t);
    let order = v.iter().find(|v| v.rule == Rule::NodeOrder).unwrap();
    assert_eq!(order.at.line, Some(line));
    assert_eq!(order.at.time_ns, Some(time));
    assert_eq!(order.at.request, Some(1));
    assert_eq!(order.at.instance.as_deref(), Some("instance 0"));
}

#[test]
fn a_trace_is_node_level_by_its_table_or_its_events() {
    // The node table alone: kernels without a node are node-order violations.
    let mut t = catch_up_trace();
    for (_, e) in &mut t.events {
        set_node(e, None);
    }
    let v = violations(&t);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::NodeOrder && v.message.contains("without a node")),
        "{v:?}"
    );
    // Nodes on the events alone: still checked as a node-level run.
    let mut t = catch_up_trace();
    t.header.nodes = None;
    let i = start_of(&t, &[1]);
    set_node(&mut t.events[i].1, Some(1));
    assert!(rules(&t).contains(&Rule::NodeOrder), "{:?}", rules(&t));
}

#[test]
fn kernels_on_another_slot_or_with_a_member_twice_are_caught() {
    let base = catch_up_trace();
    let mut t = base.clone();
    let i = start_of(&t, &[1]);
    set_slot(&mut t.events[i].1, 1);
    assert!(rules(&t).contains(&Rule::Instance), "{:?}", rules(&t));
    let mut t = base;
    let i = start_of(&t, &[1]);
    set_members(&mut t.events[i].1, vec![1, 1]);
    set_batch(&mut t.events[i].1, 2);
    let v = violations(&t);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::BatchLimit && v.message.contains("a member twice")),
        "{v:?}"
    );
}

#[test]
fn a_lazy_kernel_must_be_one_whole_group() {
    let mut t = catch_up_trace();
    // The merged kernel of requests 0 and 1 run for request 0 alone.
    let i = start_of(&t, &[0, 1]);
    set_members(&mut t.events[i].1, vec![0]);
    set_batch(&mut t.events[i].1, 1);
    let v = violations(&t);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::NodeBatch && v.message.contains("not one whole group")),
        "{v:?}"
    );
}

#[test]
fn a_recorded_slack_is_checked_against_the_plan() {
    let mut t = catch_up_trace();
    let e = t
        .events
        .iter_mut()
        .map(|(_, e)| e)
        .find(|e| e.kind() == EventKind::Start && e.slack_ns().is_some())
        .unwrap();
    let bumped = e.slack_ns().map(|s| s + 1);
    set_slack(e, bumped);
    let v = violations(&t);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::NodeSlack && v.message.starts_with("recorded slack")),
        "{v:?}"
    );
}

/// The slack rule's own violation (not a recorded slack's) for `t` with `slo_ms`.
fn slack_rule_breaks(t: &Trace, slo_ms: f64) -> Vec<String> {
    let mut t = t.clone();
    t.header.models[0].slo_ms = slo_ms;
    violations(&t)
        .into_iter()
        .filter(|v| v.rule == Rule::NodeSlack && v.message.contains("catches up"))
        .map(|v| v.message)
        .collect()
}

#[test]
fn the_slack_rule_breaks_only_below_zero() {
    let mut t = catch_up_trace();
    for (_, e) in &mut t.events {
        set_slack(e, None);
    }
    // Each of request 1's three catch-up kernels turns request 0 into a predicted miss.
    let broken = slack_rule_breaks(&t, 1.2);
    assert_eq!(broken.len(), 3, "{broken:?}");
    // "... slack drops from X to -Y ...": an SLO Y ns longer leaves request 0 exactly on
    // its deadline under the catch-up plan, which is not a miss; one ns less is.
    let y: u64 = broken[0]
        .split(" to -")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .map(parse_ns)
        .unwrap();
    assert!(slack_rule_breaks(&t, 1.2 + y as f64 / 1e6).is_empty());
    assert_eq!(slack_rule_breaks(&t, 1.2 + (y - 1) as f64 / 1e6).len(), 3);
    // A generous SLO: nothing breaks.
    assert!(slack_rule_breaks(&t, 50.0).is_empty());
}

/// Nanoseconds of a `format_ns` figure without its unit ("1.25" ms is 1_250_000).
fn parse_ns(ms: &str) -> u64 {
    let (whole, frac) = ms.split_once('.').unwrap_or((ms, ""));
    let frac = format!("{frac:0<6}");
    whole.parse::<u64>().unwrap() * 1_000_000 + frac.parse::<u64>().unwrap()
}

/// `t` with `events` appended after its last event, numbered on from its last line.
fn append(mut t: Trace, events: Vec<TraceEvent>) -> Trace {
    let mut line = t.events.last().map_or(1, |(l, _)| *l);
    for e in events {
        line += 1;
        t.events.push((line, e));
    }
    t
}

fn set_node(e: &mut TraceEvent, n: Option<u32>) {
    if let Event::Start { node, .. } | Event::Finish { node, .. } = &mut e.event {
        *node = n;
    }
}

fn set_slot(e: &mut TraceEvent, s: u32) {
    if let Event::Start { slot, .. } | Event::Finish { slot, .. } = &mut e.event {
        *slot = s;
    }
}

fn set_slack(e: &mut TraceEvent, s: Option<i64>) {
    if let Event::Start { slack_ns, .. } | Event::Dispatch { slack_ns, .. } = &mut e.event {
        *slack_ns = s;
    }
}

fn members_mut(e: &mut TraceEvent) -> &mut Vec<u64> {
    match &mut e.event {
        Event::Start { members, .. } | Event::Finish { members, .. } => members,
        other => panic!("no members on {other:?}"),
    }
}

fn set_members(e: &mut TraceEvent, m: Vec<u64>) {
    *members_mut(e) = m;
}

fn set_batch(e: &mut TraceEvent, b: u32) {
    if let Event::Start { batch, .. } | Event::Arrival { batch, .. } = &mut e.event {
        *batch = b;
    }
}

fn service_mut(e: &mut TraceEvent) -> &mut u64 {
    match &mut e.event {
        Event::Start { service_ns, .. } => service_ns,
        other => panic!("no service time on {other:?}"),
    }
}

#[test]
fn a_kernel_of_an_ended_request_is_caught() {
    let t = catch_up_trace();
    let last = t.events.last().unwrap().1.t;
    let start = &t.events[start_of(&t, &[0, 1])].1;
    let mut rerun = start.clone();
    rerun.t = last + 10;
    set_members(&mut rerun, vec![0]);
    set_batch(&mut rerun, 1);
    set_node(&mut rerun, Some(9));
    let v = violations(&append(t, vec![rerun]));
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::Causality && v.message == "runs after it ended"),
        "{v:?}"
    );
}

#[test]
fn a_kernel_of_requests_at_different_nodes_names_the_nodes() {
    let mut t = catch_up_trace();
    let i = start_of(&t, &[1]);
    set_members(&mut t.events[i].1, vec![0, 1]);
    set_batch(&mut t.events[i].1, 2);
    let v = violations(&t);
    assert!(
        v.iter().any(|v| v.rule == Rule::NodeBatch
            && v.message.starts_with("one kernel merges requests at nodes")),
        "{v:?}"
    );
}

#[test]
fn the_slack_rule_judges_only_well_formed_lazy_kernels() {
    // A lazy kernel of a request that never arrived is a causality violation, not also a
    // kernel the slack rule could place.
    let mut t = catch_up_trace();
    let i = start_of(&t, &[1]);
    set_members(&mut t.events[i].1, vec![7]);
    let v = violations(&t);
    assert!(
        v.iter().any(|v| v.message == "runs before it arrived"),
        "{v:?}"
    );
    assert!(
        !v.iter()
            .any(|v| matches!(v.rule, Rule::NodeSlack | Rule::NodeBatch)),
        "{v:?}"
    );
    // A serial run may take its requests in any order: the lazy rules do not apply.
    let p = profile(&[(100_000.0, 0.1); 3], 1);
    let (mut t, _) = trace(&p, Policy::Serial, 5_000_000, &[0, 0]);
    for (_, e) in &mut t.events {
        if matches!(e.kind(), EventKind::Start | EventKind::Finish) {
            let m = members_mut(e);
            m[0] = 1 - m[0];
        }
    }
    assert!(rules(&t).is_empty(), "{:?}", violations(&t));
}

#[test]
fn a_finish_must_match_the_running_kernel() {
    let mut t = catch_up_trace();
    let i = t
        .events
        .iter()
        .position(|(_, e)| e.kind() == EventKind::Finish && e.node() == Some(0))
        .unwrap();
    set_node(&mut t.events[i].1, Some(1));
    let v = violations(&t);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::Causality
                && v.message.contains("but the running kernel is node 0")),
        "{v:?}"
    );
}

/// Arrivals and drops of further requests, shaped like the trace's own arrivals.
struct Kit {
    arrival: TraceEvent,
}

impl Kit {
    fn arrive(&self, req: u64, at: u64) -> TraceEvent {
        let mut e = self.arrival.clone();
        e.t = at;
        if let Event::Arrival { req: r, .. } = &mut e.event {
            *r = req;
        }
        e
    }

    fn drop(&self, req: u64, at: u64) -> TraceEvent {
        TraceEvent {
            t: at,
            event: Event::Drop { req },
        }
    }
}

/// The catch-up run with its end 10 ms after its last kernel, the time of that kernel's
/// end, and a kit to append requests with.
fn extended_catch_up() -> (Trace, u64, Kit) {
    let mut t = catch_up_trace();
    let last = t.events.last().unwrap().1.t;
    t.header.duration_ns = last + 10_000_000;
    let arrival = t
        .events
        .iter()
        .find(|(_, e)| e.kind() == EventKind::Arrival)
        .unwrap()
        .1
        .clone();
    (t, last, Kit { arrival })
}

#[test]
fn drops_end_a_request_once_and_only_after_its_deadline() {
    // A run that ends 10 ms after its last kernel, without claiming work conservation
    // (request 99 arrives and waits on an idle instance until it is dropped).
    let (mut base, last, kit) = extended_catch_up();
    base.header.work_conserving = false;
    let late = kit.arrive(99, last);
    let drop = |at: u64| kit.drop(99, at);
    // Dropped at its deadline (5 ms SLO): clean, and counted as dropped.
    let t = append(base.clone(), vec![late.clone(), drop(last + 5_000_000)]);
    let report = check_trace(&t, &TraceOptions::default());
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.metrics.dropped, 1);
    // Dropped early.
    let t = append(base.clone(), vec![late.clone(), drop(last + 1)]);
    assert_eq!(rules(&t), [Rule::EarlyDrop]);
    // Dropped twice.
    let t = append(
        base,
        vec![late, drop(last + 5_000_000), drop(last + 5_000_001)],
    );
    assert!(rules(&t).contains(&Rule::EndsOnce), "{:?}", rules(&t));
}

#[test]
fn an_idle_instance_with_a_waiting_request_is_reported_once() {
    // Two requests arrive after the run and wait on the idle instance until their deadline.
    let (mut base, last, kit) = extended_catch_up();
    let events = vec![
        kit.arrive(99, last + 1),
        kit.arrive(100, last + 2),
        kit.drop(99, last + 5_000_001),
        kit.drop(100, last + 5_000_002),
    ];
    base.header.work_conserving = true;
    let v = violations(&append(base.clone(), events.clone()));
    let idle: Vec<_> = v
        .iter()
        .filter(|v| v.rule == Rule::WorkConservation)
        .collect();
    assert_eq!(idle.len(), 1, "{v:?}");
    assert_eq!(
        (idle[0].at.request, idle[0].at.time_ns),
        (Some(99), Some(last + 1))
    );
    // Without the claim, the same run is clean.
    base.header.work_conserving = false;
    assert_eq!(rules(&append(base, events)), []);
}

#[test]
fn without_a_node_table_the_node_count_comes_from_the_events() {
    let mut t = catch_up_trace();
    t.header.nodes = None;
    let report = check_trace(&t, &TraceOptions::default());
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.metrics.finished, 2);
    assert!(!report.not_checked.is_empty());
}

#[test]
fn a_node_level_run_has_one_instance_with_one_slot() {
    let mut t = catch_up_trace();
    t.header.instances[0].slots = 2;
    let v = violations(&t);
    let header = v.iter().find(|v| v.rule == Rule::Instance).unwrap();
    assert_eq!(header.at.line, Some(1));
    assert!(
        header.message.contains("one instance with one slot"),
        "{v:?}"
    );
}

#[test]
fn a_node_table_needs_a_positive_latency_for_every_batch() {
    let base = catch_up_trace();
    for edit in [
        |n: &mut Vec<u64>| n[1] = 0,
        |n: &mut Vec<u64>| {
            n.pop();
        },
    ] {
        let mut t = base.clone();
        edit(&mut t.header.nodes.as_mut().unwrap()[3].latency_ns);
        let v = violations(&t);
        let bad = v
            .iter()
            .find(|v| v.rule == Rule::Instance && v.message.starts_with("node 3 ('n3')"))
            .unwrap_or_else(|| panic!("{v:?}"));
        assert_eq!(bad.at.line, Some(1));
    }
}

#[test]
fn what_a_node_check_could_not_do_is_said() {
    let mut t = catch_up_trace();
    assert_eq!(
        check_trace(&t, &TraceOptions::default()).not_checked.len(),
        0
    );
    t.header.nodes = None;
    // The node count from the events, and the slack rule of a lazy run.
    assert_eq!(
        check_trace(&t, &TraceOptions::default()).not_checked.len(),
        2
    );
    t.header.scheduler = "serial".into();
    assert_eq!(
        check_trace(&t, &TraceOptions::default()).not_checked.len(),
        1
    );
}

#[test]
fn a_dispatch_names_an_arrived_request() {
    let base = catch_up_trace();
    for (req, clean) in [(0, true), (42, false)] {
        let mut t = base.clone();
        let i = start_of(&t, &[0]);
        let d = TraceEvent {
            t: t.events[i].1.t,
            event: Event::Dispatch {
                req,
                instance: 0,
                slack_ns: None,
                choices: None,
            },
        };
        t.events.insert(i, (t.events[i].0, d));
        let v = violations(&t);
        assert_eq!(v.is_empty(), clean, "{v:?}");
        if !clean {
            assert_eq!(v[0].message, "dispatched before it arrived");
        }
    }
}

#[test]
fn node_metrics_are_recomputed_from_the_events() {
    let t = catch_up_trace();
    let arrivals: Vec<u64> = t
        .events
        .iter()
        .filter(|(_, e)| e.kind() == EventKind::Arrival)
        .map(|(_, e)| e.t)
        .collect();
    let end = t.events.last().unwrap().1.t;
    // Both requests finish with the last (merged) kernel.
    let mean_ms = arrivals.iter().map(|a| (end - a) as f64 / 1e6).sum::<f64>() / 2.0;
    let m = check_trace(&t, &TraceOptions::default()).metrics;
    assert_eq!((m.finished, m.slo_met), (2, 2));
    assert!((m.latency_ms_mean.unwrap() - mean_ms).abs() < 1e-9, "{m:?}");
    // With an SLO between the two latencies only the later request meets it.
    let mut tight = t.clone();
    tight.header.models[0].slo_ms = (end - arrivals[1]) as f64 / 1e6;
    let m = check_trace(&tight, &TraceOptions::default()).metrics;
    assert_eq!(m.slo_met, 1);
}

#[test]
fn drops_of_running_or_progressed_requests_are_caught() {
    let base = catch_up_trace();
    let drop_at = |after: usize| {
        let mut t = base.clone();
        let (line, e) = t.events[after].clone();
        let d = TraceEvent {
            t: e.t,
            event: Event::Drop { req: 0 },
        };
        t.events.insert(after + 1, (line, d));
        violations(&t)
    };
    let first_start = start_of(&base, &[0]);
    let first_finish = first_start + 1;
    assert_eq!(base.events[first_finish].1.kind(), EventKind::Finish);
    for v in [drop_at(first_start), drop_at(first_finish)] {
        assert!(
            v.iter()
                .any(|v| v.rule == Rule::EndsOnce
                    && v.message == "dropped after it started or ended"),
            "{v:?}"
        );
    }
}
