//! `migsched gpus`: the catalog, or one GPU's profiles.

use anyhow::Result;
use clap::Args;
use migsched_lab::catalog::{print_gpu, print_gpus};

use super::{Env, Outcome};

#[derive(Debug, Args)]
pub struct GpusArgs {
    /// A GPU id or name (e.g. h100-80gb, "NVIDIA H100 80GB HBM3"); all GPUs when omitted
    gpu: Option<String>,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, args: GpusArgs) -> Result<Outcome> {
    match &args.gpu {
        None => print_gpus(env, args.json)?,
        Some(name) => print_gpu(&env.gpu(name)?, args.json)?,
    }
    Ok(Outcome::Yes)
}
