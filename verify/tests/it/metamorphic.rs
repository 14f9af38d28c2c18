//! Metamorphic laws of the solver (its exact ILP, min-gpus): relations between the answers
//! to related instances that must hold whatever the answers are.
//!
//! - Scaling every rate down never needs more GPUs, under rules that do not depend on the
//!   rate (`double`, `fraction`). Under `batch-wait` (`L + b/r ≤ SLO`) it can: at a lower
//!   rate a batch takes longer to collect, so options drop out; that law is not claimed.
//! - Adding available GPUs never makes a feasible instance infeasible, nor needs more GPUs.
//! - Renaming or reordering models leaves the optimum unchanged.

use migsched_core::{Catalog, Instance, ProfileTable};
use migsched_solver::{MigMethod, Objective, Problem, SolveOptions, Status, solve};
use proptest::prelude::*;

use super::{config, instance, synthetic_table};

/// (rule, GPUs, models as (base latency, SLO, rate)).
type Case = (usize, u32, Vec<(f64, f64, f64)>);

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..2,
        1u32..=6,
        prop::collection::vec((1.0f64..6.0, 15.0f64..120.0, 100.0f64..6000.0), 1..=4),
    )
}

fn text(rule: usize, gpus: u32, models: &[(usize, f64, f64, f64)], procs: u32) -> String {
    let rule = ["\"double\"", "{ fraction = 0.5 }", "\"batch-wait\""][rule];
    let mut s = format!(
        "name = \"law\"\n[serving]\nslo_rule = {rule}\nmax_procs = {procs}\n[[gpus]]\ntype = \"a100-80gb\"\ncount = {gpus}\n"
    );
    for &(name, _, slo, rate) in models {
        s += &format!("[[models]]\nname = \"m{name}\"\nslo_ms = {slo}\nrate_rps = {rate}\n");
    }
    s
}

fn table(models: &[(usize, f64, f64, f64)]) -> ProfileTable {
    let names: Vec<(String, f64)> = models
        .iter()
        .map(|&(n, b, ..)| (format!("m{n}"), b))
        .collect();
    let refs: Vec<(&str, f64)> = names.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    synthetic_table("a100-80gb", &refs, false)
}

/// The ILP's answer: `Some(GPUs)` when optimal, `None` when infeasible.
fn optimum(inst: &Instance, table: &ProfileTable) -> Option<u32> {
    let problem = Problem::new(Catalog::builtin(), inst, table).unwrap();
    let s = solve(
        &problem,
        MigMethod::Ilp,
        Objective::MinGpus,
        &SolveOptions::default(),
    );
    match s.status {
        Status::Optimal => Some(s.gpus_used.unwrap()),
        Status::Infeasible => None,
        other => panic!("{}: the ILP ended {other:?} on a tiny instance", inst.name),
    }
}

fn named(models: &[(f64, f64, f64)]) -> Vec<(usize, f64, f64, f64)> {
    models
        .iter()
        .enumerate()
        .map(|(i, &(b, s, r))| (i, b, s, r))
        .collect()
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn lower_rates_never_need_more_gpus((rule, gpus, models) in case(), scale in 0.05f64..1.0) {
        let m = named(&models);
        let t = table(&m);
        let before = optimum(&instance(&text(rule, gpus, &m, 2)), &t);
        let scaled: Vec<(usize, f64, f64, f64)> =
            m.iter().map(|&(n, b, s, r)| (n, b, s, r * scale)).collect();
        let after = optimum(&instance(&text(rule, gpus, &scaled, 2)), &t);
        if let Some(b) = before {
            let a = after.expect("a lower rate stays feasible");
            prop_assert!(a <= b, "{b} GPUs at full rate, {a} at {scale}");
        }
    }

    #[test]
    fn more_gpus_never_hurt((rule, gpus, models) in case(), extra in 1u32..4) {
        let m = named(&models);
        let t = table(&m);
        let before = optimum(&instance(&text(rule, gpus, &m, 1)), &t);
        let after = optimum(&instance(&text(rule, gpus + extra, &m, 1)), &t);
        if let Some(b) = before {
            prop_assert_eq!(after, Some(b), "feasible with {} GPUs, answer changed with {}", gpus, gpus + extra);
        }
    }

    #[test]
    fn renaming_and_reordering_models_keeps_the_optimum(
        (rule, gpus, models) in case(),
        shift in 0usize..4,
    ) {
        let m = named(&models);
        let before = optimum(&instance(&text(rule, gpus, &m, 2)), &table(&m));
        // New names (m7, m8, ...) in a rotated order.
        let mut renamed: Vec<(usize, f64, f64, f64)> =
            m.iter().map(|&(n, b, s, r)| (n + 7, b, s, r)).collect();
        let k = shift % renamed.len();
        renamed.rotate_left(k);
        let after = optimum(&instance(&text(rule, gpus, &renamed, 2)), &table(&renamed));
        prop_assert_eq!(before, after);
    }
}

/// Why batch-wait stays out of the first law: a lower rate makes large batches take too
/// long to collect, so the options shrink and a plan may need other (larger) instances.
#[test]
fn batch_wait_options_shrink_at_lower_rates() {
    let full = [(0, 2.0, 100.0, 4000.0)];
    let low = [(0, 2.0, 100.0, 40.0)];
    let t = table(&full);
    let options = |m: &[(usize, f64, f64, f64)]| {
        Problem::new(Catalog::builtin(), &instance(&text(2, 4, m, 1)), &t)
            .unwrap()
            .options
            .len()
    };
    let (at_full, at_low) = (options(&full), options(&low));
    assert!(
        at_low < at_full,
        "{at_low} options at 40/s, {at_full} at 4000/s"
    );
    // At 40 requests/s a batch of 4 takes 100 ms to collect: none of batch 4 or more remain.
    let problem = Problem::new(Catalog::builtin(), &instance(&text(2, 4, &low, 1)), &t).unwrap();
    assert!(
        problem.options.iter().all(|o| o.batch <= 2),
        "{:?}",
        problem.options
    );
}
