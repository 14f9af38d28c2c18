//! migsched's experiments, as a library: the `reproduce` targets (one module each), the sweep,
//! peak search, benchmarks, and the tables, plots and summaries they write. The `migsched`
//! binary parses arguments and calls one function here per command.
//!
//! Above core, perf, solver and sim; polars is used here (tables on disk, sweep aggregation)
//! and in no crate below.

#[macro_use]
extern crate migsched_out;

#[cfg(feature = "parquet")]
pub mod aggregate;
pub mod bench;
pub mod catalog;
pub mod cell;
pub mod checks;
pub mod gpulet;
pub mod import;
pub mod inputs;
pub mod interference;
pub mod layouts;
pub mod mig_parted;
pub mod models;
pub mod nodes;
pub mod observe;
pub mod peak;
pub mod profiles;
pub mod report;
pub mod reproduce;
pub mod sched;
pub mod simulate;
pub mod solve;
pub mod sweep;
pub mod tables;

pub use inputs::Env;
