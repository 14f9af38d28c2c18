//! Command-line definitions and dispatch: one module per command group.

mod args;
mod bench;
mod catalog;
mod gpus;
mod hwbench;
mod instance;
mod interference;
mod layouts;
mod mig_parted;
mod models;
mod nodes;
mod plan;
mod profile;
mod reproduce;
mod simulate;
mod solve;
mod sweep;
mod verify;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use migsched_core::{Catalog, SpecError, UnknownProfile};

/// The answer of a command that succeeded in running: yes (exit 0) or no (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success, or the answer is "yes".
    Yes,
    /// The answer is "no": illegal, unplaceable, different.
    No,
}

impl Outcome {
    fn from_ok(ok: bool) -> Outcome {
        if ok { Outcome::Yes } else { Outcome::No }
    }
}

const ABOUT: &str = "Research workbench for ML inference on reconfigurable GPUs (NVIDIA MIG, MPS)";

const AFTER_HELP: &str = "\
Exit codes: 0 success; 1 the answer is \"no\" (illegal layout, unplaceable config,
differences found); 2 unusable input or usage.

Examples:
  migsched gpus
  migsched gpus h100-80gb
  migsched layouts --gpu a100-40gb --maximal
  migsched check-layout --gpu a100-80gb 3g.40gb,2g.20gb,2x1g.10gb
  migsched mig-parted check config.yaml
  migsched catalog diff --gpu h100-80gb --lgip lgip.txt --lgipp lgipp.txt
  migsched solve datasets/instances/medium.toml -o plan.json
  migsched simulate datasets/instances/medium.toml --plan plan.json --scheduler elsa --trace run.jsonl
  migsched verify trace run.jsonl --plan plan.json
  migsched reproduce paris-elsa --quick
  migsched sweep datasets/sweeps/example.toml --jobs 2 -o out/sweep
  migsched hwbench discover --state hwbench/tests/fixtures/a100-80gb-mig.json";

/// migsched: plan, simulate, verify and validate ML inference on MIG GPUs.
#[derive(Debug, Parser)]
#[command(name = "migsched", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// A catalog file (TOML, the shape of `migsched catalog toml`) whose GPUs are added to the
    /// built-in ones; an entry with a built-in id replaces it
    #[arg(long, global = true, env = "MIGSCHED_CATALOG", value_name = "FILE")]
    catalog: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the GPU catalog, or show one GPU's MIG profiles
    #[command(
        after_help = "Examples:\n  migsched gpus\n  migsched gpus h100-80gb --json\n  migsched gpus \"NVIDIA A100-SXM4-40GB\""
    )]
    Gpus(gpus::GpusArgs),
    /// Enumerate the legal MIG layouts of a GPU
    #[command(after_help = layouts::LAYOUTS_EXAMPLES)]
    Layouts(layouts::LayoutsArgs),
    /// Check a layout (text form or profile counts) and explain every violated rule
    #[command(name = "check-layout", after_help = layouts::CHECK_EXAMPLES)]
    CheckLayout(layouts::CheckArgs),
    /// Check or write NVIDIA mig-parted v1 configs, offline
    #[command(name = "mig-parted", subcommand)]
    MigParted(mig_parted::MigPartedCommand),
    /// Compare the catalog with a real GPU, or print it as TOML
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Plan an instance: fewest GPUs, cheapest, most load, or the PARIS setting
    #[command(after_help = solve::SOLVE_HELP)]
    Solve(solve::SolveArgs),
    /// Run every applicable method on an instance and compare them with the ILP's bound
    #[command(after_help = solve::COMPARE_HELP)]
    Compare(solve::CompareArgs),
    /// Replay traffic against a plan with a scheduler (FIFS, round robin, least loaded, ELSA)
    #[command(after_help = simulate::SIMULATE_HELP)]
    Simulate(simulate::SimulateArgs),
    /// One model on one instance, node by node: serial, graph batching or LazyBatching
    #[command(name = "simulate-nodes", after_help = nodes::SIMULATE_NODES_HELP)]
    SimulateNodes(nodes::SimulateNodesArgs),
    /// The largest load at which a plan keeps a target SLO attainment (bisection)
    #[command(after_help = simulate::PEAK_HELP)]
    Peak(simulate::PeakArgs),
    /// Reproduce a headline comparison: raw results, plots and a Markdown summary in a directory
    #[command(after_help = reproduce::REPRODUCE_HELP)]
    Reproduce(reproduce::ReproduceArgs),
    /// Benchmarks that print tables (solver time and status as instances grow)
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Instance files: import other tools' scenarios
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// Profile tables: show (with knees), generate, calibrate, import
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// The model zoo: list models, show a layer graph, export graphs as JSON
    #[command(
        after_help = "Examples:\n  migsched models\n  migsched models show resnet50\n  migsched models export --out datasets/models"
    )]
    Models(models::ModelsArgs),
    /// Check layouts, plans and event traces independently of the code that made them
    #[command(subcommand)]
    Verify(verify::VerifyCommand),
    /// Plans: import other tools' plans (ParvaGPU, mig-parted) to verify them
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Run a grid of plans x schedulers x loads x seeds, in parallel, resumable, sharded
    Sweep(sweep::SweepArgs),
    /// Render a reproduction's tables, plots and summary again from its results.json
    Report(reproduce::ReportArgs),
    /// gpulet interference coefficients: show them, fit them to measurements, make samples
    #[command(subcommand)]
    Interference(interference::InterferenceCommand),
    /// Hardware bench: discover MIG GPUs (NVML), reach a plan's layout with nvidia-smi steps
    #[command(subcommand)]
    Hwbench(hwbench::HwbenchCommand),
}

pub use migsched_lab::Env;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    let env = Env::load(cli.global.catalog.as_deref()).context("loading the GPU catalog")?;
    let result = match cli.command {
        Command::Gpus(a) => gpus::run(&env, a),
        Command::Layouts(a) => layouts::run_layouts(&env, a),
        Command::CheckLayout(a) => layouts::run_check(&env, a),
        Command::MigParted(c) => mig_parted::run(&env, c),
        Command::Catalog(c) => catalog::run(&env, c),
        Command::Models(a) => models::run(a),
        Command::Profile(c) => profile::run(&env, c),
        Command::Solve(a) => solve::run_solve(&env, a),
        Command::Compare(a) => solve::run_compare(&env, a),
        Command::Instance(c) => instance::run(&env, c),
        Command::Bench(c) => bench::run(&env, c),
        Command::Simulate(a) => simulate::run_simulate(&env, a),
        Command::SimulateNodes(a) => nodes::run(&env, a),
        Command::Peak(a) => simulate::run_peak(&env, a),
        Command::Reproduce(a) => reproduce::run(&env, a),
        Command::Verify(c) => verify::run(&env, c),
        Command::Plan(c) => plan::run(&env, c),
        Command::Sweep(a) => sweep::run(&env, a),
        Command::Report(a) => reproduce::run_report(a),
        Command::Interference(c) => interference::run(&env, c),
        Command::Hwbench(c) => hwbench::run(&env, c),
    };
    result.map_err(|e| with_profile_hint(&env.catalog, e))
}

/// A profile unknown on one GPU is often a profile of a sibling (3g.20gb is A100-40GB's, not
/// A100-80GB's): say which GPUs have it.
fn with_profile_hint(catalog: &Catalog, e: anyhow::Error) -> anyhow::Error {
    let unknown = e.chain().find_map(|c| {
        c.downcast_ref::<UnknownProfile>()
            .or_else(|| match c.downcast_ref::<SpecError>() {
                Some(SpecError::UnknownProfile { unknown, .. }) => Some(unknown),
                _ => None,
            })
    });
    let Some(unknown) = unknown else { return e };
    let owners: Vec<&str> = catalog
        .gpus()
        .iter()
        .filter(|g| g.profile_by_name(&unknown.name).is_ok())
        .map(|g| g.id())
        .collect();
    if owners.is_empty() {
        e
    } else {
        anyhow::anyhow!(
            "{e:#} ('{}' is a profile of {})",
            unknown.name,
            owners.join(", ")
        )
    }
}
