//! Planning an instance with one method or all of them, and the tables that show the result.

use anyhow::Result;
use migsched_core::{Instance, Plan, PlanGpu};
use migsched_out::Table;
use migsched_solver::{
    GpuletMethod, Method, MigMethod, Objective, Problem, Solution, SolveOptions, Status,
    applicable, solve,
};
use serde::Serialize;
use std::path::Path;

use crate::Env;
use crate::inputs::load_problem;

/// Plans the instance file `path` with `method`: the MIG methods on the instance's profile
/// tables, the gpulet methods on its zoo models (with interference coefficients from
/// `interference`, else the shipped set).
pub fn solve_instance(
    env: &Env,
    path: &Path,
    method: Method,
    objective: Objective,
    options: &SolveOptions,
    interference: Option<&Path>,
) -> Result<(Instance, Solution)> {
    match method {
        Method::Mig(m) => {
            options.validate()?;
            if interference.is_some() {
                anyhow::bail!("--interference: only the gpulet methods model interference");
            }
            let (instance, problem) = load_problem(env, path)?;
            if !applicable(m, objective) {
                anyhow::bail!(
                    "--method {m} does not answer --objective {objective} (see `migsched compare`)"
                );
            }
            if let Some(class) = &options.homogeneous_class {
                let have = migsched_solver::size_classes(&problem);
                if !have.contains(class) {
                    anyhow::bail!(
                        "--homogeneous-class '{}' is not a size class of the instance's GPUs (they have {})",
                        migsched_out::display_safe(class),
                        have.join(", ")
                    );
                }
            }
            let solution = solve(&problem, m, objective, options);
            Ok((instance, solution))
        }
        Method::Gpulet(g) => solve_gpulet(env, path, g, interference),
        Method::Imported => anyhow::bail!("--method: imported plans are not made by a method"),
    }
}

fn solve_gpulet(
    env: &Env,
    path: &Path,
    method: GpuletMethod,
    interference: Option<&Path>,
) -> Result<(Instance, Solution)> {
    let (instance, problem) = crate::gpulet::load_gpulet_problem(env, path, interference)?;
    Ok((instance, crate::gpulet::solve(&problem, method)))
}

/// Whether a solution holds a plan.
pub fn has_plan(s: &Solution) -> bool {
    matches!(s.status, Status::Optimal | Status::Feasible)
}

/// A mig-parted config with one device entry per plan GPU (device index = plan index).
pub fn mig_parted_of(env: &Env, plan: &Plan, instance: &Instance) -> Result<String> {
    Ok(plan.mig_parted_config(
        &env.catalog,
        instance.serving.driver,
        &format!("migsched-{}", instance.name),
    )?)
}

/// An objective value as tables show it.
pub fn fmt_value(objective: Objective, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => match objective {
            Objective::MaxLoad => format!("λ={v:.4}"),
            Objective::MinCost => format!("{v:.2}"),
            _ => format!("{v:.0}"),
        },
    }
}

/// Prints a solution: the instance, the status and the plan as tables.
pub fn print_solution(instance: &Instance, s: &Solution) {
    let pools: Vec<String> = instance
        .gpus
        .iter()
        .map(|g| format!("{} x{}", g.gpu, g.count))
        .collect();
    outln!(
        "instance {}: {} models on {}, SLO rule {}, up to {} MPS processes",
        instance.name,
        instance.models.len(),
        pools.join(" + "),
        instance.serving.slo_rule.describe(),
        instance.serving.max_procs
    );
    outln!(
        "method {}, objective {}: {}",
        s.method,
        s.objective,
        s.status.name()
    );
    if let Some(reason) = &s.reason {
        outln!("  reason: {reason}");
    }
    if let Some(stopped) = &s.stopped_by {
        outln!("  stopped by: {stopped}");
    }
    if s.objective_value.is_some() {
        outln!(
            "  objective {}  bound {}  gap {}  GPUs used {}  solve {:.3} s{}",
            fmt_value(s.objective, s.objective_value),
            fmt_value(s.objective, s.bound),
            s.gap.map_or("-".into(), |g| format!("{:.2}%", 100.0 * g)),
            s.gpus_used.map_or("-".into(), |g| g.to_string()),
            s.solve_seconds,
            s.nodes.map_or(String::new(), |n| format!(" ({n} nodes)"))
        );
    }
    let Some(plan) = &s.plan else { return };
    outln!();
    let mut t = Table::new(&[
        ">GPU",
        "type",
        "layout",
        "instances (profile@start model batch x procs)",
    ]);
    for g in &plan.gpus {
        let (layout, parts) = describe_gpu(g);
        t.row(vec![
            g.index().to_string(),
            g.gpu().to_string(),
            layout,
            parts,
        ]);
    }
    out!("{}", t.render());
    outln!();
    let mut t = Table::new(&[
        "model",
        ">SLO ms",
        ">rate/s",
        ">served/s",
        ">headroom",
        ">instances",
    ]);
    for m in &plan.models {
        t.row(vec![
            m.model.clone(),
            format!("{}", m.slo_ms),
            format!("{:.1}", m.rate_rps),
            format!("{:.1}", m.served_rps),
            format!("{:+.1}%", 100.0 * (m.served_rps / m.rate_rps - 1.0)),
            m.instances.to_string(),
        ]);
    }
    out!("{}", t.render());
    outln!("\n{} GPUs, cost {:.2}", plan.gpus_used, plan.cost);
}

/// A plan GPU for tables: its partition (layout text, or `mps:` and the gpulet sizes) and
/// what each part serves.
pub fn describe_gpu(g: &PlanGpu) -> (String, String) {
    match g {
        PlanGpu::Mig(g) => {
            let inst: Vec<String> = g
                .instances
                .iter()
                .map(|i| match &i.model {
                    Some(m) => format!(
                        "{}@{} {m} b{} x{}",
                        i.profile,
                        i.start,
                        i.batch.unwrap_or(0),
                        i.procs.unwrap_or(0)
                    ),
                    None => format!("{}@{} idle", i.profile, i.start),
                })
                .collect();
            (g.layout.clone(), inst.join("; "))
        }
        PlanGpu::Mps(g) => {
            let sizes: Vec<String> = g.gpulets.iter().map(|l| l.percent.to_string()).collect();
            let parts: Vec<String> = g
                .gpulets
                .iter()
                .enumerate()
                .flat_map(|(i, l)| {
                    let idle = l
                        .tasks
                        .is_empty()
                        .then(|| format!("gpulet-{}#{i} idle", l.percent));
                    l.tasks
                        .iter()
                        .map(move |t| format!("gpulet-{}#{i} {} b{}", l.percent, t.model, t.batch))
                        .chain(idle)
                })
                .collect();
            (format!("mps:{}", sizes.join(",")), parts.join("; "))
        }
    }
}

/// One method's row of a comparison.
#[derive(Debug, Serialize)]
pub struct CompareRow {
    /// The method.
    pub method: Method,
    /// Its status.
    pub status: Status,
    /// Its objective value, when it found a plan.
    pub objective_value: Option<f64>,
    /// GPUs its plan uses.
    pub gpus_used: Option<u32>,
    /// Relative distance to the ILP's bound (0 within the solver's tolerance).
    pub gap_to_ilp_bound: Option<f64>,
    /// Wall-clock solve time, s.
    pub solve_seconds: f64,
    /// Why it found no plan.
    pub reason: Option<String>,
}

/// Every applicable method on one problem, with each one's gap to the ILP's bound.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// The instance's name.
    pub instance: String,
    /// The objective compared.
    pub objective: Objective,
    /// The ILP's bound.
    pub ilp_bound: Option<f64>,
    /// One row per method.
    pub methods: Vec<CompareRow>,
}

impl Comparison {
    /// Whether any method found a plan.
    pub fn any_plan(&self) -> bool {
        self.methods
            .iter()
            .any(|r| matches!(r.status, Status::Optimal | Status::Feasible))
    }
}

/// The MIG methods that answer `objective` on `problem` (brute force only on tiny problems).
pub fn comparable_methods(problem: &Problem, objective: Objective) -> Vec<MigMethod> {
    let gpus = problem.gpus_available();
    MigMethod::ALL
        .into_iter()
        .filter(|&m| applicable(m, objective))
        .filter(|&m| {
            m != MigMethod::Brute
                || (gpus <= migsched_solver::BRUTE_MAX_GPUS
                    && problem.models.len() <= migsched_solver::BRUTE_MAX_MODELS)
        })
        .collect()
}

/// Solves `problem` with every comparable method; `progress` hears each method before it runs.
pub fn compare(
    instance: &Instance,
    problem: &Problem,
    objective: Objective,
    options: &SolveOptions,
    progress: &mut dyn FnMut(MigMethod),
) -> Result<Comparison> {
    options.validate()?;
    let solutions: Vec<Solution> = comparable_methods(problem, objective)
        .into_iter()
        .map(|m| {
            progress(m);
            solve(problem, m, objective, options)
        })
        .collect();
    let ilp_bound = solutions
        .iter()
        .find(|s| s.method == Method::Mig(MigMethod::Ilp))
        .and_then(|s| s.bound);
    let methods = solutions
        .iter()
        .map(|s| CompareRow {
            method: s.method,
            status: s.status,
            objective_value: s.objective_value,
            gpus_used: s.gpus_used,
            gap_to_ilp_bound: gap_to_bound(objective, s.objective_value, ilp_bound),
            solve_seconds: s.solve_seconds,
            reason: s.reason.clone(),
        })
        .collect();
    Ok(Comparison {
        instance: instance.name.clone(),
        objective,
        ilp_bound,
        methods,
    })
}

/// The relative distance of `value` to `bound` in the objective's direction; below the
/// solver's tolerance the difference is rounding, not a gap.
pub fn gap_to_bound(objective: Objective, value: Option<f64>, bound: Option<f64>) -> Option<f64> {
    match (value, bound) {
        (Some(v), Some(b)) if b.abs() > 1e-12 => {
            let g = if objective.maximizes() {
                (b - v) / b
            } else {
                (v - b) / b
            };
            Some(if g.abs() < 1e-6 { 0.0 } else { g })
        }
        _ => None,
    }
}

/// Prints a comparison as one table.
pub fn print_comparison(c: &Comparison) {
    let objective = c.objective;
    outln!(
        "instance {}, objective {objective}, ILP bound {}:",
        c.instance,
        fmt_value(objective, c.ilp_bound)
    );
    let mut t = Table::new(&[
        "method",
        "status",
        ">objective",
        ">GPUs",
        ">vs ILP bound",
        ">time s",
        "note",
    ]);
    for r in &c.methods {
        t.row(vec![
            r.method.name().to_string(),
            r.status.name().to_string(),
            fmt_value(objective, r.objective_value),
            r.gpus_used.map_or("-".into(), |g| g.to_string()),
            r.gap_to_ilp_bound
                .map_or("-".into(), |g| format!("{:+.1}%", 100.0 * g)),
            format!("{:.3}", r.solve_seconds),
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    out!("{}", t.render());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_is_measured_in_the_objectives_direction() {
        let g = gap_to_bound(Objective::MinGpus, Some(11.0), Some(10.0)).unwrap();
        assert!((g - 0.1).abs() < 1e-12);
        let g = gap_to_bound(Objective::MaxLoad, Some(0.9), Some(1.0)).unwrap();
        assert!((g - 0.1).abs() < 1e-12);
        assert_eq!(
            gap_to_bound(Objective::MinGpus, Some(10.0 + 1e-9), Some(10.0)),
            Some(0.0)
        );
        assert_eq!(gap_to_bound(Objective::MinGpus, None, Some(10.0)), None);
        assert_eq!(gap_to_bound(Objective::MinGpus, Some(1.0), Some(0.0)), None);
    }

    #[test]
    fn tables_describe_mig_and_mps_gpus() {
        let plan = Plan::from_json(
            include_str!("../../verify/tests/fixtures/gpulet-plan-v1.json"),
            "fixture",
        )
        .unwrap();
        let (layout, parts) = describe_gpu(&plan.gpus[0]);
        assert!(layout.starts_with("mps:"), "{layout}");
        assert!(parts.contains("gpulet-"), "{parts}");
    }
}
