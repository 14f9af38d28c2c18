//! `migsched-hwbench`: the slim standalone hardware bench a lab copies to GPU machines that
//! have no Rust toolchain or network. The same commands and files as `migsched hwbench`,
//! built from core and hwbench only (no HiGHS, no polars).
//!
//! Exit codes: 0 success; 1 the answer is "no" (differences, changes needed); 2 unusable
//! input, usage, or no driver.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use migsched_core::Catalog;
use migsched_hwbench::cli::{HwbenchCommand, run};
use migsched_out::read_text;

/// migsched's hardware bench: discover MIG GPUs and reach a plan's layout.
#[derive(Debug, Parser)]
#[command(name = "migsched-hwbench", version)]
struct Cli {
    /// A catalog file (TOML, the shape of `migsched catalog toml`) whose GPUs are added to the
    /// built-in ones
    #[arg(long, global = true, env = "MIGSCHED_CATALOG", value_name = "FILE")]
    catalog: Option<PathBuf>,
    #[command(subcommand)]
    command: HwbenchCommand,
}

fn catalog(path: Option<&PathBuf>) -> Result<Catalog> {
    let builtin = Catalog::builtin().clone();
    let Some(path) = path else {
        return Ok(builtin);
    };
    let text = read_text(path, "catalog")?;
    let origin = path.display().to_string();
    let extra = Catalog::from_toml_str(&text, &origin)?;
    Ok(builtin.extended(extra, &origin)?)
}

fn main() -> ExitCode {
    // No output of a command replaces a file it read (`discover --state s.json -o s.json`).
    migsched_out::protect_inputs();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = catalog(cli.catalog.as_ref())
        .context("loading the GPU catalog")
        .and_then(|c| run(&c, cli.command));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
