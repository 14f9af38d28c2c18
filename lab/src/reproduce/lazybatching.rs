//! `migsched reproduce lazybatching`: serial execution, graph batching (several windows) and
//! LazyBatching, node by node, for ResNet-50, BERT-base and MobileNetV2 on an A100 7g instance
//! and a 3g instance, at low, medium and high Poisson load.

use std::path::Path;

use anyhow::Result;
use migsched_out::write_atomic;
use migsched_sim::Stop;
use migsched_sim::lazy::{
    Arrivals, NodeProfile, NodeReport, NodeSimConfig, Policy, simulate_nodes,
};
use serde::{Deserialize, Serialize};

use crate::Env;
use crate::nodes::analytic_node_profile;
use crate::report::markdown;
use crate::report::plot::{BarChart, write_both};
use crate::tables::{ColumnData, write_table};

const GPU: &str = "a100-80gb";
const PROFILES: [&str; 2] = ["7g.80gb", "3g.40gb"];
const MODELS: [&str; 3] = ["resnet50", "bert-base", "mobilenetv2"];
/// Graph batching windows, ms (the 5 to 99 ms range).
const WINDOWS_MS: [f64; 5] = [5.0, 10.0, 20.0, 50.0, 99.0];
const MAX_BATCH: u32 = 32;
/// The paper's low, medium and high rates (LazyBatching, HPCA 2021: 16, 250 and 2000
/// requests/s on its NPU), as fractions of the high rate; the high rate is scaled to 80% of
/// what the instance serves at the max batch.
const LOADS: [(Load, f64); 3] = [
    (Load::Low, 16.0 / 2000.0),
    (Load::Medium, 250.0 / 2000.0),
    (Load::High, 1.0),
];

/// The paper's three load levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Load {
    /// 16 of 2000.
    Low,
    /// 250 of 2000.
    Medium,
    /// 80% of what the instance serves at the max batch.
    High,
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Load::Low => "low",
            Load::Medium => "medium",
            Load::High => "high",
        })
    }
}

/// How a run batches, named as in results (`serial`, `graph`, `lazy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// One request at a time.
    Serial,
    /// Graph batching with a window.
    Graph,
    /// LazyBatching.
    Lazy,
}

impl Scheduler {
    fn name(self) -> &'static str {
        match self {
            Scheduler::Serial => "serial",
            Scheduler::Graph => "graph",
            Scheduler::Lazy => "lazy",
        }
    }

    fn of(policy: &Policy) -> Scheduler {
        match policy {
            Policy::Serial => Scheduler::Serial,
            Policy::Graph { .. } => Scheduler::Graph,
            Policy::Lazy { .. } => Scheduler::Lazy,
        }
    }
}
const HIGH_FRACTION: f64 = 0.8;

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Zoo model.
    pub model: String,
    /// MIG profile of the instance.
    pub profile: String,
    /// Load level.
    pub load: Load,
    /// Poisson rate, requests/s.
    pub rate_rps: f64,
    /// SLO, ms.
    pub slo_ms: f64,
    /// How the run batches.
    pub scheduler: Scheduler,
    /// Graph batching's window, ms.
    pub window_ms: Option<f64>,
    /// Requests that arrived.
    pub requests: u64,
    /// Requests that finished.
    pub completed: u64,
    /// Mean response time, ms.
    pub mean_ms: f64,
    /// p99 response time, ms.
    pub p99_ms: f64,
    /// Throughput, requests/s.
    pub throughput_rps: f64,
    /// Requests that finished within the SLO over every request that arrived (those still
    /// in flight at the end count as misses).
    pub sla_satisfaction: f64,
    /// Mean batch of a node's kernel.
    pub mean_batch: f64,
    /// Kernels where late requests caught up with a batch in flight.
    pub catch_up_kernels: u64,
}

impl Row {
    fn of(
        model: &str,
        profile: &str,
        load: Load,
        rate: f64,
        r: &NodeReport,
        scheduler: Scheduler,
        window_ms: Option<f64>,
    ) -> Row {
        Row {
            model: model.into(),
            profile: profile.into(),
            load,
            rate_rps: rate,
            slo_ms: r.slo_ms,
            scheduler,
            window_ms,
            requests: r.requests,
            completed: r.completed,
            mean_ms: r.latency_ms.mean,
            p99_ms: r.latency_ms.p99,
            throughput_rps: r.throughput_rps,
            sla_satisfaction: if r.requests == 0 {
                1.0
            } else {
                r.slo_met as f64 / r.requests as f64
            },
            mean_batch: r.mean_batch,
            catch_up_kernels: r.catch_up_kernels,
        }
    }

    fn label(&self) -> String {
        match self.window_ms {
            Some(w) => format!("graph {w} ms"),
            None => self.scheduler.name().to_string(),
        }
    }
}

/// Lazy against graph batching in one setting: the mean over the windows of each ratio.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    /// Zoo model.
    pub model: String,
    /// MIG profile.
    pub profile: String,
    /// Load level.
    pub load: Load,
    /// Graph mean response time / lazy's.
    pub response_speedup: f64,
    /// Lazy throughput / graph's.
    pub throughput: f64,
    /// Lazy SLA satisfaction / graph's.
    pub sla: f64,
    /// Graph p99 / lazy's.
    pub p99_speedup: f64,
}

/// The SLO of a model on the 7g instance: 50 ms, or 4 times its batch-32 latency when that
/// is longer (so the max batch is usable), and the same SLO on the smaller instance.
fn slo_ms(whole_7g_max_ms: f64) -> f64 {
    (4.0 * whole_7g_max_ms).max(50.0).ceil()
}

fn run_one(
    p: &NodeProfile,
    policy: Policy,
    slo_ms: f64,
    rate: f64,
    seconds: f64,
    seed: u64,
) -> Result<NodeReport> {
    let config = NodeSimConfig {
        policy,
        slo_ns: (slo_ms * 1e6).round() as u64,
        arrivals: Arrivals::poisson(rate),
        // No drain: an overloaded serial queue would take long to serve; what is left in
        // flight counts as missing the SLA.
        stop: Stop::Duration {
            ns: (seconds * 1e9).round() as u64,
            drain: false,
        },
        seed,
    };
    Ok(simulate_nodes(p, &config, &mut migsched_sim::NoObserver)?)
}

/// What `lazybatching` measured (read back from `results.json` by `migsched report`).
#[derive(Debug, Clone, Deserialize)]
pub struct LazyResults {
    /// Whether the runs were quick.
    pub quick: bool,
    /// Seed of every run.
    pub seed: u64,
    /// Simulated seconds of each run.
    pub seconds_per_run: f64,
    /// Every run.
    pub rows: Vec<Row>,
    /// Lazy against graph batching per setting.
    pub ratios: Vec<Ratio>,
    /// The settings: model, instance, nodes, batch-1 and batch-32 latency, capacity, SLO.
    pub setting: Vec<Vec<String>>,
}

/// Runs `reproduce lazybatching` into `out`; returns the summary.
pub fn reproduce(env: &Env, out: &Path, quick: bool, seed: u64) -> Result<String> {
    let r = measure(env, quick, seed)?;
    let (rows, ratios, setting_notes, seconds) =
        (&r.rows, &r.ratios, &r.setting, r.seconds_per_run);
    write_results(out, rows, ratios, setting_notes, quick, seed, seconds)?;
    plots(out, rows, ratios)?;
    Ok(summary(rows, ratios, setting_notes, quick, seed, seconds))
}

/// Every run of `lazybatching` (1 simulated second each when `quick`, else 10).
pub fn measure(env: &Env, quick: bool, seed: u64) -> Result<LazyResults> {
    let seconds = if quick { 1.0 } else { 10.0 };
    let mut rows: Vec<Row> = Vec::new();
    let mut setting_notes = Vec::new();
    for model in MODELS {
        let big = analytic_node_profile(env, model, GPU, PROFILES[0], MAX_BATCH)?;
        let slo = slo_ms(big.whole_ns(MAX_BATCH) as f64 / 1e6);
        for profile in PROFILES {
            let p = analytic_node_profile(env, model, GPU, profile, MAX_BATCH)?;
            let capacity = f64::from(MAX_BATCH) / (p.whole_ns(MAX_BATCH) as f64 / 1e9);
            setting_notes.push(vec![
                model.to_string(),
                profile.to_string(),
                p.node_count().to_string(),
                format!("{:.2}", p.whole_ns(1) as f64 / 1e6),
                format!("{:.2}", p.whole_ns(MAX_BATCH) as f64 / 1e6),
                format!("{capacity:.0}"),
                format!("{slo}"),
            ]);
            for (load, frac) in LOADS {
                let rate = (HIGH_FRACTION * capacity * frac * 10.0).round() / 10.0;
                eprintln!("{model} on {profile}, {load} load ({rate} req/s)...");
                let mut policies: Vec<(Policy, Option<f64>)> = vec![(Policy::Serial, None)];
                for w in WINDOWS_MS {
                    policies.push((
                        Policy::Graph {
                            window_ns: w * 1e6,
                            max_batch: MAX_BATCH,
                        },
                        Some(w),
                    ));
                }
                policies.push((
                    Policy::Lazy {
                        max_batch: MAX_BATCH,
                    },
                    None,
                ));
                for (policy, w) in policies {
                    let scheduler = Scheduler::of(&policy);
                    let r = run_one(&p, policy, slo, rate, seconds, seed)?;
                    rows.push(Row::of(model, profile, load, rate, &r, scheduler, w));
                }
            }
        }
    }
    let ratios = ratios(&rows);
    Ok(LazyResults {
        quick,
        seed,
        seconds_per_run: seconds,
        rows,
        ratios,
        setting: setting_notes,
    })
}

fn ratios(rows: &[Row]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for lazy in rows.iter().filter(|r| r.scheduler == Scheduler::Lazy) {
        let graphs: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                r.scheduler == Scheduler::Graph
                    && r.model == lazy.model
                    && r.profile == lazy.profile
                    && r.load == lazy.load
            })
            .collect();
        let mean = |f: &dyn Fn(&Row) -> f64| {
            graphs.iter().map(|g| f(g)).sum::<f64>() / graphs.len().max(1) as f64
        };
        out.push(Ratio {
            model: lazy.model.clone(),
            profile: lazy.profile.clone(),
            load: lazy.load,
            response_speedup: mean(&|g| g.mean_ms / lazy.mean_ms),
            throughput: mean(&|g| lazy.throughput_rps / g.throughput_rps),
            sla: mean(&|g| {
                if g.sla_satisfaction > 0.0 {
                    lazy.sla_satisfaction / g.sla_satisfaction
                } else {
                    f64::NAN
                }
            }),
            p99_speedup: mean(&|g| g.p99_ms / lazy.p99_ms),
        });
    }
    out
}

fn write_results(
    out: &Path,
    rows: &[Row],
    ratios: &[Ratio],
    setting: &[Vec<String>],
    quick: bool,
    seed: u64,
    seconds: f64,
) -> Result<()> {
    let s = |f: &dyn Fn(&Row) -> String| ColumnData::Str(rows.iter().map(f).collect());
    let x = |f: &dyn Fn(&Row) -> f64| ColumnData::F64(rows.iter().map(f).collect());
    let u = |f: &dyn Fn(&Row) -> u64| ColumnData::U64(rows.iter().map(f).collect());
    for ext in ["csv", "parquet"] {
        write_table(
            &out.join(format!("results.{ext}")),
            &[
                ("model", s(&|r| r.model.clone())),
                ("profile", s(&|r| r.profile.clone())),
                ("load", s(&|r| r.load.to_string())),
                ("rate_rps", x(&|r| r.rate_rps)),
                ("slo_ms", x(&|r| r.slo_ms)),
                ("scheduler", s(&|r| r.scheduler.name().to_string())),
                (
                    "window_ms",
                    ColumnData::OptF64(rows.iter().map(|r| r.window_ms).collect()),
                ),
                ("requests", u(&|r| r.requests)),
                ("completed", u(&|r| r.completed)),
                ("mean_ms", x(&|r| r.mean_ms)),
                ("p99_ms", x(&|r| r.p99_ms)),
                ("throughput_rps", x(&|r| r.throughput_rps)),
                ("sla_satisfaction", x(&|r| r.sla_satisfaction)),
                ("mean_batch", x(&|r| r.mean_batch)),
                ("catch_up_kernels", u(&|r| r.catch_up_kernels)),
            ],
        )?;
        let rs = |f: &dyn Fn(&Ratio) -> String| ColumnData::Str(ratios.iter().map(f).collect());
        let rx = |f: &dyn Fn(&Ratio) -> f64| ColumnData::F64(ratios.iter().map(f).collect());
        write_table(
            &out.join(format!("ratios.{ext}")),
            &[
                ("model", rs(&|r| r.model.clone())),
                ("profile", rs(&|r| r.profile.clone())),
                ("load", rs(&|r| r.load.to_string())),
                ("response_speedup", rx(&|r| r.response_speedup)),
                ("throughput_ratio", rx(&|r| r.throughput)),
                ("sla_ratio", rx(&|r| r.sla)),
                ("p99_speedup", rx(&|r| r.p99_speedup)),
            ],
        )?;
    }
    #[derive(Serialize)]
    struct Json<'a> {
        target: &'static str,
        quick: bool,
        seed: u64,
        seconds_per_run: f64,
        gpu: &'static str,
        max_batch: u32,
        windows_ms: &'static [f64],
        rows: &'a [Row],
        ratios: &'a [Ratio],
        setting: &'a [Vec<String>],
    }
    let json = serde_json::to_string_pretty(&Json {
        target: "lazybatching",
        quick,
        seed,
        seconds_per_run: seconds,
        gpu: GPU,
        max_batch: MAX_BATCH,
        windows_ms: &WINDOWS_MS,
        rows,
        ratios,
        setting,
    })?;
    write_atomic(&out.join("results.json"), &(json + "\n"))
}

/// Renders `results.json` of a `lazybatching` run again into `out` (`migsched report`):
/// tables, plots and the summary.
pub fn render_again(out: &Path, text: &str) -> Result<String> {
    let r: LazyResults =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not lazybatching results: {e}"))?;
    write_results(
        out,
        &r.rows,
        &r.ratios,
        &r.setting,
        r.quick,
        r.seed,
        r.seconds_per_run,
    )?;
    plots(out, &r.rows, &r.ratios)?;
    Ok(summary(
        &r.rows,
        &r.ratios,
        &r.setting,
        r.quick,
        r.seed,
        r.seconds_per_run,
    ))
}

fn plots(out: &Path, rows: &[Row], ratios: &[Ratio]) -> Result<()> {
    for profile in PROFILES {
        let cats: Vec<String> = MODELS
            .iter()
            .flat_map(|m| LOADS.iter().map(move |(l, _)| format!("{m} {l}")))
            .collect();
        let labels: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for r in rows.iter().filter(|r| r.profile == profile) {
                if !v.contains(&r.label()) {
                    v.push(r.label());
                }
            }
            v
        };
        let groups: Vec<(String, Vec<f64>)> = labels
            .iter()
            .map(|label| {
                let values = MODELS
                    .iter()
                    .flat_map(|m| LOADS.iter().map(move |(l, _)| (*m, *l)))
                    .map(|(m, l)| {
                        rows.iter()
                            .find(|r| {
                                r.profile == profile
                                    && r.model == m
                                    && r.load == l
                                    && &r.label() == label
                            })
                            .map_or(f64::NAN, |r| 100.0 * r.sla_satisfaction)
                    })
                    .collect();
                (label.clone(), values)
            })
            .collect();
        write_both(
            &BarChart {
                title: format!("SLA satisfaction, A100 {profile}"),
                y_label: "SLA satisfaction (%)".into(),
                categories: cats,
                groups,
            },
            out,
            &format!("sla-{profile}"),
        )?;
    }
    let cats: Vec<String> = ratios
        .iter()
        .map(|r| format!("{} {} {}", r.model, &r.profile[..2], r.load))
        .collect();
    write_both(
        &BarChart {
            title: "LazyBatching / graph batching (mean over windows)".into(),
            y_label: "ratio (1 = parity)".into(),
            categories: cats,
            groups: vec![
                (
                    "response-time speedup".into(),
                    ratios.iter().map(|r| r.response_speedup).collect(),
                ),
                (
                    "throughput".into(),
                    ratios.iter().map(|r| r.throughput).collect(),
                ),
                (
                    "SLA satisfaction".into(),
                    ratios.iter().map(|r| r.sla).collect(),
                ),
            ],
        },
        out,
        "ratios",
    )
}

fn geomean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.filter(|x| x.is_finite() && *x > 0.0).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

fn summary(
    rows: &[Row],
    ratios: &[Ratio],
    settings: &[Vec<String>],
    quick: bool,
    seed: u64,
    seconds: f64,
) -> String {
    let mut s = String::new();
    s.push_str("# LazyBatching against graph batching and serial execution\n\n");
    s.push_str(&format!(
        "One model per instance, run node by node (the zoo's layer graph; per-node latency from the \
         analytic model, single stream) on an A100-80GB `7g.80gb` and `3g.40gb` instance. Poisson \
         arrivals for {seconds} s per run (no drain: requests still in flight at the end count as SLA \
         misses), seed {seed}{}. Max batch {MAX_BATCH}; graph windows {} ms. Loads: the paper's 16, 250 \
         and 2000 requests/s scaled so that high is {:.0}% of what the instance serves at batch \
         {MAX_BATCH}. Response time and p99 are of completed requests; SLA satisfaction is of every \
         request.\n\n",
        if quick { ", quick mode (short runs: numbers are noisier)" } else { "" },
        WINDOWS_MS.map(|w| w.to_string()).join(", "),
        100.0 * HIGH_FRACTION
    ));
    s.push_str(&markdown::table(
        &[
            "model",
            "instance",
            "nodes",
            "batch 1 ms",
            "batch 32 ms",
            "capacity req/s",
            "SLO ms",
        ],
        settings,
    ));
    s.push('\n');
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.model.clone(),
                r.profile.clone(),
                format!("{} ({:.0}/s)", r.load, r.rate_rps),
                r.label(),
                format!("{:.2}", r.mean_ms),
                format!("{:.1}", r.throughput_rps),
                format!("{:.2}", r.p99_ms),
                format!("{:.1}%", 100.0 * r.sla_satisfaction),
                format!("{:.1}", r.mean_batch),
            ]
        })
        .collect();
    s.push_str(&markdown::table(
        &[
            "model",
            "instance",
            "load",
            "scheduler",
            "mean ms",
            "throughput/s",
            "p99 ms",
            "SLA",
            "mean batch",
        ],
        &table_rows,
    ));
    s.push_str("\nLazy against graph batching (each ratio averaged over the windows; response and p99: graph / lazy, so above 1 means lazy is faster):\n\n");
    let ratio_rows: Vec<Vec<String>> = ratios
        .iter()
        .map(|r| {
            vec![
                r.model.clone(),
                r.profile.clone(),
                r.load.to_string(),
                format!("{:.2}x", r.response_speedup),
                format!("{:.2}x", r.throughput),
                format!("{:.2}x", r.sla),
                format!("{:.2}x", r.p99_speedup),
            ]
        })
        .collect();
    s.push_str(&markdown::table(
        &[
            "model",
            "instance",
            "load",
            "response speedup",
            "throughput",
            "SLA satisfaction",
            "p99 speedup",
        ],
        &ratio_rows,
    ));
    let by_load = |load: Load, f: &dyn Fn(&Ratio) -> f64| {
        geomean(ratios.iter().filter(|r| r.load == load).map(f))
    };
    s.push_str("\nGeometric means over models and instances:\n\n");
    let mut mean_rows = Vec::new();
    for (load, _) in LOADS {
        mean_rows.push(vec![
            load.to_string(),
            format!("{:.2}x", by_load(load, &|r| r.response_speedup)),
            format!("{:.2}x", by_load(load, &|r| r.throughput)),
            format!("{:.2}x", by_load(load, &|r| r.sla)),
        ]);
    }
    mean_rows.push(vec![
        "all".into(),
        format!("{:.2}x", geomean(ratios.iter().map(|r| r.response_speedup))),
        format!("{:.2}x", geomean(ratios.iter().map(|r| r.throughput))),
        format!("{:.2}x", geomean(ratios.iter().map(|r| r.sla))),
    ]);
    s.push_str(&markdown::table(
        &["load", "response speedup", "throughput", "SLA satisfaction"],
        &mean_rows,
    ));
    s.push_str(
        "\nPublished (LazyBatching, HPCA 2021, on an NPU model): 15x average response time, 1.5x \
         throughput and 5.5x SLA satisfaction over graph batching, on average.\n\n\
         Files: `results.csv`/`.parquet` (every run), `ratios.csv`/`.parquet` (lazy/graph), \
         `sla-<instance>.svg`/`.png`, `ratios.svg`/`.png`, `results.json`.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_runs_cover_every_setting_and_lazy_keeps_up_with_graph_batching() {
        let env = Env::load(None).unwrap();
        let r = measure(&env, true, 0).unwrap();
        // 3 models x 2 instances x 3 loads, each serial, 5 graph windows and lazy.
        assert_eq!(r.rows.len(), 3 * 2 * 3 * 7);
        assert_eq!(r.ratios.len(), 3 * 2 * 3);
        assert_eq!(r.setting.len(), 3 * 2);
        let count = |s: Scheduler| r.rows.iter().filter(|x| x.scheduler == s).count();
        assert_eq!(
            (
                count(Scheduler::Serial),
                count(Scheduler::Graph),
                count(Scheduler::Lazy)
            ),
            (18, 90, 18)
        );
        for row in &r.rows {
            assert!((0.0..=1.0).contains(&row.sla_satisfaction), "{row:?}");
            assert_eq!(row.window_ms.is_some(), row.scheduler == Scheduler::Graph);
        }
        // At low load nothing queues: lazy answers at least about as fast as graph batching,
        // which waits for its window.
        for ratio in r.ratios.iter().filter(|x| x.load == Load::Low) {
            assert!(ratio.response_speedup >= 0.99, "{ratio:?}");
        }
        // Deterministic for a seed.
        let again = measure(&env, true, 0).unwrap();
        assert_eq!(
            serde_json::to_string(&r.rows).unwrap(),
            serde_json::to_string(&again.rows).unwrap()
        );
    }
}
