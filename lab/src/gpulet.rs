//! gpulet plans in experiments: problems from instance files, plans with a gpulet method, the
//! simulator's configuration of a plan, runs with autoscaling, traces.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migsched_core::{Instance, Plan, PlanGpu, TraceEvent, TraceHeader};
use migsched_out::read_text;
use migsched_perf::gpulet::GpuletParams;
use migsched_perf::gpulet::interference::{Coefficients, parse};
use migsched_sim::Budget;
use migsched_sim::gpulet::{
    Autoscale, BatchCost, GpuletReport, GpuletSimOptions, RateProfile, SimGpu, SimGpulet, SimModel,
    SimTask, try_simulate_gpulets,
};
use migsched_solver::gpulet::{GpuletOptions, GpuletProblem};
use migsched_solver::{GpuletMethod, Solution, solve_gpulet};

use crate::Env;
use crate::inputs::load_instance;

/// Reads an instance and builds its gpulet problem (analytic curves of its zoo models), with
/// the interference coefficients of `interference` (a TOML file of sets) for the instance's
/// GPU type, or the shipped set when `None`.
pub fn load_gpulet_problem(
    env: &Env,
    path: &Path,
    interference: Option<&Path>,
) -> Result<(Instance, GpuletProblem)> {
    let instance = load_instance(&env.catalog, path)?;
    let coefficients = match (interference, instance.gpus.as_slice()) {
        (Some(file), [pool]) => Some(load_set(file, &pool.gpu)?),
        _ => None,
    };
    let problem = GpuletProblem::new(
        &env.catalog,
        &instance,
        &GpuletParams::default(),
        coefficients,
    )
    .with_context(|| format!("{}: gpulet problem", path.display()))?;
    Ok((instance, problem))
}

/// Plans with a gpulet method (60 s limit for the program).
pub fn solve(problem: &GpuletProblem, method: GpuletMethod) -> Solution {
    solve_gpulet(problem, method, &GpuletOptions::default(), 60.0)
}

/// The simulator's configuration of a gpulet plan, costs from the problem's curves.
pub fn sim_config(problem: &GpuletProblem, plan: &Plan) -> Result<Vec<SimGpu>> {
    let mut gpus: Vec<SimGpu> = Vec::new();
    for g in &plan.gpus {
        let PlanGpu::Mps(g) = g else {
            bail!("plan GPU {} is a MIG layout, not an MPS split", g.index());
        };
        let mut gpulets = Vec::new();
        for l in &g.gpulets {
            let size = problem.size_index(l.percent).with_context(|| {
                format!(
                    "plan GPU {}: gpulet size {} is not one of {:?}",
                    g.index, l.percent, problem.sizes
                )
            })?;
            let mut tasks = Vec::new();
            for t in &l.tasks {
                let name = &t.model;
                let mi = problem
                    .models
                    .iter()
                    .position(|m| &m.name == name)
                    .with_context(|| {
                        format!(
                            "plan GPU {}: model '{name}' is not in the instance",
                            g.index
                        )
                    })?;
                let batch = t.batch.max(1);
                let costs = (1..=batch)
                    .map(|b| {
                        problem.models[mi].point(size, b).map(|p| BatchCost {
                            latency_ms: p.latency_ms,
                            l2: p.l2,
                            dram: p.dram,
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .with_context(|| {
                        format!(
                            "plan GPU {}: {name} batch {batch} on gpulet-{} has no profile (memory or batch limit)",
                            g.index, l.percent
                        )
                    })?;
                tasks.push(SimTask {
                    model: mi,
                    batch,
                    costs,
                });
            }
            gpulets.push(SimGpulet {
                percent: l.percent,
                tasks,
            });
        }
        gpus.push(SimGpu { gpulets });
    }
    Ok(gpus)
}

/// Parses `--rates` (errors name the option).
pub fn parse_rates(s: &str) -> Result<RateProfile> {
    s.parse().map_err(|e| anyhow::anyhow!("--rates {e}"))
}

/// Parses a gpulet method name.
pub fn parse_method(s: &str) -> Result<GpuletMethod> {
    Ok(s.parse()?)
}

/// A trace: header and events.
pub type Trace = (TraceHeader, Vec<TraceEvent>);

/// How one gpulet simulation runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Simulated seconds.
    pub duration_s: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Rates over time.
    pub profile: RateProfile,
    /// Whether the interference slowdown is simulated.
    pub interference: bool,
    /// Autoscaling, and the method it re-plans with.
    pub autoscale: Option<(Autoscale, GpuletMethod)>,
    /// Whether to keep the trace.
    pub trace: bool,
}

impl RunOptions {
    /// A run at constant rates with interference, no autoscaling, no trace.
    pub fn constant(duration_s: f64, seed: u64) -> RunOptions {
        RunOptions {
            duration_s,
            seed,
            profile: RateProfile::Constant,
            interference: true,
            autoscale: None,
            trace: false,
        }
    }
}

/// One simulation of a configuration; autoscaling re-plans with its method.
pub fn run_sim(
    problem: &GpuletProblem,
    initial: Vec<SimGpu>,
    run: RunOptions,
) -> Result<(GpuletReport, Option<Trace>)> {
    let RunOptions {
        duration_s,
        seed,
        profile,
        interference,
        autoscale,
        trace,
    } = run;
    let models: Vec<SimModel> = problem
        .models
        .iter()
        .map(|m| SimModel {
            name: m.name.clone(),
            slo_ms: m.slo_ms,
            rate_rps: m.rate_rps,
        })
        .collect();
    let opts = GpuletSimOptions {
        duration_s,
        seed,
        profile,
        interference: interference.then(|| problem.coefficients.clone()),
        autoscale: autoscale.as_ref().map(|a| a.0.clone()),
        trace,
    };
    let method = autoscale.map(|a| a.1);
    let mut replan = |rates: &[f64]| -> Option<Vec<SimGpu>> {
        let mut p = problem.clone();
        for (m, &r) in p.models.iter_mut().zip(rates) {
            m.rate_rps = r.max(1e-3);
        }
        let s = solve(&p, method?);
        let plan = s.plan?;
        sim_config(&p, &plan).ok()
    };
    Ok(try_simulate_gpulets(
        &models,
        initial,
        &opts,
        &Budget::default(),
        &mut replan,
    )?)
}

/// Coefficient sets from `--interference FILE`: the set for `gpu`, or an error naming the
/// file and the GPU types it has.
pub fn load_set(path: &Path, gpu: &str) -> Result<Coefficients> {
    let text = read_text(path, "interference coefficients")?;
    let sets = parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?;
    let have: Vec<&str> = sets.iter().map(|s| s.gpu.as_str()).collect();
    sets.iter()
        .find(|s| s.gpu == gpu)
        .cloned()
        .with_context(|| {
            format!(
                "{}: no set for GPU '{gpu}' (the file has: {})",
                path.display(),
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            )
        })
}

/// The `simulate` command's options for a gpulet plan.
#[derive(Debug, Clone)]
pub struct PlanSimOptions {
    /// Re-plan every epoch for the observed rates, adding and removing GPUs.
    pub autoscale: bool,
    /// Autoscaling epoch, s.
    pub epoch_s: f64,
    /// Time a reconfigured or added GPU serves nothing, s.
    pub reconfig_delay_s: f64,
    /// Rates over time (`RateProfile`'s text form).
    pub rates: String,
    /// Whether the interference slowdown is simulated.
    pub interference: bool,
    /// The method autoscaling re-plans with.
    pub replan_method: String,
    /// Interference coefficients (TOML sets) instead of the shipped set.
    pub coefficients: Option<PathBuf>,
}

impl PlanSimOptions {
    /// Checks every option, whatever the plan: a value that a gpulet plan would refuse is
    /// refused on a MIG plan too, rather than ignored.
    pub fn validate(&self) -> Result<()> {
        if !(self.epoch_s.is_finite() && (1e-3..=1e7).contains(&self.epoch_s)) {
            bail!(
                "--epoch {} is not a number of seconds in [0.001, 1e7]",
                self.epoch_s
            );
        }
        if !(self.reconfig_delay_s.is_finite() && (0.0..=1e7).contains(&self.reconfig_delay_s)) {
            bail!(
                "--reconfig-delay {} is not a number of seconds in [0, 1e7]",
                self.reconfig_delay_s
            );
        }
        parse_rates(&self.rates)?;
        parse_method(&self.replan_method).map_err(|e| anyhow::anyhow!("--replan-method: {e}"))?;
        Ok(())
    }
}

/// Simulates a gpulet plan of the instance at `instance` for (seconds, load factor, seed);
/// returns the report and, when `trace`, the trace.
pub fn simulate_plan(
    env: &Env,
    instance: &Path,
    plan: &Plan,
    (duration_s, load, seed): (f64, f64, u64),
    options: &PlanSimOptions,
    trace: bool,
) -> Result<(GpuletReport, Option<Trace>)> {
    let (_, problem) = load_gpulet_problem(env, instance, options.coefficients.as_deref())?;
    if !(load.is_finite() && load > 0.0) {
        bail!("--load {load}: must be a positive number");
    }
    if !(duration_s.is_finite() && duration_s > 0.0) {
        bail!("--duration {duration_s}: must be a positive number");
    }
    let problem = problem.scaled(load);
    let initial = sim_config(&problem, plan)?;
    let profile = parse_rates(&options.rates)?;
    let autoscale = if options.autoscale {
        if !(options.epoch_s > 0.0 && options.reconfig_delay_s >= 0.0) {
            bail!("--epoch must be positive and --reconfig-delay non-negative");
        }
        Some((
            Autoscale {
                epoch_s: options.epoch_s,
                reconfig_s: options.reconfig_delay_s,
                ..Autoscale::default()
            },
            parse_method(&options.replan_method)?,
        ))
    } else {
        None
    };
    run_sim(
        &problem,
        initial,
        RunOptions {
            duration_s,
            seed,
            profile,
            interference: options.interference,
            autoscale,
            trace,
        },
    )
}
