//! `migsched instance import`: instance files from other tools' scenarios.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::import::{ParvaImport, write_parvagpu_instance};

use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Import a ParvaGPU SLO scenario (SLO/SLO_latency.csv and SLO/SLO_req_rate.csv)
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// One of ParvaGPU's SLO scenarios, in ParvaGPU's own setting
    #[command(after_help = PARVA_HELP)]
    Parvagpu(ParvaArgs),
}

const PARVA_HELP: &str = "\
The instance keeps ParvaGPU's setting by default: SLO rule L < 0.9·SLO/2, MPS processes up to
the most the profile data has. Unless --profiles names an existing table, the measured
profiles are imported too and written beside the instance as <instance>.profiles.csv, which
the instance names.

Example:
  migsched instance import parvagpu ../shared/datasets/parvagpu-a100-80gb --scenario 3 -o s3.toml
  migsched solve s3.toml --objective min-gpus";

#[derive(Debug, Args)]
pub struct ParvaArgs {
    /// ParvaGPU data directory (holding SLO/ and prof_data/)
    pub dir: PathBuf,
    /// Scenario number (1-based row of the SLO files)
    #[arg(long)]
    pub scenario: usize,
    /// The instance file to write (TOML)
    #[arg(short, long)]
    pub output: PathBuf,
    /// GPU type of the cluster
    #[arg(long, default_value = "a100-80gb")]
    pub gpu: String,
    /// GPUs available (an upper bound for min-gpus)
    #[arg(long, default_value_t = 256)]
    pub gpus: u32,
    /// Most MPS processes per instance; the most in the profile data when omitted
    #[arg(long)]
    pub max_procs: Option<u32>,
    /// An existing profile table for the instance to name instead of importing one
    #[arg(long, value_name = "FILE")]
    pub profiles: Option<PathBuf>,
}

pub fn run(env: &Env, command: InstanceCommand) -> Result<Outcome> {
    match command {
        InstanceCommand::Import(ImportCommand::Parvagpu(a)) => import_parvagpu(env, a),
    }
}

fn import_parvagpu(env: &Env, args: ParvaArgs) -> Result<Outcome> {
    let message = write_parvagpu_instance(
        env,
        &ParvaImport {
            dir: args.dir,
            scenario: args.scenario,
            output: args.output,
            gpu: args.gpu,
            gpus: args.gpus,
            max_procs: args.max_procs,
            profiles: args.profiles,
        },
    )?;
    outln!("{message}");
    Ok(Outcome::Yes)
}
