//! migsched-perf: migsched's performance model.
//!
//! How fast a served model runs on a slice of a GPU, computed rather than measured: the
//! model zoo as layer graphs with per-node costs ([`zoo`]), a roofline latency, throughput
//! and memory model per node and per model with its calibration to measured tables
//! ([`analytic`]), and MPS gpulets by SM percentage with their interference model
//! ([`gpulet`]). Its hardware figures come from `migsched-core`'s catalog, and its tables
//! are core's [`ProfileTable`](migsched_core::ProfileTable)s, so the planners and the
//! simulator consume generated and measured tables alike; [`source`] builds the analytic
//! tables an instance asks for (reading measured table files is the caller's job).
//!
//! Pure functions of their inputs: no IO beyond parsing and printing text, no clock, no
//! RNG, no solver, no GPU. The checkers (`migsched-verify`) and the hardware bench
//! (`migsched-hwbench`) do not depend on this crate.

pub mod analytic;
pub mod gpulet;
pub mod source;
#[cfg(test)]
mod test_support;
pub mod zoo;
