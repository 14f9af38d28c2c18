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
//! **max-load plans** serve λ·rate for the largest λ found; their demand is not expected to
//! be covered. The checker reports the load factor min(served/rate) instead.
//!
//! Comparisons of floating-point figures allow a relative 1e-9 (reported against
//! recomputed), and demand a relative 1e-6 (routed rates come from an LP's tolerances).

use std::collections::BTreeMap;

use migsched_core::{
    Catalog, Driver, GpuType, Instance, Plan, PlanInstance, ProfileKey, ProfileTable, SloRule,
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

/// One serving instance, resolved.
struct Serving<'p> {
    gpu: Option<&'p GpuType>,
    at: Location,
    inst: &'p PlanInstance,
    model: &'p str,
}

/// Checks a plan; see the module documentation for every rule.
pub fn check_plan(catalog: &Catalog, plan: &Plan, against: Against<'_>) -> PlanReport {
    let mut out: Vec<Violation> = Vec::new();
    let mut not_checked: Vec<String> = Vec::new();
    let (driver, instance, table) = match against {
        Against::Instance { instance, table } => {
            (instance.serving.driver, Some(instance), Some(table))
        }
        Against::Alone { driver } => {
            not_checked.push(
                "serving options, SLO rules, memory, GPU counts and cost: no instance given \
                 (--instance)"
                    .into(),
            );
            (driver, None, None)
        }
    };
    let paris = plan.objective == "paris";
    let max_load = plan.objective == "max-load";

    // GPUs: index, type, pools, layout, layout text.
    let mut per_type: BTreeMap<String, u32> = BTreeMap::new();
    let mut serving: Vec<Serving<'_>> = Vec::new();
    let mut used_types: Vec<Option<String>> = Vec::new();
    let mut instance_count = 0;
    for (pos, g) in plan.gpus.iter().enumerate() {
        let at = Location::gpu(g.index, &g.gpu);
        if g.index as usize != pos {
            out.push(Violation::new(
                Rule::GpuIndex,
                at.clone(),
                format!("listed at position {pos} but numbered {}; GPUs are numbered 0, 1, ... in order", g.index),
            ));
        }
        instance_count += g.instances.len();
        let gpu = match catalog.gpu(&g.gpu) {
            Ok(t) => Some(&**t),
            Err(_) => {
                out.push(Violation::new(
                    Rule::UnknownGpu,
                    at.clone(),
                    format!(
                        "GPU type '{}' is not in the catalog; its layout cannot be checked",
                        g.gpu
                    ),
                ));
                None
            }
        };
        if let Some(t) = gpu {
            *per_type.entry(t.id().to_string()).or_default() += 1;
            let placed: Vec<PlacedInstance> = g
                .instances
                .iter()
                .map(|i| PlacedInstance::new(&i.profile, i.start))
                .collect();
            out.extend(check_layout(t, &placed, driver, &at));
        }
        match parse_layout_text(&g.layout) {
            Err(e) => out.push(Violation::new(
                Rule::LayoutText,
                at.clone(),
                format!("layout '{}' cannot be read: {e}", g.layout),
            )),
            Ok(text) => {
                let key = |p: &PlacedInstance| (p.profile.to_ascii_lowercase(), p.start);
                let mut a: Vec<(String, u8)> = text.iter().map(key).collect();
                let mut b: Vec<(String, u8)> = g
                    .instances
                    .iter()
                    .map(|i| (i.profile.to_ascii_lowercase(), i.start))
                    .collect();
                a.sort();
                b.sort();
                if a != b {
                    let list: Vec<PlacedInstance> = g
                        .instances
                        .iter()
                        .map(|i| PlacedInstance::new(&i.profile, i.start))
                        .collect();
                    out.push(Violation::new(
                        Rule::LayoutText,
                        at.clone(),
                        format!(
                            "layout '{}' differs from the instances listed ({})",
                            g.layout,
                            crate::layout::layout_text(&list)
                        ),
                    ));
                }
            }
        }
        let mut used = false;
        for inst in &g.instances {
            if let Some(model) = inst.model.as_deref() {
                used = true;
                serving.push(Serving {
                    gpu,
                    at: at
                        .with_instance(format!("{}@{}", inst.profile, inst.start))
                        .with_model(model),
                    inst,
                    model,
                });
            }
        }
        used_types.push(used.then(|| gpu.map_or_else(|| g.gpu.clone(), |t| t.id().to_string())));
    }

    // GPU counts against the instance's pools.
    if let Some(instance) = instance {
        for (ty, n) in &per_type {
            match instance.gpus.iter().find(|p| &p.gpu == ty) {
                None => out.push(Violation::new(
                    Rule::GpuCount,
                    Location {
                        gpu_type: Some(ty.clone()),
                        ..Location::none()
                    },
                    format!(
                        "the plan uses {n} {ty} GPU(s), but instance '{}' has none of that type",
                        instance.name
                    ),
                )),
                Some(pool) if *n > pool.count => out.push(Violation::new(
                    Rule::GpuCount,
                    Location {
                        gpu_type: Some(ty.clone()),
                        ..Location::none()
                    },
                    format!(
                        "the plan uses {n} {ty} GPUs, but instance '{}' has {}",
                        instance.name, pool.count
                    ),
                )),
                Some(_) => {}
            }
        }
        if plan.instance != instance.name {
            out.push(Violation::new(
                Rule::Totals,
                Location::none(),
                format!(
                    "the plan names instance '{}', but it is checked against '{}'",
                    plan.instance, instance.name
                ),
            ));
        }
    }

    // Models: the plan's list, the instance's demand.
    let mut listed: Vec<&str> = Vec::new();
    for svc in &plan.models {
        if listed.contains(&svc.model.as_str()) {
            out.push(Violation::new(
                Rule::Totals,
                Location::none().with_model(&svc.model),
                "listed twice in the plan's models",
            ));
        } else {
            listed.push(&svc.model);
        }
    }
    // (model, slo, rate) the checks use: the instance's when given, else the plan's.
    let demand: Vec<(String, f64, f64, Option<Vec<u32>>)> = match instance {
        Some(inst) => inst
            .models
            .iter()
            .map(|m| {
                let classes = m
                    .batch_distribution
                    .as_ref()
                    .map(|d| d.iter().map(|(b, _)| *b).collect())
                    .unwrap_or_else(|| vec![1]);
                (m.name.clone(), m.slo_ms, m.rate_rps, Some(classes))
            })
            .collect(),
        None => {
            let mut v: Vec<(String, f64, f64, Option<Vec<u32>>)> = Vec::new();
            for s in &plan.models {
                if !v.iter().any(|(m, ..)| m == &s.model) {
                    v.push((s.model.clone(), s.slo_ms, s.rate_rps, None));
                }
            }
            v
        }
    };
    if let Some(inst) = instance {
        for m in &inst.models {
            match plan.models.iter().find(|s| s.model == m.name) {
                None => out.push(Violation::new(
                    Rule::Totals,
                    Location::none().with_model(&m.name),
                    format!(
                        "a model of instance '{}' is missing from the plan's models",
                        inst.name
                    ),
                )),
                Some(s) => {
                    if !close(s.slo_ms, m.slo_ms, FIGURE_TOLERANCE) {
                        out.push(Violation::new(
                            Rule::Totals,
                            Location::none().with_model(&m.name),
                            format!(
                                "the plan says SLO {} ms, the instance {} ms",
                                fmt_num(s.slo_ms),
                                fmt_num(m.slo_ms)
                            ),
                        ));
                    }
                    if !close(s.rate_rps, m.rate_rps, FIGURE_TOLERANCE) {
                        out.push(Violation::new(
                            Rule::Totals,
                            Location::none().with_model(&m.name),
                            format!(
                                "the plan says rate {}/s, the instance {}/s",
                                fmt_num(s.rate_rps),
                                fmt_num(m.rate_rps)
                            ),
                        ));
                    }
                }
            }
        }
        for s in &plan.models {
            if !inst.models.iter().any(|m| m.name == s.model) {
                out.push(Violation::new(
                    Rule::UnknownModel,
                    Location::none().with_model(&s.model),
                    format!(
                        "the plan lists a model instance '{}' does not have",
                        inst.name
                    ),
                ));
            }
        }
    }

    // Each serving instance.
    for s in &serving {
        let Some((_, slo_ms, rate_rps, classes)) = demand.iter().find(|(m, ..)| m == s.model)
        else {
            out.push(Violation::new(
                Rule::UnknownModel,
                s.at.clone(),
                match instance {
                    Some(i) => format!(
                        "serves '{}', which instance '{}' does not have",
                        s.model, i.name
                    ),
                    None => format!("serves '{}', which the plan's models do not list", s.model),
                },
            ));
            continue;
        };
        let (Some(batch), Some(procs)) = (s.inst.batch, s.inst.procs) else {
            out.push(Violation::new(
                Rule::ProfileRow,
                s.at.clone(),
                "serves a model but names no batch size or no process count",
            ));
            continue;
        };
        if s.inst.throughput_rps.is_none() {
            out.push(Violation::new(
                Rule::ProfileRow,
                s.at.clone(),
                "serves a model but names no throughput; it counts as 0 toward demand",
            ));
        }
        let (Some(instance), Some(table), Some(gpu)) = (instance, table, s.gpu) else {
            continue;
        };
        let (slo_ms, rate_rps) = (*slo_ms, *rate_rps);
        if batch == 0 || procs == 0 {
            out.push(Violation::new(
                Rule::ServingLimit,
                s.at.clone(),
                format!("batch {batch} with {procs} process(es): both must be at least 1"),
            ));
            continue;
        }
        if procs > instance.serving.max_procs {
            out.push(Violation::new(
                Rule::ServingLimit,
                s.at.clone(),
                format!(
                    "runs {procs} MPS processes, but instance '{}' allows at most {}",
                    instance.name, instance.serving.max_procs
                ),
            ));
        }
        if let Some(bs) = &instance.serving.batches {
            if !paris && !bs.contains(&batch) {
                out.push(Violation::new(
                    Rule::ServingLimit,
                    s.at.clone(),
                    format!(
                        "batch {batch} is not among the instance's batches {}",
                        list(bs)
                    ),
                ));
            }
        }
        let Some((_, profile)) = find_profile(gpu, &s.inst.profile) else {
            continue; // reported by the layout rules
        };
        let key = |b: u32, k: u32| ProfileKey {
            gpu: gpu.id().to_string(),
            profile: profile.name().to_string(),
            model: s.model.to_string(),
            batch: b,
            procs: k,
        };
        let row_text = |b: u32, k: u32| {
            format!(
                "({}, {}, {}, batch {b}, {k} proc{})",
                gpu.id(),
                profile.name(),
                s.model,
                if k == 1 { "" } else { "s" }
            )
        };
        let rule = instance.serving.slo_rule;
        if paris {
            if procs != 1 {
                out.push(Violation::new(
                    Rule::Paris,
                    s.at.clone(),
                    format!("runs {procs} processes; PARIS-setting instances run one"),
                ));
            }
            let classes = classes.clone().unwrap_or_default();
            if !classes.contains(&batch) {
                out.push(Violation::new(
                    Rule::Paris,
                    s.at.clone(),
                    format!(
                        "batch {batch} is not one of the model's batch classes {}",
                        list(&classes)
                    ),
                ));
            }
            let points: Vec<(u32, f64)> = table
                .select(Some(gpu.id()), Some(profile.name()), Some(s.model), Some(1))
                .map(|r| (r.key.batch, r.latency_ms))
                .collect();
            let Some((latency, interpolated)) = latency_at(&points, batch) else {
                out.push(Violation::new(
                    Rule::ProfileRow,
                    s.at.clone(),
                    format!(
                        "no profile-table row {} and no profiled batches around it to interpolate",
                        row_text(batch, 1)
                    ),
                ));
                continue;
            };
            if let Some(reported) = s.inst.latency_ms {
                if !close(reported, latency, FIGURE_TOLERANCE) {
                    out.push(Violation::new(
                        Rule::ProfileRow,
                        s.at.clone(),
                        format!(
                            "reports latency {} ms, but the table gives {} ms{}",
                            fmt_num(reported),
                            fmt_num(latency),
                            if interpolated { " (interpolated)" } else { "" }
                        ),
                    ));
                }
            }
            if !interpolated {
                if let Some(row) = table.get(&key(batch, 1)) {
                    check_memory(&mut out, &s.at, row.memory_mib, profile);
                }
            }
            let c = slo_admits(&rule, latency, batch, f64::INFINITY, slo_ms);
            if !c.admits {
                out.push(Violation::new(
                    Rule::Slo,
                    s.at.clone(),
                    format!(
                        "latency {} ms of batch {batch} breaks SLO {} ms under {} (queries arrive batched): {}",
                        fmt_num(latency),
                        fmt_num(slo_ms),
                        rule.describe(),
                        c.why
                    ),
                ));
            }
            let cheapest = classes
                .iter()
                .filter_map(|&b| latency_at(&points, b).map(|(l, _)| (b, l)))
                .min_by(|x, y| x.1.total_cmp(&y.1));
            if let (Some((b, l)), Some(routed)) = (cheapest, s.inst.throughput_rps) {
                let busy = routed * l / 1000.0;
                if busy > 1.0 + FIGURE_TOLERANCE {
                    out.push(Violation::new(
                        Rule::Paris,
                        s.at.clone(),
                        format!(
                            "routes {}/s, but even queries of its cheapest class (batch {b}, {} ms) would keep it busy {:.1}% of the time",
                            fmt_num(routed),
                            fmt_num(l),
                            100.0 * busy
                        ),
                    ));
                }
            }
            continue;
        }
        let Some(row) = table.get(&key(batch, procs)) else {
            out.push(Violation::new(
                Rule::ProfileRow,
                s.at.clone(),
                format!("no profile-table row {}: the option was never profiled, or does not fit in memory", row_text(batch, procs)),
            ));
            continue;
        };
        for (what, reported, actual, unit) in [
            ("latency", s.inst.latency_ms, row.latency_ms, " ms"),
            (
                "throughput",
                s.inst.throughput_rps,
                row.throughput_rps,
                "/s",
            ),
        ] {
            if let Some(r) = reported {
                if !close(r, actual, FIGURE_TOLERANCE) {
                    out.push(Violation::new(
                        Rule::ProfileRow,
                        s.at.clone(),
                        format!(
                            "reports {what} {}{unit}, but the table's row {} says {}{unit}",
                            fmt_num(r),
                            row_text(batch, procs),
                            fmt_num(actual)
                        ),
                    ));
                }
            }
        }
        check_memory(&mut out, &s.at, row.memory_mib, profile);
        // The rate one instance sees: its own throughput when saturated, or the whole
        // model's rate when that is less (the solver's reading of batch-wait).
        let r = row.throughput_rps.min(rate_rps);
        let c = slo_admits(&rule, row.latency_ms, batch, r, slo_ms);
        if !c.admits {
            out.push(Violation::new(
                Rule::Slo,
                s.at.clone(),
                format!(
                    "batch {batch} with {procs} process(es) takes {} ms, which breaks SLO {} ms under {}: {}",
                    fmt_num(row.latency_ms),
                    fmt_num(slo_ms),
                    rule.describe(),
                    c.why
                ),
            ));
        }
    }

    // Totals and demand.
    let mut models: Vec<ModelTotals> = Vec::new();
    for (name, _, rate, classes) in &demand {
        let mine: Vec<&Serving<'_>> = serving.iter().filter(|s| s.model == name).collect();
        let served: f64 = mine
            .iter()
            .map(|s| s.inst.throughput_rps.unwrap_or(0.0))
            .sum();
        let count = mine.len() as u32;
        if let Some(svc) = plan.models.iter().find(|s| &s.model == name) {
            if !close(svc.served_rps, served, FIGURE_TOLERANCE) {
                out.push(Violation::new(
                    Rule::Totals,
                    Location::none().with_model(name),
                    format!(
                        "reports served {}/s, but its instances' throughputs sum to {}/s",
                        fmt_num(svc.served_rps),
                        fmt_num(served)
                    ),
                ));
            }
            if svc.instances != count {
                out.push(Violation::new(
                    Rule::Totals,
                    Location::none().with_model(name),
                    format!(
                        "reports {} instance(s), but {count} serve it",
                        svc.instances
                    ),
                ));
            }
        }
        if !max_load && served < rate * (1.0 - DEMAND_TOLERANCE) {
            out.push(Violation::new(
                Rule::Demand,
                Location::none().with_model(name),
                format!(
                    "serves {}/s of its demand {}/s ({:.1}%) with {count} instance(s)",
                    fmt_num(served),
                    fmt_num(*rate),
                    100.0 * served / rate
                ),
            ));
        }
        if paris && !mine.is_empty() {
            if let Some(largest) = classes.as_ref().and_then(|c| c.iter().max()) {
                let top = mine.iter().filter_map(|s| s.inst.batch).max().unwrap_or(0);
                if top < *largest {
                    out.push(Violation::new(
                        Rule::Paris,
                        Location::none().with_model(name),
                        format!("no instance serves its largest batch class {largest} (the largest served is {top})"),
                    ));
                }
            }
        }
        models.push(ModelTotals {
            model: name.clone(),
            rate_rps: *rate,
            served_rps: served,
            instances: count,
        });
    }
    let gpus_used = used_types.iter().filter(|u| u.is_some()).count() as u32;
    if plan.gpus_used != gpus_used {
        out.push(Violation::new(
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
    let cost = instance.and_then(|inst| {
        used_types
            .iter()
            .flatten()
            .map(|ty| inst.gpus.iter().find(|p| &p.gpu == ty).map(|p| p.cost))
            .sum::<Option<f64>>()
    });
    if instance.is_some() && cost.is_none() {
        not_checked.push("cost: a used GPU's type has no pool in the instance".into());
    }
    if let Some(c) = cost {
        if !close(plan.cost, c, FIGURE_TOLERANCE) {
            out.push(Violation::new(
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
    if paris {
        not_checked.push(
            "PARIS routing: which batch classes go to which instance at what rate, the \
             utilization cap and queueing delay (the plan keeps only per-instance totals)"
                .into(),
        );
    }
    if max_load {
        not_checked.push("demand coverage: a max-load plan serves λ·rate (see load)".into());
    }
    PlanReport {
        violations: out,
        gpus: plan.gpus.len(),
        instances: instance_count,
        serving: serving.len(),
        models,
        gpus_used,
        cost,
        load,
        not_checked,
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

/// The layout rules alone on every GPU of a plan, as its `layout` texts say (what `verify
/// layout` checks): an unreadable text or an unknown GPU type is a violation too.
pub fn check_plan_layouts(catalog: &Catalog, plan: &Plan, driver: Driver) -> Vec<Violation> {
    let mut out = Vec::new();
    for g in &plan.gpus {
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
            method: "hand".into(),
            objective: "min-gpus".into(),
            gpus: gpus
                .iter()
                .enumerate()
                .map(|(i, &(gpu, layout))| migsched_core::PlanGpu {
                    index: i as u32,
                    gpu: gpu.into(),
                    layout: layout.into(),
                    instances: Vec::new(),
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
