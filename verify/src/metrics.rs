//! Serving metrics recomputed from a trace, and their comparison with the metrics a system
//! reports: a migsched report (its `metrics` section, every metric of which is checked) or any
//! flat or nested JSON object of numbers.
//!
//! The names, meanings and tolerances are [`migsched_core::metrics`]'s; this module computes
//! them with its own code from the trace's events.

use std::collections::BTreeMap;

pub use migsched_core::metrics::ServingMetrics as Metrics;
use migsched_core::metrics::definition;

use crate::error::InputError;
use crate::plan::fmt_num;
use crate::violation::{Location, Rule, Violation};

/// How one request ended, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Finished with this latency, ns, and whether it met the SLO.
    Finished {
        /// finish − arrival, ns.
        latency_ns: u64,
        /// Whether the latency is within the SLO.
        met: bool,
    },
    /// Dropped.
    Dropped,
    /// Neither.
    Unfinished,
}

/// The value at rank `⌈p·n⌉` of sorted values (nearest rank), `None` when empty.
pub fn nearest_rank(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Metrics of requests given as (batch, outcome) over a measured `duration_ns`.
pub fn metrics_of(requests: &[(u32, Outcome)], duration_ns: u64) -> Metrics {
    {
        let mut m = Metrics {
            requests: requests.len() as u64,
            ..Metrics::default()
        };
        let mut latencies: Vec<u64> = Vec::new();
        for &(batch, o) in requests {
            match o {
                Outcome::Finished { latency_ns, met } => {
                    m.finished += 1;
                    m.samples_finished += u64::from(batch);
                    if met {
                        m.slo_met += 1;
                    }
                    latencies.push(latency_ns);
                }
                Outcome::Dropped => m.dropped += 1,
                Outcome::Unfinished => m.unfinished += 1,
            }
        }
        latencies.sort_unstable();
        let seconds = migsched_core::Ns(duration_ns).s();
        if m.requests > 0 {
            m.slo_attainment = Some(m.slo_met as f64 / m.requests as f64);
        }
        if duration_ns > 0 {
            m.throughput_rps = Some(m.finished as f64 / seconds);
            m.goodput_rps = Some(m.slo_met as f64 / seconds);
        }
        if !latencies.is_empty() {
            let sum: f64 = latencies.iter().map(|&l| l as f64).sum();
            m.latency_ms_mean = Some(migsched_core::time::ns_to_ms(sum / latencies.len() as f64));
        }
        let pct = |p: f64| nearest_rank(&latencies, p).map(|l| migsched_core::Ns(l).ms());
        m.latency_ms_p50 = pct(0.50);
        m.latency_ms_p90 = pct(0.90);
        m.latency_ms_p99 = pct(0.99);
        m
    }
}

/// Metrics a system reports, flattened to dotted names (`models.resnet50.slo_attainment`).
pub type ReportedMetrics = BTreeMap<String, f64>;

/// Reads reported metrics. A migsched report (an object with a `metrics` section holding
/// `overall` and `models`) gives exactly that section's metrics (`slo_attainment`,
/// `models.<m>.requests`, ...); any other JSON object gives its number leaves (nested objects
/// flatten to dotted names; other leaves such as strings are skipped).
pub fn parse_metrics(text: &str, origin: &str) -> Result<ReportedMetrics, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::new(
            origin,
            "the file is empty; metrics are a JSON object",
        ));
    }
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| InputError::at_line(origin, e.line(), format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(InputError::new(
            origin,
            "metrics must be a JSON object of numbers",
        ));
    }
    let mut out = ReportedMetrics::new();
    match v.get("metrics").filter(|m| m.get("overall").is_some()) {
        Some(section) => {
            let section: migsched_core::metrics::RunMetrics =
                serde_json::from_value(section.clone()).map_err(|e| {
                    InputError::new(origin, format!("not a metrics section: {e}"))
                        .with_field("metrics")
                })?;
            out.extend(section.named_values());
        }
        None => flatten("", &v, &mut out).map_err(|(name, value)| {
            // A metric this checker defines, written as something else ("0.9" in quotes):
            // skipping it would pass a report that checked nothing.
            InputError::new(
                origin,
                format!(
                    "{} is not a number; a metric is a JSON number",
                    migsched_core::display_safe(&value)
                ),
            )
            .with_field(name)
        })?,
    }
    Ok(out)
}

/// Number leaves by dotted name; other leaves are skipped unless their name is a metric's,
/// which is an error: (name, the value as JSON).
fn flatten(
    prefix: &str,
    v: &serde_json::Value,
    out: &mut ReportedMetrics,
) -> Result<(), (String, String)> {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, x, out)?;
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_string(), x);
            }
        }
        // `null` is how JSON writes a metric without a value (no requests); an array is a
        // series, not one metric.
        serde_json::Value::Null | serde_json::Value::Array(_) => {}
        other => {
            if definition(prefix).is_some() {
                return Err((prefix.to_string(), other.to_string()));
            }
        }
    }
    Ok(())
}

/// Two different numbers as a message shows them: with as many digits as it takes to tell
/// them apart ("reports 0.89941, but the trace gives 0.89936", never "0.8994 ... 0.8994").
fn distinct_nums(a: f64, b: f64) -> (String, String) {
    let (x, y) = (fmt_num(a), fmt_num(b));
    if x != y || a == b {
        return (x, y);
    }
    let fixed = |v: f64, digits: usize| {
        let s = format!("{v:.digits$}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    for digits in 5..=17 {
        let (x, y) = (fixed(a, digits), fixed(b, digits));
        if x != y {
            return (x, y);
        }
    }
    (format!("{a:e}"), format!("{b:e}"))
}

/// Compares reported metrics with recomputed ones (`overall` and per model); returns the
/// violations and the reported names this checker does not know.
pub fn compare(
    overall: &Metrics,
    per_model: &BTreeMap<String, Metrics>,
    reported: &ReportedMetrics,
) -> (Vec<Violation>, Vec<String>) {
    let mut known: BTreeMap<String, (Option<String>, f64)> = BTreeMap::new();
    for (name, x) in overall.values() {
        known.insert(name.to_string(), (None, x));
    }
    for (model, m) in per_model {
        for (name, x) in m.values() {
            known.insert(format!("models.{model}.{name}"), (Some(model.clone()), x));
        }
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (name, &value) in reported {
        match known.get(name) {
            None => unknown.push(name.clone()),
            Some((model, actual)) => {
                let tolerance = definition(name).map_or(0.0, |d| d.tolerance);
                if !within(value, *actual, tolerance) {
                    let at = match model {
                        Some(m) => Location::none().with_model(m),
                        None => Location::none(),
                    };
                    let (shown, computed) = distinct_nums(value, *actual);
                    out.push(Violation::new(
                        Rule::Metrics,
                        at,
                        format!("reports {name} = {shown}, but the trace gives {computed}"),
                    ));
                }
            }
        }
    }
    (out, unknown)
}

/// Whether a reported value is within a relative `tolerance` of the recomputed one (an
/// absolute 1e-9 near zero; exact counts compare to the unit).
fn within(reported: f64, actual: f64, tolerance: f64) -> bool {
    (reported - actual).abs() <= tolerance * actual.abs().max(reported.abs()) + 1e-9
}

/// [`compare`] for a checker's report: nothing when no metrics were `reported`; otherwise the
/// violations go to `out`, and the reported names this checker does not define to a
/// `not_checked` note.
pub fn check_reported(
    overall: &Metrics,
    per_model: &BTreeMap<String, Metrics>,
    reported: Option<&ReportedMetrics>,
    out: &mut Vec<Violation>,
    not_checked: &mut Vec<String>,
) {
    let Some(reported) = reported else {
        return;
    };
    let (v, unknown) = compare(overall, per_model, reported);
    out.extend(v);
    if !unknown.is_empty() {
        not_checked.push(format!(
            "reported metrics this checker does not define: {}",
            unknown.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40];
        assert_eq!(nearest_rank(&v, 0.5), Some(20));
        assert_eq!(nearest_rank(&v, 0.9), Some(40));
        assert_eq!(nearest_rank(&v, 0.25), Some(10));
        assert_eq!(nearest_rank(&v, 0.0), Some(10));
        assert_eq!(nearest_rank(&[], 0.5), None);
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 0.99), Some(99));
    }

    #[test]
    fn close_values_are_shown_with_the_digits_that_differ() {
        // "reports 0.8994, but the trace gives 0.8994" said nothing.
        assert_eq!(
            distinct_nums(0.89941, 0.89936),
            ("0.89941".into(), "0.89936".into())
        );
        assert_eq!(distinct_nums(0.5, 0.25), ("0.5".into(), "0.25".into()));
        assert_eq!(
            distinct_nums(1e-20, 2e-20),
            ("1e-20".into(), "2e-20".into())
        );
        let (x, y) = distinct_nums(0.1 + 0.2, 0.3);
        assert_ne!(x, y);
    }

    #[test]
    fn a_metric_written_as_a_string_is_an_error_not_skipped() {
        let e = parse_metrics(r#"{"slo_attainment": "0.9", "note": "ok"}"#, "m.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "m.json: slo_attainment: \"0.9\" is not a number; a metric is a JSON number"
        );
        let e = parse_metrics(r#"{"models": {"a": {"requests": true}}}"#, "m.json").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("models.a.requests"));
        let ok = parse_metrics(
            r#"{"slo_attainment": 0.9, "name": "run 1", "latency_ms_p99": null}"#,
            "m.json",
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn metrics_of_requests() {
        let fin = |ms: u64, met| Outcome::Finished {
            latency_ns: ms * 1_000_000,
            met,
        };
        let m = metrics_of(
            &[
                (1, fin(2, true)),
                (4, fin(6, false)),
                (2, Outcome::Dropped),
                (1, Outcome::Unfinished),
            ],
            2_000_000_000,
        );
        assert_eq!(
            (m.requests, m.finished, m.dropped, m.unfinished, m.slo_met),
            (4, 2, 1, 1, 1)
        );
        assert_eq!(m.samples_finished, 5);
        assert_eq!(m.slo_attainment, Some(0.25));
        assert_eq!(m.throughput_rps, Some(1.0));
        assert_eq!(m.goodput_rps, Some(0.5));
        assert_eq!(m.latency_ms_mean, Some(4.0));
        assert_eq!((m.latency_ms_p50, m.latency_ms_p99), (Some(2.0), Some(6.0)));
        let empty = metrics_of(&[], 0);
        assert_eq!(empty.slo_attainment, None);
        assert_eq!(empty.throughput_rps, None);
        assert_eq!(empty.values().len(), 6);
    }

    #[test]
    fn reported_metrics_flatten_and_compare() {
        let r = parse_metrics(
            r#"{"requests": 4, "slo_attainment": 0.5, "scheduler": "elsa",
                "models": {"resnet50": {"finished": 3}}, "queue_depth_max": 7}"#,
            "m.json",
        )
        .unwrap();
        assert_eq!(r.len(), 4);
        let mut overall = metrics_of(&[], 1);
        overall.requests = 4;
        overall.slo_attainment = Some(0.25);
        let mut per = BTreeMap::new();
        per.insert(
            "resnet50".to_string(),
            Metrics {
                finished: 3,
                ..Metrics::default()
            },
        );
        let (v, unknown) = compare(&overall, &per, &r);
        assert_eq!(unknown, ["queue_depth_max"]);
        assert_eq!(
            v.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["reports slo_attainment = 0.5, but the trace gives 0.25 [metrics]"]
        );
        // A figure rounded to seven significant digits (a relative error of 4e-7) agrees.
        let rounded = parse_metrics(r#"{"slo_attainment": 0.2500001}"#, "m.json").unwrap();
        assert_eq!(compare(&overall, &per, &rounded).0, []);
        let off = parse_metrics(r#"{"slo_attainment": 0.2501}"#, "m.json").unwrap();
        assert_eq!(compare(&overall, &per, &off).0.len(), 1);
    }

    #[test]
    fn unreadable_metrics_are_errors() {
        assert_eq!(
            parse_metrics(" ", "m.json").unwrap_err().to_string(),
            "m.json: the file is empty; metrics are a JSON object"
        );
        assert_eq!(
            parse_metrics("[1]", "m.json").unwrap_err().to_string(),
            "m.json: metrics must be a JSON object of numbers"
        );
        assert!(
            parse_metrics("{", "m.json")
                .unwrap_err()
                .to_string()
                .starts_with("m.json:1: not JSON")
        );
    }
}
