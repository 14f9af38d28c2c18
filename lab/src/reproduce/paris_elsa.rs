//! `reproduce paris-elsa`: PARIS + ELSA against homogeneous partitions with FIFS and against
//! the ILP's routed plan, on the bundled PARIS-style instances.

use std::path::Path;

use anyhow::{Result, bail};
use migsched_core::{Instance, Plan};
use migsched_out::write_atomic;
use migsched_sim::{ServingMode, SimConfig, SimReport, SimSetup, Stop, simulate};
use migsched_solver::{MigMethod, Objective, SolveOptions, solve};
use serde::{Deserialize, Serialize};

use crate::Env;
use crate::inputs::{ServerEntry, datasets_dir, load_problem, plan_of_servers, setup_of};
use crate::peak::{PeakGoal, PeakStep, peak_search};
use crate::report::markdown;
use crate::report::plot::{BarChart, Legend, LineChart, Series, write_both};
use crate::sched::{SchedulerKind, make_scheduler};
use crate::tables::{ColumnData, write_table};

/// Simulation lengths for one reproduction.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Budget {
    /// Simulated seconds of each peak-search step.
    pub peak_s: f64,
    /// Simulated seconds of the run at load 1.
    pub point_s: f64,
    /// Simulated seconds of each point of the load sweep.
    pub sweep_s: f64,
}

impl Budget {
    /// The lengths of a quick or a full run.
    pub fn new(quick: bool) -> Budget {
        if quick {
            Budget {
                peak_s: 3.0,
                point_s: 6.0,
                sweep_s: 3.0,
            }
        } else {
            Budget {
                peak_s: 20.0,
                point_s: 60.0,
                sweep_s: 20.0,
            }
        }
    }
}

/// A plan compared: PARIS's, the best homogeneous split, or the ILP's routed plan. Written in
/// results as its label (`PARIS`, `homogeneous 1g.10gb (3+4)`, `ILP routing, rho 0.7 (4 GPUs)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Config {
    /// PARIS's heterogeneous partition.
    Paris,
    /// Every GPU split into one profile; instances per model in `split` (the models' order).
    Homogeneous {
        /// The profile of every instance.
        profile: String,
        /// Instances of each model.
        split: Vec<u32>,
    },
    /// The ILP's plan with routing (ρ 0.7).
    IlpRouting {
        /// GPUs it uses.
        gpus: u32,
    },
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Config::Paris => f.write_str("PARIS"),
            Config::Homogeneous { profile, split } => {
                let split: Vec<String> = split.iter().map(u32::to_string).collect();
                write!(f, "homogeneous {profile} ({})", split.join("+"))
            }
            Config::IlpRouting { gpus } => write!(f, "ILP routing, rho 0.7 ({gpus} GPUs)"),
        }
    }
}

impl From<Config> for String {
    fn from(c: Config) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Config {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Config, String> {
        let bad = || format!("'{s}' is not a paris-elsa configuration");
        if s == "PARIS" {
            return Ok(Config::Paris);
        }
        if let Some(rest) = s.strip_prefix("ILP routing, rho 0.7 (") {
            let gpus = rest.strip_suffix(" GPUs)").ok_or_else(bad)?;
            return Ok(Config::IlpRouting {
                gpus: gpus.parse().map_err(|_| bad())?,
            });
        }
        let rest = s.strip_prefix("homogeneous ").ok_or_else(bad)?;
        let (profile, split) = rest.split_once(" (").ok_or_else(bad)?;
        let split = split
            .strip_suffix(')')
            .ok_or_else(bad)?
            .split('+')
            .map(|x| x.parse().map_err(|_| bad()))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Config::Homogeneous {
            profile: profile.to_string(),
            split,
        })
    }
}

/// The scheduler's label in results (`FIFS`, `round robin`, `least loaded`, `ELSA`).
mod sched_label {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::sched::SchedulerKind;

    pub fn label(s: SchedulerKind) -> &'static str {
        match s {
            SchedulerKind::Fifs => "FIFS",
            SchedulerKind::RoundRobin => "round robin",
            SchedulerKind::LeastLoaded => "least loaded",
            SchedulerKind::Elsa => "ELSA",
        }
    }

    pub fn serialize<S: Serializer>(s: &SchedulerKind, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(label(*s))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<SchedulerKind, D::Error> {
        let text = String::deserialize(de)?;
        SchedulerKind::ALL
            .into_iter()
            .find(|k| label(*k) == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown scheduler '{text}'")))
    }
}

/// One configuration measured: a plan served by a scheduler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Instance name (`paris`, `paris-tight`).
    pub instance: String,
    /// The plan.
    pub config: Config,
    /// The scheduler.
    #[serde(with = "sched_label")]
    pub scheduler: SchedulerKind,
    /// GPUs the plan uses.
    pub gpus: u32,
    /// Largest load factor keeping 99% SLO attainment.
    pub peak_load: f64,
    /// SLO attainment at load 1.
    pub slo_attainment_at_1: f64,
    /// p99 latency per model at load 1, ms.
    pub p99_ms_at_1: Vec<(String, f64)>,
}

/// One point of the load sweep of a configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Instance name.
    pub instance: String,
    /// The plan.
    pub config: Config,
    /// The scheduler.
    #[serde(with = "sched_label")]
    pub scheduler: SchedulerKind,
    /// Load factor.
    pub load: f64,
    /// SLO attainment there.
    pub slo_attainment: f64,
    /// p99 latency over all models, ms.
    pub p99_ms: f64,
}

fn sim_config(seconds: f64, seed: u64, load: f64) -> SimConfig {
    SimConfig {
        stop: Stop::Duration {
            ns: (seconds * 1e9) as u64,
            drain: false,
        },
        seed,
        load,
        mode: ServingMode::Prebatched,
        ..SimConfig::default()
    }
}

fn peak(
    setup: &SimSetup,
    sched: SchedulerKind,
    seconds: f64,
    seed: u64,
) -> Result<(f64, Vec<PeakStep>)> {
    let mut steps = Vec::new();
    let make = || make_scheduler(sched, 1.0, 1.0);
    let best = peak_search(
        setup,
        &sim_config(seconds, seed, 1.0),
        &make,
        PeakGoal {
            target: 0.99,
            tolerance: 0.02,
            max_load: 64.0,
        },
        &mut steps,
        &mut |_| {},
    )?;
    Ok((best.map_or(0.0, |b| b.0), steps))
}

fn run_at(
    setup: &SimSetup,
    sched: SchedulerKind,
    seconds: f64,
    seed: u64,
    load: f64,
) -> Result<SimReport> {
    let mut s = make_scheduler(sched, 1.0, 1.0)?;
    Ok(simulate(
        setup,
        &sim_config(seconds, seed, load),
        s.as_mut(),
        &mut migsched_sim::NoObserver,
    )?)
}

/// The best homogeneous split of `gpus` GPUs under FIFS: every GPU split into one profile
/// class, its instances divided among the models; every class and every division into
/// positive parts is tried (`quick`: the divisions within one instance of proportional to
/// demand), by peak load.
fn best_homogeneous(
    env: &Env,
    instance: &Instance,
    path: &Path,
    gpus: u32,
    budget: Budget,
    seed: u64,
    quick: bool,
) -> Result<Option<(Config, Plan, SimSetup, f64)>> {
    let gpu = env.gpu(&instance.gpus[0].gpu)?;
    let mut best: Option<(Config, Plan, SimSetup, f64)> = None;
    let mut classes: Vec<(u8, String)> = Vec::new();
    for p in gpu.profiles().iter().filter(|p| !p.is_variant()) {
        if !classes.iter().any(|c| c.0 == p.compute_slices()) {
            // The class's profile with the fewest memory slices (1g.10gb rather than 1g.20gb).
            let best_of_class = gpu
                .profiles()
                .iter()
                .filter(|q| q.compute_slices() == p.compute_slices() && !q.is_variant())
                .min_by_key(|q| q.memory_slices())
                .expect("the profile itself");
            classes.push((p.compute_slices(), best_of_class.name().to_string()));
        }
    }
    let m = instance.models.len();
    for (_, profile) in classes {
        let per_gpu = migsched_core::enumerate_layouts(
            &gpu,
            &migsched_core::EnumerateOptions {
                profiles: Some(vec![gpu.profile_by_name(&profile)?]),
                maximal: true,
                ..Default::default()
            },
        )
        .iter()
        .map(|l| l.placements().len() as u32)
        .max()
        .unwrap_or(0);
        let slots = per_gpu * gpus;
        if slots < m as u32 {
            continue;
        }
        for split in splits(slots, m, instance, quick) {
            let servers: Vec<ServerEntry> = instance
                .models
                .iter()
                .zip(&split)
                .map(|(model, &count)| ServerEntry {
                    gpu: gpu.id().to_string(),
                    profile: profile.clone(),
                    model: model.name.clone(),
                    count,
                    procs: 1,
                    max_batch: 1,
                })
                .collect();
            let plan = plan_of_servers(env, &servers, "homogeneous split", instance)?;
            let setup = setup_of(env, &plan, instance, path)?;
            let (p, _) = peak(&setup, SchedulerKind::Fifs, budget.peak_s, seed)?;
            let label = Config::Homogeneous {
                profile: profile.clone(),
                split: split.clone(),
            };
            if best.as_ref().is_none_or(|b| p > b.3) {
                best = Some((label, plan, setup, p));
            }
        }
    }
    Ok(best)
}

/// Divisions of `slots` instances among `m` models, each at least one: every one for two
/// models (or, when quick, those within one of proportional to the rates); for more models
/// proportional to the rates and its one-instance moves.
fn splits(slots: u32, m: usize, instance: &Instance, quick: bool) -> Vec<Vec<u32>> {
    let total: f64 = instance.models.iter().map(|x| x.rate_rps).sum();
    let prop: Vec<u32> = instance
        .models
        .iter()
        .map(|x| ((x.rate_rps / total) * f64::from(slots)).round().max(1.0) as u32)
        .collect();
    let fix = |mut v: Vec<u32>| -> Option<Vec<u32>> {
        let sum: u32 = v.iter().sum();
        if sum > slots {
            let k = v
                .iter()
                .enumerate()
                .max_by_key(|(_, x)| **x)
                .map(|(i, _)| i)?;
            v[k] = v[k].checked_sub(sum - slots)?;
        } else {
            v[0] += slots - sum;
        }
        v.iter().all(|&x| x >= 1).then_some(v)
    };
    let mut out: Vec<Vec<u32>> = Vec::new();
    if m == 2 && !quick {
        out.extend((1..slots).map(|a| vec![a, slots - a]));
    } else {
        if let Some(v) = fix(prop.clone()) {
            out.push(v);
        }
        for i in 0..m {
            for j in 0..m {
                if i != j && prop[j] > 1 {
                    let mut v = prop.clone();
                    v[i] += 1;
                    v[j] -= 1;
                    if let Some(v) = fix(v) {
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                }
            }
        }
    }
    out
}

/// The configurations the summary and the peak-load chart single out.
#[derive(Debug, Clone, Copy)]
enum Kind {
    ParisElsa,
    ParisFifs,
    HomogeneousFifs,
    IlpElsa,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::ParisElsa => "PARIS + ELSA",
            Kind::ParisFifs => "PARIS + FIFS",
            Kind::HomogeneousFifs => "best homogeneous + FIFS",
            Kind::IlpElsa => "ILP routing + ELSA",
        }
    }
    fn matches(self, r: &Row) -> bool {
        match self {
            Kind::ParisElsa => r.config == Config::Paris && r.scheduler == SchedulerKind::Elsa,
            Kind::ParisFifs => r.config == Config::Paris && r.scheduler == SchedulerKind::Fifs,
            Kind::HomogeneousFifs => {
                matches!(r.config, Config::Homogeneous { .. }) && r.scheduler == SchedulerKind::Fifs
            }
            Kind::IlpElsa => matches!(r.config, Config::IlpRouting { .. }),
        }
    }
    /// The peak load of this configuration on an instance (NaN when absent).
    fn peak(self, rows: &[Row], instance: &str) -> f64 {
        rows.iter()
            .find(|r| r.instance == instance && self.matches(r))
            .map_or(f64::NAN, |r| r.peak_load)
    }
}

/// Runs `reproduce paris-elsa` into `out`; returns the summary.
pub fn reproduce(env: &Env, out: &Path, quick: bool, seed: u64) -> Result<String> {
    let budget = Budget::new(quick);
    let dir = datasets_dir();
    let mut rows: Vec<Row> = Vec::new();
    let mut sweep: Vec<SweepPoint> = Vec::new();
    let loads: Vec<f64> = if quick {
        vec![0.5, 1.0, 1.5, 2.0]
    } else {
        vec![0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5]
    };
    for name in ["paris", "paris-tight"] {
        let path = dir.join("instances").join(format!("{name}.toml"));
        if !path.is_file() {
            bail!(
                "'{}' is missing: run from the repository or set MIGSCHED_DATASETS",
                path.display()
            );
        }
        let (instance, problem) = load_problem(env, &path)?;
        eprintln!("{name}: planning...");
        let heur = solve(
            &problem,
            MigMethod::Paris,
            Objective::Paris,
            &SolveOptions::default(),
        );
        let ilp = solve(
            &problem,
            MigMethod::Ilp,
            Objective::Paris,
            &SolveOptions::default(),
        );
        let (Some(paris_plan), Some(ilp_plan)) = (heur.plan, ilp.plan) else {
            bail!(
                "{name}: PARIS or the ILP found no plan ({:?} / {:?})",
                heur.reason,
                ilp.reason
            );
        };
        let gpus = paris_plan.gpus_used;
        eprintln!("{name}: searching the best homogeneous split of {gpus} GPUs...");
        let homog = best_homogeneous(env, &instance, &path, gpus, budget, seed, quick)?;
        let mut configs: Vec<(Config, Plan, SimSetup, SchedulerKind)> = Vec::new();
        let paris_setup = setup_of(env, &paris_plan, &instance, &path)?;
        configs.push((
            Config::Paris,
            paris_plan.clone(),
            paris_setup.clone(),
            SchedulerKind::Elsa,
        ));
        configs.push((
            Config::Paris,
            paris_plan.clone(),
            paris_setup,
            SchedulerKind::Fifs,
        ));
        if let Some((label, plan, setup, _)) = homog {
            configs.push((
                label.clone(),
                plan.clone(),
                setup.clone(),
                SchedulerKind::Fifs,
            ));
            configs.push((label, plan, setup, SchedulerKind::Elsa));
        }
        let ilp_setup = setup_of(env, &ilp_plan, &instance, &path)?;
        configs.push((
            Config::IlpRouting {
                gpus: ilp_plan.gpus_used,
            },
            ilp_plan.clone(),
            ilp_setup,
            SchedulerKind::Elsa,
        ));
        for (label, plan, setup, sched) in &configs {
            eprintln!("{name}: {label} with {}...", sched_label::label(*sched));
            let (peak_load, _) = peak(setup, *sched, budget.peak_s, seed)?;
            let r = run_at(setup, *sched, budget.point_s, seed, 1.0)?;
            rows.push(Row {
                instance: name.into(),
                config: label.clone(),
                scheduler: *sched,
                gpus: plan.gpus_used,
                peak_load,
                slo_attainment_at_1: r.slo_attainment,
                p99_ms_at_1: r
                    .per_model
                    .iter()
                    .map(|m| (m.model.clone(), m.latency_ms.p99))
                    .collect(),
            });
            for &load in &loads {
                let r = run_at(setup, *sched, budget.sweep_s, seed, load)?;
                sweep.push(SweepPoint {
                    instance: name.into(),
                    config: label.clone(),
                    scheduler: *sched,
                    load,
                    slo_attainment: r.slo_attainment,
                    p99_ms: r.latency_ms.p99,
                });
            }
        }
    }
    let results = ParisElsaResults {
        target: "paris-elsa".into(),
        quick,
        seed,
        budget,
        rows,
        sweep,
    };
    let json = serde_json::to_string_pretty(&results)?;
    write_atomic(&out.join("results.json"), &(json + "\n"))?;
    render(out, &results)
}

/// Everything `paris-elsa` measured: `results.json`, from which `migsched report` renders the
/// tables, plots and summary again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParisElsaResults {
    /// `paris-elsa`.
    pub target: String,
    /// Whether the run was quick.
    pub quick: bool,
    /// Seed of every simulation.
    pub seed: u64,
    /// Simulation lengths.
    pub budget: Budget,
    /// Every configuration on every instance.
    pub rows: Vec<Row>,
    /// The load sweep of every configuration.
    pub sweep: Vec<SweepPoint>,
}

/// Writes the tables and plots of `paris-elsa` results into `out`; returns the summary.
pub fn render(out: &Path, results: &ParisElsaResults) -> Result<String> {
    let (rows, sweep, quick, seed, budget) = (
        &results.rows,
        &results.sweep,
        results.quick,
        results.seed,
        results.budget,
    );
    // Raw results.
    for ext in ["csv", "parquet"] {
        write_table(
            &out.join(format!("results.{ext}")),
            &[
                (
                    "instance",
                    ColumnData::Str(rows.iter().map(|r| r.instance.clone()).collect()),
                ),
                (
                    "config",
                    ColumnData::Str(rows.iter().map(|r| r.config.to_string()).collect()),
                ),
                (
                    "scheduler",
                    ColumnData::Str(
                        rows.iter()
                            .map(|r| sched_label::label(r.scheduler).to_string())
                            .collect(),
                    ),
                ),
                (
                    "gpus",
                    ColumnData::U64(rows.iter().map(|r| u64::from(r.gpus)).collect()),
                ),
                (
                    "peak_load",
                    ColumnData::F64(rows.iter().map(|r| r.peak_load).collect()),
                ),
                (
                    "slo_attainment_at_1",
                    ColumnData::F64(rows.iter().map(|r| r.slo_attainment_at_1).collect()),
                ),
                (
                    "p99_ms_at_1",
                    ColumnData::Str(
                        rows.iter()
                            .map(|r| {
                                r.p99_ms_at_1
                                    .iter()
                                    .map(|(m, v)| format!("{m}={v:.2}"))
                                    .collect::<Vec<_>>()
                                    .join(";")
                            })
                            .collect(),
                    ),
                ),
            ],
        )?;
        write_table(
            &out.join(format!("sweep.{ext}")),
            &[
                (
                    "instance",
                    ColumnData::Str(sweep.iter().map(|r| r.instance.clone()).collect()),
                ),
                (
                    "config",
                    ColumnData::Str(sweep.iter().map(|r| r.config.to_string()).collect()),
                ),
                (
                    "scheduler",
                    ColumnData::Str(
                        sweep
                            .iter()
                            .map(|r| sched_label::label(r.scheduler).to_string())
                            .collect(),
                    ),
                ),
                (
                    "load",
                    ColumnData::F64(sweep.iter().map(|r| r.load).collect()),
                ),
                (
                    "slo_attainment",
                    ColumnData::F64(sweep.iter().map(|r| r.slo_attainment).collect()),
                ),
                (
                    "p99_ms",
                    ColumnData::F64(sweep.iter().map(|r| r.p99_ms).collect()),
                ),
            ],
        )?;
    }
    // Plots.
    for name in ["paris", "paris-tight"] {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.instance == name).collect();
        let series: Vec<Series> = mine
            .iter()
            .map(|r| Series {
                name: format!("{} / {}", r.config, sched_label::label(r.scheduler)),
                points: sweep
                    .iter()
                    .filter(|s| {
                        s.instance == name && s.config == r.config && s.scheduler == r.scheduler
                    })
                    .map(|s| (s.load, 100.0 * s.slo_attainment))
                    .collect(),
            })
            .collect();
        write_both(
            &LineChart {
                title: format!("SLO attainment vs load ({name})"),
                x_label: "load factor".into(),
                y_label: "SLO attainment (%)".into(),
                series,
                log_x: false,
                log_y: false,
                legend: Legend::LowerLeft,
            },
            out,
            &format!("attainment-{name}"),
        )?;
        let p99: Vec<Series> = mine
            .iter()
            .map(|r| Series {
                name: format!("{} / {}", r.config, sched_label::label(r.scheduler)),
                points: sweep
                    .iter()
                    .filter(|s| {
                        s.instance == name && s.config == r.config && s.scheduler == r.scheduler
                    })
                    .map(|s| (s.load, s.p99_ms))
                    .collect(),
            })
            .collect();
        write_both(
            &LineChart {
                title: format!("p99 latency vs load ({name})"),
                x_label: "load factor".into(),
                y_label: "p99 latency (ms, log)".into(),
                series: p99,
                log_x: false,
                log_y: true,
                legend: Legend::UpperLeft,
            },
            out,
            &format!("p99-{name}"),
        )?;
    }
    let cats: Vec<String> = ["paris", "paris-tight"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let kinds = [
        Kind::ParisElsa,
        Kind::ParisFifs,
        Kind::HomogeneousFifs,
        Kind::IlpElsa,
    ];
    let groups: Vec<(String, Vec<f64>)> = kinds
        .iter()
        .map(|k| {
            (
                k.label().to_string(),
                cats.iter().map(|c| k.peak(rows, c)).collect(),
            )
        })
        .collect();
    write_both(
        &BarChart {
            title: "Peak load at 99% SLO attainment".into(),
            y_label: "load factor".into(),
            categories: cats,
            groups,
        },
        out,
        "peak-load",
    )?;

    // Summary.
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("`{}`", r.instance),
                r.config.to_string(),
                sched_label::label(r.scheduler).to_string(),
                r.gpus.to_string(),
                format!("{:.2}", r.peak_load),
                format!("{:.2}%", 100.0 * r.slo_attainment_at_1),
                r.p99_ms_at_1
                    .iter()
                    .map(|(_, v)| format!("{v:.1}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
            ]
        })
        .collect();
    let mut s = String::new();
    s.push_str("# PARIS + ELSA against homogeneous partitions and the ILP plan\n\n");
    s.push_str(&format!(
        "Bundled instances `paris` and `paris-tight` (ResNet-50 and BERT-base, queries of 1 to 32 samples, \
         Poisson arrivals), bundled analytic A100-80GB profiles; seed {seed}{}. Peak load: the largest load \
         factor keeping 99% SLO attainment (bisection, {} s runs); at load 1: {} s runs. The homogeneous \
         configuration is the best of every profile class and division of the PARIS plan's GPUs among the \
         models, under FIFS.\n\n",
        if quick { ", quick mode (short runs: numbers are noisier)" } else { "" },
        budget.peak_s,
        budget.point_s
    ));
    s.push_str(&markdown::table(
        &[
            "instance",
            "plan",
            "scheduler",
            "GPUs",
            "peak load",
            "SLO met at load 1",
            "p99 ms at load 1 (per model)",
        ],
        &table_rows,
    ));
    let gain = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:+.0}%", 100.0 * (a / b - 1.0))
        } else {
            "n/a".into()
        }
    };
    let pe = |i: &str| Kind::ParisElsa.peak(rows, i);
    let pf = |i: &str| Kind::ParisFifs.peak(rows, i);
    let hf = |i: &str| Kind::HomogeneousFifs.peak(rows, i);
    s.push_str(&format!(
        "\nHeadlines: on `paris-tight`, PARIS + ELSA vs the best homogeneous split with FIFS: {} peak load; \
         ELSA vs FIFS on the PARIS plan: {}. On `paris`: {} and {}.\n\n",
        gain(pe("paris-tight"), hf("paris-tight")),
        gain(pe("paris-tight"), pf("paris-tight")),
        gain(pe("paris"), hf("paris")),
        gain(pe("paris"), pf("paris"))
    ));
    s.push_str(
        "Published: the PARIS + ELSA paper's abstract (the seed available here) reports no figures to set \
         beside these; it claims high utilization with low latency on heterogeneous partitions, which holds \
         here only when small partitions cannot serve large queries within the SLO.\n\n\
         Files: `results.csv`/`.parquet` (this table), `sweep.csv`/`.parquet` (SLO attainment and p99 across \
         loads), `attainment-<instance>` and `p99-<instance>` (`.svg`/`.png`), `peak-load.svg`/`.png`, \
         `results.json`.\n",
    );
    Ok(s)
}
