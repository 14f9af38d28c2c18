use migsched_core::analytic::AnalyticParams;
use migsched_core::catalog::Catalog;
use migsched_core::zoo::{ZooOptions, build};
use migsched_sim::lazy::{Arrivals, NodeProfile, NodeSimConfig, Policy, simulate_nodes};
use migsched_sim::{NoObserver, Stop};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = args.get(1).map(|s| s.as_str()).unwrap_or("resnet50");
    let slo_ms: f64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(50.0);
    let catalog = Catalog::builtin();
    let gpu = catalog.gpu("a100-80gb").unwrap();
    let profile = gpu.profile(gpu.profile_by_name("7g.80gb").unwrap());
    let graph = build(model, &ZooOptions::default()).unwrap();
    let p = NodeProfile::from_graph(&graph, gpu, profile, 32, &AnalyticParams::default()).unwrap();
    println!("{model}: {} kernels; whole(1) {:.3} ms, whole(8) {:.3}, whole(32) {:.3}", p.node_count(), p.whole_ns(1) as f64/1e6, p.whole_ns(8) as f64/1e6, p.whole_ns(32) as f64/1e6);
    let cap = 32.0 / (p.whole_ns(32) as f64 / 1e9);
    let serial_cap = 1e9 / p.whole_ns(1) as f64;
    println!("capacity at 32: {cap:.0} rps; serial {serial_cap:.0} rps");
    for frac in [0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 0.9] {
        let rate = frac * cap;
        for policy in [Policy::Serial, Policy::Graph { window_ns: 10e6, max_batch: 32 }, Policy::Lazy { max_batch: 32 }] {
            let config = NodeSimConfig { policy, slo_ns: (slo_ms * 1e6) as u64, arrivals: Arrivals::poisson(rate), stop: Stop::Duration { ns: 5_000_000_000, drain: true }, seed: 1 };
            let r = simulate_nodes(&p, &config, &mut NoObserver).unwrap();
            println!("{frac:.2} {rate:7.0} {:7} mean {:8.3} p99 {:8.3} thr {:7.0} slo {:.3} batch {:.2} catchups {}", r.policy, r.latency_ms.mean, r.latency_ms.p99, r.throughput_rps, r.slo_attainment, r.mean_batch, r.catch_up_kernels);
        }
    }
}
