//! `migsched verify layout|plan|trace`: independent checks of layouts, plans and event
//! traces (migsched-verify), printing every violation with what, where and why.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::checks::{
    LayoutCheck, PlanCheck, TraceCheck, verify_layout, verify_plan, verify_trace,
};

use super::args::DriverArgs;
use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Check every GPU's layout in a plan, a mig-parted config or layouts in text form
    #[command(after_help = LAYOUT_HELP)]
    Layout(LayoutArgs),
    /// Check a plan: layouts, GPU counts, serving options, SLOs, memory, demand, totals
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Check an event trace: causality, clock, slots, batches, endings, work conservation,
    /// ELSA's decisions, metrics
    #[command(after_help = TRACE_HELP)]
    Trace(TraceArgs),
}

const LAYOUT_HELP: &str = "\
FILE is a plan (JSON), a mig-parted config (YAML: its counts must be placeable), or layouts in
text form, one per line (`3g.40gb@0,2g.20gb@4`; `#` starts a comment; needs --gpu).
The rules are re-derived from MIG.md, not taken from migsched's layout engine.

Exit codes: 0 every layout is legal; 1 some rule is violated; 2 unusable input.

Examples:
  migsched verify layout plan.json
  migsched verify layout config.yaml --gpu a100-80gb
  migsched verify layout layouts.txt --gpu h100-80gb --before-r510";

const PLAN_HELP: &str = "\
Without --instance only the layouts and the plan's own totals are checked; with it, also the
GPU counts, every serving option against the instance's profile table and serving rules, the
SLO rule, memory, demand and cost.

Exit codes: 0 no violation; 1 some rule is violated; 2 unusable input.

Examples:
  migsched verify plan plan.json --instance datasets/instances/medium.toml
  migsched verify plan imported.json --instance s3.toml --json";

const TRACE_HELP: &str = "\
FILE is a JSON-lines trace (migsched-trace/1: a header line, then one event per line) from
migsched's simulator or any other system. --plan checks that only the plan's instances are
used; --metrics compares the metrics a system reported (a JSON object) with the recomputed ones.

Exit codes: 0 no violation; 1 some rule is violated; 2 unusable input.

Examples:
  migsched verify trace run.jsonl
  migsched verify trace run.jsonl --plan plan.json --metrics metrics.json --json";

#[derive(Debug, Args)]
pub struct LayoutArgs {
    /// A plan (JSON), a mig-parted config (YAML) or layouts in text form
    file: PathBuf,
    /// GPU type: needed for text-form layouts; for a mig-parted config, instead of the
    /// device-filters
    #[arg(long)]
    gpu: Option<String>,
    /// The instance file whose driver rules apply (instead of --before-r510)
    #[arg(long, value_name = "INSTANCE")]
    instance: Option<PathBuf>,
    #[command(flatten)]
    driver: DriverArgs,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan (JSON, migsched-plan/1)
    file: PathBuf,
    /// The instance the plan is for (TOML): its pools, demand, rules and profile table
    #[arg(long, value_name = "INSTANCE")]
    instance: Option<PathBuf>,
    #[command(flatten)]
    driver: DriverArgs,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The trace (JSON lines, migsched-trace/1)
    file: PathBuf,
    /// The plan the run served: only its instances may appear
    #[arg(long, value_name = "PLAN")]
    plan: Option<PathBuf>,
    /// Metrics the system reported for the run (a JSON object of numbers)
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, command: VerifyCommand) -> Result<Outcome> {
    let clean = match command {
        VerifyCommand::Layout(a) => verify_layout(
            env,
            &LayoutCheck {
                file: a.file,
                gpu: a.gpu,
                instance: a.instance,
                before_r510: a.driver.before_r510,
                json: a.json,
            },
        )?,
        VerifyCommand::Plan(a) => verify_plan(
            env,
            &PlanCheck {
                file: a.file,
                instance: a.instance,
                before_r510: a.driver.before_r510,
                json: a.json,
            },
        )?,
        VerifyCommand::Trace(a) => verify_trace(&TraceCheck {
            file: a.file,
            plan: a.plan,
            metrics: a.metrics,
            json: a.json,
        })?,
    };
    Ok(Outcome::from_ok(clean))
}
