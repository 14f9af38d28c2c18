//! Reproduction targets beside the seeds' comparisons: `parvagpu` (ParvaGPU's six SLO
//! scenarios planned exactly) and `scaling` (solver time and simulator speed against size).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use migsched_out::write_atomic;
use migsched_solver::{MigMethod, Objective, SolveOptions, solve};
use serde::{Deserialize, Serialize};

use super::Env;
use super::bench::{SimBenchRow, sim_rows, solver_rows};
use super::instance::{ParvaArgs, write_parvagpu_instance};
use super::solve::load_problem;
use crate::report::markdown;
use crate::report::plot::{BarChart, Legend, LineChart, Series, write_both};
use crate::tables::{ColumnData, write_table};

/// One method on one ParvaGPU scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParvaRow {
    scenario: usize,
    models: usize,
    method: String,
    status: String,
    gpus_used: Option<u32>,
    bound: Option<f64>,
    /// Wall-clock seconds (varies between runs; kept out of the summary and plots).
    solve_seconds: f64,
}

/// Everything `parvagpu` measured (`results.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParvaResults {
    target: String,
    data: String,
    rows: Vec<ParvaRow>,
}

const METHODS: [(MigMethod, &str); 3] = [
    (MigMethod::Ilp, "ILP"),
    (MigMethod::Homogeneous, "homogeneous"),
    (MigMethod::Greedy, "greedy (ParvaGPU-shaped)"),
];

/// ParvaGPU's six scenarios in its own setting: each imported from `data` into
/// `out/scenarios/`, then planned by the ILP and the baselines.
pub fn parvagpu(env: &Env, out: &Path, data: Option<&Path>) -> Result<String> {
    let Some(data) = data else {
        bail!(
            "reproduce parvagpu needs --data DIR: ParvaGPU's data directory (holding SLO/ and \
             prof_data/, e.g. ../shared/datasets/parvagpu-a100-80gb); migsched does not bundle it"
        );
    };
    let scen_dir = out.join("scenarios");
    std::fs::create_dir_all(&scen_dir)?;
    let mut rows = Vec::new();
    let mut profiles: Option<PathBuf> = None;
    for scenario in 1..=6 {
        let path = scen_dir.join(format!("scenario-{scenario}.toml"));
        let args = ParvaArgs {
            dir: data.to_path_buf(),
            scenario,
            output: path.clone(),
            gpu: "a100-80gb".into(),
            gpus: 256,
            max_procs: None,
            profiles: profiles.clone(),
        };
        let message = write_parvagpu_instance(env, &args)?;
        eprintln!("parvagpu: {message}");
        profiles.get_or_insert_with(|| scen_dir.join("scenario-1.profiles.csv"));
        let (instance, problem) = load_problem(env, &path)?;
        for (method, label) in METHODS {
            eprintln!("parvagpu: scenario {scenario}, {label}...");
            let s = solve(
                &problem,
                method,
                Objective::MinGpus,
                &SolveOptions::default(),
            );
            rows.push(ParvaRow {
                scenario,
                models: instance.models.len(),
                method: label.into(),
                status: s.status.name().into(),
                gpus_used: s.gpus_used,
                bound: s.bound,
                solve_seconds: s.solve_seconds,
            });
        }
    }
    let results = ParvaResults {
        target: "parvagpu".into(),
        data: data.display().to_string(),
        rows,
    };
    write_atomic(
        &out.join("results.json"),
        &(serde_json::to_string_pretty(&results)? + "\n"),
    )?;
    render_parvagpu(out, &results)
}

/// Tables, plot and summary of `parvagpu` results.
pub fn render_parvagpu(out: &Path, r: &ParvaResults) -> Result<String> {
    let rows = &r.rows;
    let columns = [
        (
            "scenario",
            ColumnData::U64(rows.iter().map(|x| x.scenario as u64).collect()),
        ),
        (
            "models",
            ColumnData::U64(rows.iter().map(|x| x.models as u64).collect()),
        ),
        (
            "method",
            ColumnData::Str(rows.iter().map(|x| x.method.clone()).collect()),
        ),
        (
            "status",
            ColumnData::Str(rows.iter().map(|x| x.status.clone()).collect()),
        ),
        (
            "gpus_used",
            ColumnData::F64(
                rows.iter()
                    .map(|x| x.gpus_used.map_or(f64::NAN, f64::from))
                    .collect(),
            ),
        ),
        (
            "solve_seconds",
            ColumnData::F64(rows.iter().map(|x| x.solve_seconds).collect()),
        ),
    ];
    write_table(&out.join("results.csv"), &columns)?;
    if cfg!(feature = "parquet") {
        write_table(&out.join("results.parquet"), &columns)?;
    }
    let scenarios: Vec<usize> = {
        let mut v: Vec<usize> = rows.iter().map(|x| x.scenario).collect();
        v.dedup();
        v
    };
    let gpus = |sc: usize, m: &str| {
        rows.iter()
            .find(|x| x.scenario == sc && x.method == m)
            .and_then(|x| x.gpus_used)
    };
    write_both(
        &BarChart {
            title: "GPUs for ParvaGPU's scenarios (A100-80GB)".into(),
            y_label: "GPUs".into(),
            categories: scenarios.iter().map(|s| format!("scenario {s}")).collect(),
            groups: METHODS
                .iter()
                .map(|(_, m)| {
                    (
                        m.to_string(),
                        scenarios
                            .iter()
                            .map(|&s| gpus(s, m).map_or(f64::NAN, f64::from))
                            .collect(),
                    )
                })
                .collect(),
        },
        out,
        "gpus",
    )?;
    let table: Vec<Vec<String>> = scenarios
        .iter()
        .map(|&s| {
            let ilp = rows
                .iter()
                .find(|x| x.scenario == s && x.method == "ILP")
                .expect("the ILP ran on every scenario");
            let opt = ilp.gpus_used;
            let rel = |g: Option<u32>| match (g, opt) {
                (Some(g), Some(o)) if o > 0 => {
                    format!("{g} ({:+.1}%)", 100.0 * (f64::from(g) / f64::from(o) - 1.0))
                }
                (Some(g), _) => g.to_string(),
                (None, _) => "-".into(),
            };
            vec![
                s.to_string(),
                ilp.models.to_string(),
                match opt {
                    Some(g) if ilp.status == "optimal" => format!("{g} (proven optimal)"),
                    Some(g) => format!("{g} ({})", ilp.status),
                    None => ilp.status.clone(),
                },
                rel(gpus(s, "homogeneous")),
                rel(gpus(s, "greedy (ParvaGPU-shaped)")),
            ]
        })
        .collect();
    let mut s = String::new();
    s.push_str("# ParvaGPU's SLO scenarios, planned exactly\n\n");
    s.push_str(
        "ParvaGPU's six A100-80GB scenarios in ParvaGPU's own setting (its measured profiles, read in \
         place and imported into `scenarios/`; SLO rule `L < 0.9·SLO/2`; up to 5 MPS processes per \
         instance). Fewest GPUs meeting every model's rate: migsched's ILP (HiGHS) against the \
         homogeneous and ParvaGPU-shaped greedy baselines.\n\n",
    );
    s.push_str(&markdown::table(
        &[
            "scenario",
            "models",
            "ILP",
            "homogeneous",
            "greedy (ParvaGPU-shaped)",
        ],
        &table,
    ));
    s.push_str(
        "\nThe ILP's counts are lower bounds for any planner on the same profiles and rule. \
         Published: ParvaGPU's paper (SC 2024) is not among the seeds available here, so its GPU \
         counts are not set beside these; the greedy is migsched's ParvaGPU-shaped baseline, not \
         ParvaGPU's code. Solve times are in `results.csv` (wall clock, not reproducible byte for \
         byte).\n\nFiles: `results.csv`/`.parquet`, `results.json`, `gpus.svg`/`.png`, \
         `scenarios/` (the imported instances).\n",
    );
    Ok(s)
}

/// One planner timing of the scaling study.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScalingSolve {
    gpus: u32,
    models: usize,
    method: String,
    status: String,
    gpus_used: Option<u32>,
    gap_to_ilp_bound: Option<f64>,
    solve_seconds: f64,
}

/// Everything `scaling` measured (`results.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScalingResults {
    target: String,
    quick: bool,
    solver: Vec<ScalingSolve>,
    sim: Vec<SimBenchRow>,
}

/// Solver time against cluster and model counts, and simulator speed.
pub fn scaling(env: &Env, out: &Path, quick: bool) -> Result<String> {
    let (gpus, models, limit, requests): (Vec<u32>, Vec<usize>, f64, u64) = if quick {
        (vec![8, 64], vec![4, 16], 10.0, 300_000)
    } else {
        (vec![8, 64, 512, 4096], vec![4, 16, 64], 60.0, 10_000_000)
    };
    let solver: Vec<ScalingSolve> = solver_rows(env, &gpus, &models, limit, true)?
        .into_iter()
        .map(|r| ScalingSolve {
            gpus: r.gpus,
            models: r.models,
            method: r.method.name().to_string(),
            status: r.status.name().to_string(),
            gpus_used: r.gpus_used,
            gap_to_ilp_bound: r.gap_to_ilp_bound,
            solve_seconds: r.solve_seconds,
        })
        .collect();
    let sim = sim_rows(env, requests, true)?;
    let results = ScalingResults {
        target: "scaling".into(),
        quick,
        solver,
        sim,
    };
    write_atomic(
        &out.join("results.json"),
        &(serde_json::to_string_pretty(&results)? + "\n"),
    )?;
    render_scaling(out, &results)
}

/// Tables, plots and summary of `scaling` results.
pub fn render_scaling(out: &Path, r: &ScalingResults) -> Result<String> {
    let rows = &r.solver;
    let columns = [
        (
            "gpus",
            ColumnData::U64(rows.iter().map(|x| u64::from(x.gpus)).collect()),
        ),
        (
            "models",
            ColumnData::U64(rows.iter().map(|x| x.models as u64).collect()),
        ),
        (
            "method",
            ColumnData::Str(rows.iter().map(|x| x.method.clone()).collect()),
        ),
        (
            "status",
            ColumnData::Str(rows.iter().map(|x| x.status.clone()).collect()),
        ),
        (
            "gpus_used",
            ColumnData::F64(
                rows.iter()
                    .map(|x| x.gpus_used.map_or(f64::NAN, f64::from))
                    .collect(),
            ),
        ),
        (
            "gap_to_ilp_bound",
            ColumnData::F64(
                rows.iter()
                    .map(|x| x.gap_to_ilp_bound.unwrap_or(f64::NAN))
                    .collect(),
            ),
        ),
        (
            "solve_seconds",
            ColumnData::F64(rows.iter().map(|x| x.solve_seconds).collect()),
        ),
    ];
    write_table(&out.join("solver.csv"), &columns)?;
    let sim_cols = [
        (
            "scheduler",
            ColumnData::Str(r.sim.iter().map(|x| x.scheduler.clone()).collect()),
        ),
        (
            "requests",
            ColumnData::U64(r.sim.iter().map(|x| x.requests).collect()),
        ),
        (
            "wall_seconds",
            ColumnData::F64(r.sim.iter().map(|x| x.wall_seconds).collect()),
        ),
        (
            "requests_per_cpu_second",
            ColumnData::F64(
                r.sim
                    .iter()
                    .map(|x| x.requests_per_cpu_second.unwrap_or(f64::NAN))
                    .collect(),
            ),
        ),
    ];
    write_table(&out.join("sim.csv"), &sim_cols)?;
    if cfg!(feature = "parquet") {
        write_table(&out.join("solver.parquet"), &columns)?;
        write_table(&out.join("sim.parquet"), &sim_cols)?;
    }
    let mut series: Vec<Series> = Vec::new();
    let mut keys: Vec<(String, usize)> =
        rows.iter().map(|x| (x.method.clone(), x.models)).collect();
    keys.dedup();
    keys.sort();
    keys.dedup();
    for (method, models) in &keys {
        series.push(Series {
            name: format!("{method}, {models} models"),
            points: rows
                .iter()
                .filter(|x| &x.method == method && x.models == *models)
                .map(|x| (f64::from(x.gpus), x.solve_seconds.max(1e-4)))
                .collect(),
        });
    }
    write_both(
        &LineChart {
            title: "Planning time against cluster size".into(),
            x_label: "GPUs in the cluster (log)".into(),
            y_label: "solve time, s (log)".into(),
            series,
            log_x: true,
            log_y: true,
            legend: Legend::UpperLeft,
        },
        out,
        "solver-time",
    )?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|x| {
            vec![
                x.gpus.to_string(),
                x.models.to_string(),
                x.method.clone(),
                x.status.clone(),
                x.gpus_used.map_or("-".into(), |g| g.to_string()),
                x.gap_to_ilp_bound
                    .map_or("-".into(), |g| format!("{:+.1}%", 100.0 * g)),
                format!("{:.3}", x.solve_seconds),
            ]
        })
        .collect();
    let sim_table: Vec<Vec<String>> = r
        .sim
        .iter()
        .map(|x| {
            vec![
                x.scheduler.clone(),
                x.requests.to_string(),
                format!("{:.2}", x.wall_seconds),
                x.requests_per_cpu_second
                    .map_or("-".into(), |c| format!("{:.2} M", c / 1e6)),
                x.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")),
            ]
        })
        .collect();
    let mut s = String::new();
    s.push_str("# Scaling: planning time and simulator speed\n\n");
    s.push_str(&format!(
        "Synthetic A100-80GB clusters (the instances of `migsched bench solver`: demand at about 60% of \
         the cluster, MPS up to 3, `2·L ≤ SLO`){}. Times are wall clock on this machine and vary between \
         runs; the GPU counts do not.\n\n",
        if r.quick { ", quick mode (small sizes)" } else { "" }
    ));
    s.push_str(&markdown::table(
        &[
            "GPUs",
            "models",
            "method",
            "status",
            "GPUs used",
            "vs ILP bound",
            "time s",
        ],
        &table,
    ));
    s.push_str(
        "\nSimulator: 8 × A100-80GB as 56 1g.10gb queues, ResNet-50, queries of 1 to 32 samples, \
         80% load, one core.\n\n",
    );
    s.push_str(&markdown::table(
        &[
            "scheduler",
            "requests",
            "wall s",
            "requests per CPU s",
            "peak RSS MiB",
        ],
        &sim_table,
    ));
    s.push_str(
        "\nFiles: `solver.csv`/`.parquet`, `sim.csv`/`.parquet`, `results.json`, \
         `solver-time.svg`/`.png`.\n",
    );
    Ok(s)
}
