//! `migsched simulate` and `migsched peak`: replay traffic against a plan.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use migsched_lab::gpulet::PlanSimOptions;
use migsched_lab::peak::PeakGoal;
use migsched_lab::sched::SchedulerKind;
use migsched_lab::simulate::{
    ModeChoice, SimFiles, SimSpec, gpulet_plan_at, peak_files, print_gpulet_report, print_peak,
    print_report, simulate_files, simulate_gpulet_files,
};
use migsched_out::print_json;
use serde::Serialize;

use super::{Env, Outcome};
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
    mode: ModeChoice,
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

impl SimArgs {
    fn spec(&self) -> SimSpec {
        SimSpec {
            instance: self.instance.clone(),
            plan: self.plan.clone(),
            scheduler: self.scheduler,
            alpha: self.alpha,
            beta: self.beta,
            duration_s: self.duration,
            requests: self.requests,
            drain: self.drain,
            load: self.load,
            seed: self.seed,
            mode: self.mode,
            max_queue_delay_ms: self.max_queue_delay_ms,
            preferred_batch: self.preferred_batch.clone(),
            arrival: self.arrival.clone(),
            query_batch: self.query_batch.clone(),
            replay: self.replay.clone(),
            noise: self.noise.clone(),
            drop_expired: self.drop_expired,
            warmup_s: self.warmup,
        }
    }
}

#[derive(Serialize)]
struct SimulateJson<'a> {
    #[serde(flatten)]
    report: &'a migsched_sim::SimReport,
    wall_seconds: f64,
    sim_requests_per_second: f64,
}

pub fn run_simulate(env: &Env, args: SimulateArgs) -> Result<Outcome> {
    let spec = args.sim.spec();
    let files = SimFiles {
        trace: args.trace.as_deref(),
        requests_log: args.requests_log.as_deref(),
        time_series: args.time_series.as_deref(),
        report: args.report.as_deref(),
    };
    let g = &args.gpulet;
    let options = PlanSimOptions {
        autoscale: g.autoscale,
        epoch_s: g.epoch,
        reconfig_delay_s: g.reconfig_delay,
        rates: g.rates.clone(),
        interference: !g.no_interference,
        replan_method: g.replan_method.clone(),
        coefficients: g.interference.clone(),
    };
    options.validate()?;
    // gpulet plans (MPS splits, `solve --method gpulet`) have their own simulator.
    if let Some(plan) = gpulet_plan_at(&spec.plan) {
        let report = simulate_gpulet_files(env, &spec, &plan, &options, files)?;
        if args.json {
            print_json(&report)?;
        } else {
            print_gpulet_report(&report);
            if let Some(p) = &args.trace {
                outln!("wrote trace to {}", p.display());
            }
        }
        return Ok(Outcome::Yes);
    }
    let (report, wall) = simulate_files(env, &spec, files)?;
    if args.json {
        print_json(&SimulateJson {
            report: &report,
            wall_seconds: wall,
            sim_requests_per_second: report.arrived_total as f64 / wall.max(1e-9),
        })?;
    } else {
        print_report(&report, wall);
    }
    Ok(Outcome::Yes)
}

pub fn run_peak(env: &Env, args: PeakArgs) -> Result<Outcome> {
    let goal = PeakGoal {
        target: args.target,
        tolerance: args.tolerance,
        max_load: args.max_load,
    };
    let peak = peak_files(env, &args.sim.spec(), goal)?;
    if args.json {
        print_json(&peak)?;
    } else {
        print_peak(&peak);
    }
    Ok(Outcome::from_ok(peak.report_at_peak.is_some()))
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
