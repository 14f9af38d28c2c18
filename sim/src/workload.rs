//! Workloads: per model an arrival process (Poisson, Gamma with a coefficient of variation,
//! on/off, or replay of a trace) and the batch size each query carries.

use migsched_core::Ns;
use serde::Serialize;

use crate::rng::Rng;

/// How a model's requests arrive. Rates come from the model (times the load factor).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Arrival {
    /// Exponential gaps.
    Poisson,
    /// Gamma gaps with this coefficient of variation (1 = Poisson, > 1 bursty).
    Gamma {
        /// Coefficient of variation of the gaps.
        cv: f64,
    },
    /// Poisson during `on_s` seconds, silent for `off_s`, repeating; the rate during on
    /// periods is raised so the average is the model's rate.
    OnOff {
        /// Length of an on period, seconds.
        on_s: f64,
        /// Length of an off period, seconds.
        off_s: f64,
    },
}

/// The batch size each query carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum QueryBatch {
    /// Every query is one sample.
    One,
    /// Every query has this many samples.
    Fixed {
        /// Samples per query.
        batch: u32,
    },
    /// `round(exp(mu + sigma·N(0,1)))`, clamped to [min, max] (PARIS's query sizes).
    LogNormal {
        /// Mean of the underlying normal.
        mu: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
        /// Smallest batch.
        min: u32,
        /// Largest batch.
        max: u32,
    },
    /// (batch, probability) pairs summing to 1.
    Empirical {
        /// The distribution.
        points: Vec<(u32, f64)>,
    },
}

/// The smallest coefficient of variation of Gamma gaps and log-normal noise: below it the
/// Gamma shape 1/CV² overflows (a CV of 1e-300 never drew a gap).
pub const MIN_CV: f64 = 1e-3;

/// The largest coefficient of variation: above it log-normal noise makes every latency 0
/// (a CV of 1e308) and Gamma gaps all 0.
pub const MAX_CV: f64 = 1e3;

/// The shortest on or off period of on/off arrivals, seconds (1 µs).
pub const MIN_PERIOD_S: f64 = 1e-6;

/// The most samples one query carries: 65,536 (a fixed batch of 2^32 made utilization
/// figures of millions of percent).
pub const MAX_QUERY_BATCH: u32 = 1 << 16;

/// A number as a message shows it: exponent form when very large or small (1e-300, not
/// three hundred digits).
pub(crate) fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e9).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn check_cv(what: &str, cv: f64) -> Result<(), String> {
    if !(MIN_CV..=MAX_CV).contains(&cv) {
        return Err(format!(
            "{what} CV {} is outside {MIN_CV} to {MAX_CV}",
            num(cv)
        ));
    }
    Ok(())
}

impl Arrival {
    /// Checks the parameters against their domains: Gamma's CV within [`MIN_CV`] and
    /// [`MAX_CV`], on/off periods finite and at least [`MIN_PERIOD_S`] (an off period may be
    /// 0). The message names the parameter, its value and the bound.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Arrival::Poisson => Ok(()),
            Arrival::Gamma { cv } => check_cv("gamma", cv),
            Arrival::OnOff { on_s, off_s } => {
                let ok =
                    |x: f64, zero: bool| x.is_finite() && (x >= MIN_PERIOD_S || zero && x == 0.0);
                if !ok(on_s, false) {
                    return Err(format!(
                        "onoff ON_S {} is not a finite number of seconds, at least {MIN_PERIOD_S}",
                        num(on_s)
                    ));
                }
                if !ok(off_s, true) {
                    return Err(format!(
                        "onoff OFF_S {} is not 0 or a finite number of seconds, at least {MIN_PERIOD_S}",
                        num(off_s)
                    ));
                }
                Ok(())
            }
        }
    }
}

impl QueryBatch {
    /// Checks the batch sizes: each from 1 to [`MAX_QUERY_BATCH`].
    pub fn validate(&self) -> Result<(), String> {
        let check = |b: u32| {
            if (1..=MAX_QUERY_BATCH).contains(&b) {
                Ok(())
            } else {
                Err(format!("query batch {b} is outside 1 to {MAX_QUERY_BATCH}"))
            }
        };
        match self {
            QueryBatch::One => Ok(()),
            QueryBatch::Fixed { batch } => check(*batch),
            QueryBatch::LogNormal { min, max, .. } => check(*min).and(check(*max)),
            QueryBatch::Empirical { points } => points.iter().try_for_each(|&(b, _)| check(b)),
        }
    }

    /// Draws one query's batch.
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        match self {
            QueryBatch::One => 1,
            QueryBatch::Fixed { batch } => *batch,
            QueryBatch::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => {
                let x = (mu + sigma * rng.normal()).exp().round();
                (x.clamp(f64::from(*min), f64::from(*max))) as u32
            }
            QueryBatch::Empirical { points } => {
                let mut u = rng.uniform();
                for &(b, p) in points {
                    if u < p {
                        return b;
                    }
                    u -= p;
                }
                points.last().map_or(1, |p| p.0)
            }
        }
    }

    /// The largest batch this can draw.
    pub fn max(&self) -> u32 {
        match self {
            QueryBatch::One => 1,
            QueryBatch::Fixed { batch } => *batch,
            QueryBatch::LogNormal { max, .. } => *max,
            QueryBatch::Empirical { points } => points.iter().map(|p| p.0).max().unwrap_or(1),
        }
    }

    /// The mean batch.
    pub fn mean(&self) -> f64 {
        match self {
            QueryBatch::One => 1.0,
            QueryBatch::Fixed { batch } => f64::from(*batch),
            // Approximated by sampling a fixed stream: deterministic, within 1%.
            QueryBatch::LogNormal { .. } => {
                let mut r = Rng::new(0, u64::MAX);
                (0..20_000)
                    .map(|_| f64::from(self.sample(&mut r)))
                    .sum::<f64>()
                    / 20_000.0
            }
            QueryBatch::Empirical { points } => points.iter().map(|&(b, p)| f64::from(b) * p).sum(),
        }
    }
}

/// Generates one model's arrival times.
#[derive(Debug, Clone)]
pub struct ArrivalGen {
    kind: Arrival,
    mean_gap_ns: f64,
    rng: Rng,
    /// On/off: start (ns) of the current cycle, whose on period comes first.
    cycle_start_ns: f64,
}

impl ArrivalGen {
    /// A generator for `rate_rps` requests per second.
    pub fn new(kind: Arrival, rate_rps: f64, rng: Rng) -> ArrivalGen {
        ArrivalGen {
            kind,
            mean_gap_ns: 1e9 / rate_rps,
            rng,
            cycle_start_ns: 0.0,
        }
    }

    /// The next arrival time after `now` (ns).
    pub fn next(&mut self, now: u64) -> u64 {
        let t = now as f64;
        let next = match self.kind {
            Arrival::Poisson => t + self.rng.exponential(self.mean_gap_ns),
            Arrival::Gamma { cv } => {
                let k = 1.0 / (cv * cv);
                t + self.rng.gamma(k, self.mean_gap_ns / k)
            }
            Arrival::OnOff { on_s, off_s } => {
                let (on, period) = (on_s * 1e9, (on_s + off_s) * 1e9);
                let mean_on_gap = self.mean_gap_ns * on / period;
                let mut at = t;
                loop {
                    let pos = at - self.cycle_start_ns;
                    if pos >= period {
                        self.cycle_start_ns += (pos / period).floor() * period;
                        continue;
                    }
                    if pos < on {
                        let cand = at + self.rng.exponential(mean_on_gap);
                        if cand < self.cycle_start_ns + on {
                            break cand;
                        }
                    }
                    // Off, or the draw ran past the on period: the gaps are memoryless, so
                    // draw again from the next on period's start.
                    self.cycle_start_ns += period;
                    at = self.cycle_start_ns;
                }
            }
        };
        (next.ceil() as u64).max(now + 1)
    }
}

/// One arrival of a replayed trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// Time, ns from the trace's start.
    pub t_ns: u64,
    /// Model name, lowercase.
    pub model: String,
    /// Samples in the query.
    pub batch: u32,
}

/// A workload trace that cannot be read: the shared located input error (file and line).
pub type WorkloadError = migsched_core::InputError;

/// Parses a workload trace CSV: header `timestamp,model,batch` (columns in any order; extra
/// columns ignored), timestamp in seconds from the trace's start (non-decreasing), model name,
/// batch ≥ 1 (optional column; 1 when absent).
pub fn parse_trace_csv(text: &str, origin: &str) -> Result<Vec<Replayed>, WorkloadError> {
    let err = |line: Option<usize>, message: String| WorkloadError {
        origin: origin.to_string(),
        line,
        field: None,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(err(
            None,
            "the file is empty; expected a header `timestamp,model,batch`".into(),
        ));
    };
    let names: Vec<String> = header
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |n: &str| names.iter().position(|h| h == n);
    let (Some(ts), Some(model)) = (col("timestamp"), col("model")) else {
        return Err(err(
            Some(1),
            format!(
                "the header needs columns timestamp and model (found {})",
                names.join(",")
            ),
        ));
    };
    let batch = col("batch");
    let mut out = Vec::new();
    let mut last = 0.0f64;
    for (i, line) in lines {
        let lineno = i + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            return Err(err(
                Some(lineno),
                format!(
                    "{} cells, but the header has {} columns",
                    cells.len(),
                    names.len()
                ),
            ));
        }
        let t: f64 = cells[ts]
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| {
                err(
                    Some(lineno),
                    format!(
                        "timestamp '{}' is not a non-negative number of seconds",
                        cells[ts]
                    ),
                )
            })?;
        if t < last {
            return Err(err(
                Some(lineno),
                format!("timestamp {t} is before the previous line's {last}; sort the trace"),
            ));
        }
        last = t;
        let m = cells[model].to_ascii_lowercase();
        if m.is_empty() {
            return Err(err(Some(lineno), "model is empty".into()));
        }
        let b = match batch {
            None => 1,
            Some(c) => cells[c]
                .parse::<u32>()
                .ok()
                .filter(|&b| b >= 1)
                .ok_or_else(|| {
                    err(
                        Some(lineno),
                        format!("batch '{}' is not a whole number ≥ 1", cells[c]),
                    )
                })
                .and_then(|b| {
                    if b > MAX_QUERY_BATCH {
                        return Err(err(
                            Some(lineno),
                            format!(
                                "batch {b} is above the largest query batch, {MAX_QUERY_BATCH}"
                            ),
                        ));
                    }
                    Ok(b)
                })?,
        };
        out.push(Replayed {
            t_ns: Ns::from_s(t).get(),
            model: m,
            batch: b,
        });
    }
    if out.is_empty() {
        return Err(err(None, "no arrivals after the header".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps(kind: Arrival, n: usize) -> Vec<f64> {
        let mut g = ArrivalGen::new(kind, 1000.0, Rng::new(3, 0));
        let mut now = 0;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let next = g.next(now);
            out.push((next - now) as f64);
            now = next;
        }
        out
    }

    #[test]
    fn arrival_processes_keep_the_rate_and_their_burstiness() {
        for (kind, cv) in [
            (Arrival::Poisson, 1.0),
            (Arrival::Gamma { cv: 3.0 }, 3.0),
            (Arrival::Gamma { cv: 0.5 }, 0.5),
        ] {
            let g = gaps(kind.clone(), 200_000);
            let m = g.iter().sum::<f64>() / g.len() as f64;
            let sd = (g.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / g.len() as f64).sqrt();
            assert!((m - 1e6).abs() / 1e6 < 0.02, "{kind:?}: mean gap {m}");
            assert!((sd / m - cv).abs() / cv < 0.05, "{kind:?}: cv {}", sd / m);
        }
        let g = gaps(
            Arrival::OnOff {
                on_s: 0.5,
                off_s: 1.5,
            },
            200_000,
        );
        let total: f64 = g.iter().sum();
        assert!(
            (200_000.0 / (total / 1e9) - 1000.0).abs() < 25.0,
            "on/off average rate {}",
            200_000.0 / (total / 1e9)
        );
    }

    #[test]
    fn query_batches() {
        let mut r = Rng::new(1, 1);
        let d = QueryBatch::Empirical {
            points: vec![(1, 0.5), (8, 0.5)],
        };
        let n = 100_000;
        let eights = (0..n).filter(|_| d.sample(&mut r) == 8).count();
        assert!((eights as f64 / n as f64 - 0.5).abs() < 0.01);
        assert_eq!(d.mean(), 4.5);
        let ln = QueryBatch::LogNormal {
            mu: 1.0,
            sigma: 1.0,
            min: 1,
            max: 32,
        };
        assert!((0..1000).all(|_| (1..=32).contains(&ln.sample(&mut r))));
        assert_eq!(ln.max(), 32);
    }

    #[test]
    fn trace_csv() {
        let t = parse_trace_csv(
            "timestamp,model,batch\n0.5,ResNet50,4\n0.75,bert,1\n",
            "t.csv",
        )
        .unwrap();
        assert_eq!(
            t[0],
            Replayed {
                t_ns: 500_000_000,
                model: "resnet50".into(),
                batch: 4
            }
        );
        let e = |text: &str| parse_trace_csv(text, "t.csv").unwrap_err().to_string();
        assert_eq!(
            e(""),
            "t.csv: the file is empty; expected a header `timestamp,model,batch`"
        );
        assert_eq!(
            e("timestamp,model\n1,a\n0.5,a\n"),
            "t.csv:3: timestamp 0.5 is before the previous line's 1; sort the trace"
        );
        assert_eq!(
            e("timestamp,model,batch\n1,a,0\n"),
            "t.csv:2: batch '0' is not a whole number ≥ 1"
        );
        assert_eq!(
            e("time,model\n1,a\n"),
            "t.csv:1: the header needs columns timestamp and model (found time,model)"
        );
        assert_eq!(
            e("timestamp,model\n-1,a\n"),
            "t.csv:2: timestamp '-1' is not a non-negative number of seconds"
        );
        // One row of a billion samples made a trace of a billion entries.
        assert_eq!(
            e("timestamp,model,batch\n1,a,1000000000\n"),
            "t.csv:2: batch 1000000000 is above the largest query batch, 65536"
        );
    }

    #[test]
    fn parameters_outside_their_domains_name_the_bound() {
        assert_eq!(
            Arrival::Gamma { cv: 1e-300 }.validate().unwrap_err(),
            "gamma CV 1e-300 is outside 0.001 to 1000"
        );
        assert!(Arrival::Gamma { cv: 1e3 }.validate().is_ok());
        assert!(
            Arrival::OnOff {
                on_s: 1e-300,
                off_s: 1.0
            }
            .validate()
            .is_err()
        );
        assert!(
            Arrival::OnOff {
                on_s: 1.0,
                off_s: 0.0
            }
            .validate()
            .is_ok()
        );
        assert_eq!(
            QueryBatch::Fixed { batch: u32::MAX }
                .validate()
                .unwrap_err(),
            "query batch 4294967295 is outside 1 to 65536"
        );
        let parse = |s: &str| s.parse::<Arrival>().unwrap_err().to_string();
        assert_eq!(
            parse("gamma:1e-300"),
            "gamma:1e-300: gamma CV 1e-300 is outside 0.001 to 1000"
        );
        let q = "fixed:4294967295"
            .parse::<QueryBatch>()
            .unwrap_err()
            .to_string();
        assert_eq!(
            q,
            "fixed:4294967295: query batch 4294967295 is outside 1 to 65536"
        );
        let n = "lognormal:1e308"
            .parse::<crate::Noise>()
            .unwrap_err()
            .to_string();
        assert_eq!(n, "lognormal:1e308: CV 1e308 is above 1000");
    }

    #[test]
    fn a_gamma_cv_of_1e_minus_300_is_refused_by_the_engine() {
        // `simulate --arrival gamma:1e-300` never drew a gap (shape 1/CV² = inf).
        let setup = crate::SimSetup {
            models: vec![crate::ModelSpec {
                name: "m".into(),
                slo_ns: 1_000_000,
                rate_rps: 10.0,
                arrival: Arrival::Gamma { cv: 1e-300 },
                batch: QueryBatch::One,
            }],
            servers: Vec::new(),
            replay: None,
        };
        let e = crate::simulate(
            &setup,
            &crate::SimConfig::default(),
            &mut crate::schedulers::Fifs,
            &mut crate::NoObserver,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "model 'm': gamma CV 1e-300 is outside 0.001 to 1000");
    }
}
