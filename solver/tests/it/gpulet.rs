//! gpulet planners: plans keep at most two gpulets per GPU with sizes adding to at most 100,
//! no gpulet busier than its cycle, every model's rate served within its SLO rule, and the
//! exact program never needs more GPUs than a heuristic.

use std::sync::OnceLock;

use migsched_core::Catalog;
use migsched_perf::gpulet::GpuletParams;
use migsched_solver::gpulet::{GpuletOptions, GpuletProblem, planned_occupancy};
use migsched_solver::{GpuletMethod, Status, solve_gpulet};
use proptest::prelude::*;

fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

/// Four zoo models on up to 64 A100s; rates are set per case.
fn base() -> &'static GpuletProblem {
    static P: OnceLock<GpuletProblem> = OnceLock::new();
    P.get_or_init(|| {
        let inst = super::instance(
            r#"
name = "gpulet-mix"
[[gpus]]
type = "a100-80gb"
count = 64
[[models]]
name = "resnet50"
slo_ms = 20
rate_rps = 100
[[models]]
name = "bert-base"
slo_ms = 100
rate_rps = 100
[[models]]
name = "mobilenetv2"
slo_ms = 10
rate_rps = 100
[[models]]
name = "inceptionv3"
slo_ms = 40
rate_rps = 100
"#,
        );
        GpuletProblem::new(Catalog::builtin(), &inst, &GpuletParams::default(), None).unwrap()
    })
}

fn with_rates(rates: &[f64]) -> GpuletProblem {
    let mut p = base().clone();
    for (m, &r) in p.models.iter_mut().zip(rates) {
        m.rate_rps = r;
    }
    p
}

fn check_plan(p: &GpuletProblem, method: GpuletMethod) -> u32 {
    let s = solve_gpulet(p, method, &GpuletOptions::default(), 60.0);
    assert!(
        matches!(s.status, Status::Feasible | Status::Optimal),
        "{method}: {:?}",
        s.reason
    );
    let plan = s.plan.unwrap();
    for g in plan.mps_gpus() {
        assert!(g.gpulets.len() <= 2, "{method}: GPU {}", g.index);
    }
    for (gpu, l) in plan.mps_gpus().flat_map(|g| {
        g.gpulets
            .iter()
            .enumerate()
            .map(move |(i, l)| ((g.index, i), l))
    }) {
        let occ = planned_occupancy(l);
        assert!(
            occ <= 1.0 + 1e-9,
            "{method}: gpulet {gpu:?} occupancy {occ}"
        );
        if method != GpuletMethod::GpuletIlp {
            // Duty-cycle rule: a request waits at most one cycle, then runs.
            for t in &l.tasks {
                let duty = 1000.0 * f64::from(t.batch) / t.throughput_rps;
                assert!(
                    (duty - l.duty_ms.unwrap()).abs() <= 1e-6 * duty,
                    "{method}: {t:?}"
                );
                let slo = p.models.iter().find(|m| m.name == t.model).unwrap().slo_ms;
                assert!(duty + t.latency_ms <= slo * (1.0 + 1e-9), "{method}: {t:?}");
            }
            let most = if method == GpuletMethod::Timeshare {
                usize::MAX
            } else {
                3
            };
            assert!(l.tasks.len() <= most);
        }
    }
    for m in &plan.models {
        assert!(m.served_rps >= m.rate_rps * (1.0 - 1e-9), "{method}: {m:?}");
    }
    if method == GpuletMethod::Timeshare {
        let whole = |g: &migsched_core::MpsGpu| g.gpulets.len() == 1 && g.gpulets[0].percent == 100;
        assert!(plan.is_gpulet_plan() && plan.mps_gpus().all(whole));
    }
    plan.gpus_used
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn plans_respect_gpulet_rules_and_ilp_is_never_worse(
        rates in proptest::collection::vec(1.0f64..3000.0, 4),
    ) {
        let p = with_rates(&rates);
        let ilp = check_plan(&p, GpuletMethod::GpuletIlp);
        for m in [GpuletMethod::Gpulet, GpuletMethod::GpuletUnaware, GpuletMethod::Timeshare] {
            let h = check_plan(&p, m);
            prop_assert!(ilp <= h, "{m}: {h} GPUs, ILP {ilp}");
        }
    }
}

#[test]
fn too_few_gpus_and_impossible_slos_are_infeasible() {
    let mut p = with_rates(&[1e6, 1.0, 1.0, 1.0]);
    p.available = 2;
    let s = solve_gpulet(&p, GpuletMethod::Gpulet, &GpuletOptions::default(), 10.0);
    assert_eq!(s.status, Status::Infeasible);
    assert!(s.reason.unwrap().contains("available"));
    let mut p = with_rates(&[10.0, 1.0, 1.0, 1.0]);
    p.models[1].slo_ms = 0.01;
    for m in [
        GpuletMethod::Gpulet,
        GpuletMethod::GpuletIlp,
        GpuletMethod::Timeshare,
    ] {
        let s = solve_gpulet(&p, m, &GpuletOptions::default(), 10.0);
        assert_eq!(s.status, Status::Infeasible, "{m}");
        assert!(s.reason.unwrap().contains("bert-base"), "{m}");
    }
}
