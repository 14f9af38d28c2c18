//! Importers: turn other tools' profile and workload files into migsched's types.
//!
//! Each format has its own module. Importers take text (and the names the caller read it
//! under) and return plain values: [`RawRow`](crate::profile_table::RawRow)s to be validated
//! by [`ProfileTable::from_raw`](crate::profile_table::ProfileTable::from_raw), or
//! [`Scenario`]s. Reading files and directories is the caller's job (core does no file IO).
//!
//! | module | format |
//! |---|---|
//! | [`parvagpu`] | ParvaGPU's measured tables, `prof_data/<model>.csv` |
//! | [`parvagpu_slo`] | ParvaGPU's SLO scenarios, `SLO/SLO_latency.csv` + `SLO/SLO_req_rate.csv` |
//! | [`perf_analyzer`] | Triton `perf_analyzer -f` CSV output, one row per file |
//!
//! Every error is an [`ImportError`] naming the file, the line and, where there is one, the
//! column (by number and by name).

use std::fmt;

use thiserror::Error;

pub mod parvagpu;
pub mod parvagpu_slo;
pub mod perf_analyzer;

pub use parvagpu::{parse_profile_file, parse_profiles};
pub use parvagpu_slo::{Demand, Scenario, parse_scenarios};
pub use perf_analyzer::{LatencyStat, PerfAnalyzerOptions, UnknownLatencyStat, parse_row};

/// An input an importer cannot use. Displays as `file:line: column N (name): message`,
/// leaving out the parts that do not apply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{origin}{}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default(), column.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
pub struct ImportError {
    /// File name or other description of the source.
    pub origin: String,
    /// 1-based line in that file (the header, where there is one, is line 1).
    pub line: Option<usize>,
    /// The offending column.
    pub column: Option<Column>,
    /// What is wrong, with the offending value.
    pub message: String,
}

/// A column of a CSV file, by 1-based position and by name (the header's, or what the
/// position means in a file without a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// 1-based position in the line.
    pub number: usize,
    /// The column's name.
    pub name: String,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {} ({})", self.number, self.name)
    }
}

impl ImportError {
    /// An error at a position of `origin`.
    pub(crate) fn at(
        origin: &str,
        line: Option<usize>,
        column: Option<(usize, &str)>,
        message: impl Into<String>,
    ) -> ImportError {
        ImportError {
            origin: origin.to_string(),
            line,
            column: column.map(|(i, name)| Column {
                number: i + 1,
                name: name.to_string(),
            }),
            message: message.into(),
        }
    }
}

/// The non-blank lines of a text with their 1-based line numbers, without a leading
/// byte-order mark (spreadsheet exports often carry one).
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
}
