//! The `migsched` command line: thin glue over the library crates.
//!
//! Exit codes, the same for every command: 0 success; 1 the answer is "no" (an illegal
//! layout, an unplaceable config, differences found); 2 unusable input or usage.

#[macro_use]
extern crate migsched_out;

mod cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::cmd::{Cli, Outcome};

fn main() -> ExitCode {
    // No command writes over a file it read (unless it updates it on purpose, as
    // `profile import --append` and `report` do).
    migsched_out::protect_inputs();
    if std::env::var_os("MIGSCHED_CATALOG").is_some_and(|v| v.is_empty()) {
        eprintln!(
            "error: the environment variable MIGSCHED_CATALOG is set but empty: unset it, or \
             set it to a catalog file"
        );
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cmd::run(cli) {
        Ok(Outcome::Yes) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", migsched_out::message_safe(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
