//! Calibration: fits the analytic model's compute efficiency, bandwidth efficiency and
//! per-kernel overhead to measured profile rows, by least squares on log latency.
//!
//! Only these three are fitted. They are identifiable from latency tables that span batch
//! sizes and partitions: the overhead sets small-batch latency, the compute efficiency the slope
//! of compute-bound GEMMs, the bandwidth efficiency that of memory-bound nodes. The tile sizes
//! and fusion are discrete choices taken from the start parameters; the context memory and the
//! activation factor do not affect latency and are kept as given.
//!
//! The optimizer is Nelder–Mead (see `nelder_mead`) over the logarithms of the three
//! parameters, from the start parameters, bounded to efficiencies in `[0.001, 1]` and overheads
//! in `[0.01 µs, 100 ms]`, with an evaluation cap: the same rows give the same fit bit for bit.
//! Log latency makes a 10% miss cost the same on a 1 ms and a 1 s row.
//!
//! **On real data.** Fitted to ParvaGPU's A100-80GB tables (eager PyTorch, latency rounded to
//! 1 ms, 1747 rows that ran), MAPE goes from 0.62 with the engine defaults to 0.28 with
//! `fuse_epilogues = false`, which matches eager PyTorch (compute efficiency 0.19, bandwidth
//! efficiency 0.35, 15 µs per kernel); 0.71 to 0.31 with fusion. Per model, unfused: DenseNets
//! 0.12-0.13, ResNet-50 0.14, MobileNetV2 0.25, other CNNs 0.26-0.43, BERT 0.54. ParvaGPU's
//! BERT gains only 2.4x from 1g to 7g at batch 256, which no SM- or bandwidth-bound model
//! reproduces (a host-side cost per sample, such as tokenization, would).

use std::collections::BTreeMap;

use migsched_core::catalog::Catalog;
use migsched_core::profile_table::{ProfileKey, ProfileRow};
use serde::Serialize;

use super::error::AnalyticError;
use super::model::PreparedGraph;
use super::nelder_mead::{Settings, minimize};
use super::node::RawCost;
use super::params::AnalyticParams;
use super::share::ProcessShare;
use crate::zoo::{ModelGraph, ZooError, ZooOptions, build};

/// Settings of [`calibrate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationOptions {
    /// Where the fit starts, and the values of every parameter that is not fitted (tiles,
    /// fusion, memory). The "before" error statistics are those of these parameters.
    pub start: AnalyticParams,
    /// How to build the zoo models the rows name (BERT's sequence length).
    pub zoo: ZooOptions,
    /// Most evaluations of the objective (each evaluates every usable row).
    pub max_evaluations: u32,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            start: AnalyticParams::default(),
            zoo: ZooOptions::default(),
            max_evaluations: 3000,
        }
    }
}

/// Why a measured row could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The model is not in the zoo.
    UnknownModel,
    /// The GPU is not in the catalog.
    UnknownGpu,
    /// The profile is not one of the GPU's in the catalog.
    UnknownProfile,
    /// The GPU has no datasheet figures.
    NoDatasheet,
    /// A batch or process count of 0, or a latency that is not a positive finite number (rows
    /// built by hand rather than read through
    /// [`ProfileTable`](migsched_core::profile_table::ProfileTable)).
    InvalidRow,
}

/// Rows skipped for one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedRows {
    /// Why.
    pub reason: SkipReason,
    /// How many rows.
    pub rows: usize,
    /// The first such row's key, as an example.
    pub first: ProfileKey,
}

/// Error of one model's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelError {
    /// The model, as the rows name it.
    pub model: String,
    /// Rows used.
    pub rows: usize,
    /// Mean absolute percentage error, as a fraction.
    pub mape: f64,
    /// Largest absolute percentage error, as a fraction.
    pub max_ape: f64,
}

/// Error of one model's rows on one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelProfileError {
    /// The model.
    pub model: String,
    /// Catalog GPU id.
    pub gpu: String,
    /// Profile name.
    pub profile: String,
    /// Rows used.
    pub rows: usize,
    /// Mean absolute percentage error, as a fraction.
    pub mape: f64,
    /// Largest absolute percentage error, as a fraction.
    pub max_ape: f64,
}

/// How well one parameter set predicts the used rows. Errors are fractions (0.1 = 10%).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorStats {
    /// The fitted objective: mean of `(ln predicted − ln measured)²`.
    pub mean_squared_log_error: f64,
    /// Mean absolute percentage error over all used rows.
    pub mape: f64,
    /// Largest absolute percentage error.
    pub max_ape: f64,
    /// Per model, sorted by model.
    pub per_model: Vec<ModelError>,
    /// Per (model, GPU, profile), sorted.
    pub per_model_profile: Vec<ModelProfileError>,
}

/// Predicted against measured latency for one used row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitPair {
    /// The row's key.
    #[serde(flatten)]
    pub key: ProfileKey,
    /// Measured latency, ms.
    pub measured_ms: f64,
    /// Predicted with the start parameters, ms.
    pub before_ms: f64,
    /// Predicted with the fitted parameters, ms.
    pub after_ms: f64,
}

/// What [`calibrate`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationReport {
    /// The fitted parameters (the start parameters with the fitted fields replaced).
    pub params: AnalyticParams,
    /// The start parameters.
    pub start: AnalyticParams,
    /// Names of the fitted fields.
    pub fitted: Vec<&'static str>,
    /// Rows given.
    pub rows_given: usize,
    /// Rows used in the fit.
    pub rows_used: usize,
    /// Rows left out, per reason, sorted by reason.
    pub skipped: Vec<SkippedRows>,
    /// Objective evaluations the optimizer made.
    pub evaluations: u32,
    /// Errors with the start parameters.
    pub before: ErrorStats,
    /// Errors with the fitted parameters.
    pub after: ErrorStats,
    /// Every used row, in the order given.
    pub pairs: Vec<FitPair>,
}

/// The fitted fields, in the order of the optimizer's coordinates.
const FITTED: [&str; 3] = [
    "compute_efficiency",
    "bandwidth_efficiency",
    "kernel_overhead_us",
];
const LOWER: [f64; 3] = [1e-3, 1e-3, 1e-2];
const UPPER: [f64; 3] = [1.0, 1.0, 1e5];

/// A used row: its kernel nodes' raw costs, fixed during the fit.
struct UsableRow<'r> {
    row: &'r ProfileRow,
    costs: Vec<RawCost>,
}

impl UsableRow<'_> {
    fn predicted_ms(&self, params: &AnalyticParams) -> f64 {
        self.costs.iter().map(|c| c.seconds(params)).sum::<f64>() * 1e3
    }
}

fn with_fitted(start: &AnalyticParams, x: &[f64]) -> AnalyticParams {
    AnalyticParams {
        compute_efficiency: x[0].exp().clamp(LOWER[0], UPPER[0]),
        bandwidth_efficiency: x[1].exp().clamp(LOWER[1], UPPER[1]),
        kernel_overhead_us: x[2].exp().clamp(LOWER[2], UPPER[2]),
        ..start.clone()
    }
}

fn mean_squared_log_error(rows: &[UsableRow<'_>], params: &AnalyticParams) -> f64 {
    let sum: f64 = rows
        .iter()
        .map(|r| (r.predicted_ms(params).ln() - r.row.latency_ms.ln()).powi(2))
        .sum();
    sum / rows.len() as f64
}

fn stats(rows: &[UsableRow<'_>], predicted: &[f64], params: &AnalyticParams) -> ErrorStats {
    let ape = |r: &UsableRow<'_>, p: f64| (p - r.row.latency_ms).abs() / r.row.latency_ms;
    let mut per_model: BTreeMap<&str, (usize, f64, f64)> = BTreeMap::new();
    let mut per_profile: BTreeMap<(&str, &str, &str), (usize, f64, f64)> = BTreeMap::new();
    let (mut sum, mut max) = (0.0, 0.0f64);
    for (r, &p) in rows.iter().zip(predicted) {
        let e = ape(r, p);
        sum += e;
        max = max.max(e);
        let k = &r.row.key;
        for acc in [
            per_model.entry(k.model.as_str()).or_default(),
            per_profile
                .entry((k.model.as_str(), k.gpu.as_str(), k.profile.as_str()))
                .or_default(),
        ] {
            acc.0 += 1;
            acc.1 += e;
            acc.2 = acc.2.max(e);
        }
    }
    ErrorStats {
        mean_squared_log_error: mean_squared_log_error(rows, params),
        mape: sum / rows.len() as f64,
        max_ape: max,
        per_model: per_model
            .into_iter()
            .map(|(model, (n, s, m))| ModelError {
                model: model.to_string(),
                rows: n,
                mape: s / n as f64,
                max_ape: m,
            })
            .collect(),
        per_model_profile: per_profile
            .into_iter()
            .map(|((model, gpu, profile), (n, s, m))| ModelProfileError {
                model: model.to_string(),
                gpu: gpu.to_string(),
                profile: profile.to_string(),
                rows: n,
                mape: s / n as f64,
                max_ape: m,
            })
            .collect(),
    }
}

/// The raw costs of a row's kernel nodes, or why the row cannot be used.
fn resolve(
    row: &ProfileRow,
    prepared: &BTreeMap<&str, PreparedGraph<'_>>,
    catalog: &Catalog,
    start: &AnalyticParams,
) -> Result<Vec<RawCost>, SkipReason> {
    let k = &row.key;
    if k.batch == 0 || k.procs == 0 || !(row.latency_ms.is_finite() && row.latency_ms > 0.0) {
        return Err(SkipReason::InvalidRow);
    }
    let model = prepared
        .get(k.model.as_str())
        .ok_or(SkipReason::UnknownModel)?;
    let gpu = catalog.gpu(&k.gpu).map_err(|_| SkipReason::UnknownGpu)?;
    let profile = gpu
        .profile_by_name(&k.profile)
        .map_err(|_| SkipReason::UnknownProfile)?;
    // The row's procs are checked above, so only a missing datasheet can fail here.
    let share = ProcessShare::new(gpu, gpu.profile(profile), k.procs)
        .map_err(|_| SkipReason::NoDatasheet)?;
    Ok(model
        .raw(k.batch, &share, start)
        .into_iter()
        .filter(|c| c.kind.is_kernel())
        .collect())
}

/// Fits compute efficiency, bandwidth efficiency and per-kernel overhead to the measured
/// latencies of `rows` (see the module docs). A row is used when its model builds from the zoo
/// (by name or alias) and its GPU and profile are in `catalog` with datasheet figures; the
/// report counts the others per reason. Rows need not fit in memory by the model: they were
/// measured, so they ran.
///
/// Errors: invalid start parameters, a zoo option error (BERT's sequence length), or no usable
/// row.
pub fn calibrate(
    catalog: &Catalog,
    rows: &[ProfileRow],
    options: &CalibrationOptions,
) -> Result<CalibrationReport, AnalyticError> {
    let start = &options.start;
    start.validate()?;
    let mut graphs: BTreeMap<&str, Option<ModelGraph>> = BTreeMap::new();
    for r in rows {
        if !graphs.contains_key(r.key.model.as_str()) {
            let graph = match build(&r.key.model, &options.zoo) {
                Ok(g) => Some(g),
                Err(ZooError::UnknownModel { .. }) => None,
                Err(e) => return Err(AnalyticError::Zoo(e)),
            };
            graphs.insert(r.key.model.as_str(), graph);
        }
    }
    let prepared: BTreeMap<&str, PreparedGraph<'_>> = graphs
        .iter()
        .filter_map(|(name, g)| g.as_ref().map(|g| (*name, PreparedGraph::new(g, start))))
        .collect();

    let mut usable = Vec::new();
    let mut skipped: BTreeMap<SkipReason, (usize, &ProfileKey)> = BTreeMap::new();
    for r in rows {
        let resolved = resolve(r, &prepared, catalog, start);
        match resolved {
            Ok(costs) => usable.push(UsableRow { row: r, costs }),
            Err(reason) => skipped.entry(reason).or_insert((0, &r.key)).0 += 1,
        }
    }
    let skipped: Vec<SkippedRows> = skipped
        .into_iter()
        .map(|(reason, (n, first))| SkippedRows {
            reason,
            rows: n,
            first: first.clone(),
        })
        .collect();
    if usable.is_empty() {
        let reasons = skipped
            .iter()
            .map(|s| format!("{:?} {}", s.reason, s.rows))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(AnalyticError::NoUsableRows {
            rows: rows.len(),
            reasons,
        });
    }

    let x0 = [
        start.compute_efficiency.clamp(LOWER[0], UPPER[0]).ln(),
        start.bandwidth_efficiency.clamp(LOWER[1], UPPER[1]).ln(),
        start.kernel_overhead_us.clamp(LOWER[2], UPPER[2]).ln(),
    ];
    let lower = LOWER.map(f64::ln);
    let upper = UPPER.map(f64::ln);
    let settings = Settings {
        max_evaluations: options.max_evaluations,
        initial_step: 0.7,
        f_tolerance: 1e-15,
        x_tolerance: 1e-7,
        restarts: 4,
    };
    let minimum = minimize(
        |x| mean_squared_log_error(&usable, &with_fitted(start, x)),
        &x0,
        &lower,
        &upper,
        &settings,
    );
    let fitted = with_fitted(start, &minimum.x);

    let before: Vec<f64> = usable.iter().map(|r| r.predicted_ms(start)).collect();
    let after: Vec<f64> = usable.iter().map(|r| r.predicted_ms(&fitted)).collect();
    let pairs = usable
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(r, (&b, &a))| FitPair {
            key: r.row.key.clone(),
            measured_ms: r.row.latency_ms,
            before_ms: b,
            after_ms: a,
        })
        .collect();
    Ok(CalibrationReport {
        before: stats(&usable, &before, start),
        after: stats(&usable, &after, &fitted),
        params: fitted,
        start: start.clone(),
        fitted: FITTED.to_vec(),
        rows_given: rows.len(),
        rows_used: usable.len(),
        skipped,
        evaluations: minimum.evaluations,
        pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::generate_table;
    use migsched_core::profile_table::{ProfileTable, RawRow};

    fn graphs(names: &[&str]) -> Vec<ModelGraph> {
        names
            .iter()
            .map(|n| build(n, &ZooOptions::default()).unwrap())
            .collect()
    }

    /// A table from known, non-default parameters on two GPU types.
    fn synthetic(truth: &AnalyticParams) -> ProfileTable {
        let c = Catalog::builtin();
        let gs = graphs(&["resnet50", "vgg16", "mobilenetv2", "bert-base"]);
        let batches = [1, 2, 4, 8, 16, 32, 64, 128];
        let a = generate_table(c, "a100-80gb", &gs, &batches, 2, truth).unwrap();
        let h = generate_table(c, "h100-80gb", &gs, &batches, 2, truth).unwrap();
        ProfileTable::merged(&[&a, &h])
    }

    fn truth() -> AnalyticParams {
        AnalyticParams {
            compute_efficiency: 0.35,
            bandwidth_efficiency: 0.55,
            kernel_overhead_us: 12.0,
            ..AnalyticParams::default()
        }
    }

    #[test]
    fn recovers_known_parameters_from_the_defaults() {
        let truth = truth();
        let table = synthetic(&truth);
        let report = calibrate(
            Catalog::builtin(),
            table.rows(),
            &CalibrationOptions::default(),
        )
        .unwrap();
        let fitted = &report.params;
        for (name, got, want) in [
            (
                "compute_efficiency",
                fitted.compute_efficiency,
                truth.compute_efficiency,
            ),
            (
                "bandwidth_efficiency",
                fitted.bandwidth_efficiency,
                truth.bandwidth_efficiency,
            ),
            (
                "kernel_overhead_us",
                fitted.kernel_overhead_us,
                truth.kernel_overhead_us,
            ),
        ] {
            assert!(
                (got / want - 1.0).abs() < 0.03,
                "{name}: fitted {got}, true {want}; {report:#?}"
            );
        }
        assert!(report.after.mape < 0.01, "{:?}", report.after);
        assert!(report.before.mape > 0.1, "{:?}", report.before);
        assert_eq!(report.rows_used, table.rows().len());
        assert_eq!(report.pairs.len(), table.rows().len());
        assert!(report.skipped.is_empty());
        // Unfitted fields come from the start parameters.
        assert_eq!(fitted.tile_m, AnalyticParams::default().tile_m);
        assert_eq!(report.fitted, FITTED);
        let models: Vec<&str> = report
            .after
            .per_model
            .iter()
            .map(|m| m.model.as_str())
            .collect();
        assert_eq!(models, ["bert-base", "mobilenetv2", "resnet50", "vgg16"]);
        assert_eq!(
            report.after.per_model_profile.len(),
            4 * (7 + 7),
            "4 models on the 7 profiles of each GPU"
        );
    }

    #[test]
    fn two_fits_are_identical() {
        let table = synthetic(&truth());
        let rows = &table.rows()[..200];
        let options = CalibrationOptions {
            max_evaluations: 400,
            ..CalibrationOptions::default()
        };
        let a = calibrate(Catalog::builtin(), rows, &options).unwrap();
        let b = calibrate(Catalog::builtin(), rows, &options).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert!(a.evaluations <= 400 + 5);
    }

    #[test]
    fn unusable_rows_are_counted_per_reason() {
        let c = Catalog::builtin();
        let row = |model: &str, gpu: &str, profile: &str| RawRow {
            gpu: gpu.into(),
            profile: profile.into(),
            model: model.into(),
            batch: 4,
            procs: 1,
            latency_ms: 3.0,
            throughput_rps: 1333.0,
            memory_mib: None,
            source: "measured".into(),
            line: None,
        };
        let table = ProfileTable::from_raw(
            c,
            vec![
                row("resnet50", "a100-80gb", "3g.40gb"),
                row("resnet18", "a100-80gb", "3g.40gb"),
                row("resnet18", "a100-80gb", "7g.80gb"),
                row("mymodel", "h100-80gb", "7g.80gb"),
            ],
            "t",
        )
        .unwrap();
        let report = calibrate(c, table.rows(), &CalibrationOptions::default()).unwrap();
        assert_eq!((report.rows_given, report.rows_used), (4, 1));
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].reason, SkipReason::UnknownModel);
        assert_eq!(report.skipped[0].rows, 3);

        // A catalog without the GPU, or without its datasheet, skips for that reason.
        let other = Catalog::from_toml_str(crate::test_support::TOY_GPU_TOML, "x.toml").unwrap();
        let report = calibrate(&other, table.rows(), &CalibrationOptions::default());
        assert_eq!(
            report.unwrap_err().to_string(),
            "no usable rows to calibrate against (4 given; each needs a zoo model and a catalog GPU with datasheet figures): UnknownModel 3, UnknownGpu 1"
        );
        let mut renamed: Vec<ProfileRow> = table
            .rows()
            .iter()
            .filter(|r| r.key.model == "resnet50")
            .cloned()
            .collect();
        renamed[0].key.gpu = "toy".into();
        let err = calibrate(&other, &renamed[..1], &CalibrationOptions::default()).unwrap_err();
        assert!(err.to_string().ends_with("UnknownProfile 1"), "{err}");
        renamed[0].key.profile = "1g.4gb".into();
        let err = calibrate(&other, &renamed[..1], &CalibrationOptions::default()).unwrap_err();
        assert!(err.to_string().ends_with("NoDatasheet 1"), "{err}");

        // Rows built by hand can hold what a table would reject.
        let mut bad = table.rows().to_vec();
        for r in &mut bad {
            r.latency_ms = 0.0;
        }
        bad[1].key.batch = 0;
        let err = calibrate(c, &bad, &CalibrationOptions::default()).unwrap_err();
        assert!(err.to_string().ends_with("InvalidRow 4"), "{err}");
    }

    #[test]
    fn bad_start_parameters_are_rejected() {
        let table = synthetic(&truth());
        let options = CalibrationOptions {
            start: AnalyticParams {
                compute_efficiency: -0.1,
                ..AnalyticParams::default()
            },
            ..CalibrationOptions::default()
        };
        assert!(matches!(
            calibrate(Catalog::builtin(), table.rows(), &options).unwrap_err(),
            AnalyticError::InvalidParam {
                field: "compute_efficiency",
                ..
            }
        ));
    }

    /// ParvaGPU's measured A100-80GB tables (SC 2024 artifact), read in place when present:
    /// `MIGSCHED_PARVAGPU_DIR`, else the shared dataset folder of this project's machines.
    /// Never copied into the repository.
    fn parvagpu_rows() -> Option<Vec<RawRow>> {
        let dir = std::env::var("MIGSCHED_PARVAGPU_DIR")
            .unwrap_or_else(|_| "/work/shared/datasets/parvagpu-a100-80gb/prof_data".to_string());
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        let mut rows = Vec::new();
        for file in files {
            let model = file.file_stem()?.to_str()?.to_string();
            let text = std::fs::read_to_string(&file).ok()?;
            for (i, line) in text.lines().enumerate().skip(1) {
                let cells: Vec<&str> = line.split(',').map(str::trim).collect();
                let [size, batch, procs, throughput, latency] = cells[..] else {
                    panic!("{}:{}: not 5 cells", file.display(), i + 1);
                };
                let (throughput, latency): (f64, f64) =
                    (throughput.parse().unwrap(), latency.parse().unwrap());
                if latency == 0.0 {
                    continue; // did not run
                }
                let profile = match size {
                    "1" => "1g.10gb",
                    "2" => "2g.20gb",
                    "3" => "3g.40gb",
                    "4" => "4g.40gb",
                    "7" => "7g.80gb",
                    other => panic!("{}:{}: size {other}", file.display(), i + 1),
                };
                let procs: u32 = procs.parse().unwrap();
                rows.push(RawRow {
                    gpu: "a100-80gb".into(),
                    profile: profile.into(),
                    model: model.clone(),
                    batch: batch.parse().unwrap(),
                    procs,
                    latency_ms: latency * 1e3,
                    throughput_rps: throughput * f64::from(procs),
                    memory_mib: None,
                    source: "parvagpu".into(),
                    line: Some(i + 1),
                });
            }
        }
        Some(rows)
    }

    fn print_report(label: &str, r: &CalibrationReport) {
        eprintln!(
            "{label}: {} rows used, {} evaluations; fitted compute_efficiency {:.4}, bandwidth_efficiency {:.4}, kernel_overhead_us {:.2}",
            r.rows_used,
            r.evaluations,
            r.params.compute_efficiency,
            r.params.bandwidth_efficiency,
            r.params.kernel_overhead_us
        );
        eprintln!(
            "  MAPE before {:.3} after {:.3}; max APE before {:.3} after {:.3}",
            r.before.mape, r.after.mape, r.before.max_ape, r.after.max_ape
        );
        for (b, a) in r.before.per_model.iter().zip(&r.after.per_model) {
            eprintln!(
                "  {:12} rows {:3}  MAPE before {:.3} after {:.3}  max APE after {:.3}",
                a.model, a.rows, b.mape, a.mape, a.max_ape
            );
        }
    }

    /// A sanity check against real measurements: the fit must improve on the defaults
    /// (an inference engine's figures, far from ParvaGPU's eager PyTorch) and land within a
    /// loose bound. Skips, saying so, where the dataset is absent.
    #[test]
    fn fits_parvagpu_measurements_when_present() {
        let Some(raw) = parvagpu_rows() else {
            eprintln!("skipped: ParvaGPU tables not found (set MIGSCHED_PARVAGPU_DIR)");
            return;
        };
        let c = Catalog::builtin();
        let table = ProfileTable::from_raw(c, raw, "parvagpu").unwrap();
        for fuse in [true, false] {
            let options = CalibrationOptions {
                start: AnalyticParams {
                    fuse_epilogues: fuse,
                    ..AnalyticParams::default()
                },
                ..CalibrationOptions::default()
            };
            let r = calibrate(c, table.rows(), &options).unwrap();
            print_report(&format!("ParvaGPU A100-80GB, fuse_epilogues {fuse}"), &r);
            assert_eq!(r.rows_used, table.rows().len(), "every model is in the zoo");
            assert!(r.after.mape < r.before.mape);
            // Loose: a three-parameter model of an eager-PyTorch measurement with 1 ms
            // rounding; about 0.3 is what it reaches (see the module docs of `calibrate`).
            assert!(r.after.mape < 0.35, "MAPE after {}", r.after.mape);
        }
    }
}
