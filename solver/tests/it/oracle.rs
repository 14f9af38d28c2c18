//! The ILP equals brute force on many small random instances.

use migsched_solver::{MigMethod, Objective, SolveOptions, Status, solve};
use proptest::prelude::*;

use super::{instance, problem, table};

/// Case count: `PROPTEST_CASES` when set, else a bound that keeps the suite fast.
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

const GPUS: [&str; 3] = ["a100-80gb", "h100-80gb", "a30-24gb"];

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn ilp_equals_brute_force(
        gpu in 0..GPUS.len(),
        count in 1..=3u32,
        models in prop::collection::vec((1.0..12.0f64, 20.0..400.0f64, 50.0..4000.0f64), 1..=2),
        max_procs in 1..=2u32,
        objective in prop_oneof![Just(Objective::MinGpus), Just(Objective::MaxLoad)],
    ) {
        let names: Vec<String> = (0..models.len()).map(|i| format!("m{i}")).collect();
        let bases: Vec<(&str, f64)> = names.iter().zip(&models).map(|(n, m)| (n.as_str(), m.0)).collect();
        let t = table(GPUS[gpu], &bases);
        let mut text = format!("[serving]\nmax_procs = {max_procs}\n[[gpus]]\ntype = \"{}\"\ncount = {count}\n", GPUS[gpu]);
        for (n, m) in names.iter().zip(&models) {
            text.push_str(&format!("[[models]]\nname = \"{n}\"\nslo_ms = {}\nrate_rps = {}\n", m.1, m.2));
        }
        let inst = instance(&text);
        let p = problem(&inst, &t);
        let ilp = solve(&p, MigMethod::Ilp, objective, &SolveOptions::default());
        let brute = solve(&p, MigMethod::Brute, objective, &SolveOptions::default());
        prop_assert_eq!(ilp.status == Status::Infeasible, brute.status == Status::Infeasible,
            "ilp {:?} ({:?}) vs brute {:?} ({:?})", ilp.status, ilp.reason, brute.status, brute.reason);
        // The dominance reductions lose nothing.
        let full = solve(&p.unreduced(), MigMethod::Ilp, objective, &SolveOptions::default());
        prop_assert_eq!(full.status, ilp.status);
        if let (Some(a), Some(b)) = (full.objective_value, ilp.objective_value) {
            prop_assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "reduced {b} vs unreduced {a}");
        }
        if brute.status == Status::Optimal {
            prop_assert_eq!(ilp.status, Status::Optimal);
            let (a, b) = (ilp.objective_value.unwrap(), brute.objective_value.unwrap());
            prop_assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{objective}: ilp {a} vs brute {b}");
        }
    }
}
