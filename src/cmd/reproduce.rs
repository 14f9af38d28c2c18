//! `migsched reproduce` and `migsched report`: the arguments of the reproductions in
//! `migsched_lab::reproduce`, and their summaries printed.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use migsched_lab::reproduce::{Options, Target, render_again};

use super::{Env, Outcome};

pub const REPRODUCE_HELP: &str = "\
Targets:
  paris-elsa   PARIS + ELSA against homogeneous partitions with FIFS and against the ILP's
               routed plan, on the bundled PARIS-style instances: peak load, SLO attainment
               and p99 at load 1, and SLO attainment across loads.
  lazybatching LazyBatching against graph batching (windows 5 to 99 ms) and serial
               execution, node by node, for ResNet-50, BERT-base and MobileNetV2 on A100
               7g.80gb and 3g.40gb instances at low, medium and high Poisson load: mean
               response time, throughput, p99, SLA satisfaction and the lazy/graph ratios.
  parvagpu     ParvaGPU's six A100-80GB SLO scenarios in its own setting, planned by the ILP
               (proven optimal) and the homogeneous and ParvaGPU-shaped greedy baselines;
               needs --data DIR (ParvaGPU's data, read in place, never bundled).
  scaling      Planning time of the ILP and the baselines against cluster and model counts,
               and the simulator's requests per CPU second (timings vary between runs).
  gpulet       gpulet (interference-aware and not) against time sharing only on zoo mixes:
               SLO-preserving peak throughput on 4 A100s, GPUs over time under autoscaling.

Each writes into --out (default out/<target>): summary.md, results.csv and results.parquet,
sweep.csv and sweep.parquet, plots as .svg and .png, and results.json; then prints the summary.
--quick shortens every simulation (under a minute in all). Results are deterministic for a seed.

Examples:
  migsched reproduce paris-elsa --quick
  migsched reproduce paris-elsa --out results/paris-elsa
  migsched reproduce parvagpu --data ../shared/datasets/parvagpu-a100-80gb
  migsched reproduce scaling --quick
  migsched reproduce lazybatching --quick --out /tmp/lazy
  migsched reproduce gpulet --quick --out out/gpulet
  migsched report out/paris-elsa";

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// What to reproduce
    #[arg(value_enum)]
    target: Target,
    /// Results directory (created; existing files are replaced)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Short simulations: under a minute in all
    #[arg(long)]
    quick: bool,
    /// Seed of every simulation
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Third-party data a target reads in place (parvagpu: ParvaGPU's data directory)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// Arguments of `migsched report`.
#[derive(Debug, Args)]
#[command(
    after_help = "DIR is a directory written by `migsched reproduce` (it reads DIR/results.json and\nwrites the tables, plots and summary.md again, e.g. after a plotting change).\n\nExamples:\n  migsched report out/paris-elsa"
)]
pub struct ReportArgs {
    /// A results directory of `migsched reproduce`
    dir: PathBuf,
}

/// Runs `migsched report`.
pub fn run_report(args: ReportArgs) -> Result<Outcome> {
    let summary = render_again(&args.dir)?;
    out!("{summary}");
    Ok(Outcome::Yes)
}

pub fn run(env: &Env, args: ReproduceArgs) -> Result<Outcome> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(args.target.name()));
    std::fs::create_dir_all(&out).with_context(|| format!("creating '{}'", out.display()))?;
    let started = Instant::now();
    let options = Options {
        quick: args.quick,
        seed: args.seed,
        data: args.data,
    };
    let summary = migsched_lab::reproduce::run(env, args.target, &out, &options)?;
    out!("{summary}");
    eprintln!(
        "wrote {} in {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Yes)
}
