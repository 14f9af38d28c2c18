//! Why the analytic model cannot answer: bad parameters or arguments, a GPU it has no peak
//! figures for, or nothing to calibrate against.

use migsched_core::catalog::UnknownGpu;
use migsched_core::profile_table::TableError;
use thiserror::Error;

use crate::zoo::ZooError;

/// An error of the analytic model. Each message names the offending field or value.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalyticError {
    /// A parameter is out of its range.
    #[error("analytic parameter {field} = {value}: expected {expected}")]
    InvalidParam {
        /// The field of [`AnalyticParams`](super::AnalyticParams).
        field: &'static str,
        /// Its value as given.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// The GPU type has no `[gpu.datasheet]` entry in the catalog, so no peak compute or
    /// bandwidth to scale.
    #[error(
        "GPU '{gpu}' has no datasheet figures (fp16_tensor_tflops, memory_bandwidth_gbs) in the catalog; the analytic model needs them"
    )]
    NoDatasheet {
        /// The GPU type's id.
        gpu: String,
    },
    /// A batch size of zero was asked for.
    #[error("batch must be at least 1, got 0")]
    ZeroBatch,
    /// Zero MPS processes were asked for.
    #[error("procs (MPS processes per instance) must be at least 1, got 0")]
    ZeroProcs,
    /// The GPU is not in the catalog.
    #[error(transparent)]
    UnknownGpu(#[from] UnknownGpu),
    /// The generated rows do not make a valid table (for example two graphs with one name).
    #[error("generated table: {0}")]
    Table(#[from] TableError),
    /// A zoo model could not be built with the given options (BERT's sequence length).
    #[error(transparent)]
    Zoo(#[from] ZooError),
    /// No measured row could be used for calibration.
    #[error(
        "no usable rows to calibrate against ({rows} given; each needs a zoo model and a catalog GPU with datasheet figures): {reasons}"
    )]
    NoUsableRows {
        /// Rows given.
        rows: usize,
        /// Why rows were skipped, with counts.
        reasons: String,
    },
}
