//! `migsched profile`: show, generate, calibrate and import profile tables.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_core::{ProfileRow, knee_batch};
use serde::Serialize;

use super::{Env, Outcome};
use crate::output::{Table, print_json};
use crate::tables::read_profile_tables;

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Print a profile table: per (GPU, model, profile, processes) its batches and knee
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),
}

const SHOW_HELP: &str = "\
The knee is the smallest profiled batch after which the next one raises throughput by less
than --knee-threshold (PARIS's saturation point).

Examples:
  migsched profile show datasets/profiles/a100-80gb.csv --model resnet50
  migsched profile show table.parquet --gpu h100-80gb --procs 1 --rows
  migsched profile show table.csv --json";

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Profile tables (.csv or .parquet); several are merged, later files winning
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only this model
    #[arg(long)]
    model: Option<String>,
    /// Only this GPU
    #[arg(long)]
    gpu: Option<String>,
    /// Only this many MPS processes
    #[arg(long)]
    procs: Option<u32>,
    /// Knee threshold: the smallest relative throughput gain that still counts as growth
    #[arg(long, default_value_t = 0.1, value_parser = parse_fraction)]
    knee_threshold: f64,
    /// Print every row, not only the per-group summary
    #[arg(long)]
    rows: bool,
    /// Print JSON instead of tables
    #[arg(long)]
    json: bool,
}

/// A fraction in (0, 1] from the command line.
pub fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(format!("'{s}' is not a fraction in (0, 1]")),
    }
}

/// One (gpu, model, profile, procs) group of a table.
#[derive(Debug, Serialize)]
pub struct GroupSummary {
    gpu: String,
    model: String,
    profile: String,
    procs: u32,
    batches: Vec<u32>,
    knee_batch: u32,
    knee_latency_ms: f64,
    knee_throughput_rps: f64,
    best_throughput_rps: f64,
    best_batch: u32,
    min_latency_ms: f64,
}

#[derive(Serialize)]
struct ShowJson<'a> {
    knee_threshold: f64,
    groups: &'a [GroupSummary],
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<Vec<&'a ProfileRow>>,
}

pub fn run(env: &Env, command: ProfileCommand) -> Result<Outcome> {
    match command {
        ProfileCommand::Show(a) => show(env, a),
    }
}

/// Groups rows by (gpu, model, profile, procs) and finds each group's knee.
pub fn summarize<'a>(
    rows: impl Iterator<Item = &'a ProfileRow>,
    threshold: f64,
) -> Vec<GroupSummary> {
    let mut groups: BTreeMap<(String, String, u8, String, u32), Vec<&ProfileRow>> = BTreeMap::new();
    for r in rows {
        // Order profiles by size class (1g before 7g) rather than alphabetically.
        let class: u8 = r
            .key
            .profile
            .split('g')
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(u8::MAX);
        groups
            .entry((
                r.key.gpu.clone(),
                r.key.model.clone(),
                class,
                r.key.profile.clone(),
                r.key.procs,
            ))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((gpu, model, _, profile, procs), rows)| {
            let points: Vec<(u32, f64)> = rows
                .iter()
                .map(|r| (r.key.batch, r.throughput_rps))
                .collect();
            let knee = knee_batch(&points, threshold).unwrap_or(rows[0].key.batch);
            let at = |b: u32| {
                rows.iter()
                    .find(|r| r.key.batch == b)
                    .copied()
                    .unwrap_or(rows[0])
            };
            let best = rows
                .iter()
                .max_by(|a, b| a.throughput_rps.total_cmp(&b.throughput_rps))
                .copied()
                .unwrap_or(rows[0]);
            GroupSummary {
                gpu,
                model,
                profile,
                procs,
                batches: rows.iter().map(|r| r.key.batch).collect(),
                knee_batch: knee,
                knee_latency_ms: at(knee).latency_ms,
                knee_throughput_rps: at(knee).throughput_rps,
                best_throughput_rps: best.throughput_rps,
                best_batch: best.key.batch,
                min_latency_ms: rows
                    .iter()
                    .map(|r| r.latency_ms)
                    .fold(f64::INFINITY, f64::min),
            }
        })
        .collect()
}

fn show(env: &Env, args: ShowArgs) -> Result<Outcome> {
    let table = read_profile_tables(&env.catalog, &args.files)?;
    let gpu = args.gpu.as_deref().map(|g| env.gpu(g)).transpose()?;
    let gpu_id = gpu.as_ref().map(|g| g.id().to_string());
    let model = args.model.as_ref().map(|m| m.trim().to_ascii_lowercase());
    let selected: Vec<&ProfileRow> = table
        .select(gpu_id.as_deref(), None, model.as_deref(), args.procs)
        .collect();
    if selected.is_empty() {
        anyhow::bail!(
            "no rows match the filters; the tables hold models {} on {}",
            table.models().join(", "),
            table.gpus().join(", ")
        );
    }
    let groups = summarize(selected.iter().copied(), args.knee_threshold);
    if args.json {
        print_json(&ShowJson {
            knee_threshold: args.knee_threshold,
            groups: &groups,
            rows: args.rows.then(|| selected.clone()),
        })?;
        return Ok(Outcome::Yes);
    }
    if args.rows {
        let mut t = Table::new(&[
            "gpu",
            "profile",
            "model",
            ">batch",
            ">procs",
            ">latency ms",
            ">throughput/s",
            ">memory MiB",
            "source",
        ]);
        for r in &selected {
            t.row(vec![
                r.key.gpu.clone(),
                r.key.profile.clone(),
                r.key.model.clone(),
                r.key.batch.to_string(),
                r.key.procs.to_string(),
                format!("{:.3}", r.latency_ms),
                format!("{:.1}", r.throughput_rps),
                r.memory_mib
                    .map(|m| format!("{m:.0}"))
                    .unwrap_or_else(|| "-".into()),
                r.source.clone(),
            ]);
        }
        print!("{}\n", t.render());
    }
    let mut t = Table::new(&[
        "gpu",
        "model",
        "profile",
        ">procs",
        "batches",
        ">knee",
        ">lat@knee ms",
        ">thr@knee/s",
        ">best thr/s",
        ">@batch",
    ]);
    for g in &groups {
        t.row(vec![
            g.gpu.clone(),
            g.model.clone(),
            g.profile.clone(),
            g.procs.to_string(),
            batch_range(&g.batches),
            g.knee_batch.to_string(),
            format!("{:.2}", g.knee_latency_ms),
            format!("{:.1}", g.knee_throughput_rps),
            format!("{:.1}", g.best_throughput_rps),
            g.best_batch.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!(
        "\n{} rows in {} groups; knee: the batch after which throughput grows by less than {:.0}%",
        selected.len(),
        groups.len(),
        args.knee_threshold * 100.0
    );
    Ok(Outcome::Yes)
}

fn batch_range(batches: &[u32]) -> String {
    match (batches.first(), batches.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}..{b} ({})", batches.len()),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}
