//! The simulator's schedulers, arrival processes, query batches and noise as they are named
//! on the command line and in sweep specs.

use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
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

/// Parses `--arrival` (errors name the option).
pub fn parse_arrival(s: &str) -> Result<Arrival> {
    s.parse().map_err(|e| anyhow!("--arrival {e}"))
}

/// Parses `--query-batch` (errors name the option).
pub fn parse_query_batch(s: &str) -> Result<QueryBatch> {
    s.parse().map_err(|e| anyhow!("--query-batch {e}"))
}

/// Parses `--noise` (errors name the option).
pub fn parse_noise(s: &str) -> Result<Noise> {
    s.parse().map_err(|e| anyhow!("--noise {e}"))
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
