//! `migsched profile`: show, generate, calibrate and import profile tables.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_core::import::PerfAnalyzerOptions;
use migsched_lab::profiles::{
    CalibrateSpec, GenerateSpec, ImportParvaSpec, ImportPerfSpec, ShowSpec, calibrate, generate,
    import_parvagpu, import_perf, show,
};

use super::args::parse_fraction;
use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Print a profile table: per (GPU, model, profile, processes) its batches and knee
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),
    /// Write analytic profile tables for a GPU (every profile, zoo models)
    #[command(after_help = GENERATE_HELP)]
    Generate(GenerateArgs),
    /// Fit the analytic model's free parameters to measured tables and report its error
    #[command(after_help = CALIBRATE_HELP)]
    Calibrate(CalibrateArgs),
    /// Import measured tables from other tools
    #[command(subcommand)]
    Import(ImportCommand),
}

const GENERATE_HELP: &str = "\
Rows that do not fit the profile's memory are left out (a missing row means infeasible).
With -o FILE, a provenance record FILE.provenance.toml is written beside it.

Examples:
  migsched profile generate --gpu a100-80gb -o a100-80gb.csv
  migsched profile generate --gpu h100-80gb --models resnet50,bert-base --batches 1,8,64 --max-procs 1
  migsched profile generate --gpu a100-80gb --params fitted.toml -o table.parquet";

const CALIBRATE_HELP: &str = "\
Fits compute efficiency, bandwidth efficiency and per-kernel overhead by least squares on log
latency (Nelder-Mead, deterministic) to the rows of --gpu whose models are in the zoo, and
prints the error before (start parameters) and after, per model and profile. Errors are
fractions in --json (mape_before, mape_after, max_error_after, per_model).

Examples:
  migsched profile import parvagpu ../shared/datasets/parvagpu-a100-80gb --gpu a100-80gb -o parva.csv
  migsched profile calibrate --measured parva.csv --gpu a100-80gb -o fitted.toml
  migsched profile calibrate --measured parva.csv --gpu a100-80gb --unfused --json";

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// ParvaGPU's measured tables (prof_data/<model>.csv)
    #[command(
        after_help = "Example:\n  migsched profile import parvagpu ../shared/datasets/parvagpu-a100-80gb --gpu a100-80gb -o parva.csv"
    )]
    Parvagpu(ImportParvaArgs),
    /// One row from Triton perf_analyzer's CSV output (-f)
    #[command(
        name = "perf-analyzer",
        after_help = "Example:\n  migsched profile import perf-analyzer pa.csv --gpu a100-80gb --profile 3g.40gb --model resnet50 --batch 8 -o t.csv --append"
    )]
    PerfAnalyzer(ImportPerfArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// GPU id or name
    #[arg(long)]
    gpu: String,
    /// Zoo models (comma-separated); all when omitted
    #[arg(long, value_delimiter = ',', value_name = "M,...")]
    models: Vec<String>,
    /// Batch sizes (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "B,...", default_values_t = migsched_perf::source::DEFAULT_BATCHES.to_vec())]
    batches: Vec<u32>,
    /// Most MPS processes per instance
    #[arg(long, default_value_t = migsched_perf::source::DEFAULT_MAX_PROCS)]
    max_procs: u32,
    /// Analytic parameters (TOML, e.g. from `profile calibrate -o`); defaults otherwise
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// BERT sequence length
    #[arg(long, default_value_t = migsched_perf::zoo::DEFAULT_SEQ_LEN)]
    seq_len: u32,
    /// Output table (.csv or .parquet); CSV on stdout when omitted
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Measured profile tables (.csv or .parquet)
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    measured: Vec<PathBuf>,
    /// The GPU whose rows are fitted
    #[arg(long)]
    gpu: String,
    /// Start parameters (TOML); the analytic defaults otherwise
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Start without epilogue fusion (eager frameworks such as PyTorch run BN and ReLU as
    /// kernels of their own)
    #[arg(long)]
    unfused: bool,
    /// Most objective evaluations of the optimizer
    #[arg(long, default_value_t = 600)]
    max_evaluations: u32,
    /// Write the fitted parameters (TOML) here, with a note of what they were fitted on
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ImportParvaArgs {
    /// ParvaGPU data directory (holding prof_data/), or the prof_data directory itself
    dir: PathBuf,
    /// The GPU the tables were measured on
    #[arg(long)]
    gpu: String,
    /// Output table (.csv or .parquet)
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportPerfArgs {
    /// perf_analyzer CSV (`perf_analyzer ... -f FILE`)
    file: PathBuf,
    /// GPU id or name
    #[arg(long)]
    gpu: String,
    /// MIG profile the server ran in
    #[arg(long)]
    profile: String,
    /// Model name
    #[arg(long)]
    model: String,
    /// Batch size of each request
    #[arg(long)]
    batch: u32,
    /// Model instances (processes) serving in the MIG instance
    #[arg(long, default_value_t = 1)]
    procs: u32,
    /// Which concurrency row to use; the lowest when omitted
    #[arg(long)]
    concurrency: Option<u32>,
    /// Latency statistic: avg, p50, p90, p95 or p99
    #[arg(long, default_value = "avg")]
    latency: String,
    /// Output table (.csv or .parquet)
    #[arg(short, long)]
    output: PathBuf,
    /// Merge into the output table if it exists (the new row replaces one with its key)
    #[arg(long)]
    append: bool,
}

const SHOW_HELP: &str = "\
The knee is the smallest profiled batch after which the next one raises throughput by less
than --knee-threshold (PARIS's saturation point).

Examples:
  migsched profile show datasets/profiles/a100-80gb.csv --model resnet50
  migsched profile show table.parquet --gpu h100-80gb --procs 1 --rows
  migsched profile show table.csv --json";

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Profile tables (.csv or .parquet); several are merged, later files winning
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only this model
    #[arg(long)]
    model: Option<String>,
    /// Only this GPU
    #[arg(long)]
    gpu: Option<String>,
    /// Only this many MPS processes
    #[arg(long)]
    procs: Option<u32>,
    /// Knee threshold: the smallest relative throughput gain that still counts as growth
    #[arg(long, default_value_t = 0.1, value_parser = parse_fraction)]
    knee_threshold: f64,
    /// Print every row, not only the per-group summary
    #[arg(long)]
    rows: bool,
    /// Print JSON instead of tables
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, command: ProfileCommand) -> Result<Outcome> {
    match command {
        ProfileCommand::Show(a) => show(
            env,
            &ShowSpec {
                files: a.files,
                model: a.model,
                gpu: a.gpu,
                procs: a.procs,
                knee_threshold: a.knee_threshold,
                rows: a.rows,
                json: a.json,
            },
        )?,
        ProfileCommand::Generate(a) => generate(
            env,
            &GenerateSpec {
                gpu: a.gpu,
                models: a.models,
                batches: a.batches,
                max_procs: a.max_procs,
                params: a.params,
                seq_len: a.seq_len,
                output: a.output,
            },
        )?,
        ProfileCommand::Calibrate(a) => calibrate(
            env,
            &CalibrateSpec {
                measured: a.measured,
                gpu: a.gpu,
                params: a.params,
                unfused: a.unfused,
                max_evaluations: a.max_evaluations,
                output: a.output,
                json: a.json,
            },
        )?,
        ProfileCommand::Import(ImportCommand::Parvagpu(a)) => import_parvagpu(
            env,
            &ImportParvaSpec {
                dir: a.dir,
                gpu: a.gpu,
                output: a.output,
            },
        )?,
        ProfileCommand::Import(ImportCommand::PerfAnalyzer(a)) => import_perf(
            env,
            &ImportPerfSpec {
                file: a.file,
                options: PerfAnalyzerOptions {
                    gpu: a.gpu,
                    profile: a.profile,
                    model: a.model,
                    batch: a.batch,
                    procs: a.procs,
                    concurrency: a.concurrency,
                    latency: a
                        .latency
                        .parse()
                        .map_err(|e| anyhow::anyhow!("--latency: {e}"))?,
                },
                output: a.output,
                append: a.append,
            },
        )?,
    }
    Ok(Outcome::Yes)
}
