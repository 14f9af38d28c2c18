//! `migsched catalog diff|toml`: compare the catalog with a real GPU, or print it.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_core::nvidia_smi::{Difference, diff_catalog, parse_lgip, parse_lgipp};
use serde::Serialize;

use super::{Env, Outcome};
use crate::output::{Table, print_json, read_text};

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Compare saved `nvidia-smi mig -lgip` and `-lgipp` output with the catalog
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Print the built-in catalog as TOML (a starting point for `--catalog FILE`)
    Toml,
}

const DIFF_HELP: &str = "\
On the GPU machine:
  nvidia-smi mig -lgip > lgip.txt
  nvidia-smi mig -lgipp > lgipp.txt

Exit codes: 0 the catalog matches; 1 differences (each is listed); 2 unusable input.

Example (fixtures shipped with migsched):
  migsched catalog diff --gpu a100-40gb --lgip datasets/nvidia-smi/a100-40gb-before-r525/lgip.txt \\
      --lgipp datasets/nvidia-smi/a100-40gb-before-r525/lgipp.txt";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The GPU type the output was taken on
    #[arg(long)]
    gpu: String,
    /// Saved output of `nvidia-smi mig -lgip`
    #[arg(long, value_name = "FILE")]
    lgip: PathBuf,
    /// Saved output of `nvidia-smi mig -lgipp`
    #[arg(long, value_name = "FILE")]
    lgipp: PathBuf,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct DiffJson<'a> {
    gpu: &'a str,
    matches: bool,
    differences: &'a [Difference],
}

pub fn run(env: &Env, command: CatalogCommand) -> Result<Outcome> {
    match command {
        CatalogCommand::Diff(a) => diff(env, a),
        CatalogCommand::Toml => {
            out!("{}", migsched_core::catalog::BUILTIN_TOML);
            Ok(Outcome::Yes)
        }
    }
}

fn diff(env: &Env, args: DiffArgs) -> Result<Outcome> {
    let gpu = env.gpu(&args.gpu)?;
    let lgip = parse_lgip(
        &read_text(&args.lgip, "-lgip output")?,
        &args.lgip.display().to_string(),
    )?;
    let lgipp = parse_lgipp(
        &read_text(&args.lgipp, "-lgipp output")?,
        &args.lgipp.display().to_string(),
    )?;
    let diffs = diff_catalog(&gpu, &lgip, &lgipp);
    if args.json {
        print_json(&DiffJson {
            gpu: gpu.id(),
            matches: diffs.is_empty(),
            differences: &diffs,
        })?;
    } else if diffs.is_empty() {
        let n = lgip
            .iter()
            .map(|r| r.gpu)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        outln!(
            "the catalog matches: {} profiles of {gpu} agree on {n} GPU(s)",
            gpu.profiles().len()
        );
    } else {
        outln!(
            "{} differences between the catalog and the GPU output for {gpu}:",
            diffs.len()
        );
        let mut t = Table::new(&[">GPU", "profile", "field", "catalog", "device"]);
        for d in &diffs {
            t.row(vec![
                d.gpu_index.to_string(),
                d.profile.clone(),
                d.field.to_string(),
                d.catalog.clone(),
                d.device.clone(),
            ]);
        }
        out!("{}", t.render());
    }
    Ok(Outcome::from_ok(diffs.is_empty()))
}
