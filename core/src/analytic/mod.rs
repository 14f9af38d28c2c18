//! An analytic latency, throughput and memory model of serving a zoo model on a MIG instance,
//! per node ([`node_latencies`]) and per model ([`estimate`]), and whole profile tables over
//! every profile of a GPU ([`generate_table`]). Its free parameters are [`AnalyticParams`]; its
//! hardware figures come from the catalog's datasheet entries.
//!
//! ```
//! use migsched_core::analytic::{AnalyticParams, estimate};
//! use migsched_core::catalog::Catalog;
//! use migsched_core::zoo::{ZooOptions, build};
//!
//! let graph = build("resnet50", &ZooOptions::default())?;
//! let gpu = Catalog::builtin().gpu("a100-80gb")?;
//! let small = gpu.profile(gpu.profile_by_name("1g.10gb")?);
//! let large = gpu.profile(gpu.profile_by_name("7g.80gb")?);
//! let params = AnalyticParams::default();
//! let on_small = estimate(&graph, gpu, small, 32, 1, &params)?;
//! let on_large = estimate(&graph, gpu, large, 32, 1, &params)?;
//! assert!(on_large.latency_ms < on_small.latency_ms);
//! assert!(on_small.fits && on_large.fits);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
#[cfg(test)]
mod laws;
mod model;
mod node;
mod params;
mod share;
mod table;

pub use error::AnalyticError;
pub use model::{ModelEstimate, estimate, node_latencies};
pub use node::{NodeKind, NodeLatency};
pub use params::AnalyticParams;
pub use share::ProcessShare;
pub use table::{ANALYTIC_SOURCE, generate_table};
