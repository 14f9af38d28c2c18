//! Every scheduler's trace on random workloads passes the trace checker: random models,
//! instances (profile sizes, MPS slots, max batches, latency curves), batching modes,
//! noise, drops and stopping rules. The simulator writes traces through the same
//! conversion the binary uses (`migsched_sim::trace_header`, `TraceRecorder`).

use migsched_sim::schedulers::{Elsa, Fifs, LeastLoaded, RoundRobin};
use migsched_sim::{
    Arrival, LatencyCurve, ModelSpec, Noise, QueryBatch, Scheduler, ServerSpec, ServingMode,
    SimConfig, SimSetup, Stop, TraceRecorder, simulate, trace_header,
};
use migsched_verify::{TraceOptions, check_trace, read_trace};
use proptest::prelude::*;

const MS: f64 = 1e6;

#[derive(Debug, Clone)]
struct Server {
    model: usize,
    gpcs: u8,
    slots: u32,
    max_batch: u32,
    base_ms: f64,
    per_sample_ms: f64,
}

fn server() -> impl Strategy<Value = Server> {
    (
        0usize..3,
        prop::sample::select(vec![1u8, 2, 3, 4, 7]),
        1u32..=3,
        1u32..=8,
        0.5f64..5.0,
        0.0f64..1.5,
    )
        .prop_map(
            |(model, gpcs, slots, max_batch, base_ms, per_sample_ms)| Server {
                model,
                gpcs,
                slots,
                max_batch,
                base_ms,
                per_sample_ms,
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    models: usize,
    slo_ms: Vec<f64>,
    rates: Vec<f64>,
    batch: u32,
    servers: Vec<Server>,
    scheduler: usize,
    dynamic: Option<u64>,
    noise: bool,
    drop_expired: bool,
    drain: bool,
    seed: u64,
    warmup_ns: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..=3,
        prop::collection::vec(2.0f64..40.0, 3),
        prop::collection::vec(50.0f64..1500.0, 3),
        1u32..=3,
        prop::collection::vec(server(), 1..6),
        0usize..4,
        prop::option::of(0u64..3_000_000),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        (any::<u64>(), prop_oneof![Just(0u64), 0u64..200_000_000]),
    )
        .prop_map(
            |(
                models,
                slo_ms,
                rates,
                batch,
                servers,
                scheduler,
                dynamic,
                noise,
                drop,
                drain,
                (seed, warmup_ns),
            )| {
                Case {
                    models,
                    slo_ms,
                    rates,
                    batch,
                    servers,
                    scheduler,
                    dynamic,
                    noise,
                    drop_expired: drop,
                    drain,
                    seed,
                    warmup_ns,
                }
            },
        )
}

fn setup(c: &Case) -> SimSetup {
    let mut servers: Vec<ServerSpec> = c
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let points = (1..=s.max_batch)
                .map(|b| (b, (s.base_ms + s.per_sample_ms * f64::from(b - 1)) * MS))
                .collect();
            ServerSpec {
                gpu: i as u32 / 2,
                profile: format!("{}g.{}gb", s.gpcs, 10 * u32::from(s.gpcs)),
                start: (i % 2) as u8,
                gpcs: s.gpcs,
                model: s.model % c.models,
                slots: s.slots,
                max_batch: s.max_batch,
                latency: LatencyCurve::new(points).expect("points"),
            }
        })
        .collect();
    // Every model has at least one instance.
    for m in 0..c.models {
        if !servers.iter().any(|s| s.model == m) {
            let mut s = servers[0].clone();
            s.model = m;
            s.gpu = 100 + m as u32;
            servers.push(s);
        }
    }
    SimSetup {
        models: (0..c.models)
            .map(|m| ModelSpec {
                name: format!("model{m}"),
                slo_ns: (c.slo_ms[m] * MS) as u64,
                rate_rps: c.rates[m],
                arrival: Arrival::Poisson,
                batch: if c.batch == 1 {
                    QueryBatch::One
                } else {
                    QueryBatch::Fixed { batch: 1 }
                },
            })
            .collect(),
        servers,
        replay: None,
    }
}

fn scheduler(i: usize) -> Box<dyn Scheduler> {
    match i {
        0 => Box::new(Fifs),
        1 => Box::new(RoundRobin::default()),
        2 => Box::new(LeastLoaded),
        _ => Box::new(Elsa::new(1.0, 1.0)),
    }
}

/// Runs a case and checks its trace; the violations as text.
fn violations(c: &Case) -> (Vec<String>, usize) {
    let setup = setup(c);
    let config = SimConfig {
        stop: Stop::Duration {
            ns: 300_000_000,
            drain: c.drain,
        },
        seed: c.seed,
        warmup_ns: c.warmup_ns,
        mode: match c.dynamic {
            Some(d) => ServingMode::Dynamic {
                max_queue_delay_ns: d,
            },
            None => ServingMode::Prebatched,
        },
        drop_expired: c.drop_expired,
        noise: if c.noise {
            Noise::LogNormal { cv: 0.3 }
        } else {
            Noise::None
        },
        ..SimConfig::default()
    };
    let mut sched = scheduler(c.scheduler);
    let mut rec = TraceRecorder::new(&setup);
    let report = simulate(&setup, &config, sched.as_mut(), &mut rec).expect("the run");
    let text = rec.to_jsonl(&trace_header(&setup, &config, &report));
    let trace = read_trace(&text, "sim.jsonl").expect("a readable trace");
    // The report's metrics (one shared definition) are checked against the trace, every one.
    let reported = crate::pipeline::reported(&report.metrics);
    let r = check_trace(
        &trace,
        &TraceOptions {
            metrics: Some(&reported),
            ..TraceOptions::default()
        },
    );
    let mut v: Vec<String> = r.violations.iter().map(|v| v.to_string()).collect();
    v.extend(
        r.not_checked
            .iter()
            .filter(|n| n.contains("metrics"))
            .map(|n| format!("not checked: {n}")),
    );
    (v, rec.events.len())
}

proptest! {
    #![proptest_config(crate::config(24))]

    #[test]
    fn every_scheduler_trace_passes_the_checker(c in case()) {
        let (v, events) = violations(&c);
        prop_assert!(events > 0);
        prop_assert!(v.is_empty(), "{} violations, first: {:?}", v.len(), &v[..v.len().min(5)]);
    }
}

#[test]
fn each_scheduler_on_a_fixed_case() {
    for scheduler in 0..4 {
        for dynamic in [None, Some(1_000_000)] {
            let c = Case {
                models: 2,
                slo_ms: vec![8.0, 20.0, 5.0],
                rates: vec![900.0, 400.0, 100.0],
                batch: 1,
                servers: vec![
                    Server {
                        model: 0,
                        gpcs: 1,
                        slots: 1,
                        max_batch: 4,
                        base_ms: 2.0,
                        per_sample_ms: 0.5,
                    },
                    Server {
                        model: 0,
                        gpcs: 3,
                        slots: 2,
                        max_batch: 8,
                        base_ms: 1.0,
                        per_sample_ms: 0.2,
                    },
                    Server {
                        model: 1,
                        gpcs: 2,
                        slots: 1,
                        max_batch: 8,
                        base_ms: 3.0,
                        per_sample_ms: 0.4,
                    },
                ],
                scheduler,
                dynamic,
                noise: true,
                drop_expired: true,
                drain: scheduler % 2 == 0,
                seed: 11,
                warmup_ns: if dynamic.is_some() { 50_000_000 } else { 0 },
            };
            let (v, events) = violations(&c);
            assert!(events > 1000, "scheduler {scheduler}: {events} events");
            assert!(
                v.is_empty(),
                "scheduler {scheduler}, {dynamic:?}: {:?}",
                &v[..v.len().min(5)]
            );
        }
    }
}
