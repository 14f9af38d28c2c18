//! gpulet planning (Choi et al., USENIX ATC 2022): GPUs split by SM percentage into at most
//! two MPS gpulets (`p | 100 − p`), models time-shared inside a gpulet in a duty cycle.
//!
//! - [`elastic`]: the paper's elastic partitioning heuristic (with or without interference
//!   awareness) and, restricted to whole-GPU gpulets, the Nexus-style time-sharing baseline.
//! - [`ilp`]: an exact integer program over GPU splits with time sharing modelled by occupancy,
//!   a lower bound on every heuristic plan of the same problem.
//!
//! **Schedule of a gpulet.** A gpulet of `p`% runs its models round robin in a duty cycle of
//! `d` ms: each cycle model `i` runs one batch of `b_i = ceil(ρ_i·d)` requests (`ρ_i` its
//! demanded rate) with latency `L_i(b_i, p)·f` (`f` the interference factor). It is feasible
//! when the batches fit in the cycle, occupancy `Σ L_i·f / d ≤ 1`, and every request meets its
//! SLO having waited at most one cycle: `d + L_i·f ≤ SLO_i`. A saturated gpulet (one model,
//! `d = L·f`) is the rule `2·L ≤ SLO`; a lone residue (`d = b/ρ`) is `L + b/ρ ≤ SLO`.
//!
//! **In a plan** a GPU is an MPS entry ([`migsched_core::MpsGpu`]): its gpulets in order, each
//! with its size, duty cycle `d` and one task per model: `batch` `b_i`, `latency_ms` the
//! planned latency (interference included when the planner was aware of it) and
//! `throughput_rps` `b_i/d`.

pub mod elastic;
pub mod ilp;

use std::sync::Arc;

use migsched_core::{
    Catalog, GpuType, GpuletMethod, GpuletSchedule, GpuletTask, Instance, Method, ModelService,
    MpsGpu, Objective, PLAN_FORMAT, Plan, PlanGpu, PlanGpulet,
};
use migsched_perf::gpulet::interference::{Coefficients, Usage};
use migsched_perf::gpulet::{GpuletCurve, GpuletParams, gpulet_curves};
use migsched_perf::zoo::{ZooOptions, build, model_info};
use serde::Serialize;

use crate::problem::ProblemError;

/// Largest batch the gpulet planners consider.
pub const MAX_BATCH: u32 = 128;

/// A model to serve on gpulets.
#[derive(Debug, Clone)]
pub struct GpuletModel {
    /// Name as the instance gives it.
    pub name: String,
    /// SLO, ms.
    pub slo_ms: f64,
    /// Demand, requests/s.
    pub rate_rps: f64,
    /// One curve per size of the problem (same order), points at batches 1..=MAX_BATCH that
    /// fit in memory.
    pub curves: Vec<GpuletCurve>,
}

impl GpuletModel {
    /// The point at (size index, batch), if profiled and in memory.
    pub fn point(&self, size: usize, batch: u32) -> Option<&migsched_perf::gpulet::GpuletPoint> {
        let pts = &self.curves[size].points;
        pts.get((batch as usize).wrapping_sub(1))
            .filter(|p| p.batch == batch)
    }
}

/// A gpulet planning problem: one GPU type, models with rates and SLOs, the latency curves.
#[derive(Debug, Clone)]
pub struct GpuletProblem {
    /// The instance's name.
    pub name: String,
    /// The GPU type.
    pub gpu: Arc<GpuType>,
    /// GPUs available.
    pub available: u32,
    /// Cost of one GPU.
    pub cost: f64,
    /// Gpulet sizes, % of SMs, ascending.
    pub sizes: Vec<u32>,
    /// Memory the gpulets of one GPU may use together, MiB.
    pub memory_limit_mib: f64,
    /// The models.
    pub models: Vec<GpuletModel>,
    /// Interference coefficients of the GPU type.
    pub coefficients: Coefficients,
}

/// Options of the gpulet planners.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuletOptions {
    /// Check the predicted interference before co-locating two gpulets.
    pub interference_aware: bool,
    /// Most models time-shared in one gpulet (the paper: 3).
    pub max_models: usize,
    /// Multiplier on every latency (the paper: 1.1; default 1).
    pub latency_margin: f64,
}

impl Default for GpuletOptions {
    fn default() -> Self {
        GpuletOptions {
            interference_aware: true,
            max_models: 3,
            latency_margin: 1.0,
        }
    }
}

impl GpuletProblem {
    /// Builds the problem from an instance: its single GPU pool and its zoo models, with
    /// curves from the analytic model and the GPU's interference coefficients.
    pub fn new(
        catalog: &Catalog,
        instance: &Instance,
        params: &GpuletParams,
        coefficients: Option<Coefficients>,
    ) -> Result<GpuletProblem, ProblemError> {
        params.validate().map_err(ProblemError::Missing)?;
        let [pool] = instance.gpus.as_slice() else {
            return Err(ProblemError::Missing(format!(
                "gpulet planning needs exactly one GPU pool, the instance has {}",
                instance.gpus.len()
            )));
        };
        let gpu = catalog
            .gpu(&pool.gpu)
            .map_err(|e| ProblemError::Missing(format!("instance GPU '{}': {e}", pool.gpu)))?
            .clone();
        let coefficients = match coefficients {
            Some(c) => c,
            None => migsched_perf::gpulet::interference::for_gpu(gpu.id()).ok_or_else(|| {
                ProblemError::Missing(format!(
                    "no interference coefficients for GPU '{}' (shipped: {})",
                    gpu.id(),
                    migsched_perf::gpulet::interference::builtin()
                        .iter()
                        .map(|c| c.gpu.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        };
        let batches: Vec<u32> = (1..=MAX_BATCH).collect();
        let limit = gpu.memory_gib() * 1024.0 * params.memory_limit;
        let mut models = Vec::new();
        for m in &instance.models {
            let info = model_info(&m.name).map_err(|e| {
                ProblemError::Missing(format!(
                    "model '{}': {e} (gpulet plans use zoo models)",
                    m.name
                ))
            })?;
            let graph = build(info.name, &ZooOptions::default())
                .map_err(|e| ProblemError::Missing(format!("model '{}': {e}", m.name)))?;
            let mut curves = gpulet_curves(&graph, &gpu, &batches, params)
                .map_err(|e| ProblemError::Missing(format!("model '{}': {e}", m.name)))?;
            for c in &mut curves {
                c.points.retain(|p| p.memory_mib <= limit);
            }
            models.push(GpuletModel {
                name: m.name.clone(),
                slo_ms: m.slo_ms,
                rate_rps: m.rate_rps,
                curves,
            });
        }
        Ok(GpuletProblem {
            name: instance.name.clone(),
            gpu,
            available: pool.count,
            cost: pool.cost,
            sizes: params.sizes.clone(),
            memory_limit_mib: limit,
            models,
            coefficients,
        })
    }

    /// The same problem with every rate scaled by `lambda`.
    pub fn scaled(&self, lambda: f64) -> GpuletProblem {
        let mut p = self.clone();
        for m in &mut p.models {
            m.rate_rps *= lambda;
        }
        p
    }

    /// Index of a size.
    pub fn size_index(&self, percent: u32) -> Option<usize> {
        self.sizes.iter().position(|&p| p == percent)
    }

    /// The best saturated throughput of a model on a size: the largest `b/(L·f·margin)` over
    /// batches with `2·L·f·margin ≤ SLO`, with its batch.
    pub fn saturated(&self, model: usize, size: usize, f: f64, margin: f64) -> Option<(u32, f64)> {
        let m = &self.models[model];
        m.curves[size]
            .points
            .iter()
            .filter(|p| 2.0 * p.latency_ms * f * margin <= m.slo_ms)
            .map(|p| {
                (
                    p.batch,
                    1000.0 * f64::from(p.batch) / (p.latency_ms * f * margin),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

/// One model's share of a gpulet.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Index into the problem's models.
    pub model: usize,
    /// Rate the task must carry, requests/s.
    pub demand_rps: f64,
    /// Batch per duty cycle.
    pub batch: u32,
    /// Latency of a batch alone on the gpulet, ms.
    pub latency_ms: f64,
    /// Rate the task serves, requests/s (`1000·batch / duty` in a duty-cycle schedule).
    pub served_rps: f64,
}

/// A gpulet of a plan under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpulet {
    /// Size, % of SMs.
    pub percent: u32,
    /// Duty cycle, ms.
    pub duty_ms: f64,
    /// Interference factor the schedule was checked with.
    pub factor: f64,
    /// The models, round robin.
    pub tasks: Vec<Task>,
    /// One model running back to back (`d = L·f`), its batch the saturated one.
    pub saturated: bool,
}

impl Task {
    /// Busy fraction of its gpulet under factor `f`: batches per second × batch latency.
    pub fn busy(&self, f: f64) -> f64 {
        self.served_rps / f64::from(self.batch) * self.latency_ms * f / 1000.0
    }
}

impl Gpulet {
    /// Busy fraction of the duty cycle, interference included.
    pub fn occupancy(&self) -> f64 {
        self.tasks.iter().map(|t| t.busy(self.factor)).sum()
    }

    /// Time-averaged utilization features (each task's weighted by its busy fraction).
    pub fn usage(&self, problem: &GpuletProblem) -> Usage {
        let size = problem.size_index(self.percent).unwrap_or(0);
        let (mut l2, mut dram) = (0.0, 0.0);
        for t in &self.tasks {
            let w = t.busy(self.factor).min(1.0);
            if let Some(p) = problem.models[t.model].point(size, t.batch) {
                l2 += w * p.l2;
                dram += w * p.dram;
            }
        }
        Usage {
            l2: l2.min(1.0),
            dram: dram.min(1.0),
            percent: self.percent,
        }
    }

    /// Memory of its processes, MiB.
    pub fn memory_mib(&self, problem: &GpuletProblem) -> f64 {
        let size = problem.size_index(self.percent).unwrap_or(0);
        self.tasks
            .iter()
            .filter_map(|t| problem.models[t.model].point(size, t.batch))
            .map(|p| p.memory_mib)
            .sum()
    }
}

/// A GPU of a plan under construction: one or two gpulets whose sizes add to at most 100
/// (an empty gpulet stands for the free part of a split).
#[derive(Debug, Clone, PartialEq)]
pub struct GpuState {
    /// The gpulets.
    pub gpulets: Vec<Gpulet>,
}

/// The duty-cycle schedule of `demands` (model, rate) on a gpulet of size index `size` under
/// interference factor `f`: the feasible cycle with the lowest occupancy, if any.
pub fn schedule(
    problem: &GpuletProblem,
    size: usize,
    demands: &[(usize, f64)],
    f: f64,
    margin: f64,
) -> Option<Gpulet> {
    if demands.is_empty() {
        return None;
    }
    let slo_min = demands
        .iter()
        .map(|&(m, _)| problem.models[m].slo_ms)
        .fold(f64::INFINITY, f64::min);
    // Candidate cycles: where some model's batch steps up (b = ρ·d exactly), below the SLO.
    // Also a grid below the smallest SLO, for rates too low to fill a batch within it.
    let mut cands: Vec<f64> = (1..=64).map(|k| slo_min * f64::from(k) / 64.0).collect();
    for &(_, rate) in demands {
        for b in 1..=MAX_BATCH {
            let d = 1000.0 * f64::from(b) / rate;
            if d < slo_min {
                cands.push(d);
            }
        }
    }
    let mut best: Option<Gpulet> = None;
    for d in cands {
        let mut tasks = Vec::with_capacity(demands.len());
        let mut busy = 0.0;
        let mut ok = true;
        for &(m, rate) in demands {
            let b = ((rate * d / 1000.0) - 1e-9).ceil().max(1.0) as u32;
            let Some(p) = (b <= MAX_BATCH)
                .then(|| problem.models[m].point(size, b))
                .flatten()
            else {
                ok = false;
                break;
            };
            let l = p.latency_ms * margin;
            if d + l * f > problem.models[m].slo_ms {
                ok = false;
                break;
            }
            busy += l * f;
            tasks.push(Task {
                model: m,
                demand_rps: rate,
                batch: b,
                latency_ms: l,
                served_rps: 1000.0 * f64::from(b) / d,
            });
        }
        if !ok || busy > d * (1.0 + 1e-12) {
            continue;
        }
        let g = Gpulet {
            percent: problem.sizes[size],
            duty_ms: d,
            factor: f,
            tasks,
            saturated: false,
        };
        if best.as_ref().is_none_or(|b| g.occupancy() < b.occupancy()) {
            best = Some(g);
        }
    }
    best
}

/// The saturated gpulet of one model on size index `size` under factor `f`.
pub fn saturated_gpulet(
    problem: &GpuletProblem,
    model: usize,
    size: usize,
    f: f64,
    margin: f64,
) -> Option<Gpulet> {
    let (b, t) = problem.saturated(model, size, f, margin)?;
    let l = problem.models[model].point(size, b)?.latency_ms * margin;
    Some(Gpulet {
        percent: problem.sizes[size],
        duty_ms: l * f,
        factor: f,
        tasks: vec![Task {
            model,
            demand_rps: t,
            batch: b,
            latency_ms: l,
            served_rps: 1000.0 * f64::from(b) / (l * f),
        }],
        saturated: true,
    })
}

/// Rebuilds a gpulet's schedule for a new interference factor, keeping its batches and cycle
/// (`None` when it no longer meets the rules).
pub fn refactor(problem: &GpuletProblem, g: &Gpulet, f: f64) -> Option<Gpulet> {
    let mut n = g.clone();
    n.factor = f;
    if g.saturated {
        n.duty_ms = g.tasks[0].latency_ms * f;
        n.tasks[0].served_rps = 1000.0 * f64::from(n.tasks[0].batch) / n.duty_ms;
    }
    let ok = n.occupancy() <= 1.0 + 1e-9
        && n.tasks
            .iter()
            .all(|t| n.duty_ms + t.latency_ms * f <= problem.models[t.model].slo_ms + 1e-9);
    ok.then_some(n)
}

/// The plan file of a set of GPUs: one MPS entry per GPU, its gpulets with their duty cycles
/// and tasks (latency with the interference factor the planner applied).
pub fn build_plan(problem: &GpuletProblem, method: GpuletMethod, gpus: &[GpuState]) -> Plan {
    let mut served = vec![0.0; problem.models.len()];
    let mut count = vec![0u32; problem.models.len()];
    let mut plan_gpus = Vec::new();
    // The exact program's plans are occupancy plans (see `ilp`): no shared duty cycle.
    let schedule = if method == GpuletMethod::GpuletIlp {
        GpuletSchedule::Occupancy
    } else {
        GpuletSchedule::DutyCycle
    };
    for g in gpus
        .iter()
        .filter(|g| g.gpulets.iter().any(|l| !l.tasks.is_empty()))
    {
        let gpulets = g
            .gpulets
            .iter()
            .map(|l| PlanGpulet {
                percent: l.percent,
                schedule,
                duty_ms: (schedule == GpuletSchedule::DutyCycle && !l.tasks.is_empty())
                    .then_some(l.duty_ms),
                tasks: l
                    .tasks
                    .iter()
                    .map(|t| {
                        served[t.model] += t.served_rps;
                        count[t.model] += 1;
                        GpuletTask {
                            model: problem.models[t.model].name.clone(),
                            batch: t.batch,
                            latency_ms: t.latency_ms * l.factor,
                            throughput_rps: t.served_rps,
                            memory_mib: problem
                                .size_index(l.percent)
                                .and_then(|s| problem.models[t.model].point(s, t.batch))
                                .map(|p| p.memory_mib),
                        }
                    })
                    .collect(),
            })
            .collect();
        plan_gpus.push(PlanGpu::Mps(MpsGpu {
            index: plan_gpus.len() as u32,
            gpu: problem.gpu.id().to_string(),
            gpulets,
        }));
    }
    Plan {
        format: PLAN_FORMAT.to_string(),
        instance: problem.name.clone(),
        method: Method::Gpulet(method),
        objective: Some(Objective::MinGpus),
        gpus_used: plan_gpus.len() as u32,
        cost: plan_gpus.len() as f64 * problem.cost,
        gpus: plan_gpus,
        models: problem
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| ModelService {
                model: m.name.clone(),
                slo_ms: m.slo_ms,
                rate_rps: m.rate_rps,
                served_rps: served[i],
                instances: count[i],
            })
            .collect(),
    }
}

/// Occupancy of a planned gpulet: `Σ latency / cycle`, the cycle being the gpulet's duty
/// cycle, or in an occupancy plan each task's own `batch / throughput` (0 when idle).
pub fn planned_occupancy(g: &PlanGpulet) -> f64 {
    g.tasks
        .iter()
        .map(|t| {
            let cycle = match (g.schedule, g.duty_ms) {
                (GpuletSchedule::DutyCycle, Some(d)) => d,
                _ => 1000.0 * f64::from(t.batch) / t.throughput_rps,
            };
            t.latency_ms / cycle
        })
        .sum()
}
