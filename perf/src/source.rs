//! Where an instance's profile tables come from, as far as the performance model supplies
//! them: analytic tables generated on the fly for its GPU types and zoo models.
//!
//! An instance's `[profiles]` section ([`ProfileSource`](migsched_core::ProfileSource)) either
//! names table files or asks for migsched's analytic tables. Reading files is the caller's
//! job (this crate does no file IO); this module builds the analytic tables: for one GPU type
//! and a list of models ([`analytic_table`]), or for everything an instance serves
//! ([`analytic_for_instance`]).

use migsched_core::{Catalog, Instance, ProfileTable, RawRow, TableError};
use thiserror::Error;

use crate::analytic::{AnalyticError, AnalyticParams, generate_table};
use crate::zoo::{ZooError, ZooOptions, build, model_info};

/// Batch sizes of generated tables unless asked otherwise (powers of two to 256, as the
/// ParvaGPU measurements).
pub const DEFAULT_BATCHES: [u32; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/// Most MPS processes in generated tables unless asked otherwise (ParvaGPU measured 1 to 5).
pub const DEFAULT_MAX_PROCS: u32 = 5;

/// Why analytic tables cannot be generated. Every variant but [`SourceError::NotInZoo`]
/// displays as the error it wraps.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SourceError {
    /// An instance serves a model the zoo does not have, so its analytic tables cannot
    /// cover it.
    #[error(
        "model '{model}' is not in migsched's zoo, so the analytic tables cannot cover it; name measured tables in [profiles] files"
    )]
    NotInZoo {
        /// The model's name as the instance gives it.
        model: String,
    },
    /// A model name is unknown, or the model cannot be built with the zoo options.
    #[error(transparent)]
    Zoo(#[from] ZooError),
    /// The analytic model cannot answer (bad parameters, a GPU without datasheet figures).
    #[error(transparent)]
    Analytic(#[from] AnalyticError),
    /// The generated rows do not make a valid table.
    #[error(transparent)]
    Table(#[from] TableError),
}

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
) -> Result<ProfileTable, SourceError> {
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

/// The analytic tables of an instance whose profile source is analytic: every model it
/// serves on every GPU type of its pools, at its serving batches ([`DEFAULT_BATCHES`] unless
/// it names some) and up to its `max_procs` processes, with the default analytic parameters
/// and zoo options; the pools' tables merged in pool order. Every model must be in the zoo
/// ([`SourceError::NotInZoo`] names the first that is not, before any table is built).
pub fn analytic_for_instance(
    catalog: &Catalog,
    instance: &Instance,
) -> Result<ProfileTable, SourceError> {
    let models: Vec<String> = instance.models.iter().map(|m| m.name.clone()).collect();
    if let Some(m) = models.iter().find(|m| model_info(m).is_err()) {
        return Err(SourceError::NotInZoo { model: m.clone() });
    }
    let batches = instance
        .serving
        .batches
        .clone()
        .unwrap_or_else(|| DEFAULT_BATCHES.to_vec());
    let mut tables = Vec::new();
    for pool in &instance.gpus {
        tables.push(analytic_table(
            catalog,
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

#[cfg(test)]
mod tests {
    use migsched_core::{Catalog, Instance};

    use super::*;

    fn instance(models: &[&str], batches: &str) -> Instance {
        let mut text = format!(
            "[serving]\nslo_rule = \"double\"\nmax_procs = 2\n{batches}\n\
             [[gpus]]\ntype = \"a100-80gb\"\ncount = 1\n\
             [[gpus]]\ntype = \"h100-80gb\"\ncount = 1\n"
        );
        for m in models {
            text.push_str(&format!(
                "[[models]]\nname = \"{m}\"\nslo_ms = 100\nrate_rps = 10\n"
            ));
        }
        Instance::from_toml_str(Catalog::builtin(), &text, "i.toml", "i").unwrap()
    }

    #[test]
    fn rows_keep_the_name_asked_for_and_are_rounded() {
        let c = Catalog::builtin();
        let models = ["bert".to_string(), "resnet50".to_string()];
        let t = analytic_table(
            c,
            "a100-80gb",
            &models,
            &[1, 8],
            2,
            &AnalyticParams::default(),
            &ZooOptions::default(),
        )
        .unwrap();
        assert_eq!(t.models(), ["bert", "resnet50"]);
        for r in t.rows() {
            assert_eq!((r.latency_ms * 1e4).round() / 1e4, r.latency_ms);
            assert_eq!((r.throughput_rps * 1e2).round() / 1e2, r.throughput_rps);
            let m = r.memory_mib.expect("analytic rows have memory");
            assert_eq!((m * 1e1).round() / 1e1, m);
        }
    }

    #[test]
    fn an_instance_gets_every_pool_at_its_batches() {
        let c = Catalog::builtin();
        let t = analytic_for_instance(c, &instance(&["resnet50"], "batches = [1, 4]")).unwrap();
        let mut gpus: Vec<&str> = t.rows().iter().map(|r| r.key.gpu.as_str()).collect();
        gpus.dedup();
        assert_eq!(gpus, ["a100-80gb", "h100-80gb"]);
        assert!(t.rows().iter().all(|r| [1, 4].contains(&r.key.batch)));
        assert!(t.rows().iter().all(|r| r.key.procs <= 2));
        let defaults = analytic_for_instance(c, &instance(&["resnet50"], "")).unwrap();
        let mut batches: Vec<u32> = defaults.rows().iter().map(|r| r.key.batch).collect();
        batches.sort_unstable();
        batches.dedup();
        assert!(batches.iter().all(|b| DEFAULT_BATCHES.contains(b)));
    }

    #[test]
    fn a_model_outside_the_zoo_is_named_before_any_table_is_built() {
        let c = Catalog::builtin();
        let err =
            analytic_for_instance(c, &instance(&["resnet50", "llama", "gpt"], "")).unwrap_err();
        assert_eq!(
            err,
            SourceError::NotInZoo {
                model: "llama".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "model 'llama' is not in migsched's zoo, so the analytic tables cannot cover it; \
             name measured tables in [profiles] files"
        );
    }

    #[test]
    fn wrapped_errors_display_as_themselves() {
        let c = Catalog::builtin();
        let err = analytic_table(
            c,
            "a100-80gb",
            &["nosuch".to_string()],
            &[1],
            1,
            &AnalyticParams::default(),
            &ZooOptions::default(),
        )
        .unwrap_err();
        let SourceError::Zoo(inner) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(err.to_string(), inner.to_string());
        let err = analytic_table(
            c,
            "nosuch-gpu",
            &["resnet50".to_string()],
            &[1],
            1,
            &AnalyticParams::default(),
            &ZooOptions::default(),
        )
        .unwrap_err();
        let SourceError::Analytic(inner) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(err.to_string(), inner.to_string());
    }
}
