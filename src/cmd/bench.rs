//! `migsched bench`: performance tables (solve time and status as instances grow).

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::bench::{sim_rows, solver_rows};
use migsched_out::{Table, print_json};

use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Solve time and status of the ILP and the heuristics on growing synthetic instances
    #[command(after_help = SOLVER_HELP)]
    Solver(SolverBenchArgs),
    /// Simulated requests per wall-clock second of ELSA and FIFS on 56 1g queues
    #[command(after_help = SIM_HELP)]
    Sim(SimBenchArgs),
}

const SIM_HELP: &str = "\
An 8-GPU A100-80GB server fully split into 1g.10gb instances (56 queues) serving ResNet-50
(bundled analytic latency), queries of 1 to 32 samples (log-normal), Poisson arrivals at 80% of
the server's capacity, one seed. Prints simulated requests per wall-clock second (one core) and
the process's peak resident memory.

Examples:
  migsched bench sim
  migsched bench sim --requests 1000000 --json";

#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Requests per run
    #[arg(long, default_value_t = 10_000_000)]
    requests: u64,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

const SOLVER_HELP: &str = "\
Instances: A100-80GB clusters of each GPU count, with that many models (variants of the zoo's
eleven beyond eleven, each slower by a few percent), rates set so the demand fills about 60%
of the cluster at the models' best throughput per GPU; MPS up to 3 processes, 2·L ≤ SLO.

Examples:
  migsched bench solver
  migsched bench solver --gpus 8,64 --models 4,16 --time-limit 10 --json
  migsched bench solver --gpus 4096 --models 64 --gap 0.001";

#[derive(Debug, Args)]
pub struct SolverBenchArgs {
    /// GPU counts
    #[arg(long, value_delimiter = ',', default_values_t = vec![8u32, 64, 512, 4096])]
    gpus: Vec<u32>,
    /// Model counts
    #[arg(long, value_delimiter = ',', default_values_t = vec![4usize, 16, 64])]
    models: Vec<usize>,
    /// ILP time limit per instance, seconds
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// Relative MIP gap at which HiGHS may stop (a bound and a near-optimal plan, fast)
    #[arg(long, default_value_t = 1e-6)]
    gap: f64,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, command: BenchCommand) -> Result<Outcome> {
    match command {
        BenchCommand::Solver(a) => solver(env, a),
        BenchCommand::Sim(a) => sim(env, a),
    }
}

fn sim(env: &Env, args: SimBenchArgs) -> Result<Outcome> {
    if args.requests == 0 {
        anyhow::bail!("--requests must be at least 1");
    }
    let rows = sim_rows(env, args.requests, !args.json)?;
    if args.json {
        print_json(&rows)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&[
        "scheduler",
        ">requests",
        ">events",
        ">wall s",
        ">CPU s",
        ">requests/s",
        ">per CPU s",
        ">SLO met",
        ">peak RSS MiB",
    ]);
    for r in &rows {
        t.row(vec![
            r.scheduler.clone(),
            r.requests.to_string(),
            r.events.to_string(),
            format!("{:.2}", r.wall_seconds),
            r.cpu_seconds.map_or("-".into(), |c| format!("{c:.2}")),
            format!("{:.2} M", r.requests_per_second / 1e6),
            r.requests_per_cpu_second
                .map_or("-".into(), |c| format!("{:.2} M", c / 1e6)),
            format!("{:.2}%", 100.0 * r.slo_attainment),
            r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")),
        ]);
    }
    out!("{}", t.render());
    outln!(
        "\n56 queues (8 x A100-80GB as 7 x 1g.10gb), ResNet-50, queries of 1-32 samples, 80% load, one core."
    );
    Ok(Outcome::Yes)
}

fn solver(env: &Env, args: SolverBenchArgs) -> Result<Outcome> {
    let rows = solver_rows(
        env,
        &args.gpus,
        &args.models,
        args.time_limit,
        args.gap,
        !args.json,
    )?;
    if args.json {
        print_json(&rows)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&[
        ">GPUs",
        ">models",
        ">layouts",
        ">options",
        "method",
        "status",
        ">GPUs used",
        ">vs ILP bound",
        ">time s",
    ]);
    for r in &rows {
        t.row(vec![
            r.gpus.to_string(),
            r.models.to_string(),
            r.layouts.to_string(),
            r.serving_options.to_string(),
            r.method.name().to_string(),
            r.status.name().to_string(),
            r.gpus_used.map_or("-".into(), |g| g.to_string()),
            r.gap_to_ilp_bound
                .map_or("-".into(), |g| format!("{:+.1}%", 100.0 * g)),
            format!("{:.3}", r.solve_seconds),
        ]);
    }
    out!("{}", t.render());
    Ok(Outcome::Yes)
}
