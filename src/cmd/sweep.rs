//! `migsched sweep`: a grid of (instance × method × scheduler × load × seed) cells, run in
//! parallel, resumable, and sliceable into shards for batch systems (`migsched_lab::sweep`);
//! `sweep merge` joins shard outputs.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use migsched_lab::sweep::{Cell, merge, parse_shard};
use migsched_out::print_json;

use super::{Env, Outcome};

const AFTER_HELP: &str = "\
SPEC is a TOML file (paths relative to it):

  instances  = [\"../instances/small.toml\", \"../instances/medium.toml\"]
  methods    = [\"ilp\", \"greedy\"]          # solve methods
  objective  = \"min-gpus\"                 # optional (default min-gpus)
  schedulers = [\"fifs\", \"elsa\"]
  loads      = [0.5, 1.0]
  seeds      = [1, 2]
  duration_s = 5.0                        # simulated seconds per cell, 0.001..1e7
  mode       = \"prebatched\"              # or \"dynamic\" (optional, default prebatched)
  arrival    = \"gamma:2\"                 # optional: poisson (default) | gamma:CV | onoff:ON_S:OFF_S
  noise      = \"lognormal:0.1\"           # optional: none (default) | exp | lognormal:CV
  query_batch = \"fixed:8\"                # optional: one | fixed:B | lognormal:MU:SIGMA:MIN:MAX

Loads are factors in (0, 1e6]. Sweeps plan MIG layouts (gpulet methods are refused); rate
profiles over time belong to gpulet simulations (`simulate --rates`).

Each cell plans its instance with its method (once per instance and method), simulates the plan
under its scheduler, load and seed, and writes DIR/cells/<key>.json. Finished cells are skipped
when the sweep runs again. --shard I/N runs the cells whose grid index is I-1 modulo N, so a
job array of N tasks covers the grid; `migsched sweep merge` joins their directories. Every row
carries the seed, FNV-1a fingerprints of the instance file and of its profile source, and the
migsched version.

Exit codes: 0 every cell ran; 1 some plan could not be made (its cells are recorded with the
solver's status); 2 unusable spec or input.

Examples:
  migsched sweep datasets/sweeps/example.toml --jobs 2 -o results/sweep
  migsched sweep spec.toml --shard 3/16 -o results/shard-3      # task 3 of a 16-task array
  migsched sweep merge results/shard-* -o results/all";

/// Arguments of `migsched sweep`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = AFTER_HELP
)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    /// The sweep's specification (TOML)
    #[arg(required = true)]
    spec: Option<PathBuf>,
    /// Output directory (created; finished cells in it are kept and skipped)
    #[arg(short, long, required = true)]
    out: Option<PathBuf>,
    /// Cells run at once
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Run one slice of the grid: I/N (1 ≤ I ≤ N) takes the cells with index ≡ I−1 (mod N)
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Join the cells of shard directories into one results table
    #[command(
        after_help = "Cells present in several directories must agree (same key, same row).\n\nExample:\n  migsched sweep merge results/shard-* -o results/all"
    )]
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Shard output directories
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output directory
    #[arg(short, long)]
    out: PathBuf,
}

/// Runs `migsched sweep`.
pub fn run(env: &Env, args: SweepArgs) -> Result<Outcome> {
    if let Some(SweepCommand::Merge(m)) = args.command {
        let cells = merge(&m.dirs, &m.out)?;
        return summarize(&cells, &m.out, false);
    }
    let (Some(spec_path), Some(out)) = (args.spec, args.out) else {
        bail!("a sweep needs SPEC and -o DIR (see --help)");
    };
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let cells = migsched_lab::sweep::run(env, &spec_path, &out, args.jobs, shard)?;
    summarize(&cells, &out, args.json)
}

fn summarize(cells: &[Cell], out: &Path, json: bool) -> Result<Outcome> {
    let failed: Vec<&Cell> = cells.iter().filter(|c| c.failure.is_some()).collect();
    let unplanned = failed.len();
    if json {
        let v = serde_json::json!({
            "out": out.display().to_string(),
            "cells": cells.len(),
            "unplanned": unplanned,
            "failed": failed
                .iter()
                .map(|c| serde_json::json!({"key": c.key, "status": c.status, "failure": c.failure}))
                .collect::<Vec<_>>(),
        });
        print_json(&v)?;
    } else {
        outln!(
            "{} cells in {} ({} without a plan); results in {}",
            cells.len(),
            out.display(),
            unplanned,
            out.join("results.csv").display()
        );
        for c in &failed {
            outln!(
                "  no plan: {} ({}): {}",
                c.key,
                c.status,
                c.failure.as_deref().unwrap_or("")
            );
        }
    }
    Ok(Outcome::from_ok(unplanned == 0))
}
