//! Per-node latency profiles: for every node of a model, in execution order, its kernel time as
//! a function of the batch size, in integer nanoseconds, from explicit points (tests, measured
//! per-node tables) or from the analytic model of a zoo graph. The whole model's latency at a
//! batch is by definition the sum of its nodes' latencies from the same source.

use migsched_core::Ns;
use std::collections::BTreeMap;

use migsched_core::TraceNode;
use migsched_core::catalog::{GpuType, Profile};
use migsched_perf::analytic::{AnalyticParams, node_latencies};
use migsched_perf::zoo::ModelGraph;
use serde::{Deserialize, Serialize};

use super::error::LazyError;
use crate::setup::LatencyCurve;

/// One node's measured or modelled latency points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeCurve {
    /// The node's name.
    pub name: String,
    /// (batch, latency ns) points; between points the latency is linear in the batch, beyond
    /// the largest it follows the last two points (proportional to the batch with one point),
    /// below the smallest it is the smallest point's.
    pub latency_ns: Vec<(u32, f64)>,
}

/// One row of a per-node table: the whole-model table's schema with the node added to the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    /// The node's name; nodes run in the order of their first row.
    pub node: String,
    /// Batch size.
    pub batch: u32,
    /// Latency of the node's kernel at that batch, ms.
    pub latency_ms: f64,
}

/// Latency of every node of one model at batches `1..=max_batch`, ns. Every latency is at
/// least 1 ns, so a kernel always takes time.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeProfile {
    names: Vec<String>,
    max_batch: u32,
    /// `latency[node][batch - 1]`.
    latency: Vec<Vec<u64>>,
    /// `remaining[node][batch - 1]`: the latency of nodes `node..` at the batch; one row more
    /// than there are nodes (all zero), so a finished request has nothing remaining.
    remaining: Vec<Vec<u64>>,
}

/// The largest max batch a node profile covers (its tables have a row per batch).
pub const MAX_BATCH: u32 = 1 << 16;

/// The most (node, batch) cells a node profile holds: 2^24, about 256 MB of tables.
pub const MAX_PROFILE_CELLS: u64 = 1 << 24;

/// The longest whole-model latency at any batch, ns: 2^40 ns, about 18 minutes. With the
/// simulators' time and backlog budgets ([`crate::Budget`]) it keeps every predicted finish
/// and slack within a signed 64-bit nanosecond count.
pub const MAX_MODEL_LATENCY_NS: u64 = 1 << 40;

fn check_max_batch(max_batch: u32) -> Result<(), LazyError> {
    if max_batch == 0 {
        return Err(LazyError::invalid(
            "max_batch",
            0,
            "at least 1 (the largest batch the profile covers)",
        ));
    }
    if max_batch > MAX_BATCH {
        return Err(LazyError::invalid(
            "max_batch",
            max_batch,
            format!("at most {MAX_BATCH} (the largest batch a node profile covers)"),
        ));
    }
    Ok(())
}

fn check_cells(nodes: usize, max_batch: u32) -> Result<(), LazyError> {
    let cells = nodes as u64 * u64::from(max_batch);
    if cells > MAX_PROFILE_CELLS {
        return Err(LazyError::invalid(
            "max_batch",
            max_batch,
            format!(
                "at most {} for {nodes} nodes (a node profile holds at most {MAX_PROFILE_CELLS} node-batch latencies)",
                MAX_PROFILE_CELLS / nodes as u64
            ),
        ));
    }
    Ok(())
}

fn too_slow(names: &[String], batch: usize, total: u64) -> LazyError {
    LazyError::invalid(
        "latency",
        format!(
            "{total} ns for the whole model ({} nodes, from '{}') at batch {batch}",
            names.len(),
            names.first().map_or("", |n| n.as_str())
        ),
        format!("at most {MAX_MODEL_LATENCY_NS} ns (about 18 minutes) for the whole model"),
    )
}

impl NodeProfile {
    /// Builds a profile from per-node latency tables already sampled at batches
    /// `1..=max_batch` (`latency_ns[node][batch - 1]`).
    /// Refuses a whole-model latency above [`MAX_MODEL_LATENCY_NS`].
    fn from_table(names: Vec<String>, latency: Vec<Vec<u64>>) -> Result<NodeProfile, LazyError> {
        let max_batch = latency.first().map_or(0, |l| l.len()) as u32;
        let mut remaining = vec![vec![0u64; max_batch as usize]; latency.len() + 1];
        for k in (0..latency.len()).rev() {
            for b in 0..max_batch as usize {
                let total = remaining[k + 1][b].saturating_add(latency[k][b]);
                if total > MAX_MODEL_LATENCY_NS {
                    return Err(too_slow(&names, b + 1, total));
                }
                remaining[k][b] = total;
            }
        }
        Ok(NodeProfile {
            names,
            max_batch,
            latency,
            remaining,
        })
    }

    /// A profile from explicit per-node points, in execution order, covering batches
    /// `1..=max_batch`. Every point needs a batch of at least 1, no batch twice, and a finite
    /// positive latency; the interpolated latency must stay positive up to `max_batch`. Latencies
    /// are rounded to whole nanoseconds (at least 1).
    pub fn from_curves(curves: &[NodeCurve], max_batch: u32) -> Result<NodeProfile, LazyError> {
        check_max_batch(max_batch)?;
        if curves.is_empty() {
            return Err(LazyError::EmptyProfile);
        }
        check_cells(curves.len(), max_batch)?;
        let mut latency = Vec::with_capacity(curves.len());
        for (node, c) in curves.iter().enumerate() {
            let bad = |message: String| LazyError::Node {
                node,
                name: c.name.clone(),
                message,
            };
            if c.latency_ns.is_empty() {
                return Err(bad("no latency points".into()));
            }
            let mut seen = BTreeMap::new();
            for &(b, ns) in &c.latency_ns {
                if b == 0 {
                    return Err(bad("a point has batch 0; batches start at 1".into()));
                }
                if !(ns.is_finite() && ns > 0.0) {
                    return Err(bad(format!(
                        "latency {ns} ns at batch {b} is not a positive number"
                    )));
                }
                if seen.insert(b, ns).is_some() {
                    return Err(bad(format!("batch {b} has two points")));
                }
            }
            let curve = LatencyCurve::new(c.latency_ns.clone()).expect("at least one point");
            let mut row = Vec::with_capacity(max_batch as usize);
            for b in 1..=max_batch {
                let ns = curve.at(b);
                if !(ns.is_finite() && ns > 0.0) {
                    return Err(bad(format!(
                        "the points extrapolate to a latency of {ns} ns at batch {b}; give a point at or beyond batch {max_batch}"
                    )));
                }
                if ns > MAX_MODEL_LATENCY_NS as f64 {
                    return Err(bad(format!(
                        "latency {ns:e} ns at batch {b} is above the longest whole-model latency, {MAX_MODEL_LATENCY_NS} ns (about 18 minutes)"
                    )));
                }
                row.push((ns.round() as u64).max(1));
            }
            latency.push(row);
        }
        NodeProfile::from_table(curves.iter().map(|c| c.name.clone()).collect(), latency)
    }

    /// A profile from the rows of a per-node table (the whole-model table's schema with a
    /// node column), nodes in the order of their first row; see
    /// [`from_curves`](Self::from_curves) for the rules.
    pub fn from_rows(rows: &[NodeRow], max_batch: u32) -> Result<NodeProfile, LazyError> {
        let mut index = BTreeMap::new();
        let mut curves: Vec<NodeCurve> = Vec::new();
        for r in rows {
            let i = *index.entry(r.node.as_str()).or_insert_with(|| {
                curves.push(NodeCurve {
                    name: r.node.clone(),
                    latency_ns: Vec::new(),
                });
                curves.len() - 1
            });
            curves[i].latency_ns.push((r.batch, r.latency_ms * 1e6));
        }
        NodeProfile::from_curves(&curves, max_batch)
    }

    /// The analytic model's profile of `graph` on one process of an instance of `profile`
    /// (one of `gpu`'s profiles), for batches `1..=max_batch`: the graph's nodes that run as
    /// kernels, in execution order, each with [`node_latencies`]' time rounded to whole
    /// nanoseconds. Graph inputs and epilogues fused into the preceding GEMM cost nothing and
    /// are not kernels, so they are left out: they would add zero-time scheduling points and
    /// change no sum.
    pub fn from_graph(
        graph: &ModelGraph,
        gpu: &GpuType,
        profile: &Profile,
        max_batch: u32,
        params: &AnalyticParams,
    ) -> Result<NodeProfile, LazyError> {
        check_max_batch(max_batch)?;
        let mut names = Vec::new();
        let mut kernels = Vec::new();
        let mut latency: Vec<Vec<u64>> = Vec::new();
        for b in 1..=max_batch {
            let nodes = node_latencies(graph, gpu, profile, b, 1, params)?;
            if b == 1 {
                for (i, n) in nodes.iter().enumerate() {
                    if n.kind.is_kernel() {
                        kernels.push(i);
                        names.push(n.name.clone());
                    }
                }
                if kernels.is_empty() {
                    return Err(LazyError::EmptyProfile);
                }
                check_cells(kernels.len(), max_batch)?;
                latency = vec![Vec::with_capacity(max_batch as usize); kernels.len()];
            }
            for (row, &i) in latency.iter_mut().zip(&kernels) {
                row.push(Ns::from_us(nodes[i].latency_us).get().max(1));
            }
        }
        NodeProfile::from_table(names, latency)
    }

    /// Nodes (kernels) in execution order.
    pub fn node_count(&self) -> u32 {
        self.names.len() as u32
    }

    /// The nodes' names, in execution order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The largest batch the profile covers.
    pub fn max_batch(&self) -> u32 {
        self.max_batch
    }

    /// Latency of node `node` at batch `batch`, ns.
    ///
    /// # Panics
    /// When `node` is not a node or `batch` is outside `1..=max_batch`.
    pub fn latency_ns(&self, node: u32, batch: u32) -> u64 {
        self.latency[node as usize][self.batch_index(batch)]
    }

    /// Latency of nodes `node..` at batch `batch`, ns: what a batch that has run nodes
    /// `..node` still needs; 0 for `node` = [`node_count`](Self::node_count).
    ///
    /// # Panics
    /// When `node` is past the end or `batch` is outside `1..=max_batch`.
    pub fn remaining_ns(&self, node: u32, batch: u32) -> u64 {
        self.remaining[node as usize][self.batch_index(batch)]
    }

    /// Latency of the whole model at batch `batch` (the sum of its nodes'), ns.
    ///
    /// # Panics
    /// When `batch` is outside `1..=max_batch`.
    pub fn whole_ns(&self, batch: u32) -> u64 {
        self.remaining_ns(0, batch)
    }

    /// The profile as a trace header's node table (`latency_ns[b - 1]` per node), so that a
    /// checker can recompute the scheduler's predictions.
    pub fn trace_nodes(&self) -> Vec<TraceNode> {
        self.names
            .iter()
            .zip(&self.latency)
            .map(|(name, l)| TraceNode {
                name: name.clone(),
                latency_ns: l.clone(),
            })
            .collect()
    }

    fn batch_index(&self, batch: u32) -> usize {
        assert!(
            (1..=self.max_batch).contains(&batch),
            "batch {batch} is outside the node profile's 1..={}",
            self.max_batch
        );
        batch as usize - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migsched_core::catalog::Catalog;
    use migsched_perf::analytic::estimate;
    use migsched_perf::zoo::{ZooOptions, build};

    fn curve(name: &str, points: &[(u32, f64)]) -> NodeCurve {
        NodeCurve {
            name: name.into(),
            latency_ns: points.to_vec(),
        }
    }

    #[test]
    fn curves_interpolate_and_sum() {
        let p = NodeProfile::from_curves(
            &[
                curve("a", &[(1, 100.0), (4, 400.0)]),
                curve("b", &[(2, 50.4)]),
            ],
            5,
        )
        .unwrap();
        assert_eq!(p.node_count(), 2);
        assert_eq!(p.names(), ["a", "b"]);
        assert_eq!(
            (1..=5).map(|b| p.latency_ns(0, b)).collect::<Vec<_>>(),
            [100, 200, 300, 400, 500]
        );
        assert_eq!(
            (1..=5).map(|b| p.latency_ns(1, b)).collect::<Vec<_>>(),
            [50, 50, 76, 101, 126]
        );
        for b in 1..=5 {
            assert_eq!(p.whole_ns(b), p.latency_ns(0, b) + p.latency_ns(1, b));
            assert_eq!(p.remaining_ns(1, b), p.latency_ns(1, b));
            assert_eq!(p.remaining_ns(2, b), 0);
        }
    }

    #[test]
    fn rows_keep_the_order_of_first_appearance() {
        let row = |node: &str, batch, latency_ms| NodeRow {
            node: node.into(),
            batch,
            latency_ms,
        };
        let p = NodeProfile::from_rows(
            &[
                row("conv", 1, 1.0),
                row("fc", 1, 0.5),
                row("conv", 2, 1.5),
                row("fc", 2, 0.75),
            ],
            2,
        )
        .unwrap();
        assert_eq!(p.names(), ["conv", "fc"]);
        assert_eq!(p.whole_ns(2), 2_250_000);
    }

    #[test]
    fn bad_points_are_errors() {
        let e = |curves: &[NodeCurve], max: u32| {
            NodeProfile::from_curves(curves, max)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(&[], 4),
            "the node profile has no nodes (a model needs at least one kernel)"
        );
        assert_eq!(
            e(&[curve("a", &[(1, 1.0)])], 0),
            "max_batch = 0: expected at least 1 (the largest batch the profile covers)"
        );
        assert_eq!(e(&[curve("a", &[])], 2), "node 0 ('a'): no latency points");
        assert_eq!(
            e(&[curve("a", &[(1, 1.0)]), curve("b", &[(0, 1.0)])], 2),
            "node 1 ('b'): a point has batch 0; batches start at 1"
        );
        assert_eq!(
            e(&[curve("a", &[(1, f64::NAN)])], 2),
            "node 0 ('a'): latency NaN ns at batch 1 is not a positive number"
        );
        assert_eq!(
            e(&[curve("a", &[(1, 2.0), (1, 3.0)])], 2),
            "node 0 ('a'): batch 1 has two points"
        );
        assert_eq!(
            e(&[curve("a", &[(1, 10.0), (2, 4.0)])], 4),
            "node 0 ('a'): the points extrapolate to a latency of -2 ns at batch 3; give a point at or beyond batch 4"
        );
    }

    #[test]
    fn whole_model_latency_is_the_analytic_estimate() {
        let catalog = Catalog::builtin();
        let gpu = catalog.gpu("a100-80gb").unwrap();
        let params = AnalyticParams::default();
        for (model, profile) in [
            ("resnet50", "7g.80gb"),
            ("bert-base", "3g.40gb"),
            ("mobilenetv2", "1g.10gb"),
        ] {
            let graph = build(model, &ZooOptions::default()).unwrap();
            let prof = gpu.profile(gpu.profile_by_name(profile).unwrap());
            let p = NodeProfile::from_graph(&graph, gpu, prof, 16, &params).unwrap();
            assert!(p.node_count() > 10, "{model}: {} kernels", p.node_count());
            for b in [1, 2, 7, 16] {
                let e = estimate(&graph, gpu, prof, b, 1, &params).unwrap();
                let ns = e.latency_ms * 1e6;
                // Each node is rounded to the nearest ns.
                let tolerance = 0.5 * f64::from(p.node_count()) + 1e-9 * ns;
                assert!(
                    (p.whole_ns(b) as f64 - ns).abs() <= tolerance,
                    "{model} on {profile} at batch {b}: {} ns vs {ns} ns",
                    p.whole_ns(b)
                );
            }
        }
    }
}
