//! Output helpers shared by the commands: the `out!`/`outln!` macros and JSON on stdout here;
//! stdout that ends quietly on a closed pipe, aligned text tables and atomic file writes come
//! from `migsched_hwbench::out`, which the slim `migsched-hwbench` binary uses too.

use anyhow::{Context, Result};
pub use migsched_hwbench::out::{Table, read_text, temp_path, write_atomic, write_stdout};
use serde::Serialize;

/// `print!` through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("encoding JSON output")?;
    write_stdout(format_args!("{text}\n"));
    Ok(())
}
