//! `migsched mig-parted check|export`: NVIDIA mig-parted v1 configs, offline.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::mig_parted::{
    MigPartedCheck, MigPartedExport, check_mig_parted, export_mig_parted,
};

use super::args::DriverArgs;
use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum MigPartedCommand {
    /// Say for every config and device entry whether its counts can be placed on its GPU
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Write a mig-parted config from layouts (one device entry per layout)
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
}

const CHECK_HELP: &str = "\
FILE is a mig-parted config (`version: v1`, `mig-configs:`), or a Kubernetes ConfigMap that
holds one as a string under data.\"config.yaml\" (such as the GPU Operator's
default-mig-parted-config; a ConfigMap without that key is read when exactly one other data
key holds a config). A file of several YAML documents (`---`) is read when exactly one of
them is a config or such a ConfigMap. Errors give the line and column in FILE, also inside
a ConfigMap's embedded config.

The GPU type of each entry comes from --gpu, or else from the entry's device-filter (PCI
ids such as 0x20B010DE); an entry with neither cannot be checked (the reason says which
catalog GPUs have its profiles). With --gpu, an entry without device-filter none of whose
profiles exists on that GPU, while another catalog GPU has them all (as in configs that
list `all-1g.20gb` for 80GB GPUs beside `all-1g.5gb` for A100-40GB without filters), is
reported as not for this GPU, like an entry whose device-filter excludes it. An entry that
also names a profile of that GPU still fails (1g.10gb exists on A100-40GB as well as on the
80GB GPUs); the message then says which GPUs have all its profiles.

-c NAME checks one configuration, as `nvidia-mig-parted apply -c NAME` selects one.

Exit codes: 0 every entry can be placed (or has MIG disabled, or is for another GPU);
1 some entry cannot be placed or names a profile its GPU lacks (mig-parted would fail at
apply time); 2 unusable input (also an unknown -c NAME: the message lists the names), or
an entry migsched cannot check.

Examples:
  migsched mig-parted check config.yaml
  migsched mig-parted check config.yaml --gpu a100-80gb --json
  migsched mig-parted check default-mig-parted-config.yaml --gpu a100-40gb -c all-balanced
  kubectl get configmap default-mig-parted-config -n gpu-operator -o yaml > cm.yaml
  migsched mig-parted check cm.yaml --gpu h100-80gb";

const EXPORT_HELP: &str = "\
Each LAYOUT is a text form or profile counts as in `migsched check-layout`. One layout
applies to all devices; several apply to devices 0, 1, ... in order. mig-parted keeps only
counts and may choose other starts: the placement is written as a comment.

Examples:
  migsched mig-parted export --gpu a100-80gb 3g.40gb,2g.20gb,2x1g.10gb
  migsched mig-parted export --gpu h100-80gb --name serving 7g.80gb 3g.40gb,3g.40gb -o mig.yaml";

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The mig-parted config (YAML)
    file: PathBuf,
    /// Check every entry against this GPU type instead of using device-filters
    #[arg(long)]
    gpu: Option<String>,
    /// Check only this configuration (as `nvidia-mig-parted apply -c NAME`)
    #[arg(short = 'c', long = "config", value_name = "NAME")]
    config: Option<String>,
    #[command(flatten)]
    driver: DriverArgs,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// GPU id or name (see `migsched gpus`)
    #[arg(long)]
    gpu: String,
    /// Name of the configuration in the file
    #[arg(long, default_value = "migsched")]
    name: String,
    /// Devices for a single layout: `all` or indices like 0,1
    #[arg(long, value_name = "all|I,...")]
    devices: Option<String>,
    #[command(flatten)]
    driver: DriverArgs,
    /// Write to this file instead of stdout
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The layouts
    #[arg(required = true)]
    layouts: Vec<String>,
}

pub fn run(env: &Env, command: MigPartedCommand) -> Result<Outcome> {
    match command {
        MigPartedCommand::Check(a) => Ok(Outcome::from_ok(check_mig_parted(
            env,
            &MigPartedCheck {
                file: a.file,
                gpu: a.gpu,
                config: a.config,
                driver: a.driver.driver(),
                json: a.json,
            },
        )?)),
        MigPartedCommand::Export(a) => {
            export_mig_parted(
                env,
                &MigPartedExport {
                    gpu: a.gpu,
                    name: a.name,
                    devices: a.devices,
                    driver: a.driver.driver(),
                    output: a.output,
                    layouts: a.layouts,
                },
            )?;
            Ok(Outcome::Yes)
        }
    }
}
