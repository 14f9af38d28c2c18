//! The policies of one node-level instance: serial, graph batching and lazy batching, as
//! choices over the same groups at each scheduling point.

use serde::Serialize;

use super::error::LazyError;
use super::groups::Groups;
use super::profile::NodeProfile;
use super::slack;

/// How the instance turns waiting requests into node kernels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Policy {
    /// First come, first served, one request at a time through the whole graph (every kernel
    /// at batch 1).
    Serial,
    /// Graph batching, as Triton's dynamic batcher with a max queue delay: when the instance is
    /// free, the oldest waiting requests (up to `max_batch`) form a batch, which starts once it
    /// is full or its oldest request has waited `window_ns`; it then runs the whole graph at
    /// that size, node after node. Requests arriving while it runs wait for the next batch.
    Graph {
        /// The batching window, ns, counted from the arrival of the batch's oldest request
        /// (a float so that any parsed number can be checked; rounded to whole ns).
        window_ns: f64,
        /// Largest batch.
        max_batch: u32,
    },
    /// LazyBatching: requests progress node by node in groups; at each scheduling point the
    /// least-progressed group that may catch up with the group ahead of it (the merge fits
    /// `max_batch` and the slack rule allows it) runs its next node, else the most progressed
    /// group does. See the module docs for the rule.
    Lazy {
        /// Largest batch of a kernel (and so of a group).
        max_batch: u32,
    },
}

impl Policy {
    /// Short name (`serial`, `graph`, `lazy`).
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Serial => "serial",
            Policy::Graph { .. } => "graph",
            Policy::Lazy { .. } => "lazy",
        }
    }

    /// Parameters, for reports.
    pub fn parameters(&self) -> Vec<(String, f64)> {
        match *self {
            Policy::Serial => Vec::new(),
            Policy::Graph {
                window_ns,
                max_batch,
            } => vec![
                ("window_ms".into(), window_ns / 1e6),
                ("max_batch".into(), f64::from(max_batch)),
            ],
            Policy::Lazy { max_batch } => vec![("max_batch".into(), f64::from(max_batch))],
        }
    }

    /// Largest batch of a kernel (1 for serial).
    pub fn max_batch(&self) -> u32 {
        match *self {
            Policy::Serial => 1,
            Policy::Graph { max_batch, .. } | Policy::Lazy { max_batch } => max_batch,
        }
    }

    /// Checks the parameters against the profile; returns the window in whole ns (0 unless
    /// graph batching).
    pub(crate) fn check(&self, profile: &NodeProfile) -> Result<u64, LazyError> {
        let max_batch = self.max_batch();
        if max_batch == 0 {
            return Err(LazyError::invalid(
                "max_batch",
                0,
                format!("at least 1 ({} policy)", self.name()),
            ));
        }
        if max_batch > profile.max_batch() {
            return Err(LazyError::invalid(
                "max_batch",
                max_batch,
                format!(
                    "at most the node profile's max batch {}",
                    profile.max_batch()
                ),
            ));
        }
        match *self {
            Policy::Graph { window_ns, .. } => {
                if !(window_ns.is_finite() && (0.0..9e18).contains(&window_ns)) {
                    return Err(LazyError::invalid(
                        "window_ns",
                        window_ns,
                        "a finite number of nanoseconds, at least 0",
                    ));
                }
                Ok(window_ns.round() as u64)
            }
            _ => Ok(0),
        }
    }
}

/// What the instance does at a scheduling point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Run the next node of this group.
    Run {
        /// Index in default order.
        index: usize,
        /// Whether it catches up with a more progressed group (lazy only).
        catch_up: bool,
        /// The smallest predicted slack among its members (lazy only), ns.
        slack_ns: Option<i64>,
    },
    /// Stay idle until this time unless something arrives (a graph batch's window).
    Wait {
        /// When the window closes, ns.
        until_ns: u64,
    },
}

/// The decision of `policy` over `groups` (non-empty) at `now`.
pub(crate) fn decide(
    policy: &Policy,
    window_ns: u64,
    groups: &mut Groups,
    now: u64,
    profile: &NodeProfile,
) -> Decision {
    let top = Decision::Run {
        index: 0,
        catch_up: false,
        slack_ns: None,
    };
    match *policy {
        // With groups of one, the most progressed request is the one started, else the oldest.
        Policy::Serial => top,
        Policy::Graph { max_batch, .. } => {
            let g = groups.front().expect("a scheduling point without groups");
            let closes = g.members[0].arrival_ns.saturating_add(window_ns);
            if g.node > 0 || g.size() >= max_batch || now >= closes {
                top
            } else {
                Decision::Wait { until_ns: closes }
            }
        }
        Policy::Lazy { max_batch } => {
            let p = slack::pick(groups.list(), now, profile, max_batch);
            Decision::Run {
                index: p.index,
                catch_up: p.catch_up,
                slack_ns: Some(p.slack_ns),
            }
        }
    }
}
