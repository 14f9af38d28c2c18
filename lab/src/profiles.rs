//! Profile tables for an instance: the files it names (relative to it), read here, or
//! migsched's analytic tables generated for its GPU types and models by
//! [`migsched_perf::source`]; and the `profile` commands: show, generate, calibrate, import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use migsched_core::import::PerfAnalyzerOptions;
use migsched_core::{Instance, ProfileRow, ProfileSource, ProfileTable, knee_batch};
use migsched_out::{Outputs, Table, print_json, read_text, write_atomic};
use migsched_perf::analytic::{AnalyticParams, CalibrationOptions, CalibrationReport};
use migsched_perf::source::{SourceError, analytic_for_instance, analytic_table};
use migsched_perf::zoo::ZooOptions;
use serde::Serialize;

use crate::Env;
use crate::tables::{read_profile_tables, write_profile_table};

/// The profile table an instance asks for.
pub fn for_instance(env: &Env, instance: &Instance, path: &Path) -> Result<ProfileTable> {
    match &instance.profiles {
        ProfileSource::Files { files } => {
            let base = path.parent().unwrap_or(Path::new(""));
            let paths: Vec<_> = files.iter().map(|f| base.join(f)).collect();
            read_profile_tables(&env.catalog, &paths)
                .with_context(|| format!("{}: profiles.files", path.display()))
        }
        ProfileSource::Analytic => {
            analytic_for_instance(&env.catalog, instance).map_err(|e| match e {
                // The instance's model list is at fault: name the file.
                SourceError::NotInZoo { .. } => anyhow!("{}: {e}", path.display()),
                e => e.into(),
            })
        }
    }
}

/// `profile generate`: which tables to write.
#[derive(Debug, Clone)]
pub struct GenerateSpec {
    /// GPU id or name.
    pub gpu: String,
    /// Zoo models; all when empty.
    pub models: Vec<String>,
    /// Batch sizes.
    pub batches: Vec<u32>,
    /// Most MPS processes per instance.
    pub max_procs: u32,
    /// Analytic parameters (TOML); defaults otherwise.
    pub params: Option<PathBuf>,
    /// BERT sequence length.
    pub seq_len: u32,
    /// Output table; CSV on stdout when `None`.
    pub output: Option<PathBuf>,
}

/// `profile calibrate`: what to fit, to what.
#[derive(Debug, Clone)]
pub struct CalibrateSpec {
    /// Measured profile tables.
    pub measured: Vec<PathBuf>,
    /// The GPU whose rows are fitted.
    pub gpu: String,
    /// Start parameters (TOML); the analytic defaults otherwise.
    pub params: Option<PathBuf>,
    /// Start without epilogue fusion.
    pub unfused: bool,
    /// Most objective evaluations of the optimizer.
    pub max_evaluations: u32,
    /// Where the fitted parameters go.
    pub output: Option<PathBuf>,
    /// Print one JSON object.
    pub json: bool,
}

/// `profile import parvagpu`.
#[derive(Debug, Clone)]
pub struct ImportParvaSpec {
    /// ParvaGPU data directory (holding prof_data/), or prof_data itself.
    pub dir: PathBuf,
    /// The GPU the tables were measured on.
    pub gpu: String,
    /// Output table.
    pub output: PathBuf,
}

/// `profile import perf-analyzer`.
#[derive(Debug, Clone)]
pub struct ImportPerfSpec {
    /// perf_analyzer CSV.
    pub file: PathBuf,
    /// What the run measured: GPU, profile, model, batch, processes, concurrency row, statistic.
    pub options: PerfAnalyzerOptions,
    /// Output table.
    pub output: PathBuf,
    /// Merge into the output table if it exists.
    pub append: bool,
}

/// `profile show`: which rows, how.
#[derive(Debug, Clone)]
pub struct ShowSpec {
    /// Profile tables, merged, later files winning.
    pub files: Vec<PathBuf>,
    /// Only this model.
    pub model: Option<String>,
    /// Only this GPU.
    pub gpu: Option<String>,
    /// Only this many MPS processes.
    pub procs: Option<u32>,
    /// Knee threshold.
    pub knee_threshold: f64,
    /// Print every row.
    pub rows: bool,
    /// Print JSON.
    pub json: bool,
}

/// Reads analytic parameters from TOML, naming the file in errors.
pub fn read_params(path: &Path) -> Result<AnalyticParams> {
    let text = read_text(path, "analytic parameters")?;
    let keys: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
    if keys.is_empty() {
        anyhow::bail!(
            "{}: no parameters (expected keys such as compute_efficiency; `profile calibrate -o` writes this file)",
            path.display()
        );
    }
    let params: AnalyticParams = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
    params
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(params)
}

/// Writes analytic profile tables: CSV on stdout, or a file with its provenance record.
pub fn generate(env: &Env, args: &GenerateSpec) -> Result<()> {
    let gpu = env.gpu(&args.gpu)?;
    let params = match &args.params {
        Some(p) => read_params(p)?,
        None => AnalyticParams::default(),
    };
    let models: Vec<String> = if args.models.is_empty() {
        migsched_perf::zoo::model_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.models
            .iter()
            .map(|m| m.trim().to_ascii_lowercase())
            .collect()
    };
    if args.batches.is_empty() || args.batches.contains(&0) {
        anyhow::bail!("--batches: batch sizes must be at least 1");
    }
    if args.max_procs == 0 || args.max_procs > 48 {
        anyhow::bail!("--max-procs: {} is outside 1..=48", args.max_procs);
    }
    // The table and its provenance record: both destinations checked before the work, both
    // written or neither.
    let mut outputs = Outputs::new();
    let prov_path = args
        .output
        .as_ref()
        .map(|p| PathBuf::from(format!("{}.provenance.toml", p.display())));
    if let (Some(path), Some(prov)) = (&args.output, &prov_path) {
        crate::tables::check_table_path(path)?;
        outputs.reserve(path)?;
        outputs.reserve(prov)?;
    }
    let zoo = ZooOptions {
        seq_len: args.seq_len,
    };
    let table = analytic_table(
        &env.catalog,
        gpu.id(),
        &models,
        &args.batches,
        args.max_procs,
        &params,
        &zoo,
    )?;
    if table.rows().is_empty() {
        anyhow::bail!(
            "no row of {} fits its profiles' memory (models {}, batches {:?}): nothing to write",
            gpu.id(),
            models.join(","),
            args.batches
        );
    }
    match &args.output {
        None => out!("{}", table.to_csv()),
        Some(path) => {
            outputs.add_bytes(path, &crate::tables::encode_profile_table(path, &table)?)?;
            let record = Provenance {
                generated_by: format!("migsched {}", env!("CARGO_PKG_VERSION")),
                command: format!(
                    "migsched profile generate --gpu {} --models {} --batches {} --max-procs {}{}",
                    gpu.id(),
                    models.join(","),
                    args.batches
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    args.max_procs,
                    args.params
                        .as_ref()
                        .map(|p| format!(" --params {}", p.display()))
                        .unwrap_or_default()
                ),
                gpu: gpu.id().to_string(),
                datasheet: gpu
                    .datasheet()
                    .map(|d| d.source.clone())
                    .unwrap_or_default(),
                rows: table.rows().len(),
                params,
            };
            let mut prov = String::from("# Provenance of a migsched analytic profile table.\n");
            prov.push_str(
                &toml::to_string(&record)
                    .map_err(|e| anyhow::anyhow!("encoding provenance: {e}"))?,
            );
            let prov_path = prov_path.expect("with -o");
            outputs.add(&prov_path, &prov)?;
            outputs.commit()?;
            eprintln!(
                "wrote {} ({} rows) and {}",
                path.display(),
                table.rows().len(),
                prov_path.display()
            );
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Provenance {
    generated_by: String,
    command: String,
    gpu: String,
    datasheet: String,
    rows: usize,
    params: AnalyticParams,
}

#[derive(Serialize)]
struct CalibrateJson<'a> {
    gpu: &'a str,
    mape_before: f64,
    mape_after: f64,
    max_error_before: f64,
    max_error_after: f64,
    per_model: Vec<PerModelJson<'a>>,
    report: &'a CalibrationReport,
}

#[derive(Serialize)]
struct PerModelJson<'a> {
    model: &'a str,
    rows: usize,
    mape_before: f64,
    mape_after: f64,
    max_error_after: f64,
}

/// Fits the analytic model to measured tables, prints the error before and after, and
/// writes the fitted parameters when asked.
pub fn calibrate(env: &Env, args: &CalibrateSpec) -> Result<()> {
    let gpu = env.gpu(&args.gpu)?;
    let table = read_profile_tables(&env.catalog, &args.measured)?;
    let rows: Vec<ProfileRow> = table
        .select(Some(gpu.id()), None, None, None)
        .cloned()
        .collect();
    if rows.is_empty() {
        anyhow::bail!(
            "the measured tables have no rows for {}; they hold {}",
            gpu.id(),
            table.gpus().join(", ")
        );
    }
    let mut start = match &args.params {
        Some(p) => read_params(p)?,
        None => AnalyticParams::default(),
    };
    if args.unfused {
        start.fuse_epilogues = false;
    }
    let options = CalibrationOptions {
        start,
        max_evaluations: args.max_evaluations,
        ..CalibrationOptions::default()
    };
    let report = migsched_perf::analytic::calibrate(&env.catalog, &rows, &options)?;
    let per_model: Vec<PerModelJson> = report
        .after
        .per_model
        .iter()
        .map(|a| {
            let b = report.before.per_model.iter().find(|b| b.model == a.model);
            PerModelJson {
                model: &a.model,
                rows: a.rows,
                mape_before: b.map_or(f64::NAN, |b| b.mape),
                mape_after: a.mape,
                max_error_after: a.max_ape,
            }
        })
        .collect();
    if let Some(path) = &args.output {
        let files: Vec<String> = args
            .measured
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut text = format!(
            "# Analytic parameters fitted by `migsched profile calibrate` ({})\n# on {} rows of {} from {}\n# MAPE {:.3} before, {:.3} after; worst row {:.3} after\n",
            env!("CARGO_PKG_VERSION"),
            report.rows_used,
            gpu.id(),
            files.join(", "),
            report.before.mape,
            report.after.mape,
            report.after.max_ape
        );
        text.push_str(
            &toml::to_string(&report.params)
                .map_err(|e| anyhow::anyhow!("encoding parameters: {e}"))?,
        );
        write_atomic(path, &text)?;
    }
    if args.json {
        print_json(&CalibrateJson {
            gpu: gpu.id(),
            mape_before: report.before.mape,
            mape_after: report.after.mape,
            max_error_before: report.before.max_ape,
            max_error_after: report.after.max_ape,
            per_model,
            report: &report,
        })?;
        return Ok(());
    }
    outln!(
        "calibrated on {} of {} rows of {gpu} ({} evaluations)",
        report.rows_used,
        report.rows_given,
        report.evaluations
    );
    for s in &report.skipped {
        outln!(
            "  skipped {} rows: {:?} (e.g. {}/{}/{})",
            s.rows,
            s.reason,
            s.first.gpu,
            s.first.profile,
            s.first.model
        );
    }
    let p = &report.params;
    outln!(
        "fitted: compute_efficiency {:.3}, bandwidth_efficiency {:.3}, kernel_overhead_us {:.2} (fused epilogues: {})",
        p.compute_efficiency,
        p.bandwidth_efficiency,
        p.kernel_overhead_us,
        p.fuse_epilogues
    );
    outln!();
    let mut t = Table::new(&[
        "model",
        ">rows",
        ">MAPE before",
        ">MAPE after",
        ">worst after",
    ]);
    for m in &per_model {
        t.row(vec![
            m.model.to_string(),
            m.rows.to_string(),
            format!("{:.1}%", 100.0 * m.mape_before),
            format!("{:.1}%", 100.0 * m.mape_after),
            format!("{:.1}%", 100.0 * m.max_error_after),
        ]);
    }
    t.row(vec![
        "all".into(),
        report.rows_used.to_string(),
        format!("{:.1}%", 100.0 * report.before.mape),
        format!("{:.1}%", 100.0 * report.after.mape),
        format!("{:.1}%", 100.0 * report.after.max_ape),
    ]);
    out!("{}", t.render());
    outln!();
    let mut t = Table::new(&["model", "profile", ">rows", ">MAPE before", ">MAPE after"]);
    for a in &report.after.per_model_profile {
        let b = report
            .before
            .per_model_profile
            .iter()
            .find(|b| b.model == a.model && b.profile == a.profile);
        t.row(vec![
            a.model.clone(),
            a.profile.clone(),
            a.rows.to_string(),
            b.map_or("-".into(), |b| format!("{:.1}%", 100.0 * b.mape)),
            format!("{:.1}%", 100.0 * a.mape),
        ]);
    }
    out!("{}", t.render());
    if let Some(path) = &args.output {
        outln!("\nwrote the fitted parameters to {}", path.display());
    }
    Ok(())
}

/// Imports ParvaGPU's measured tables (prof_data/<model>.csv) into one profile table.
pub fn import_parvagpu(env: &Env, args: &ImportParvaSpec) -> Result<()> {
    let gpu = env.gpu(&args.gpu)?;
    let dir = if args.dir.join("prof_data").is_dir() {
        args.dir.join("prof_data")
    } else {
        args.dir.clone()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading ParvaGPU directory '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("csv"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!(
            "'{}' holds no <model>.csv profile files (expected ParvaGPU's prof_data/)",
            dir.display()
        );
    }
    let mut raw = Vec::new();
    for f in &files {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let text = read_text(f, "ParvaGPU profile")?;
        raw.extend(migsched_core::import::parse_profile_file(
            stem,
            &text,
            &f.display().to_string(),
            &gpu,
        )?);
    }
    let table = ProfileTable::from_raw(&env.catalog, raw, &dir.display().to_string())?;
    write_profile_table(&args.output, &table)?;
    outln!(
        "imported {} rows ({} models) from {} files in {} to {}",
        table.rows().len(),
        table.models().len(),
        files.len(),
        dir.display(),
        args.output.display()
    );
    Ok(())
}

/// Imports one row of Triton perf_analyzer's CSV output into a profile table.
pub fn import_perf(env: &Env, args: &ImportPerfSpec) -> Result<()> {
    let text = read_text(&args.file, "perf_analyzer output")?;
    let row =
        migsched_core::import::parse_row(&text, &args.file.display().to_string(), &args.options)?;
    let new = ProfileTable::from_raw(&env.catalog, vec![row], &args.file.display().to_string())?;
    let table = if args.append && args.output.exists() {
        let old = read_profile_tables(&env.catalog, std::slice::from_ref(&args.output))?;
        ProfileTable::merged(&[&old, &new])
    } else {
        new
    };
    if args.append {
        // --append merges into the output table: reading and rewriting it is the point.
        migsched_out::allow_update(&args.output);
    }
    write_profile_table(&args.output, &table)?;
    let r = &table.rows()[0];
    outln!(
        "wrote {} ({} rows); imported {}/{}/{} batch {} procs {}",
        args.output.display(),
        table.rows().len(),
        r.key.gpu,
        r.key.profile,
        r.key.model,
        r.key.batch,
        r.key.procs
    );
    Ok(())
}

/// One (gpu, model, profile, procs) group of a table.
#[derive(Debug, Serialize)]
pub struct GroupSummary {
    /// GPU id.
    pub gpu: String,
    /// Model.
    pub model: String,
    /// MIG profile.
    pub profile: String,
    /// MPS processes.
    pub procs: u32,
    /// The batches profiled.
    pub batches: Vec<u32>,
    /// The knee batch.
    pub knee_batch: u32,
    /// Latency at the knee, ms.
    pub knee_latency_ms: f64,
    /// Throughput at the knee, per s.
    pub knee_throughput_rps: f64,
    /// Best throughput, per s.
    pub best_throughput_rps: f64,
    /// The batch of the best throughput.
    pub best_batch: u32,
    /// Lowest latency, ms.
    pub min_latency_ms: f64,
}

#[derive(Serialize)]
struct ShowJson<'a> {
    knee_threshold: f64,
    groups: &'a [GroupSummary],
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<Vec<&'a ProfileRow>>,
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

/// Prints profile tables: per (GPU, model, profile, processes) its batches and knee.
pub fn show(env: &Env, args: &ShowSpec) -> Result<()> {
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
        return Ok(());
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
        outln!("{}", t.render());
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
    out!("{}", t.render());
    outln!(
        "\n{} rows in {} groups; knee: the batch after which throughput grows by less than {:.0}%",
        selected.len(),
        groups.len(),
        args.knee_threshold * 100.0
    );
    Ok(())
}

fn batch_range(batches: &[u32]) -> String {
    match (batches.first(), batches.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}..{b} ({})", batches.len()),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}
