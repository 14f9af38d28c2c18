//! migsched-solver: planners for serving models on MIG GPUs. Pure functions of (problem,
//! options): the HiGHS integer programs (through good_lp), the PARIS, homogeneous and greedy
//! heuristics, and a brute-force oracle for tiny instances, all returning the same
//! [`Solution`] with an explicit status and a plan.

mod brute;
pub mod gpulet;
mod heuristics;
mod ilp;
mod options;
mod pack;
mod problem;
mod solution;

pub use heuristics::size_classes;
pub use migsched_core::{GpuletMethod, Method, MigMethod, Objective};
pub use options::{MAX_SEED, MAX_THREADS, OptionsError, SolveOptions};
pub use problem::{ClassOption, Pool, Problem, ProblemError, ServingOption, interpolate_latency};
pub use solution::{Solution, Status, objective_value, served_load};

/// Most GPUs brute force accepts (all pools together).
pub const BRUTE_MAX_GPUS: u32 = brute::MAX_GPUS;
/// Most models brute force accepts.
pub const BRUTE_MAX_MODELS: usize = brute::MAX_MODELS;

/// Whether a method answers an objective (PARIS needs the routing setting; brute force does
/// not handle it; the other heuristics answer every non-PARIS objective).
pub fn applicable(method: MigMethod, objective: Objective) -> bool {
    match method {
        MigMethod::Ilp => true,
        MigMethod::Paris => objective == Objective::Paris,
        MigMethod::Homogeneous | MigMethod::Greedy => matches!(
            objective,
            Objective::MinGpus | Objective::MinCost | Objective::MaxLoad
        ),
        MigMethod::Brute => objective != Objective::Paris,
    }
}

/// Solves `problem` for `objective` with `method`. The solution's `solve_seconds` is the
/// wall-clock time taken, the only part of the result that varies between runs.
pub fn solve(
    problem: &Problem,
    method: MigMethod,
    objective: Objective,
    options: &SolveOptions,
) -> Solution {
    let start = std::time::Instant::now();
    let driver = problem.driver;
    let mut s = if !applicable(method, objective) {
        Solution::infeasible(
            method,
            objective,
            format!("method {method} does not answer objective {objective}"),
        )
    } else {
        match (method, objective) {
            (MigMethod::Ilp, _) => ilp::solve(problem, objective, options),
            (MigMethod::Brute, _) => brute::solve(problem, objective),
            (MigMethod::Homogeneous | MigMethod::Greedy, Objective::MaxLoad) => {
                max_load_by_bisection(problem, method, options)
            }
            (MigMethod::Homogeneous, _) => {
                heuristics::homogeneous(problem, objective, options, driver)
            }
            (MigMethod::Greedy, _) => heuristics::greedy(problem, objective, driver),
            (MigMethod::Paris, _) => heuristics::paris(problem, objective, options, driver),
        }
    };
    s.solve_seconds = start.elapsed().as_secs_f64();
    s
}

/// [`solve`] for options from input: rejects options outside their domain
/// ([`SolveOptions::validate`]: a seed above [`MAX_SEED`], threads outside 1 to
/// [`MAX_THREADS`], ...) with an error naming the option, value and bound, before any work.
pub fn try_solve(
    problem: &Problem,
    method: MigMethod,
    objective: Objective,
    options: &SolveOptions,
) -> Result<Solution, OptionsError> {
    options.validate()?;
    Ok(solve(problem, method, objective, options))
}

/// Max-load for a min-GPU heuristic: the largest λ (by bisection, to 1e-4) at which the
/// heuristic's plan for λ·rates fits the available GPUs.
fn max_load_by_bisection(problem: &Problem, method: MigMethod, options: &SolveOptions) -> Solution {
    let at = |lambda: f64| {
        let mut scaled = problem.clone();
        for m in &mut scaled.models {
            m.rate_rps *= lambda;
        }
        match method {
            MigMethod::Homogeneous => {
                heuristics::homogeneous(&scaled, Objective::MinGpus, options, problem.driver)
            }
            _ => heuristics::greedy(&scaled, Objective::MinGpus, problem.driver),
        }
    };
    let fits = |s: &Solution| s.plan.is_some();
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut best: Option<(f64, Solution)> = None;
    loop {
        let s = at(hi);
        if !fits(&s) {
            break;
        }
        best = Some((hi, s));
        lo = hi;
        hi *= 2.0;
        if hi > 1e9 {
            return Solution::infeasible(
                method,
                Objective::MaxLoad,
                "the load is unbounded: no model needs any GPU".into(),
            );
        }
    }
    for _ in 0..40 {
        if (hi - lo) <= 1e-4 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        let s = at(mid);
        if fits(&s) {
            best = Some((mid, s));
            lo = mid;
        } else {
            hi = mid;
        }
    }
    match best {
        None => Solution::infeasible(
            method,
            Objective::MaxLoad,
            "the heuristic finds no plan within the available GPUs at any load".into(),
        ),
        Some((lambda, s)) => {
            let mut plan = s.plan.expect("a fitting solution has a plan");
            plan.objective = Some(Objective::MaxLoad);
            for (svc, m) in plan.models.iter_mut().zip(&problem.models) {
                svc.rate_rps = m.rate_rps;
            }
            Solution::heuristic(problem, method, Objective::MaxLoad, plan, Some(lambda))
        }
    }
}

/// Plans a gpulet problem (min GPUs) with a gpulet method: the elastic heuristic with or
/// without the interference check, the time-sharing baseline, or the exact program. A plan
/// needing more GPUs than available is infeasible.
pub fn solve_gpulet(
    problem: &gpulet::GpuletProblem,
    method: GpuletMethod,
    options: &gpulet::GpuletOptions,
    time_limit_s: f64,
) -> Solution {
    use gpulet::elastic::{Variant, plan};
    let start = std::time::Instant::now();
    let objective = Objective::MinGpus;
    let result = match method {
        GpuletMethod::Gpulet => plan(problem, options, Variant::Gpulet).map(|g| (g, false)),
        GpuletMethod::GpuletUnaware => {
            let o = gpulet::GpuletOptions {
                interference_aware: false,
                ..options.clone()
            };
            plan(problem, &o, Variant::Gpulet).map(|g| (g, false))
        }
        GpuletMethod::Timeshare => plan(problem, options, Variant::TimeShare).map(|g| (g, false)),
        GpuletMethod::GpuletIlp => {
            gpulet::ilp::solve(problem, options, time_limit_s).map(|r| (r.gpus, r.optimal))
        }
    };
    let mut s = match result {
        Err(reason) => Solution::infeasible(method, objective, reason),
        Ok((gpus, optimal)) => {
            let plan = gpulet::build_plan(problem, method, &gpus);
            if plan.gpus_used > problem.available {
                Solution::infeasible(
                    method,
                    objective,
                    format!(
                        "needs {} GPUs, {} available",
                        plan.gpus_used, problem.available
                    ),
                )
            } else {
                let used = plan.gpus_used;
                let mut s = Solution {
                    objective_value: Some(f64::from(used)),
                    gpus_used: Some(used),
                    plan: Some(plan),
                    ..Solution::without_plan(Status::Feasible, method, objective)
                };
                if method == GpuletMethod::GpuletIlp && optimal {
                    s.status = Status::Optimal;
                    s.bound = Some(f64::from(used));
                    s.gap = Some(0.0);
                } else if method == GpuletMethod::GpuletIlp {
                    s.stopped_by = Some("time limit".into());
                } else {
                    s.stopped_by = Some("heuristic (no optimality proof)".into());
                }
                s
            }
        }
    };
    s.solve_seconds = start.elapsed().as_secs_f64();
    s
}
