//! Laws of every run: request conservation at every end time, determinism, and clear errors.

use migsched_sim::schedulers::{Elsa, Fifs, LeastLoaded, RoundRobin};
use migsched_sim::{
    Arrival, NoObserver, Noise, QueryBatch, Scheduler, ServingMode, SimConfig, Stop, simulate,
};
use proptest::prelude::*;

use super::setup;

fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

fn scheduler(k: usize) -> Box<dyn Scheduler> {
    match k % 4 {
        0 => Box::new(Fifs),
        1 => Box::new(RoundRobin::default()),
        2 => Box::new(LeastLoaded),
        _ => Box::new(Elsa::default()),
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn requests_are_conserved_at_every_end_time(
        end_ms in 1u64..400,
        rate in 100.0..5000.0f64,
        sched in 0usize..4,
        dynamic in any::<bool>(),
        drop in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut s = setup(rate, 3.0, &[(1, 1), (3, 2), (7, 1)], 8.0);
        s.models[0].batch = QueryBatch::Empirical { points: vec![(1, 0.5), (2, 0.3), (4, 0.2)] };
        for srv in &mut s.servers {
            srv.max_batch = 8;
            srv.latency = migsched_sim::LatencyCurve::new(vec![(1, 2e6), (8, 6e6)]).unwrap();
        }
        s.models[0].arrival = Arrival::Gamma { cv: 2.0 };
        let config = SimConfig {
            stop: Stop::Duration { ns: end_ms * 1_000_000, drain: false },
            seed,
            mode: if dynamic { ServingMode::Dynamic { max_queue_delay_ns: 500_000 } } else { ServingMode::Prebatched },
            drop_expired: drop,
            noise: Noise::LogNormal { cv: 0.3 },
            ..SimConfig::default()
        };
        let r = simulate(&s, &config, scheduler(sched).as_mut(), &mut NoObserver).unwrap();
        prop_assert_eq!(r.arrived_total, r.completed_total + r.dropped_total + r.in_flight);
        prop_assert!(drop || r.dropped_total == 0);
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let s = setup(2000.0, 2.0, &[(1, 1), (2, 2), (4, 1)], 10.0);
    let run = |seed: u64, k: usize| {
        let config = SimConfig {
            stop: Stop::Requests { n: 50_000 },
            seed,
            noise: Noise::Exponential,
            ..SimConfig::default()
        };
        serde_json::to_string(
            &simulate(&s, &config, scheduler(k).as_mut(), &mut NoObserver).unwrap(),
        )
        .unwrap()
    };
    for k in 0..4 {
        assert_eq!(run(7, k), run(7, k), "scheduler {k}");
        assert_ne!(run(7, k), run(8, k), "scheduler {k}");
    }
}

#[test]
fn draining_serves_everything() {
    let s = setup(3000.0, 1.0, &[(7, 4)], 50.0);
    let config = SimConfig {
        stop: Stop::Duration {
            ns: 1_000_000_000,
            drain: true,
        },
        ..SimConfig::default()
    };
    let r = simulate(&s, &config, &mut Fifs, &mut NoObserver).unwrap();
    assert_eq!(r.in_flight, 0);
    assert_eq!(r.completed_total, r.arrived_total);
    assert!(r.arrived_total > 2_500);
}

#[test]
fn unusable_setups_are_errors() {
    let s = setup(100.0, 1.0, &[(7, 1)], 10.0);
    let bad = |c: SimConfig| {
        simulate(&s, &c, &mut Fifs, &mut NoObserver)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        bad(SimConfig {
            load: -1.0,
            ..SimConfig::default()
        }),
        "load -1 is not a positive number"
    );
    assert_eq!(
        bad(SimConfig {
            stop: Stop::Requests { n: 0 },
            ..SimConfig::default()
        }),
        "the request count is 0"
    );
    let mut none = s.clone();
    none.servers.clear();
    let e = simulate(&none, &SimConfig::default(), &mut Fifs, &mut NoObserver)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "model 'm' has requests but no instance serves it");
}

#[test]
fn preferred_batch_sizes_start_without_waiting() {
    use migsched_sim::{LatencyCurve, Observed, Observer, Replayed};
    struct Starts(Vec<(u64, u32)>);
    impl Observer for Starts {
        fn enabled(&self) -> bool {
            true
        }
        fn observe(&mut self, e: Observed<'_>) {
            if let Observed::Start { t, batch, .. } = e {
                self.0.push((t, batch));
            }
        }
    }
    let mut s = setup(1.0, 1.0, &[(7, 1)], 1000.0);
    s.servers[0].max_batch = 8;
    s.servers[0].latency = LatencyCurve::new(vec![(1, 1e6), (8, 4e6)]).unwrap();
    // Four requests 1 ms apart; 10 ms max queue delay.
    let trace: Vec<Replayed> = (0..4)
        .map(|k| Replayed {
            t_ns: k * 1_000_000,
            model: "m".into(),
            batch: 1,
        })
        .collect();
    let s = s.with_replay(&trace).unwrap();
    let run = |preferred: Vec<u32>| {
        let config = SimConfig {
            stop: Stop::Requests { n: 4 },
            mode: ServingMode::Dynamic {
                max_queue_delay_ns: 10_000_000,
            },
            preferred_batches: preferred,
            ..SimConfig::default()
        };
        let mut obs = Starts(Vec::new());
        simulate(&s, &config, &mut Fifs, &mut obs).unwrap();
        obs.0
    };
    // Without preferred sizes the batcher waits the 10 ms delay, then runs all four.
    assert_eq!(run(vec![]), [(10_000_000, 4)]);
    // With 2 preferred: a pair starts as soon as the second request arrives (1 ms); the third
    // waits in the central queue while the slot is busy, then for the fourth (3 ms).
    assert_eq!(run(vec![2]), [(1_000_000, 2), (3_000_000, 2)]);
}
