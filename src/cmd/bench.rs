//! `migsched bench`: performance tables (solve time and status as instances grow).

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_core::{
    Driver, GpuPool, Instance, ModelDemand, ProfileSource, ProfileTable, RawRow, Serving, SloRule,
};
use migsched_out::{Table, print_json};
use migsched_perf::analytic::AnalyticParams;
use migsched_perf::source::{DEFAULT_BATCHES, analytic_table};
use migsched_perf::zoo::{ZooOptions, model_names};
use migsched_solver::{MigMethod, Objective, Problem, SolveOptions, Status, solve};
use serde::{Deserialize, Serialize};

use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Solve time and status of the ILP and the heuristics on growing synthetic instances
    #[command(after_help = SOLVER_HELP)]
    Solver(SolverBenchArgs),
    /// Simulated requests per wall-clock second of ELSA and FIFS on 56 1g queues
    #[command(after_help = SIM_HELP)]
    Sim(SimBenchArgs),
}

const SIM_HELP: &str = "\
An 8-GPU A100-80GB server fully split into 1g.10gb instances (56 queues) serving ResNet-50
(bundled analytic latency), queries of 1 to 32 samples (log-normal), Poisson arrivals at 80% of
the server's capacity, one seed. Prints simulated requests per wall-clock second (one core) and
the process's peak resident memory.

Examples:
  migsched bench sim
  migsched bench sim --requests 1000000 --json";

#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Requests per run
    #[arg(long, default_value_t = 10_000_000)]
    requests: u64,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimBenchRow {
    pub scheduler: String,
    pub requests: u64,
    pub events: u64,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub requests_per_second: f64,
    pub requests_per_cpu_second: Option<f64>,
    pub slo_attainment: f64,
    pub peak_rss_mib: Option<f64>,
}

const SOLVER_HELP: &str = "\
Instances: A100-80GB clusters of each GPU count, with that many models (variants of the zoo's
eleven beyond eleven, each slower by a few percent), rates set so the demand fills about 60%
of the cluster at the models' best throughput per GPU; MPS up to 3 processes, 2·L ≤ SLO.

Examples:
  migsched bench solver
  migsched bench solver --gpus 8,64 --models 4,16 --time-limit 10 --json";

#[derive(Debug, Args)]
pub struct SolverBenchArgs {
    /// GPU counts
    #[arg(long, value_delimiter = ',', default_values_t = vec![8u32, 64, 512, 4096])]
    gpus: Vec<u32>,
    /// Model counts
    #[arg(long, value_delimiter = ',', default_values_t = vec![4usize, 16, 64])]
    models: Vec<usize>,
    /// ILP time limit per instance, seconds
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchRow {
    pub gpus: u32,
    pub models: usize,
    pub method: MigMethod,
    pub status: Status,
    pub gpus_used: Option<u32>,
    pub gap_to_ilp_bound: Option<f64>,
    pub solve_seconds: f64,
    pub layouts: usize,
    pub serving_options: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub fn run(env: &Env, command: BenchCommand) -> Result<Outcome> {
    match command {
        BenchCommand::Solver(a) => solver(env, a),
        BenchCommand::Sim(a) => sim(env, a),
    }
}

/// CPU seconds (user + system) this process has used (Linux `/proc/self/stat`), so speed on a
/// shared machine is not the wall clock's.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Peak resident memory of this process (Linux `VmHWM`), MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn sim(env: &Env, args: SimBenchArgs) -> Result<Outcome> {
    if args.requests == 0 {
        anyhow::bail!("--requests must be at least 1");
    }
    let rows = sim_rows(env, args.requests, !args.json)?;
    if args.json {
        print_json(&rows)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&[
        "scheduler",
        ">requests",
        ">events",
        ">wall s",
        ">CPU s",
        ">requests/s",
        ">per CPU s",
        ">SLO met",
        ">peak RSS MiB",
    ]);
    for r in &rows {
        t.row(vec![
            r.scheduler.clone(),
            r.requests.to_string(),
            r.events.to_string(),
            format!("{:.2}", r.wall_seconds),
            r.cpu_seconds.map_or("-".into(), |c| format!("{c:.2}")),
            format!("{:.2} M", r.requests_per_second / 1e6),
            r.requests_per_cpu_second
                .map_or("-".into(), |c| format!("{:.2} M", c / 1e6)),
            format!("{:.2}%", 100.0 * r.slo_attainment),
            r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")),
        ]);
    }
    out!("{}", t.render());
    outln!(
        "\n56 queues (8 x A100-80GB as 7 x 1g.10gb), ResNet-50, queries of 1-32 samples, 80% load, one core."
    );
    Ok(Outcome::Yes)
}

/// ELSA and FIFS on the 56-queue server, `requests` arrivals each: speed and memory.
pub(crate) fn sim_rows(env: &Env, requests: u64, progress: bool) -> Result<Vec<SimBenchRow>> {
    use migsched_sim::schedulers::{Elsa, Fifs};
    use migsched_sim::{
        Arrival, LatencyCurve, ModelSpec, NoObserver, QueryBatch, Scheduler, ServerSpec,
        ServingMode, SimConfig, SimSetup, Stop, simulate,
    };
    let table = analytic_table(
        &env.catalog,
        "a100-80gb",
        &["resnet50".to_string()],
        &DEFAULT_BATCHES,
        1,
        &AnalyticParams::default(),
        &ZooOptions::default(),
    )?;
    let points: Vec<(u32, f64)> = table
        .select(
            Some("a100-80gb"),
            Some("1g.10gb"),
            Some("resnet50"),
            Some(1),
        )
        .map(|r| (r.key.batch, r.latency_ms * 1e6))
        .collect();
    let curve = LatencyCurve::new(points)
        .ok_or_else(|| anyhow::anyhow!("no analytic rows for resnet50 on 1g.10gb"))?;
    let batch = QueryBatch::LogNormal {
        mu: 1.0,
        sigma: 1.0,
        min: 1,
        max: 32,
    };
    // 80% of the 56 queues' capacity at the mean query size.
    let mean_service_s = {
        let mut r = migsched_sim::Rng::new(1, 1);
        (0..20_000)
            .map(|_| curve.at(batch.sample(&mut r)))
            .sum::<f64>()
            / 20_000.0
            / 1e9
    };
    let rate = 0.8 * 56.0 / mean_service_s;
    let setup = SimSetup {
        models: vec![ModelSpec {
            name: "resnet50".into(),
            slo_ns: 100_000_000,
            rate_rps: rate,
            arrival: Arrival::Poisson,
            batch,
        }],
        servers: (0..56)
            .map(|i| ServerSpec {
                gpu: i / 7,
                profile: "1g.10gb".into(),
                start: (i % 7) as u8,
                gpcs: 1,
                model: 0,
                slots: 1,
                max_batch: 32,
                latency: curve.clone(),
            })
            .collect(),
        replay: None,
    };
    let config = SimConfig {
        stop: Stop::Requests { n: requests },
        mode: ServingMode::Prebatched,
        seed: 1,
        ..SimConfig::default()
    };
    let mut rows = Vec::new();
    let runs: Vec<Box<dyn Scheduler>> = vec![Box::new(Elsa::default()), Box::new(Fifs)];
    for mut sched in runs {
        if progress {
            eprintln!("{requests} requests with {}...", sched.name());
        }
        let started = std::time::Instant::now();
        let cpu_before = cpu_seconds();
        let r = simulate(&setup, &config, sched.as_mut(), &mut NoObserver)?;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
        rows.push(SimBenchRow {
            scheduler: r.scheduler.clone(),
            requests: r.arrived_total,
            events: r.events,
            wall_seconds: wall,
            cpu_seconds: cpu,
            requests_per_second: r.arrived_total as f64 / wall,
            requests_per_cpu_second: cpu.filter(|&c| c > 0.0).map(|c| r.arrived_total as f64 / c),
            slo_attainment: r.slo_attainment,
            peak_rss_mib: peak_rss_mib(),
        });
    }
    Ok(rows)
}

/// The zoo's tables on A100-80GB (MPS up to 3), and `n` models: the zoo's, then variants
/// `<model>-v<k>` slower by 4% per k.
fn synthetic(env: &Env, n: usize, base: &ProfileTable) -> Result<(Vec<ModelDemand>, ProfileTable)> {
    let zoo = model_names();
    let mut raw = Vec::new();
    let mut models = Vec::new();
    for i in 0..n {
        let source = zoo[i % zoo.len()];
        let variant = i / zoo.len();
        let name = if variant == 0 {
            source.to_string()
        } else {
            format!("{source}-v{variant}")
        };
        let slow = 1.0 + 0.04 * variant as f64;
        let mut best_per_gpc: f64 = 0.0;
        let mut fastest = f64::INFINITY;
        for r in base.select(None, None, Some(source), None) {
            let gpcs = f64::from(
                r.key
                    .profile
                    .split('g')
                    .next()
                    .and_then(|c| c.parse::<u8>().ok())
                    .unwrap_or(7),
            );
            best_per_gpc = best_per_gpc.max(r.throughput_rps / slow / gpcs);
            fastest = fastest.min(r.latency_ms * slow);
            raw.push(RawRow {
                gpu: r.key.gpu.clone(),
                profile: r.key.profile.clone(),
                model: name.clone(),
                batch: r.key.batch,
                procs: r.key.procs,
                latency_ms: r.latency_ms * slow,
                throughput_rps: r.throughput_rps / slow,
                memory_mib: r.memory_mib,
                source: "bench".into(),
                line: None,
            });
        }
        // An SLO of 8x the unbatched latency leaves room for batching; the rate is filled in
        // by the caller per cluster size.
        models.push(ModelDemand {
            name,
            slo_ms: (8.0 * fastest).max(5.0),
            rate_rps: best_per_gpc * 7.0,
            batch_distribution: None,
        });
    }
    Ok((
        models,
        ProfileTable::from_raw(&env.catalog, raw, "bench tables")?,
    ))
}

fn solver(env: &Env, args: SolverBenchArgs) -> Result<Outcome> {
    let rows = solver_rows(env, &args.gpus, &args.models, args.time_limit, !args.json)?;
    if args.json {
        print_json(&rows)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&[
        ">GPUs",
        ">models",
        ">layouts",
        ">options",
        "method",
        "status",
        ">GPUs used",
        ">vs ILP bound",
        ">time s",
    ]);
    for r in &rows {
        t.row(vec![
            r.gpus.to_string(),
            r.models.to_string(),
            r.layouts.to_string(),
            r.serving_options.to_string(),
            r.method.name().to_string(),
            r.status.name().to_string(),
            r.gpus_used.map_or("-".into(), |g| g.to_string()),
            r.gap_to_ilp_bound
                .map_or("-".into(), |g| format!("{:+.1}%", 100.0 * g)),
            format!("{:.3}", r.solve_seconds),
        ]);
    }
    out!("{}", t.render());
    Ok(Outcome::Yes)
}

/// The ILP, homogeneous and greedy on the synthetic instances of each (GPUs, models).
pub(crate) fn solver_rows(
    env: &Env,
    gpus: &[u32],
    model_counts: &[usize],
    time_limit_s: f64,
    progress: bool,
) -> Result<Vec<BenchRow>> {
    let zoo: Vec<String> = model_names().iter().map(|s| s.to_string()).collect();
    let base = analytic_table(
        &env.catalog,
        "a100-80gb",
        &zoo,
        &DEFAULT_BATCHES,
        3,
        &AnalyticParams::default(),
        &ZooOptions::default(),
    )?;
    let options = SolveOptions {
        time_limit_s,
        ..SolveOptions::default()
    };
    let mut rows = Vec::new();
    for &n in model_counts {
        let (models, table) = synthetic(env, n, &base)?;
        for &g in gpus {
            // Demand: about 60% of the cluster at each model's best throughput per GPU,
            // shared equally among the models.
            let demands: Vec<ModelDemand> = models
                .iter()
                .map(|m| ModelDemand {
                    rate_rps: (m.rate_rps * 0.6 * f64::from(g) / n as f64).max(1.0),
                    ..m.clone()
                })
                .collect();
            let instance = Instance {
                name: format!("bench-{g}gpus-{n}models"),
                serving: Serving {
                    slo_rule: SloRule::Double,
                    max_procs: 3,
                    driver: Driver::R510OrLater,
                    batches: None,
                },
                profiles: ProfileSource::Analytic,
                gpus: vec![GpuPool {
                    gpu: "a100-80gb".into(),
                    count: g,
                    cost: 1.0,
                }],
                models: demands,
            };
            let problem = Problem::new(&env.catalog, &instance, &table)?;
            let mut ilp_bound = None;
            for method in [MigMethod::Ilp, MigMethod::Homogeneous, MigMethod::Greedy] {
                if progress {
                    eprintln!("{g} GPUs, {n} models: {method}...");
                }
                let s = solve(&problem, method, Objective::MinGpus, &options);
                if method == MigMethod::Ilp {
                    ilp_bound = s.bound;
                }
                rows.push(BenchRow {
                    gpus: g,
                    models: n,
                    method,
                    status: s.status,
                    gpus_used: s.gpus_used,
                    gap_to_ilp_bound: match (s.objective_value, ilp_bound) {
                        (Some(v), Some(b)) if b > 0.0 => Some((v - b) / b),
                        _ => None,
                    },
                    solve_seconds: s.solve_seconds,
                    layouts: problem.pools.iter().map(|p| p.layouts.len()).sum(),
                    serving_options: problem.best.len(),
                    reason: s.reason.clone(),
                });
            }
        }
    }
    Ok(rows)
}
