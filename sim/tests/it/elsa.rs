//! ELSA's decisions on small hand-built cases: the smallest partition that still meets the
//! deadline, and the fastest completion when none does.

use migsched_core::TraceChoice;
use migsched_sim::schedulers::Elsa;
use migsched_sim::{
    LatencyCurve, NoObserver, Observed, Observer, ServingMode, SimConfig, Stop, simulate,
};

use super::setup;

/// Records each dispatch's chosen instance.
#[derive(Default)]
struct Choices(Vec<(u64, u32, Vec<TraceChoice>)>);

impl Observer for Choices {
    fn enabled(&self) -> bool {
        true
    }
    fn observe(&mut self, e: Observed<'_>) {
        if let Observed::Dispatch {
            req,
            instance,
            choices,
            ..
        } = e
        {
            self.0.push((req, instance, choices.to_vec()));
        }
    }
}

/// Two instances: a 1g one with 8 ms service and a 7g one with 2 ms service; three requests
/// at once (from a replay), SLO `slo_ms`.
fn run(slo_ms: f64) -> Vec<u32> {
    let mut s = setup(1.0, 1.0, &[(1, 1), (7, 1)], slo_ms);
    s.servers[0].latency = LatencyCurve::new(vec![(1, 8e6)]).unwrap();
    s.servers[1].latency = LatencyCurve::new(vec![(1, 2e6)]).unwrap();
    let s = s
        .with_replay(&[0, 1, 2].map(|_| migsched_sim::Replayed {
            t_ns: 1_000_000,
            model: "m".into(),
            batch: 1,
        }))
        .unwrap();
    let config = SimConfig {
        stop: Stop::Requests { n: 3 },
        mode: ServingMode::Prebatched,
        ..SimConfig::default()
    };
    let mut obs = Choices::default();
    simulate(&s, &config, &mut Elsa::default(), &mut obs).unwrap();
    obs.0.iter().map(|c| c.1).collect()
}

#[test]
fn smallest_partition_that_meets_the_deadline() {
    // SLO 20 ms: request 0 fits on the 1g (0 + 8 < 20); request 1 would wait 8 ms there
    // (8 + 8 = 16 < 20): still the 1g; request 2 would finish at 24 > 20 on the 1g, so the 7g.
    assert_eq!(run(20.0), [0, 0, 1]);
}

#[test]
fn fastest_completion_when_none_meets_it() {
    // SLO 1 ms: nothing meets it; each request goes where it finishes first: the 7g (2 ms),
    // then the 7g again (2 + 2 = 4 < 0 + 8), then the 7g (6 < 8).
    assert_eq!(run(1.0), [1, 1, 1]);
    // SLO 9 ms: request 0 on the 1g (8 < 9); request 1: 1g would end at 16 > 9, 7g at 2: 7g;
    // request 2: 1g 16, 7g 4 < 9: the 7g is the smallest that meets it.
    assert_eq!(run(9.0), [0, 1, 1]);
}

#[test]
fn choices_are_visited_smallest_first() {
    let mut s = setup(1.0, 1.0, &[(7, 1), (1, 1), (3, 1)], 100.0);
    s = s
        .with_replay(&[migsched_sim::Replayed {
            t_ns: 0,
            model: "m".into(),
            batch: 1,
        }])
        .unwrap();
    let config = SimConfig {
        stop: Stop::Requests { n: 1 },
        mode: ServingMode::Prebatched,
        ..SimConfig::default()
    };
    let mut obs = Choices::default();
    simulate(&s, &config, &mut Elsa::default(), &mut obs).unwrap();
    let visited: Vec<u32> = obs.0[0].2.iter().map(|c| c.instance).collect();
    assert_eq!(
        visited,
        [1],
        "ELSA stops at the first (smallest) partition that qualifies"
    );
    assert_eq!(obs.0[0].1, 1);
    let _ = NoObserver;
}
