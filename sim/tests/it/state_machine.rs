//! State-machine tests (proptest-state-machine) of every scheduler against a reference
//! model: a naive simulator written from the schedulers' documented rules, with linear
//! scans instead of the engine's slab, queues and event heap.
//!
//! The transitions are arrivals (a gap and a model). After each one, the engine replays
//! every arrival so far (pre-batched queries of one sample, no noise, drained) and each
//! request's (instance, start, finish) must equal the reference's. Times are random
//! nanoseconds, so simultaneous events (whose order the rules leave to the event queue)
//! practically never occur; the reference takes finishes before arrivals at equal times.

use std::collections::VecDeque;

use migsched_core::EventKind;
use migsched_sim::schedulers::{Elsa, Fifs, LeastLoaded, RoundRobin};
use migsched_sim::{
    Arrival, LatencyCurve, ModelSpec, NoObserver, QueryBatch, Replayed, Scheduler, ServerSpec,
    ServingMode, SimConfig, SimSetup, Stop, TraceRecorder, simulate,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

/// The schedulers under test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Fifs,
    RoundRobin,
    LeastLoaded,
    Elsa,
}

#[derive(Debug, Clone)]
struct Server {
    model: usize,
    gpcs: u8,
    slots: usize,
    service_ns: u64,
}

/// The reference state: the system and the arrivals so far, with their outcomes.
#[derive(Debug, Clone)]
struct RefState {
    kind: Kind,
    slo_ns: Vec<u64>,
    servers: Vec<Server>,
    arrivals: Vec<(u64, usize)>,
    /// Per request: (instance, start, finish).
    outcomes: Vec<(u32, u64, u64)>,
}

#[derive(Debug, Clone)]
struct Arrive {
    gap_ns: u64,
    model: usize,
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = RefState;
    type Transition = Arrive;

    fn init_state() -> BoxedStrategy<RefState> {
        (
            prop::sample::select(vec![
                Kind::Fifs,
                Kind::RoundRobin,
                Kind::LeastLoaded,
                Kind::Elsa,
            ]),
            prop::collection::vec(500_000u64..20_000_000, 2),
            prop::collection::vec(
                (
                    0usize..2,
                    prop::sample::select(vec![1u8, 2, 3, 7]),
                    1usize..=2,
                    100_000u64..5_000_000,
                ),
                1..5,
            ),
        )
            .prop_map(|(kind, slo_ns, raw)| {
                let mut servers: Vec<Server> = raw
                    .into_iter()
                    .map(|(model, gpcs, slots, service_ns)| Server {
                        model,
                        gpcs,
                        slots,
                        service_ns,
                    })
                    .collect();
                for m in 0..2 {
                    if !servers.iter().any(|s| s.model == m) {
                        let mut s = servers[0].clone();
                        s.model = m;
                        servers.push(s);
                    }
                }
                RefState {
                    kind,
                    slo_ns,
                    servers,
                    arrivals: Vec::new(),
                    outcomes: Vec::new(),
                }
            })
            .boxed()
    }

    fn transitions(_: &RefState) -> BoxedStrategy<Arrive> {
        (1u64..4_000_000, 0usize..2)
            .prop_map(|(gap_ns, model)| Arrive { gap_ns, model })
            .boxed()
    }

    fn apply(mut state: RefState, t: &Arrive) -> RefState {
        let last = state.arrivals.last().map_or(0, |a| a.0);
        state.arrivals.push((last + t.gap_ns, t.model));
        state.outcomes = reference_run(&state);
        state
    }
}

/// The naive simulator.
fn reference_run(s: &RefState) -> Vec<(u32, u64, u64)> {
    let n = s.servers.len();
    let mut queue: Vec<VecDeque<usize>> = vec![VecDeque::new(); n];
    let mut slots: Vec<Vec<Option<(usize, u64)>>> =
        s.servers.iter().map(|v| vec![None; v.slots]).collect();
    let mut central: Vec<VecDeque<usize>> = vec![VecDeque::new(); 2];
    let mut rr = [0usize; 2];
    let mut out = vec![(u32::MAX, 0, 0); s.arrivals.len()];
    let of = |m: usize| -> Vec<usize> { (0..n).filter(|&i| s.servers[i].model == m).collect() };
    let mut next = 0;
    // Starts what an instance can start now: held requests first fill it (FIFS), then the
    // head of its queue goes to its first free slot.
    let start = |i: usize,
                 now: u64,
                 queue: &mut Vec<VecDeque<usize>>,
                 slots: &mut Vec<Vec<Option<(usize, u64)>>>,
                 central: &mut Vec<VecDeque<usize>>,
                 out: &mut Vec<(u32, u64, u64)>| {
        loop {
            let free = slots[i].iter().filter(|x| x.is_none()).count();
            if free == 0 {
                return;
            }
            while queue[i].len() < slots[i].iter().filter(|x| x.is_none()).count() {
                match central[s.servers[i].model].pop_front() {
                    Some(r) => queue[i].push_back(r),
                    None => break,
                }
            }
            let Some(r) = queue[i].pop_front() else {
                return;
            };
            let k = slots[i].iter().position(|x| x.is_none()).expect("free");
            let end = now + s.servers[i].service_ns;
            slots[i][k] = Some((r, end));
            out[r] = (i as u32, now, end);
        }
    };
    loop {
        let finish = (0..n)
            .flat_map(|i| (0..slots[i].len()).map(move |k| (i, k)))
            .filter_map(|(i, k)| slots[i][k].map(|(_, end)| (end, i, k)))
            .min();
        let arrival = s.arrivals.get(next).copied();
        match (finish, arrival) {
            (None, None) => break,
            (Some((end, i, k)), a) if a.is_none_or(|(t, _)| end <= t) => {
                slots[i][k] = None;
                start(i, end, &mut queue, &mut slots, &mut central, &mut out);
            }
            (_, Some((now, m))) => {
                let r = next;
                next += 1;
                let list = of(m);
                // Predicted wait: queued and remaining work over the slots.
                let wait = |i: usize| -> u64 {
                    let queued = queue[i].len() as u64 * s.servers[i].service_ns;
                    let running: u64 = slots[i]
                        .iter()
                        .flatten()
                        .map(|&(_, end)| end.saturating_sub(now))
                        .sum();
                    (queued + running) / s.servers[i].slots as u64
                };
                let soonest = |cands: &[usize]| -> usize {
                    let mut best: Option<(u64, usize)> = None;
                    for &i in cands {
                        let done = wait(i) + s.servers[i].service_ns;
                        if best.is_none_or(|(b, _)| done < b) {
                            best = Some((done, i));
                        }
                    }
                    best.expect("an instance").1
                };
                let chosen = match s.kind {
                    Kind::Fifs => list.iter().copied().find(|&i| {
                        queue[i].len() < slots[i].iter().filter(|x| x.is_none()).count()
                    }),
                    Kind::RoundRobin => {
                        let k = rr[m] % list.len();
                        rr[m] = k + 1;
                        Some(list[k])
                    }
                    Kind::LeastLoaded => Some(soonest(&list)),
                    Kind::Elsa => {
                        let mut order = list.clone();
                        order.sort_by_key(|&i| (s.servers[i].gpcs, i));
                        let slack = s.slo_ns[m] as f64;
                        order
                            .iter()
                            .copied()
                            .find(|&i| slack > (wait(i) + s.servers[i].service_ns) as f64)
                            .or_else(|| Some(soonest(&order)))
                    }
                };
                match chosen {
                    Some(i) => {
                        queue[i].push_back(r);
                        start(i, now, &mut queue, &mut slots, &mut central, &mut out);
                    }
                    None => central[m].push_back(r),
                }
            }
            (Some(_), None) => unreachable!("handled above"),
        }
    }
    out
}

/// The engine, replaying the arrivals so far.
struct Engine {
    outcomes: Vec<(u32, u64, u64)>,
}

/// A fresh scheduler of a kind.
fn scheduler(kind: Kind) -> Box<dyn Scheduler> {
    match kind {
        Kind::Fifs => Box::new(Fifs),
        Kind::RoundRobin => Box::new(RoundRobin::default()),
        Kind::LeastLoaded => Box::new(LeastLoaded),
        Kind::Elsa => Box::new(Elsa::new(1.0, 1.0)),
    }
}

fn engine_run(s: &RefState) -> Vec<(u32, u64, u64)> {
    let setup = SimSetup {
        models: (0..2)
            .map(|m| ModelSpec {
                name: format!("m{m}"),
                slo_ns: s.slo_ns[m],
                rate_rps: 0.0,
                arrival: Arrival::Poisson,
                batch: QueryBatch::One,
            })
            .collect(),
        servers: s
            .servers
            .iter()
            .enumerate()
            .map(|(i, v)| ServerSpec {
                gpu: i as u32,
                profile: format!("{}g", v.gpcs),
                start: 0,
                gpcs: v.gpcs,
                model: v.model,
                slots: v.slots as u32,
                max_batch: 1,
                latency: LatencyCurve::new(vec![(1, v.service_ns as f64)]).expect("a point"),
            })
            .collect(),
        replay: None,
    };
    let replay: Vec<Replayed> = s
        .arrivals
        .iter()
        .map(|&(t, m)| Replayed {
            t_ns: t,
            model: format!("m{m}"),
            batch: 1,
        })
        .collect();
    let setup = setup.with_replay(&replay).expect("known models");
    let config = SimConfig {
        stop: Stop::Requests {
            n: s.arrivals.len() as u64,
        },
        mode: ServingMode::Prebatched,
        ..SimConfig::default()
    };
    let mut sched = scheduler(s.kind);
    let mut rec = TraceRecorder::new(&setup);
    simulate(&setup, &config, sched.as_mut(), &mut rec).expect("the run");
    let mut out = vec![(u32::MAX, 0, 0); s.arrivals.len()];
    for e in &rec.events {
        let members = e.members().unwrap_or_default();
        for &r in members {
            let o = &mut out[r as usize];
            match e.kind() {
                EventKind::Start => *o = (e.instance().expect("instance"), e.t, 0),
                EventKind::Finish => o.2 = e.t,
                _ => {}
            }
        }
    }
    // The run without an observer serves the same requests.
    let mut sched2 = scheduler(s.kind);
    let quiet = simulate(&setup, &config, sched2.as_mut(), &mut NoObserver).expect("the run");
    assert_eq!(quiet.completed_total, s.arrivals.len() as u64);
    out
}

impl StateMachineTest for Engine {
    type SystemUnderTest = Engine;
    type Reference = Reference;

    fn init_test(_: &RefState) -> Engine {
        Engine {
            outcomes: Vec::new(),
        }
    }

    fn apply(_: Engine, ref_state: &RefState, _: Arrive) -> Engine {
        Engine {
            outcomes: engine_run(ref_state),
        }
    }

    fn check_invariants(state: &Engine, ref_state: &RefState) {
        for (r, (got, want)) in state.outcomes.iter().zip(&ref_state.outcomes).enumerate() {
            assert_eq!(
                got, want,
                "{:?}: request {r} (instance, start, finish) differs from the reference; \
                 servers {:?}, arrivals {:?}",
                ref_state.kind, ref_state.servers, ref_state.arrivals
            );
        }
        assert_eq!(state.outcomes.len(), ref_state.outcomes.len());
    }
}

/// 48 cases, `PROPTEST_CASES` for deep runs.
fn config() -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 48;
    }
    c.failure_persistence = None;
    c
}

prop_state_machine! {
    #![proptest_config(config())]

    #[test]
    fn schedulers_match_the_reference_model(sequential 1..40 => Engine);
}
