//! `migsched interference show|fit|synthesize`: the gpulet interference coefficients, fitted
//! from co-location measurements a lab takes, and the synthetic samples the shipped sets come
//! from.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::interference::{FitQuery, fit_set, show_sets, synthesize};
use migsched_perf::gpulet::interference::Contention;

use super::args::{non_negative, parse_fraction};
use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum InterferenceCommand {
    /// List coefficient sets: the shipped ones, or those of a file
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),
    /// Fit a GPU type's coefficients to co-location measurements (least squares)
    #[command(after_help = FIT_HELP)]
    Fit(FitArgs),
    /// Write the synthetic co-location samples the shipped sets are fitted on
    #[command(after_help = SYNTH_HELP)]
    Synthesize(SynthArgs),
}

const SHOW_HELP: &str = "\
The gpulet model slows a gpulet beside another by
  factor = c0·l2_self + c1·l2_other + c2·dram_self + c3·dram_other + c4
(utilizations scaled by the gpulet's size p/100; latency × max(1, factor)).

Examples:
  migsched interference show
  migsched interference show --file lab.toml --gpu a100-80gb --json";

const FIT_HELP: &str = "\
SAMPLES is a CSV with the columns
  me_l2,me_dram,me_percent,other_l2,other_dram,other_percent,slowdown
one row per measured co-location: the two gpulets' L2 and DRAM utilizations (whole GPU, 0..1),
their sizes (% of SMs) and the measured slowdown of the first (latency beside the other /
latency alone). Five or more rows that vary independently determine the five coefficients.
The written TOML is what `solve --method gpulet --interference FILE` and `simulate
--interference FILE` read. Exit 2 when the samples do not determine the coefficients.

Examples:
  migsched interference synthesize --gpu a100-80gb -o samples.csv
  migsched interference fit samples.csv --gpu a100-80gb -o lab.toml
  migsched solve i.toml --method gpulet --interference lab.toml";

const SYNTH_HELP: &str = "\
Every ordered pair of (model, batch) on every split p | 100 − p of the default sizes, the first
gpulet's slowdown from migsched's analytic model plus an explicit contention model (memory
phases share DRAM bandwidth, compute phases lose to L2 sharing). Not measured: a pipeline
check, and the data the shipped sets are fitted on.

Example:
  migsched interference synthesize --gpu h100-80gb -o samples.csv --l2-penalty 0.5";

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A coefficient file (TOML `[[set]]` tables) instead of the shipped sets
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Only this GPU type's set
    #[arg(long)]
    gpu: Option<String>,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Co-location measurements (CSV)
    samples: PathBuf,
    /// The GPU type the measurements were taken on
    #[arg(long)]
    gpu: String,
    /// Where the numbers come from (recorded in the set)
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,
    /// Write the fitted set (TOML) to this file
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// GPU type
    #[arg(long)]
    gpu: String,
    /// The samples file to write (CSV)
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Largest relative slowdown of compute phases from L2 sharing
    #[arg(long, default_value_t = Contention::default().l2_penalty, value_parser = non_negative)]
    l2_penalty: f64,
    /// Smallest share of DRAM bandwidth left to a gpulet, in (0, 1]
    #[arg(long, default_value_t = Contention::default().bandwidth_floor, value_parser = parse_fraction)]
    bandwidth_floor: f64,
}

pub fn run(env: &Env, command: InterferenceCommand) -> Result<Outcome> {
    match command {
        InterferenceCommand::Show(a) => {
            show_sets(env, a.file.as_deref(), a.gpu.as_deref(), a.json)?
        }
        InterferenceCommand::Fit(a) => fit_set(
            env,
            &FitQuery {
                samples: a.samples,
                gpu: a.gpu,
                source: a.source,
                output: a.output,
                json: a.json,
            },
        )?,
        InterferenceCommand::Synthesize(a) => synthesize(
            env,
            &a.gpu,
            Contention {
                l2_penalty: a.l2_penalty,
                bandwidth_floor: a.bandwidth_floor,
            },
            &a.output,
        )?,
    }
    Ok(Outcome::Yes)
}
