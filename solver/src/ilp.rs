//! The integer programs, built with good_lp and solved by HiGHS: a configuration-count
//! formulation over the maximal layouts of each GPU type (see ALGORITHMS.md).
//!
//! Variables: `x[g][c]` GPUs of pool g configured with layout c; `y[g][p][m]` instances of
//! profile p on pool g serving model m with its best option (throughput is all that counts
//! toward demand, so the best option per (g, p, m) loses nothing); `λ` the load factor
//! (max-load). Identical GPUs cost no symmetry: a layout's GPUs are one integer count, so the
//! model's size does not grow with the number of GPUs.
//!
//! The PARIS setting replaces `y·T ≥ λ·rate` by routing: continuous `z[m][b][g][p]` queries/s
//! of batch class b sent to profile p, `Σ_{g,p} z = λ·rate·share_b`, and per (g, p, m) a busy
//! time `Σ_b z·L(b) ≤ ρ·y`.

use good_lp::{Expression, ProblemVariables, SolverModel, Variable, constraint, highs, variable};
use highs::{HighsModelStatus, HighsSolutionStatus};
use migsched_core::{MigMethod, Objective, ProfileIndex};

use crate::options::SolveOptions;
use crate::problem::Problem;
use crate::solution::{GpuAssignment, InstanceService, Solution, Status, build_plan};

/// A relative gap at or below this is numerical tolerance, not a limit: the solve is optimal.
/// (HiGHS stops continuous objectives such as max-load's λ at gaps of order 1e-7.) A gap above
/// it is reported `feasible`, with the gap limit that stopped the search.
pub const OPTIMALITY_TOLERANCE: f64 = 1e-6;

/// A variable that is integer unless the problem is relaxed.
fn integer_if(relaxed: bool, def: good_lp::VariableDefinition) -> good_lp::VariableDefinition {
    if relaxed { def } else { def.integer() }
}

/// Values below this are zero; integer values are rounded.
const EPS: f64 = 1e-6;

/// Variables in creation order (good_lp gives HiGHS its columns in that order).
struct Vars {
    vars: ProblemVariables,
    count: usize,
}

impl Vars {
    fn add(&mut self, def: good_lp::VariableDefinition) -> (Variable, usize) {
        let v = self.vars.add(def);
        self.count += 1;
        (v, self.count - 1)
    }
}

/// A variable and its HiGHS column.
type Col = (Variable, usize);
/// (pool, profile, model) of an instance-count variable.
type YKey = (usize, ProfileIndex, usize);

/// The model's variables with their column indices.
struct Model {
    /// x[pool][layout]
    x: Vec<Vec<(Variable, usize)>>,
    /// (pool, profile, model) -> y
    y: Vec<(YKey, Col)>,
    /// (index into problem.classes) -> z
    z: Vec<(usize, (Variable, usize))>,
    /// λ
    load: Option<(Variable, usize)>,
}

/// What a single HiGHS solve gave.
struct Outcome {
    status: Status,
    values: Option<Vec<f64>>,
    objective: Option<f64>,
    bound: Option<f64>,
    gap: Option<f64>,
    stopped_by: Option<String>,
    nodes: Option<i64>,
}

/// Solves `objective` exactly with HiGHS.
pub fn solve(problem: &Problem, objective: Objective, options: &SolveOptions) -> Solution {
    let paris = objective == Objective::Paris;
    let reasons: Vec<String> = (0..problem.models.len())
        .filter_map(|m| problem.unservable(m, paris))
        .collect();
    if !reasons.is_empty() {
        return Solution::infeasible(MigMethod::Ilp, objective, reasons.join("; "));
    }
    match objective {
        Objective::MinGpus | Objective::MinCost | Objective::Paris => {
            let out = run(
                problem,
                objective,
                Phase::MinimizeGpus { load: 1.0 },
                options,
            );
            finish(problem, objective, options, out)
        }
        Objective::MaxLoad => {
            let first = run(problem, objective, Phase::MaximizeLoad, options);
            let (o1, m1) = match first {
                Ok(v) => v,
                Err(e) => return solver_failure(objective, e),
            };
            let Some(lambda) = o1.objective.filter(|_| o1.values.is_some()) else {
                return finish(problem, objective, options, Ok((o1, m1)));
            };
            if lambda <= EPS {
                return Solution::infeasible(
                    MigMethod::Ilp,
                    objective,
                    "the available GPUs cannot serve any load: every model needs an instance"
                        .into(),
                );
            }
            // Second phase: the fewest GPUs that still reach λ (a cleaner plan; same λ).
            let second = run(
                problem,
                objective,
                Phase::MinimizeGpus {
                    load: lambda * (1.0 - 1e-9),
                },
                options,
            );
            match second {
                Ok((o2, m2)) if o2.values.is_some() => {
                    let mut s = finish(problem, objective, options, Ok((o2, m2)));
                    s.objective_value = Some(lambda);
                    s.bound = o1.bound;
                    s.gap = o1.gap;
                    if o1.status != Status::Optimal {
                        s.status = o1.status;
                        s.stopped_by = o1.stopped_by;
                    }
                    s
                }
                _ => {
                    let mut s = finish(problem, objective, options, Ok((o1, m1)));
                    s.objective_value = Some(lambda);
                    s
                }
            }
        }
    }
}

enum Phase {
    MinimizeGpus {
        load: f64,
    },
    MaximizeLoad,
    /// The LP relaxation of max-load: an upper bound on λ, fast even when the integer
    /// program is hard.
    MaximizeLoadRelaxed,
}

fn run(
    problem: &Problem,
    objective: Objective,
    phase: Phase,
    options: &SolveOptions,
) -> Result<(Outcome, Model), String> {
    let paris = objective == Objective::Paris;
    let relaxed = matches!(phase, Phase::MaximizeLoadRelaxed);
    let (v, model) = variables(problem, paris, relaxed, &phase);
    let Model { x, y, z, load } = model;
    let gpu_cost = |pi: usize| {
        if objective == Objective::MinCost {
            problem.pools[pi].cost
        } else {
            1.0
        }
    };
    let mut gpus_expr = Expression::from(0.0);
    for (pi, xs) in x.iter().enumerate() {
        for &(xv, _) in xs {
            gpus_expr.add_mul(gpu_cost(pi), xv);
        }
    }
    let unsolved = match (&phase, load) {
        (Phase::MaximizeLoad | Phase::MaximizeLoadRelaxed, Some((l, _))) => v.vars.maximise(l),
        _ => v.vars.minimise(gpus_expr.clone()),
    };
    let mut lp = unsolved.using(highs);

    let model = Model { x, y, z, load };
    constrain(&mut lp, problem, &model, &phase, paris, options);
    let raw = lp
        .try_into_inner()
        .map_err(|e| format!("HiGHS could not build the model: {e}"))?;
    let mut out = solve_highs(raw, options)?;
    // Integral objectives (GPU counts) are proven optimal once the bound rounds up to them.
    let integral = matches!(phase, Phase::MinimizeGpus { .. })
        && (objective != Objective::MinCost || problem.pools.iter().all(|p| p.cost.fract() == 0.0));
    settle(&mut out, integral, options);
    Ok((out, model))
}

/// The program's variables: x (layout counts per pool), y (instances per (pool, profile,
/// model) that can serve), z (PARIS routed rates per batch class), and λ for max-load.
fn variables(problem: &Problem, paris: bool, relaxed: bool, phase: &Phase) -> (Vars, Model) {
    let mut v = Vars {
        vars: ProblemVariables::new(),
        count: 0,
    };
    let x: Vec<Vec<(Variable, usize)>> = problem
        .pools
        .iter()
        .map(|p| {
            p.layouts
                .iter()
                .map(|_| v.add(integer_if(relaxed, variable().min(0).max(p.count))))
                .collect()
        })
        .collect();
    let mut y = Vec::new();
    for (pi, pool) in problem.pools.iter().enumerate() {
        let most =
            |p: ProfileIndex| f64::from(pool.count) * f64::from(pool.gpu.profile(p).max_count());
        for &p in &pool.profiles {
            for m in 0..problem.models.len() {
                let usable = if paris {
                    problem
                        .classes
                        .iter()
                        .any(|c| c.pool == pi && c.profile == p && c.model == m)
                } else {
                    problem.best_option(pi, p, m).is_some()
                };
                if usable {
                    y.push((
                        (pi, p, m),
                        v.add(integer_if(relaxed, variable().min(0).max(most(p)))),
                    ));
                }
            }
        }
    }
    // Routing only to the pools' kept profiles: each of those has a busy-time constraint.
    let z: Vec<(usize, (Variable, usize))> = if paris {
        (0..problem.classes.len())
            .filter(|&i| {
                let c = &problem.classes[i];
                problem.pools[c.pool].profiles.contains(&c.profile)
            })
            .map(|i| (i, v.add(variable().min(0))))
            .collect()
    } else {
        Vec::new()
    };
    let load = match phase {
        Phase::MaximizeLoad | Phase::MaximizeLoadRelaxed => Some(v.add(variable().min(0))),
        Phase::MinimizeGpus { .. } => None,
    };

    (v, Model { x, y, z, load })
}

/// The constraints: GPUs per pool, instances within the layouts' slots, demand (or PARIS
/// routing of every batch class), and PARIS busy time under the utilization cap.
fn constrain(
    lp: &mut good_lp::solvers::highs::HighsProblem,
    problem: &Problem,
    Model { x, y, z, load }: &Model,
    phase: &Phase,
    paris: bool,
    options: &SolveOptions,
) {
    let load = *load;
    for (pi, xs) in x.iter().enumerate() {
        let mut sum = Expression::from(0.0);
        for &(xv, _) in xs {
            sum += xv;
        }
        lp.add_constraint(constraint!(sum <= f64::from(problem.pools[pi].count)));
    }
    for (pi, pool) in problem.pools.iter().enumerate() {
        for &p in &pool.profiles {
            let mut slots = Expression::from(0.0);
            for (ci, layout) in pool.layouts.iter().enumerate() {
                let n = layout.counts().get(p);
                if n > 0 {
                    slots.add_mul(f64::from(n), x[pi][ci].0);
                }
            }
            let mut used = Expression::from(0.0);
            for &(key, (yv, _)) in y {
                if key.0 == pi && key.1 == p {
                    used += yv;
                }
            }
            lp.add_constraint(constraint!(used <= slots));
        }
    }
    let lambda_of = |lp_load: Option<(Variable, usize)>| -> Expression {
        match (lp_load, &phase) {
            (Some((l, _)), _) => Expression::from(l),
            (None, Phase::MinimizeGpus { load }) => Expression::from(*load),
            (None, Phase::MaximizeLoad | Phase::MaximizeLoadRelaxed) => Expression::from(1.0),
        }
    };
    for (m, demand) in problem.models.iter().enumerate() {
        if paris {
            for b in problem.model_classes(m) {
                let share = demand
                    .batch_distribution
                    .as_ref()
                    .and_then(|d| d.iter().find(|(bb, _)| *bb == b).map(|(_, s)| *s))
                    .unwrap_or(1.0);
                let mut routed = Expression::from(0.0);
                for &(ci, (zv, _)) in z {
                    let c = &problem.classes[ci];
                    if c.model == m && c.batch == b {
                        routed += zv;
                    }
                }
                let need = lambda_of(load) * (demand.rate_rps * share);
                lp.add_constraint(constraint!(routed == need));
            }
        } else {
            let mut served = Expression::from(0.0);
            for &((pi, p, mm), (yv, _)) in y {
                if mm == m {
                    let t = problem
                        .best_option(pi, p, m)
                        .map_or(0.0, |o| o.throughput_rps);
                    served.add_mul(t, yv);
                }
            }
            let need = lambda_of(load) * demand.rate_rps;
            lp.add_constraint(constraint!(served >= need));
        }
    }
    if paris {
        for &((pi, p, m), (yv, _)) in y {
            let mut busy = Expression::from(0.0);
            for &(ci, (zv, _)) in z {
                let c = &problem.classes[ci];
                if c.pool == pi && c.profile == p && c.model == m {
                    busy.add_mul(c.latency_ms / 1000.0, zv);
                }
            }
            lp.add_constraint(constraint!(busy <= options.rho * yv));
        }
    }
}

/// Solves with HiGHS under the options' limits and reads the outcome (status, values, bound).
fn solve_highs(mut model: highs::Model, options: &SolveOptions) -> Result<Outcome, String> {
    // `highs` panics on an option HiGHS rejects: options outside their domain are a failure
    // of this solve, never a panic (`try_solve` rejects them before any work).
    options.validate().map_err(|e| e.to_string())?;
    model.set_option("output_flag", false);
    model.set_option("threads", options.threads as i32);
    model.set_option("random_seed", options.seed as i32);
    model.set_option("time_limit", options.time_limit_s);
    model.set_option("mip_rel_gap", options.mip_rel_gap);
    let solved = model
        .try_solve()
        .map_err(|e| format!("HiGHS failed: {e:?}"))?;
    let has_solution = solved.primal_solution_status() == HighsSolutionStatus::Feasible;
    let values = has_solution.then(|| solved.get_solution().columns().to_vec());
    let value = has_solution.then(|| solved.objective_value());
    let nodes = solved.int_info_value(c"mip_node_count").ok();
    let raw_bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite());
    let (status, stopped_by) = match solved.status() {
        HighsModelStatus::Optimal => (Status::Optimal, None),
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
            (Status::Infeasible, None)
        }
        s @ (HighsModelStatus::ReachedTimeLimit
        | HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedSolutionLimit
        | HighsModelStatus::ReachedInterrupt
        | HighsModelStatus::ReachedMemoryLimit
        | HighsModelStatus::ObjectiveBound
        | HighsModelStatus::ObjectiveTarget) => {
            let why = match s {
                HighsModelStatus::ReachedTimeLimit => {
                    format!("time limit ({} s)", options.time_limit_s)
                }
                HighsModelStatus::ReachedMemoryLimit => "memory limit".to_string(),
                other => format!("{other:?}"),
            };
            (
                if has_solution {
                    Status::Feasible
                } else {
                    Status::Timeout
                },
                Some(why),
            )
        }
        other => {
            return Err(format!("HiGHS ended with status {other:?}"));
        }
    };
    Ok(Outcome {
        status,
        values,
        objective: value,
        bound: raw_bound,
        gap: None,
        stopped_by,
        nodes,
    })
}

/// Rounds an integral objective, tightens its bound, computes the gap, and settles the status:
/// optimal within the tolerance, feasible with the gap limit beyond it.
fn settle(out: &mut Outcome, integral: bool, options: &SolveOptions) {
    if integral {
        // GPU counts: HiGHS may return 8.999999999999998 for 9.
        out.objective = out.objective.map(f64::round);
    }
    if let (Some(v), true) = (out.objective, out.values.is_some()) {
        let bound = if out.status == Status::Optimal {
            out.bound.unwrap_or(v)
        } else {
            out.bound.unwrap_or(f64::NAN)
        };
        let bound = if integral && bound.is_finite() {
            (bound - EPS).ceil().min(v)
        } else {
            bound
        };
        let gap = if bound.is_finite() {
            ((v - bound).abs() / v.abs().max(1e-9)).max(0.0)
        } else {
            f64::NAN
        };
        out.bound = bound.is_finite().then_some(bound);
        out.gap = gap
            .is_finite()
            .then_some(if gap < OPTIMALITY_TOLERANCE { 0.0 } else { gap });
        match (out.status, out.gap) {
            (Status::Optimal, Some(g)) if g > OPTIMALITY_TOLERANCE => {
                out.status = Status::Feasible;
                out.stopped_by = Some(format!("gap limit ({})", options.mip_rel_gap));
            }
            (Status::Feasible, Some(g)) if g <= OPTIMALITY_TOLERANCE && integral => {
                out.status = Status::Optimal;
                out.stopped_by = None;
            }
            _ => {}
        }
    }
}

fn finish(
    problem: &Problem,
    objective: Objective,
    options: &SolveOptions,
    result: Result<(Outcome, Model), String>,
) -> Solution {
    let (out, model) = match result {
        Ok(v) => v,
        Err(e) => return solver_failure(objective, e),
    };
    let mut s = Solution::without_plan(out.status, MigMethod::Ilp, objective);
    s.nodes = out.nodes;
    s.stopped_by = out.stopped_by.clone();
    match out.status {
        Status::Infeasible => {
            s.reason = Some(capacity_reason(problem, objective, options));
            return s;
        }
        Status::Timeout => return s,
        _ => {}
    }
    let Some(values) = out.values else { return s };
    let plan = plan_from_values(problem, objective, &model, &values);
    s.objective_value = match objective {
        Objective::MaxLoad => model.load.map(|(_, c)| values[c]),
        _ => Some(crate::solution::objective_value(
            problem, objective, &plan, None,
        )),
    };
    s.bound = out.bound;
    s.gap = out.gap;
    s.gpus_used = Some(plan.gpus_used);
    s.plan = Some(plan);
    s
}

/// HiGHS itself failed (not an answer about the instance): reported as a timeout with the
/// reason, never as infeasible.
fn solver_failure(objective: Objective, message: String) -> Solution {
    let mut s = Solution::without_plan(Status::Timeout, MigMethod::Ilp, objective);
    s.stopped_by = Some(message);
    s
}

/// Why the available GPUs cannot meet the demand, with an upper bound on the fraction they can
/// serve (from the LP relaxation of max-load: instant where the integer program may not be).
fn capacity_reason(problem: &Problem, objective: Objective, options: &SolveOptions) -> String {
    let total = problem.gpus_available();
    let max_load = match run(problem, objective, Phase::MaximizeLoadRelaxed, options) {
        Ok((o, _)) if o.values.is_some() => o.objective,
        _ => None,
    };
    match max_load {
        Some(l) if l > EPS => format!(
            "the {total} available GPUs serve at most {:.1}% of the demand (LP bound on max-load λ: {l:.4}); add GPUs or relax the SLOs",
            100.0 * l
        ),
        _ => format!(
            "the {total} available GPUs cannot serve every model at once; add GPUs or relax the SLOs"
        ),
    }
}

/// Turns the solver's values into concrete GPUs: each layout count becomes that many GPUs,
/// and each (pool, profile) group's instances are handed to models in model order, filling
/// GPUs in order.
fn plan_from_values(
    problem: &Problem,
    objective: Objective,
    model: &Model,
    values: &[f64],
) -> migsched_core::Plan {
    let int = |c: usize| values[c].round().max(0.0) as u32;
    let mut gpus: Vec<GpuAssignment> = Vec::new();
    for (pi, pool) in problem.pools.iter().enumerate() {
        for (ci, layout) in pool.layouts.iter().enumerate() {
            for _ in 0..int(model.x[pi][ci].1) {
                gpus.push(GpuAssignment {
                    pool: pi,
                    layout: layout.clone(),
                    serving: vec![None; layout.placements().len()],
                });
            }
        }
    }
    for &((pi, p, m), (_, col)) in &model.y {
        let mut left = int(col);
        let service = if objective == Objective::Paris {
            paris_service(problem, model, values, (pi, p, m), int(col))
        } else {
            problem.best_option(pi, p, m).map(|o| InstanceService {
                model: m,
                batch: o.batch,
                procs: o.procs,
                latency_ms: o.latency_ms,
                throughput_rps: o.throughput_rps,
            })
        };
        let Some(service) = service else { continue };
        for g in gpus.iter_mut().filter(|g| g.pool == pi) {
            for (slot, pl) in g.layout.placements().iter().enumerate() {
                if left > 0 && pl.profile == p && g.serving[slot].is_none() {
                    g.serving[slot] = Some(service.clone());
                    left -= 1;
                }
            }
        }
    }
    build_plan(problem, MigMethod::Ilp, objective, gpus)
}

/// PARIS instances of (pool, profile, model): the largest batch class routed there, and the
/// routed query rate per instance.
fn paris_service(
    problem: &Problem,
    model: &Model,
    values: &[f64],
    (pi, p, m): (usize, ProfileIndex, usize),
    instances: u32,
) -> Option<InstanceService> {
    if instances == 0 {
        return None;
    }
    let mut routed = 0.0;
    let mut largest: Option<(u32, f64)> = None;
    for &(ci, (_, col)) in &model.z {
        let c = &problem.classes[ci];
        if c.pool == pi && c.profile == p && c.model == m && values[col] > EPS {
            routed += values[col];
            if largest.is_none_or(|(b, _)| c.batch > b) {
                largest = Some((c.batch, c.latency_ms));
            }
        }
    }
    let (batch, latency_ms) = largest?;
    Some(InstanceService {
        model: m,
        batch,
        procs: 1,
        latency_ms,
        throughput_rps: routed / f64::from(instances),
    })
}
