//! The simulator's schedulers, arrival processes, query batches and noise as they are named
//! on the command line and in sweep specs.

use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use migsched_sim::schedulers::{Elsa, Fifs, LeastLoaded, RoundRobin};
use migsched_sim::{Arrival, Noise, QueryBatch, Scheduler};

/// A scheduler of the simulator, by name (`fifs`, `round-robin`, `least-loaded`, `elsa`).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SchedulerKind {
    /// First idle instance, FIFO (central queue per model)
    Fifs,
    /// Instances in turn
    RoundRobin,
    /// Earliest predicted completion
    LeastLoaded,
    /// PARIS's elastic scheduler: smallest partition that meets the deadline
    Elsa,
}

impl SchedulerKind {
    /// Every scheduler, in the order of the command line's list.
    pub const ALL: [SchedulerKind; 4] = [
        SchedulerKind::Fifs,
        SchedulerKind::RoundRobin,
        SchedulerKind::LeastLoaded,
        SchedulerKind::Elsa,
    ];

    /// The name on the command line and in sweep specs.
    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::Fifs => "fifs",
            SchedulerKind::RoundRobin => "round-robin",
            SchedulerKind::LeastLoaded => "least-loaded",
            SchedulerKind::Elsa => "elsa",
        }
    }
}

impl FromStr for SchedulerKind {
    type Err = anyhow::Error;

    /// A name, case-insensitive.
    fn from_str(s: &str) -> Result<SchedulerKind> {
        SchedulerKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .with_context(|| {
                let names: Vec<&str> = SchedulerKind::ALL.iter().map(|k| k.name()).collect();
                format!("scheduler '{s}' is not one of {}", names.join(", "))
            })
    }
}

/// Parses its command-line form.
pub fn parse_arrival(s: &str) -> Result<Arrival> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, what: &str| -> Result<f64> {
        p.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
            .with_context(|| format!("--arrival {s}: {what} '{p}' is not a positive number"))
    };
    Ok(match parts.as_slice() {
        ["poisson"] => Arrival::Poisson,
        ["gamma", cv] => Arrival::Gamma { cv: num(cv, "CV")? },
        ["onoff", on, off] => Arrival::OnOff {
            on_s: num(on, "ON_S")?,
            off_s: num(off, "OFF_S")?,
        },
        _ => bail!("--arrival '{s}' is not poisson, gamma:CV or onoff:ON_S:OFF_S"),
    })
}

/// Parses its command-line form.
pub fn parse_query_batch(s: &str) -> Result<QueryBatch> {
    let parts: Vec<&str> = s.split(':').collect();
    let int = |p: &str| -> Result<u32> {
        p.parse::<u32>()
            .ok()
            .filter(|&b| b >= 1)
            .with_context(|| format!("--query-batch {s}: '{p}' is not a batch ≥ 1"))
    };
    let float = |p: &str| -> Result<f64> {
        p.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .with_context(|| format!("--query-batch {s}: '{p}' is not a number"))
    };
    Ok(match parts.as_slice() {
        ["one"] => QueryBatch::One,
        ["fixed", b] => QueryBatch::Fixed { batch: int(b)? },
        ["lognormal", mu, sigma, min, max] => {
            let (min, max) = (int(min)?, int(max)?);
            if min > max {
                bail!("--query-batch {s}: MIN {min} is above MAX {max}");
            }
            QueryBatch::LogNormal {
                mu: float(mu)?,
                sigma: float(sigma)?.abs(),
                min,
                max,
            }
        }
        _ => bail!("--query-batch '{s}' is not one, fixed:B or lognormal:MU:SIGMA:MIN:MAX"),
    })
}

/// Parses its command-line form.
pub fn parse_noise(s: &str) -> Result<Noise> {
    Ok(match s.split(':').collect::<Vec<_>>().as_slice() {
        ["none"] => Noise::None,
        ["exp"] => Noise::Exponential,
        ["lognormal", cv] => Noise::LogNormal {
            cv: cv
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .with_context(|| format!("--noise {s}: CV '{cv}' is not a positive number"))?,
        },
        _ => bail!("--noise '{s}' is not none, exp or lognormal:CV"),
    })
}

/// The scheduler a command line asks for.
pub fn make_scheduler(kind: SchedulerKind, alpha: f64, beta: f64) -> Result<Box<dyn Scheduler>> {
    if !(alpha.is_finite() && alpha > 0.0 && beta.is_finite() && beta >= 0.0) {
        bail!("--alpha must be positive and --beta non-negative (got {alpha}, {beta})");
    }
    Ok(match kind {
        SchedulerKind::Fifs => Box::new(Fifs),
        SchedulerKind::RoundRobin => Box::new(RoundRobin::default()),
        SchedulerKind::LeastLoaded => Box::new(LeastLoaded),
        SchedulerKind::Elsa => Box::new(Elsa::new(alpha, beta)),
    })
}
