//! A solvable problem: an instance resolved against the catalog and a profile table into
//! GPU pools with their candidate layouts and the serving options that meet each model's SLO.
//!
//! Every method (ILP, heuristics, brute force) starts from the same `Problem`, so their plans
//! compare one to one.

use std::collections::BTreeMap;
use std::sync::Arc;

use migsched_core::{
    Catalog, Driver, EnumerateOptions, GpuType, Instance, Layout, ModelDemand, ProfileIndex,
    ProfileTable, SloRule, enumerate_layouts,
};
use serde::Serialize;
use thiserror::Error;

/// GPUs of one type available to the plan.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The GPU type.
    pub gpu: Arc<GpuType>,
    /// How many are available.
    pub count: u32,
    /// Cost of one.
    pub cost: f64,
    /// Profiles with at least one serving option, in catalog order.
    pub profiles: Vec<ProfileIndex>,
    /// Maximal legal layouts over those profiles (the configurations of the ILP).
    pub layouts: Vec<Layout>,
}

/// One way an instance of a profile can serve a model: batch size and MPS processes, with
/// the profile table's latency and throughput.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServingOption {
    /// Index into [`Problem::pools`].
    pub pool: usize,
    /// The profile.
    pub profile: ProfileIndex,
    /// Index into [`Problem::models`].
    pub model: usize,
    /// Batch size.
    pub batch: u32,
    /// MPS processes.
    pub procs: u32,
    /// Latency of one batch, ms.
    pub latency_ms: f64,
    /// Throughput of the instance, samples/s.
    pub throughput_rps: f64,
}

/// A query batch class of a model in the PARIS setting, servable on a profile at a latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassOption {
    /// Index into [`Problem::pools`].
    pub pool: usize,
    /// The profile.
    pub profile: ProfileIndex,
    /// Index into [`Problem::models`].
    pub model: usize,
    /// The queries' batch size.
    pub batch: u32,
    /// Probability of this batch among the model's queries.
    pub share: f64,
    /// Latency of one query of this batch on one process of the profile, ms (interpolated
    /// between profiled batches when needed).
    pub latency_ms: f64,
}

/// An instance ready for the solvers.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The instance's name.
    pub name: String,
    /// GPU pools, in instance order.
    pub pools: Vec<Pool>,
    /// Models, in instance order.
    pub models: Vec<ModelDemand>,
    /// The SLO rule.
    pub rule: SloRule,
    /// Driver rules for layouts.
    pub driver: Driver,
    /// Every SLO- and limit-respecting option, sorted by (pool, profile, model, batch, procs).
    pub options: Vec<ServingOption>,
    /// For each (pool, profile, model): the index into `options` of the option with the
    /// highest throughput (ties: lower latency, smaller batch, fewer processes). Throughput is
    /// all that counts toward demand, so the integer programs use only these.
    pub best: BTreeMap<(usize, ProfileIndex, usize), usize>,
    /// PARIS setting: for each model, its batch classes with the profiles that can serve them
    /// (procs = 1). Models without a batch distribution get the single class batch 1.
    pub classes: Vec<ClassOption>,
}

/// An instance that cannot be turned into a problem.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProblemError {
    /// The profile table has no rows for a GPU type of the instance, nor for a model.
    #[error("{0}")]
    Missing(String),
}

impl Problem {
    /// Resolves an instance against a profile table.
    pub fn new(
        catalog: &Catalog,
        instance: &Instance,
        table: &ProfileTable,
    ) -> Result<Problem, ProblemError> {
        let mut pools_raw = Vec::new();
        for p in &instance.gpus {
            let gpu = catalog
                .gpu(&p.gpu)
                .map_err(|e| ProblemError::Missing(format!("instance GPU '{}': {e}", p.gpu)))?
                .clone();
            pools_raw.push((gpu, p.count, p.cost));
        }
        let rule = instance.serving.slo_rule;
        let mut options = Vec::new();
        for (pi, (gpu, _, _)) in pools_raw.iter().enumerate() {
            for (mi, m) in instance.models.iter().enumerate() {
                for row in table.select(Some(gpu.id()), None, Some(&m.name), None) {
                    if row.key.procs > instance.serving.max_procs {
                        continue;
                    }
                    if let Some(bs) = &instance.serving.batches {
                        if bs.binary_search(&row.key.batch).is_err() {
                            continue;
                        }
                    }
                    let Ok(profile) = gpu.profile_by_name(&row.key.profile) else {
                        continue;
                    };
                    if let Some(mem) = row.memory_mib {
                        if mem > gpu.profile(profile).memory_mib() as f64 {
                            continue;
                        }
                    }
                    // The rate an instance sees: its own throughput when saturated, or the
                    // model's whole rate when one instance is enough (gpulet's batch-wait rule).
                    let rate = row.throughput_rps.min(m.rate_rps);
                    if !rule.admits(row.latency_ms, row.key.batch, rate, m.slo_ms) {
                        continue;
                    }
                    options.push(ServingOption {
                        pool: pi,
                        profile,
                        model: mi,
                        batch: row.key.batch,
                        procs: row.key.procs,
                        latency_ms: row.latency_ms,
                        throughput_rps: row.throughput_rps,
                    });
                }
            }
        }
        options.sort_by(|a, b| {
            (a.pool, a.profile, a.model, a.batch, a.procs)
                .cmp(&(b.pool, b.profile, b.model, b.batch, b.procs))
        });
        let mut best: BTreeMap<(usize, ProfileIndex, usize), usize> = BTreeMap::new();
        for (i, o) in options.iter().enumerate() {
            let key = (o.pool, o.profile, o.model);
            let better = match best.get(&key) {
                None => true,
                Some(&j) => {
                    let b = &options[j];
                    o.throughput_rps > b.throughput_rps
                        || (o.throughput_rps == b.throughput_rps && o.latency_ms < b.latency_ms)
                }
            };
            if better {
                best.insert(key, i);
            }
        }

        let classes = paris_classes(&pools_raw, instance, table, rule);

        let mut pools = Vec::new();
        for (pi, (gpu, count, cost)) in pools_raw.into_iter().enumerate() {
            let usable: Vec<ProfileIndex> = gpu
                .profile_indices()
                .filter(|&p| {
                    best.keys().any(|&(op, pp, _)| op == pi && pp == p)
                        || classes.iter().any(|c| c.pool == pi && c.profile == p)
                })
                .collect();
            let profiles: Vec<ProfileIndex> = usable
                .iter()
                .copied()
                .filter(|&p| {
                    !usable.iter().any(|&q| {
                        q != p
                            && profile_dominates(
                                &gpu,
                                (q, p),
                                Figures {
                                    options: &options,
                                    best: &best,
                                    classes: &classes,
                                },
                                pi,
                                instance.models.len(),
                            )
                    })
                })
                .collect();
            let layouts = if profiles.is_empty() {
                Vec::new()
            } else {
                enumerate_layouts(
                    &gpu,
                    &EnumerateOptions {
                        profiles: Some(profiles.clone()),
                        driver: instance.serving.driver,
                        maximal: true,
                    },
                )
            };
            let layouts = undominated_layouts(layouts);
            pools.push(Pool {
                gpu,
                count,
                cost,
                profiles,
                layouts,
            });
        }
        Ok(Problem {
            name: instance.name.clone(),
            pools,
            models: instance.models.clone(),
            rule,
            driver: instance.serving.driver,
            options,
            best,
            classes,
        })
    }

    /// The same problem without the dominance reductions: every profile with an option and
    /// every maximal layout over them. Slower to solve, same optimum; tests compare the two.
    pub fn unreduced(&self) -> Problem {
        let mut full = self.clone();
        for (pi, pool) in full.pools.iter_mut().enumerate() {
            pool.profiles = pool
                .gpu
                .profile_indices()
                .filter(|&p| {
                    self.best.keys().any(|&(op, pp, _)| op == pi && pp == p)
                        || self.classes.iter().any(|c| c.pool == pi && c.profile == p)
                })
                .collect();
            pool.layouts = if pool.profiles.is_empty() {
                Vec::new()
            } else {
                enumerate_layouts(
                    &pool.gpu,
                    &EnumerateOptions {
                        profiles: Some(pool.profiles.clone()),
                        driver: self.driver,
                        maximal: true,
                    },
                )
            };
        }
        full
    }

    /// The best option of (pool, profile, model), if any.
    pub fn best_option(
        &self,
        pool: usize,
        profile: ProfileIndex,
        model: usize,
    ) -> Option<&ServingOption> {
        self.best
            .get(&(pool, profile, model))
            .map(|&i| &self.options[i])
    }

    /// Why a model cannot be served at all under the SLO rule, if it cannot: no rows for it,
    /// or no row that meets its SLO (with the fastest row there is).
    pub fn unservable(&self, model: usize, paris: bool) -> Option<String> {
        let m = &self.models[model];
        let servable = if paris {
            self.model_classes(model).all(|b| {
                self.classes
                    .iter()
                    .any(|c| c.model == model && c.batch == b)
            })
        } else {
            self.best.keys().any(|&(_, _, mm)| mm == model)
        };
        if servable {
            return None;
        }
        Some(format!(
            "{}: no profile meets SLO {} ms ({}) at any batch{}",
            m.name,
            m.slo_ms,
            self.rule.describe(),
            if paris {
                " class of its batch distribution"
            } else {
                ""
            }
        ))
    }

    /// The batch classes of a model in the PARIS setting.
    pub fn model_classes(&self, model: usize) -> impl Iterator<Item = u32> + '_ {
        let d = &self.models[model].batch_distribution;
        let v: Vec<u32> = match d {
            Some(d) => d.iter().map(|(b, _)| *b).collect(),
            None => vec![1],
        };
        v.into_iter()
    }

    /// Total GPUs available over all pools.
    pub fn gpus_available(&self) -> u32 {
        self.pools.iter().map(|p| p.count).sum()
    }
}

/// Whether profile `q` can stand in for profile `p` on every GPU of a pool without loss: the
/// same class and memory footprint, no more compute, every start of `p`, a count limit that
/// compute alone enforces, no media-extension rule to break, and for every model an option
/// (and every PARIS batch class) at least as good. A `+me` profile with the plain profile's
/// figures is the usual case. Ties keep the lower index.
/// What a profile's serving is judged by: the options, the best option per (pool, profile,
/// model), and the PARIS batch classes.
struct Figures<'a> {
    options: &'a [ServingOption],
    best: &'a BTreeMap<(usize, ProfileIndex, usize), usize>,
    classes: &'a [ClassOption],
}

fn profile_dominates(
    gpu: &GpuType,
    (q, p): (ProfileIndex, ProfileIndex),
    Figures {
        options,
        best,
        classes,
    }: Figures<'_>,
    pool: usize,
    models: usize,
) -> bool {
    let throughput =
        |x: ProfileIndex, m: usize| best.get(&(pool, x, m)).map(|&i| options[i].throughput_rps);
    let serves_as_well = |q: ProfileIndex, p: ProfileIndex| {
        (0..models).all(|m| match (throughput(p, m), throughput(q, m)) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(tp), Some(tq)) => tq >= tp,
        })
    };
    let better = |q: ProfileIndex, p: ProfileIndex| {
        stands_in(gpu, q, p) && serves_as_well(q, p) && routes_as_well(classes, pool, q, p)
    };
    // Mutual domination (identical profiles): keep the lower index.
    better(q, p) && (q < p || !better(p, q))
}

/// Whether an instance of `q` can replace one of `p` in any legal layout: the same class and
/// memory footprint, no more compute, every start of `p`, a count limit that compute alone
/// enforces, and no more media engines of any kind (so no engine rule it could break).
fn stands_in(gpu: &GpuType, q: ProfileIndex, p: ProfileIndex) -> bool {
    let (pp, qq) = (gpu.profile(p), gpu.profile(q));
    qq.class() == pp.class()
        && qq.memory_slices() == pp.memory_slices()
        && qq.compute_slices() <= pp.compute_slices()
        && pp.starts().iter().all(|s| qq.starts().contains(s))
        && u32::from(qq.max_count()) * u32::from(qq.compute_slices())
            >= u32::from(gpu.compute_slices())
        && qq.engines_within(pp)
}

/// Whether every PARIS batch class `p` serves on a pool, `q` serves at no greater latency.
fn routes_as_well(classes: &[ClassOption], pool: usize, q: ProfileIndex, p: ProfileIndex) -> bool {
    classes
        .iter()
        .filter(|c| c.pool == pool && c.profile == p)
        .all(|c| {
            classes.iter().any(|d| {
                d.pool == pool
                    && d.profile == q
                    && d.model == c.model
                    && d.batch == c.batch
                    && d.latency_ms <= c.latency_ms
            })
        })
}

/// Leaves out every layout whose instance counts another layout matches or exceeds for every
/// profile (the integer programs only count slots, so it is never needed). Of layouts with
/// equal counts the first stays.
fn undominated_layouts(layouts: Vec<Layout>) -> Vec<Layout> {
    let counts: Vec<_> = layouts.iter().map(|l| l.counts()).collect();
    let keep: Vec<bool> = (0..layouts.len())
        .map(|i| {
            !(0..layouts.len()).any(|j| {
                j != i && counts[i].is_subset_of(&counts[j]) && (counts[i] != counts[j] || j < i)
            })
        })
        .collect();
    layouts
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(l, _)| l)
        .collect()
}

/// Latency of batch `b` from profiled points (batch, latency), linear between neighbours;
/// `None` outside the profiled range.
pub fn interpolate_latency(points: &[(u32, f64)], b: u32) -> Option<f64> {
    if let Some(&(_, l)) = points.iter().find(|p| p.0 == b) {
        return Some(l);
    }
    let below = points.iter().filter(|p| p.0 < b).max_by_key(|p| p.0)?;
    let above = points.iter().filter(|p| p.0 > b).min_by_key(|p| p.0)?;
    let t = f64::from(b - below.0) / f64::from(above.0 - below.0);
    Some(below.1 + t * (above.1 - below.1))
}

fn paris_classes(
    pools: &[(Arc<GpuType>, u32, f64)],
    instance: &Instance,
    table: &ProfileTable,
    rule: SloRule,
) -> Vec<ClassOption> {
    let mut out = Vec::new();
    for (pi, (gpu, _, _)) in pools.iter().enumerate() {
        for (mi, m) in instance.models.iter().enumerate() {
            let dist: Vec<(u32, f64)> = m
                .batch_distribution
                .clone()
                .unwrap_or_else(|| vec![(1, 1.0)]);
            for profile in gpu.profile_indices() {
                let name = gpu.profile(profile).name();
                let points: Vec<(u32, f64)> = table
                    .select(Some(gpu.id()), Some(name), Some(&m.name), Some(1))
                    .map(|r| (r.key.batch, r.latency_ms))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                for &(b, share) in &dist {
                    let Some(latency_ms) = interpolate_latency(&points, b) else {
                        continue;
                    };
                    // Queries arrive batched: no time is spent collecting a batch, so the
                    // batch-wait rule reduces to L ≤ SLO (an infinite collection rate).
                    if rule.admits(latency_ms, b, f64::INFINITY, m.slo_ms) {
                        out.push(ClassOption {
                            pool: pi,
                            profile,
                            model: mi,
                            batch: b,
                            share,
                            latency_ms,
                        });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_linear_inside_and_none_outside() {
        let pts = [(1, 2.0), (4, 8.0), (8, 10.0)];
        assert_eq!(interpolate_latency(&pts, 4), Some(8.0));
        assert_eq!(interpolate_latency(&pts, 2), Some(4.0));
        assert_eq!(interpolate_latency(&pts, 6), Some(9.0));
        assert_eq!(interpolate_latency(&pts, 16), None);
    }
}
