//! What every method returns: an explicit status, the objective with its bound and gap, and
//! a plan built the same way for all methods so they compare one to one.

use migsched_core::{
    Layout, Method, MigGpu, MigMethod, ModelService, Objective, PLAN_FORMAT, Plan, PlanGpu,
    PlanInstance,
};
use serde::Serialize;

use crate::problem::Problem;

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Proven optimal.
    Optimal,
    /// A plan, not proven optimal: `stopped_by` says which limit stopped the search, `gap`
    /// how far it may be from the optimum (heuristics: no proof at all).
    Feasible,
    /// No plan exists; `reason` says why in terms a user can act on.
    Infeasible,
    /// A limit stopped the search before any plan was found.
    Timeout,
}

impl Status {
    /// The JSON and table name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::Feasible => "feasible",
            Status::Infeasible => "infeasible",
            Status::Timeout => "timeout",
        }
    }
}

/// The result of one method on one problem.
#[derive(Debug, Clone, Serialize)]
pub struct Solution {
    /// How it ended.
    pub status: Status,
    /// The method.
    pub method: Method,
    /// The objective.
    pub objective: Objective,
    /// The plan's objective value (GPUs, cost, or λ).
    pub objective_value: Option<f64>,
    /// The best proven bound on the objective (integer programs; `None` for heuristics).
    pub bound: Option<f64>,
    /// Relative gap between value and bound (0 when proven optimal).
    pub gap: Option<f64>,
    /// GPUs the plan uses.
    pub gpus_used: Option<u32>,
    /// For `feasible` and `timeout`: which limit stopped the search.
    pub stopped_by: Option<String>,
    /// For `infeasible`: why.
    pub reason: Option<String>,
    /// Wall-clock time of the solve, seconds (the only field that varies between runs).
    pub solve_seconds: f64,
    /// Branch-and-bound nodes (integer programs).
    pub nodes: Option<i64>,
    /// The plan, when there is one.
    pub plan: Option<Plan>,
}

impl Solution {
    /// A solution without a plan.
    pub fn without_plan(
        status: Status,
        method: impl Into<Method>,
        objective: Objective,
    ) -> Solution {
        Solution {
            status,
            method: method.into(),
            objective,
            objective_value: None,
            bound: None,
            gap: None,
            gpus_used: None,
            stopped_by: None,
            reason: None,
            solve_seconds: 0.0,
            nodes: None,
            plan: None,
        }
    }

    /// An infeasible outcome with its reason.
    pub fn infeasible(method: impl Into<Method>, objective: Objective, reason: String) -> Solution {
        Solution {
            reason: Some(reason),
            ..Solution::without_plan(Status::Infeasible, method, objective)
        }
    }

    /// A heuristic's plan: feasible, no bound.
    pub fn heuristic(
        problem: &Problem,
        method: MigMethod,
        objective: Objective,
        plan: Plan,
        load: Option<f64>,
    ) -> Solution {
        let value = objective_value(problem, objective, &plan, load);
        Solution {
            objective_value: Some(value),
            gpus_used: Some(plan.gpus_used),
            stopped_by: Some("heuristic (no optimality proof)".into()),
            plan: Some(plan),
            ..Solution::without_plan(Status::Feasible, method, objective)
        }
    }
}

/// The objective value of a plan: GPUs, cost, or the load factor.
pub fn objective_value(
    problem: &Problem,
    objective: Objective,
    plan: &Plan,
    load: Option<f64>,
) -> f64 {
    match objective {
        Objective::MinGpus | Objective::Paris => f64::from(plan.gpus_used),
        Objective::MinCost => plan.cost,
        Objective::MaxLoad => load.unwrap_or_else(|| served_load(problem, plan)),
    }
}

/// The largest λ such that the plan serves λ·rate of every model.
pub fn served_load(problem: &Problem, plan: &Plan) -> f64 {
    problem
        .models
        .iter()
        .map(|m| {
            plan.models
                .iter()
                .find(|s| s.model == m.name)
                .map_or(0.0, |s| s.served_rps)
                / m.rate_rps
        })
        .fold(f64::INFINITY, f64::min)
}

/// What one instance of a GPU serves.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceService {
    /// Index into the problem's models.
    pub model: usize,
    /// Batch size (PARIS: the largest batch class routed here).
    pub batch: u32,
    /// MPS processes.
    pub procs: u32,
    /// Latency of one batch, ms.
    pub latency_ms: f64,
    /// Throughput of the instance (PARIS: queries/s routed to it).
    pub throughput_rps: f64,
}

/// One GPU of a plan under construction: its pool, layout, and per instance (in the
/// layout's start order) what it serves.
#[derive(Debug, Clone)]
pub struct GpuAssignment {
    /// Index into the problem's pools.
    pub pool: usize,
    /// The layout.
    pub layout: Layout,
    /// Aligned with `layout.placements()`.
    pub serving: Vec<Option<InstanceService>>,
}

/// Builds the plan file from GPU assignments. GPUs that serve nothing are left out; the rest
/// are numbered in order.
pub fn build_plan(
    problem: &Problem,
    method: MigMethod,
    objective: Objective,
    gpus: Vec<GpuAssignment>,
) -> Plan {
    let mut plan_gpus = Vec::new();
    let mut cost = 0.0;
    let mut served = vec![0.0; problem.models.len()];
    let mut count = vec![0u32; problem.models.len()];
    for g in gpus {
        if g.serving.iter().all(Option::is_none) {
            continue;
        }
        let pool = &problem.pools[g.pool];
        cost += pool.cost;
        let instances = g
            .layout
            .instances()
            .zip(&g.serving)
            .map(|((pl, profile), s)| match s {
                None => PlanInstance {
                    profile: profile.name().to_string(),
                    start: pl.start,
                    model: None,
                    batch: None,
                    procs: None,
                    latency_ms: None,
                    throughput_rps: None,
                },
                Some(s) => {
                    served[s.model] += s.throughput_rps;
                    count[s.model] += 1;
                    PlanInstance {
                        profile: profile.name().to_string(),
                        start: pl.start,
                        model: Some(problem.models[s.model].name.clone()),
                        batch: Some(s.batch),
                        procs: Some(s.procs),
                        latency_ms: Some(s.latency_ms),
                        throughput_rps: Some(s.throughput_rps),
                    }
                }
            })
            .collect();
        plan_gpus.push(PlanGpu::Mig(MigGpu {
            index: plan_gpus.len() as u32,
            gpu: pool.gpu.id().to_string(),
            layout: g.layout.text(),
            instances,
        }));
    }
    Plan {
        format: PLAN_FORMAT.to_string(),
        instance: problem.name.clone(),
        method: Method::Mig(method),
        objective: Some(objective),
        gpus_used: plan_gpus.len() as u32,
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
        cost,
    }
}
