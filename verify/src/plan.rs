//! The plan checker: re-derives from the outside everything a plan claims. Every GPU's
//! layout is legal (the [`crate::layout`] rules); the GPUs fit the instance's pools; each
//! serving instance's option is a row of the profile table that the instance's serving rules
//! allow, meeting its model's SLO rule and memory limit; the served rate covers demand; the
//! reported totals (served rate and instance count per model, GPUs used, cost) equal the
//! recomputed ones.
//!
//! **PARIS-setting plans** (objective `paris`): queries carry their own batch and are routed
//! to profiles; an instance's `throughput_rps` is the query rate routed to it and its `batch`
//! the largest batch class routed there. Checkable from the plan file and the instance: the
//! latency at procs 1 (a table row, or linear interpolation between the profiled batches
//! around it, as the PARIS setting allows) and the SLO rule with an unbounded collection rate
//! (queries arrive batched, so batch-wait reduces to `L ≤ SLO`); the batch is one of the
//! model's batch classes; the largest class is served by some instance; the routed rate
//! cannot keep an instance busy more than all the time even if every query were of its
//! cheapest class; served ≥ demand. Not checkable: which classes go where and at what rate
//! (the plan keeps only each instance's total and largest class), hence neither the
//! utilization cap ρ nor queueing delay; the simulator is the check for those.
//!
//! **gpulet plans** (GPUs of kind `mps`) follow gpulet's own rules (Choi et al. ATC 2022, as
//! ALGORITHMS.md states them): at most two gpulets per GPU, sizes from {20, 40, 50, 60, 80,
//! 100} adding to at most 100; in each gpulet a duty cycle that every task's batch and rate
//! agree with (`batch / rate = duty`) and that its batches fit in (`Σ L ≤ duty`); every task
//! within its SLO having waited at most one cycle (`duty + L ≤ SLO`); the tasks' memory within
//! 90% of the GPU's. Occupancy plans (the exact program's relaxation) give each task its own
//! cycle: occupancies `Σ L / cycle ≤ 1` and the saturated rule `2·L ≤ SLO`. Their latencies come from the performance model and are not re-derived.
//!
//! **max-load plans** serve λ·rate for the largest λ found; their demand is not expected to
//! be covered. The checker reports the load factor min(served/rate) instead.
//!
//! Comparisons of floating-point figures allow a relative 1e-9 (reported against
//! recomputed), and demand a relative 1e-6 (routed rates come from an LP's tolerances).

use std::collections::BTreeMap;

use migsched_core::{
    Catalog, Driver, GpuType, GpuletSchedule, Instance, MigGpu, MpsGpu, Objective, Plan, PlanGpu,
    PlanGpulet, PlanInstance, ProfileKey, ProfileTable, SloRule,
};
use serde::Serialize;

use crate::layout::{PlacedInstance, check_layout, find_profile, parse_layout_text};
use crate::violation::{Location, Rule, Violation};

/// Relative tolerance for figures the plan copies or sums (reported against recomputed).
pub const FIGURE_TOLERANCE: f64 = 1e-9;
/// Relative tolerance for served against demand.
pub const DEMAND_TOLERANCE: f64 = 1e-6;

/// What a plan is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Against<'a> {
    /// The instance it was made for and the instance's profile table: every rule.
    Instance {
        /// The instance.
        instance: &'a Instance,
        /// Its profile table.
        table: &'a ProfileTable,
    },
    /// The plan alone: layouts and its own totals; serving options, SLOs, GPU counts and
    /// cost are not checked.
    Alone {
        /// Driver rules for the layouts.
        driver: Driver,
    },
}

/// Recomputed service of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTotals {
    /// Model name.
    pub model: String,
    /// Demand, requests (PARIS: queries) per second: the instance's, or else the plan's.
    pub rate_rps: f64,
    /// Sum of the instances' throughput.
    pub served_rps: f64,
    /// Serving instances.
    pub instances: u32,
}

/// The checker's answer for one plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// Every violation, GPU by GPU, then per model, then the totals.
    pub violations: Vec<Violation>,
    /// GPUs listed.
    pub gpus: usize,
    /// GPU instances listed.
    pub instances: usize,
    /// Instances serving a model.
    pub serving: usize,
    /// Per model, recomputed.
    pub models: Vec<ModelTotals>,
    /// GPUs with at least one serving instance, recomputed.
    pub gpus_used: u32,
    /// Cost of the used GPUs, recomputed (with an instance whose pools cover every used
    /// GPU's type).
    pub cost: Option<f64>,
    /// min(served / rate) over the models: the load factor the plan serves.
    pub load: Option<f64>,
    /// What this run could not check, and why.
    pub not_checked: Vec<String>,
}

impl PlanReport {
    /// Whether no rule is violated.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Whether `a` and `b` agree within a relative `tol` (absolute near zero).
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// Shortest readable form of a figure: up to 4 decimals, trailing zeros dropped.
pub fn fmt_num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// The outcome of an SLO rule on a latency, and the arithmetic that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct SloCheck {
    /// Whether the rule admits the option.
    pub admits: bool,
    /// The comparison, written out (`2·8.5 = 17 > 15`).
    pub why: String,
}

/// Applies an SLO rule, written from its definition: `double` is `2·L ≤ SLO`; `batch-wait`
/// is `L + b/r ≤ SLO` with `r` in requests/s (`r = ∞`: `L ≤ SLO`); `fraction` is `L ≤ f·SLO`,
/// or `L < f·SLO` when strict. Equality is decided with a relative 1e-9 in the option's favour,
/// so that rounding in another implementation does not read as a violation.
pub fn slo_admits(
    rule: &SloRule,
    latency_ms: f64,
    batch: u32,
    rate_rps: f64,
    slo_ms: f64,
) -> SloCheck {
    let slack = slo_ms * FIGURE_TOLERANCE;
    let (lhs, rhs, strict, text) = match *rule {
        SloRule::Double => (
            2.0 * latency_ms,
            slo_ms,
            false,
            format!("2·{}", fmt_num(latency_ms)),
        ),
        SloRule::BatchWait => {
            let wait_ms = if rate_rps.is_finite() && rate_rps > 0.0 {
                f64::from(batch) * 1000.0 / rate_rps
            } else if rate_rps.is_infinite() {
                0.0
            } else {
                f64::INFINITY
            };
            (
                latency_ms + wait_ms,
                slo_ms,
                false,
                format!(
                    "{} + {}/{} s",
                    fmt_num(latency_ms),
                    batch,
                    if rate_rps.is_infinite() {
                        "∞".to_string()
                    } else {
                        fmt_num(rate_rps)
                    }
                ),
            )
        }
        SloRule::Fraction { fraction, strict } => {
            (latency_ms, fraction * slo_ms, strict, fmt_num(latency_ms))
        }
    };
    let admits = if strict {
        lhs < rhs + slack
    } else {
        lhs <= rhs + slack
    };
    let op = match (admits, strict) {
        (true, true) => "<",
        (true, false) => "≤",
        (false, true) => "≥",
        (false, false) => ">",
    };
    SloCheck {
        admits,
        why: format!("{text} = {} {op} {}", fmt_num(lhs), fmt_num(rhs)),
    }
}

/// Latency of `batch` at procs 1 from a profile's rows: the row itself, or linear
/// interpolation between the nearest profiled batches below and above; `None` outside the
/// profiled range. Also says whether it was interpolated.
pub fn latency_at(points: &[(u32, f64)], batch: u32) -> Option<(f64, bool)> {
    if let Some(&(_, l)) = points.iter().find(|(b, _)| *b == batch) {
        return Some((l, false));
    }
    let lo = points
        .iter()
        .filter(|(b, _)| *b < batch)
        .max_by_key(|(b, _)| *b)?;
    let hi = points
        .iter()
        .filter(|(b, _)| *b > batch)
        .min_by_key(|(b, _)| *b)?;
    let w = f64::from(batch - lo.0) / f64::from(hi.0 - lo.0);
    Some((lo.1 + w * (hi.1 - lo.1), true))
}

/// The gpulet sizes of gpulet's paper (ALGORITHMS.md, Choi et al. ATC 2022), % of SMs.
pub const GPULET_SIZES: [u32; 6] = [20, 40, 50, 60, 80, 100];
/// gpulet's memory rule: the gpulets of one GPU use at most this share of its memory.
pub const GPULET_MEMORY_SHARE: f64 = 0.9;

/// One MIG instance serving a model, resolved.
struct Serving<'p> {
    gpu: Option<&'p GpuType>,
    at: Location,
    inst: &'p PlanInstance,
    model: &'p str,
}

/// What one part of a plan (a MIG instance or a gpulet task) contributes to a model.
struct Served<'p> {
    model: &'p str,
    throughput_rps: f64,
    batch: Option<u32>,
}

/// A model's demand as the checks use it: the instance's when given, else the plan's.
struct Demand {
    model: String,
    slo_ms: f64,
    rate_rps: f64,
    classes: Option<Vec<u32>>,
}

/// The plan checker: one section per part of the plan, each adding its violations.
struct Checker<'a> {
    catalog: &'a Catalog,
    plan: &'a Plan,
    driver: Driver,
    instance: Option<&'a Instance>,
    table: Option<&'a ProfileTable>,
    paris: bool,
    max_load: bool,
    out: Vec<Violation>,
    not_checked: Vec<String>,
    per_type: BTreeMap<String, u32>,
    serving: Vec<Serving<'a>>,
    served: Vec<Served<'a>>,
    used_types: Vec<Option<String>>,
    instance_count: usize,
    demand: Vec<Demand>,
}

/// Checks a plan; see the module documentation for every rule.
pub fn check_plan(catalog: &Catalog, plan: &Plan, against: Against<'_>) -> PlanReport {
    let (driver, instance, table) = match against {
        Against::Instance { instance, table } => {
            (instance.serving.driver, Some(instance), Some(table))
        }
        Against::Alone { driver } => (driver, None, None),
    };
    let mut c = Checker {
        catalog,
        plan,
        driver,
        instance,
        table,
        paris: plan.objective == Some(Objective::Paris),
        max_load: plan.objective == Some(Objective::MaxLoad),
        out: Vec::new(),
        not_checked: Vec::new(),
        per_type: BTreeMap::new(),
        serving: Vec::new(),
        served: Vec::new(),
        used_types: Vec::new(),
        instance_count: 0,
        demand: Vec::new(),
    };
    if instance.is_none() {
        c.not_checked.push(
            "serving options, SLO rules, memory, GPU counts and cost: no instance given \
             (--instance)"
                .into(),
        );
    }
    c.gpus();
    c.pools();
    c.models();
    for i in 0..c.serving.len() {
        c.mig_instance(i);
    }
    c.gpulet_tasks();
    c.totals()
}

impl<'a> Checker<'a> {
    fn push(&mut self, rule: Rule, at: Location, why: impl Into<String>) {
        self.out.push(Violation::new(rule, at, why));
    }

    /// GPUs: index, type, then each by its kind.
    fn gpus(&mut self) {
        let plan = self.plan;
        for (pos, g) in plan.gpus.iter().enumerate() {
            let at = Location::gpu(g.index(), g.gpu());
            if g.index() as usize != pos {
                self.push(
                    Rule::GpuIndex,
                    at.clone(),
                    format!(
                        "listed at position {pos} but numbered {}; GPUs are numbered 0, 1, ... in order",
                        g.index()
                    ),
                );
            }
            let gpu = match self.catalog.gpu(g.gpu()) {
                Ok(t) => {
                    *self.per_type.entry(t.id().to_string()).or_default() += 1;
                    Some(&**t)
                }
                Err(_) => {
                    self.push(
                        Rule::UnknownGpu,
                        at.clone(),
                        format!(
                            "GPU type '{}' is not in the catalog; its partition cannot be checked",
                            g.gpu()
                        ),
                    );
                    None
                }
            };
            match g {
                PlanGpu::Mig(m) => self.mig_gpu(m, gpu, &at),
                PlanGpu::Mps(m) => self.mps_gpu(m, gpu, &at),
            }
            let used = g.serves();
            self.used_types.push(
                used.then(|| gpu.map_or_else(|| g.gpu().to_string(), |t| t.id().to_string())),
            );
        }
    }

    /// A MIG GPU: the layout rules on its instances, its layout text, its serving instances.
    fn mig_gpu(&mut self, g: &'a MigGpu, gpu: Option<&'a GpuType>, at: &Location) {
        self.instance_count += g.instances.len();
        let placed: Vec<PlacedInstance> = g
            .instances
            .iter()
            .map(|i| PlacedInstance::new(&i.profile, i.start))
            .collect();
        if let Some(t) = gpu {
            let v = check_layout(t, &placed, self.driver, at);
            self.out.extend(v);
        }
        match parse_layout_text(&g.layout) {
            Err(e) => self.push(
                Rule::LayoutText,
                at.clone(),
                format!("layout '{}' cannot be read: {e}", g.layout),
            ),
            Ok(text) => {
                let key = |p: &PlacedInstance| (p.profile.to_ascii_lowercase(), p.start);
                let mut a: Vec<(String, u8)> = text.iter().map(key).collect();
                let mut b: Vec<(String, u8)> = placed.iter().map(key).collect();
                a.sort();
                b.sort();
                if a != b {
                    self.push(
                        Rule::LayoutText,
                        at.clone(),
                        format!(
                            "layout '{}' differs from the instances listed ({})",
                            g.layout,
                            crate::layout::layout_text(&placed)
                        ),
                    );
                }
            }
        }
        for inst in &g.instances {
            if let Some(model) = inst.model.as_deref() {
                self.serving.push(Serving {
                    gpu,
                    at: at
                        .with_instance(format!("{}@{}", inst.profile, inst.start))
                        .with_model(model),
                    inst,
                    model,
                });
            }
        }
    }

    /// An MPS GPU under gpulet's rules: at most two gpulets, sizes from the paper's set adding
    /// to at most 100; per gpulet a duty cycle that every task's batch and rate agree with and
    /// that its batches fit in; the tasks' memory within gpulet's share of the GPU's.
    fn mps_gpu(&mut self, g: &'a MpsGpu, gpu: Option<&'a GpuType>, at: &Location) {
        self.instance_count += g.gpulets.len();
        if g.gpulets.is_empty() || g.gpulets.len() > 2 {
            self.push(
                Rule::Gpulet,
                at.clone(),
                format!(
                    "{} gpulets; gpulet splits a GPU into one or two",
                    g.gpulets.len()
                ),
            );
        }
        let total: u32 = g.gpulets.iter().map(|l| l.percent).sum();
        if total > 100 {
            self.push(
                Rule::Gpulet,
                at.clone(),
                format!(
                    "gpulet sizes {} add to {total}%, more than the whole GPU",
                    list(&g.gpulets.iter().map(|l| l.percent).collect::<Vec<_>>())
                ),
            );
        }
        let mut memory = 0.0;
        let mut memory_known = true;
        for (i, l) in g.gpulets.iter().enumerate() {
            let lat = at.with_instance(format!("gpulet {i} ({}%)", l.percent));
            if !GPULET_SIZES.contains(&l.percent) {
                self.push(
                    Rule::Gpulet,
                    lat.clone(),
                    format!(
                        "size {}% is not one of gpulet's sizes {}",
                        l.percent,
                        list(&GPULET_SIZES)
                    ),
                );
            }
            self.gpulet_cycle(l, &lat);
            for t in &l.tasks {
                match t.memory_mib {
                    Some(m) => memory += m,
                    None => memory_known = false,
                }
                self.served.push(Served {
                    model: &t.model,
                    throughput_rps: t.throughput_rps,
                    batch: Some(t.batch),
                });
            }
        }
        match gpu {
            Some(t) if memory_known => {
                let limit = GPULET_MEMORY_SHARE * t.memory_gib() * 1024.0;
                if memory > limit * (1.0 + FIGURE_TOLERANCE) {
                    self.push(
                        Rule::Memory,
                        at.clone(),
                        format!(
                            "its gpulets' tasks need {} MiB together, more than {}% of the GPU's {} MiB",
                            fmt_num(memory),
                            100.0 * GPULET_MEMORY_SHARE,
                            fmt_num(t.memory_gib() * 1024.0)
                        ),
                    );
                }
            }
            Some(_) => self.note("gpulet memory: a task names no memory_mib"),
            None => {}
        }
        self.note(
            "gpulet latencies: they come from the performance model, which the checker does \
             not re-derive (simulate the plan to test them)",
        );
    }

    /// A gpulet's cycle: every task with a positive batch, latency and rate; under a duty
    /// cycle, every task's `batch / rate` equal to it; its batches fitting in it (occupancy
    /// `Σ L / cycle ≤ 1`, each task on its own cycle in an occupancy plan).
    fn gpulet_cycle(&mut self, l: &PlanGpulet, at: &Location) {
        let duty = match (l.schedule, l.duty_ms) {
            (GpuletSchedule::Occupancy, _) => {
                self.note(
                    "occupancy plans (gpulet-ilp): the timing between the tasks of a gpulet is                      relaxed; such a plan is a lower bound, not a schedule",
                );
                None
            }
            (GpuletSchedule::DutyCycle, None) if !l.tasks.is_empty() => {
                self.push(
                    Rule::DutyCycle,
                    at.clone(),
                    "serves models but names no duty cycle (duty_ms)",
                );
                return;
            }
            (GpuletSchedule::DutyCycle, Some(d)) if !(d.is_finite() && d > 0.0) => {
                self.push(
                    Rule::DutyCycle,
                    at.clone(),
                    format!("duty cycle {} ms is not positive", fmt_num(d)),
                );
                return;
            }
            (GpuletSchedule::DutyCycle, d) => d,
        };
        let mut occupancy = 0.0;
        for t in &l.tasks {
            let tat = at.with_model(&t.model);
            let good = |x: f64| x.is_finite() && x > 0.0;
            if t.batch == 0 || !good(t.latency_ms) || !good(t.throughput_rps) {
                self.push(
                    Rule::DutyCycle,
                    tat,
                    format!(
                        "batch {}, latency {} ms, rate {}/s: each must be positive",
                        t.batch,
                        fmt_num(t.latency_ms),
                        fmt_num(t.throughput_rps)
                    ),
                );
                continue;
            }
            let cycle = 1000.0 * f64::from(t.batch) / t.throughput_rps;
            if let Some(duty) = duty {
                if !close(cycle, duty, FIGURE_TOLERANCE) {
                    self.push(
                        Rule::DutyCycle,
                        tat,
                        format!(
                            "batch {} at {}/s is one batch every {} ms, but the duty cycle is {} ms",
                            t.batch,
                            fmt_num(t.throughput_rps),
                            fmt_num(cycle),
                            fmt_num(duty)
                        ),
                    );
                }
            }
            occupancy += t.latency_ms / duty.unwrap_or(cycle);
        }
        if occupancy > 1.0 + FIGURE_TOLERANCE {
            self.push(
                Rule::DutyCycle,
                at.clone(),
                format!(
                    "its batches keep it busy {:.1}% of the time (occupancy {:.4} > 1)",
                    100.0 * occupancy,
                    occupancy
                ),
            );
        }
    }

    fn note(&mut self, what: &str) {
        if !self.not_checked.iter().any(|n| n == what) {
            self.not_checked.push(what.to_string());
        }
    }

    /// GPU counts against the instance's pools, and the instance's name.
    fn pools(&mut self) {
        let Some(instance) = self.instance else {
            return;
        };
        let per_type = std::mem::take(&mut self.per_type);
        for (ty, n) in &per_type {
            let at = Location {
                gpu_type: Some(ty.clone()),
                ..Location::none()
            };
            match instance.gpus.iter().find(|p| &p.gpu == ty) {
                None => self.push(
                    Rule::GpuCount,
                    at,
                    format!(
                        "the plan uses {n} {ty} GPU(s), but instance '{}' has none of that type",
                        instance.name
                    ),
                ),
                Some(pool) if *n > pool.count => self.push(
                    Rule::GpuCount,
                    at,
                    format!(
                        "the plan uses {n} {ty} GPUs, but instance '{}' has {}",
                        instance.name, pool.count
                    ),
                ),
                Some(_) => {}
            }
        }
        if self.plan.instance != instance.name {
            self.push(
                Rule::Totals,
                Location::none(),
                format!(
                    "the plan names instance '{}', but it is checked against '{}'",
                    self.plan.instance, instance.name
                ),
            );
        }
    }

    /// Models: the plan's list against the instance's demand.
    fn models(&mut self) {
        let plan = self.plan;
        let mut listed: Vec<&str> = Vec::new();
        for svc in &plan.models {
            if listed.contains(&svc.model.as_str()) {
                self.push(
                    Rule::Totals,
                    Location::none().with_model(&svc.model),
                    "listed twice in the plan's models",
                );
            } else {
                listed.push(&svc.model);
            }
        }
        let Some(inst) = self.instance else {
            for s in &plan.models {
                if !self.demand.iter().any(|d| d.model == s.model) {
                    self.demand.push(Demand {
                        model: s.model.clone(),
                        slo_ms: s.slo_ms,
                        rate_rps: s.rate_rps,
                        classes: None,
                    });
                }
            }
            return;
        };
        self.demand = inst
            .models
            .iter()
            .map(|m| Demand {
                model: m.name.clone(),
                slo_ms: m.slo_ms,
                rate_rps: m.rate_rps,
                classes: Some(
                    m.batch_distribution
                        .as_ref()
                        .map(|d| d.iter().map(|(b, _)| *b).collect())
                        .unwrap_or_else(|| vec![1]),
                ),
            })
            .collect();
        for m in &inst.models {
            let at = Location::none().with_model(&m.name);
            let Some(s) = plan.models.iter().find(|s| s.model == m.name) else {
                self.push(
                    Rule::Totals,
                    at,
                    format!(
                        "a model of instance '{}' is missing from the plan's models",
                        inst.name
                    ),
                );
                continue;
            };
            if !close(s.slo_ms, m.slo_ms, FIGURE_TOLERANCE) {
                self.push(
                    Rule::Totals,
                    at.clone(),
                    format!(
                        "the plan says SLO {} ms, the instance {} ms",
                        fmt_num(s.slo_ms),
                        fmt_num(m.slo_ms)
                    ),
                );
            }
            if !close(s.rate_rps, m.rate_rps, FIGURE_TOLERANCE) {
                self.push(
                    Rule::Totals,
                    at,
                    format!(
                        "the plan says rate {}/s, the instance {}/s",
                        fmt_num(s.rate_rps),
                        fmt_num(m.rate_rps)
                    ),
                );
            }
        }
        for s in &plan.models {
            if !inst.models.iter().any(|m| m.name == s.model) {
                self.push(
                    Rule::UnknownModel,
                    Location::none().with_model(&s.model),
                    format!(
                        "the plan lists a model instance '{}' does not have",
                        inst.name
                    ),
                );
            }
        }
    }

    fn unknown_model(&self, model: &str) -> String {
        match self.instance {
            Some(i) => format!(
                "serves '{model}', which instance '{}' does not have",
                i.name
            ),
            None => format!("serves '{model}', which the plan's models do not list"),
        }
    }

    /// Each MIG instance serving a model: its option against the table and its SLO rule.
    fn mig_instance(&mut self, i: usize) {
        let (gpu, at, inst, model) = {
            let s = &self.serving[i];
            (s.gpu, s.at.clone(), s.inst, s.model)
        };
        self.served.push(Served {
            model,
            throughput_rps: inst.throughput_rps.unwrap_or(0.0),
            batch: inst.batch,
        });
        let Some(d) = self.demand.iter().position(|d| d.model == model) else {
            let why = self.unknown_model(model);
            self.push(Rule::UnknownModel, at, why);
            return;
        };
        let (Some(batch), Some(procs)) = (inst.batch, inst.procs) else {
            self.push(
                Rule::ProfileRow,
                at,
                "serves a model but names no batch size or no process count",
            );
            return;
        };
        if inst.throughput_rps.is_none() {
            self.push(
                Rule::ProfileRow,
                at.clone(),
                "serves a model but names no throughput; it counts as 0 toward demand",
            );
        }
        let (Some(instance), Some(table), Some(gpu)) = (self.instance, self.table, gpu) else {
            return;
        };
        if batch == 0 || procs == 0 {
            self.push(
                Rule::ServingLimit,
                at,
                format!("batch {batch} with {procs} process(es): both must be at least 1"),
            );
            return;
        }
        if procs > instance.serving.max_procs {
            self.push(
                Rule::ServingLimit,
                at.clone(),
                format!(
                    "runs {procs} MPS processes, but instance '{}' allows at most {}",
                    instance.name, instance.serving.max_procs
                ),
            );
        }
        if let Some(bs) = &instance.serving.batches {
            if !self.paris && !bs.contains(&batch) {
                self.push(
                    Rule::ServingLimit,
                    at.clone(),
                    format!(
                        "batch {batch} is not among the instance's batches {}",
                        list(bs)
                    ),
                );
            }
        }
        let Some((_, profile)) = find_profile(gpu, &inst.profile) else {
            return; // reported by the layout rules
        };
        let option = MigOption {
            gpu,
            profile,
            model,
            batch,
            procs,
            at,
            inst,
            table,
            rule: instance.serving.slo_rule,
            slo_ms: self.demand[d].slo_ms,
            rate_rps: self.demand[d].rate_rps,
        };
        if self.paris {
            let classes = self.demand[d].classes.clone().unwrap_or_default();
            option.check_paris(&classes, &mut self.out);
        } else {
            option.check_table(&mut self.out);
        }
    }

    /// Each gpulet task: a model the instance has, meeting gpulet's SLO rule (a request waits
    /// at most one duty cycle, then runs its batch: `duty + L ≤ SLO`).
    fn gpulet_tasks(&mut self) {
        let plan = self.plan;
        for g in plan.mps_gpus() {
            let at = Location::gpu(g.index, &g.gpu);
            for (i, l) in g.gpulets.iter().enumerate() {
                let lat = at.with_instance(format!("gpulet {i} ({}%)", l.percent));
                for t in &l.tasks {
                    let tat = lat.with_model(&t.model);
                    let Some(d) = self.demand.iter().find(|d| d.model == t.model) else {
                        let why = self.unknown_model(&t.model);
                        self.push(Rule::UnknownModel, tat, why);
                        continue;
                    };
                    // A duty cycle: wait at most one cycle, then run. An occupancy plan runs
                    // each task at its saturated batch: `2·L ≤ SLO`.
                    let (wait, what) = match (l.schedule, l.duty_ms) {
                        (GpuletSchedule::DutyCycle, Some(duty)) => (duty, "cycle"),
                        (GpuletSchedule::Occupancy, _) => (t.latency_ms, "saturated batch"),
                        (GpuletSchedule::DutyCycle, None) => continue,
                    };
                    let wait_and_run = wait + t.latency_ms;
                    if wait_and_run > d.slo_ms * (1.0 + FIGURE_TOLERANCE) {
                        let why = format!(
                            "a request may wait one {} ms {what}, then its batch runs {} ms: {} ms > SLO {} ms",
                            fmt_num(wait),
                            fmt_num(t.latency_ms),
                            fmt_num(wait_and_run),
                            fmt_num(d.slo_ms)
                        );
                        self.push(Rule::Slo, tat, why);
                    }
                }
            }
        }
    }

    /// Per-model totals and demand, GPUs used and cost against the recomputed ones.
    fn totals(mut self) -> PlanReport {
        let plan = self.plan;
        let mut models: Vec<ModelTotals> = Vec::new();
        let demand = std::mem::take(&mut self.demand);
        for d in &demand {
            let name = &d.model;
            let mine: Vec<&Served<'_>> = self.served.iter().filter(|s| s.model == name).collect();
            let served: f64 = mine.iter().map(|s| s.throughput_rps).sum();
            let count = mine.len() as u32;
            let at = Location::none().with_model(name);
            if let Some(svc) = plan.models.iter().find(|s| &s.model == name) {
                if !close(svc.served_rps, served, FIGURE_TOLERANCE) {
                    self.out.push(Violation::new(
                        Rule::Totals,
                        at.clone(),
                        format!(
                            "reports served {}/s, but its instances' throughputs sum to {}/s",
                            fmt_num(svc.served_rps),
                            fmt_num(served)
                        ),
                    ));
                }
                if svc.instances != count {
                    self.out.push(Violation::new(
                        Rule::Totals,
                        at.clone(),
                        format!(
                            "reports {} instance(s), but {count} serve it",
                            svc.instances
                        ),
                    ));
                }
            }
            if !self.max_load && served < d.rate_rps * (1.0 - DEMAND_TOLERANCE) {
                self.out.push(Violation::new(
                    Rule::Demand,
                    at.clone(),
                    format!(
                        "serves {}/s of its demand {}/s ({:.1}%) with {count} instance(s)",
                        fmt_num(served),
                        fmt_num(d.rate_rps),
                        100.0 * served / d.rate_rps
                    ),
                ));
            }
            if self.paris && !mine.is_empty() {
                if let Some(largest) = d.classes.as_ref().and_then(|c| c.iter().max()) {
                    let top = mine.iter().filter_map(|s| s.batch).max().unwrap_or(0);
                    if top < *largest {
                        self.out.push(Violation::new(
                            Rule::Paris,
                            at,
                            format!("no instance serves its largest batch class {largest} (the largest served is {top})"),
                        ));
                    }
                }
            }
            models.push(ModelTotals {
                model: name.clone(),
                rate_rps: d.rate_rps,
                served_rps: served,
                instances: count,
            });
        }
        let gpus_used = self.used_types.iter().filter(|u| u.is_some()).count() as u32;
        if plan.gpus_used != gpus_used {
            self.out.push(Violation::new(
                Rule::Totals,
                Location::none(),
                format!(
                    "reports {} GPUs used, but {gpus_used} GPU(s) serve a model",
                    plan.gpus_used
                ),
            ));
        }
        // A used GPU of a type the instance has no pool for is a gpu-count or unknown-gpu
        // violation already; its cost is unknown, so the total is not checked then.
        let cost = self.instance.and_then(|inst| {
            self.used_types
                .iter()
                .flatten()
                .map(|ty| inst.gpus.iter().find(|p| &p.gpu == ty).map(|p| p.cost))
                .sum::<Option<f64>>()
        });
        if self.instance.is_some() && cost.is_none() {
            self.note("cost: a used GPU's type has no pool in the instance");
        }
        if let Some(c) = cost {
            if !close(plan.cost, c, FIGURE_TOLERANCE) {
                self.out.push(Violation::new(
                    Rule::Totals,
                    Location::none(),
                    format!(
                        "reports cost {}, but the used GPUs cost {}",
                        fmt_num(plan.cost),
                        fmt_num(c)
                    ),
                ));
            }
        }
        let load = models
            .iter()
            .map(|m| m.served_rps / m.rate_rps)
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.min(x)))
            });
        if self.paris {
            self.note(
                "PARIS routing: which batch classes go to which instance at what rate, the \
                 utilization cap and queueing delay (the plan keeps only per-instance totals)",
            );
        }
        if self.max_load {
            self.note("demand coverage: a max-load plan serves λ·rate (see load)");
        }
        PlanReport {
            violations: self.out,
            gpus: plan.gpus.len(),
            instances: self.instance_count,
            serving: self.served.len(),
            models,
            gpus_used,
            cost,
            load,
            not_checked: self.not_checked,
        }
    }
}

/// A MIG instance's serving option, resolved against the instance and its table.
struct MigOption<'a> {
    gpu: &'a GpuType,
    profile: &'a migsched_core::Profile,
    model: &'a str,
    batch: u32,
    procs: u32,
    at: Location,
    inst: &'a PlanInstance,
    table: &'a ProfileTable,
    rule: SloRule,
    slo_ms: f64,
    rate_rps: f64,
}

impl MigOption<'_> {
    fn key(&self, b: u32, k: u32) -> ProfileKey {
        ProfileKey {
            gpu: self.gpu.id().to_string(),
            profile: self.profile.name().to_string(),
            model: self.model.to_string(),
            batch: b,
            procs: k,
        }
    }

    fn row_text(&self, b: u32, k: u32) -> String {
        format!(
            "({}, {}, {}, batch {b}, {k} proc{})",
            self.gpu.id(),
            self.profile.name(),
            self.model,
            if k == 1 { "" } else { "s" }
        )
    }

    /// The PARIS setting: procs 1, a batch class, latency from the table (interpolated
    /// between profiled batches), `L ≤ SLO`, routed load at most all the time.
    fn check_paris(&self, classes: &[u32], out: &mut Vec<Violation>) {
        let (at, batch, procs) = (&self.at, self.batch, self.procs);
        let mut push = |rule, why: String| out.push(Violation::new(rule, at.clone(), why));
        if procs != 1 {
            push(
                Rule::Paris,
                format!("runs {procs} processes; PARIS-setting instances run one"),
            );
        }
        if !classes.contains(&batch) {
            push(
                Rule::Paris,
                format!(
                    "batch {batch} is not one of the model's batch classes {}",
                    list(classes)
                ),
            );
        }
        let points: Vec<(u32, f64)> = self
            .table
            .select(
                Some(self.gpu.id()),
                Some(self.profile.name()),
                Some(self.model),
                Some(1),
            )
            .map(|r| (r.key.batch, r.latency_ms))
            .collect();
        let Some((latency, interpolated)) = latency_at(&points, batch) else {
            push(
                Rule::ProfileRow,
                format!(
                    "no profile-table row {} and no profiled batches around it to interpolate",
                    self.row_text(batch, 1)
                ),
            );
            return;
        };
        if let Some(reported) = self.inst.latency_ms {
            if !close(reported, latency, FIGURE_TOLERANCE) {
                push(
                    Rule::ProfileRow,
                    format!(
                        "reports latency {} ms, but the table gives {} ms{}",
                        fmt_num(reported),
                        fmt_num(latency),
                        if interpolated { " (interpolated)" } else { "" }
                    ),
                );
            }
        }
        if !interpolated {
            if let Some(row) = self.table.get(&self.key(batch, 1)) {
                check_memory(out, at, row.memory_mib, self.profile);
            }
        }
        let mut push = |rule, why: String| out.push(Violation::new(rule, at.clone(), why));
        let c = slo_admits(&self.rule, latency, batch, f64::INFINITY, self.slo_ms);
        if !c.admits {
            push(
                Rule::Slo,
                format!(
                    "latency {} ms of batch {batch} breaks SLO {} ms under {} (queries arrive batched): {}",
                    fmt_num(latency),
                    fmt_num(self.slo_ms),
                    self.rule.describe(),
                    c.why
                ),
            );
        }
        let cheapest = classes
            .iter()
            .filter_map(|&b| latency_at(&points, b).map(|(l, _)| (b, l)))
            .min_by(|x, y| x.1.total_cmp(&y.1));
        if let (Some((b, l)), Some(routed)) = (cheapest, self.inst.throughput_rps) {
            let busy = routed * l / 1000.0;
            if busy > 1.0 + FIGURE_TOLERANCE {
                push(
                    Rule::Paris,
                    format!(
                        "routes {}/s, but even queries of its cheapest class (batch {b}, {} ms) would keep it busy {:.1}% of the time",
                        fmt_num(routed),
                        fmt_num(l),
                        100.0 * busy
                    ),
                );
            }
        }
    }

    /// The table setting: the option's row, its figures, memory and the SLO rule.
    fn check_table(&self, out: &mut Vec<Violation>) {
        let (at, batch, procs) = (&self.at, self.batch, self.procs);
        let Some(row) = self.table.get(&self.key(batch, procs)) else {
            out.push(Violation::new(
                Rule::ProfileRow,
                at.clone(),
                format!(
                    "no profile-table row {}: the option was never profiled, or does not fit in memory",
                    self.row_text(batch, procs)
                ),
            ));
            return;
        };
        for (what, reported, actual, unit) in [
            ("latency", self.inst.latency_ms, row.latency_ms, " ms"),
            (
                "throughput",
                self.inst.throughput_rps,
                row.throughput_rps,
                "/s",
            ),
        ] {
            if let Some(r) = reported {
                if !close(r, actual, FIGURE_TOLERANCE) {
                    out.push(Violation::new(
                        Rule::ProfileRow,
                        at.clone(),
                        format!(
                            "reports {what} {}{unit}, but the table's row {} says {}{unit}",
                            fmt_num(r),
                            self.row_text(batch, procs),
                            fmt_num(actual)
                        ),
                    ));
                }
            }
        }
        check_memory(out, at, row.memory_mib, self.profile);
        // The rate one instance sees: its own throughput when saturated, or the whole
        // model's rate when that is less (the solver's reading of batch-wait).
        let r = row.throughput_rps.min(self.rate_rps);
        let c = slo_admits(&self.rule, row.latency_ms, batch, r, self.slo_ms);
        if !c.admits {
            out.push(Violation::new(
                Rule::Slo,
                at.clone(),
                format!(
                    "batch {batch} with {procs} process(es) takes {} ms, which breaks SLO {} ms under {}: {}",
                    fmt_num(row.latency_ms),
                    fmt_num(self.slo_ms),
                    self.rule.describe(),
                    c.why
                ),
            ));
        }
    }
}

fn check_memory(
    out: &mut Vec<Violation>,
    at: &Location,
    memory_mib: Option<f64>,
    profile: &migsched_core::Profile,
) {
    if let Some(mem) = memory_mib {
        let have = profile.memory_mib() as f64;
        if mem > have {
            out.push(Violation::new(
                Rule::Memory,
                at.clone(),
                format!(
                    "the option needs {} MiB, but a {} instance has {} MiB",
                    fmt_num(mem),
                    profile.name(),
                    fmt_num(have)
                ),
            ));
        }
    }
}

fn list(xs: &[u32]) -> String {
    xs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The layout rules alone on every MIG GPU of a plan, as its `layout` texts say (what `verify
/// layout` checks): an unreadable text or an unknown GPU type is a violation too. MPS GPUs
/// have no MIG layout; `check_plan` checks their gpulets.
pub fn check_plan_layouts(catalog: &Catalog, plan: &Plan, driver: Driver) -> Vec<Violation> {
    let mut out = Vec::new();
    for g in plan.mig_gpus() {
        let at = Location::gpu(g.index, &g.gpu);
        let Ok(gpu) = catalog.gpu(&g.gpu) else {
            out.push(Violation::new(
                Rule::UnknownGpu,
                at,
                format!(
                    "GPU type '{}' is not in the catalog; its layout cannot be checked",
                    g.gpu
                ),
            ));
            continue;
        };
        match parse_layout_text(&g.layout) {
            Ok(placed) => out.extend(check_layout(gpu, &placed, driver, &at)),
            Err(e) => out.push(Violation::new(
                Rule::LayoutText,
                at,
                format!("layout '{}' cannot be read: {e}", g.layout),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closeness_is_relative_and_absolute_near_zero() {
        // 1e-4 apart at 1e6 is a relative 1e-10.
        assert!(close(1e6, 1e6 + 1e-4, FIGURE_TOLERANCE));
        assert!(!close(1e6, 1e6 + 1e-2, FIGURE_TOLERANCE));
        // Near zero the tolerance is absolute.
        assert!(close(0.0, 5e-10, FIGURE_TOLERANCE));
        assert!(!close(0.0, 5e-9, FIGURE_TOLERANCE));
        assert!(close(-3.0, -3.0, 0.0));
    }

    #[test]
    fn figures_print_shortest() {
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(17.0), "17");
        assert_eq!(fmt_num(0.123456), "0.1235");
        assert_eq!(fmt_num(-0.00001), "0");
        assert_eq!(fmt_num(-2.25), "-2.25");
    }

    #[test]
    fn each_slo_rule_from_its_definition() {
        let check = |rule: &SloRule, l: f64, b: u32, r: f64, slo: f64| {
            let c = slo_admits(rule, l, b, r, slo);
            (c.admits, c.why)
        };
        let d = SloRule::Double;
        assert_eq!(
            check(&d, 7.5, 1, 10.0, 15.0),
            (true, "2·7.5 = 15 ≤ 15".into())
        );
        assert_eq!(
            check(&d, 7.6, 1, 10.0, 15.0),
            (false, "2·7.6 = 15.2 > 15".into())
        );
        let w = SloRule::BatchWait;
        // 5 ms + 4 requests at 1000/s (4 ms) = 9 ms.
        assert_eq!(
            check(&w, 5.0, 4, 1000.0, 9.0),
            (true, "5 + 4/1000 s = 9 ≤ 9".into())
        );
        assert!(!check(&w, 5.0, 4, 1000.0, 8.9).0);
        // No wait at an unbounded rate; an unbounded one at rate zero.
        assert_eq!(
            check(&w, 5.0, 4, f64::INFINITY, 5.0),
            (true, "5 + 4/∞ s = 5 ≤ 5".into())
        );
        assert!(!check(&w, 5.0, 4, 0.0, 1e9).0);
        let f = SloRule::Fraction {
            fraction: 0.5,
            strict: false,
        };
        assert_eq!(
            check(&f, 7.5, 1, 1.0, 15.0),
            (true, "7.5 = 7.5 ≤ 7.5".into())
        );
        assert!(!check(&f, 7.6, 1, 1.0, 15.0).0);
        let s = SloRule::Fraction {
            fraction: 0.5,
            strict: true,
        };
        assert_eq!(
            check(&s, 7.6, 1, 1.0, 15.0),
            (false, "7.6 = 7.6 ≥ 7.5".into())
        );
        assert_eq!(
            check(&s, 7.4, 1, 1.0, 15.0),
            (true, "7.4 = 7.4 < 7.5".into())
        );
        // Exact equality is within the tolerance, so even a strict rule admits it.
        assert!(check(&s, 7.5, 1, 1.0, 15.0).0);
        // Equality within a relative 1e-9 of the SLO favours the option, and no more.
        assert!(check(&d, 7.5 + 1e-9, 1, 1.0, 15.0).0);
        assert!(!check(&d, 7.5 + 1e-7, 1, 1.0, 15.0).0);
        // Exactly at that edge: admitted unless strict.
        let edge = 0.5 * 15.0 + 15.0 * FIGURE_TOLERANCE;
        assert!(check(&f, edge, 1, 1.0, 15.0).0);
        assert!(!check(&s, edge, 1, 1.0, 15.0).0);
    }

    #[test]
    fn memory_up_to_the_instance_is_enough() {
        let catalog = Catalog::builtin();
        let gpu = catalog.gpu("a100-80gb").unwrap();
        let (_, profile) = find_profile(gpu, "1g.10gb").unwrap();
        let have = profile.memory_mib() as f64;
        let mut out = Vec::new();
        check_memory(&mut out, &Location::none(), Some(have), profile);
        check_memory(&mut out, &Location::none(), None, profile);
        assert_eq!(out, []);
        check_memory(&mut out, &Location::none(), Some(have + 1.0), profile);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule, Rule::Memory);
    }

    #[test]
    fn batch_lists_print_comma_separated() {
        assert_eq!(list(&[1, 4, 8]), "1, 4, 8");
        assert_eq!(list(&[]), "");
    }

    #[test]
    fn plan_layouts_alone() {
        let plan = |gpus: &[(&str, &str)]| Plan {
            format: migsched_core::PLAN_FORMAT.into(),
            instance: "t".into(),
            method: migsched_core::Method::Imported,
            objective: Some(Objective::MinGpus),
            gpus: gpus
                .iter()
                .enumerate()
                .map(|(i, &(gpu, layout))| {
                    PlanGpu::Mig(MigGpu {
                        index: i as u32,
                        gpu: gpu.into(),
                        layout: layout.into(),
                        instances: Vec::new(),
                    })
                })
                .collect(),
            models: Vec::new(),
            gpus_used: 0,
            cost: 0.0,
        };
        let rules = |p: &Plan| -> Vec<Rule> {
            check_plan_layouts(Catalog::builtin(), p, Driver::R510OrLater)
                .iter()
                .map(|v| v.rule)
                .collect()
        };
        let swapped = plan(&[("a100-80gb", "3g.40gb@0,4g.40gb@4")]);
        assert_eq!(rules(&swapped), [Rule::IllegalStart]);
        let good = plan(&[("a100-80gb", "4g.40gb@0,3g.40gb@4"), ("h100-80gb", "empty")]);
        assert_eq!(rules(&good), []);
        let bad = plan(&[
            ("a100-80gb", "3g.40gb@0,2g.20gb@2"),
            ("v100", "empty"),
            ("h100-80gb", "7g.80gb"),
        ]);
        assert_eq!(
            rules(&bad),
            [Rule::Overlap, Rule::UnknownGpu, Rule::LayoutText]
        );
    }

    #[test]
    fn latency_between_profiled_batches_is_interpolated() {
        let points = [(1, 2.0), (4, 5.0), (8, 13.0)];
        assert_eq!(latency_at(&points, 4), Some((5.0, false)));
        assert_eq!(latency_at(&points, 2), Some((3.0, true)));
        assert_eq!(latency_at(&points, 6), Some((9.0, true)));
        assert_eq!(latency_at(&points, 9), None);
        assert_eq!(latency_at(&points[1..], 2), None);
        assert_eq!(latency_at(&[], 1), None);
    }
}
