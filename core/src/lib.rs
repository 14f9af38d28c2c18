//! migsched-core: the shared vocabulary of migsched.
//!
//! The GPU/MIG catalog and layout rules, and the plain data types that every other crate
//! exchanges. No IO beyond parsing and printing text, no clock, no RNG, no solver, no GPU.

pub mod zoo;
