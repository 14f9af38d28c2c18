//! The `verify` commands from files: layouts, plans and traces checked by migsched-verify,
//! printed with every violation's what, where and why.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migsched_core::{Driver, Instance, Plan};
use migsched_out::{Table, print_json, read_text};
use migsched_verify::import::mig_parted::check_config;
use migsched_verify::{
    Against, LayoutFile, Location, PlanReport, TraceOptions, TraceReport, Violation, check_layout,
    check_plan, check_plan_layouts, check_trace, count_by_rule, layout_text, parse_metrics,
    parse_plan, read_layout_file, read_trace,
};
use serde::Serialize;

use crate::Env;
use crate::inputs::load_instance;

/// `verify layout`: a file of layouts and the rules to apply.
#[derive(Debug, Clone)]
pub struct LayoutCheck {
    /// A plan (JSON), a mig-parted config (YAML) or layouts in text form.
    pub file: PathBuf,
    /// GPU type (text-form layouts; for mig-parted, instead of the device filters).
    pub gpu: Option<String>,
    /// The instance whose driver rules apply.
    pub instance: Option<PathBuf>,
    /// Apply the rules of drivers before R510.
    pub before_r510: bool,
    /// Print JSON.
    pub json: bool,
}

/// `verify plan`.
#[derive(Debug, Clone)]
pub struct PlanCheck {
    /// The plan (JSON).
    pub file: PathBuf,
    /// The instance the plan is for.
    pub instance: Option<PathBuf>,
    /// Apply the rules of drivers before R510 (without an instance).
    pub before_r510: bool,
    /// Print JSON.
    pub json: bool,
}

/// `verify trace`.
#[derive(Debug, Clone)]
pub struct TraceCheck {
    /// The trace (JSON lines).
    pub file: PathBuf,
    /// The plan the run served.
    pub plan: Option<PathBuf>,
    /// Metrics the system reported for the run.
    pub metrics: Option<PathBuf>,
    /// Print JSON.
    pub json: bool,
}

/// Most violations printed as text; `--json` lists all.
const PRINT_LIMIT: usize = 200;

fn print_violations(violations: &[Violation], indent: &str) {
    for v in violations.iter().take(PRINT_LIMIT) {
        outln!("{indent}{v}");
    }
    if violations.len() > PRINT_LIMIT {
        outln!(
            "{indent}... and {} more (--json lists all)",
            violations.len() - PRINT_LIMIT
        );
    }
}

fn summary(violations: &[Violation]) -> String {
    if violations.is_empty() {
        return "no violations".to_string();
    }
    let by_rule: Vec<String> = count_by_rule(violations)
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    format!(
        "{} violation{} ({})",
        violations.len(),
        if violations.len() == 1 { "" } else { "s" },
        by_rule.join(", ")
    )
}

fn driver_of(env: &Env, instance: Option<&Path>, before_r510: bool) -> Result<Driver> {
    match instance {
        Some(path) => Ok(instance_of(env, path, before_r510)?.serving.driver),
        None => Ok(driver(before_r510)),
    }
}

/// The instance whose rules apply; `--before-r510` beside it would set the driver twice.
fn instance_of(env: &Env, path: &Path, before_r510: bool) -> Result<Instance> {
    if before_r510 {
        bail!("--before-r510 and --instance both set the driver rules; give one");
    }
    load_instance(&env.catalog, path)
}

fn driver(before_r510: bool) -> Driver {
    if before_r510 {
        Driver::BeforeR510
    } else {
        Driver::R510OrLater
    }
}

#[derive(Serialize)]
struct LayoutItem {
    what: String,
    layout: Option<String>,
    checked: bool,
    reason: Option<String>,
    violations: Vec<Violation>,
}

#[derive(Serialize)]
struct LayoutJson<'a> {
    file: &'a str,
    ok: bool,
    layouts: &'a [LayoutItem],
}

/// Checks every layout of a plan, a mig-parted config or a text file of layouts; prints each
/// with its violations. `Ok(true)` when every layout is legal.
pub fn verify_layout(env: &Env, args: &LayoutCheck) -> Result<bool> {
    let origin = args.file.display().to_string();
    let driver = driver_of(env, args.instance.as_deref(), args.before_r510)?;
    let gpu = args.gpu.as_deref().map(|g| env.gpu(g)).transpose()?;
    let text = read_text(&args.file, "layout file")?;
    let file = read_layout_file(&text, &origin)?;
    let mut items: Vec<LayoutItem> = Vec::new();
    match &file {
        LayoutFile::Plan(plan) => {
            let all = check_plan_layouts(&env.catalog, plan, driver);
            for g in &plan.gpus {
                let mine: Vec<Violation> = all
                    .iter()
                    .filter(|v| v.at.gpu == Some(g.index()))
                    .cloned()
                    .collect();
                let mig = g.as_mig();
                items.push(LayoutItem {
                    what: format!("gpu {} ({})", g.index(), g.gpu()),
                    layout: mig.map(|m| m.layout.clone()),
                    checked: mig.is_some(),
                    reason: mig.is_none().then(|| {
                        "an MPS split into gpulets, not a MIG layout (verify plan checks it)"
                            .to_string()
                    }),
                    violations: mine,
                });
            }
        }
        LayoutFile::MigParted(config) => {
            for c in check_config(&env.catalog, config, gpu.as_deref(), driver) {
                let (what, checked, reason) = match &c.gpu {
                    Ok(Some(g)) => (
                        format!("{} devices={} on {g}", c.entry, c.devices),
                        true,
                        None,
                    ),
                    Ok(None) => (
                        format!("{} devices={}", c.entry, c.devices),
                        true,
                        Some("its device-filter excludes this GPU".to_string()),
                    ),
                    Err(why) => (
                        format!("{} devices={}", c.entry, c.devices),
                        false,
                        Some(why.clone()),
                    ),
                };
                let counts = config
                    .mig_configs
                    .0
                    .iter()
                    .flat_map(|(name, entries)| {
                        entries
                            .iter()
                            .enumerate()
                            .map(move |(i, e)| (format!("{name}[{i}]"), e))
                    })
                    .find(|(label, _)| *label == c.entry)
                    .map(|(_, e)| migsched_verify::describe_counts(&e.mig_devices.0));
                items.push(LayoutItem {
                    what,
                    layout: counts,
                    checked,
                    reason,
                    violations: c.violations,
                });
            }
        }
        LayoutFile::Text(lines) => {
            let Some(gpu) = &gpu else {
                bail!("{origin}: layouts in text form need --gpu to name the GPU type");
            };
            for (line, placed) in lines {
                let at = Location {
                    entry: Some(format!("line {line}")),
                    gpu_type: Some(gpu.id().to_string()),
                    ..Location::none()
                };
                items.push(LayoutItem {
                    what: format!("line {line} on {}", gpu.id()),
                    layout: Some(layout_text(placed)),
                    checked: true,
                    reason: None,
                    violations: check_layout(gpu, placed, driver, &at),
                });
            }
        }
    }
    let violations: Vec<Violation> = items.iter().flat_map(|i| i.violations.clone()).collect();
    let unchecked = items.iter().filter(|i| !i.checked).count();
    if args.json {
        print_json(&LayoutJson {
            file: &origin,
            ok: violations.is_empty() && unchecked == 0,
            layouts: &items,
        })?;
    } else {
        for i in &items {
            let layout = i.layout.as_deref().unwrap_or("");
            let tag = match (i.checked, i.violations.is_empty(), &i.reason) {
                (false, _, _) => "??  ",
                (true, _, Some(_)) => "skip",
                (true, true, None) => "ok  ",
                (true, false, None) => "FAIL",
            };
            match &i.reason {
                Some(r) => outln!("{tag}  {}: {layout}: {r}", i.what),
                None => outln!("{tag}  {}: {layout}", i.what),
            }
            for v in i.violations.iter().take(PRINT_LIMIT) {
                outln!("        - {} [{}]", v.message, v.rule);
            }
        }
        let bad = items.iter().filter(|i| !i.violations.is_empty()).count();
        outln!(
            "\n{origin}: {} layouts checked, {bad} with violations, {unchecked} could not be \
             checked; {}",
            items.len() - unchecked,
            summary(&violations)
        );
    }
    if !violations.is_empty() {
        Ok(false)
    } else if unchecked > 0 {
        bail!("{unchecked} entries of {origin} could not be checked (see above); pass --gpu")
    } else {
        Ok(true)
    }
}

#[derive(Serialize)]
struct PlanJson<'a> {
    file: &'a str,
    instance: Option<&'a str>,
    ok: bool,
    #[serde(flatten)]
    report: &'a PlanReport,
}

/// Checks a plan, alone or against its instance; prints the violations and what it serves.
/// `Ok(true)` when no rule is violated.
pub fn verify_plan(env: &Env, args: &PlanCheck) -> Result<bool> {
    let origin = args.file.display().to_string();
    let text = read_text(&args.file, "plan")?;
    let plan: Plan = parse_plan(&text, &origin)?;
    let loaded = match &args.instance {
        Some(path) => {
            let instance = instance_of(env, path, args.before_r510)?;
            let table = crate::profiles::for_instance(env, &instance, path)
                .with_context(|| format!("the profile table of {}", path.display()))?;
            Some((instance, table))
        }
        None => None,
    };
    let against = match &loaded {
        Some((instance, table)) => Against::Instance { instance, table },
        None => Against::Alone {
            driver: driver(args.before_r510),
        },
    };
    let report = check_plan(&env.catalog, &plan, against);
    let instance_name = loaded.as_ref().map(|(i, _)| i.name.as_str());
    if args.json {
        print_json(&PlanJson {
            file: &origin,
            instance: instance_name,
            ok: report.is_clean(),
            report: &report,
        })?;
        return Ok(report.violations.is_empty());
    }
    print_violations(&report.violations, "");
    if !report.violations.is_empty() {
        outln!();
    }
    let mut t = Table::new(&["model", ">rate/s", ">served/s", ">served %", ">instances"]);
    for m in &report.models {
        t.row(vec![
            m.model.clone(),
            format!("{:.1}", m.rate_rps),
            format!("{:.1}", m.served_rps),
            format!("{:.1}", 100.0 * m.served_rps / m.rate_rps),
            m.instances.to_string(),
        ]);
    }
    if !report.models.is_empty() {
        out!("{}", t.render());
        outln!();
    }
    let against = match instance_name {
        Some(n) => format!("against instance {n}"),
        None => "alone (no --instance)".to_string(),
    };
    outln!(
        "{origin}: {}; {} GPUs ({} used{}), {} instances ({} serving), {} models, checked {against}",
        summary(&report.violations),
        report.gpus,
        report.gpus_used,
        report
            .cost
            .map(|c| format!(", cost {c:.2}"))
            .unwrap_or_default(),
        report.instances,
        report.serving,
        report.models.len(),
    );
    if plan.objective == Some(migsched_core::Objective::MaxLoad) {
        if let Some(l) = report.load {
            outln!("  load factor served: {l:.4}");
        }
    }
    for n in &report.not_checked {
        outln!("  not checked: {n}");
    }
    Ok(report.violations.is_empty())
}

#[derive(Serialize)]
struct TraceJson<'a> {
    file: &'a str,
    ok: bool,
    #[serde(flatten)]
    report: &'a TraceReport,
}

/// Checks an event trace, with the plan it served and the metrics reported for it when given.
/// `Ok(true)` when no rule is violated.
pub fn verify_trace(args: &TraceCheck) -> Result<bool> {
    let origin = args.file.display().to_string();
    let text = read_text(&args.file, "trace")?;
    let trace = read_trace(&text, &origin)?;
    let plan = match &args.plan {
        Some(p) => {
            let t = read_text(p, "plan")?;
            Some(parse_plan(&t, &p.display().to_string())?)
        }
        None => None,
    };
    let metrics = match &args.metrics {
        Some(p) => {
            let t = read_text(p, "metrics")?;
            Some(parse_metrics(&t, &p.display().to_string())?)
        }
        None => None,
    };
    let report = check_trace(
        &trace,
        &TraceOptions {
            plan: plan.as_ref(),
            metrics: metrics.as_ref(),
        },
    );
    if args.json {
        print_json(&TraceJson {
            file: &origin,
            ok: report.is_clean(),
            report: &report,
        })?;
        return Ok(report.violations.is_empty());
    }
    print_violations(&report.violations, "");
    if !report.violations.is_empty() {
        outln!();
    }
    let m = &report.metrics;
    outln!(
        "{origin}: {}; {} events, {} requests ({} finished, {} dropped, {} unfinished), \
         scheduler {}{}",
        summary(&report.violations),
        report.events,
        m.requests,
        m.finished,
        m.dropped,
        m.unfinished,
        trace.header.scheduler,
        if report.elsa_replayed > 0 {
            format!(", {} ELSA dispatches replayed", report.elsa_replayed)
        } else {
            String::new()
        }
    );
    let fmt = |x: Option<f64>, unit: &str| x.map_or("-".to_string(), |v| format!("{v:.3}{unit}"));
    outln!(
        "  recomputed: SLO attainment {}, throughput {}, goodput {}, latency mean {} p50 {} \
         p99 {}",
        fmt(m.slo_attainment, ""),
        fmt(m.throughput_rps, "/s"),
        fmt(m.goodput_rps, "/s"),
        fmt(m.latency_ms_mean, " ms"),
        fmt(m.latency_ms_p50, " ms"),
        fmt(m.latency_ms_p99, " ms")
    );
    for n in &report.not_checked {
        outln!("  not checked: {n}");
    }
    Ok(report.violations.is_empty())
}
