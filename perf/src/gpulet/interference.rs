//! The gpulet interference model: the slowdown of a gpulet while the other gpulet of its GPU
//! runs, linear in the two gpulets' L2 and DRAM utilizations (each scaled by its size p/100):
//!
//! ```text
//! factor = c0·l2_self + c1·l2_other + c2·dram_self + c3·dram_other + c4
//! latency under co-location = latency alone · max(1, factor)
//! ```
//!
//! Coefficients are per GPU type and live as data in `interference.toml`. [`fit`] finds new
//! ones from co-location measurements by least squares; [`synthetic_colocation`] makes such
//! measurements from migsched's analytic model with an explicit contention model, which is
//! where the shipped sets come from (no published set for the catalog's GPUs is available to
//! migsched: the seed paper's text in the project holds only its abstract).

use migsched_core::catalog::GpuType;
use serde::{Deserialize, Serialize};

use super::{gpulet_curve, node_parts};
use crate::analytic::{AnalyticError, AnalyticParams};
use crate::zoo::{ModelGraph, ZooOptions, build};

/// The shipped coefficient sets (TOML).
pub const BUILTIN_TOML: &str = include_str!("interference.toml");

/// One GPU type's coefficients `[c0, c1, c2, c3, c4]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coefficients {
    /// Catalog GPU id.
    pub gpu: String,
    /// Where the numbers come from.
    pub source: String,
    /// `[c0 (l2 self), c1 (l2 other), c2 (dram self), c3 (dram other), c4 (constant)]`.
    pub c: [f64; 5],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    set: Vec<Coefficients>,
}

/// A gpulet's utilization features: whole-GPU utilizations and its size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// L2 utilization feature (whole GPU), in [0, 1].
    pub l2: f64,
    /// DRAM utilization feature (whole GPU), in [0, 1].
    pub dram: f64,
    /// Gpulet size, % of SMs.
    pub percent: u32,
}

impl Usage {
    fn scaled(&self) -> (f64, f64) {
        let s = f64::from(self.percent) / 100.0;
        (self.l2 * s, self.dram * s)
    }
}

/// The regressors of one co-location: `[l2_self, l2_other, dram_self, dram_other, 1]`.
pub fn features(me: &Usage, other: &Usage) -> [f64; 5] {
    let (l2s, drs) = me.scaled();
    let (l2o, dro) = other.scaled();
    [l2s, l2o, drs, dro, 1.0]
}

impl Coefficients {
    /// The raw linear prediction (may be below 1).
    pub fn predict(&self, me: &Usage, other: &Usage) -> f64 {
        features(me, other)
            .iter()
            .zip(&self.c)
            .map(|(x, c)| x * c)
            .sum()
    }

    /// The latency multiplier of `me` while `other` runs beside it: `max(1, prediction)`.
    pub fn factor(&self, me: &Usage, other: &Usage) -> f64 {
        self.predict(me, other).max(1.0)
    }
}

/// The shipped coefficient sets, one per GPU type.
pub fn builtin() -> Vec<Coefficients> {
    parse(BUILTIN_TOML, "builtin interference.toml").expect("the shipped coefficients parse")
}

/// Coefficient sets from TOML text (`[[set]] gpu = .., source = .., c = [5 numbers]`).
pub fn parse(text: &str, origin: &str) -> Result<Vec<Coefficients>, String> {
    let f: File = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    for s in &f.set {
        if s.c.iter().any(|c| !c.is_finite()) {
            return Err(format!("{origin}: set for '{}': c is not finite", s.gpu));
        }
    }
    Ok(f.set)
}

/// The shipped set for a GPU type, if any.
pub fn for_gpu(gpu: &str) -> Option<Coefficients> {
    builtin().into_iter().find(|c| c.gpu == gpu)
}

/// One co-location measurement: the two gpulets and the measured slowdown of `me`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The gpulet whose slowdown was measured.
    pub me: Usage,
    /// The gpulet beside it.
    pub other: Usage,
    /// Latency co-located / latency alone.
    pub slowdown: f64,
}

/// The result of a least-squares fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// `[c0..c4]`.
    pub c: [f64; 5],
    /// Root-mean-square residual of the slowdown.
    pub rmse: f64,
    /// Samples used.
    pub samples: usize,
}

/// Least-squares fit of the five coefficients to co-location samples (normal equations,
/// Gaussian elimination with partial pivoting). `None` when the samples do not determine the
/// coefficients (fewer than five, or collinear features).
pub fn fit(samples: &[Sample]) -> Option<Fit> {
    if samples.len() < 5 {
        return None;
    }
    let mut a = [[0.0f64; 6]; 5];
    for s in samples {
        let x = features(&s.me, &s.other);
        for (row, xi) in a.iter_mut().zip(x) {
            for (cell, xj) in row.iter_mut().zip(x) {
                *cell += xi * xj;
            }
            row[5] += xi * s.slowdown;
        }
    }
    let scale = a
        .iter()
        .enumerate()
        .map(|(i, row)| row[i])
        .fold(0.0f64, f64::max);
    for col in 0..5 {
        let pivot = (col..5).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale.max(1e-300) {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p[col];
                for (x, y) in row.iter_mut().zip(p).skip(col) {
                    *x -= f * y;
                }
            }
        }
    }
    let c: [f64; 5] = std::array::from_fn(|i| a[i][5] / a[i][i]);
    let coeffs = Coefficients {
        gpu: String::new(),
        source: String::new(),
        c,
    };
    let sse: f64 = samples
        .iter()
        .map(|s| (coeffs.predict(&s.me, &s.other) - s.slowdown).powi(2))
        .sum();
    Some(Fit {
        c,
        rmse: (sse / samples.len() as f64).sqrt(),
        samples: samples.len(),
    })
}

/// The contention model behind migsched's synthetic co-location data. While another gpulet
/// runs beside it, a gpulet's
/// - memory phases get the DRAM bandwidth the other leaves: time × `1 / max(floor, 1 − d)`
///   with `d` the other's DRAM-busy fraction at its own size;
/// - compute phases slow by `l2_penalty · l2_other` (the other's scaled L2 feature), for the
///   L2 capacity and bandwidth the two share.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Contention {
    /// Largest relative slowdown of compute phases from L2 sharing. Default 0.3.
    pub l2_penalty: f64,
    /// Smallest share of the bandwidth left to a gpulet. Default 0.2.
    pub bandwidth_floor: f64,
}

impl Default for Contention {
    fn default() -> Self {
        Contention {
            l2_penalty: 0.3,
            bandwidth_floor: 0.2,
        }
    }
}

/// Synthetic co-location measurements: every ordered pair of (graph, batch) on every split
/// `p | 100 − p` (p < 100 among `sizes`), the first gpulet's slowdown under `contention`.
pub fn synthetic_colocation(
    gpu: &GpuType,
    graphs: &[ModelGraph],
    sizes: &[u32],
    batches: &[u32],
    params: &AnalyticParams,
    contention: &Contention,
) -> Result<Vec<Sample>, AnalyticError> {
    struct Run {
        parts: Vec<(f64, f64, f64)>,
        alone: f64,
        dram_busy: f64,
        usage: Usage,
    }
    let mut runs: Vec<Vec<Run>> = Vec::new();
    for &p in sizes.iter().filter(|&&p| p < 100) {
        let mut at_p = Vec::new();
        for g in graphs {
            let curve = gpulet_curve(g, gpu, p, batches, params)?;
            for point in &curve.points {
                let parts = node_parts(g, gpu, p, point.batch, params)?;
                let alone: f64 = parts.iter().map(|(c, m, o)| c.max(*m) + o).sum();
                let mem: f64 = parts.iter().map(|(_, m, _)| m).sum();
                at_p.push(Run {
                    dram_busy: (mem / alone).clamp(0.0, 1.0),
                    parts,
                    alone,
                    usage: Usage {
                        l2: point.l2,
                        dram: point.dram,
                        percent: p,
                    },
                });
            }
        }
        runs.push(at_p);
    }
    let index = |p: u32| sizes.iter().filter(|&&q| q < 100).position(|&q| q == p);
    let mut out = Vec::new();
    for (pi, &p) in sizes.iter().filter(|&&p| p < 100).enumerate() {
        let Some(qi) = index(100 - p) else { continue };
        for me in &runs[pi] {
            for other in &runs[qi] {
                let (l2o, _) = other.usage.scaled();
                let mem_stretch = 1.0 / (1.0 - other.dram_busy).max(contention.bandwidth_floor);
                let cmp_stretch = 1.0 + contention.l2_penalty * l2o;
                let co: f64 = me
                    .parts
                    .iter()
                    .map(|(c, m, o)| (c * cmp_stretch).max(m * mem_stretch) + o)
                    .sum();
                out.push(Sample {
                    me: me.usage,
                    other: other.usage,
                    slowdown: co / me.alone,
                });
            }
        }
    }
    Ok(out)
}

/// The synthetic co-location samples of `gpu` that the shipped sets are fitted on:
/// [`synthetic_colocation`] of the zoo models [`SYNTHETIC_MODELS`] at [`SYNTHETIC_BATCHES`] on
/// every split of the default gpulet sizes, with the default analytic parameters.
pub fn synthetic_samples(
    gpu: &GpuType,
    contention: &Contention,
) -> Result<Vec<Sample>, AnalyticError> {
    let graphs: Vec<ModelGraph> = SYNTHETIC_MODELS
        .iter()
        .map(|m| build(m, &ZooOptions::default()).expect("the synthetic models are zoo models"))
        .collect();
    synthetic_colocation(
        gpu,
        &graphs,
        &super::DEFAULT_SIZES,
        &SYNTHETIC_BATCHES,
        &AnalyticParams::default(),
        contention,
    )
}

/// The header of a co-location samples CSV ([`samples_from_csv`], [`samples_to_csv`]).
pub const SAMPLES_HEADER: &str =
    "me_l2,me_dram,me_percent,other_l2,other_dram,other_percent,slowdown";

/// Reads co-location samples from CSV with the columns of [`SAMPLES_HEADER`] (in any order,
/// extra columns ignored): utilizations in [0, 1], sizes in 1..=100 (% of SMs) and the
/// measured slowdown (latency co-located / alone, > 0). Errors name the origin, line, column
/// and value.
pub fn samples_from_csv(text: &str, origin: &str) -> Result<Vec<Sample>, String> {
    use migsched_core::profile_table::split_csv_line;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Err(format!(
            "{origin}: the file is empty; expected a header line '{SAMPLES_HEADER}'"
        ));
    };
    let names: Vec<String> = split_csv_line(header)
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let columns: Vec<&str> = SAMPLES_HEADER.split(',').collect();
    let mut index = [0usize; 7];
    for (slot, &want) in index.iter_mut().zip(&columns) {
        *slot = names.iter().position(|n| n == want).ok_or_else(|| {
            format!("{origin}: the header has no column '{want}' (expected {SAMPLES_HEADER})")
        })?;
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let cells = split_csv_line(line);
        let cell = |k: usize| -> Result<f64, String> {
            let name = columns[k];
            let raw = cells.get(index[k]).map(|c| c.trim()).unwrap_or("");
            raw.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{origin}:{}: {name} '{raw}' is not a number", i + 1))
        };
        let unit = |k: usize| -> Result<f64, String> {
            let x = cell(k)?;
            if (0.0..=1.0).contains(&x) {
                Ok(x)
            } else {
                Err(format!(
                    "{origin}:{}: {} {x} is not in [0, 1]",
                    i + 1,
                    columns[k]
                ))
            }
        };
        let percent = |k: usize| -> Result<u32, String> {
            let x = cell(k)?;
            if x.fract() == 0.0 && (1.0..=100.0).contains(&x) {
                Ok(x as u32)
            } else {
                Err(format!(
                    "{origin}:{}: {} {x} is not a whole percentage in 1..=100",
                    i + 1,
                    columns[k]
                ))
            }
        };
        let slowdown = cell(6)?;
        if slowdown <= 0.0 {
            return Err(format!(
                "{origin}:{}: slowdown {slowdown} is not positive",
                i + 1
            ));
        }
        out.push(Sample {
            me: Usage {
                l2: unit(0)?,
                dram: unit(1)?,
                percent: percent(2)?,
            },
            other: Usage {
                l2: unit(3)?,
                dram: unit(4)?,
                percent: percent(5)?,
            },
            slowdown,
        });
    }
    if out.is_empty() {
        return Err(format!("{origin}: no samples after the header"));
    }
    Ok(out)
}

/// Co-location samples as CSV (the columns of [`SAMPLES_HEADER`]).
pub fn samples_to_csv(samples: &[Sample]) -> String {
    let mut out = format!("{SAMPLES_HEADER}\n");
    for s in samples {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            s.me.l2, s.me.dram, s.me.percent, s.other.l2, s.other.dram, s.other.percent, s.slowdown
        ));
    }
    out
}

/// Coefficient sets as TOML that [`parse`] reads back (`[[set]]` tables).
pub fn sets_to_toml(sets: &[Coefficients]) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        set: &'a [Coefficients],
    }
    toml::to_string(&Out { set: sets }).expect("coefficient sets serialize")
}

/// The models and batches the shipped synthetic sets were fitted on.
pub const SYNTHETIC_MODELS: [&str; 6] = [
    "resnet50",
    "vgg16",
    "densenet121",
    "inceptionv3",
    "mobilenetv2",
    "bert-base",
];
/// Batches of the shipped synthetic fits.
pub const SYNTHETIC_BATCHES: [u32; 5] = [1, 4, 16, 32, 64];

#[cfg(test)]
mod tests {
    use super::*;
    use migsched_core::catalog::Catalog;

    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn samples_round_trip_through_csv_and_sets_through_toml() {
        let s = Sample {
            me: Usage {
                l2: 0.25,
                dram: 0.5,
                percent: 40,
            },
            other: Usage {
                l2: 0.125,
                dram: 0.75,
                percent: 60,
            },
            slowdown: 1.375,
        };
        let text = samples_to_csv(&[s, s]);
        assert_eq!(samples_from_csv(&text, "s.csv").unwrap(), [s, s]);
        // Columns in another order, with an extra one and a comment.
        let shuffled = "# measured\nslowdown,note,other_percent,other_dram,other_l2,me_percent,me_dram,me_l2\n\
                        1.375,x,60,0.75,0.125,40,0.5,0.25\n";
        assert_eq!(samples_from_csv(shuffled, "s.csv").unwrap(), [s]);
        let sets = vec![Coefficients {
            gpu: "a100-80gb".into(),
            source: "test".into(),
            c: [0.5, -0.25, 1.0, 0.0, 0.875],
        }];
        assert_eq!(parse(&sets_to_toml(&sets), "t.toml").unwrap(), sets);
    }

    #[test]
    fn bad_samples_name_the_line_column_and_value() {
        let err = |body: &str| {
            samples_from_csv(&format!("{SAMPLES_HEADER}\n{body}"), "s.csv").unwrap_err()
        };
        assert_eq!(
            err("0.2,0.3,40,0.1,0.2,60,x\n"),
            "s.csv:2: slowdown 'x' is not a number"
        );
        assert_eq!(
            err("1.5,0.3,40,0.1,0.2,60,1.2\n"),
            "s.csv:2: me_l2 1.5 is not in [0, 1]"
        );
        assert_eq!(
            err("0.2,0.3,40,0.1,0.2,0,1.2\n"),
            "s.csv:2: other_percent 0 is not a whole percentage in 1..=100"
        );
        assert_eq!(
            err("0.2,0.3,40,0.1,0.2,60,-1\n"),
            "s.csv:2: slowdown -1 is not positive"
        );
        assert_eq!(
            err("0.2,0.3,40,0.1,0.2,60,NaN\n"),
            "s.csv:2: slowdown 'NaN' is not a number"
        );
        assert_eq!(err(""), "s.csv: no samples after the header");
        assert!(samples_from_csv("", "s.csv").unwrap_err().contains("empty"));
        assert!(
            samples_from_csv("me_l2,slowdown\n1,1\n", "s.csv")
                .unwrap_err()
                .contains("no column 'me_dram'")
        );
    }

    #[test]
    fn fit_recovers_known_coefficients_from_noisy_samples() {
        let truth = [0.1129, 0.7160, 0.3549, 0.0882, 0.8954];
        let known = Coefficients {
            gpu: "x".into(),
            source: "test".into(),
            c: truth,
        };
        let mut s = 42u64;
        let sizes = [20, 40, 50, 60, 80];
        let samples: Vec<Sample> = (0..400)
            .map(|i| {
                let p = sizes[i % 5];
                let me = Usage {
                    l2: lcg(&mut s),
                    dram: lcg(&mut s),
                    percent: p,
                };
                let other = Usage {
                    l2: lcg(&mut s),
                    dram: lcg(&mut s),
                    percent: 100 - p,
                };
                let noise = (lcg(&mut s) - 0.5) * 1e-3;
                Sample {
                    me,
                    other,
                    slowdown: known.predict(&me, &other) + noise,
                }
            })
            .collect();
        let f = fit(&samples).unwrap();
        for (got, want) in f.c.iter().zip(truth) {
            assert!((got - want).abs() < 0.01, "{:?} vs {truth:?}", f.c);
        }
        assert!(f.rmse < 1e-3);
        assert!(fit(&samples[..4]).is_none());
        // Collinear: every feature the same in every sample.
        let same = vec![samples[0]; 10];
        assert!(fit(&same).is_none());
    }

    #[test]
    fn factor_is_never_below_one() {
        let c = Coefficients {
            gpu: "x".into(),
            source: "t".into(),
            c: [0.0, 0.0, 0.0, 0.0, 0.5],
        };
        let u = Usage {
            l2: 0.5,
            dram: 0.5,
            percent: 50,
        };
        assert_eq!(c.factor(&u, &u), 1.0);
    }

    #[test]
    fn shipped_sets_are_the_fit_of_the_synthetic_data() {
        let catalog = Catalog::builtin();
        let sets = builtin();
        assert!(!sets.is_empty());
        for set in &sets {
            let gpu = catalog.gpu(&set.gpu).unwrap();
            let samples = synthetic_samples(gpu, &Contention::default()).unwrap();
            let f = fit(&samples).unwrap();
            eprintln!(
                "{}: c = {:?} rmse {:.4} n {}",
                set.gpu, f.c, f.rmse, f.samples
            );
            for (got, want) in f.c.iter().zip(set.c) {
                assert!(
                    (got - want).abs() < 5e-4,
                    "{}: {:?} vs {:?}",
                    set.gpu,
                    f.c,
                    set.c
                );
            }
            // Co-location never speeds a gpulet up.
            assert!(samples.iter().all(|s| s.slowdown >= 1.0));
        }
    }
}
