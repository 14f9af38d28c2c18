//! `migsched catalog diff|toml`: compare the catalog with a real GPU, or print it.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::catalog::{DiffQuery, catalog_diff};

use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Compare saved `nvidia-smi mig -lgip` and `-lgipp` output with the catalog
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Print the built-in catalog as TOML (a starting point for `--catalog FILE`)
    Toml,
}

const DIFF_HELP: &str = "\
On the GPU machine (either command alone is enough; both compare more):
  nvidia-smi mig -lgip > lgip.txt
  nvidia-smi mig -lgipp > lgipp.txt

Pasted prompts and notes around the output are skipped. Without --gpu, the GPU type is
inferred: from a GPU name line in the files (as `nvidia-smi -L` prints), else from the
profile names and NVML ids, then SM counts and memory.

Differences come in four classes: mismatch (the catalog is wrong for this GPU, or the
output is from another GPU type); driver-dependent memory (a figure the catalog lists as
printed by other drivers, or within --memory-tolerance of its own); and alias (an older name
of a profile, e.g. GB200's 1g.24gb); newer profile (absent, and the catalog says it came with a
later driver than the GPU's first, e.g. A100's 1g.10gb from R525). Only mismatches fail.

Exit codes: 0 the catalog matches (no mismatch); 1 mismatches (each is listed); 2 unusable
input, or a GPU that cannot be told.

Examples (transcripts shipped with migsched, see datasets/nvidia-smi/README.md):
  migsched catalog diff --lgip datasets/nvidia-smi/a100-40gb-before-r525/lgip.txt \\
      --lgipp datasets/nvidia-smi/a100-40gb-before-r525/lgipp.txt --gpu a100-40gb
  migsched catalog diff --lgip lgip.txt --memory-tolerance 0 --json";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The GPU type the output was taken on (inferred from the output when omitted)
    #[arg(long)]
    gpu: Option<String>,
    /// Saved output of `nvidia-smi mig -lgip`
    #[arg(long, value_name = "FILE", required_unless_present = "lgipp")]
    lgip: Option<PathBuf>,
    /// Saved output of `nvidia-smi mig -lgipp`
    #[arg(long, value_name = "FILE")]
    lgipp: Option<PathBuf>,
    /// Memory differences up to this share of the catalog's figure are driver-dependent
    /// (a percentage such as 2% or a fraction such as 0.02)
    #[arg(long, value_name = "PCT", default_value = "2%", value_parser = parse_share)]
    memory_tolerance: f64,
    /// The output is an excerpt: catalog profiles it does not show are not reported
    #[arg(long)]
    partial: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

/// `2%` or `0.02` as a fraction in [0, 1].
fn parse_share(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    let v: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a share such as 2% or 0.02"))?;
    let share = v / scale;
    if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
        return Err(format!("'{text}' is outside 0%..100%"));
    }
    Ok(share)
}

pub fn run(env: &Env, command: CatalogCommand) -> Result<Outcome> {
    match command {
        CatalogCommand::Diff(a) => Ok(Outcome::from_ok(catalog_diff(
            env,
            &DiffQuery {
                gpu: a.gpu,
                lgip: a.lgip,
                lgipp: a.lgipp,
                memory_tolerance: a.memory_tolerance,
                partial: a.partial,
                json: a.json,
            },
        )?)),
        CatalogCommand::Toml => {
            out!("{}", migsched_core::catalog::BUILTIN_TOML);
            Ok(Outcome::Yes)
        }
    }
}
