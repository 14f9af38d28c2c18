//! Benchmarks: solver time and status on growing synthetic instances, and the simulator's
//! speed on a 56-queue server; rows for `migsched bench` and `reproduce scaling`.

use anyhow::Result;
use migsched_core::{
    Driver, GpuPool, Instance, ModelDemand, ProfileSource, ProfileTable, RawRow, Serving, SloRule,
};
use migsched_perf::analytic::AnalyticParams;
use migsched_perf::source::{DEFAULT_BATCHES, analytic_table};
use migsched_perf::zoo::{ZooOptions, model_names};
use migsched_solver::{MigMethod, Objective, Problem, SolveOptions, Status, solve};
use serde::{Deserialize, Serialize};

use crate::Env;

/// One scheduler on the 56-queue server: speed and memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimBenchRow {
    /// Scheduler name.
    pub scheduler: String,
    /// Requests simulated.
    pub requests: u64,
    /// Events processed.
    pub events: u64,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// CPU seconds of the run (Linux only).
    pub cpu_seconds: Option<f64>,
    /// Simulated requests per wall-clock second.
    pub requests_per_second: f64,
    /// Simulated requests per CPU second (Linux only).
    pub requests_per_cpu_second: Option<f64>,
    /// SLO attainment of the run.
    pub slo_attainment: f64,
    /// Peak resident memory of the process, MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
}

/// One method on one synthetic instance: status, GPUs and time.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// GPUs in the cluster.
    pub gpus: u32,
    /// Models in the instance.
    pub models: usize,
    /// Planning method.
    pub method: MigMethod,
    /// Its status.
    pub status: Status,
    /// GPUs its plan uses.
    pub gpus_used: Option<u32>,
    /// Relative gap of GPUs used to the ILP's bound.
    pub gap_to_ilp_bound: Option<f64>,
    /// Wall-clock seconds of the solve.
    pub solve_seconds: f64,
    /// Maximal layouts in the problem.
    pub layouts: usize,
    /// Serving options in the problem.
    pub serving_options: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why there is no plan, when there is none.
    pub reason: Option<String>,
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

/// ELSA and FIFS on the 56-queue server, `requests` arrivals each: speed and memory.
pub fn sim_rows(env: &Env, requests: u64, progress: bool) -> Result<Vec<SimBenchRow>> {
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

/// The largest GPU count of a solver benchmark instance.
pub const MAX_BENCH_GPUS: u32 = 65_536;
/// The largest model count of a solver benchmark instance (each model is a zoo variant with
/// its own profile rows; 10^5 of them exhausted memory before the first solve).
pub const MAX_BENCH_MODELS: usize = 1024;

/// The ILP (stopping at `mip_rel_gap`), homogeneous and greedy on the synthetic instances of
/// each (GPUs, models).
pub fn solver_rows(
    env: &Env,
    gpus: &[u32],
    model_counts: &[usize],
    time_limit_s: f64,
    mip_rel_gap: f64,
    progress: bool,
) -> Result<Vec<BenchRow>> {
    if let Some(g) = gpus.iter().find(|g| !(1..=MAX_BENCH_GPUS).contains(*g)) {
        anyhow::bail!("--gpus {g} is outside 1..={MAX_BENCH_GPUS}");
    }
    if let Some(m) = model_counts
        .iter()
        .find(|m| !(1..=MAX_BENCH_MODELS).contains(*m))
    {
        anyhow::bail!("--models {m} is outside 1..={MAX_BENCH_MODELS}");
    }
    if gpus.is_empty() || model_counts.is_empty() {
        anyhow::bail!("--gpus and --models need at least one value each");
    }
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
        mip_rel_gap,
        ..SolveOptions::default()
    };
    options.validate()?;
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
