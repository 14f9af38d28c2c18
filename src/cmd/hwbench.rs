//! `migsched hwbench ...`: the hardware bench's commands (defined in migsched-hwbench, shared
//! with the slim `migsched-hwbench` binary).

use anyhow::Result;
pub use migsched_hwbench::cli::HwbenchCommand;

use super::{Env, Outcome};

pub fn run(env: &Env, command: HwbenchCommand) -> Result<Outcome> {
    migsched_hwbench::cli::run(&env.catalog, command).map(Outcome::from_ok)
}
