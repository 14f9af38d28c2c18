//! Resource budgets of a simulation: a run whose backlog of requests in flight or whose
//! simulated clock explodes (a rate of 1e300 or a load of 1e9 keeps the clock at 0 while
//! requests pile up; an arrival gap of 1e300 s leaves it nowhere) stops with an error that
//! says which budget it exceeded, instead of exhausting memory or running forever.

use thiserror::Error;

/// Requests in flight (arrived, neither completed nor dropped) a run may hold by default:
/// 2^21 = 2,097,152, some hundreds of MB of simulator state. Far above the backlog of any run
/// whose instances keep up with their load.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 1 << 21;

/// The latest simulated time by default, ns: 2^58 ns, about 9.1 years. Below it every time,
/// deadline and predicted finish of the simulators fits a signed 64-bit nanosecond count with
/// room for their sums.
pub const DEFAULT_MAX_TIME_NS: u64 = 1 << 58;

/// The most autoscaling epochs of a gpulet run (each one replans).
pub const MAX_EPOCHS: u64 = 100_000;

/// The budgets of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most requests in flight at once.
    pub max_in_flight: u64,
    /// Latest simulated time, ns.
    pub max_time_ns: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_time_ns: DEFAULT_MAX_TIME_NS,
        }
    }
}

/// A run stopped because it exceeded a budget.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BudgetExceeded {
    /// Too many requests in flight: the servers fall ever further behind the arrivals.
    #[error(
        "the simulation stopped at t = {at_ns} ns with more than {limit} requests in flight (the budget of requests in flight): the arrivals far outrun the servers; lower the rate or load, or shorten the run"
    )]
    InFlight {
        /// The budget.
        limit: u64,
        /// Simulated time when it was exceeded, ns.
        at_ns: u64,
    },
    /// More autoscaling epochs than the budget: each replans, so an epoch of 1 µs over a
    /// minute would replan 60 million times.
    #[error(
        "an epoch of {epoch_s} s over {duration_s} s makes {epochs} autoscaling epochs, more than {limit}; lengthen the epoch"
    )]
    Epochs {
        /// The epoch, seconds.
        epoch_s: f64,
        /// The run's duration, seconds.
        duration_s: f64,
        /// Epochs the run would have.
        epochs: f64,
        /// The budget ([`MAX_EPOCHS`]).
        limit: u64,
    },
    /// The clock passed the latest simulated time.
    #[error(
        "the simulation stopped: its next event is at {at_ns} ns, beyond the latest simulated time of {limit} ns (about 9 years at the default); check rates, arrival gaps and latencies"
    )]
    Time {
        /// The budget, ns.
        limit: u64,
        /// The event's time, ns (saturated at u64::MAX).
        at_ns: u64,
    },
}

impl Budget {
    /// Checks one step of a run: the time of the event about to be handled and the requests
    /// in flight.
    pub fn check(&self, t_ns: u64, in_flight: u64) -> Result<(), BudgetExceeded> {
        if t_ns > self.max_time_ns {
            return Err(BudgetExceeded::Time {
                limit: self.max_time_ns,
                at_ns: t_ns,
            });
        }
        if in_flight > self.max_in_flight {
            return Err(BudgetExceeded::InFlight {
                limit: self.max_in_flight,
                at_ns: t_ns,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_budget_names_its_limit() {
        let b = Budget {
            max_in_flight: 10,
            max_time_ns: 1000,
        };
        assert_eq!(b.check(1000, 10), Ok(()));
        let e = b.check(5, 11).unwrap_err().to_string();
        assert!(
            e.contains("more than 10 requests in flight") && e.contains("t = 5 ns"),
            "{e}"
        );
        let e = b.check(1001, 0).unwrap_err().to_string();
        assert!(
            e.contains("1001 ns, beyond the latest simulated time of 1000 ns"),
            "{e}"
        );
    }
}
