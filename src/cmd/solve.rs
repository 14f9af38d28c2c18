//! `migsched solve` and `migsched compare`: plan an instance with one method, or with every
//! applicable method side by side.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use migsched_core::{Instance, Plan, PlanGpu};
use migsched_out::{Table, print_json, write_atomic};
use migsched_solver::{
    GpuletMethod, Method, MigMethod, Objective, Solution, SolveOptions, Status, applicable, solve,
};
use serde::Serialize;

use migsched_lab::inputs::load_problem;

use super::args::{non_negative, parse_fraction, positive};
use super::{Env, Outcome};

pub const SOLVE_HELP: &str = "\
Status: optimal (proven), feasible (a plan not proven optimal: heuristics, or an ILP stopped
by a limit; see stopped_by and gap), infeasible (with the reason), timeout (no plan found).
Exit codes: 0 a plan (optimal or feasible); 1 infeasible or timeout; 2 unusable input.

Results are deterministic for a given input and seed (one HiGHS thread), except solve_seconds
and any solve stopped by the wall-clock time limit. `-o plan.json` holds no timing.

Examples:
  migsched solve datasets/instances/small.toml
  migsched solve datasets/instances/medium.toml --method greedy --json
  migsched solve datasets/instances/hetero.toml --objective min-cost -o plan.json --mig-parted mig.yaml
  migsched solve datasets/instances/paris.toml --objective paris --rho 0.6";

pub const COMPARE_HELP: &str = "\
Runs every method that answers the objective (ilp, paris, homogeneous, greedy, and brute on
tiny instances) and prints one table with each method's gap to the ILP's bound.

Examples:
  migsched compare datasets/instances/medium.toml
  migsched compare datasets/instances/paris.toml --objective paris --json";

/// Methods on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    /// HiGHS integer program (exact)
    Ilp,
    /// The PARIS partitioning algorithm (objective paris)
    Paris,
    /// Every GPU split the same way
    Homogeneous,
    /// Best throughput per GPC, first-fit packing (ParvaGPU-shaped)
    Greedy,
    /// Exhaustive search (tiny instances only)
    Brute,
    /// gpulet: MPS gpulets (p | 100-p SMs), time sharing, interference check (min GPUs)
    Gpulet,
    /// gpulet without the interference check
    GpuletUnaware,
    /// Exact gpulet integer program (time sharing as occupancy): the heuristics' bound
    GpuletIlp,
    /// Time sharing only on whole GPUs (Nexus-style)
    Timeshare,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Method {
        match m {
            MethodArg::Ilp => Method::Mig(MigMethod::Ilp),
            MethodArg::Paris => Method::Mig(MigMethod::Paris),
            MethodArg::Homogeneous => Method::Mig(MigMethod::Homogeneous),
            MethodArg::Greedy => Method::Mig(MigMethod::Greedy),
            MethodArg::Brute => Method::Mig(MigMethod::Brute),
            MethodArg::Gpulet => Method::Gpulet(GpuletMethod::Gpulet),
            MethodArg::GpuletUnaware => Method::Gpulet(GpuletMethod::GpuletUnaware),
            MethodArg::GpuletIlp => Method::Gpulet(GpuletMethod::GpuletIlp),
            MethodArg::Timeshare => Method::Gpulet(GpuletMethod::Timeshare),
        }
    }
}

/// Objectives on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// Fewest GPUs meeting every rate
    MinGpus,
    /// Cheapest GPUs (gpus.cost) meeting every rate
    MinCost,
    /// Largest uniform load factor on the available GPUs
    MaxLoad,
    /// Fewest GPUs when queries carry their own batch sizes (PARIS routing)
    Paris,
}

impl From<ObjectiveArg> for Objective {
    fn from(o: ObjectiveArg) -> Objective {
        match o {
            ObjectiveArg::MinGpus => Objective::MinGpus,
            ObjectiveArg::MinCost => Objective::MinCost,
            ObjectiveArg::MaxLoad => Objective::MaxLoad,
            ObjectiveArg::Paris => Objective::Paris,
        }
    }
}

/// Solver options shared by `solve` and `compare`.
#[derive(Debug, Args, Clone)]
pub struct SolverArgs {
    /// What to optimize
    #[arg(long, value_enum, default_value = "min-gpus")]
    objective: ObjectiveArg,
    /// Time limit of the integer program, seconds
    #[arg(long, default_value_t = 60.0, value_parser = positive)]
    time_limit: f64,
    /// Relative MIP gap at which HiGHS may stop
    #[arg(long, default_value_t = 1e-6, value_parser = non_negative)]
    gap: f64,
    /// HiGHS threads (1 keeps results deterministic)
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// HiGHS random seed
    #[arg(long, default_value_t = 0)]
    seed: u32,
    /// PARIS setting: utilization cap of an instance, in (0, 1]
    #[arg(long, default_value_t = 0.7, value_parser = parse_fraction)]
    rho: f64,
    /// PARIS heuristic: knee threshold (relative throughput gain)
    #[arg(long, default_value_t = 0.1, value_parser = parse_fraction)]
    knee_threshold: f64,
    /// Homogeneous baseline: force this size class (e.g. 3g) instead of the best
    #[arg(long, value_name = "CLASS")]
    homogeneous_class: Option<String>,
}

impl SolverArgs {
    fn options(&self) -> SolveOptions {
        SolveOptions {
            time_limit_s: self.time_limit,
            mip_rel_gap: self.gap,
            threads: self.threads.max(1),
            seed: self.seed,
            rho: self.rho,
            knee_threshold: self.knee_threshold,
            homogeneous_class: self.homogeneous_class.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct SolveArgs {
    /// The instance file (TOML)
    instance: PathBuf,
    /// Planning method
    #[arg(long, value_enum, default_value = "ilp")]
    method: MethodArg,
    #[command(flatten)]
    solver: SolverArgs,
    /// Print one JSON object instead of tables
    #[arg(long)]
    json: bool,
    /// Write the plan (JSON) to this file
    #[arg(short, long, value_name = "PLAN")]
    output: Option<PathBuf>,
    /// Write the plan's layouts as a mig-parted v1 config
    #[arg(long, value_name = "FILE")]
    mig_parted: Option<PathBuf>,
    /// gpulet methods: interference coefficients (TOML sets, as `interference fit` writes)
    /// instead of the shipped set of the instance's GPU type
    #[arg(long, value_name = "FILE")]
    interference: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The instance file (TOML)
    instance: PathBuf,
    #[command(flatten)]
    solver: SolverArgs,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SolveJson<'a> {
    instance: &'a str,
    #[serde(flatten)]
    solution: &'a Solution,
    options: SolveOptions,
}

pub fn run_solve(env: &Env, args: SolveArgs) -> Result<Outcome> {
    let method = match Method::from(args.method) {
        Method::Mig(m) => m,
        Method::Gpulet(g) => return run_solve_gpulet(env, args, g),
        Method::Imported => anyhow::bail!("--method: imported plans are not made by a method"),
    };
    if args.interference.is_some() {
        anyhow::bail!("--interference: only the gpulet methods model interference");
    }
    let (instance, problem) = load_problem(env, &args.instance)?;
    let objective: Objective = args.solver.objective.into();
    if !applicable(method, objective) {
        anyhow::bail!(
            "--method {method} does not answer --objective {objective} (see `migsched compare`)"
        );
    }
    let options = args.solver.options();
    let solution = solve(&problem, method, objective, &options);
    if let Some(plan) = &solution.plan {
        if let Some(path) = &args.output {
            write_atomic(path, &plan.to_json())?;
        }
        if let Some(path) = &args.mig_parted {
            write_atomic(path, &mig_parted_of(env, plan, &instance)?)?;
        }
    }
    if args.json {
        print_json(&SolveJson {
            instance: &instance.name,
            solution: &solution,
            options,
        })?;
    } else {
        print_solution(&instance, &solution);
        if solution.plan.is_some() {
            for (what, path) in [
                ("plan", &args.output),
                ("mig-parted config", &args.mig_parted),
            ] {
                if let Some(p) = path {
                    outln!("wrote {what} to {}", p.display());
                }
            }
        }
    }
    Ok(Outcome::from_ok(matches!(
        solution.status,
        Status::Optimal | Status::Feasible
    )))
}

/// `solve` with a gpulet method: the instance's zoo models on MPS gpulets, min GPUs.
fn run_solve_gpulet(env: &Env, args: SolveArgs, method: GpuletMethod) -> Result<Outcome> {
    let (instance, problem) = migsched_lab::gpulet::load_gpulet_problem(
        env,
        &args.instance,
        args.interference.as_deref(),
    )?;
    if args.mig_parted.is_some() {
        anyhow::bail!("--mig-parted: a gpulet plan has no MIG layouts (MPS only)");
    }
    let solution = migsched_lab::gpulet::solve(&problem, method);
    if let (Some(plan), Some(path)) = (&solution.plan, &args.output) {
        write_atomic(path, &plan.to_json())?;
    }
    if args.json {
        print_json(&SolveJson {
            instance: &instance.name,
            solution: &solution,
            options: args.solver.options(),
        })?;
    } else {
        print_solution(&instance, &solution);
        if let (Some(_), Some(p)) = (&solution.plan, &args.output) {
            outln!("wrote plan to {}", p.display());
        }
    }
    Ok(Outcome::from_ok(matches!(
        solution.status,
        Status::Optimal | Status::Feasible
    )))
}

/// A mig-parted config with one device entry per plan GPU (device index = plan index).
fn mig_parted_of(env: &Env, plan: &Plan, instance: &Instance) -> Result<String> {
    Ok(plan.mig_parted_config(
        &env.catalog,
        instance.serving.driver,
        &format!("migsched-{}", instance.name),
    )?)
}

fn fmt_value(objective: Objective, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => match objective {
            Objective::MaxLoad => format!("λ={v:.4}"),
            Objective::MinCost => format!("{v:.2}"),
            _ => format!("{v:.0}"),
        },
    }
}

fn print_solution(instance: &Instance, s: &Solution) {
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
fn describe_gpu(g: &PlanGpu) -> (String, String) {
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

#[derive(Serialize)]
struct CompareRow {
    method: Method,
    status: Status,
    objective_value: Option<f64>,
    gpus_used: Option<u32>,
    gap_to_ilp_bound: Option<f64>,
    solve_seconds: f64,
    reason: Option<String>,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    instance: &'a str,
    objective: Objective,
    ilp_bound: Option<f64>,
    methods: &'a [CompareRow],
}

pub fn run_compare(env: &Env, args: CompareArgs) -> Result<Outcome> {
    let (instance, problem) = load_problem(env, &args.instance)?;
    let objective: Objective = args.solver.objective.into();
    let options = args.solver.options();
    let gpus = problem.gpus_available();
    let methods: Vec<MigMethod> = MigMethod::ALL
        .into_iter()
        .filter(|&m| applicable(m, objective))
        .filter(|&m| {
            m != MigMethod::Brute
                || (gpus <= migsched_solver::BRUTE_MAX_GPUS
                    && problem.models.len() <= migsched_solver::BRUTE_MAX_MODELS)
        })
        .collect();
    let solutions: Vec<Solution> = methods
        .iter()
        .map(|&m| {
            if !args.json {
                eprintln!("solving with {m}...");
            }
            solve(&problem, m, objective, &options)
        })
        .collect();
    let ilp_bound = solutions
        .iter()
        .find(|s| s.method == Method::Mig(MigMethod::Ilp))
        .and_then(|s| s.bound);
    let rows: Vec<CompareRow> = solutions
        .iter()
        .map(|s| CompareRow {
            method: s.method,
            status: s.status,
            objective_value: s.objective_value,
            gpus_used: s.gpus_used,
            gap_to_ilp_bound: match (s.objective_value, ilp_bound) {
                (Some(v), Some(b)) if b.abs() > 1e-12 => {
                    let g = if objective.maximizes() {
                        (b - v) / b
                    } else {
                        (v - b) / b
                    };
                    // Below the solver's tolerance the difference is rounding, not a gap.
                    Some(if g.abs() < 1e-6 { 0.0 } else { g })
                }
                _ => None,
            },
            solve_seconds: s.solve_seconds,
            reason: s.reason.clone(),
        })
        .collect();
    if args.json {
        print_json(&CompareJson {
            instance: &instance.name,
            objective,
            ilp_bound,
            methods: &rows,
        })?;
    } else {
        outln!(
            "instance {}, objective {objective}, ILP bound {}:",
            instance.name,
            fmt_value(objective, ilp_bound)
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
        for r in &rows {
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
    Ok(Outcome::from_ok(rows.iter().any(|r| {
        matches!(r.status, Status::Optimal | Status::Feasible)
    })))
}
