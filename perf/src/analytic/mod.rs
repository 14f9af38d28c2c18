//! An analytic latency, throughput and memory model of serving a zoo model on a MIG instance,
//! per node and per model, and its calibration to measured profile tables.
//!
//! The model is a roofline per graph node with a wave-quantization (SM-fill) efficiency and a
//! per-kernel overhead ([`node_latencies`]), summed over the graph in execution order for a
//! whole-model [`estimate`]; [`generate_table`] turns it into a
//! [`ProfileTable`](migsched_core::profile_table::ProfileTable) over every profile of a GPU, and
//! [`calibrate`] fits its efficiencies and overhead to measured rows. Its free parameters are
//! [`AnalyticParams`]; its hardware figures come from the catalog's datasheet entries.
//!
//! # The model
//! For one of `k` MPS processes on an instance of `S_i` SMs and `m` of the GPU's `M` memory
//! slices ([`ProcessShare`]): `S = S_i/k` SMs on average, peak per SM = GPU tensor peak / GPU
//! SMs, bandwidth `B` = GPU bandwidth · `m/M` / `k`. A node that runs as a kernel takes
//!
//! ```text
//! max(compute, memory) + kernel_overhead_us
//! compute = FLOPs(b) / (peak_per_SM · S · compute_efficiency · fill(b))     GEMM-like nodes
//! memory  = (b · (input + output bytes per sample) + weight bytes) / (B · bandwidth_efficiency)
//! ```
//!
//! - **SM fill** of a GEMM cut into `tile_m x tile_n` output tiles (`tiles = ceil(M·b/tile_m)
//!   · ceil(N/tile_n) · groups`; attention batches as groups): `waves = ceil(tiles/S)` for one
//!   process, `max(ceil(tiles/S_i), tiles/S)` for `k` (a fluid pool: unsynchronized MPS clients
//!   fill each other's tail SMs); a wave lasts as long as its largest tile, so
//!   `fill = FLOPs / (waves · S · tile FLOPs)`. A GEMM smaller than one tile in M shrinks its
//!   tile. This keeps latency non-decreasing in the batch and makes larger partitions need
//!   larger batches to saturate.
//! - **Other nodes** are memory-bound kernels; embeddings read only the gathered rows. Graph
//!   inputs are free (already on the GPU). With `fuse_epilogues`, a batch norm or activation
//!   right after a GEMM (its only reader) is folded into it and free.
//! - **Whole model**: latency = sum of node times; throughput of the instance = `k · b /
//!   latency`; memory = `k · (context_mib + weights) + k · b · peak live activations per sample
//!   · activation_factor` (each process holds its own context and weights). A configuration
//!   over the profile's memory is infeasible and left out of generated tables.
//!
//! ```
//! use migsched_perf::analytic::{AnalyticParams, estimate};
//! use migsched_core::catalog::Catalog;
//! use migsched_perf::zoo::{ZooOptions, build};
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

mod calibrate;
mod error;
#[cfg(test)]
mod laws;
mod model;
mod nelder_mead;
mod node;
mod params;
mod share;
mod table;

pub use calibrate::{
    CalibrationOptions, CalibrationReport, ErrorStats, FitPair, ModelError, ModelProfileError,
    SkipReason, SkippedRows, calibrate,
};
pub use error::AnalyticError;
pub use model::{ModelEstimate, estimate, node_latencies};
pub use node::{NodeKind, NodeLatency};
pub use params::AnalyticParams;
pub use share::ProcessShare;
pub use table::{ANALYTIC_SOURCE, generate_table};

pub(crate) use model::PreparedGraph;
pub(crate) use node::RawCost;
