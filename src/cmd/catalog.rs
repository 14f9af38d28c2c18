//! `migsched catalog diff|toml`: compare the catalog with a real GPU, or print it.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_core::nvidia_smi::{
    DiffClass, DiffOptions, Difference, diff_catalog, identify_gpu, parse_lgip, parse_lgipp,
};
use migsched_out::{Table, print_json, read_text};
use serde::Serialize;

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

#[derive(Serialize)]
struct DiffJson<'a> {
    gpu: &'a str,
    identified_by: &'a str,
    matches: bool,
    mismatches: usize,
    driver_dependent: usize,
    aliases: usize,
    newer_profiles: usize,
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

/// `n thing` or `n things`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn diff(env: &Env, args: DiffArgs) -> Result<Outcome> {
    let read = |path: &Option<PathBuf>, what: &str| -> Result<Option<(String, String)>> {
        path.as_ref()
            .map(|p| Ok((read_text(p, what)?, p.display().to_string())))
            .transpose()
    };
    let lgip_text = read(&args.lgip, "-lgip output")?;
    let lgipp_text = read(&args.lgipp, "-lgipp output")?;
    let lgip = match &lgip_text {
        Some((text, origin)) => parse_lgip(text, origin)?,
        None => Vec::new(),
    };
    let lgipp = match &lgipp_text {
        Some((text, origin)) => parse_lgipp(text, origin)?,
        None => Vec::new(),
    };
    let (gpu, evidence) = match &args.gpu {
        Some(name) => (env.gpu(name)?, "--gpu".to_string()),
        None => {
            let texts: Vec<&str> = [&lgip_text, &lgipp_text]
                .into_iter()
                .flatten()
                .map(|(t, _)| t.as_str())
                .collect();
            let found = identify_gpu(&env.catalog, &texts, &lgip, &lgipp)?;
            (found.gpu, found.evidence)
        }
    };
    let options = DiffOptions {
        memory_tolerance: args.memory_tolerance,
        partial: args.partial,
    };
    let diffs = diff_catalog(&gpu, &lgip, &lgipp, &options);
    let of = |c: DiffClass| diffs.iter().filter(|d| d.class == c).count();
    let (mismatches, memory, aliases, newer) = (
        of(DiffClass::Mismatch),
        of(DiffClass::DriverMemory),
        of(DiffClass::Alias),
        of(DiffClass::NewerProfile),
    );
    if args.json {
        print_json(&DiffJson {
            gpu: gpu.id(),
            identified_by: &evidence,
            matches: mismatches == 0,
            mismatches,
            driver_dependent: memory,
            aliases,
            newer_profiles: newer,
            differences: &diffs,
        })?;
        return Ok(Outcome::from_ok(mismatches == 0));
    }
    if args.gpu.is_none() {
        outln!("GPU: {gpu} ({evidence})");
    }
    let gpus = lgip
        .iter()
        .map(|r| r.gpu)
        .chain(lgipp.iter().map(|r| r.gpu))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let compared = match (args.lgip.is_some(), args.lgipp.is_some()) {
        (true, true) => "-lgip and -lgipp",
        (true, false) => "-lgip only",
        _ => "-lgipp only",
    };
    if mismatches == 0 {
        outln!(
            "the catalog matches: {} of {gpu} agree on {} ({compared}{})",
            count(gpu.profiles().len(), "profile", "profiles"),
            count(gpus, "GPU", "GPUs"),
            if args.partial { ", an excerpt" } else { "" }
        );
    } else {
        outln!(
            "{} between the catalog and the GPU output for {gpu}:",
            count(mismatches, "mismatch", "mismatches")
        );
    }
    if memory + aliases + newer > 0 && mismatches == 0 {
        let parts: Vec<String> = [
            (
                memory,
                "driver-dependent memory figure",
                "driver-dependent memory figures",
            ),
            (aliases, "older profile name", "older profile names"),
            (
                newer,
                "profile newer than the driver",
                "profiles newer than the driver",
            ),
        ]
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|&(n, one, many)| count(n, one, many))
        .collect();
        outln!("{}, which are not mismatches:", parts.join(", "));
    }
    if !diffs.is_empty() {
        let mut t = Table::new(&[
            ">GPU", "profile", "field", "catalog", "device", "class", "note",
        ]);
        for d in &diffs {
            t.row(vec![
                d.gpu_index.to_string(),
                d.profile.clone(),
                d.field.to_string(),
                d.catalog.clone(),
                d.device.clone(),
                match d.class {
                    DiffClass::Mismatch => "mismatch",
                    DiffClass::DriverMemory => "driver memory",
                    DiffClass::Alias => "alias",
                    DiffClass::NewerProfile => "newer profile",
                }
                .to_string(),
                d.note.clone().unwrap_or_default(),
            ]);
        }
        out!("{}", t.render());
    }
    Ok(Outcome::from_ok(mismatches == 0))
}
