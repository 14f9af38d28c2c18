//! Integration tests of migsched-sim: queueing theory as the oracle, request conservation,
//! determinism, and the schedulers' decisions on small hand-built cases.

mod elsa;
mod laws;
mod lazy;
mod queueing;
mod state_machine;

use migsched_sim::{Arrival, LatencyCurve, ModelSpec, QueryBatch, ServerSpec, SimSetup};

/// One model with constant service time `service_ms` per query on `servers` instances of
/// (`gpcs`, `slots`) each, Poisson arrivals at `rate`.
pub fn setup(rate: f64, service_ms: f64, servers: &[(u8, u32)], slo_ms: f64) -> SimSetup {
    SimSetup {
        models: vec![ModelSpec {
            name: "m".into(),
            slo_ns: (slo_ms * 1e6) as u64,
            rate_rps: rate,
            arrival: Arrival::Poisson,
            batch: QueryBatch::One,
        }],
        servers: servers
            .iter()
            .enumerate()
            .map(|(i, &(gpcs, slots))| ServerSpec {
                gpu: i as u32,
                profile: format!("{gpcs}g"),
                start: 0,
                gpcs,
                model: 0,
                slots,
                max_batch: 1,
                latency: LatencyCurve::new(vec![(1, service_ms * 1e6)]).unwrap(),
            })
            .collect(),
        replay: None,
    }
}
