//! Brute force for tiny instances: every multiset of maximal layouts per GPU type, and for
//! each every way to hand instances to models. The oracle the integer programs are tested
//! against; it shares only the problem (options and layouts) with them.

use migsched_core::{Layout, MigMethod, Objective, ProfileIndex};

use crate::problem::Problem;

use crate::solution::{GpuAssignment, InstanceService, Solution, build_plan};

/// Most GPUs in all pools together that brute force accepts.
pub const MAX_GPUS: u32 = 3;
/// Most models brute force accepts.
pub const MAX_MODELS: usize = 3;

/// Per pool, a multiset of layout indices.
type Combo = Vec<Vec<usize>>;
/// Per slot group, instances per model.
type Assignment = Vec<Vec<u32>>;

/// A (pool, profile) slot group with its count in the current combination.
#[derive(Clone, Copy)]
struct Group {
    pool: usize,
    profile: ProfileIndex,
    slots: u32,
}

/// Solves a tiny instance exhaustively.
pub fn solve(problem: &Problem, objective: Objective) -> Solution {
    let method = MigMethod::Brute;
    if objective == Objective::Paris {
        return Solution::infeasible(
            method,
            objective,
            "brute force does not handle the PARIS routing setting".into(),
        );
    }
    let gpus = problem.gpus_available();
    if gpus > MAX_GPUS || problem.models.len() > MAX_MODELS {
        return Solution::infeasible(
            method,
            objective,
            format!(
                "brute force is for tiny instances: at most {MAX_GPUS} GPUs and {MAX_MODELS} models (this one has {gpus} and {})",
                problem.models.len()
            ),
        );
    }
    let reasons: Vec<String> = (0..problem.models.len())
        .filter_map(|m| problem.unservable(m, false))
        .collect();
    if !reasons.is_empty() {
        return Solution::infeasible(method, objective, reasons.join("; "));
    }
    // Every combination: per pool a multiset of layouts (indices, non-decreasing).
    let mut combos: Vec<Vec<Vec<usize>>> = vec![Vec::new()];
    for pool in &problem.pools {
        let mut next = Vec::new();
        for c in &combos {
            for n in 0..=pool.count as usize {
                for ms in multisets(pool.layouts.len(), n) {
                    let mut c2 = c.clone();
                    c2.push(ms);
                    next.push(c2);
                }
            }
        }
        combos = next;
    }
    let cost = |c: &Vec<Vec<usize>>| -> f64 {
        c.iter()
            .enumerate()
            .map(|(pi, ms)| {
                ms.len() as f64
                    * if objective == Objective::MinCost {
                        problem.pools[pi].cost
                    } else {
                        1.0
                    }
            })
            .sum()
    };
    match objective {
        Objective::MinGpus | Objective::MinCost => {
            combos.sort_by(|a, b| cost(a).total_cmp(&cost(b)));
            for c in &combos {
                let gs = groups(problem, c);
                // Cheap necessary condition first: enough capacity for every model alone.
                if max_ratio(problem, &gs) < 1.0 - 1e-12 {
                    continue;
                }
                if let Some(assign) = feasible(problem, &gs, 1.0) {
                    let plan = build_plan(problem, method, objective, gpus_of(problem, c, &assign));
                    let mut s = Solution::heuristic(problem, method, objective, plan, None);
                    s.status = crate::solution::Status::Optimal;
                    s.stopped_by = None;
                    s.bound = s.objective_value;
                    s.gap = Some(0.0);
                    return s;
                }
            }
            Solution::infeasible(
                method,
                objective,
                "no combination of the available GPUs serves the demand".into(),
            )
        }
        Objective::MaxLoad => {
            // More GPUs never lower the load a plan can serve: use every GPU.
            let full: Vec<&Vec<Vec<usize>>> = combos
                .iter()
                .filter(|c| {
                    c.iter()
                        .zip(&problem.pools)
                        .all(|(ms, p)| ms.len() == p.count as usize)
                })
                .collect();
            // Visit combinations by their capacity bound, best first; once no bound beats the
            // best load found, no combination can.
            let mut bounded: Vec<(f64, &Combo, Vec<Group>)> = full
                .into_iter()
                .map(|c| {
                    let gs = groups(problem, c);
                    (max_ratio(problem, &gs), c, gs)
                })
                .collect();
            bounded.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut best: Option<(f64, &Combo, Assignment)> = None;
            for (ub, c, gs) in bounded {
                let floor = best.as_ref().map_or(0.0, |b| b.0);
                if ub <= floor * (1.0 + 1e-12) {
                    break;
                }
                if floor > 0.0 && feasible(problem, &gs, floor * (1.0 + 1e-9)).is_none() {
                    continue;
                }
                let (mut lo, mut hi) = (floor, ub);
                if feasible(problem, &gs, hi).is_some() {
                    lo = hi;
                }
                for _ in 0..60 {
                    if hi - lo <= 1e-12 * hi.max(1.0) {
                        break;
                    }
                    let mid = 0.5 * (lo + hi);
                    if feasible(problem, &gs, mid).is_some() {
                        lo = mid
                    } else {
                        hi = mid
                    }
                }
                if lo > floor {
                    let assign = feasible(problem, &gs, lo).unwrap_or_default();
                    best = Some((lo, c, assign));
                }
            }
            // A load this small means a model gets no instance at all (as in the ILP): zero.
            match best.filter(|b| b.0 > 1e-6) {
                Some((lambda, c, assign)) => {
                    let plan = build_plan(problem, method, objective, gpus_of(problem, c, &assign));
                    let mut s = Solution::heuristic(problem, method, objective, plan, Some(lambda));
                    s.status = crate::solution::Status::Optimal;
                    s.stopped_by = None;
                    s.bound = Some(lambda);
                    s.gap = Some(0.0);
                    s
                }
                None => Solution::infeasible(
                    method,
                    objective,
                    "the available GPUs cannot serve every model at once".into(),
                ),
            }
        }
        Objective::Paris => unreachable!("handled above"),
    }
}

/// Non-decreasing sequences of length `n` over `0..k`.
fn multisets(k: usize, n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    if k == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rest in multisets(k, n - 1) {
        let from = rest.last().copied().unwrap_or(0);
        for i in from..k {
            let mut v = rest.clone();
            v.push(i);
            out.push(v);
        }
    }
    out
}

fn groups(problem: &Problem, combo: &[Vec<usize>]) -> Vec<Group> {
    let mut out = Vec::new();
    for (pi, ms) in combo.iter().enumerate() {
        for &p in &problem.pools[pi].profiles {
            let slots: u32 = ms
                .iter()
                .map(|&li| problem.pools[pi].layouts[li].counts().get(p))
                .sum();
            if slots > 0 {
                out.push(Group {
                    pool: pi,
                    profile: p,
                    slots,
                });
            }
        }
    }
    out
}

/// An upper bound on λ: every slot of a group given to the model that gains the most.
fn max_ratio(problem: &Problem, gs: &[Group]) -> f64 {
    (0..problem.models.len())
        .map(|m| {
            let cap: f64 = gs
                .iter()
                .map(|g| {
                    problem
                        .best_option(g.pool, g.profile, m)
                        .map_or(0.0, |o| o.throughput_rps)
                        * f64::from(g.slots)
                })
                .sum();
            cap / problem.models[m].rate_rps
        })
        .fold(f64::INFINITY, f64::min)
}

/// Instances per (group, model) meeting `load`·rate of every model within the slots, if any.
fn feasible(problem: &Problem, gs: &[Group], load: f64) -> Option<Vec<Vec<u32>>> {
    let mut left: Vec<u32> = gs.iter().map(|g| g.slots).collect();
    let mut assign = vec![vec![0u32; problem.models.len()]; gs.len()];
    if assign_model(problem, gs, load, 0, &mut left, &mut assign) {
        Some(assign)
    } else {
        None
    }
}

fn assign_model(
    problem: &Problem,
    gs: &[Group],
    load: f64,
    m: usize,
    left: &mut [u32],
    assign: &mut [Vec<u32>],
) -> bool {
    if m == problem.models.len() {
        return true;
    }
    let need = load * problem.models[m].rate_rps;
    choose(problem, gs, load, (m, 0, need), left, assign)
}

/// Chooses how many instances of group `g` onward serve model `m`'s remaining `need`.
fn choose(
    problem: &Problem,
    gs: &[Group],
    load: f64,
    (m, g, need): (usize, usize, f64),
    left: &mut [u32],
    assign: &mut [Vec<u32>],
) -> bool {
    if need <= 1e-9 * problem.models[m].rate_rps.max(1.0) {
        return assign_model(problem, gs, load, m + 1, left, assign);
    }
    if g == gs.len() {
        return false;
    }
    let t = problem
        .best_option(gs[g].pool, gs[g].profile, m)
        .map_or(0.0, |o| o.throughput_rps);
    let most = if t > 0.0 {
        left[g].min((need / t).ceil() as u32)
    } else {
        0
    };
    for n in (0..=most).rev() {
        left[g] -= n;
        assign[g][m] = n;
        if choose(
            problem,
            gs,
            load,
            (m, g + 1, need - f64::from(n) * t),
            left,
            assign,
        ) {
            return true;
        }
        left[g] += n;
        assign[g][m] = 0;
    }
    false
}

fn gpus_of(problem: &Problem, combo: &[Vec<usize>], assign: &[Vec<u32>]) -> Vec<GpuAssignment> {
    let gs = groups(problem, combo);
    let mut gpus: Vec<GpuAssignment> = Vec::new();
    for (pi, ms) in combo.iter().enumerate() {
        for &li in ms {
            let layout: Layout = problem.pools[pi].layouts[li].clone();
            let n = layout.placements().len();
            gpus.push(GpuAssignment {
                pool: pi,
                layout,
                serving: vec![None; n],
            });
        }
    }
    for (gi, g) in gs.iter().enumerate() {
        for (m, &count) in assign
            .get(gi)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(o) = problem.best_option(g.pool, g.profile, m) else {
                continue;
            };
            let mut left = count;
            for gpu in gpus.iter_mut().filter(|x| x.pool == g.pool) {
                for (slot, pl) in gpu.layout.placements().iter().enumerate() {
                    if left > 0 && pl.profile == g.profile && gpu.serving[slot].is_none() {
                        gpu.serving[slot] = Some(InstanceService {
                            model: m,
                            batch: o.batch,
                            procs: o.procs,
                            latency_ms: o.latency_ms,
                            throughput_rps: o.throughput_rps,
                        });
                        left -= 1;
                    }
                }
            }
        }
    }
    gpus
}
