//! `reproduce scaling`: planning time of the ILP and the baselines against cluster and model
//! counts, and the simulator's requests per CPU second.

use std::path::Path;

use anyhow::Result;
use migsched_out::write_atomic;
use migsched_solver::SolveOptions;
use serde::{Deserialize, Serialize};

use crate::Env;
use crate::bench::{SimBenchRow, sim_rows, solver_rows};
use crate::report::markdown;
use crate::report::plot::{Legend, LineChart, Series, write_both};
use crate::tables::{ColumnData, write_table};

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
pub fn reproduce(env: &Env, out: &Path, quick: bool) -> Result<String> {
    let (gpus, models, limit, requests): (Vec<u32>, Vec<usize>, f64, u64) = if quick {
        (vec![8, 64], vec![4, 16], 10.0, 300_000)
    } else {
        (vec![8, 64, 512, 4096], vec![4, 16, 64], 60.0, 10_000_000)
    };
    let solver: Vec<ScalingSolve> = solver_rows(
        env,
        &gpus,
        &models,
        limit,
        SolveOptions::default().mip_rel_gap,
        true,
    )?
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
    render(out, &results)
}

/// Tables, plots and summary of `scaling` results.
pub fn render(out: &Path, r: &ScalingResults) -> Result<String> {
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
            ColumnData::OptF64(rows.iter().map(|x| x.gpus_used.map(f64::from)).collect()),
        ),
        (
            "gap_to_ilp_bound",
            ColumnData::OptF64(rows.iter().map(|x| x.gap_to_ilp_bound).collect()),
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
            ColumnData::OptF64(r.sim.iter().map(|x| x.requests_per_cpu_second).collect()),
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
