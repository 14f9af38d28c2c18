//! Other tools' data as migsched's: instance files from ParvaGPU's SLO scenarios (the
//! `instance import` command and the `parvagpu` reproduction), and plans from ParvaGPU
//! deployments and mig-parted configs (`plan import`), recorded as the files say.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migsched_core::import::parse_scenarios;
use migsched_core::mig_parted::MigPartedConfig;
use migsched_core::{
    GpuPool, Instance, ModelDemand, ProfileSource, ProfileTable, Serving, SloRule,
};
use migsched_out::{Outputs, read_text, write_atomic};
use migsched_verify::{Imported, MigPartedImport, import_mig_parted, import_parvagpu};

use crate::Env;
use crate::inputs::load_instance;
use crate::tables::encode_profile_table;

/// One ParvaGPU scenario to write as an instance file.
#[derive(Debug, Clone)]
pub struct ParvaImport {
    /// ParvaGPU data directory (holding SLO/ and prof_data/).
    pub dir: PathBuf,
    /// Scenario number (1-based row of the SLO files).
    pub scenario: usize,
    /// The instance file to write (TOML).
    pub output: PathBuf,
    /// GPU type of the cluster.
    pub gpu: String,
    /// GPUs available (an upper bound for min-gpus).
    pub gpus: u32,
    /// Most MPS processes per instance; the most in the profile data when `None`.
    pub max_procs: Option<u32>,
    /// An existing profile table for the instance to name instead of importing one.
    pub profiles: Option<PathBuf>,
}

/// ParvaGPU's profile files: stems in byte order (the column order of its SLO files).
fn profile_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let prof = dir.join("prof_data");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&prof)
        .with_context(|| format!("reading '{}' (ParvaGPU's prof_data/)", prof.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("csv"))
        .filter_map(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .map(|s| (s.to_string(), p.clone()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("'{}' holds no <model>.csv files", prof.display());
    }
    Ok(files)
}

/// Writes one ParvaGPU scenario as an instance file (and its profile table unless
/// `args.profiles` names one); returns what was written, in words.
pub fn write_parvagpu_instance(env: &Env, args: &ParvaImport) -> Result<String> {
    let gpu = env.gpu(&args.gpu)?;
    let files = profile_files(&args.dir)?;
    let stems: Vec<&str> = files.iter().map(|(s, _)| s.as_str()).collect();
    let slo = args.dir.join("SLO");
    let latency = read_text(&slo.join("SLO_latency.csv"), "ParvaGPU SLO latencies")?;
    let rates = read_text(&slo.join("SLO_req_rate.csv"), "ParvaGPU request rates")?;
    let scenarios = parse_scenarios(&latency, &rates, &stems)?;
    let Some(scenario) = scenarios.iter().find(|s| s.number == args.scenario) else {
        bail!(
            "--scenario {}: the SLO files hold scenarios 1 to {}",
            args.scenario,
            scenarios.len()
        );
    };
    // The values an instance file accepts, checked here so that the message names the SLO
    // file, not the instance file not yet written (1e-300 ms would print as 0 there).
    for d in &scenario.demands {
        if !(d.slo_ms.is_finite() && (1e-3..=1e7).contains(&d.slo_ms)) {
            bail!(
                "{}: scenario {}, model {}: SLO {} ms is outside [0.001, 1e7] ms",
                slo.join("SLO_latency.csv").display(),
                scenario.number,
                d.model,
                d.slo_ms
            );
        }
        if !(d.rate_rps.is_finite() && (1e-6..=1e9).contains(&d.rate_rps)) {
            bail!(
                "{}: scenario {}, model {}: rate {} req/s is outside [1e-6, 1e9]",
                slo.join("SLO_req_rate.csv").display(),
                scenario.number,
                d.model,
                d.rate_rps
            );
        }
    }
    let mut outputs = Outputs::new();
    outputs.reserve(&args.output)?;

    let out_dir = args
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = args
        .output
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("instance")
        .to_string();
    let (profile_ref, table) = match &args.profiles {
        Some(p) => (relative_to(out_dir, p), None),
        None => {
            let mut raw = Vec::new();
            for (s, path) in &files {
                let text = read_text(path, "ParvaGPU profile")?;
                raw.extend(migsched_core::import::parse_profile_file(
                    s,
                    &text,
                    &path.display().to_string(),
                    &gpu,
                )?);
            }
            let table = ProfileTable::from_raw(
                &env.catalog,
                raw,
                &args.dir.join("prof_data").display().to_string(),
            )?;
            (format!("{stem}.profiles.csv"), Some(table))
        }
    };
    let max_procs = match (args.max_procs, &table) {
        (Some(k), _) => k,
        (None, Some(t)) => t.rows().iter().map(|r| r.key.procs).max().unwrap_or(1),
        (None, None) => 5,
    };
    let instance = Instance {
        name: format!("parvagpu-scenario-{}", scenario.number),
        serving: Serving {
            slo_rule: SloRule::PARVAGPU,
            max_procs,
            driver: Default::default(),
            batches: None,
        },
        profiles: ProfileSource::Files {
            files: vec![profile_ref],
        },
        gpus: vec![GpuPool {
            gpu: gpu.id().to_string(),
            count: args.gpus,
            cost: 1.0,
        }],
        models: scenario
            .demands
            .iter()
            .map(|d| ModelDemand {
                name: d.model.clone(),
                slo_ms: d.slo_ms,
                rate_rps: d.rate_rps,
                batch_distribution: None,
            })
            .collect(),
    };
    let mut text = format!(
        "# ParvaGPU SLO scenario {} imported by migsched {} from {}\n# (ParvaGPU, SC 2024; MIT-licensed data, read in place). ParvaGPU's own setting:\n# SLO rule L < 0.9*SLO/2, up to {max_procs} MPS processes per MIG instance.\n",
        scenario.number,
        env!("CARGO_PKG_VERSION"),
        args.dir.display()
    );
    text.push_str(&instance.to_toml());
    // Check the text reads back before writing anything.
    Instance::from_toml_str(
        &env.catalog,
        &text,
        &args.output.display().to_string(),
        &stem,
    )
    .with_context(|| {
        format!(
            "the instance imported from {} does not read back",
            args.dir.display()
        )
    })?;
    if let Some(t) = &table {
        let path = out_dir.join(format!("{stem}.profiles.csv"));
        outputs.add_bytes(&path, &encode_profile_table(&path, t)?)?;
    }
    outputs.add(&args.output, &text)?;
    outputs.commit()?;
    Ok(format!(
        "wrote {} ({} models, {} x {}){}",
        args.output.display(),
        instance.models.len(),
        args.gpus,
        gpu.id(),
        table
            .map(|t| format!(
                " and {}/{stem}.profiles.csv ({} rows)",
                out_dir.display(),
                t.rows().len()
            ))
            .unwrap_or_default()
    ))
}

/// `path` as the instance file in `dir` should name it: relative when both are relative or
/// `path` is under `dir`, else as given.
fn relative_to(dir: &Path, path: &Path) -> String {
    match path.strip_prefix(dir) {
        Ok(rel) if dir != Path::new(".") => rel.display().to_string(),
        _ if dir == Path::new(".") => path.display().to_string(),
        _ => std::fs::canonicalize(path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string()),
    }
}

/// `plan import mig-parted`: which configuration, on which GPU, how many devices `all` is.
#[derive(Debug, Clone)]
pub struct MigPartedPlanImport {
    /// The configuration to import (needed when the file has several).
    pub config: Option<String>,
    /// GPU type of every entry, instead of the device filters.
    pub gpu: Option<String>,
    /// How many devices `devices: all` stands for.
    pub all_devices: u32,
}

/// Imports a ParvaGPU deployment CSV as a plan of `instance` (recorded as the file says,
/// legal or not), to `output` or stdout.
pub fn import_parvagpu_plan(
    env: &Env,
    file: &Path,
    instance: &Path,
    gpu: Option<&str>,
    output: Option<&Path>,
) -> Result<()> {
    let (instance_path, args_gpu) = (instance, gpu);
    let instance = load_instance(&env.catalog, instance_path)?;
    let gpu = match args_gpu {
        Some(g) => env.gpu(g)?,
        None => match instance.gpus.as_slice() {
            [one] => env.gpu(&one.gpu)?,
            _ => bail!(
                "{}: the instance has {} GPU types; name the deployment's with --gpu",
                instance_path.display(),
                instance.gpus.len()
            ),
        },
    };
    let table = crate::profiles::for_instance(env, &instance, instance_path)
        .with_context(|| format!("the profile table of {}", instance_path.display()))?;
    let origin = file.display().to_string();
    let text = read_text(file, "ParvaGPU deployment")?;
    let imported = import_parvagpu(&text, &origin, &gpu, &instance, &table)?;
    emit(&imported, &origin, output)
}

/// Imports a mig-parted config as a plan (one plan GPU per device entry), to `output` or
/// stdout.
pub fn import_mig_parted_plan(
    env: &Env,
    file: &Path,
    options: &MigPartedPlanImport,
    output: Option<&Path>,
) -> Result<()> {
    let args = options;
    let gpu = args.gpu.as_deref().map(|g| env.gpu(g)).transpose()?;
    let origin = file.display().to_string();
    let text = read_text(file, "mig-parted config")?;
    let config = MigPartedConfig::parse(&text, &origin)?;
    let imported = import_mig_parted(
        &env.catalog,
        &config,
        &origin,
        &MigPartedImport {
            config: args.config.as_deref(),
            gpu: gpu.as_deref(),
            all_devices: args.all_devices,
        },
    )?;
    emit(&imported, &origin, output)
}

/// Writes the plan (file or stdout) and the import's notes (stderr when the plan goes to
/// stdout, so it stays valid JSON).
fn emit(imported: &Imported, origin: &str, output: Option<&Path>) -> Result<()> {
    let json = imported.plan.to_json();
    let instances: usize = imported.plan.mig_gpus().map(|g| g.instances.len()).sum();
    match output {
        Some(path) => {
            write_atomic(path, &json)?;
            outln!(
                "imported {origin}: {} GPUs, {instances} instances -> {}",
                imported.plan.gpus.len(),
                path.display()
            );
            for n in &imported.notes {
                outln!("  note: {n}");
            }
        }
        None => {
            out!("{json}");
            for n in &imported.notes {
                eprintln!("note: {n}");
            }
        }
    }
    Ok(())
}
