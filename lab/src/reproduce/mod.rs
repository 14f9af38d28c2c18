//! The `reproduce` targets, one module each: every one runs its experiment, writes its raw
//! results (CSV and Parquet), plots (SVG and PNG) and a Markdown summary into a directory, and
//! returns the summary; [`render_again`] writes them again from a directory's `results.json`.

pub mod gpulet;
pub mod lazybatching;
pub mod paris_elsa;
pub mod parvagpu;
pub mod scaling;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use migsched_out::write_atomic;
use serde::Deserialize;

use crate::Env;

/// Reproduction targets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    /// PARIS + ELSA vs homogeneous partitions with FIFS vs the ILP plan
    ParisElsa,
    /// ParvaGPU's six SLO scenarios planned exactly (needs --data)
    Parvagpu,
    /// Solver time and simulator speed against size
    Scaling,
    /// LazyBatching vs graph batching vs serial, node by node, on one instance
    Lazybatching,
    /// gpulet (with and without interference awareness) vs time sharing only
    Gpulet,
}

impl Target {
    /// The name on the command line (and of the default results directory).
    pub fn name(self) -> &'static str {
        match self {
            Target::ParisElsa => "paris-elsa",
            Target::Parvagpu => "parvagpu",
            Target::Scaling => "scaling",
            Target::Lazybatching => "lazybatching",
            Target::Gpulet => "gpulet",
        }
    }
}

/// What a reproduction reads besides the bundled datasets, and how long it runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Short simulations: under a minute in all.
    pub quick: bool,
    /// Seed of every simulation.
    pub seed: u64,
    /// Third-party data a target reads in place (parvagpu: ParvaGPU's data directory).
    pub data: Option<PathBuf>,
}

/// Runs a target into `out` (which must exist), writes its `summary.md` and returns the summary.
///
/// The target writes into a staging directory inside `out`; only when every file of it is
/// written are they renamed into `out`, so a failed or interrupted run leaves the previous
/// results (or nothing) rather than a mix. (A SIGKILL can leave the hidden staging directory.)
pub fn run(env: &Env, target: Target, out: &Path, options: &Options) -> Result<String> {
    let staging = out.join(format!(".migsched-staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("creating '{}'", staging.display()))?;
    let result = run_into(env, target, &staging, options);
    let result = result.and_then(|summary| {
        publish(&staging, out)?;
        Ok(summary)
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn run_into(env: &Env, target: Target, out: &Path, options: &Options) -> Result<String> {
    let Options { quick, seed, .. } = *options;
    let summary = match target {
        Target::ParisElsa => paris_elsa::reproduce(env, out, quick, seed)?,
        Target::Parvagpu => parvagpu::reproduce(env, out, options.data.as_deref())?,
        Target::Scaling => scaling::reproduce(env, out, quick)?,
        Target::Lazybatching => lazybatching::reproduce(env, out, quick, seed)?,
        Target::Gpulet => gpulet::reproduce(env, out, quick, seed)?,
    };
    write_atomic(&out.join("summary.md"), &summary)?;
    Ok(summary)
}

/// Renames every file of `staging` into `out` (subdirectories file by file), each checked as
/// a destination first.
fn publish(staging: &Path, out: &Path) -> Result<()> {
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(staging)
        .with_context(|| format!("reading '{}'", staging.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading '{}'", staging.display()))?;
    names.sort();
    for n in &names {
        if !staging.join(n).is_dir() {
            migsched_out::check_output(&out.join(n))?;
        }
    }
    for n in &names {
        let (from, to) = (staging.join(n), out.join(n));
        if from.is_dir() {
            std::fs::create_dir_all(&to).with_context(|| format!("creating '{}'", to.display()))?;
            publish(&from, &to)?;
        } else {
            std::fs::rename(&from, &to).with_context(|| format!("writing '{}'", to.display()))?;
        }
    }
    Ok(())
}

/// Renders a results directory's tables, plots and summary again from its `results.json`
/// (`migsched report`); returns the summary.
pub fn render_again(dir: &Path) -> Result<String> {
    let path = dir.join("results.json");
    let text = migsched_out::read_text(&path, "the results")?;
    // The rendering writes results.json again (same content): a deliberate update of an input.
    migsched_out::allow_update(&path);
    #[derive(Deserialize)]
    struct Head {
        target: String,
    }
    let head: Head = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not the results.json of `migsched reproduce`",
            path.display()
        )
    })?;
    let summary = match head.target.as_str() {
        "paris-elsa" => {
            let r: paris_elsa::ParisElsaResults = serde_json::from_str(&text)
                .with_context(|| format!("{}: not paris-elsa results", path.display()))?;
            paris_elsa::render(dir, &r)?
        }
        "lazybatching" => {
            lazybatching::render_again(dir, &text).with_context(|| format!("{}", path.display()))?
        }
        "parvagpu" => parvagpu::render(
            dir,
            &serde_json::from_str(&text)
                .with_context(|| format!("{}: not parvagpu results", path.display()))?,
        )?,
        "scaling" => scaling::render(
            dir,
            &serde_json::from_str(&text)
                .with_context(|| format!("{}: not scaling results", path.display()))?,
        )?,
        "gpulet" => {
            gpulet::render_again(dir, &text).with_context(|| format!("{}", path.display()))?
        }
        other => bail!(
            "{}: target '{other}' is not one migsched reproduces (paris-elsa, lazybatching, parvagpu, scaling, gpulet)",
            path.display()
        ),
    };
    write_atomic(&dir.join("summary.md"), &summary)?;
    Ok(summary)
}
