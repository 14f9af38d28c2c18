//! migsched-hwbench: the hardware bench, the only crate that touches a GPU.
//!
//! Discovery (NVML, loaded at run time) fills a [`state::DeviceState`] snapshot; everything
//! else works on snapshots, so it runs and is tested without a GPU: the comparison with the
//! catalog ([`compare`]), and the step planner that reaches a plan's layout changing only what
//! must change ([`steps`]). [`cli`] holds the `hwbench` commands, shared by `migsched hwbench`
//! and the slim standalone `migsched-hwbench` binary.

pub mod cli;
pub mod compare;
pub mod nvml;
pub mod state;
pub mod steps;
