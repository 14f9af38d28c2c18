//! The pipeline `solve -> plan -> simulate -> trace/report -> verify` in the libraries, on
//! random instances: every gpulet method's plan passes the plan checker by gpulet's rules
//! (every MIG method's plan: `plans.rs`). Every simulator's report agrees with the metrics
//! the trace checker recomputes, every metric checked: request-level in `sim_traces.rs`,
//! node-level in `nodes.rs` (both with [`reported`]), gpulet end to end in the binary's
//! `tests/it/gpulet.rs`.

use migsched_core::{Catalog, GpuletMethod, Instance, ProfileTable};
use migsched_perf::gpulet::GpuletParams;
use migsched_solver::gpulet::{GpuletOptions, GpuletProblem};
use migsched_solver::solve_gpulet;
use migsched_verify::{Against, ReportedMetrics, check_plan};
use proptest::prelude::*;

fn mix(rates: &[f64]) -> Instance {
    let mut text = "name = \"mix\"\n[[gpus]]\ntype = \"a100-80gb\"\ncount = 32\n".to_string();
    for ((m, slo), r) in [
        ("inceptionv3", 40.0),
        ("bert-base", 100.0),
        ("mobilenetv2", 20.0),
    ]
    .iter()
    .zip(rates)
    {
        text.push_str(&format!(
            "[[models]]\nname = \"{m}\"\nslo_ms = {slo}\nrate_rps = {r}\n"
        ));
    }
    Instance::from_toml_str(Catalog::builtin(), &text, "mix.toml", "mix").unwrap()
}

/// The report's metrics as the names `verify trace --metrics` reads.
pub fn reported(m: &migsched_core::metrics::RunMetrics) -> ReportedMetrics {
    m.named_values().into_iter().collect()
}

proptest! {
    #![proptest_config(crate::config(6))]

    /// Every gpulet method's plan passes `check_plan` against its instance, and the gpulet
    /// simulator's report agrees with its trace on every metric.
    #[test]
    fn gpulet_plans_pass_the_checkers(rates in prop::collection::vec(20.0f64..1500.0, 3)) {
        let inst = mix(&rates);
        let problem =
            GpuletProblem::new(Catalog::builtin(), &inst, &GpuletParams::default(), None).unwrap();
        let table = ProfileTable::from_raw(Catalog::builtin(), Vec::new(), "none").unwrap();
        for method in GpuletMethod::ALL {
            let s = solve_gpulet(&problem, method, &GpuletOptions::default(), 30.0);
            let Some(plan) = s.plan else { continue };
            let r = check_plan(
                Catalog::builtin(),
                &plan,
                Against::Instance { instance: &inst, table: &table },
            );
            prop_assert!(r.is_clean(), "{method}: {:?}", r.violations);
        }
    }
}
