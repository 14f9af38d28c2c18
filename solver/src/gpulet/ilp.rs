//! The exact integer program of gpulet planning, with time sharing modelled by occupancy.
//!
//! A GPU takes one of the layouts `{100}` or `{p, 100 − p}` (p < 100 among the sizes). Integer
//! `n_L` counts GPUs with layout `L`; continuous `a[i,s] ≥ 0` is the occupancy model `i` takes
//! on gpulets of size `s` (a whole gpulet busy for it = 1). Model `i` on size `s` serves at
//! most its saturated throughput `T_i(s)` (the best `b/L` with `2·L ≤ SLO`) per unit of
//! occupancy:
//!
//! ```text
//! minimize Σ_L n_L
//! s.t.  Σ_i a[i,s] ≤ Σ_L n_L · count_L(s)        (occupancy of the size-s gpulets)
//!       Σ_s a[i,s] · T_i(s) ≥ rate_i              (demand)
//!       Σ_L n_L ≤ GPUs available
//! ```
//!
//! Every heuristic plan of the same problem is a solution (a task's batch obeys `2·L ≤ SLO`,
//! so it serves at most `T_i(s)` per unit of occupancy; interference only slows it), so the
//! optimum is a lower bound on the heuristics' GPUs. It relaxes the duty-cycle timing (a
//! time-shared model waits for the others' batches), memory, interference and the models per
//! gpulet: its plan is an occupancy plan, each entry at its saturated batch with its own cycle.

use good_lp::{Expression, ProblemVariables, SolverModel, constraint, highs, variable};
use highs::HighsModelStatus;

use super::{GpuState, Gpulet, GpuletOptions, GpuletProblem, Task};

/// The optimum: GPU states (an occupancy plan), the GPU count, and whether HiGHS proved it.
pub struct IlpResult {
    /// The plan's GPUs.
    pub gpus: Vec<GpuState>,
    /// Optimal GPU count.
    pub gpus_used: u32,
    /// Proven optimal (else a time limit stopped it).
    pub optimal: bool,
}

/// Solves the program. `Err` when it is infeasible or HiGHS fails, with the reason.
pub fn solve(
    problem: &GpuletProblem,
    options: &GpuletOptions,
    time_limit_s: f64,
) -> Result<IlpResult, String> {
    let sizes = &problem.sizes;
    let mut layouts: Vec<Vec<usize>> = Vec::new();
    for (i, &p) in sizes.iter().enumerate() {
        if p == 100 {
            layouts.push(vec![i]);
        } else if p <= 50 {
            if let Some(j) = problem.size_index(100 - p) {
                layouts.push(if i == j { vec![i, i] } else { vec![i, j] });
            }
        }
    }
    let mut vars = ProblemVariables::new();
    let n: Vec<_> = layouts
        .iter()
        .map(|_| vars.add(variable().integer().min(0).max(problem.available)))
        .collect();
    let mut a = Vec::new();
    for (mi, m) in problem.models.iter().enumerate() {
        let mut any = false;
        for s in 0..sizes.len() {
            if let Some((b, t)) = problem.saturated(mi, s, 1.0, options.latency_margin) {
                a.push((mi, s, b, t, vars.add(variable().min(0))));
                any = true;
            }
        }
        if !any && m.rate_rps > 0.0 {
            return Err(format!(
                "{}: no gpulet size meets SLO {} ms at any batch (2·L ≤ SLO)",
                m.name, m.slo_ms
            ));
        }
    }
    let mut total = Expression::from(0.0);
    for &v in &n {
        total += v;
    }
    let mut lp = vars.minimise(total.clone()).using(highs);
    lp.add_constraint(constraint!(total <= f64::from(problem.available)));
    for s in 0..sizes.len() {
        let mut slots = Expression::from(0.0);
        for (li, l) in layouts.iter().enumerate() {
            let c = l.iter().filter(|&&x| x == s).count();
            if c > 0 {
                slots.add_mul(c as f64, n[li]);
            }
        }
        let mut used = Expression::from(0.0);
        for &(_, ss, _, _, v) in &a {
            if ss == s {
                used += v;
            }
        }
        lp.add_constraint(constraint!(used <= slots));
    }
    for (mi, m) in problem.models.iter().enumerate() {
        let mut served = Expression::from(0.0);
        for &(mm, _, _, t, v) in &a {
            if mm == mi {
                served.add_mul(t, v);
            }
        }
        lp.add_constraint(constraint!(served >= m.rate_rps));
    }
    let mut model = lp
        .try_into_inner()
        .map_err(|e| format!("HiGHS could not build the model: {e}"))?;
    model.set_option("output_flag", false);
    model.set_option("threads", 1);
    model.set_option("time_limit", time_limit_s);
    model.set_option("mip_rel_gap", 0.0);
    let solved = model
        .try_solve()
        .map_err(|e| format!("HiGHS failed: {e:?}"))?;
    let status = solved.status();
    if matches!(status, HighsModelStatus::Infeasible) {
        return Err(format!(
            "the demand needs more than the {} GPUs available",
            problem.available
        ));
    }
    let sol = solved.get_solution();
    let cols = sol.columns();
    if cols.is_empty() {
        return Err(format!("HiGHS found no solution ({status:?})"));
    }
    let optimal = matches!(status, HighsModelStatus::Optimal);
    // Columns are in creation order: the n's, then the a's.
    let counts: Vec<u32> = (0..layouts.len())
        .map(|i| cols[i].round().max(0.0) as u32)
        .collect();
    let occ: Vec<f64> = (0..a.len())
        .map(|k| cols[layouts.len() + k].max(0.0))
        .collect();
    let mut gpus: Vec<GpuState> = Vec::new();
    for (li, l) in layouts.iter().enumerate() {
        for _ in 0..counts[li] {
            gpus.push(GpuState {
                gpulets: l
                    .iter()
                    .map(|&s| Gpulet {
                        percent: sizes[s],
                        duty_ms: 1.0,
                        factor: 1.0,
                        tasks: Vec::new(),
                        saturated: false,
                    })
                    .collect(),
            });
        }
    }
    // Next-fit of each size's occupancies into its gpulets; an entry's cycle is its latency
    // over its occupancy share, so it serves share · T_i(s).
    for (s, &pct) in sizes.iter().enumerate() {
        let mut slots: Vec<(usize, usize)> = Vec::new();
        for (gi, g) in gpus.iter().enumerate() {
            for (si, l) in g.gpulets.iter().enumerate() {
                if l.percent == pct {
                    slots.push((gi, si));
                }
            }
        }
        let (mut k, mut room) = (0usize, 1.0f64);
        for (idx, &(mi, ss, b, t, _)) in a.iter().enumerate() {
            if ss != s {
                continue;
            }
            let mut left = occ[idx];
            while left > 1e-9 && k < slots.len() {
                let take = left.min(room);
                let (gi, si) = slots[k];
                let l = problem.models[mi]
                    .point(s, b)
                    .map_or(0.0, |p| p.latency_ms * options.latency_margin);
                let g = &mut gpus[gi].gpulets[si];
                g.tasks.push(Task {
                    model: mi,
                    demand_rps: take * t,
                    batch: b,
                    latency_ms: l,
                    served_rps: take * t,
                });
                left -= take;
                room -= take;
                if room <= 1e-9 {
                    k += 1;
                    room = 1.0;
                }
            }
        }
    }
    let gpus_used = counts.iter().sum();
    Ok(IlpResult {
        gpus,
        gpus_used,
        optimal,
    })
}
