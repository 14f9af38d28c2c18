//! `migsched simulate` and `migsched peak`: replay traffic against a plan.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use migsched_core::Plan;
use migsched_lab::gpulet::{PlanSimOptions, write_trace};
use migsched_lab::inputs::{load_instance, load_plan};
use migsched_lab::observe::{Both, RequestLog, TraceWriter, write_series};
use migsched_lab::peak::{PeakStep, peak_search};
use migsched_lab::sched::{
    SchedulerKind, make_scheduler, parse_arrival, parse_noise, parse_query_batch,
};
use migsched_out::{Table, print_json, read_text, write_atomic};
use migsched_sim::gpulet::GpuletReport;
use migsched_sim::{
    NoObserver, Observer, QueryBatch, ServingMode, SimConfig, SimReport, SimSetup, Stop,
    WorkloadOptions, parse_trace_csv, simulate_with_progress,
};
use serde::Serialize;

use super::{Env, Outcome};
use migsched_sim::trace_header;

pub const SIMULATE_HELP: &str = "\
Replays traffic against a plan (the JSON of `migsched solve -o`, or a TOML list of servers) and
reports, per model and overall, SLO attainment, goodput, throughput and latency percentiles.
Models with a batch_distribution send pre-batched queries (PARIS/ELSA); the others send
single-sample requests batched per instance by a dynamic batcher (--max-queue-delay-ms).

Specs: --arrival poisson | gamma:CV | onoff:ON_S:OFF_S; --query-batch one | fixed:B |
lognormal:MU:SIGMA:MIN:MAX; --noise none | exp | lognormal:CV. --replay FILE replays a CSV
(timestamp in seconds, model, batch) instead of generating arrivals.

Exit codes: 0 the run finished; 2 unusable input. Same inputs and seed give the same report
(wall_seconds and sim_requests_per_second aside).

Examples:
  migsched solve datasets/instances/paris.toml --objective paris -o plan.json
  migsched simulate datasets/instances/paris.toml --plan plan.json --scheduler elsa --duration 30
  migsched simulate datasets/instances/small.toml --plan plan.json --load 1.2 --json --trace t.jsonl
  migsched simulate i.toml --plan plan.json --requests 1000000 --requests-log r.parquet";

pub const PEAK_HELP: &str = "\
Finds by bisection the largest load factor at which SLO attainment stays at or above the
target (gpulet's and PARIS's peak-throughput metric). Each step is one simulation with the
same seed; progress goes to stderr.

Examples:
  migsched peak datasets/instances/paris.toml --plan plan.json --scheduler elsa --target 0.99
  migsched peak i.toml --plan plan.json --scheduler fifs --duration 10 --json";

/// Serving modes on the command line.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ModeArg {
    /// Pre-batched when models have batch distributions, else dynamic batching
    Auto,
    /// Queries arrive batched and run as they are
    Prebatched,
    /// A dynamic batcher per instance
    Dynamic,
}

/// Options of a simulation shared by `simulate` and `peak`.
#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    /// The instance file (TOML): models, SLOs, rates, profiles
    instance: PathBuf,
    /// The plan: JSON from `migsched solve -o`, or a TOML list of [[servers]]
    #[arg(long)]
    plan: PathBuf,
    /// Scheduler
    #[arg(long, value_enum, default_value = "fifs")]
    scheduler: SchedulerKind,
    /// ELSA's α (weight of the predicted completion against the slack)
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// ELSA's β (weight of the request's own service time)
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// Simulated seconds of arrivals
    #[arg(long, default_value_t = 60.0, conflicts_with = "requests")]
    duration: f64,
    /// Simulate this many requests (then serve what is left) instead of a duration
    #[arg(long)]
    requests: Option<u64>,
    /// After the duration, serve the requests still in flight
    #[arg(long)]
    drain: bool,
    /// Factor on every model's rate
    #[arg(long, default_value_t = 1.0)]
    load: f64,
    /// Seed of every random stream
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Serving mode
    #[arg(long, value_enum, default_value = "auto")]
    mode: ModeArg,
    /// Dynamic batching: most time a request waits for a fuller batch, ms
    #[arg(long, default_value_t = 0.0)]
    max_queue_delay_ms: f64,
    /// Dynamic batching: batch sizes started at once without waiting (Triton's preferred sizes)
    #[arg(long, value_delimiter = ',', value_name = "B,...")]
    preferred_batch: Vec<u32>,
    /// Arrival process
    #[arg(long, default_value = "poisson")]
    arrival: String,
    /// Batch each query carries (default: the instance's distribution, or one)
    #[arg(long)]
    query_batch: Option<String>,
    /// Replay this workload CSV instead of generating arrivals
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Service-time noise
    #[arg(long, default_value = "none")]
    noise: String,
    /// Drop requests whose deadline passed before they could start (counted as misses)
    #[arg(long)]
    drop_expired: bool,
    /// Seconds at the start not counted in the metrics
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    sim: SimArgs,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    /// Write the event trace (JSON lines) here
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write one row per request (.csv or .parquet) here
    #[arg(long, value_name = "FILE")]
    requests_log: Option<PathBuf>,
    /// Write per-second counts per model (.csv or .parquet) here
    #[arg(long, value_name = "FILE")]
    time_series: Option<PathBuf>,
    /// Write the JSON report here as well
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(flatten)]
    gpulet: GpuletSimArgs,
}

#[derive(Debug, Args)]
pub struct PeakArgs {
    #[command(flatten)]
    sim: SimArgs,
    /// SLO attainment to keep
    #[arg(long, default_value_t = 0.99)]
    target: f64,
    /// Stop when the bracket is this narrow (relative)
    #[arg(long, default_value_t = 0.01)]
    tolerance: f64,
    /// Largest load factor tried
    #[arg(long, default_value_t = 64.0)]
    max_load: f64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// Everything a run needs, from the command line.
pub struct Prepared {
    /// The simulation setup.
    pub setup: SimSetup,
    /// Options (the load is set per run by `peak`).
    pub config: SimConfig,
}

impl SimArgs {
    /// Loads the instance, plan and tables and builds the setup and options.
    pub fn prepare(&self, env: &Env, time_series: bool) -> Result<Prepared> {
        let instance = load_instance(&env.catalog, &self.instance)?;
        let table = migsched_lab::profiles::for_instance(env, &instance, &self.instance)?;
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
            ModeArg::Prebatched => true,
            ModeArg::Dynamic => false,
            ModeArg::Auto => {
                setup
                    .models
                    .iter()
                    .any(|m| !matches!(m.batch, QueryBatch::One))
                    || self.replay.is_some()
            }
        };
        if !(self.max_queue_delay_ms.is_finite() && self.max_queue_delay_ms >= 0.0) {
            bail!(
                "--max-queue-delay-ms {} is not a non-negative number",
                self.max_queue_delay_ms
            );
        }
        if !(self.duration.is_finite() && self.duration > 0.0) {
            bail!(
                "--duration {} is not a positive number of seconds",
                self.duration
            );
        }
        if !(self.warmup.is_finite() && self.warmup >= 0.0) {
            bail!(
                "--warmup {} is not a non-negative number of seconds",
                self.warmup
            );
        }
        let config = SimConfig {
            stop: match self.requests {
                Some(n) => Stop::Requests { n },
                None => Stop::Duration {
                    ns: (self.duration * 1e9).round() as u64,
                    drain: self.drain,
                },
            },
            load: self.load,
            seed: self.seed,
            mode: if prebatched {
                ServingMode::Prebatched
            } else {
                ServingMode::Dynamic {
                    max_queue_delay_ns: (self.max_queue_delay_ms * 1e6).round() as u64,
                }
            },
            drop_expired: self.drop_expired,
            noise: parse_noise(&self.noise)?,
            warmup_ns: (self.warmup * 1e9).round() as u64,
            preferred_batches: self.preferred_batch.clone(),
            time_series,
        };
        Ok(Prepared { setup, config })
    }
}

#[derive(Serialize)]
struct SimulateJson<'a> {
    #[serde(flatten)]
    report: &'a SimReport,
    wall_seconds: f64,
    sim_requests_per_second: f64,
}

pub fn run_simulate(env: &Env, args: SimulateArgs) -> Result<Outcome> {
    // gpulet plans (MPS splits, `solve --method gpulet`) have their own simulator.
    let origin = args.sim.plan.display().to_string();
    if let Ok(plan) = Plan::from_json(&read_text(&args.sim.plan, "plan")?, &origin) {
        if plan.is_gpulet_plan() {
            return simulate_plan(
                env,
                &args.sim.instance,
                &plan,
                args.sim.duration,
                args.sim.load,
                args.sim.seed,
                &args.gpulet,
                SimOutputs {
                    json: args.json,
                    trace: args.trace.as_deref(),
                    report: args.report.as_deref(),
                },
            );
        }
    }
    let p = args.sim.prepare(env, args.time_series.is_some())?;
    let mut scheduler = make_scheduler(args.sim.scheduler, args.sim.alpha, args.sim.beta)?;
    let mut trace = args
        .trace
        .as_deref()
        .map(|t| TraceWriter::create(t, &p.setup))
        .transpose()?;
    let mut log = args.requests_log.as_ref().map(|_| RequestLog::default());
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
    if let (Some(t), Some(path)) = (trace, &args.trace) {
        t.finish(trace_header(&p.setup, &p.config, &report))
            .with_context(|| format!("writing the trace '{}'", path.display()))?;
    }
    let names: Vec<String> = p.setup.models.iter().map(|m| m.name.clone()).collect();
    if let (Some(l), Some(path)) = (log, &args.requests_log) {
        l.write(path, &names, report.end_ns)?;
    }
    if let Some(path) = &args.time_series {
        write_series(path, &report)?;
    }
    let json = SimulateJson {
        report: &report,
        wall_seconds: wall,
        sim_requests_per_second: report.arrived_total as f64 / wall.max(1e-9),
    };
    if let Some(path) = &args.report {
        let mut text = serde_json::to_string_pretty(&report).context("encoding the report")?;
        text.push('\n');
        write_atomic(path, &text)?;
    }
    if args.json {
        print_json(&json)?;
    } else {
        print_report(&report, wall);
    }
    Ok(Outcome::Yes)
}

/// Prints where a long run is to stderr, at most once a second, after its first second.
fn progress_printer(config: &SimConfig) -> impl FnMut(migsched_sim::Progress) {
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

fn print_report(r: &SimReport, wall: f64) {
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

#[derive(Serialize)]
struct PeakJson<'a> {
    scheduler: &'a str,
    target: f64,
    peak_load: f64,
    steps: &'a [PeakStep],
    report_at_peak: Option<&'a SimReport>,
}

pub fn run_peak(env: &Env, args: PeakArgs) -> Result<Outcome> {
    if !(args.target > 0.0 && args.target <= 1.0) {
        bail!("--target {} is not in (0, 1]", args.target);
    }
    if !(args.tolerance > 0.0 && args.tolerance < 1.0 && args.max_load > 0.0) {
        bail!("--tolerance must be in (0, 1) and --max-load positive");
    }
    let base = args.sim.prepare(env, false)?;
    let mut steps: Vec<PeakStep> = Vec::new();
    let make = || make_scheduler(args.sim.scheduler, args.sim.alpha, args.sim.beta);
    let best = peak_search(
        &base.setup,
        &base.config,
        &make,
        args.target,
        args.tolerance,
        args.max_load,
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
    let peak = best.as_ref().map_or(0.0, |b| b.0);
    let scheduler = make_scheduler(args.sim.scheduler, args.sim.alpha, args.sim.beta)?;
    if args.json {
        print_json(&PeakJson {
            scheduler: scheduler.name(),
            target: args.target,
            peak_load: peak,
            steps: &steps,
            report_at_peak: best.as_ref().map(|b| &b.1),
        })?;
    } else if let Some((load, r)) = &best {
        outln!(
            "peak load {:.4} (target SLO attainment {:.1}%, scheduler {}): {:.1} requests/s at {:.2}% attainment, p99 {:.2} ms",
            load,
            100.0 * args.target,
            scheduler.name(),
            r.throughput_rps,
            100.0 * r.slo_attainment,
            r.latency_ms.p99
        );
    } else {
        outln!(
            "no load down to 0.0001 reaches SLO attainment {:.1}% with {}",
            100.0 * args.target,
            scheduler.name()
        );
    }
    Ok(Outcome::from_ok(best.is_some()))
}

/// Simulation options of gpulet plans (used only with a gpulet plan).
#[derive(Debug, Args, Clone)]
pub struct GpuletSimArgs {
    /// gpulet plans: re-plan every epoch for the observed rates (EWMA), adding and removing GPUs
    #[arg(long)]
    pub autoscale: bool,
    /// gpulet plans: autoscaling epoch, s
    #[arg(long, default_value_t = 20.0, value_name = "S")]
    pub epoch: f64,
    /// gpulet plans: time a reconfigured or added GPU serves nothing, s (MPS: 10 to 15)
    #[arg(long, default_value_t = 12.0, value_name = "S")]
    pub reconfig_delay: f64,
    /// gpulet plans: rates over time: constant | steps:T=F,T=F,... | diurnal:PERIOD_S:AMPLITUDE
    #[arg(long, default_value = "constant", value_name = "SPEC")]
    pub rates: String,
    /// gpulet plans: leave the interference slowdown out of the simulation
    #[arg(long)]
    pub no_interference: bool,
    /// gpulet plans: the method autoscaling re-plans with
    #[arg(long, default_value = "gpulet", value_name = "METHOD")]
    pub replan_method: String,
    /// gpulet plans: interference coefficients (TOML sets, as `interference fit` writes)
    /// instead of the shipped set of the instance's GPU type
    #[arg(long, value_name = "FILE")]
    pub interference: Option<PathBuf>,
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

/// `simulate` of a gpulet plan.
#[allow(clippy::too_many_arguments)]
pub fn simulate_plan(
    env: &Env,
    instance: &Path,
    plan: &Plan,
    duration_s: f64,
    load: f64,
    seed: u64,
    args: &GpuletSimArgs,
    outputs: SimOutputs<'_>,
) -> Result<Outcome> {
    let SimOutputs {
        json,
        trace,
        report: report_path,
    } = outputs;
    let options = PlanSimOptions {
        autoscale: args.autoscale,
        epoch_s: args.epoch,
        reconfig_delay_s: args.reconfig_delay,
        rates: args.rates.clone(),
        interference: !args.no_interference,
        replan_method: args.replan_method.clone(),
        coefficients: args.interference.clone(),
    };
    let (report, tr) = migsched_lab::gpulet::simulate_plan(
        env,
        instance,
        plan,
        (duration_s, load, seed),
        &options,
        trace.is_some(),
    )?;
    if let (Some(path), Some(tr)) = (trace, &tr) {
        write_trace(path, tr)?;
    }
    if let Some(path) = report_path {
        let mut text = serde_json::to_string_pretty(&report).context("encoding the report")?;
        text.push('\n');
        write_atomic(path, &text)?;
    }
    if json {
        print_json(&report)?;
    } else {
        print_gpulet_report(&report);
        if let Some(p) = trace {
            outln!("wrote trace to {}", p.display());
        }
    }
    Ok(Outcome::Yes)
}

/// Where a gpulet simulation's results go.
#[derive(Debug, Clone, Copy)]
pub struct SimOutputs<'a> {
    /// Print the report as JSON.
    pub json: bool,
    /// Write the trace here.
    pub trace: Option<&'a Path>,
    /// Write the report (JSON, with its `metrics` section) here.
    pub report: Option<&'a Path>,
}
