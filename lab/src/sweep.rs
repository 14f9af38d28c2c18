//! Sweeps: a grid of (instance × method × scheduler × load × seed) cells, run in
//! parallel, resumable, and sliceable into shards for batch systems; `sweep merge` joins
//! shard outputs.
//!
//! Layout of an output directory: `cells/<key>.json` (one finished cell each, written
//! atomically, so an interrupted run resumes by skipping them) and `results.csv` (plus
//! `results.parquet` with the `parquet` feature), all cells of the directory in grid order;
//! with the `parquet` feature also `summary.csv` and `summary.parquet`, the cells over seeds
//! per (instance, method, scheduler, load), aggregated with polars ([`crate::aggregate`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use migsched_core::{Instance, Plan, ProfileSource};
use migsched_out::{read_text, write_atomic};
use migsched_sim::{
    Arrival, Noise, QueryBatch, ServingMode, SimConfig, Stop, WorkloadOptions, simulate,
};
use migsched_solver::{MigMethod, Objective, Problem, SolveOptions, solve};
use serde::Deserialize;

use crate::Env;
pub use crate::cell::Cell;
use crate::inputs::{load_problem, setup_with};
use crate::sched::{SchedulerKind, make_scheduler};
use crate::tables::{ColumnData, write_table};

/// A sweep specification as written (TOML, paths relative to the file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    instances: Vec<PathBuf>,
    methods: Vec<String>,
    #[serde(default)]
    objective: Option<String>,
    schedulers: Vec<String>,
    loads: Vec<f64>,
    seeds: Vec<u64>,
    duration_s: f64,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    arrival: Option<String>,
    #[serde(default)]
    noise: Option<String>,
    #[serde(default)]
    query_batch: Option<String>,
}

/// The largest load factor a sweep (or peak search) simulates: beyond it the arrival counts of
/// any realistic instance exhaust memory before the clock moves.
pub const MAX_LOAD: f64 = 1e6;

/// How a sweep's cells serve queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Queries arrive batched and run as they are.
    Prebatched,
    /// A dynamic batcher per instance (no queue delay).
    Dynamic,
}

impl Mode {
    /// The name in specs and results.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Prebatched => "prebatched",
            Mode::Dynamic => "dynamic",
        }
    }

    fn serving(self) -> ServingMode {
        match self {
            Mode::Prebatched => ServingMode::Prebatched,
            Mode::Dynamic => ServingMode::Dynamic {
                max_queue_delay_ns: 0,
            },
        }
    }
}

impl FromStr for Mode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "prebatched" => Ok(Mode::Prebatched),
            "dynamic" => Ok(Mode::Dynamic),
            other => bail!("mode '{other}' is neither 'prebatched' nor 'dynamic'"),
        }
    }
}

/// A checked sweep specification: every name parsed, every number in range.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Instance files (resolved against the spec's directory).
    pub instances: Vec<PathBuf>,
    /// Planning methods (MIG methods only).
    pub methods: Vec<MigMethod>,
    /// The objective's name as given (default `min-gpus`) and the objective.
    pub objective: (String, Objective),
    /// Schedulers.
    pub schedulers: Vec<SchedulerKind>,
    /// Load factors, positive.
    pub loads: Vec<f64>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Simulated seconds per cell, positive.
    pub duration_s: f64,
    /// Serving mode.
    pub mode: Mode,
    /// The workload every cell simulates: arrival process and query batches (text forms as
    /// `simulate --arrival/--query-batch` takes them), and service-time noise.
    pub workload: Workload,
}

/// A sweep's workload: the arrival process, the query batch and the service-time noise, with
/// the names they were given (recorded in every cell).
#[derive(Debug, Clone)]
pub struct Workload {
    /// Arrival process and its name (default `poisson`).
    pub arrival: (String, Arrival),
    /// Noise and its name (default `none`).
    pub noise: (String, Noise),
    /// Query batch and its name (default: the instance's distribution, or one).
    pub query_batch: Option<(String, QueryBatch)>,
}

impl Workload {
    fn parse(raw: &RawSpec, path: &Path) -> Result<Workload> {
        let named = |text: &str| text.trim().to_string();
        let arrival_name = named(raw.arrival.as_deref().unwrap_or("poisson"));
        let arrival: Arrival = arrival_name
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: arrival: {e}", path.display()))?;
        let noise_name = named(raw.noise.as_deref().unwrap_or("none"));
        let noise: Noise = noise_name
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: noise: {e}", path.display()))?;
        let query_batch = match &raw.query_batch {
            None => None,
            Some(q) => {
                let q = named(q);
                let b: QueryBatch = q
                    .parse()
                    .map_err(|e| anyhow::anyhow!("{}: query_batch: {e}", path.display()))?;
                Some((q, b))
            }
        };
        Ok(Workload {
            arrival: (arrival_name, arrival),
            noise: (noise_name, noise),
            query_batch,
        })
    }
}

impl Spec {
    /// Parses and checks a spec's text; `path` resolves its instance paths and names it in
    /// errors.
    pub fn parse(text: &str, path: &Path) -> Result<Spec> {
        let spec: RawSpec = toml::from_str(text)
            .with_context(|| format!("{}: not a sweep spec", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (field, empty) in [
            ("instances", spec.instances.is_empty()),
            ("methods", spec.methods.is_empty()),
            ("schedulers", spec.schedulers.is_empty()),
            ("loads", spec.loads.is_empty()),
            ("seeds", spec.seeds.is_empty()),
        ] {
            if empty {
                bail!("{}: '{field}' is empty", path.display());
            }
        }
        if let Some(l) = spec
            .loads
            .iter()
            .find(|l| !(l.is_finite() && **l > 0.0 && **l <= MAX_LOAD))
        {
            bail!(
                "{}: loads: {l} is not a load factor in (0, {MAX_LOAD:e}]",
                path.display()
            );
        }
        if !(spec.duration_s.is_finite() && (1e-3..=1e7).contains(&spec.duration_s)) {
            bail!(
                "{}: duration_s: {} is not a number of seconds in [0.001, 1e7]",
                path.display(),
                spec.duration_s
            );
        }
        let workload = Workload::parse(&spec, path)?;
        // Sweeps plan MIG layouts; a gpulet method is refused here, not sent to the MIG solver.
        let methods: Vec<MigMethod> = spec
            .methods
            .iter()
            .map(|m| {
                m.to_lowercase()
                    .parse()
                    .with_context(|| format!("{}: methods", path.display()))
            })
            .collect::<Result<_>>()?;
        let objective_name = spec.objective.clone().unwrap_or_else(|| "min-gpus".into());
        let objective: Objective = objective_name
            .to_lowercase()
            .parse()
            .with_context(|| format!("{}: objective", path.display()))?;
        let schedulers: Vec<SchedulerKind> = spec
            .schedulers
            .iter()
            .map(|s| {
                s.parse::<SchedulerKind>()
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
            })
            .collect::<Result<_>>()?;
        let mode: Mode = spec
            .mode
            .as_deref()
            .unwrap_or("prebatched")
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Spec {
            instances: spec.instances.iter().map(|p| base.join(p)).collect(),
            methods,
            objective: (objective_name, objective),
            schedulers,
            loads: spec.loads,
            seeds: spec.seeds,
            duration_s: spec.duration_s,
            mode,
            workload,
        })
    }
}

/// 64-bit FNV-1a of a file's bytes, as 16 hex digits: a fingerprint that tells inputs apart
/// (not a cryptographic hash).
fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Parses `I/N` (1 ≤ I ≤ N) as a zero-based shard index and the shard count.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || anyhow::anyhow!("--shard '{s}': expected I/N with 1 ≤ I ≤ N, e.g. 3/16");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i - 1, n))
}

/// A cell's file name: its fields, with anything but letters, digits, '.', '-' as '_'.
pub fn cell_key(instance: &str, method: &str, sched: &str, load: f64, seed: u64) -> String {
    format!("{instance}__{method}__{sched}__load{load}__seed{seed}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The grid's cells in their fixed order, as (instance, method, scheduler) indices, load and
/// seed: instances outermost, seeds innermost.
pub fn grid(
    instances: usize,
    methods: usize,
    schedulers: usize,
    loads: &[f64],
    seeds: &[u64],
) -> Vec<(usize, usize, usize, f64, u64)> {
    let mut grid = Vec::new();
    for i in 0..instances {
        for m in 0..methods {
            for s in 0..schedulers {
                for &load in loads {
                    for &seed in seeds {
                        grid.push((i, m, s, load, seed));
                    }
                }
            }
        }
    }
    grid
}

/// Whether grid index `k` belongs to `shard` (zero-based index, count); every index belongs
/// to exactly one shard of a count, and to the whole grid when `None`.
pub fn in_shard(k: usize, shard: Option<(usize, usize)>) -> bool {
    shard.is_none_or(|(i, n)| k % n == i)
}

struct Loaded {
    name: String,
    path: PathBuf,
    instance: Instance,
    problem: Problem,
    hash: String,
    profiles_hash: String,
}

/// Runs the sweep of the spec file `spec_path` into `out`, `jobs` cells at a time, only the
/// cells of `shard` (zero-based index, count) when given; skips cells `out` already holds.
/// Writes the results table and returns every cell of `out`, in grid order.
pub fn run(
    env: &Env,
    spec_path: &Path,
    out: &Path,
    jobs: usize,
    shard: Option<(usize, usize)>,
) -> Result<Vec<Cell>> {
    let text = read_text(spec_path, "the sweep spec")?;
    let spec = Spec::parse(&text, spec_path)?;
    let methods: Vec<(String, MigMethod)> = spec
        .methods
        .iter()
        .map(|&m| (m.name().to_string(), m))
        .collect();
    let scheds: Vec<(String, SchedulerKind)> = spec
        .schedulers
        .iter()
        .map(|&s| (s.name().to_string(), s))
        .collect();
    let (objective_name, objective) = spec.objective.clone();
    let mode_name = spec.mode.name().to_string();
    let mode = spec.mode.serving();

    // The instances, with fingerprints of what they read.
    let mut loaded: Vec<Loaded> = Vec::new();
    for path in &spec.instances {
        let path = path.clone();
        let bytes =
            std::fs::read(&path).with_context(|| format!("reading '{}'", path.display()))?;
        let (instance, problem) = load_problem(env, &path)?;
        // The profile files it names, in order; "analytic" for generated tables.
        let profiles_hash = match &instance.profiles {
            ProfileSource::Files { files } => {
                let mut all = Vec::new();
                for f in files {
                    let src = path.parent().unwrap_or(Path::new(".")).join(f);
                    all.extend(
                        std::fs::read(&src)
                            .with_context(|| format!("reading '{}'", src.display()))?,
                    );
                }
                fnv1a(&all)
            }
            _ => "analytic".to_string(),
        };
        let name = path
            .file_stem()
            .map_or("instance".into(), |s| s.to_string_lossy().into_owned());
        if loaded.iter().any(|l| l.name == name) {
            bail!(
                "{}: two instances are named '{name}' (file stems must differ)",
                spec_path.display()
            );
        }
        loaded.push(Loaded {
            name,
            hash: fnv1a(&bytes),
            profiles_hash,
            path,
            instance,
            problem,
        });
    }

    // The grid, in a fixed order; this shard's part of it.
    let grid = grid(
        loaded.len(),
        methods.len(),
        scheds.len(),
        &spec.loads,
        &spec.seeds,
    );
    let total = grid.len();
    let mine: Vec<usize> = (0..total).filter(|&k| in_shard(k, shard)).collect();
    let cells_dir = out.join("cells");
    std::fs::create_dir_all(&cells_dir)
        .with_context(|| format!("creating '{}'", cells_dir.display()))?;
    let key_of = |k: usize| {
        let (i, m, s, load, seed) = grid[k];
        cell_key(&loaded[i].name, &methods[m].0, &scheds[s].0, load, seed)
    };
    let todo: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|&k| read_cell(&cells_dir.join(format!("{}.json", key_of(k)))).is_none())
        .collect();
    eprintln!(
        "sweep: {} cells in the grid, {} in this shard, {} already done, {} to run",
        total,
        mine.len(),
        mine.len() - todo.len(),
        todo.len()
    );

    // Plans, once per (instance, method) that a cell to run needs.
    // Per (instance, method): the solver's status, its plan, and why there is none.
    type Planned = (String, Option<Plan>, Option<String>);
    let mut plans: BTreeMap<(usize, usize), Planned> = BTreeMap::new();
    for &k in &todo {
        let (i, m, ..) = grid[k];
        if plans.contains_key(&(i, m)) {
            continue;
        }
        let problem = &loaded[i].problem;
        let method = methods[m].1;
        let opts = SolveOptions::default();
        eprintln!(
            "sweep: planning {} with {}...",
            loaded[i].name, methods[m].0
        );
        let sol = solve(problem, method, objective, &opts);
        let failure = sol.plan.is_none().then(|| {
            sol.reason
                .clone()
                .unwrap_or_else(|| format!("no plan ({})", sol.status.name()))
        });
        plans.insert((i, m), (sol.status.name().to_string(), sol.plan, failure));
    }

    // The cells, `jobs` at a time.
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let run_cell = |k: usize| -> Result<()> {
        let (i, m, s, load, seed) = grid[k];
        let l = &loaded[i];
        let (status, plan, failure) = &plans[&(i, m)];
        let mut cell = Cell {
            index: k,
            key: key_of(k),
            instance: l.name.clone(),
            instance_hash: l.hash.clone(),
            profiles_hash: l.profiles_hash.clone(),
            method: methods[m].0.clone(),
            objective: objective_name.clone(),
            status: status.clone(),
            gpus_used: 0,
            scheduler: scheds[s].0.clone(),
            load,
            seed,
            duration_s: spec.duration_s,
            mode: mode_name.clone(),
            arrival: spec.workload.arrival.0.clone(),
            noise: spec.workload.noise.0.clone(),
            query_batch: spec.workload.query_batch.as_ref().map(|q| q.0.clone()),
            requests: 0,
            slo_attainment: None,
            throughput_rps: None,
            goodput_rps: None,
            latency_mean_ms: None,
            latency_p99_ms: None,
            failure: failure.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        if let Some(plan) = plan {
            let workload = WorkloadOptions {
                arrival: spec.workload.arrival.1.clone(),
                batch: spec.workload.query_batch.as_ref().map(|q| q.1.clone()),
            };
            let setup = setup_with(env, plan, &l.instance, &l.path, &workload)?;
            let config = SimConfig {
                stop: Stop::Duration {
                    ns: (spec.duration_s * 1e9).round() as u64,
                    drain: false,
                },
                seed,
                load,
                mode,
                noise: spec.workload.noise.1,
                ..SimConfig::default()
            };
            let mut sched = make_scheduler(scheds[s].1, 1.0, 1.0)?;
            let r = simulate(
                &setup,
                &config,
                sched.as_mut(),
                &mut migsched_sim::NoObserver,
            )?;
            cell.gpus_used = u64::from(plan.gpus_used);
            let m = &r.metrics.overall;
            cell.requests = m.requests;
            cell.slo_attainment = m.slo_attainment;
            cell.throughput_rps = m.throughput_rps;
            cell.goodput_rps = m.goodput_rps;
            cell.latency_mean_ms = m.latency_ms_mean;
            cell.latency_p99_ms = m.latency_ms_p99;
        }
        let text = serde_json::to_string_pretty(&cell)? + "\n";
        write_atomic(&cells_dir.join(format!("{}.json", cell.key)), &text)?;
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!("sweep: [{n}/{}] {}", todo.len(), cell.key);
        Ok(())
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(todo.len().max(1)) {
            scope.spawn(|| {
                loop {
                    if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                        return;
                    }
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&k) = todo.get(j) else {
                        return;
                    };
                    if let Err(e) = run_cell(k) {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let cells = collect(&[out.to_path_buf()])?;
    write_results(out, &cells)?;
    Ok(cells)
}

fn read_cell(path: &Path) -> Option<Cell> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every cell of the directories, by grid index; the same key twice must be the same row.
fn collect(dirs: &[PathBuf]) -> Result<Vec<Cell>> {
    let mut by_key: BTreeMap<String, Cell> = BTreeMap::new();
    for d in dirs {
        let cells_dir = d.join("cells");
        let entries = std::fs::read_dir(&cells_dir).with_context(|| {
            format!(
                "reading '{}': not a sweep output directory",
                cells_dir.display()
            )
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for p in paths {
            let text = read_text(&p, "a sweep cell")?;
            let mut cell: Cell = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a sweep cell", p.display()))?;
            // Cells written before failures were recorded: no figures, a status without a plan.
            if cell.failure.is_none()
                && cell.slo_attainment.is_none()
                && !matches!(cell.status.as_str(), "optimal" | "feasible")
            {
                cell.failure = Some(format!("no plan ({})", cell.status));
            }
            if let Some(prev) = by_key.get(&cell.key) {
                let same = serde_json::to_string(prev)? == serde_json::to_string(&cell)?;
                if !same {
                    bail!(
                        "{}: cell '{}' differs from the same cell in another directory",
                        p.display(),
                        cell.key
                    );
                }
            }
            by_key.insert(cell.key.clone(), cell);
        }
    }
    let mut cells: Vec<Cell> = by_key.into_values().collect();
    cells.sort_by(|a, b| a.index.cmp(&b.index).then(a.key.cmp(&b.key)));
    Ok(cells)
}

fn write_results(out: &Path, cells: &[Cell]) -> Result<()> {
    let s = |f: fn(&Cell) -> String| ColumnData::Str(cells.iter().map(f).collect());
    let u = |f: fn(&Cell) -> u64| ColumnData::U64(cells.iter().map(f).collect());
    let x = |f: fn(&Cell) -> f64| ColumnData::F64(cells.iter().map(f).collect());
    let o = |f: fn(&Cell) -> Option<f64>| ColumnData::OptF64(cells.iter().map(f).collect());
    let columns = [
        ("index", u(|c| c.index as u64)),
        ("instance", s(|c| c.instance.clone())),
        ("method", s(|c| c.method.clone())),
        ("objective", s(|c| c.objective.clone())),
        ("status", s(|c| c.status.clone())),
        ("gpus_used", u(|c| c.gpus_used)),
        ("scheduler", s(|c| c.scheduler.clone())),
        ("load", x(|c| c.load)),
        ("seed", u(|c| c.seed)),
        ("duration_s", x(|c| c.duration_s)),
        ("mode", s(|c| c.mode.clone())),
        ("arrival", s(|c| c.arrival.clone())),
        ("noise", s(|c| c.noise.clone())),
        ("requests", u(|c| c.requests)),
        ("slo_attainment", o(|c| c.slo_attainment)),
        ("throughput_rps", o(|c| c.throughput_rps)),
        ("goodput_rps", o(|c| c.goodput_rps)),
        ("latency_mean_ms", o(|c| c.latency_mean_ms)),
        ("latency_p99_ms", o(|c| c.latency_p99_ms)),
        ("failure", s(|c| c.failure.clone().unwrap_or_default())),
        ("instance_hash", s(|c| c.instance_hash.clone())),
        ("profiles_hash", s(|c| c.profiles_hash.clone())),
        ("version", s(|c| c.version.clone())),
    ];
    write_table(&out.join("results.csv"), &columns)?;
    #[cfg(feature = "parquet")]
    {
        write_table(&out.join("results.parquet"), &columns)?;
        // Over seeds, with polars: one row per (instance, method, scheduler, load).
        let summary = crate::aggregate::columns(&crate::aggregate::over_seeds(cells)?);
        write_table(&out.join("summary.csv"), &summary)?;
        write_table(&out.join("summary.parquet"), &summary)?;
    }
    Ok(())
}

/// Joins the cells of shard directories into `out` (cells and results table); the same cell
/// in several directories must be the same row. Returns the cells in grid order.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Vec<Cell>> {
    let cells = collect(dirs)?;
    if cells.is_empty() {
        bail!("no cells in {} director(ies)", dirs.len());
    }
    let cells_dir = out.join("cells");
    std::fs::create_dir_all(&cells_dir)
        .with_context(|| format!("creating '{}'", cells_dir.display()))?;
    for c in &cells {
        let text = serde_json::to_string_pretty(c)? + "\n";
        write_atomic(&cells_dir.join(format!("{}.json", c.key)), &text)?;
    }
    write_results(out, &cells)?;
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_one_based_slices() {
        assert_eq!(parse_shard("1/4").unwrap(), (0, 4));
        assert_eq!(parse_shard("4/4").unwrap(), (3, 4));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_file_names() {
        assert_eq!(
            cell_key("small", "ilp", "round-robin", 0.5, 3),
            "small__ilp__round-robin__load0.5__seed3"
        );
        assert_eq!(
            cell_key("a b/c", "x", "y", 1.0, 0),
            "a_b_c__x__y__load1__seed0"
        );
    }

    #[test]
    fn fingerprints_differ_for_different_bytes() {
        assert_eq!(fnv1a(b""), "cbf29ce484222325");
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }

    fn cell(key: &str, index: usize, seed: u64, slo: Option<f64>) -> Cell {
        Cell {
            index,
            key: key.into(),
            instance: "small".into(),
            instance_hash: "0".into(),
            profiles_hash: "analytic".into(),
            method: "ilp".into(),
            objective: "min-gpus".into(),
            status: if slo.is_some() {
                "optimal"
            } else {
                "infeasible"
            }
            .into(),
            gpus_used: u64::from(slo.is_some()),
            scheduler: "fifs".into(),
            load: 1.0,
            seed,
            duration_s: 1.0,
            mode: "prebatched".into(),
            arrival: "poisson".into(),
            noise: "none".into(),
            query_batch: None,
            requests: 10,
            slo_attainment: slo,
            throughput_rps: slo.map(|s| 100.0 * s),
            goodput_rps: slo.map(|s| 90.0 * s),
            latency_mean_ms: slo.map(|_| 5.0),
            latency_p99_ms: slo.map(|_| 9.0),
            failure: slo.is_none().then(|| "no plan (infeasible)".to_string()),
            version: "0.1.0".into(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("migsched-lab-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("cells")).unwrap();
        d
    }

    fn put(dir: &Path, c: &Cell) {
        let text = serde_json::to_string_pretty(c).unwrap() + "\n";
        std::fs::write(dir.join("cells").join(format!("{}.json", c.key)), text).unwrap();
    }

    #[test]
    fn specs_parse_names_into_types() {
        let text = "instances = [\"i/small.toml\"]\nmethods = [\"ILP\", \"greedy\"]\n\
                    schedulers = [\"FIFS\", \"round-robin\"]\nloads = [0.5]\nseeds = [1]\n\
                    duration_s = 2.0\nmode = \"dynamic\"\n";
        let spec = Spec::parse(text, Path::new("dir/spec.toml")).unwrap();
        assert_eq!(spec.instances, vec![PathBuf::from("dir/i/small.toml")]);
        assert_eq!(spec.methods, vec![MigMethod::Ilp, MigMethod::Greedy]);
        assert_eq!(
            spec.schedulers,
            vec![SchedulerKind::Fifs, SchedulerKind::RoundRobin]
        );
        assert_eq!(spec.mode, Mode::Dynamic);
        assert_eq!(spec.objective.0, "min-gpus");
    }

    #[test]
    fn spec_errors_name_the_file_and_the_choices() {
        let base = "instances = [\"a.toml\"]\nmethods = [\"ilp\"]\nloads = [1.0]\nseeds = [1]\n\
                    duration_s = 1.0\n";
        let e = |extra: &str| {
            Spec::parse(&format!("{base}{extra}"), Path::new("s.toml"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("schedulers = [\"fast\"]\n"),
            "s.toml: scheduler 'fast' is not one of fifs, round-robin, least-loaded, elsa"
        );
        assert_eq!(
            e("schedulers = [\"elsa\"]\nmode = \"batch\"\n"),
            "s.toml: mode 'batch' is neither 'prebatched' nor 'dynamic'"
        );
        assert_eq!(e("schedulers = []\n"), "s.toml: 'schedulers' is empty");
        let bad = e("schedulers = [\"elsa\"]\narrival = \"bursty\"\n");
        assert!(bad.starts_with("s.toml: arrival: "), "{bad}");
        let bad = e("schedulers = [\"elsa\"]\nnoise = \"lognormal:-1\"\n");
        assert!(bad.starts_with("s.toml: noise: "), "{bad}");
        let bad = e("schedulers = [\"elsa\"]\nquery_batch = \"fixed:0\"\n");
        assert!(bad.starts_with("s.toml: query_batch: "), "{bad}");
    }

    #[test]
    fn loads_and_durations_outside_their_domains_are_refused_with_the_bound() {
        let spec = |loads: &str, duration: &str| {
            let text = format!(
                "instances = [\"a.toml\"]\nmethods = [\"ilp\"]\nschedulers = [\"fifs\"]\n\
                 loads = [{loads}]\nseeds = [1]\nduration_s = {duration}\n"
            );
            Spec::parse(&text, Path::new("s.toml")).map_err(|e| e.to_string())
        };
        assert!(spec("1.0", "1.0").is_ok());
        let e = spec("1e12", "1.0").unwrap_err();
        assert!(
            e.contains("loads: 1000000000000 is not a load factor in (0, 1e6]"),
            "{e}"
        );
        let e = spec("1.0", "1e-12").unwrap_err();
        assert!(
            e.contains("duration_s: 0.000000000001 is not a number of seconds in [0.001, 1e7]"),
            "{e}"
        );
    }

    #[test]
    fn a_spec_sets_the_workload_and_every_cell_records_it() {
        let text = "instances = [\"a.toml\"]\nmethods = [\"greedy\"]\nschedulers = [\"fifs\"]\n\
                    loads = [1.0]\nseeds = [1]\nduration_s = 1.0\narrival = \"gamma:2\"\n\
                    noise = \"lognormal:0.2\"\nquery_batch = \"fixed:4\"\n";
        let spec = Spec::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(spec.workload.arrival.0, "gamma:2");
        assert_eq!(spec.workload.noise.0, "lognormal:0.2");
        assert_eq!(spec.workload.query_batch.as_ref().unwrap().0, "fixed:4");
        assert_ne!(spec.workload.arrival.1, Arrival::Poisson);
        // A cell written before the fields existed reads as Poisson without noise.
        let mut old = serde_json::to_value(cell("x", 0, 1, Some(1.0))).unwrap();
        let o = old.as_object_mut().unwrap();
        o.remove("arrival");
        o.remove("noise");
        let c: Cell = serde_json::from_value(old).unwrap();
        assert_eq!((c.arrival.as_str(), c.noise.as_str()), ("poisson", "none"));
    }

    #[test]
    fn the_grid_is_in_a_fixed_order_and_shards_cover_it_once() {
        let g = grid(2, 2, 2, &[0.5, 1.0], &[1, 2, 3]);
        assert_eq!(g.len(), 2 * 2 * 2 * 2 * 3);
        assert_eq!(g[0], (0, 0, 0, 0.5, 1));
        assert_eq!(g[1], (0, 0, 0, 0.5, 2));
        assert_eq!(g[3], (0, 0, 0, 1.0, 1));
        assert_eq!(g[g.len() - 1], (1, 1, 1, 1.0, 3));
        for n in [1, 3, 7, 100] {
            let mut seen = vec![0; g.len()];
            for i in 0..n {
                for k in (0..g.len()).filter(|&k| in_shard(k, Some((i, n)))) {
                    seen[k] += 1;
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{n} shards");
        }
        assert!((0..g.len()).all(|k| in_shard(k, None)));
    }

    #[test]
    fn failed_cells_stay_in_the_results_with_their_reason() {
        let dir = temp_dir("failed");
        put(&dir, &cell("a", 0, 1, Some(0.9)));
        put(&dir, &cell("b", 1, 2, None));
        // A cell written before failures were recorded: no reason, a status without a plan.
        let mut old = cell("c", 2, 3, None);
        old.failure = None;
        put(&dir, &old);
        let cells = collect(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0].failure, None);
        assert_eq!(cells[1].failure.as_deref(), Some("no plan (infeasible)"));
        assert_eq!(cells[1].slo_attainment, None);
        assert_eq!(cells[2].failure.as_deref(), Some("no plan (infeasible)"));
        write_results(&dir, &cells).unwrap();
        let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.lines().nth(2).unwrap().contains("no plan (infeasible)"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn merging_joins_shards_and_refuses_disagreeing_cells() {
        let (a, b, out) = (temp_dir("ma"), temp_dir("mb"), temp_dir("mout"));
        put(&a, &cell("x", 1, 1, Some(0.5)));
        put(&b, &cell("w", 0, 2, Some(0.7)));
        put(&b, &cell("x", 1, 1, Some(0.5)));
        let cells = merge(&[a.clone(), b.clone()], &out).unwrap();
        let keys: Vec<&str> = cells.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["w", "x"]);
        assert!(out.join("cells").join("w.json").is_file());
        put(&b, &cell("x", 1, 1, Some(0.6)));
        let e = merge(&[a.clone(), b.clone()], &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cell 'x' differs"), "{e}");
        for d in [a, b, out] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
