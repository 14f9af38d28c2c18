//! The elastic partitioning heuristic of gpulet, and the time-sharing-only baseline (the same
//! procedure with whole-GPU gpulets only: Nexus-style squishy bin packing).
//!
//! 1. Knee of each model: the size with the best saturated throughput per % of SMs.
//! 2. Models in decreasing rate × SLO; for each, saturated gpulets at the knee while the rate
//!    left exceeds the knee's throughput, then one residue gpulet of the smallest size whose
//!    schedule carries the rest.
//! 3. Each gpulet goes best-fit into the free part of a split GPU (it gets the whole free
//!    part), checking memory and, when interference-aware, that both gpulets still meet their
//!    rules under the predicted slowdown; a residue that fits nowhere is time-shared into an
//!    existing gpulet with spare occupancy (at most `max_models` models); otherwise a new GPU
//!    is split `p | 100 − p`.

use super::{GpuState, Gpulet, GpuletOptions, GpuletProblem, refactor, saturated_gpulet, schedule};

/// The most GPUs a gpulet heuristic plans; a demand beyond it is answered as infeasible.
pub const MAX_GPULET_GPUS: u32 = 65_536;

/// Which procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// gpulet: every size.
    Gpulet,
    /// Time sharing only: whole GPUs, no co-location.
    TimeShare,
}

struct Planner<'a> {
    problem: &'a GpuletProblem,
    options: &'a GpuletOptions,
    gpus: Vec<GpuState>,
}

impl Planner<'_> {
    fn margin(&self) -> f64 {
        self.options.latency_margin
    }

    /// The factor of `me` next to `other` (1 when unaware or alone).
    fn factor(&self, me: &Gpulet, other: Option<&Gpulet>) -> f64 {
        match other {
            Some(o) if self.options.interference_aware && !o.tasks.is_empty() => self
                .problem
                .coefficients
                .factor(&me.usage(self.problem), &o.usage(self.problem)),
            _ => 1.0,
        }
    }

    /// Builds a gpulet with `make(f)` next to `other`, iterating the factor to a fixed point,
    /// and returns it with the neighbour rescheduled for the new slowdown.
    fn settle(
        &self,
        other: Option<&Gpulet>,
        make: &dyn Fn(f64) -> Option<Gpulet>,
    ) -> Option<(Gpulet, Option<Gpulet>)> {
        let mut f = 1.0;
        let mut g = make(f)?;
        for _ in 0..4 {
            let need = self.factor(&g, other);
            if need <= f + 1e-9 {
                break;
            }
            f = need;
            g = make(f)?;
        }
        if self.factor(&g, other) > g.factor + 1e-9 {
            return None;
        }
        let nb = match other {
            Some(o) if !o.tasks.is_empty() => {
                let f_nb = self
                    .factor(o, Some(&g))
                    .max(if self.options.interference_aware {
                        1.0
                    } else {
                        o.factor
                    });
                Some(refactor(self.problem, o, f_nb)?)
            }
            _ => None,
        };
        Some((g, nb))
    }

    fn memory_ok(&self, gpu: usize, slot: usize, g: &Gpulet) -> bool {
        let others: f64 = self.gpus[gpu]
            .gpulets
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != slot)
            .map(|(_, l)| l.memory_mib(self.problem))
            .sum();
        others + g.memory_mib(self.problem) <= self.problem.memory_limit_mib
    }

    /// Puts `make(size, f)` best-fit into a free gpulet of size at least `min_percent`.
    fn place_free(
        &mut self,
        min_percent: u32,
        make: &dyn Fn(usize, f64) -> Option<Gpulet>,
    ) -> Option<f64> {
        let mut free: Vec<(u32, usize, usize)> = Vec::new();
        for (gi, g) in self.gpus.iter().enumerate() {
            for (si, l) in g.gpulets.iter().enumerate() {
                if l.tasks.is_empty() && l.percent >= min_percent {
                    free.push((l.percent, gi, si));
                }
            }
        }
        free.sort();
        for (percent, gi, si) in free {
            let size = self.problem.size_index(percent)?;
            let other = self.gpus[gi].gpulets.get(1 - si).cloned();
            let Some((g, nb)) = self.settle(other.as_ref(), &|f| make(size, f)) else {
                continue;
            };
            if !self.memory_ok(gi, si, &g) {
                continue;
            }
            let served = served(&g);
            self.gpus[gi].gpulets[si] = g;
            if let Some(nb) = nb {
                self.gpus[gi].gpulets[1 - si] = nb;
            }
            return Some(served);
        }
        None
    }

    /// Time-shares `(model, rate)` into the existing gpulet where occupancy grows least.
    fn place_shared(&mut self, model: usize, rate: f64) -> Option<f64> {
        let mut best: Option<(f64, usize, usize, Gpulet, Option<Gpulet>)> = None;
        for (gi, gpu) in self.gpus.iter().enumerate() {
            for (si, l) in gpu.gpulets.iter().enumerate() {
                if l.tasks.is_empty() || l.saturated || l.tasks.len() >= self.options.max_models {
                    continue;
                }
                let Some(size) = self.problem.size_index(l.percent) else {
                    continue;
                };
                let mut demands: Vec<(usize, f64)> =
                    l.tasks.iter().map(|t| (t.model, t.demand_rps)).collect();
                demands.push((model, rate));
                let other = gpu.gpulets.get(1 - si);
                let Some((g, nb)) = self.settle(other, &|f| {
                    schedule(self.problem, size, &demands, f, self.margin())
                }) else {
                    continue;
                };
                if !self.memory_ok(gi, si, &g) {
                    continue;
                }
                let growth = g.occupancy() - l.occupancy();
                if best.as_ref().is_none_or(|b| growth < b.0) {
                    best = Some((growth, gi, si, g, nb));
                }
            }
        }
        let (_, gi, si, g, nb) = best?;
        let s = served(&g).min(rate);
        self.gpus[gi].gpulets[si] = g;
        if let Some(nb) = nb {
            self.gpus[gi].gpulets[1 - si] = nb;
        }
        Some(s)
    }

    /// A new GPU split `percent | 100 − percent`, the first part given `g`.
    fn place_new(&mut self, g: Gpulet) -> f64 {
        let s = served(&g);
        let mut gpulets = vec![g.clone()];
        if g.percent < 100 {
            gpulets.push(Gpulet {
                percent: 100 - g.percent,
                duty_ms: 1.0,
                factor: 1.0,
                tasks: Vec::new(),
                saturated: false,
            });
        }
        self.gpus.push(GpuState { gpulets });
        s
    }
}

impl Planner<'_> {
    /// Per model, the rate still missing (rate − served, with a relative tolerance).
    fn deficits(&self) -> Vec<(usize, f64)> {
        let mut served = vec![0.0; self.problem.models.len()];
        for g in &self.gpus {
            for l in &g.gpulets {
                for t in &l.tasks {
                    served[t.model] += t.served_rps;
                }
            }
        }
        self.problem
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let d = m.rate_rps - served[i];
                (i, if d > 1e-9 * m.rate_rps { d } else { 0.0 })
            })
            .collect()
    }

    /// Places a residue of `rate` for `model`: the smallest size that carries it, best-fit
    /// into a free part, else time-shared, else (or when `share` is false) a new GPU.
    fn place_residue(
        &mut self,
        allowed: &[usize],
        mi: usize,
        rate: f64,
        share: bool,
    ) -> Result<(), String> {
        let problem = self.problem;
        let margin = self.margin();
        let residue = allowed
            .iter()
            .find_map(|&s| schedule(problem, s, &[(mi, rate)], 1.0, margin).map(|g| (s, g)));
        let Some((rs, alone)) = residue else {
            return Err(format!(
                "{}: no gpulet size carries a residue of {rate:.3}/s within SLO {} ms",
                problem.models[mi].name, problem.models[mi].slo_ms
            ));
        };
        if share {
            let make = |s: usize, f: f64| schedule(problem, s, &[(mi, rate)], f, margin);
            if self.place_free(problem.sizes[rs], &make).is_some() {
                return Ok(());
            }
            if self.place_shared(mi, rate).is_some() {
                return Ok(());
            }
        }
        self.place_new(alone);
        Ok(())
    }
}

/// The rate a gpulet serves of its last task's model.
fn served(g: &Gpulet) -> f64 {
    g.tasks.last().map_or(0.0, |t| t.served_rps)
}

/// Plans every model; `Err` names a model no allowed size can serve.
pub fn plan(
    problem: &GpuletProblem,
    options: &GpuletOptions,
    variant: Variant,
) -> Result<Vec<GpuState>, String> {
    let allowed: Vec<usize> = (0..problem.sizes.len())
        .filter(|&i| variant == Variant::Gpulet || problem.sizes[i] == 100)
        .collect();
    let options = &match variant {
        Variant::Gpulet => options.clone(),
        Variant::TimeShare => GpuletOptions {
            interference_aware: false,
            max_models: usize::MAX,
            ..options.clone()
        },
    };
    let margin = options.latency_margin;
    let mut knees = Vec::new();
    for (mi, m) in problem.models.iter().enumerate() {
        let knee = allowed
            .iter()
            .filter_map(|&s| {
                problem
                    .saturated(mi, s, 1.0, margin)
                    .map(|(_, t)| (s, t, t / f64::from(problem.sizes[s])))
            })
            .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)));
        match knee {
            Some((s, t, _)) => knees.push((s, t)),
            None => {
                return Err(format!(
                    "{}: no gpulet size meets SLO {} ms at any batch (2·L ≤ SLO)",
                    m.name, m.slo_ms
                ));
            }
        }
    }
    let mut order: Vec<usize> = (0..problem.models.len()).collect();
    order.sort_by(|&a, &b| {
        let ka = problem.models[a].rate_rps * problem.models[a].slo_ms;
        let kb = problem.models[b].rate_rps * problem.models[b].slo_ms;
        kb.total_cmp(&ka).then(a.cmp(&b))
    });
    let mut pl = Planner {
        problem,
        options,
        gpus: Vec::new(),
    };
    for mi in order {
        let (knee, t_knee) = knees[mi];
        let knee_pct = problem.sizes[knee];
        let mut rem = problem.models[mi].rate_rps;
        // Each saturated gpulet serves at most t_knee and takes knee_pct of a GPU: a rate that
        // needs more GPUs than MAX_GPULET_GPUS is refused before placing any (a rate of 10^12
        // used to place gpulets for hours).
        let at_least = rem / t_knee * f64::from(knee_pct) / 100.0;
        if at_least.is_nan() || at_least > f64::from(MAX_GPULET_GPUS) {
            return Err(format!(
                "{}: {} req/s needs more than {MAX_GPULET_GPUS} GPUs of gpulets (at least {at_least:.0})",
                problem.models[mi].name, problem.models[mi].rate_rps
            ));
        }
        while rem > t_knee * (1.0 + 1e-9) {
            let make = |s: usize, f: f64| saturated_gpulet(problem, mi, s, f, margin);
            let got = match pl.place_free(knee_pct, &make) {
                Some(x) => x,
                None => {
                    let g = saturated_gpulet(problem, mi, knee, 1.0, margin).ok_or_else(|| {
                        format!("{}: no saturated gpulet", problem.models[mi].name)
                    })?;
                    pl.place_new(g)
                }
            };
            rem -= got;
        }
        if rem > 1e-9 {
            pl.place_residue(&allowed, mi, rem, true)?;
        }
    }
    // Co-locating slows saturated gpulets already placed (interference-aware only): serve
    // what they lost as further residues, on new GPUs in the last rounds so it ends.
    for round in 0..8 {
        let deficits = pl.deficits();
        if deficits.iter().all(|&(_, d)| d <= 0.0) {
            break;
        }
        for (mi, d) in deficits {
            if d > 0.0 {
                pl.place_residue(&allowed, mi, d, round < 4)?;
            }
        }
    }
    Ok(pl.gpus)
}
