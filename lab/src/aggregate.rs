//! Sweep results over seeds, with polars: one row per (instance, method, scheduler, load)
//! with its cells, how many have figures, the mean, min and max of SLO attainment and goodput,
//! and the mean throughput and p99 latency. Only with the `parquet` feature (polars).

#![allow(deprecated)] // polars' eager group-by aggregations: the lazy engine is not built.

use anyhow::{Result, anyhow};
use polars::prelude::{Column, DataFrame, DataType};

use crate::cell::Cell;
use crate::tables::ColumnData;

/// One (instance, method, scheduler, load) of a sweep, over its seeds. Figures are `None`
/// when no cell of the group has them (no plan).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSummary {
    /// Instance name.
    pub instance: String,
    /// Planning method.
    pub method: String,
    /// Scheduler.
    pub scheduler: String,
    /// Load factor.
    pub load: f64,
    /// Cells (seeds) in the group.
    pub cells: u64,
    /// Cells with figures (a plan and a simulation).
    pub simulated: u64,
    /// Mean SLO attainment.
    pub slo_attainment_mean: Option<f64>,
    /// Lowest SLO attainment.
    pub slo_attainment_min: Option<f64>,
    /// Highest SLO attainment.
    pub slo_attainment_max: Option<f64>,
    /// Mean goodput, requests/s.
    pub goodput_rps_mean: Option<f64>,
    /// Lowest goodput, requests/s.
    pub goodput_rps_min: Option<f64>,
    /// Highest goodput, requests/s.
    pub goodput_rps_max: Option<f64>,
    /// Mean throughput, requests/s.
    pub throughput_rps_mean: Option<f64>,
    /// Mean p99 latency, ms.
    pub latency_p99_ms_mean: Option<f64>,
}

const KEYS: [&str; 4] = ["instance", "method", "scheduler", "load"];
const FIGURES: [&str; 4] = [
    "slo_attainment",
    "goodput_rps",
    "throughput_rps",
    "latency_p99_ms",
];

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("aggregating the sweep over seeds: {e}")
}

/// The cells grouped over seeds, groups in the order of their first cell.
pub fn over_seeds(cells: &[Cell]) -> Result<Vec<SeedSummary>> {
    let strs = |name: &str, f: fn(&Cell) -> &str| {
        Column::new(
            name.into(),
            cells.iter().map(|c| f(c).to_string()).collect::<Vec<_>>(),
        )
    };
    let opt = |name: &str, f: fn(&Cell) -> Option<f64>| {
        Column::new(name.into(), cells.iter().map(f).collect::<Vec<_>>())
    };
    let df = DataFrame::new_infer_height(vec![
        strs("instance", |c| &c.instance),
        strs("method", |c| &c.method),
        strs("scheduler", |c| &c.scheduler),
        Column::new(
            "load".into(),
            cells.iter().map(|c| c.load).collect::<Vec<_>>(),
        ),
        Column::new(
            "simulated".into(),
            cells
                .iter()
                .map(|c| u64::from(c.slo_attainment.is_some()))
                .collect::<Vec<_>>(),
        ),
        opt("slo_attainment", |c| c.slo_attainment),
        opt("goodput_rps", |c| c.goodput_rps),
        opt("throughput_rps", |c| c.throughput_rps),
        opt("latency_p99_ms", |c| c.latency_p99_ms),
    ])
    .map_err(err)?;
    // Every aggregation groups the same frame the same stable way: rows line up.
    let grouped = || df.group_by_stable(KEYS).map_err(err);
    let mean = grouped()?.select(FIGURES).mean().map_err(err)?;
    let min = grouped()?.select(FIGURES).min().map_err(err)?;
    let max = grouped()?.select(FIGURES).max().map_err(err)?;
    let count = grouped()?.select(["simulated"]).count().map_err(err)?;
    let simulated = grouped()?.select(["simulated"]).sum().map_err(err)?;

    let text = |df: &DataFrame, name: &str| -> Result<Vec<String>> {
        let c = df.column(name).map_err(err)?.str().map_err(err)?;
        Ok((0..c.len())
            .map(|i| c.get(i).unwrap_or_default().to_string())
            .collect())
    };
    let floats = |df: &DataFrame, name: &str| -> Result<Vec<Option<f64>>> {
        let c = df
            .column(name)
            .map_err(err)?
            .cast(&DataType::Float64)
            .map_err(err)?;
        let c = c.f64().map_err(err)?;
        Ok((0..c.len()).map(|i| c.get(i)).collect())
    };
    let counts = |df: &DataFrame, name: &str| -> Result<Vec<u64>> {
        let c = df
            .column(name)
            .map_err(err)?
            .cast(&DataType::UInt64)
            .map_err(err)?;
        let c = c.u64().map_err(err)?;
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or_default()).collect())
    };
    let (instance, method, scheduler) = (
        text(&mean, "instance")?,
        text(&mean, "method")?,
        text(&mean, "scheduler")?,
    );
    let load = floats(&mean, "load")?;
    let cells_n = counts(&count, "simulated_count")?;
    let simulated_n = counts(&simulated, "simulated_sum")?;
    let [slo_mean, good_mean, thr_mean, p99_mean] =
        FIGURES.map(|f| floats(&mean, &format!("{f}_mean")));
    let [slo_min, good_min, ..] = FIGURES.map(|f| floats(&min, &format!("{f}_min")));
    let [slo_max, good_max, ..] = FIGURES.map(|f| floats(&max, &format!("{f}_max")));
    let (slo_mean, good_mean, thr_mean, p99_mean) = (slo_mean?, good_mean?, thr_mean?, p99_mean?);
    let (slo_min, good_min, slo_max, good_max) = (slo_min?, good_min?, slo_max?, good_max?);
    Ok((0..instance.len())
        .map(|i| SeedSummary {
            instance: instance[i].clone(),
            method: method[i].clone(),
            scheduler: scheduler[i].clone(),
            load: load[i].unwrap_or(f64::NAN),
            cells: cells_n[i],
            simulated: simulated_n[i],
            slo_attainment_mean: slo_mean[i],
            slo_attainment_min: slo_min[i],
            slo_attainment_max: slo_max[i],
            goodput_rps_mean: good_mean[i],
            goodput_rps_min: good_min[i],
            goodput_rps_max: good_max[i],
            throughput_rps_mean: thr_mean[i],
            latency_p99_ms_mean: p99_mean[i],
        })
        .collect())
}

/// The summary as table columns (for `write_table`).
pub fn columns(rows: &[SeedSummary]) -> Vec<(&'static str, ColumnData)> {
    let s = |f: fn(&SeedSummary) -> String| ColumnData::Str(rows.iter().map(f).collect());
    let u = |f: fn(&SeedSummary) -> u64| ColumnData::U64(rows.iter().map(f).collect());
    let o = |f: fn(&SeedSummary) -> Option<f64>| ColumnData::OptF64(rows.iter().map(f).collect());
    vec![
        ("instance", s(|r| r.instance.clone())),
        ("method", s(|r| r.method.clone())),
        ("scheduler", s(|r| r.scheduler.clone())),
        (
            "load",
            ColumnData::F64(rows.iter().map(|r| r.load).collect()),
        ),
        ("cells", u(|r| r.cells)),
        ("simulated", u(|r| r.simulated)),
        ("slo_attainment_mean", o(|r| r.slo_attainment_mean)),
        ("slo_attainment_min", o(|r| r.slo_attainment_min)),
        ("slo_attainment_max", o(|r| r.slo_attainment_max)),
        ("goodput_rps_mean", o(|r| r.goodput_rps_mean)),
        ("goodput_rps_min", o(|r| r.goodput_rps_min)),
        ("goodput_rps_max", o(|r| r.goodput_rps_max)),
        ("throughput_rps_mean", o(|r| r.throughput_rps_mean)),
        ("latency_p99_ms_mean", o(|r| r.latency_p99_ms_mean)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(scheduler: &str, seed: u64, slo: Option<f64>) -> Cell {
        serde_json::from_value(serde_json::json!({
            "index": seed, "key": format!("{scheduler}{seed}"), "instance": "small",
            "instance_hash": "0", "profiles_hash": "analytic", "method": "ilp",
            "objective": "min-gpus", "status": "optimal", "gpus_used": 1,
            "scheduler": scheduler, "load": 1.0, "seed": seed, "duration_s": 1.0,
            "mode": "prebatched", "requests": 10, "slo_attainment": slo,
            "throughput_rps": slo.map(|s| 100.0 * s), "goodput_rps": slo.map(|s| 90.0 * s),
            "latency_mean_ms": slo.map(|_| 5.0), "latency_p99_ms": slo.map(|s| 10.0 * s),
            "failure": slo.is_none().then_some("no plan (infeasible)"), "version": "0.1.0",
        }))
        .unwrap()
    }

    #[test]
    fn seeds_fold_into_one_row_per_setting_and_failed_settings_stay() {
        let cells = [
            cell("fifs", 1, Some(0.8)),
            cell("elsa", 1, None),
            cell("fifs", 2, Some(1.0)),
            cell("elsa", 2, None),
        ];
        let rows = over_seeds(&cells).unwrap();
        assert_eq!(rows.len(), 2);
        let (fifs, elsa) = (&rows[0], &rows[1]);
        assert_eq!(
            (fifs.scheduler.as_str(), fifs.cells, fifs.simulated),
            ("fifs", 2, 2)
        );
        assert!((fifs.slo_attainment_mean.unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(fifs.slo_attainment_min, Some(0.8));
        assert_eq!(fifs.slo_attainment_max, Some(1.0));
        assert!((fifs.goodput_rps_mean.unwrap() - 81.0).abs() < 1e-9);
        assert_eq!(fifs.goodput_rps_min, Some(72.0));
        assert!((fifs.latency_p99_ms_mean.unwrap() - 9.0).abs() < 1e-9);
        assert_eq!(
            (elsa.scheduler.as_str(), elsa.cells, elsa.simulated),
            ("elsa", 2, 0)
        );
        assert_eq!(elsa.slo_attainment_mean, None);
        assert_eq!(elsa.goodput_rps_max, None);
        assert_eq!(columns(&rows).len(), 14);
    }
}
