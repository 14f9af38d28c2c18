//! `migsched solve` and `migsched compare`: plan an instance with one method, or with every
//! applicable method side by side.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use migsched_lab::inputs::load_problem;
use migsched_lab::solve::{
    compare, has_plan, mig_parted_of, print_comparison, print_solution, solve_instance,
};
use migsched_out::{Outputs, print_json};
use migsched_solver::{GpuletMethod, Method, MigMethod, Objective, Solution, SolveOptions};
use serde::Serialize;

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
    let method = Method::from(args.method);
    if args.mig_parted.is_some() && matches!(method, Method::Gpulet(_)) {
        anyhow::bail!("--mig-parted: a gpulet plan has no MIG layouts (MPS only)");
    }
    // Both outputs checked (writable, not an input, not the same file) before the solve; both
    // written, or neither.
    let mut outputs = Outputs::new();
    for path in [&args.output, &args.mig_parted].into_iter().flatten() {
        outputs.reserve(path)?;
    }
    let options = args.solver.options();
    let (instance, solution) = solve_instance(
        env,
        &args.instance,
        method,
        args.solver.objective.into(),
        &options,
        args.interference.as_deref(),
    )?;
    if let Some(plan) = &solution.plan {
        if let Some(path) = &args.output {
            outputs.add(path, &plan.to_json())?;
        }
        if let Some(path) = &args.mig_parted {
            outputs.add(path, &mig_parted_of(env, plan, &instance)?)?;
        }
        outputs.commit()?;
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
    Ok(Outcome::from_ok(has_plan(&solution)))
}

pub fn run_compare(env: &Env, args: CompareArgs) -> Result<Outcome> {
    let (instance, problem) = load_problem(env, &args.instance)?;
    let json = args.json;
    let comparison = compare(
        &instance,
        &problem,
        args.solver.objective.into(),
        &args.solver.options(),
        &mut |m: MigMethod| {
            if !json {
                eprintln!("solving with {m}...");
            }
        },
    )?;
    if json {
        print_json(&comparison)?;
    } else {
        print_comparison(&comparison);
    }
    Ok(Outcome::from_ok(comparison.any_plan()))
}
