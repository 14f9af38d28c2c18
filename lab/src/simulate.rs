//! One simulation from files: the setup of an instance and a plan, a run with its trace,
//! request log, time series and report files, peak search, and the tables that show them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use migsched_core::Plan;
use migsched_out::{Outputs, Table, read_text};
use migsched_sim::gpulet::GpuletReport;
use migsched_sim::{
    NoObserver, Observer, QueryBatch, ServingMode, SimConfig, SimReport, SimSetup, Stop,
    WorkloadOptions, parse_trace_csv, simulate_with_progress, trace_header,
};
use serde::Serialize;

use crate::Env;
use crate::gpulet::PlanSimOptions;
use crate::inputs::{load_instance, load_plan};
use crate::observe::{Both, RequestLog, TraceWriter, encode_series, stage_trace};
use crate::peak::{PeakGoal, PeakStep, peak_search};
use crate::sched::{SchedulerKind, make_scheduler, parse_arrival, parse_noise, parse_query_batch};
use crate::tables::check_table_path;

/// How queries reach instances.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum ModeChoice {
    /// Pre-batched when models have batch distributions (or a replay), else dynamic batching
    #[default]
    Auto,
    /// Queries arrive batched and run as they are
    Prebatched,
    /// A dynamic batcher per instance
    Dynamic,
}

/// A simulation as the command line states it: files, scheduler, workload and options in
/// their text forms (parsed and checked by [`SimSpec::prepare`]).
#[derive(Debug, Clone)]
pub struct SimSpec {
    /// The instance file (TOML).
    pub instance: PathBuf,
    /// The plan (JSON of `solve -o`, or a TOML list of servers).
    pub plan: PathBuf,
    /// Scheduler.
    pub scheduler: SchedulerKind,
    /// ELSA's α.
    pub alpha: f64,
    /// ELSA's β.
    pub beta: f64,
    /// Simulated seconds of arrivals.
    pub duration_s: f64,
    /// Simulate this many requests instead of a duration.
    pub requests: Option<u64>,
    /// After the duration, serve the requests still in flight.
    pub drain: bool,
    /// Factor on every model's rate.
    pub load: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Serving mode.
    pub mode: ModeChoice,
    /// Dynamic batching: most time a request waits for a fuller batch, ms.
    pub max_queue_delay_ms: f64,
    /// Dynamic batching: batch sizes started at once.
    pub preferred_batch: Vec<u32>,
    /// Arrival process (`Arrival`'s text form).
    pub arrival: String,
    /// Batch each query carries (`QueryBatch`'s text form).
    pub query_batch: Option<String>,
    /// A workload CSV replayed instead of generated arrivals.
    pub replay: Option<PathBuf>,
    /// Service-time noise (`Noise`'s text form).
    pub noise: String,
    /// Drop requests whose deadline passed before they could start.
    pub drop_expired: bool,
    /// Seconds at the start not counted in the metrics.
    pub warmup_s: f64,
}

/// Everything a run needs, from a [`SimSpec`].
pub struct Prepared {
    /// The simulation setup.
    pub setup: SimSetup,
    /// Options (the load is set per run by `peak`).
    pub config: SimConfig,
}

/// Seconds as whole nanoseconds, refusing what does not fit (about 292 years).
fn secs_to_ns(what: &str, s: f64) -> Result<u64> {
    let ns = (s * 1e9).round();
    if !(ns.is_finite() && (0.0..9.2e18).contains(&ns)) {
        bail!("{what} {s} s is beyond the simulator's clock (at most 9.2e9 s)");
    }
    Ok(ns as u64)
}

impl SimSpec {
    /// Loads the instance, plan and tables and builds the setup and options.
    pub fn prepare(&self, env: &Env, time_series: bool) -> Result<Prepared> {
        if !(self.max_queue_delay_ms.is_finite() && self.max_queue_delay_ms >= 0.0) {
            bail!(
                "--max-queue-delay-ms {} is not a non-negative number",
                self.max_queue_delay_ms
            );
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            bail!(
                "--duration {} is not a positive number of seconds",
                self.duration_s
            );
        }
        if !(self.warmup_s.is_finite() && self.warmup_s >= 0.0) {
            bail!(
                "--warmup {} is not a non-negative number of seconds",
                self.warmup_s
            );
        }
        if self.requests.is_none() && self.warmup_s >= self.duration_s {
            bail!(
                "--warmup {} s leaves nothing of the {} s run to measure; warm up for less than --duration",
                self.warmup_s,
                self.duration_s
            );
        }
        if !(self.load.is_finite() && self.load > 0.0 && self.load <= crate::sweep::MAX_LOAD) {
            bail!(
                "--load {} is not a load factor in (0, {:e}]",
                self.load,
                crate::sweep::MAX_LOAD
            );
        }
        if self.requests == Some(0) {
            bail!("--requests 0: expected at least 1");
        }
        let instance = load_instance(&env.catalog, &self.instance)?;
        let table = crate::profiles::for_instance(env, &instance, &self.instance)?;
        let plan = load_plan(env, &self.plan, &instance)?;
        let workload = WorkloadOptions {
            arrival: parse_arrival(&self.arrival)?,
            batch: self
                .query_batch
                .as_deref()
                .map(parse_query_batch)
                .transpose()?,
        };
        let mut setup = SimSetup::from_plan(&env.catalog, &plan, &instance, &table, &workload)
            .with_context(|| format!("simulating plan '{}'", self.plan.display()))?;
        if let Some(r) = &self.replay {
            let text = read_text(r, "workload trace")?;
            let trace = parse_trace_csv(&text, &r.display().to_string())?;
            setup = setup.with_replay(&trace)?;
        }
        let prebatched = match self.mode {
            ModeChoice::Prebatched => true,
            ModeChoice::Dynamic => false,
            ModeChoice::Auto => {
                setup
                    .models
                    .iter()
                    .any(|m| !matches!(m.batch, QueryBatch::One))
                    || self.replay.is_some()
            }
        };
        let config = SimConfig {
            stop: match self.requests {
                Some(n) => Stop::Requests { n },
                None => Stop::Duration {
                    ns: secs_to_ns("--duration", self.duration_s)?,
                    drain: self.drain,
                },
            },
            load: self.load,
            seed: self.seed,
            mode: if prebatched {
                ServingMode::Prebatched
            } else {
                ServingMode::Dynamic {
                    max_queue_delay_ns: secs_to_ns(
                        "--max-queue-delay-ms",
                        self.max_queue_delay_ms / 1e3,
                    )?,
                }
            },
            drop_expired: self.drop_expired,
            noise: parse_noise(&self.noise)?,
            warmup_ns: secs_to_ns("--warmup", self.warmup_s)?,
            preferred_batches: self.preferred_batch.clone(),
            time_series,
        };
        Ok(Prepared { setup, config })
    }
}

/// The files a simulation writes besides its report on stdout.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimFiles<'a> {
    /// The event trace (JSON lines).
    pub trace: Option<&'a Path>,
    /// One row per request (.csv or .parquet).
    pub requests_log: Option<&'a Path>,
    /// Per-second counts per model (.csv or .parquet).
    pub time_series: Option<&'a Path>,
    /// The JSON report, with its `metrics` section.
    pub report: Option<&'a Path>,
}

/// A report as pretty JSON.
pub fn report_json<T: Serialize>(report: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(report).context("encoding the report")?;
    text.push('\n');
    Ok(text)
}

/// The files of a run, checked and claimed before any work: each destination is writable and
/// not an input, no two are the same file, and the tables name a format.
fn reserve(files: &SimFiles<'_>) -> Result<Outputs> {
    let mut out = Outputs::new();
    for path in [files.requests_log, files.time_series]
        .into_iter()
        .flatten()
    {
        check_table_path(path)?;
    }
    for path in [
        files.trace,
        files.requests_log,
        files.time_series,
        files.report,
    ]
    .into_iter()
    .flatten()
    {
        out.reserve(path)?;
    }
    Ok(out)
}

/// Runs the simulation `spec` states, writing `files` (all of them, or none when the run
/// fails); returns the report and the wall time.
pub fn simulate_files(env: &Env, spec: &SimSpec, files: SimFiles<'_>) -> Result<(SimReport, f64)> {
    let mut outputs = reserve(&files)?;
    let p = spec.prepare(env, files.time_series.is_some())?;
    let mut scheduler = make_scheduler(spec.scheduler, spec.alpha, spec.beta)?;
    let mut trace = files
        .trace
        .map(|t| TraceWriter::create(t, &p.setup))
        .transpose()?;
    let mut log = files.requests_log.map(|_| RequestLog::default());
    let started = Instant::now();
    let report = {
        let mut observers: Vec<&mut dyn Observer> = Vec::new();
        if let Some(t) = trace.as_mut() {
            observers.push(t);
        }
        if let Some(l) = log.as_mut() {
            observers.push(l);
        }
        let mut progress = progress_printer(&p.config);
        let (setup, config) = (&p.setup, &p.config);
        if observers.is_empty() {
            simulate_with_progress(
                setup,
                config,
                scheduler.as_mut(),
                &mut NoObserver,
                &mut progress,
            )?
        } else {
            simulate_with_progress(
                setup,
                config,
                scheduler.as_mut(),
                &mut Both(observers),
                &mut progress,
            )?
        }
    };
    let wall = started.elapsed().as_secs_f64();
    if let Some(t) = trace {
        outputs.add_stream(t.finish(trace_header(&p.setup, &p.config, &report))?)?;
    }
    let names: Vec<String> = p.setup.models.iter().map(|m| m.name.clone()).collect();
    if let (Some(l), Some(path)) = (log, files.requests_log) {
        outputs.add_bytes(path, &l.encode(path, &names, report.end_ns)?)?;
    }
    if let Some(path) = files.time_series {
        outputs.add_bytes(path, &encode_series(path, &report)?)?;
    }
    if let Some(path) = files.report {
        outputs.add(path, &report_json(&report)?)?;
    }
    outputs.commit()?;
    Ok((report, wall))
}

/// Prints where a long run is to stderr, at most once a second, after its first second.
pub fn progress_printer(config: &SimConfig) -> impl FnMut(migsched_sim::Progress) {
    let started = Instant::now();
    let mut last = 0u64;
    let stop = config.stop;
    move |p| {
        let secs = started.elapsed().as_secs();
        if secs >= 1 && secs > last {
            last = secs;
            let goal = match stop {
                Stop::Duration { ns, .. } => format!(
                    "{:.1} of {:.1} simulated s",
                    p.now_ns as f64 / 1e9,
                    ns as f64 / 1e9
                ),
                Stop::Requests { n } => format!("{} of {n} requests", p.arrived),
            };
            eprintln!(
                "simulating: {goal} ({} events, {:.1} s)",
                p.events,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Prints a report: a summary, then tables per model and per instance.
pub fn print_report(r: &SimReport, wall: f64) {
    let params: Vec<String> = r
        .parameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    outln!(
        "scheduler {}{} · load {} · seed {} · {:.1} s simulated in {:.2} s ({:.2} M requests/s)",
        r.scheduler,
        if params.is_empty() {
            String::new()
        } else {
            format!(" ({})", params.join(", "))
        },
        r.load,
        r.seed,
        r.duration_s,
        wall,
        r.arrived_total as f64 / wall.max(1e-9) / 1e6
    );
    outln!(
        "requests {}  completed {}  dropped {}  in flight {}  SLO attainment {:.2}%  goodput {:.1}/s  throughput {:.1}/s",
        r.requests,
        r.completed,
        r.dropped,
        r.in_flight,
        100.0 * r.slo_attainment,
        r.goodput_rps,
        r.throughput_rps
    );
    outln!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  (queueing p99 {:.2})",
        r.latency_ms.p50,
        r.latency_ms.p90,
        r.latency_ms.p99,
        r.latency_ms.p999,
        r.latency_ms.max,
        r.queue_ms.p99
    );
    outln!();
    let mut t = Table::new(&[
        "model",
        ">SLO ms",
        ">rate/s",
        ">requests",
        ">SLO met",
        ">p50 ms",
        ">p99 ms",
        ">goodput/s",
        ">dropped",
    ]);
    for m in &r.per_model {
        t.row(vec![
            m.model.clone(),
            format!("{}", m.slo_ms),
            format!("{:.1}", m.rate_rps),
            m.requests.to_string(),
            format!("{:.2}%", 100.0 * m.slo_attainment),
            format!("{:.2}", m.latency_ms.p50),
            format!("{:.2}", m.latency_ms.p99),
            format!("{:.1}", m.goodput_rps),
            m.dropped.to_string(),
        ]);
    }
    out!("{}", t.render());
    outln!();
    let mut t = Table::new(&[
        ">inst",
        ">GPU",
        "profile",
        "model",
        ">slots",
        ">batches",
        ">mean batch",
        ">utilization",
    ]);
    for i in &r.per_instance {
        t.row(vec![
            i.instance.to_string(),
            i.gpu.to_string(),
            format!("{}@{}", i.profile, i.start),
            i.model.clone(),
            i.slots.to_string(),
            i.batches.to_string(),
            format!("{:.2}", i.mean_batch),
            format!("{:.1}%", 100.0 * i.utilization),
        ]);
    }
    out!("{}", t.render());
}

/// Prints a report as tables.
pub fn print_gpulet_report(r: &GpuletReport) {
    let mut t = Table::new(&[
        "model",
        ">arrived",
        ">good",
        ">late",
        ">dropped",
        ">SLO attainment",
    ]);
    for m in &r.models {
        t.row(vec![
            m.model.clone(),
            m.arrived.to_string(),
            m.good.to_string(),
            m.late.to_string(),
            m.dropped.to_string(),
            format!("{:.4}", m.slo_attainment),
        ]);
    }
    outln!("{}", t.render().trim_end());
    outln!(
        "SLO attainment {:.4}, goodput {:.1}/s, {} batches ({} started beside a busy gpulet), {:.1} GPU-seconds",
        r.slo_attainment,
        r.goodput_rps,
        r.batches,
        r.interfered_batches,
        r.gpu_seconds
    );
    if !r.epochs.is_empty() {
        let mut t = Table::new(&[
            ">t s",
            ">true rate/s",
            ">planned rate/s",
            ">GPUs serving",
            ">GPUs configured",
        ]);
        for e in &r.epochs {
            t.row(vec![
                format!("{:.0}", e.t_s),
                format!("{:.1}", e.true_rps),
                format!("{:.1}", e.planned_rps),
                e.gpus_serving.to_string(),
                e.gpus_configured.to_string(),
            ]);
        }
        outln!("\nautoscaling:\n{}", t.render().trim_end());
    }
}

/// Simulates a gpulet plan of the instance `spec` names (its duration, load and seed),
/// writing the trace and report `files` asks for.
pub fn simulate_gpulet_files(
    env: &Env,
    spec: &SimSpec,
    plan: &Plan,
    options: &PlanSimOptions,
    files: SimFiles<'_>,
) -> Result<GpuletReport> {
    if files.requests_log.is_some() || files.time_series.is_some() {
        bail!("--requests-log and --time-series are written for MIG plans; this is a gpulet plan");
    }
    let mut outputs = reserve(&files)?;
    let (report, tr) = crate::gpulet::simulate_plan(
        env,
        &spec.instance,
        plan,
        (spec.duration_s, spec.load, spec.seed),
        options,
        files.trace.is_some(),
    )?;
    if let (Some(path), Some((header, events))) = (files.trace, &tr) {
        outputs.add_stream(stage_trace(path, header, events)?)?;
    }
    if let Some(path) = files.report {
        outputs.add(path, &report_json(&report)?)?;
    }
    outputs.commit()?;
    Ok(report)
}

/// The plan at `path` when it is a gpulet plan (MPS splits), which has its own simulator.
pub fn gpulet_plan_at(path: &Path) -> Option<Plan> {
    let text = read_text(path, "plan").ok()?;
    let plan = Plan::from_json(&text, &path.display().to_string()).ok()?;
    plan.is_gpulet_plan().then_some(plan)
}

/// The result of a peak search from files.
#[derive(Debug, Serialize)]
pub struct Peak {
    /// The scheduler's name.
    pub scheduler: &'static str,
    /// SLO attainment kept.
    pub target: f64,
    /// The largest load factor that keeps it (0 when none does).
    pub peak_load: f64,
    /// Every simulation of the search.
    pub steps: Vec<PeakStep>,
    /// The report at the peak.
    pub report_at_peak: Option<SimReport>,
}

/// Searches the peak load of the simulation `spec` states; each step is reported on stderr.
pub fn peak_files(env: &Env, spec: &SimSpec, goal: PeakGoal) -> Result<Peak> {
    goal.validate()?;
    let base = spec.prepare(env, false)?;
    let mut steps: Vec<PeakStep> = Vec::new();
    let make = || make_scheduler(spec.scheduler, spec.alpha, spec.beta);
    let best = peak_search(
        &base.setup,
        &base.config,
        &make,
        goal,
        &mut steps,
        &mut |s| {
            eprintln!(
                "load {:.4}: SLO attainment {:.3}% {}",
                s.load,
                100.0 * s.slo_attainment,
                if s.meets_target { "meets" } else { "misses" }
            )
        },
    )?;
    Ok(Peak {
        scheduler: spec.scheduler.name(),
        target: goal.target,
        peak_load: best.as_ref().map_or(0.0, |b| b.0),
        steps,
        report_at_peak: best.map(|b| b.1),
    })
}

/// Prints a peak search's answer in one line.
pub fn print_peak(p: &Peak) {
    match &p.report_at_peak {
        Some(r) => outln!(
            "peak load {:.4} (target SLO attainment {:.1}%, scheduler {}): {:.1} requests/s at {:.2}% attainment, p99 {:.2} ms",
            p.peak_load,
            100.0 * p.target,
            p.scheduler,
            r.throughput_rps,
            100.0 * r.slo_attainment,
            r.latency_ms.p99
        ),
        None => outln!(
            "no load down to 0.0001 reaches SLO attainment {:.1}% with {}",
            100.0 * p.target,
            p.scheduler
        ),
    }
}
