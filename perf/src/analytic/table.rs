//! Generation of whole-model profile tables from the analytic model: every profile of a GPU,
//! every graph, batch size and MPS process count, configurations that do not fit left out.

use migsched_core::catalog::Catalog;
use migsched_core::profile_table::{ProfileTable, RawRow};

use super::error::AnalyticError;
use super::model::PreparedGraph;
use super::params::AnalyticParams;
use super::share::ProcessShare;
use crate::zoo::ModelGraph;

/// The `source` of every generated row.
pub const ANALYTIC_SOURCE: &str = "analytic";

/// A [`ProfileTable`] for the GPU named `gpu` (looked up in `catalog`): one row per profile of
/// the GPU, graph (named by [`ModelGraph::name`]), batch in `batches` and process count
/// `1..=max_procs`, with `source = "analytic"` and the modelled memory; a configuration whose
/// memory exceeds the profile's is left out, as the table format wants for infeasible ones.
/// Duplicate batches count once.
///
/// Errors: unknown GPU, GPU without datasheet figures, invalid parameters, a batch of 0,
/// `max_procs` of 0, or two graphs with one name.
pub fn generate_table(
    catalog: &Catalog,
    gpu: &str,
    graphs: &[ModelGraph],
    batches: &[u32],
    max_procs: u32,
    params: &AnalyticParams,
) -> Result<ProfileTable, AnalyticError> {
    params.validate()?;
    let gpu = catalog.gpu(gpu)?;
    if gpu.datasheet().is_none() {
        return Err(AnalyticError::NoDatasheet {
            gpu: gpu.id().to_string(),
        });
    }
    if max_procs == 0 {
        return Err(AnalyticError::ZeroProcs);
    }
    let mut batches = batches.to_vec();
    batches.sort_unstable();
    batches.dedup();
    if batches.first() == Some(&0) {
        return Err(AnalyticError::ZeroBatch);
    }
    let prepared: Vec<PreparedGraph<'_>> = graphs
        .iter()
        .map(|g| PreparedGraph::new(g, params))
        .collect();
    let mut rows = Vec::new();
    for profile in gpu.profiles() {
        for procs in 1..=max_procs {
            let share = ProcessShare::new(gpu, profile, procs)?;
            for model in &prepared {
                for &batch in &batches {
                    let e = model.estimate(profile, batch, procs, &share, params);
                    if !e.fits {
                        // Memory grows with the batch: larger batches do not fit either.
                        break;
                    }
                    rows.push(RawRow {
                        gpu: gpu.id().to_string(),
                        profile: profile.name().to_string(),
                        model: model.graph.name().to_string(),
                        batch,
                        procs,
                        latency_ms: e.latency_ms,
                        throughput_rps: e.throughput_rps,
                        memory_mib: Some(e.memory_mib),
                        source: ANALYTIC_SOURCE.to_string(),
                        line: None,
                    });
                }
            }
        }
    }
    Ok(ProfileTable::from_raw(catalog, rows, "analytic model")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::{ZooOptions, build};

    fn graphs(names: &[&str]) -> Vec<ModelGraph> {
        names
            .iter()
            .map(|n| build(n, &ZooOptions::default()).unwrap())
            .collect()
    }

    #[test]
    fn covers_every_profile_batch_and_proc_count_when_everything_fits() {
        let c = Catalog::builtin();
        let t = generate_table(
            c,
            "h100-80gb",
            &graphs(&["mobilenetv2"]),
            &[4, 1, 2, 2],
            2,
            &AnalyticParams::default(),
        )
        .unwrap();
        let gpu = c.gpu("h100-80gb").unwrap();
        assert_eq!(t.rows().len(), gpu.profiles().len() * 3 * 2);
        assert!(t.rows().iter().all(|r| r.source == "analytic"
            && r.key.model == "mobilenetv2"
            && r.memory_mib.is_some()));
    }

    #[test]
    fn a_model_too_big_for_a_small_profile_at_large_batch_is_left_out() {
        let c = Catalog::builtin();
        let batches = [1, 8, 64, 256, 1024];
        let t = generate_table(
            c,
            "a100-80gb",
            &graphs(&["vgg16"]),
            &batches,
            4,
            &AnalyticParams::default(),
        )
        .unwrap();
        let has = |profile: &str, batch: u32, procs: u32| {
            t.rows()
                .iter()
                .any(|r| r.key.profile == profile && r.key.batch == batch && r.key.procs == procs)
        };
        assert!(has("1g.10gb", 1, 1));
        assert!(
            !has("1g.10gb", 1024, 1),
            "vgg16 batch 1024 cannot fit 10 GB"
        );
        assert!(has("7g.80gb", 1024, 1));
        // Every row left in fits its profile.
        let gpu = c.gpu("a100-80gb").unwrap();
        for r in t.rows() {
            let p = gpu.profile(gpu.profile_by_name(&r.key.profile).unwrap());
            assert!(r.memory_mib.unwrap() <= p.memory_gib() * 1024.0, "{r:?}");
        }
    }

    #[test]
    fn documented_errors() {
        let c = Catalog::builtin();
        let g = graphs(&["resnet50"]);
        let p = AnalyticParams::default();
        assert_eq!(
            generate_table(c, "a100-80gb", &g, &[1, 0], 1, &p).unwrap_err(),
            AnalyticError::ZeroBatch
        );
        assert_eq!(
            generate_table(c, "a100-80gb", &g, &[1], 0, &p).unwrap_err(),
            AnalyticError::ZeroProcs
        );
        assert!(matches!(
            generate_table(c, "v100", &g, &[1], 1, &p).unwrap_err(),
            AnalyticError::UnknownGpu(_)
        ));
        let twice = graphs(&["resnet50", "resnet50"]);
        assert!(matches!(
            generate_table(c, "a100-80gb", &twice, &[1], 1, &p).unwrap_err(),
            AnalyticError::Table(_)
        ));
        let bad = AnalyticParams {
            tile_m: 0,
            ..AnalyticParams::default()
        };
        assert_eq!(
            generate_table(c, "a100-80gb", &g, &[1], 1, &bad)
                .unwrap_err()
                .to_string(),
            "analytic parameter tile_m = 0: expected a whole number in 1..=4096"
        );
    }

    #[test]
    fn a_gpu_without_datasheet_is_a_clear_error() {
        let toml = crate::test_support::TOY_GPU_TOML;
        let extra = Catalog::from_toml_str(toml, "extra.toml").unwrap();
        let c = Catalog::builtin().extended(extra, "extra.toml").unwrap();
        let err = generate_table(
            &c,
            "toy",
            &graphs(&["resnet50"]),
            &[1],
            1,
            &AnalyticParams::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            AnalyticError::NoDatasheet {
                gpu: "toy".to_string()
            }
        );
        assert!(err.to_string().starts_with("GPU 'toy' has no datasheet"));
        let gpu = c.gpu("toy").unwrap();
        let g = &graphs(&["resnet50"])[0];
        assert_eq!(
            super::super::model::estimate(
                g,
                gpu,
                &gpu.profiles()[0],
                1,
                1,
                &AnalyticParams::default()
            )
            .unwrap_err(),
            err
        );
    }
}
