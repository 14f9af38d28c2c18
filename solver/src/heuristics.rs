//! The heuristics researchers compare against, on the same problem and plan format as the
//! integer programs: homogeneous partitions, a ParvaGPU-shaped greedy, and PARIS.

use migsched_core::{
    Driver, EnumerateOptions, MigMethod, Objective, ProfileIndex, enumerate_layouts, knee_batch,
};

use crate::options::SolveOptions;
use crate::pack::{Item, pack};
use crate::problem::{Problem, ServingOption};

use crate::solution::{GpuAssignment, InstanceService, Solution, build_plan};

fn service(o: &ServingOption) -> InstanceService {
    InstanceService {
        model: o.model,
        batch: o.batch,
        procs: o.procs,
        latency_ms: o.latency_ms,
        throughput_rps: o.throughput_rps,
    }
}

/// Packs a heuristic's instances onto GPUs and makes its solution (infeasible when a pool runs
/// out of GPUs).
fn packed(
    problem: &Problem,
    method: MigMethod,
    objective: Objective,
    items: Vec<Item>,
    driver: Driver,
) -> Solution {
    match pack(problem, items, driver) {
        Ok(gpus) => Solution::heuristic(
            problem,
            method,
            objective,
            build_plan(problem, method, objective, gpus),
            None,
        ),
        Err(e) => Solution::infeasible(method, objective, format!("{method} packing {e}")),
    }
}

/// The profile of a size class (`1g`, `2g`, ...) on a pool: the non-`+me` one with the fewest
/// memory slices (1g.10gb rather than 1g.20gb).
fn class_profile(problem: &Problem, pool: usize, class: &str) -> Option<ProfileIndex> {
    let gpu = &problem.pools[pool].gpu;
    problem.pools[pool]
        .profiles
        .iter()
        .copied()
        .filter(|&p| gpu.profile(p).class() == class && !gpu.profile(p).is_variant())
        .min_by_key(|&p| (gpu.profile(p).memory_slices(), p))
}

/// Size classes present on any pool, smallest first (`1g`, `2g`, `3g`, `4g`, `7g`).
/// The size classes (`1g`, `2g`, ...) of every profile the problem's pools offer, smallest
/// first: what `homogeneous_class` may name.
pub fn size_classes(problem: &Problem) -> Vec<String> {
    let mut cs: Vec<(u8, String)> = problem
        .pools
        .iter()
        .flat_map(|p| p.profiles.iter().map(|&i| p.gpu.profile(i)))
        .filter(|p| !p.is_variant())
        .map(|p| (p.compute_slices(), p.class().to_string()))
        .collect();
    cs.sort();
    cs.dedup();
    cs.into_iter().map(|(_, c)| c).collect()
}

fn infeasible_models(
    problem: &Problem,
    method: MigMethod,
    objective: Objective,
    paris: bool,
) -> Option<Solution> {
    let reasons: Vec<String> = (0..problem.models.len())
        .filter_map(|m| problem.unservable(m, paris))
        .collect();
    (!reasons.is_empty()).then(|| Solution::infeasible(method, objective, reasons.join("; ")))
}

/// Every GPU split the same way: for each size class, each model gets enough instances of
/// that class for its rate, filling pools in order; the class with the best objective wins
/// (or the one asked for).
pub fn homogeneous(
    problem: &Problem,
    objective: Objective,
    options: &SolveOptions,
    driver: Driver,
) -> Solution {
    let method = MigMethod::Homogeneous;
    if let Some(s) = infeasible_models(problem, method, objective, false) {
        return s;
    }
    let candidates: Vec<String> = match &options.homogeneous_class {
        Some(c) => vec![c.clone()],
        None => size_classes(problem),
    };
    let mut best: Option<(f64, Solution)> = None;
    let mut why_not = Vec::new();
    for class in &candidates {
        match homogeneous_class(problem, class, driver) {
            Ok(gpus) => {
                let plan = build_plan(problem, method, objective, gpus);
                let s = Solution::heuristic(problem, method, objective, plan, None);
                let v = s.objective_value.unwrap_or(f64::INFINITY);
                if best.as_ref().is_none_or(|(bv, _)| v < *bv) {
                    best = Some((v, s));
                }
            }
            Err(e) => why_not.push(format!("all-{class}: {e}")),
        }
    }
    match best {
        Some((_, s)) => s,
        None => Solution::infeasible(method, objective, why_not.join("; ")),
    }
}

fn homogeneous_class(
    problem: &Problem,
    class: &str,
    driver: Driver,
) -> Result<Vec<GpuAssignment>, String> {
    let mut gpus: Vec<GpuAssignment> = Vec::new();
    let mut remaining: Vec<f64> = problem.models.iter().map(|m| m.rate_rps).collect();
    for (pi, pool) in problem.pools.iter().enumerate() {
        let Some(p) = class_profile(problem, pi, class) else {
            continue;
        };
        let layouts = enumerate_layouts(
            &pool.gpu,
            &EnumerateOptions {
                profiles: Some(vec![p]),
                driver,
                maximal: true,
            },
        );
        let Some(layout) = layouts.into_iter().max_by_key(|l| l.placements().len()) else {
            continue;
        };
        let per_gpu = layout.placements().len();
        let mut slots: Vec<InstanceService> = Vec::new();
        for (m, left) in remaining.iter_mut().enumerate() {
            let Some(o) = problem.best_option(pi, p, m) else {
                continue;
            };
            while *left > 1e-9 && (slots.len() as u32) < pool.count * per_gpu as u32 {
                slots.push(service(o));
                *left -= o.throughput_rps;
            }
        }
        for chunk in slots.chunks(per_gpu) {
            let mut serving: Vec<Option<InstanceService>> =
                chunk.iter().cloned().map(Some).collect();
            serving.resize(per_gpu, None);
            gpus.push(GpuAssignment {
                pool: pi,
                layout: layout.clone(),
                serving,
            });
        }
    }
    if let Some((m, _)) = remaining.iter().enumerate().find(|(_, r)| **r > 1e-9) {
        return Err(format!(
            "{} cannot be served: no {class} option or not enough GPUs",
            problem.models[m].name
        ));
    }
    Ok(gpus)
}

/// The most instances the available GPUs can hold: one per memory slice.
fn instance_capacity(problem: &Problem) -> f64 {
    problem
        .pools
        .iter()
        .map(|p| f64::from(p.count) * f64::from(p.gpu.memory_slices()))
        .sum()
}

/// Infeasible, before any instance is made, when one model alone needs more instances than
/// the GPUs can hold (a rate of 1e12 once made billions of them).
fn beyond_capacity(
    problem: &Problem,
    method: MigMethod,
    objective: Objective,
    model: &str,
    instances: f64,
) -> Option<Solution> {
    let capacity = instance_capacity(problem);
    (instances > capacity).then(|| {
        Solution::infeasible(
            method,
            objective,
            format!(
                "{model} needs {instances:.0} instances at its rate, more than the {capacity} that all available GPUs hold (one per memory slice)"
            ),
        )
    })
}

/// ParvaGPU-shaped greedy: per model the serving option with the best throughput per GPC,
/// as many as the rate fills, then for the remainder the smallest option that covers it;
/// then first-fit packing, largest instances first. Like ParvaGPU it uses one profile per
/// size class (1g.10gb, 2g, 3g, 4g, 7g on A100-80GB), never the two-slice 1g or `+me`: by
/// GPCs alone a two-slice 1g looks as good and strands three GPCs per GPU.
pub fn greedy(problem: &Problem, objective: Objective, driver: Driver) -> Solution {
    let method = MigMethod::Greedy;
    if let Some(s) = infeasible_models(problem, method, objective, false) {
        return s;
    }
    let mut items = Vec::new();
    for (m, demand) in problem.models.iter().enumerate() {
        let per_gpc = |o: &ServingOption| {
            o.throughput_rps
                / f64::from(
                    problem.pools[o.pool]
                        .gpu
                        .profile(o.profile)
                        .compute_slices(),
                )
        };
        let mine: Vec<&ServingOption> = problem
            .best
            .iter()
            .filter(|(k, _)| {
                k.2 == m
                    && class_profile(problem, k.0, problem.pools[k.0].gpu.profile(k.1).class())
                        == Some(k.1)
            })
            .map(|(_, &i)| &problem.options[i])
            .collect();
        let Some(best) = mine
            .iter()
            .copied()
            .max_by(|a, b| per_gpc(a).total_cmp(&per_gpc(b)))
        else {
            continue;
        };
        let bulk_f = (demand.rate_rps / best.throughput_rps).floor();
        if let Some(s) = beyond_capacity(problem, method, objective, &demand.name, bulk_f) {
            return s;
        }
        let bulk = bulk_f as usize;
        for _ in 0..bulk {
            items.push(Item {
                pool: best.pool,
                profile: best.profile,
                service: service(best),
            });
        }
        let rest = demand.rate_rps - bulk as f64 * best.throughput_rps;
        if rest > 1e-9 {
            let gpcs = |o: &ServingOption| {
                problem.pools[o.pool]
                    .gpu
                    .profile(o.profile)
                    .compute_slices()
            };
            let residue = mine
                .iter()
                .copied()
                .filter(|o| o.throughput_rps >= rest)
                .min_by(|a, b| {
                    gpcs(a)
                        .cmp(&gpcs(b))
                        .then(per_gpc(b).total_cmp(&per_gpc(a)))
                })
                .unwrap_or(best);
            items.push(Item {
                pool: residue.pool,
                profile: residue.profile,
                service: service(residue),
            });
        }
    }
    packed(problem, method, objective, items, driver)
}

/// PARIS (Kim et al., DAC 2022) for queries that carry their own batch sizes: per partition
/// size the knee batch `MaxBatch[k]`; size k serves the batch range above the previous size's
/// knee up to its own; the busy time each size needs (`Σ rate·share_b·L(k,b)`) over the
/// utilization cap ρ gives its instance count; instances are packed largest first.
///
/// Published PARIS scales the ratios to a fixed server; here the counts scale to the demand
/// (the same ratios `R[k]`), so it answers the min-GPU question the ILP answers.
pub fn paris(
    problem: &Problem,
    objective: Objective,
    options: &SolveOptions,
    driver: Driver,
) -> Solution {
    let method = MigMethod::Paris;
    if let Some(s) = infeasible_models(problem, method, objective, true) {
        return s;
    }
    let mut items = Vec::new();
    for (m, demand) in problem.models.iter().enumerate() {
        let dist: Vec<(u32, f64)> = demand
            .batch_distribution
            .clone()
            .unwrap_or_else(|| vec![(1, 1.0)]);
        // The first pool that serves every batch class of the model.
        let pool = (0..problem.pools.len()).find(|&pi| {
            dist.iter().all(|&(b, _)| {
                problem
                    .classes
                    .iter()
                    .any(|c| c.pool == pi && c.model == m && c.batch == b)
            })
        });
        let Some(pi) = pool else {
            return Solution::infeasible(
                method,
                objective,
                format!(
                    "{}: no single GPU type serves all its batch classes",
                    demand.name
                ),
            );
        };
        // Partition sizes with their knees, smallest first.
        let mut sizes: Vec<(ProfileIndex, u32)> = Vec::new();
        for class in size_classes(problem) {
            let Some(p) = class_profile(problem, pi, &class) else {
                continue;
            };
            let points: Vec<(u32, f64)> = problem
                .classes
                .iter()
                .filter(|c| c.pool == pi && c.profile == p && c.model == m)
                .map(|c| (c.batch, f64::from(c.batch) / c.latency_ms))
                .collect();
            if points.is_empty() {
                continue;
            }
            let knee = knee_batch(&points, options.knee_threshold).unwrap_or(1);
            let knee = sizes.last().map_or(knee, |&(_, prev)| knee.max(prev));
            sizes.push((p, knee));
        }
        // Batch class -> the smallest size whose range holds it and whose latency meets the SLO.
        let mut busy: Vec<(f64, f64, u32, f64)> = vec![(0.0, 0.0, 0, 0.0); sizes.len()];
        for &(b, share) in &dist {
            let home = sizes
                .iter()
                .position(|&(_, knee)| b <= knee)
                .unwrap_or(sizes.len().saturating_sub(1));
            let found = (home..sizes.len())
                .find_map(|k| {
                    problem
                        .classes
                        .iter()
                        .find(|c| {
                            c.pool == pi && c.profile == sizes[k].0 && c.model == m && c.batch == b
                        })
                        .map(|c| (k, c.latency_ms))
                })
                .or_else(|| {
                    (0..home).rev().find_map(|k| {
                        problem
                            .classes
                            .iter()
                            .find(|c| {
                                c.pool == pi
                                    && c.profile == sizes[k].0
                                    && c.model == m
                                    && c.batch == b
                            })
                            .map(|c| (k, c.latency_ms))
                    })
                });
            let Some((k, latency_ms)) = found else {
                return Solution::infeasible(
                    method,
                    objective,
                    format!("{}: batch {b} fits no partition under its SLO", demand.name),
                );
            };
            let rate = demand.rate_rps * share;
            busy[k].0 += rate * latency_ms / 1000.0;
            busy[k].1 += rate;
            if b >= busy[k].2 {
                busy[k].2 = b;
                busy[k].3 = latency_ms;
            }
        }
        for (k, &(seconds, rate, batch, latency_ms)) in busy.iter().enumerate() {
            if rate <= 0.0 {
                continue;
            }
            let n_f = (seconds / options.rho - 1e-9).ceil().max(1.0);
            if let Some(s) = beyond_capacity(problem, method, objective, &demand.name, n_f) {
                return s;
            }
            let n = n_f as u32;
            for _ in 0..n {
                items.push(Item {
                    pool: pi,
                    profile: sizes[k].0,
                    service: InstanceService {
                        model: m,
                        batch,
                        procs: 1,
                        latency_ms,
                        throughput_rps: rate / f64::from(n),
                    },
                });
            }
        }
    }
    packed(problem, method, objective, items, driver)
}
