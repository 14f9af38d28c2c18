//! migsched-out: the output of both binaries (`migsched` and the slim `migsched-hwbench`).
//!
//! Stdout is written only here ([`write_stdout`], behind the [`out!`] and [`outln!`] macros and
//! [`print_json`]): it ends the process quietly when the reader has gone away (`| head`), where
//! `print!` would panic. Also aligned text tables ([`Table`]), whole-file reads that name the
//! file and stop at a size limit ([`read_text`], [`read_bytes`]) and record the file as an
//! input, and file writes that never leave a partial file behind, never replace a directory,
//! device, link or input, and come all or nothing for a command's several files
//! ([`write_atomic`], [`Outputs`], [`StreamWriter`]); temporary files are removed on
//! SIGINT/SIGTERM ([`TempGuard`]). Text from input is echoed through [`display_safe`].

mod inputs;
mod outputs;
mod safe;
mod temps;

use std::io::Write as _;

pub use inputs::{
    DEFAULT_MAX_INPUT_BYTES, MAX_INPUT_BYTES_ENV, allow_update, max_input_bytes, protect_inputs,
    read_bytes, read_text, register_input,
};
pub use outputs::{
    Outputs, STREAM_PATHS, StreamWriter, check_output, temp_path, write_atomic, write_atomic_bytes,
};
pub use safe::{MAX_MESSAGE_CHARS, MAX_SHOWN_CHARS, display_path, display_safe, message_safe};
pub use temps::{TempGuard, live_temps};

use anyhow::{Context, Result};
use serde::Serialize;

/// Writes formatted text to stdout; when the reader has gone away, exits quietly (status 0) as
/// a pipeline expects instead of panicking. Any other write error ends the process with
/// status 2 (unusable output).
// The one place that touches stdout: `print!` panics on a closed pipe, so the workspace denies
// it (clippy::print_stdout) and a raw `std::io::stdout()` (clippy::disallowed_methods, see
// clippy.toml) everywhere else; every command writes through here.
#[allow(clippy::disallowed_methods)]
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// `print!` through [`write_stdout`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

/// `println!` through [`write_stdout`].
#[macro_export]
macro_rules! outln {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("encoding JSON output")?;
    write_stdout(format_args!("{text}\n"));
    Ok(())
}

/// A text table with a header row; columns are padded to their widest cell.
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns named by `headers`; a header starting with '>' is right-aligned (the '>' is
    /// not printed).
    pub fn new(headers: &[&str]) -> Table {
        Table {
            right: headers.iter().map(|h| h.starts_with('>')).collect(),
            headers: headers
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (as many cells as headers).
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.headers.len(),
            "a table row for columns {:?} has {} cells (a bug)",
            self.headers,
            cells.len()
        );
        self.rows.push(cells);
    }

    /// The table with two-space gaps and no trailing spaces.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[c] - cell.chars().count());
                if self.right[c] {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test (tests share the process, so each has its own).
    pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("migsched-out-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["name", ">n"]);
        t.row(vec!["a".into(), "10".into()]);
        t.row(vec!["long".into(), "2".into()]);
        assert_eq!(t.render(), "name   n\na     10\nlong   2\n");
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = scratch("replace");
        let p = dir.join("x.txt");
        write_atomic(&p, "one").unwrap();
        write_atomic(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
