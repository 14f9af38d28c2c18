//! The inputs every experiment reads: the catalog in effect, instance files, problems, plans
//! (JSON or a TOML list of servers) and simulation setups.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use migsched_core::{Catalog, GpuType, Instance, Plan, ProfileCounts, place};
use migsched_out::read_text;
use migsched_sim::{SimSetup, WorkloadOptions};
use migsched_solver::Problem;

/// State every command may need: the catalog (built-in plus an extra catalog file).
pub struct Env {
    /// The catalog in effect.
    pub catalog: Catalog,
}

impl Env {
    /// The built-in catalog, extended by the catalog file `extra` (TOML) when given.
    pub fn load(extra: Option<&Path>) -> Result<Env> {
        let builtin = Catalog::builtin().clone();
        let catalog = match extra {
            None => builtin,
            Some(path) => {
                let text = read_text(path, "catalog")?;
                let origin = path.display().to_string();
                let extra = Catalog::from_toml_str(&text, &origin)?;
                builtin.extended(extra, &origin)?
            }
        };
        Ok(Env { catalog })
    }

    /// Resolves a GPU name.
    pub fn gpu(&self, name: &str) -> Result<Arc<GpuType>> {
        Ok(self.catalog.gpu(name).cloned()?)
    }
}

/// The bundled datasets: `MIGSCHED_DATASETS`, else `./datasets`, else the source tree's.
pub fn datasets_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MIGSCHED_DATASETS") {
        return PathBuf::from(d);
    }
    let here = PathBuf::from("datasets");
    if here.join("instances").is_dir() {
        return here;
    }
    // The workspace root, above this crate.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.parent().unwrap_or(root).join("datasets")
}

/// Reads an instance and its profile tables and builds the solver's problem.
pub fn load_problem(env: &Env, path: &Path) -> Result<(Instance, Problem)> {
    let instance = load_instance(&env.catalog, path)?;
    let table = crate::profiles::for_instance(env, &instance, path)?;
    let problem = Problem::new(&env.catalog, &instance, &table)?;
    Ok((instance, problem))
}

/// Reads and validates an instance file.
pub fn load_instance(catalog: &Catalog, path: &Path) -> Result<Instance> {
    let text = read_text(path, "instance")?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("instance");
    Ok(Instance::from_toml_str(
        catalog,
        &text,
        &path.display().to_string(),
        stem,
    )?)
}

/// Reads a plan: JSON from `solve -o`, or a TOML list of servers packed onto GPUs.
pub fn load_plan(env: &Env, path: &Path, instance: &Instance) -> Result<Plan> {
    let text = read_text(path, "plan")?;
    if path.extension().and_then(|e| e.to_str()) == Some("toml") {
        return plan_from_servers(env, &text, path, instance);
    }
    Ok(Plan::from_json(&text, &path.display().to_string())?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerList {
    servers: Vec<ServerEntry>,
}

/// Instances of one profile serving one model, in a TOML list of `[[servers]]`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// GPU type.
    pub gpu: String,
    /// MIG profile.
    pub profile: String,
    /// Model served.
    pub model: String,
    /// How many such instances.
    #[serde(default = "one")]
    pub count: u32,
    /// MPS processes per instance.
    #[serde(default = "one")]
    pub procs: u32,
    /// Largest batch per slot.
    #[serde(default = "one")]
    pub max_batch: u32,
}

fn one() -> u32 {
    1
}

/// The most instances a `[[servers]]` list may ask for: packing is first-fit over the GPUs
/// opened so far, so the work grows with the square of the count.
pub const MAX_SERVER_INSTANCES: u64 = 4096;

/// An explicit list of servers as a plan: each entry's instances packed first-fit onto GPUs
/// of its type (legal placements found by the layout engine).
fn plan_from_servers(env: &Env, text: &str, path: &Path, instance: &Instance) -> Result<Plan> {
    let list: ServerList = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
    plan_of_servers(env, &list.servers, &path.display().to_string(), instance)
}

/// A plan of explicit servers: each entry's instances packed first-fit onto GPUs of its type
/// (legal placements found by the layout engine). `origin` names the source in errors.
pub fn plan_of_servers(
    env: &Env,
    servers: &[ServerEntry],
    origin: &str,
    instance: &Instance,
) -> Result<Plan> {
    let list = ServerList {
        servers: servers.to_vec(),
    };
    let path = Path::new(origin);
    if list.servers.is_empty() {
        bail!("{}: no [[servers]]", path.display());
    }
    let total: u64 = list.servers.iter().map(|s| u64::from(s.count)).sum();
    if total > MAX_SERVER_INSTANCES {
        bail!(
            "{}: the [[servers]] ask for {total} instances; at most {MAX_SERVER_INSTANCES} are \
             packed (write a plan with `solve -o` for larger fleets)",
            path.display()
        );
    }
    struct Gpu {
        gpu: Arc<GpuType>,
        items: Vec<(migsched_core::ProfileIndex, usize)>,
    }
    let mut gpus: Vec<Gpu> = Vec::new();
    for (k, s) in list.servers.iter().enumerate() {
        let gpu = env
            .gpu(&s.gpu)
            .with_context(|| format!("{}: servers[{k}].gpu", path.display()))?;
        let p = gpu
            .profile_by_name(&s.profile)
            .with_context(|| format!("{}: servers[{k}].profile", path.display()))?;
        if instance.model(&s.model.to_ascii_lowercase()).is_none() {
            bail!(
                "{}: servers[{k}].model: '{}' is not a model of the instance",
                path.display(),
                s.model
            );
        }
        if !(1..=48).contains(&s.procs) || !(1..=65_536).contains(&s.max_batch) {
            bail!(
                "{}: servers[{k}]: procs {} and max_batch {} must be in 1..=48 and 1..=65536",
                path.display(),
                s.procs,
                s.max_batch
            );
        }
        for _ in 0..s.count {
            let fits = |g: &Gpu| {
                let mut c = ProfileCounts::new();
                for &(q, _) in &g.items {
                    c.add(q, 1);
                }
                c.add(p, 1);
                g.gpu.id() == gpu.id() && place(&g.gpu, &[], &c, instance.serving.driver).is_ok()
            };
            match gpus.iter_mut().find(|g| fits(g)) {
                Some(g) => g.items.push((p, k)),
                None => gpus.push(Gpu {
                    gpu: gpu.clone(),
                    items: vec![(p, k)],
                }),
            }
        }
    }
    let mut plan_gpus = Vec::new();
    for (index, g) in gpus.iter().enumerate() {
        let mut counts = ProfileCounts::new();
        for &(q, _) in &g.items {
            counts.add(q, 1);
        }
        let layout = place(&g.gpu, &[], &counts, instance.serving.driver)?;
        let mut left = g.items.clone();
        let instances = layout
            .instances()
            .map(|(pl, prof)| {
                let k = left
                    .iter()
                    .position(|&(q, _)| q == pl.profile)
                    .map(|i| left.remove(i).1)
                    .expect("placed from the items");
                let s = &list.servers[k];
                migsched_core::PlanInstance {
                    profile: prof.name().to_string(),
                    start: pl.start,
                    model: Some(s.model.to_ascii_lowercase()),
                    batch: Some(s.max_batch),
                    procs: Some(s.procs),
                    latency_ms: None,
                    throughput_rps: None,
                }
            })
            .collect();
        plan_gpus.push(migsched_core::PlanGpu::Mig(migsched_core::MigGpu {
            index: index as u32,
            gpu: g.gpu.id().to_string(),
            layout: layout.text(),
            instances,
        }));
    }
    Ok(Plan {
        format: migsched_core::PLAN_FORMAT.to_string(),
        instance: instance.name.clone(),
        method: migsched_core::Method::Imported,
        objective: None,
        gpus_used: plan_gpus.len() as u32,
        gpus: plan_gpus,
        models: Vec::new(),
        cost: 0.0,
    })
}

/// The simulation setup of a plan on an instance (Poisson arrivals, the instance's batches).
pub fn setup_of(env: &Env, plan: &Plan, instance: &Instance, path: &Path) -> Result<SimSetup> {
    let workload = WorkloadOptions {
        arrival: migsched_sim::Arrival::Poisson,
        batch: None,
    };
    setup_with(env, plan, instance, path, &workload)
}

/// The simulation setup of a plan on an instance under a workload.
pub fn setup_with(
    env: &Env,
    plan: &Plan,
    instance: &Instance,
    path: &Path,
    workload: &WorkloadOptions,
) -> Result<SimSetup> {
    let table = crate::profiles::for_instance(env, instance, path)?;
    Ok(SimSetup::from_plan(
        &env.catalog,
        plan,
        instance,
        &table,
        workload,
    )?)
}
