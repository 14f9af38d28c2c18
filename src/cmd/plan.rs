//! `migsched plan import parvagpu|mig-parted`: other tools' plans as migsched plans, recorded
//! as the files say (legal or not), so `migsched verify plan` can check them like ours.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::import::{MigPartedPlanImport, import_mig_parted_plan, import_parvagpu_plan};

use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Import another tool's plan
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A ParvaGPU deployment CSV (deployment/SLO<k>/SLO<k>_ParvaGPU_deploy.csv)
    #[command(after_help = PARVA_HELP)]
    Parvagpu(ParvaArgs),
    /// A NVIDIA mig-parted config (counts only: the instances are idle)
    #[command(name = "mig-parted", after_help = MIG_PARTED_HELP)]
    MigParted(MigPartedArgs),
}

const PARVA_HELP: &str = "\
Columns: Num instance (node), Num GPU, Model, Placement (start slice), Instance size (GPCs),
Batch size, Num proc. Sizes map to the GPU's non-+me profile with that many GPCs and the fewest
memory slices. Latency and throughput come from the instance's profile table; demand, SLOs and
costs from the instance. The import records what the file says and repairs nothing: an illegal
placement comes through for `migsched verify plan` to report. It fails only on unreadable input.

Example:
  migsched instance import parvagpu ../shared/datasets/parvagpu-a100-80gb --scenario 3 -o s3.toml
  migsched plan import parvagpu SLO3_ParvaGPU_deploy.csv --instance s3.toml -o parva3.json
  migsched verify plan parva3.json --instance s3.toml";

const MIG_PARTED_HELP: &str = "\
mig-parted holds profile counts, not starts: starts are chosen by an exhaustive search (what
mig-parted's apply reaches); counts that no arrangement holds are recorded at first free legal
starts, for `migsched verify plan` to report. One plan GPU per (GPU type, device index);
`devices: all` means --all-devices devices.

Example:
  migsched plan import mig-parted config.yaml --config balanced -o plan.json
  migsched verify plan plan.json";

#[derive(Debug, Args)]
pub struct ParvaArgs {
    /// ParvaGPU's deployment CSV
    file: PathBuf,
    /// The instance the deployment serves (TOML): demand, SLOs, GPU type and profile table
    #[arg(long, value_name = "INSTANCE")]
    instance: PathBuf,
    /// GPU type of the deployment (default: the instance's only GPU type)
    #[arg(long)]
    gpu: Option<String>,
    /// Write the plan here (JSON) instead of stdout
    #[arg(short, long, value_name = "PLAN")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MigPartedArgs {
    /// The mig-parted config (YAML)
    file: PathBuf,
    /// The configuration to import (needed when the file has several)
    #[arg(long)]
    config: Option<String>,
    /// GPU type of every entry, instead of the entries' device-filters
    #[arg(long)]
    gpu: Option<String>,
    /// How many devices `devices: all` stands for
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    all_devices: u32,
    /// Write the plan here (JSON) instead of stdout
    #[arg(short, long, value_name = "PLAN")]
    output: Option<PathBuf>,
}

pub fn run(env: &Env, command: PlanCommand) -> Result<Outcome> {
    match command {
        PlanCommand::Import(ImportCommand::Parvagpu(a)) => import_parvagpu_plan(
            env,
            &a.file,
            &a.instance,
            a.gpu.as_deref(),
            a.output.as_deref(),
        )?,
        PlanCommand::Import(ImportCommand::MigParted(a)) => import_mig_parted_plan(
            env,
            &a.file,
            &MigPartedPlanImport {
                config: a.config,
                gpu: a.gpu,
                all_devices: a.all_devices,
            },
            a.output.as_deref(),
        )?,
    }
    Ok(Outcome::Yes)
}
