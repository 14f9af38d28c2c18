//! Profile tables: for (GPU type, MIG profile, model, batch size, MPS processes) the latency,
//! throughput and memory of one GPU instance. Every planner and scheduler consumes one.
//!
//! CSV schema (header required, columns in any order):
//!
//! | column | meaning |
//! |---|---|
//! | `gpu` | catalog GPU id or name (stored as the id) |
//! | `profile` | a MIG profile of that GPU, e.g. `3g.40gb` |
//! | `model` | model name, lowercase (`resnet50`, `bert-base`, or any name of the user's) |
//! | `batch` | batch size per inference call, ≥ 1 |
//! | `procs` | MPS processes sharing the instance, ≥ 1 (1 = MIG only) |
//! | `latency_ms` | time of one batch on one process while all `procs` run, > 0 |
//! | `throughput_rps` | samples per second served by the whole instance (all processes), > 0 |
//! | `memory_mib` | memory of the whole instance, > 0; empty when not measured |
//! | `source` | where the row comes from (`analytic`, `parvagpu`, `measured`, ...) |
//!
//! A missing row means the configuration is infeasible (for example out of memory).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::InputError;

/// The CSV header, in the order [`ProfileTable::to_csv`] writes it.
pub const COLUMNS: [&str; 9] = [
    "gpu",
    "profile",
    "model",
    "batch",
    "procs",
    "latency_ms",
    "throughput_rps",
    "memory_mib",
    "source",
];

/// What identifies a row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ProfileKey {
    /// Catalog GPU id.
    pub gpu: String,
    /// MIG profile name as the catalog spells it.
    pub profile: String,
    /// Model name, lowercase.
    pub model: String,
    /// Batch size.
    pub batch: u32,
    /// MPS processes.
    pub procs: u32,
}

/// One measured or estimated serving option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileRow {
    /// The row's key.
    #[serde(flatten)]
    pub key: ProfileKey,
    /// Latency of one batch on one process, in milliseconds.
    pub latency_ms: f64,
    /// Samples per second of the whole instance.
    pub throughput_rps: f64,
    /// Memory of the whole instance in MiB, when known.
    pub memory_mib: Option<f64>,
    /// Provenance of the row.
    pub source: String,
}

/// A validated set of rows with unique keys, sorted by key.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ProfileTable {
    rows: Vec<ProfileRow>,
}

/// A table that cannot be used: the shared located input error, naming the file, line
/// (1-based, the header is line 1; the row number for non-CSV sources) and column
/// (`column NAME`) where there is one.
pub type TableError = InputError;

/// A table error at `line` and `column`.
pub fn table_error(
    origin: &str,
    line: Option<usize>,
    column: Option<&str>,
    message: impl Into<String>,
) -> TableError {
    InputError {
        origin: origin.to_string(),
        line,
        field: column.map(|c| format!("column {c}")),
        message: message.into(),
    }
}

/// A row before validation, as read from any source (CSV, Parquet, an importer).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// GPU id or name.
    pub gpu: String,
    /// Profile name.
    pub profile: String,
    /// Model name.
    pub model: String,
    /// Batch size.
    pub batch: u32,
    /// MPS processes.
    pub procs: u32,
    /// Latency in ms.
    pub latency_ms: f64,
    /// Throughput in samples/s.
    pub throughput_rps: f64,
    /// Memory in MiB.
    pub memory_mib: Option<f64>,
    /// Provenance.
    pub source: String,
    /// Where the row was read (line or row number), for errors.
    pub line: Option<usize>,
}

impl ProfileTable {
    /// Parses and validates CSV text. `origin` names the source in errors.
    pub fn from_csv_str(
        catalog: &Catalog,
        text: &str,
        origin: &str,
    ) -> Result<ProfileTable, TableError> {
        let err = |line: Option<usize>, column: Option<&str>, message: String| {
            table_error(origin, line, column, message)
        };
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((header_index, header)) = lines.next() else {
            return Err(err(
                None,
                None,
                format!(
                    "the file is empty; expected a CSV header `{}`",
                    COLUMNS.join(",")
                ),
            ));
        };
        let names: Vec<String> = split_csv_line(header)
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let mut position = [usize::MAX; COLUMNS.len()];
        for (i, name) in names.iter().enumerate() {
            match COLUMNS.iter().position(|c| c == name) {
                Some(c) if position[c] == usize::MAX => position[c] = i,
                Some(_) => {
                    return Err(err(
                        Some(header_index + 1),
                        Some(name),
                        "appears twice in the header".into(),
                    ));
                }
                None => {
                    return Err(err(
                        Some(header_index + 1),
                        None,
                        format!(
                            "unknown column '{name}'; the columns are {}",
                            COLUMNS.join(",")
                        ),
                    ));
                }
            }
        }
        if let Some(missing) = COLUMNS.iter().zip(position).find(|(_, p)| *p == usize::MAX) {
            return Err(err(
                Some(header_index + 1),
                None,
                format!("missing column '{}' in the header", missing.0),
            ));
        }
        let mut raw = Vec::new();
        for (i, line) in lines {
            let lineno = i + 1;
            let cells = split_csv_line(line);
            if cells.len() != names.len() {
                return Err(err(
                    Some(lineno),
                    None,
                    format!(
                        "{} cells, but the header has {} columns",
                        cells.len(),
                        names.len()
                    ),
                ));
            }
            let cell = |c: usize| cells[position[c]].trim();
            let count = |c: usize| -> Result<u32, TableError> {
                let v = cell(c);
                match v.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(err(
                        Some(lineno),
                        Some(COLUMNS[c]),
                        format!("'{v}' is not a whole number ≥ 1"),
                    )),
                }
            };
            let positive = |c: usize| -> Result<f64, TableError> {
                let v = cell(c);
                match v.parse::<f64>() {
                    Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                    _ => Err(err(
                        Some(lineno),
                        Some(COLUMNS[c]),
                        format!("'{v}' is not a positive finite number"),
                    )),
                }
            };
            raw.push(RawRow {
                gpu: cell(0).to_string(),
                profile: cell(1).to_string(),
                model: cell(2).to_string(),
                batch: count(3)?,
                procs: count(4)?,
                latency_ms: positive(5)?,
                throughput_rps: positive(6)?,
                memory_mib: if cell(7).is_empty() {
                    None
                } else {
                    Some(positive(7)?)
                },
                source: cell(8).to_string(),
                line: Some(lineno),
            });
        }
        if raw.is_empty() {
            return Err(err(None, None, "no rows after the header".into()));
        }
        ProfileTable::from_raw(catalog, raw, origin)
    }

    /// Validates rows from any source: known GPU and profile, a model name, positive finite
    /// numbers, unique keys.
    pub fn from_raw(
        catalog: &Catalog,
        raw: Vec<RawRow>,
        origin: &str,
    ) -> Result<ProfileTable, TableError> {
        let err = |line: Option<usize>, column: &str, message: String| {
            table_error(origin, line, Some(column), message)
        };
        let mut seen: BTreeMap<ProfileKey, Option<usize>> = BTreeMap::new();
        let mut rows = Vec::with_capacity(raw.len());
        for r in raw {
            let gpu = catalog
                .gpu(&r.gpu)
                .map_err(|e| err(r.line, "gpu", e.to_string()))?;
            let profile = gpu
                .profile_by_name(&r.profile)
                .map_err(|e| err(r.line, "profile", e.to_string()))?;
            let model = r.model.trim().to_ascii_lowercase();
            if model.is_empty()
                || !model
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(err(
                    r.line,
                    "model",
                    format!("'{}' is not a model name (letters, digits, - _ .)", r.model),
                ));
            }
            if r.batch == 0 {
                return Err(err(r.line, "batch", "must be at least 1".into()));
            }
            if r.procs == 0 {
                return Err(err(r.line, "procs", "must be at least 1".into()));
            }
            for (column, v) in [
                ("latency_ms", Some(r.latency_ms)),
                ("throughput_rps", Some(r.throughput_rps)),
                ("memory_mib", r.memory_mib),
            ] {
                if let Some(v) = v {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(err(
                            r.line,
                            column,
                            format!("{v} is not a positive finite number"),
                        ));
                    }
                }
            }
            let key = ProfileKey {
                gpu: gpu.id().to_string(),
                profile: gpu.profile(profile).name().to_string(),
                model,
                batch: r.batch,
                procs: r.procs,
            };
            if let Some(first) = seen.insert(key.clone(), r.line) {
                let at = first
                    .map(|l| format!(" (first at line {l})"))
                    .unwrap_or_default();
                return Err(table_error(
                    origin,
                    r.line,
                    None,
                    format!(
                        "duplicate key {}/{}/{} batch {} procs {}{at}",
                        key.gpu, key.profile, key.model, key.batch, key.procs
                    ),
                ));
            }
            rows.push(ProfileRow {
                key,
                latency_ms: r.latency_ms,
                throughput_rps: r.throughput_rps,
                memory_mib: r.memory_mib,
                source: r.source,
            });
        }
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(ProfileTable { rows })
    }

    /// Builds a table from already validated rows (from another table), keeping the first
    /// row of any duplicate key out: used to merge tables where later sources win.
    pub fn merged(tables: &[&ProfileTable]) -> ProfileTable {
        let mut by_key: BTreeMap<ProfileKey, ProfileRow> = BTreeMap::new();
        for t in tables {
            for r in &t.rows {
                by_key.insert(r.key.clone(), r.clone());
            }
        }
        ProfileTable {
            rows: by_key.into_values().collect(),
        }
    }

    /// The rows, sorted by key.
    pub fn rows(&self) -> &[ProfileRow] {
        &self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row with this key.
    pub fn get(&self, key: &ProfileKey) -> Option<&ProfileRow> {
        self.rows
            .binary_search_by(|r| r.key.cmp(key))
            .ok()
            .map(|i| &self.rows[i])
    }

    /// Rows matching optional GPU, profile, model and procs filters, in key order.
    pub fn select<'a>(
        &'a self,
        gpu: Option<&'a str>,
        profile: Option<&'a str>,
        model: Option<&'a str>,
        procs: Option<u32>,
    ) -> impl Iterator<Item = &'a ProfileRow> + 'a {
        self.rows.iter().filter(move |r| {
            gpu.is_none_or(|g| r.key.gpu == g)
                && profile.is_none_or(|p| r.key.profile == p)
                && model.is_none_or(|m| r.key.model == m)
                && procs.is_none_or(|k| r.key.procs == k)
        })
    }

    /// Distinct model names, sorted.
    pub fn models(&self) -> Vec<&str> {
        let mut m: Vec<&str> = self.rows.iter().map(|r| r.key.model.as_str()).collect();
        m.dedup();
        m.sort_unstable();
        m.dedup();
        m
    }

    /// Distinct GPU ids, sorted.
    pub fn gpus(&self) -> Vec<&str> {
        let mut g: Vec<&str> = self.rows.iter().map(|r| r.key.gpu.as_str()).collect();
        g.dedup();
        g
    }

    /// The CSV text: header, then rows in key order; numbers in Rust's shortest round-trip
    /// form, so the same table always gives the same bytes.
    pub fn to_csv(&self) -> String {
        let mut s = COLUMNS.join(",");
        s.push('\n');
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{}",
                r.key.gpu,
                r.key.profile,
                r.key.model,
                r.key.batch,
                r.key.procs,
                r.latency_ms,
                r.throughput_rps,
                r.memory_mib.map(|m| m.to_string()).unwrap_or_default(),
                csv_field(&r.source)
            );
        }
        s
    }
}

/// Quotes a field when CSV needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one CSV line, honouring double quotes ("" inside quotes is a quote).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The knee of a throughput curve: the smallest batch after which doubling (or the next
/// profiled batch) raises throughput by less than `threshold` (a fraction, e.g. 0.1).
/// `points` are (batch, throughput) in any order; the last batch when throughput never
/// flattens; `None` for no points.
pub fn knee_batch(points: &[(u32, f64)], threshold: f64) -> Option<u32> {
    let mut pts = points.to_vec();
    pts.sort_by_key(|p| p.0);
    for w in pts.windows(2) {
        let ((b, t), (_, t_next)) = (w[0], w[1]);
        if t_next < t * (1.0 + threshold) {
            return Some(b);
        }
    }
    pts.last().map(|p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
gpu,profile,model,batch,procs,latency_ms,throughput_rps,memory_mib,source
a100-80gb,3g.40gb,resnet50,8,1,10.5,761.9,2200,analytic
A100-SXM4-80GB,1g.10gb,ResNet50,1,2,8,250,,measured
";

    fn table(text: &str) -> Result<ProfileTable, String> {
        ProfileTable::from_csv_str(Catalog::builtin(), text, "p.csv").map_err(|e| e.to_string())
    }

    #[test]
    fn parses_normalizes_and_sorts() {
        let t = table(CSV).unwrap();
        assert_eq!(t.rows().len(), 2);
        assert_eq!(t.rows()[0].key.profile, "1g.10gb");
        assert_eq!(t.rows()[0].key.gpu, "a100-80gb");
        assert_eq!(t.rows()[0].key.model, "resnet50");
        assert_eq!(t.rows()[0].memory_mib, None);
        let again = table(&t.to_csv()).unwrap();
        assert_eq!(again, t);
        assert_eq!(again.to_csv(), t.to_csv());
    }

    #[test]
    fn columns_in_any_order() {
        let text = "source,gpu,profile,model,batch,procs,latency_ms,throughput_rps,memory_mib\nx,h100-80gb,7g.80gb,bert-base,4,1,5,800,9000\n";
        assert_eq!(table(text).unwrap().rows()[0].key.profile, "7g.80gb");
    }

    #[test]
    fn every_bad_input_names_file_line_and_column() {
        let bad = |from: &str, to: &str| table(&CSV.replace(from, to)).unwrap_err();
        assert_eq!(
            bad("10.5", "-1"),
            "p.csv:2: column latency_ms: '-1' is not a positive finite number"
        );
        assert_eq!(
            bad("10.5", "NaN"),
            "p.csv:2: column latency_ms: 'NaN' is not a positive finite number"
        );
        assert_eq!(
            bad("761.9", "inf"),
            "p.csv:2: column throughput_rps: 'inf' is not a positive finite number"
        );
        assert_eq!(
            bad(",8,1,", ",0,1,"),
            "p.csv:2: column batch: '0' is not a whole number ≥ 1"
        );
        assert_eq!(
            bad(",2200,", ",0,"),
            "p.csv:2: column memory_mib: '0' is not a positive finite number"
        );
        assert!(
            bad("a100-80gb,3g", "v100,3g").starts_with("p.csv:2: column gpu: unknown GPU 'v100'")
        );
        assert!(
            bad("3g.40gb", "3g.20gb")
                .starts_with("p.csv:2: column profile: unknown profile '3g.20gb' for a100-80gb")
        );
        assert_eq!(
            bad("resnet50,8", "res net,8"),
            "p.csv:2: column model: 'res net' is not a model name (letters, digits, - _ .)"
        );
        assert_eq!(
            bad(",analytic", ""),
            "p.csv:2: 8 cells, but the header has 9 columns"
        );
        assert_eq!(
            bad("memory_mib", "mem"),
            "p.csv:1: unknown column 'mem'; the columns are gpu,profile,model,batch,procs,latency_ms,throughput_rps,memory_mib,source"
        );
        assert_eq!(
            table("").unwrap_err(),
            "p.csv: the file is empty; expected a CSV header `gpu,profile,model,batch,procs,latency_ms,throughput_rps,memory_mib,source`"
        );
        assert_eq!(
            table(&COLUMNS.join(",")).unwrap_err(),
            "p.csv: no rows after the header"
        );
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let dup = format!("{CSV}a100-80gb,3g.40gb,resnet50,8,1,11,700,2200,other\n");
        assert_eq!(
            table(&dup).unwrap_err(),
            "p.csv:4: duplicate key a100-80gb/3g.40gb/resnet50 batch 8 procs 1 (first at line 2)"
        );
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(split_csv_line("a,\"b,c\",\"d\"\"e\""), ["a", "b,c", "d\"e"]);
    }

    #[test]
    fn knee_is_where_throughput_flattens() {
        let pts = [(1, 100.0), (2, 190.0), (4, 330.0), (8, 350.0), (16, 355.0)];
        assert_eq!(knee_batch(&pts, 0.1), Some(4));
        assert_eq!(knee_batch(&pts, 0.01), Some(16));
        assert_eq!(knee_batch(&[], 0.1), None);
    }
}
