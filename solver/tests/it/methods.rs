//! Every method on small and medium instances: plans pass the independent check, the ILP is
//! never worse, and the statuses say what happened.

use migsched_solver::{MigMethod, Objective, SolveOptions, Status, solve};

use super::check::check_plan;
use super::{instance, problem, table};

const MODELS: [(&str, f64); 3] = [("alpha", 2.0), ("beta", 5.0), ("gamma", 11.0)];

fn mixed(count: u32, rates: [f64; 3]) -> String {
    format!(
        "name = \"mixed\"\n[serving]\nmax_procs = 3\n[[gpus]]\ntype = \"a100-80gb\"\ncount = {count}\n\
         [[models]]\nname = \"alpha\"\nslo_ms = 40\nrate_rps = {}\n\
         [[models]]\nname = \"beta\"\nslo_ms = 60\nrate_rps = {}\n\
         [[models]]\nname = \"gamma\"\nslo_ms = 200\nrate_rps = {}\n",
        rates[0], rates[1], rates[2]
    )
}

#[test]
fn every_method_passes_the_check_and_the_ilp_is_never_worse() {
    let t = table("a100-80gb", &MODELS);
    for rates in [
        [3000.0, 800.0, 150.0],
        [500.0, 2500.0, 900.0],
        [12000.0, 100.0, 40.0],
    ] {
        let inst = instance(&mixed(64, rates));
        let p = problem(&inst, &t);
        let ilp = solve(
            &p,
            MigMethod::Ilp,
            Objective::MinGpus,
            &SolveOptions::default(),
        );
        assert_eq!(ilp.status, Status::Optimal, "{rates:?}: {:?}", ilp.reason);
        let best = ilp.objective_value.unwrap();
        assert_eq!(ilp.bound, Some(best));
        assert_eq!(ilp.gap, Some(0.0));
        for method in [MigMethod::Ilp, MigMethod::Homogeneous, MigMethod::Greedy] {
            let s = solve(&p, method, Objective::MinGpus, &SolveOptions::default());
            let plan = s
                .plan
                .as_ref()
                .unwrap_or_else(|| panic!("{method}: {:?}", s.reason));
            assert_eq!(
                check_plan(plan, &inst, &t, 1.0),
                Vec::<String>::new(),
                "{method} {rates:?}"
            );
            assert!(
                s.objective_value.unwrap() >= best - 1e-9,
                "{method} beats the ILP: {:?} < {best}",
                s.objective_value
            );
            assert_eq!(s.gpus_used, Some(plan.gpus_used));
        }
    }
}

#[test]
fn heterogeneous_min_cost() {
    let t = {
        let a = table("a100-80gb", &MODELS);
        let h = table("h100-80gb", &MODELS);
        migsched_core::ProfileTable::merged(&[&a, &h])
    };
    let text = mixed(6, [4000.0, 1500.0, 600.0]).replacen(
        "count = 6\n",
        "count = 6\ncost = 1.0\n[[gpus]]\ntype = \"h100-80gb\"\ncount = 4\ncost = 1.7\n",
        1,
    );
    let inst = instance(&text);
    assert_eq!(inst.gpus.len(), 2);
    let p = problem(&inst, &t);
    let ilp = solve(
        &p,
        MigMethod::Ilp,
        Objective::MinCost,
        &SolveOptions::default(),
    );
    let plan = ilp
        .plan
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", ilp.reason));
    assert_eq!(check_plan(plan, &inst, &t, 1.0), Vec::<String>::new());
    for method in [MigMethod::Homogeneous, MigMethod::Greedy] {
        let s = solve(&p, method, Objective::MinCost, &SolveOptions::default());
        if let Some(plan) = &s.plan {
            assert_eq!(
                check_plan(plan, &inst, &t, 1.0),
                Vec::<String>::new(),
                "{method}"
            );
            assert!(
                s.objective_value.unwrap() >= ilp.objective_value.unwrap() - 1e-9,
                "{method}"
            );
        }
    }
}

#[test]
fn max_load_ilp_is_at_least_the_heuristics() {
    let t = table("a100-80gb", &MODELS);
    let inst = instance(&mixed(4, [3000.0, 800.0, 150.0]));
    let p = problem(&inst, &t);
    let ilp = solve(
        &p,
        MigMethod::Ilp,
        Objective::MaxLoad,
        &SolveOptions::default(),
    );
    assert_eq!(ilp.status, Status::Optimal, "{:?}", ilp.reason);
    let lambda = ilp.objective_value.unwrap();
    assert!(lambda > 0.0);
    assert_eq!(
        check_plan(ilp.plan.as_ref().unwrap(), &inst, &t, lambda),
        Vec::<String>::new()
    );
    for method in [MigMethod::Homogeneous, MigMethod::Greedy] {
        let s = solve(&p, method, Objective::MaxLoad, &SolveOptions::default());
        let l = s.objective_value.unwrap_or(0.0);
        assert!(l <= lambda + 1e-9, "{method}: {l} > {lambda}");
        if let Some(plan) = &s.plan {
            assert_eq!(
                check_plan(plan, &inst, &t, l),
                Vec::<String>::new(),
                "{method}"
            );
        }
    }
}

#[test]
fn infeasible_instances_say_why() {
    let t = table("a100-80gb", &MODELS);
    let strict = instance(&mixed(8, [100.0, 100.0, 100.0]).replace("slo_ms = 40", "slo_ms = 1"));
    let p = problem(&strict, &t);
    for method in [
        MigMethod::Ilp,
        MigMethod::Homogeneous,
        MigMethod::Greedy,
        MigMethod::Brute,
    ] {
        let s = solve(&p, method, Objective::MinGpus, &SolveOptions::default());
        assert_eq!(s.status, Status::Infeasible, "{method}");
        let reason = s.reason.unwrap();
        if method != MigMethod::Brute {
            assert!(
                reason.contains("alpha: no profile meets SLO 1 ms (2·L ≤ SLO) at any batch"),
                "{method}: {reason}"
            );
        }
    }
    let crowded = instance(&mixed(2, [30000.0, 9000.0, 3000.0]));
    let s = solve(
        &problem(&crowded, &t),
        MigMethod::Ilp,
        Objective::MinGpus,
        &SolveOptions::default(),
    );
    assert_eq!(s.status, Status::Infeasible);
    let reason = s.reason.unwrap();
    assert!(
        reason.starts_with("the 2 available GPUs serve at most"),
        "{reason}"
    );
    assert!(
        reason.contains("of the demand (LP bound on max-load λ: 0."),
        "{reason}"
    );
}

#[test]
fn a_time_limit_is_never_reported_optimal() {
    let names: Vec<String> = (0..24).map(|i| format!("m{i}")).collect();
    let models: Vec<(&str, f64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), 1.0 + (i % 7) as f64))
        .collect();
    let t = table("a100-80gb", &models);
    let mut text =
        String::from("[serving]\nmax_procs = 3\n[[gpus]]\ntype = \"a100-80gb\"\ncount = 4096\n");
    for (i, n) in names.iter().enumerate() {
        text.push_str(&format!(
            "[[models]]\nname = \"{n}\"\nslo_ms = 300\nrate_rps = {}\n",
            997.0 + 131.0 * i as f64
        ));
    }
    let p = problem(&instance(&text), &t);
    let opts = SolveOptions {
        time_limit_s: 1e-6,
        ..SolveOptions::default()
    };
    let s = solve(&p, MigMethod::Ilp, Objective::MinGpus, &opts);
    assert_ne!(s.status, Status::Optimal, "stopped by {:?}", s.stopped_by);
    assert!(
        matches!(s.status, Status::Feasible | Status::Timeout),
        "{:?}",
        s.status
    );
    assert!(
        s.stopped_by
            .as_deref()
            .unwrap_or("")
            .starts_with("time limit"),
        "{:?}",
        s.stopped_by
    );
}

#[test]
fn results_are_deterministic() {
    let t = table("a100-80gb", &MODELS);
    let inst = instance(&mixed(16, [3000.0, 800.0, 150.0]));
    let p = problem(&inst, &t);
    for method in [MigMethod::Ilp, MigMethod::Homogeneous, MigMethod::Greedy] {
        let a = solve(&p, method, Objective::MinGpus, &SolveOptions::default());
        let b = solve(&p, method, Objective::MinGpus, &SolveOptions::default());
        assert_eq!(
            serde_json::to_string(&a.plan).unwrap(),
            serde_json::to_string(&b.plan).unwrap(),
            "{method}"
        );
    }
}

#[test]
fn paris_setting() {
    let t = table("a100-80gb", &MODELS);
    let text = mixed(32, [400.0, 200.0, 50.0])
        .replace(
            "rate_rps = 400\n",
            "rate_rps = 400\nbatch_distribution = { 1 = 0.5, 4 = 0.3, 16 = 0.2 }\n",
        )
        .replace(
            "rate_rps = 200\n",
            "rate_rps = 200\nbatch_distribution = { 2 = 0.6, 32 = 0.4 }\n",
        );
    let inst = instance(&text);
    let p = problem(&inst, &t);
    let ilp = solve(
        &p,
        MigMethod::Ilp,
        Objective::Paris,
        &SolveOptions::default(),
    );
    assert_eq!(ilp.status, Status::Optimal, "{:?}", ilp.reason);
    let heur = solve(
        &p,
        MigMethod::Paris,
        Objective::Paris,
        &SolveOptions::default(),
    );
    assert!(heur.plan.is_some(), "{:?}", heur.reason);
    assert!(heur.objective_value.unwrap() >= ilp.objective_value.unwrap());
    for s in [&ilp, &heur] {
        let plan = s.plan.as_ref().unwrap();
        assert!(plan.is_gpulet_plan() || plan.mig_gpus().count() == plan.gpus.len());
        let resolved = plan.resolve_mig(migsched_core::Catalog::builtin(), inst.serving.driver);
        assert!(resolved.is_ok(), "{resolved:?}");
        for (svc, m) in plan.models.iter().zip(&inst.models) {
            assert!(
                svc.served_rps >= m.rate_rps * (1.0 - 1e-6),
                "{}: {} < {}",
                m.name,
                svc.served_rps,
                m.rate_rps
            );
        }
    }
    assert!(!migsched_solver::applicable(
        MigMethod::Paris,
        Objective::MinGpus
    ));
}

#[test]
fn dominated_profiles_and_layouts_are_left_out() {
    let t = table("a100-80gb", &MODELS);
    let p = problem(&instance(&mixed(8, [3000.0, 800.0, 150.0])), &t);
    let pool = &p.pools[0];
    let names: Vec<&str> = pool
        .profiles
        .iter()
        .map(|&i| pool.gpu.profile(i).name())
        .collect();
    // 1g.10gb+me has 1g.10gb's figures but one per GPU: never better.
    assert!(!names.contains(&"1g.10gb+me"), "{names:?}");
    assert!(names.contains(&"1g.10gb"));
    for (i, a) in pool.layouts.iter().enumerate() {
        for (j, b) in pool.layouts.iter().enumerate() {
            assert!(
                i == j || !a.counts().is_subset_of(&b.counts()),
                "{a} is covered by {b}"
            );
        }
    }
    let full = p.unreduced();
    assert!(full.pools[0].layouts.len() > pool.layouts.len());
    let reduced = solve(
        &p,
        MigMethod::Ilp,
        Objective::MinGpus,
        &SolveOptions::default(),
    );
    let unreduced = solve(
        &full,
        MigMethod::Ilp,
        Objective::MinGpus,
        &SolveOptions::default(),
    );
    assert_eq!(reduced.objective_value, unreduced.objective_value);
}

#[test]
fn a_seed_or_thread_count_highs_cannot_take_is_an_error_not_a_panic() {
    // `solve --seed 2147483648` panicked inside `highs` (its seed is a C int).
    let t = table("a100-80gb", &MODELS);
    let inst = instance(&mixed(8, [300.0, 100.0, 20.0]));
    let p = problem(&inst, &t);
    for (options, what) in [
        (
            SolveOptions {
                seed: 2_147_483_648,
                ..SolveOptions::default()
            },
            "seed = 2147483648",
        ),
        (
            SolveOptions {
                threads: 1_000_000,
                ..SolveOptions::default()
            },
            "1 to 1024",
        ),
    ] {
        let e = migsched_solver::try_solve(&p, MigMethod::Ilp, Objective::MinGpus, &options)
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{e}");
        let s = solve(&p, MigMethod::Ilp, Objective::MinGpus, &options);
        assert!(s.plan.is_none());
        assert!(
            s.stopped_by.as_deref().is_some_and(|m| m.contains(what)),
            "{:?}",
            s.stopped_by
        );
    }
    let top = SolveOptions {
        seed: migsched_solver::MAX_SEED,
        ..SolveOptions::default()
    };
    let s = migsched_solver::try_solve(&p, MigMethod::Ilp, Objective::MinGpus, &top).unwrap();
    assert_eq!(s.status, Status::Optimal);
}

#[test]
fn a_rate_no_gpus_can_serve_is_infeasible_before_any_instance_is_made() {
    // `solve --method greedy|paris` with `rate_rps = 1e12` made billions of instances.
    let t = table("a100-80gb", &MODELS);
    let inst = instance(&mixed(8, [1e12, 100.0, 20.0]));
    let p = problem(&inst, &t);
    for (method, objective) in [
        (MigMethod::Greedy, Objective::MinGpus),
        (MigMethod::Paris, Objective::Paris),
    ] {
        let s = solve(&p, method, objective, &SolveOptions::default());
        assert_eq!(s.status, Status::Infeasible, "{method}");
        let reason = s.reason.unwrap_or_default();
        assert!(
            reason.contains("alpha needs") && reason.contains("more than the 64"),
            "{method}: {reason}"
        );
    }
    // Max-load scales the rates down instead: a tiny load fits.
    let s = solve(
        &p,
        MigMethod::Greedy,
        Objective::MaxLoad,
        &SolveOptions::default(),
    );
    assert!(
        s.objective_value.is_some_and(|l| l > 0.0 && l < 1e-6),
        "{:?}",
        s.objective_value
    );
}
