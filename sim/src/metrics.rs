//! The serving metrics of a run as [`migsched_core::metrics`] defines them, recorded while the
//! run goes by every simulator (request-level, node-level, gpulet): counts per model and a
//! streaming latency histogram, so memory stays fixed however long the run.

use migsched_core::time::{Ns, ns_to_ms};
use std::collections::BTreeMap;

use migsched_core::metrics::{RunMetrics, ServingMetrics};

use crate::histogram::Histogram;

#[derive(Debug, Clone, Default)]
struct Counts {
    requests: u64,
    finished: u64,
    dropped: u64,
    slo_met: u64,
    samples_finished: u64,
    latency: Histogram,
}

/// Records requests after the warm-up, per model.
#[derive(Debug, Clone)]
pub struct MetricsRecorder {
    names: Vec<String>,
    models: Vec<Counts>,
}

impl MetricsRecorder {
    /// A recorder for models named `names` (model index = position).
    pub fn new(names: Vec<String>) -> MetricsRecorder {
        let models = vec![Counts::default(); names.len()];
        MetricsRecorder { names, models }
    }

    /// A request of `model` arrived (after the warm-up).
    pub fn arrival(&mut self, model: usize) {
        self.models[model].requests += 1;
    }

    /// A counted request of `model` with `samples` finished after `latency_ns`, meeting its
    /// SLO when `met`.
    pub fn finished(&mut self, model: usize, latency_ns: u64, met: bool, samples: u32) {
        let c = &mut self.models[model];
        c.finished += 1;
        c.samples_finished += u64::from(samples);
        c.slo_met += u64::from(met);
        c.latency.record(latency_ns);
    }

    /// A counted request of `model` was dropped.
    pub fn dropped(&mut self, model: usize) {
        self.models[model].dropped += 1;
    }

    /// The metrics over a measured `duration_ns` (end minus warm-up).
    pub fn metrics(&self, duration_ns: u64) -> RunMetrics {
        let mut all = Counts::default();
        let mut models = BTreeMap::new();
        for (name, c) in self.names.iter().zip(&self.models) {
            all.requests += c.requests;
            all.finished += c.finished;
            all.dropped += c.dropped;
            all.slo_met += c.slo_met;
            all.samples_finished += c.samples_finished;
            all.latency.merge(&c.latency);
            models.insert(name.clone(), serving(c, duration_ns));
        }
        RunMetrics {
            overall: serving(&all, duration_ns),
            models,
        }
    }
}

fn serving(c: &Counts, duration_ns: u64) -> ServingMetrics {
    let secs = Ns(duration_ns).s();
    let ms = |ns: u64| Ns(ns).ms();
    let any = c.finished > 0;
    ServingMetrics {
        requests: c.requests,
        finished: c.finished,
        dropped: c.dropped,
        unfinished: c.requests.saturating_sub(c.finished + c.dropped),
        slo_met: c.slo_met,
        samples_finished: c.samples_finished,
        slo_attainment: (c.requests > 0).then(|| c.slo_met as f64 / c.requests as f64),
        throughput_rps: (duration_ns > 0).then(|| c.finished as f64 / secs),
        goodput_rps: (duration_ns > 0).then(|| c.slo_met as f64 / secs),
        latency_ms_mean: any.then(|| ns_to_ms(c.latency.mean())),
        latency_ms_p50: any.then(|| ms(c.latency.quantile(0.50))),
        latency_ms_p90: any.then(|| ms(c.latency.quantile(0.90))),
        latency_ms_p99: any.then(|| ms(c.latency.quantile(0.99))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_requests_count_and_miss() {
        let mut r = MetricsRecorder::new(vec!["a".into(), "b".into()]);
        for _ in 0..4 {
            r.arrival(0);
        }
        r.finished(0, 2_000_000, true, 1);
        r.finished(0, 6_000_000, false, 4);
        r.dropped(0);
        let m = r.metrics(2_000_000_000);
        let a = &m.models["a"];
        assert_eq!(
            (a.requests, a.finished, a.dropped, a.unfinished),
            (4, 2, 1, 1)
        );
        assert_eq!(a.slo_attainment, Some(0.25));
        assert_eq!((a.throughput_rps, a.goodput_rps), (Some(1.0), Some(0.5)));
        assert_eq!(a.latency_ms_mean, Some(4.0));
        assert_eq!(m.overall.samples_finished, 5);
        assert_eq!(m.models["b"].requests, 0);
        assert_eq!(m.models["b"].slo_attainment, None);
    }
}
