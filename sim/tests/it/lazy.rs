//! LazyBatching on one instance: lazy equals serial when requests never overlap, lazy equals
//! graph batching on one burst, the laws of every node-level trace (re-derived here from the
//! trace alone, slack rule included), determinism, clear errors, and a sanity check on a zoo
//! model.

use std::collections::BTreeMap;

use migsched_core::catalog::Catalog;
use migsched_core::{EventKind, TraceEvent};
use migsched_perf::analytic::AnalyticParams;
use migsched_perf::zoo::{ZooOptions, build};
use migsched_sim::lazy::{
    Arrivals, LazyError, NodeCurve, NodeProfile, NodeReport, NodeSimConfig, Policy, TraceRecorder,
    simulate_nodes,
};
use migsched_sim::{Arrival, NoObserver, Stop};
use proptest::prelude::*;

/// Case count: `PROPTEST_CASES` when set (deep runs), else a bound that keeps the suite fast.
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

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

fn replay(policy: Policy, slo_ns: u64, times: &[u64]) -> NodeSimConfig {
    NodeSimConfig {
        policy,
        slo_ns,
        arrivals: Arrivals::Times { ns: times.to_vec() },
        stop: Stop::Requests {
            n: times.len() as u64,
        },
        seed: 0,
    }
}

fn traced(profile: &NodeProfile, config: &NodeSimConfig) -> (NodeReport, Vec<TraceEvent>) {
    let mut rec = TraceRecorder::new("m");
    let report = simulate_nodes(profile, config, &mut rec).unwrap();
    (report, rec.into_events())
}

/// Per request: (arrival, end of its last node), from a trace.
fn completions(events: &[TraceEvent], nodes: u32) -> BTreeMap<u64, (u64, u64)> {
    let mut out = BTreeMap::new();
    for e in events {
        match e.kind() {
            EventKind::Arrival => {
                out.insert(e.req().unwrap(), (e.t, u64::MAX));
            }
            EventKind::Finish if e.node() == Some(nodes - 1) => {
                for r in e.members().unwrap() {
                    out.get_mut(r).unwrap().1 = e.t;
                }
            }
            _ => {}
        }
    }
    out
}

/// A group as the checker sees it: requests waiting at one node that run together.
#[derive(Debug, Clone)]
struct CGroup {
    /// Creation order (node-0 groups), or the node for groups past node 0.
    order: u64,
    node: u32,
    members: Vec<u64>,
}

/// What a trace showed.
#[derive(Debug, Default)]
struct Checked {
    kernels: u64,
    catch_ups: u64,
}

/// Re-derives the laws of a node-level run from its trace, the profile, the SLO and the policy:
/// - one kernel at a time; each finish ends the running kernel after its profiled latency;
/// - every request runs nodes 0, 1, ..., n − 1 in order, each exactly once, after arriving, and
///   every request that arrived completes (the runs here drain);
/// - a kernel's batch is of requests at its node, at most the max batch;
/// - serial: batches of one, first come first served; graph: a batch stays together through
///   the graph and waits for no other;
/// - lazy: a kernel runs one whole group (groups rebuilt from the arrivals); a kernel that is
///   not the most progressed group's catches up with a group it fits with, and the slack rule
///   holds: no request predicted (from arrival, SLO and profile) to meet its deadline if the
///   groups ran most progressed first is predicted to miss it after the catch-up; no less
///   progressed group was eligible; the recorded slack is the predicted one.
fn check(
    events: &[TraceEvent],
    p: &NodeProfile,
    slo_ns: u64,
    policy: Policy,
) -> Result<Checked, String> {
    let n = p.node_count();
    let max_batch = policy.max_batch();
    let mut arrival: BTreeMap<u64, u64> = BTreeMap::new();
    let mut progress: BTreeMap<u64, u32> = BTreeMap::new();
    let mut running: Option<(u64, u32, Vec<u64>, u64)> = None;
    let mut last_t = 0;
    let mut out = Checked::default();
    // Lazy: groups at node 0 in creation order, and the waiting requests per later node.
    let mut zero: Vec<CGroup> = Vec::new();
    let mut next_order = 0;
    let mut later: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    // Graph: the batch in progress.
    let mut graph_batch: Option<Vec<u64>> = None;
    let deadline = |arrival: &BTreeMap<u64, u64>, r: u64| (arrival[&r] + slo_ns) as i64;
    for (i, e) in events.iter().enumerate() {
        let at = |m: String| format!("event {i} at t={}: {m}", e.t);
        if e.t < last_t {
            return Err(at("time went backwards".into()));
        }
        last_t = e.t;
        match e.kind() {
            EventKind::Arrival => {
                let r = e
                    .req()
                    .ok_or_else(|| at("arrival without a request".into()))?;
                if arrival.insert(r, e.t).is_some() {
                    return Err(at(format!("request {r} arrived twice")));
                }
                progress.insert(r, 0);
                match zero.last_mut() {
                    Some(g) if (g.members.len() as u32) < max_batch => g.members.push(r),
                    _ => {
                        zero.push(CGroup {
                            order: next_order,
                            node: 0,
                            members: vec![r],
                        });
                        next_order += 1;
                    }
                }
            }
            EventKind::Start => {
                if running.is_some() {
                    return Err(at("a kernel started while another ran".into()));
                }
                let k = e.node().ok_or_else(|| at("start without a node".into()))?;
                let members = e.members().unwrap_or_default().to_vec();
                let b = members.len() as u32;
                if b == 0 || b > max_batch {
                    return Err(at(format!("batch of {b} (max {max_batch})")));
                }
                if e.batch() != Some(b) || e.service_ns() != Some(p.latency_ns(k, b)) {
                    return Err(at(format!(
                        "batch {:?} / service {:?}, expected {b} / {}",
                        e.batch(),
                        e.service_ns(),
                        p.latency_ns(k, b)
                    )));
                }
                for r in &members {
                    if progress.get(r) != Some(&k) {
                        return Err(at(format!(
                            "request {r} runs node {k} at progress {:?}",
                            progress.get(r)
                        )));
                    }
                }
                match policy {
                    Policy::Serial => {
                        let oldest_waiting = progress
                            .iter()
                            .filter(|&(_, &q)| q < n)
                            .map(|(&r, _)| r)
                            .next();
                        if members != [oldest_waiting.unwrap()] {
                            return Err(at(format!("serial ran {members:?}, not the oldest")));
                        }
                    }
                    Policy::Graph { .. } => {
                        if k == 0 {
                            if graph_batch.is_some() {
                                return Err(at("a graph batch started over another".into()));
                            }
                            graph_batch = Some(members.clone());
                        } else if graph_batch.as_ref() != Some(&members) {
                            return Err(at("a graph batch changed inside the graph".into()));
                        }
                        if k == n - 1 {
                            graph_batch = None;
                        }
                    }
                    Policy::Lazy { .. } => {
                        let mut groups: Vec<CGroup> = later
                            .iter()
                            .rev()
                            .map(|(&node, m)| CGroup {
                                order: u64::from(node),
                                node,
                                members: m.clone(),
                            })
                            .collect();
                        groups.extend(zero.iter().cloned());
                        let mine = groups
                            .iter()
                            .position(|g| g.node == k && g.members == members)
                            .ok_or_else(|| at(format!("{members:?} is not one whole group")))?;
                        let verdict = lazy_verdict(&groups, mine, e.t, p, max_batch, |r| {
                            deadline(&arrival, r)
                        });
                        let (catch_up, slack) = match verdict {
                            Verdict::Top(slack) => (false, slack),
                            Verdict::CatchUp(slack) => (true, slack),
                            Verdict::Ineligible(why) => {
                                return Err(at(format!("{members:?} at node {k}: {why}")));
                            }
                        };
                        if e.slack_ns() != Some(slack) {
                            return Err(at(format!(
                                "recorded slack {:?}, predicted {slack}",
                                e.slack_ns()
                            )));
                        }
                        // The less progressed groups had to be ineligible (or the chosen one
                        // is the most progressed and every catch-up was refused).
                        let mut before: Vec<usize> = (0..groups.len())
                            .filter(|&j| {
                                j != mine
                                    && (groups[j].node, groups[j].order)
                                        < (groups[mine].node, groups[mine].order)
                            })
                            .collect();
                        if !catch_up {
                            before = (0..groups.len()).filter(|&j| j != mine).collect();
                        }
                        for j in before {
                            if let Verdict::CatchUp(_) =
                                lazy_verdict(&groups, j, e.t, p, max_batch, |r| {
                                    deadline(&arrival, r)
                                })
                            {
                                return Err(at(format!(
                                    "{:?} at node {} was eligible and less progressed",
                                    groups[j].members, groups[j].node
                                )));
                            }
                        }
                        out.catch_ups += u64::from(catch_up);
                        if k == 0 {
                            zero.retain(|g| g.members != members);
                        } else {
                            later.remove(&k);
                        }
                    }
                }
                running = Some((e.t, k, members, e.service_ns().unwrap()));
                out.kernels += 1;
            }
            EventKind::Finish => {
                let Some((start, k, members, service)) = running.take() else {
                    return Err(at("a finish without a running kernel".into()));
                };
                if e.node() != Some(k) || e.members() != Some(&members[..]) {
                    return Err(at("the finish is not of the running kernel".into()));
                }
                if e.t != start + service {
                    return Err(at(format!(
                        "finished at {}, expected {}",
                        e.t,
                        start + service
                    )));
                }
                for r in &members {
                    *progress.get_mut(r).unwrap() += 1;
                }
                if k + 1 < n {
                    let waiting = later.entry(k + 1).or_default();
                    waiting.extend(&members);
                    waiting.sort_unstable();
                }
            }
            other => return Err(at(format!("unexpected event {other:?}"))),
        }
    }
    if running.is_some() {
        return Err("the trace ends inside a kernel".into());
    }
    if let Some((r, q)) = progress.iter().find(|&(_, &q)| q != n) {
        return Err(format!("request {r} ended at node {q} of {n}"));
    }
    Ok(out)
}

enum Verdict {
    /// The most progressed group, with its predicted slack.
    Top(i64),
    /// An allowed catch-up, with the group's predicted slack.
    CatchUp(i64),
    /// Neither, and why.
    Ineligible(String),
}

/// Predicted finish of each group (by index) when `order` runs to completion from `now`, each
/// group at the size given.
fn plan(order: &[(usize, u32, u32)], start: i64, p: &NodeProfile) -> BTreeMap<usize, i64> {
    let mut t = start;
    let mut out = BTreeMap::new();
    for &(g, node, size) in order {
        t += p.remaining_ns(node, size) as i64;
        out.insert(g, t);
    }
    out
}

/// Brute-force lazy verdict on running group `c` now (groups in any order).
fn lazy_verdict(
    groups: &[CGroup],
    c: usize,
    now: u64,
    p: &NodeProfile,
    max_batch: u32,
    deadline: impl Fn(u64) -> i64,
) -> Verdict {
    let now = now as i64;
    let size = |g: &CGroup| g.members.len() as u32;
    let mut default: Vec<usize> = (0..groups.len()).collect();
    default.sort_by_key(|&g| (std::cmp::Reverse(groups[g].node), groups[g].order));
    let d = plan(
        &default
            .iter()
            .map(|&g| (g, groups[g].node, size(&groups[g])))
            .collect::<Vec<_>>(),
        now,
        p,
    );
    let min_deadline = |g: usize| groups[g].members.iter().map(|&r| deadline(r)).min();
    let k = groups[c].node;
    let ahead: Vec<usize> = (0..groups.len()).filter(|&g| groups[g].node > k).collect();
    if ahead.is_empty() {
        // The most progressed: only the oldest at the top node may run.
        return if default[0] == c {
            Verdict::Top(min_deadline(c).unwrap() - d[&c])
        } else {
            Verdict::Ineligible("not the oldest of the most progressed".into())
        };
    }
    let h = *ahead.iter().min_by_key(|&&g| groups[g].node).unwrap();
    let (b, bh, kh) = (size(&groups[c]), size(&groups[h]), groups[h].node);
    if b + bh > max_batch {
        return Verdict::Ineligible(format!("{b} + {bh} do not fit in {max_batch}"));
    }
    let catch_up: i64 = (k..kh).map(|j| p.latency_ns(j, b) as i64).sum();
    let order: Vec<(usize, u32, u32)> = default
        .iter()
        .filter(|&&g| g != c)
        .map(|&g| {
            if g == h {
                (g, kh, b + bh)
            } else {
                (g, groups[g].node, size(&groups[g]))
            }
        })
        .collect();
    let mut cu = plan(&order, now + catch_up, p);
    cu.insert(c, cu[&h]);
    for g in 0..groups.len() {
        for &r in &groups[g].members {
            let dl = deadline(r);
            if dl >= d[&g] && dl < cu[&g] {
                return Verdict::Ineligible(format!(
                    "request {r} (deadline {dl}) would finish at {} instead of {}",
                    cu[&g], d[&g]
                ));
            }
        }
    }
    Verdict::CatchUp(min_deadline(c).unwrap() - cu[&c])
}

fn random_profile() -> impl Strategy<Value = (Vec<(f64, f64)>, u32)> {
    (
        prop::collection::vec((1_000.0..200_000.0f64, 0.0..1.5f64), 1..10),
        1u32..9,
    )
}

/// Arrival times from gaps; a `true` flag makes the arrival simultaneous with the previous.
fn times(gaps: &[(bool, u64)]) -> Vec<u64> {
    let mut t = 0;
    gaps.iter()
        .map(|&(same, g)| {
            if !same {
                t += g;
            }
            t
        })
        .collect()
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn the_slack_rule_and_the_node_laws_hold_on_random_workloads(
        (nodes, max_batch) in random_profile(),
        gaps in prop::collection::vec((any::<bool>(), 0u64..600_000), 1..60),
        slo_factor in 0.3..8.0f64,
    ) {
        let p = profile(&nodes, max_batch);
        let slo_ns = (p.whole_ns(1) as f64 * slo_factor) as u64 + 1;
        let t = times(&gaps);
        for policy in [
            Policy::Lazy { max_batch },
            Policy::Graph { window_ns: 300_000.0, max_batch },
            Policy::Serial,
        ] {
            let (report, events) = traced(&p, &replay(policy, slo_ns, &t));
            let checked = check(&events, &p, slo_ns, policy)
                .map_err(|e| TestCaseError::fail(format!("{policy:?}: {e}")))?;
            prop_assert_eq!(report.completed, t.len() as u64);
            prop_assert_eq!(report.kernels, checked.kernels);
            prop_assert_eq!(report.catch_up_kernels, checked.catch_ups);
        }
    }

    #[test]
    fn lazy_equals_serial_when_requests_never_overlap(
        (nodes, max_batch) in random_profile(),
        extra in prop::collection::vec(0u64..1_000_000, 1..30),
    ) {
        let p = profile(&nodes, max_batch);
        let mut t = 0;
        let arrivals: Vec<u64> = extra.iter().map(|&x| { t += p.whole_ns(1) + 1 + x; t }).collect();
        let slo_ns = 2 * p.whole_ns(1);
        let (_, lazy) = traced(&p, &replay(Policy::Lazy { max_batch }, slo_ns, &arrivals));
        let (_, serial) = traced(&p, &replay(Policy::Serial, slo_ns, &arrivals));
        let latency = |events: &[TraceEvent]| -> Vec<u64> {
            completions(events, p.node_count()).values().map(|(a, f)| f - a).collect()
        };
        prop_assert_eq!(latency(&lazy), latency(&serial));
        prop_assert!(latency(&lazy).iter().all(|&l| l == p.whole_ns(1)));
    }

    #[test]
    fn lazy_with_a_max_batch_of_one_is_serial(
        (nodes, _) in random_profile(),
        gaps in prop::collection::vec((any::<bool>(), 0u64..300_000), 1..40),
    ) {
        let p = profile(&nodes, 1);
        let t = times(&gaps);
        let slo_ns = 3 * p.whole_ns(1);
        let (a, lazy) = traced(&p, &replay(Policy::Lazy { max_batch: 1 }, slo_ns, &t));
        let (b, serial) = traced(&p, &replay(Policy::Serial, slo_ns, &t));
        prop_assert_eq!(completions(&lazy, 1), completions(&serial, 1));
        prop_assert_eq!(a.latency_ms, b.latency_ms);
    }
}

#[test]
fn a_burst_runs_under_lazy_as_one_graph_batch() {
    let p = profile(&[(50_000.0, 0.2), (120_000.0, 0.05), (8_000.0, 1.0)], 8);
    for n in 1..=8u32 {
        let t = vec![7_000; n as usize];
        let slo_ns = 1_000_000_000;
        let done = |policy| {
            let (_, events) = traced(&p, &replay(policy, slo_ns, &t));
            check(&events, &p, slo_ns, policy).unwrap();
            completions(&events, p.node_count())
        };
        let lazy = done(Policy::Lazy { max_batch: 8 });
        assert_eq!(
            lazy,
            done(Policy::Graph {
                window_ns: 0.0,
                max_batch: 8
            }),
            "{n} requests"
        );
        // A graph batch that fills up does not wait for its window.
        assert_eq!(
            lazy,
            done(Policy::Graph {
                window_ns: 10e6,
                max_batch: n
            }),
            "{n} requests"
        );
        assert!(lazy.values().all(|&(a, f)| f - a == p.whole_ns(n)));
    }
}

#[test]
fn a_late_request_catches_up_and_merges() {
    // Four nodes of 1 ms (1.1 ms at batch 2). Request 0 at t=0; request 1 at 2.5 ms, while
    // request 0 runs node 2 (until 3 ms). From 3 ms, request 1 catches up through nodes 0 to 2
    // (3 ms), then both run node 3 at batch 2 and finish at 7.1 ms, within request 0's 10 ms.
    let p = profile(&[(1e6, 0.1); 4], 2);
    let (report, events) = traced(
        &p,
        &replay(Policy::Lazy { max_batch: 2 }, 10_000_000, &[0, 2_500_000]),
    );
    check(&events, &p, 10_000_000, Policy::Lazy { max_batch: 2 }).unwrap();
    let done = completions(&events, 4);
    assert_eq!(done[&0], (0, 7_100_000));
    assert_eq!(done[&1], (2_500_000, 7_100_000));
    assert_eq!(report.catch_up_kernels, 3);
    assert_eq!(report.kernels, 7);
    // With a deadline that the catch-up would break for request 0, it runs on alone.
    let (report, events) = traced(
        &p,
        &replay(Policy::Lazy { max_batch: 2 }, 6_000_000, &[0, 2_500_000]),
    );
    check(&events, &p, 6_000_000, Policy::Lazy { max_batch: 2 }).unwrap();
    let done = completions(&events, 4);
    assert_eq!(done[&0], (0, 4_000_000));
    assert_eq!(done[&1], (2_500_000, 8_000_000));
    assert_eq!(report.catch_up_kernels, 0);
}

#[test]
fn same_seed_same_report_other_seed_other_report() {
    let p = profile(&[(300_000.0, 0.1), (500_000.0, 0.3), (100_000.0, 0.5)], 16);
    for policy in [
        Policy::Serial,
        Policy::Graph {
            window_ns: 2e6,
            max_batch: 16,
        },
        Policy::Lazy { max_batch: 16 },
    ] {
        let run = |seed| {
            let config = NodeSimConfig {
                policy,
                slo_ns: 10_000_000,
                arrivals: Arrivals::Process {
                    arrival: Arrival::Gamma { cv: 2.0 },
                    rate_rps: 800.0,
                },
                stop: Stop::Requests { n: 5_000 },
                seed,
            };
            let (report, events) = traced(&p, &config);
            let json = serde_json::to_string(&report).unwrap();
            (json, serde_json::to_string(&events).unwrap())
        };
        assert_eq!(run(3), run(3), "{policy:?}");
        let (a, b) = (run(3), run(4));
        assert_ne!(a.0, b.0, "{policy:?}");
        assert_ne!(a.1, b.1, "{policy:?}");
    }
}

#[test]
fn a_duration_run_without_drain_reports_what_is_in_flight() {
    let p = profile(&[(1e6, 0.1); 3], 4);
    let config = NodeSimConfig {
        policy: Policy::Lazy { max_batch: 4 },
        slo_ns: 20_000_000,
        arrivals: Arrivals::poisson(2_000.0),
        stop: Stop::Duration {
            ns: 500_000_000,
            drain: false,
        },
        seed: 9,
    };
    let r = simulate_nodes(&p, &config, &mut NoObserver).unwrap();
    assert_eq!(r.end_ns, 500_000_000);
    assert_eq!(r.requests, r.completed + r.in_flight);
    assert!(r.in_flight > 0, "overloaded: {r:?}");
    assert!(
        r.utilization > 0.99 && r.utilization <= 1.0,
        "{}",
        r.utilization
    );
    let drained = simulate_nodes(
        &p,
        &NodeSimConfig {
            stop: Stop::Duration {
                ns: 500_000_000,
                drain: true,
            },
            ..config
        },
        &mut NoObserver,
    )
    .unwrap();
    assert_eq!(drained.requests, r.requests);
    assert_eq!((drained.completed, drained.in_flight), (r.requests, 0));
}

#[test]
fn whole_model_latency_is_the_sum_of_node_latencies() {
    let p = profile(&[(1_234.4, 0.3), (99_999.6, 0.01), (5.0, 2.0)], 12);
    for b in 1..=12 {
        let sum: u64 = (0..p.node_count()).map(|k| p.latency_ns(k, b)).sum();
        assert_eq!(p.whole_ns(b), sum);
        assert_eq!(p.remaining_ns(1, b), sum - p.latency_ns(0, b));
    }
}

#[test]
fn bad_parameters_are_clear_errors() {
    let p = profile(&[(1e6, 0.1)], 8);
    let base = replay(Policy::Lazy { max_batch: 8 }, 1_000_000, &[0, 5]);
    let e = |config: NodeSimConfig| {
        simulate_nodes(&p, &config, &mut NoObserver)
            .unwrap_err()
            .to_string()
    };
    let with = |policy| NodeSimConfig {
        policy,
        ..base.clone()
    };
    assert_eq!(
        e(with(Policy::Lazy { max_batch: 0 })),
        "max_batch = 0: expected at least 1 (lazy policy)"
    );
    assert_eq!(
        e(with(Policy::Graph {
            window_ns: 0.0,
            max_batch: 0
        })),
        "max_batch = 0: expected at least 1 (graph policy)"
    );
    assert_eq!(
        e(with(Policy::Lazy { max_batch: 9 })),
        "max_batch = 9: expected at most the node profile's max batch 8"
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            e(with(Policy::Graph {
                window_ns: bad,
                max_batch: 4
            })),
            format!("window_ns = {bad}: expected a finite number of nanoseconds, at least 0")
        );
    }
    assert_eq!(
        e(NodeSimConfig {
            slo_ns: 0,
            ..base.clone()
        }),
        "slo_ns = 0: expected at least 1 ns"
    );
    assert_eq!(
        e(NodeSimConfig {
            arrivals: Arrivals::poisson(f64::NAN),
            ..base.clone()
        }),
        "rate_rps = NaN: expected a positive number of requests per second"
    );
    assert_eq!(
        e(NodeSimConfig {
            arrivals: Arrivals::Times { ns: vec![5, 3] },
            ..base.clone()
        }),
        "arrivals.ns = 3 after 5 (index 1): expected non-decreasing times"
    );
    assert_eq!(
        e(NodeSimConfig {
            stop: Stop::Requests { n: 0 },
            ..base.clone()
        }),
        "stop.n = 0: expected at least 1 request"
    );
    assert_eq!(
        NodeProfile::from_curves(&[], 4).unwrap_err(),
        LazyError::EmptyProfile
    );
    assert_eq!(
        NodeProfile::from_curves(
            &[NodeCurve {
                name: "conv1".into(),
                latency_ns: vec![(1, -3.0)]
            }],
            4
        )
        .unwrap_err()
        .to_string(),
        "node 0 ('conv1'): latency -3 ns at batch 1 is not a positive number"
    );
}

/// ResNet-50 on a whole A100-80GB (7g.80gb) from the analytic model, at a low Poisson load
/// (half of what serial execution serves): graph batching waits out its 10 ms window, lazy
/// batching does not wait, so it answers several times faster on average (the paper's
/// low-load case). At medium and high load it does not win; see the README.
#[test]
fn lazy_beats_a_10ms_graph_window_on_resnet50_at_low_load() {
    let catalog = Catalog::builtin();
    let gpu = catalog.gpu("a100-80gb").unwrap();
    let profile = gpu.profile(gpu.profile_by_name("7g.80gb").unwrap());
    let graph = build("resnet50", &ZooOptions::default()).unwrap();
    let p = NodeProfile::from_graph(&graph, gpu, profile, 32, &AnalyticParams::default()).unwrap();
    let serial_rps = 1e9 / p.whole_ns(1) as f64;
    let run = |policy| {
        let config = NodeSimConfig {
            policy,
            slo_ns: 50_000_000,
            arrivals: Arrivals::poisson(0.5 * serial_rps),
            stop: Stop::Requests { n: 10_000 },
            seed: 1,
        };
        simulate_nodes(&p, &config, &mut NoObserver).unwrap()
    };
    let lazy = run(Policy::Lazy { max_batch: 32 });
    let graph = run(Policy::Graph {
        window_ns: 10e6,
        max_batch: 32,
    });
    assert_eq!(lazy.completed, 10_000);
    assert!(
        3.0 * lazy.latency_ms.mean < graph.latency_ms.mean,
        "lazy {:?} vs graph {:?}",
        lazy.latency_ms,
        graph.latency_ms
    );
    assert!(lazy.catch_up_kernels > 0, "no request caught up");
    assert!(lazy.slo_attainment >= graph.slo_attainment);
}

#[test]
fn latencies_beyond_the_budget_are_errors_not_panics() {
    // `simulate-nodes --node-table` with latencies of 1e300 panicked ("simulated time beyond
    // 2^63 ns") in the slack rule.
    let huge = [NodeCurve {
        name: "conv1".into(),
        latency_ns: vec![(1, 1e300)],
    }];
    let e = NodeProfile::from_curves(&huge, 4).unwrap_err().to_string();
    assert_eq!(
        e,
        "node 0 ('conv1'): latency 1e300 ns at batch 1 is above the longest whole-model latency, 1099511627776 ns (about 18 minutes)"
    );
    // Nodes each under the bound whose sum is not.
    let halves: Vec<NodeCurve> = (0..3)
        .map(|i| NodeCurve {
            name: format!("n{i}"),
            latency_ns: vec![(1, 5e11)],
        })
        .collect();
    let e = NodeProfile::from_curves(&halves, 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1500000000000 ns for the whole model (3 nodes"),
        "{e}"
    );
    // An SLO of u64::MAX (a --slo-ms of 1e300) would overflow every deadline.
    let p = profile(&[(1e6, 0.1)], 8);
    let config = replay(Policy::Lazy { max_batch: 8 }, u64::MAX, &[0, 5]);
    let e = simulate_nodes(&p, &config, &mut NoObserver)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("slo_ns = 18446744073709551615: expected at most 288230376151711744 ns"),
        "{e}"
    );
}

#[test]
fn a_max_batch_of_billions_is_refused_before_allocating() {
    // `simulate-nodes --max-batch 4294967295` tried to allocate a row per batch.
    let curves = [NodeCurve {
        name: "a".into(),
        latency_ns: vec![(1, 1000.0)],
    }];
    let e = NodeProfile::from_curves(&curves, u32::MAX)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "max_batch = 4294967295: expected at most 65536 (the largest batch a node profile covers)"
    );
    let many: Vec<NodeCurve> = (0..1000)
        .map(|i| NodeCurve {
            name: format!("n{i}"),
            latency_ns: vec![(1, 1000.0)],
        })
        .collect();
    let e = NodeProfile::from_curves(&many, 65_536)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 16777 for 1000 nodes"), "{e}");
}

#[test]
fn an_exploding_backlog_stops_with_a_clear_error() {
    // A rate far above what the instance serves: arrivals pile up at the same few instants.
    let p = profile(&[(1e6, 0.1)], 8);
    let config = NodeSimConfig {
        policy: Policy::Lazy { max_batch: 8 },
        slo_ns: 1_000_000,
        arrivals: Arrivals::poisson(1e300),
        stop: Stop::Duration {
            ns: 1_000_000_000,
            drain: false,
        },
        seed: 1,
    };
    let e = simulate_nodes(&p, &config, &mut NoObserver).unwrap_err();
    assert!(matches!(e, LazyError::Budget(_)), "{e}");
    assert!(
        e.to_string()
            .contains("more than 2097152 requests in flight"),
        "{e}"
    );
}
