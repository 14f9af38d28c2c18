//! Serving metrics: one definition of names and meanings for every simulator's report and for
//! the trace checker, which compute them each on their own code and so agree by definition.
//!
//! Over the requests of a run that arrive at or after its warm-up (`warmup_ns` in the trace
//! header, 0 when absent), with `duration = end − warm-up`:
//! - `requests`: arrivals; `finished`, `dropped`: requests that ended so; `unfinished`: the
//!   rest (still queued or running when the run ended);
//! - a request's latency is `finish − arrival`; it meets its SLO when that is at most the
//!   model's SLO (in ns, `round(slo_ms · 10⁶)`); `slo_met` counts those;
//! - `slo_attainment = slo_met / requests`: dropped and unfinished requests miss;
//! - `throughput_rps = finished / duration`, `goodput_rps = slo_met / duration`;
//! - `latency_ms_mean` over finished requests, and percentiles `latency_ms_p50`, `_p90`,
//!   `_p99` by nearest rank: the value at rank `⌈p·n⌉` of the ascending latencies;
//! - `samples_finished`: samples (request batch sizes) of finished requests.
//!
//! The same figures per model are named `models.<model>.<metric>`. Each metric has a
//! tolerance ([`DEFINITIONS`]): counts are exact; ratios and means allow a relative 10⁻⁶
//! (decimal printing); percentiles allow 1/64, since a simulator may take them from a
//! streaming histogram with that relative error instead of keeping every latency.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Relative tolerance of a streamed percentile (log-linear buckets, 64 per power of two).
pub const PERCENTILE_TOLERANCE: f64 = 1.0 / 64.0;
/// Relative tolerance of ratios and means.
pub const RATIO_TOLERANCE: f64 = 1e-6;

/// One metric: its name, meaning and how far a report may be from the recomputed value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    /// The name in reports.
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// Relative tolerance (0: exact).
    pub tolerance: f64,
}

/// Every metric, in report order.
pub const DEFINITIONS: [MetricDef; 13] = [
    MetricDef {
        name: "requests",
        meaning: "arrivals after the warm-up",
        tolerance: 0.0,
    },
    MetricDef {
        name: "finished",
        meaning: "requests that finished",
        tolerance: 0.0,
    },
    MetricDef {
        name: "dropped",
        meaning: "requests dropped past their deadline",
        tolerance: 0.0,
    },
    MetricDef {
        name: "unfinished",
        meaning: "requests still in flight at the end",
        tolerance: 0.0,
    },
    MetricDef {
        name: "slo_met",
        meaning: "finished within the SLO",
        tolerance: 0.0,
    },
    MetricDef {
        name: "samples_finished",
        meaning: "samples of finished requests",
        tolerance: 0.0,
    },
    MetricDef {
        name: "slo_attainment",
        meaning: "slo_met / requests",
        tolerance: RATIO_TOLERANCE,
    },
    MetricDef {
        name: "throughput_rps",
        meaning: "finished / duration",
        tolerance: RATIO_TOLERANCE,
    },
    MetricDef {
        name: "goodput_rps",
        meaning: "slo_met / duration",
        tolerance: RATIO_TOLERANCE,
    },
    MetricDef {
        name: "latency_ms_mean",
        meaning: "mean latency of finished requests",
        tolerance: RATIO_TOLERANCE,
    },
    MetricDef {
        name: "latency_ms_p50",
        meaning: "median latency, nearest rank",
        tolerance: PERCENTILE_TOLERANCE,
    },
    MetricDef {
        name: "latency_ms_p90",
        meaning: "90th percentile latency, nearest rank",
        tolerance: PERCENTILE_TOLERANCE,
    },
    MetricDef {
        name: "latency_ms_p99",
        meaning: "99th percentile latency, nearest rank",
        tolerance: PERCENTILE_TOLERANCE,
    },
];

/// The definition of a metric by its name (a per-model name `models.<m>.<metric>` included).
pub fn definition(name: &str) -> Option<&'static MetricDef> {
    let base = name.rsplit('.').next().unwrap_or(name);
    DEFINITIONS.iter().find(|d| d.name == base)
}

/// The metrics of a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingMetrics {
    /// Arrivals after the warm-up.
    pub requests: u64,
    /// Finished requests.
    pub finished: u64,
    /// Dropped requests.
    pub dropped: u64,
    /// Requests that neither finished nor were dropped.
    pub unfinished: u64,
    /// Finished requests within their SLO.
    pub slo_met: u64,
    /// Samples of finished requests.
    pub samples_finished: u64,
    /// `slo_met / requests` (none without requests).
    pub slo_attainment: Option<f64>,
    /// Finished requests per second.
    pub throughput_rps: Option<f64>,
    /// Requests within their SLO per second.
    pub goodput_rps: Option<f64>,
    /// Mean latency of finished requests, ms.
    pub latency_ms_mean: Option<f64>,
    /// Median latency (nearest rank), ms.
    pub latency_ms_p50: Option<f64>,
    /// 90th percentile latency (nearest rank), ms.
    pub latency_ms_p90: Option<f64>,
    /// 99th percentile latency (nearest rank), ms.
    pub latency_ms_p99: Option<f64>,
}

impl ServingMetrics {
    /// (name, value) of every metric that has a value, in [`DEFINITIONS`] order.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let counts = [
            self.requests,
            self.finished,
            self.dropped,
            self.unfinished,
            self.slo_met,
            self.samples_finished,
        ];
        let figures = [
            self.slo_attainment,
            self.throughput_rps,
            self.goodput_rps,
            self.latency_ms_mean,
            self.latency_ms_p50,
            self.latency_ms_p90,
            self.latency_ms_p99,
        ];
        let values = counts
            .iter()
            .map(|&c| Some(c as f64))
            .chain(figures)
            .collect::<Vec<_>>();
        DEFINITIONS
            .iter()
            .zip(values)
            .filter_map(|(d, v)| v.map(|v| (d.name, v)))
            .collect()
    }
}

/// The metrics of a run: overall and per model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunMetrics {
    /// Every model together.
    pub overall: ServingMetrics,
    /// Per model, by name.
    pub models: BTreeMap<String, ServingMetrics>,
}

impl RunMetrics {
    /// Every value with its full name (`slo_attainment`, `models.resnet50.requests`, ...).
    pub fn named_values(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .overall
            .values()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
        for (model, m) in &self.models {
            out.extend(
                m.values()
                    .into_iter()
                    .map(|(n, v)| (format!("models.{model}.{n}"), v)),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_one_definition_in_order() {
        let m = ServingMetrics {
            slo_attainment: Some(0.5),
            throughput_rps: Some(1.0),
            goodput_rps: Some(1.0),
            latency_ms_mean: Some(1.0),
            latency_ms_p50: Some(1.0),
            latency_ms_p90: Some(1.0),
            latency_ms_p99: Some(1.0),
            ..ServingMetrics::default()
        };
        let names: Vec<&str> = m.values().iter().map(|(n, _)| *n).collect();
        let defs: Vec<&str> = DEFINITIONS.iter().map(|d| d.name).collect();
        assert_eq!(names, defs);
        // The JSON keys are the definitions' names.
        let json = serde_json::to_value(&m).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut sorted = defs.clone();
        sorted.sort_unstable();
        let mut k = keys.clone();
        k.sort_unstable();
        assert_eq!(k, sorted);
        assert_eq!(
            definition("models.bert.latency_ms_p99").unwrap().tolerance,
            PERCENTILE_TOLERANCE
        );
        assert!(definition("queue_ms_p99").is_none());
    }
}
