//! Why a node-level profile or run cannot be built: each message names the field and value.

use migsched_perf::analytic::AnalyticError;
use thiserror::Error;

/// A node profile or a node-level run that cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LazyError {
    /// A profile needs at least one node.
    #[error("the node profile has no nodes (a model needs at least one kernel)")]
    EmptyProfile,
    /// One node's latency points are unusable.
    #[error("node {node} ('{name}'): {message}")]
    Node {
        /// Index of the node in execution order.
        node: usize,
        /// The node's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A parameter is out of its range.
    #[error("{field} = {value}: expected {expected}")]
    Invalid {
        /// The parameter, as the API spells it (`max_batch`, `window_ns`, `slo_ns`, ...).
        field: &'static str,
        /// Its value as given.
        value: String,
        /// What it must be.
        expected: String,
    },
    /// The run exceeded a budget (requests in flight, simulated time).
    #[error(transparent)]
    Budget(#[from] crate::budget::BudgetExceeded),
    /// The analytic model could not give node latencies.
    #[error("analytic node latencies: {0}")]
    Analytic(#[from] AnalyticError),
}

impl LazyError {
    /// An [`LazyError::Invalid`] for `field`.
    pub(crate) fn invalid(
        field: &'static str,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> LazyError {
        LazyError::Invalid {
            field,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
