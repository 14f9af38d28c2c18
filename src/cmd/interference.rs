//! `migsched interference show|fit|synthesize`: the gpulet interference coefficients, fitted
//! from co-location measurements a lab takes, and the synthetic samples the shipped sets come
//! from.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use migsched_out::{Table, print_json, read_text, write_atomic};
use migsched_perf::gpulet::DEFAULT_SIZES;
use migsched_perf::gpulet::interference::{
    Coefficients, Contention, SYNTHETIC_BATCHES, SYNTHETIC_MODELS, builtin, fit, parse,
    samples_from_csv, samples_to_csv, sets_to_toml, synthetic_samples,
};
use serde::Serialize;

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
        InterferenceCommand::Show(a) => show(env, a),
        InterferenceCommand::Fit(a) => run_fit(env, a),
        InterferenceCommand::Synthesize(a) => synthesize(env, a),
    }
}

fn show(env: &Env, args: ShowArgs) -> Result<Outcome> {
    let mut sets = match &args.file {
        None => builtin(),
        Some(p) => {
            let text = read_text(p, "interference coefficients")?;
            parse(&text, &p.display().to_string()).map_err(anyhow::Error::msg)?
        }
    };
    if let Some(g) = &args.gpu {
        env.catalog.gpu(g)?;
        sets.retain(|s| &s.gpu == g);
        if sets.is_empty() {
            bail!("no coefficient set for GPU '{g}'");
        }
    }
    if args.json {
        print_json(&sets)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&[
        "gpu",
        "c0 l2 self",
        "c1 l2 other",
        "c2 dram self",
        "c3 dram other",
        "c4",
        "source",
    ]);
    for s in &sets {
        let mut row = vec![s.gpu.clone()];
        row.extend(s.c.iter().map(|c| format!("{c:.5}")));
        row.push(s.source.clone());
        t.row(row);
    }
    outln!("{}", t.render().trim_end());
    Ok(Outcome::Yes)
}

#[derive(Serialize)]
struct FitJson<'a> {
    set: &'a Coefficients,
    samples: usize,
    rmse: f64,
    max_abs_residual: f64,
    output: Option<String>,
}

fn run_fit(env: &Env, args: FitArgs) -> Result<Outcome> {
    let gpu = env.catalog.gpu(&args.gpu)?;
    let origin = args.samples.display().to_string();
    let text = read_text(&args.samples, "co-location samples")?;
    let samples = samples_from_csv(&text, &origin).map_err(anyhow::Error::msg)?;
    let Some(f) = fit(&samples) else {
        bail!(
            "{origin}: {} sample(s) do not determine the five coefficients (need at least five \
             whose utilizations vary independently)",
            samples.len()
        );
    };
    let set = Coefficients {
        gpu: gpu.id().to_string(),
        source: args
            .source
            .clone()
            .unwrap_or_else(|| format!("least-squares fit of {} samples in {origin}", f.samples)),
        c: f.c,
    };
    let max_abs_residual = samples
        .iter()
        .map(|s| (set.predict(&s.me, &s.other) - s.slowdown).abs())
        .fold(0.0, f64::max);
    if let Some(out) = &args.output {
        write_atomic(out, &sets_to_toml(std::slice::from_ref(&set)))?;
    }
    if args.json {
        let j = FitJson {
            set: &set,
            samples: f.samples,
            rmse: f.rmse,
            max_abs_residual,
            output: args.output.as_ref().map(|p| p.display().to_string()),
        };
        print_json(&j)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&["coefficient", "value"]);
    for (name, c) in [
        "c0 l2 self",
        "c1 l2 other",
        "c2 dram self",
        "c3 dram other",
        "c4 constant",
    ]
    .iter()
    .zip(set.c)
    {
        t.row(vec![name.to_string(), format!("{c:.5}")]);
    }
    let mut out = format!("{} on {}: {} samples\n", origin, set.gpu, f.samples);
    out.push_str(&t.render());
    out.push_str(&format!(
        "slowdown residual: rmse {:.4}, largest {:.4}\n",
        f.rmse, max_abs_residual
    ));
    if let Some(p) = &args.output {
        out.push_str(&format!("wrote {}\n", p.display()));
    }
    outln!("{}", out.trim_end());
    Ok(Outcome::Yes)
}

fn synthesize(env: &Env, args: SynthArgs) -> Result<Outcome> {
    let gpu = env.catalog.gpu(&args.gpu)?;
    let contention = Contention {
        l2_penalty: args.l2_penalty,
        bandwidth_floor: args.bandwidth_floor,
    };
    let samples = synthetic_samples(gpu, &contention)
        .with_context(|| format!("synthetic co-location on {}", gpu.id()))?;
    write_atomic(&args.output, &samples_to_csv(&samples))?;
    outln!(
        "wrote {} synthetic samples ({} models x batches {:?}, sizes {:?}) to {}",
        samples.len(),
        SYNTHETIC_MODELS.len(),
        SYNTHETIC_BATCHES,
        DEFAULT_SIZES,
        args.output.display()
    );
    Ok(Outcome::Yes)
}
