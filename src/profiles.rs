//! Profile tables for an instance: the files it names (relative to it), or migsched's
//! analytic tables generated on the fly for its GPU types and models.

use std::path::Path;

use anyhow::{Context, Result, bail};
use migsched_core::{Catalog, Instance, ProfileSource, ProfileTable, RawRow};
use migsched_perf::analytic::{AnalyticParams, generate_table};
use migsched_perf::zoo::{ZooOptions, build, model_info};

use crate::cmd::Env;
use crate::tables::read_profile_tables;

/// Batch sizes of generated tables unless asked otherwise (powers of two to 256, as the
/// ParvaGPU measurements).
pub const DEFAULT_BATCHES: [u32; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/// Most MPS processes in generated tables unless asked otherwise (ParvaGPU measured 1 to 5).
pub const DEFAULT_MAX_PROCS: u32 = 5;

/// Analytic rows for `models` (zoo names or aliases) on a GPU type, named as given, so an
/// instance that says `bert` gets rows for `bert`. Figures are rounded (latency to 0.1 µs,
/// throughput to 0.01/s, memory to 0.1 MiB), far below the model's accuracy, so tables read
/// well and files stay small.
pub fn analytic_table(
    catalog: &Catalog,
    gpu: &str,
    models: &[String],
    batches: &[u32],
    max_procs: u32,
    params: &AnalyticParams,
    zoo: &ZooOptions,
) -> Result<ProfileTable> {
    let mut raw: Vec<RawRow> = Vec::new();
    for name in models {
        let info = model_info(name)?;
        let graph = build(info.name, zoo)?;
        let table = generate_table(
            catalog,
            gpu,
            std::slice::from_ref(&graph),
            batches,
            max_procs,
            params,
        )?;
        raw.extend(table.rows().iter().map(|r| RawRow {
            gpu: r.key.gpu.clone(),
            profile: r.key.profile.clone(),
            model: name.clone(),
            batch: r.key.batch,
            procs: r.key.procs,
            latency_ms: round(r.latency_ms, 1e4),
            throughput_rps: round(r.throughput_rps, 1e2),
            memory_mib: r.memory_mib.map(|m| round(m, 1e1)),
            source: r.source.clone(),
            line: None,
        }));
    }
    Ok(ProfileTable::from_raw(
        catalog,
        raw,
        &format!("analytic tables for {gpu}"),
    )?)
}

fn round(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

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
            let models: Vec<String> = instance.models.iter().map(|m| m.name.clone()).collect();
            for m in &models {
                if model_info(m).is_err() {
                    bail!(
                        "{}: model '{m}' is not in migsched's zoo, so the analytic tables cannot \
                         cover it; name measured tables in [profiles] files",
                        path.display()
                    );
                }
            }
            let batches = instance
                .serving
                .batches
                .clone()
                .unwrap_or_else(|| DEFAULT_BATCHES.to_vec());
            let mut tables = Vec::new();
            for pool in &instance.gpus {
                tables.push(analytic_table(
                    &env.catalog,
                    &pool.gpu,
                    &models,
                    &batches,
                    instance.serving.max_procs,
                    &AnalyticParams::default(),
                    &ZooOptions::default(),
                )?);
            }
            Ok(ProfileTable::merged(&tables.iter().collect::<Vec<_>>()))
        }
    }
}
