//! Triton `perf_analyzer -f FILE` CSV output as one profile row.
//!
//! perf_analyzer writes one line per load level, e.g. with `--verbose-csv`:
//! `Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,...,
//! Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,
//! response wait`. Columns differ between versions and flags (server statistics, cache,
//! GPU metrics, `Avg latency` only with `--verbose-csv` and without `--percentile`), so
//! they are found by name (ignoring ASCII case) and only `Concurrency`,
//! `Inferences/Second` and the chosen latency column are required. Lines are sorted by
//! throughput, not by concurrency, so the row is chosen by its `Concurrency` value.
//!
//! The row: `latency_ms` = the chosen latency statistic (microseconds in the file) / 1000,
//! `throughput_rps` = `Inferences/Second`, which already counts samples (requests × batch),
//! taken as the throughput of the whole instance; `memory_mib` is empty and `source` is
//! `perf-analyzer`. GPU, profile, model, batch and processes are what the caller says was
//! measured; [`ProfileTable::from_raw`](crate::profile_table::ProfileTable::from_raw)
//! checks them against the catalog.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::{ImportError, import_error, numbered_lines};
use crate::profile_table::{RawRow, split_csv_line};

/// The `source` of an imported row.
pub const SOURCE: &str = "perf-analyzer";
/// The load-level column (concurrency mode).
pub const CONCURRENCY: &str = "Concurrency";
/// The throughput column, in samples per second.
pub const THROUGHPUT: &str = "Inferences/Second";
/// The load-level column of request-rate mode, which this importer does not read.
const REQUEST_RATE: &str = "Request Rate";

/// Which latency column becomes the row's latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LatencyStat {
    /// Mean latency (`Avg latency`).
    #[default]
    Avg,
    /// Median (`p50 latency`).
    P50,
    /// 90th percentile (`p90 latency`).
    P90,
    /// 95th percentile (`p95 latency`).
    P95,
    /// 99th percentile (`p99 latency`).
    P99,
}

impl LatencyStat {
    /// Every statistic, in the order of its name in [`FromStr`].
    pub const ALL: [LatencyStat; 5] = [
        LatencyStat::Avg,
        LatencyStat::P50,
        LatencyStat::P90,
        LatencyStat::P95,
        LatencyStat::P99,
    ];

    /// The short name: `avg`, `p50`, `p90`, `p95`, `p99`.
    pub fn name(self) -> &'static str {
        match self {
            LatencyStat::Avg => "avg",
            LatencyStat::P50 => "p50",
            LatencyStat::P90 => "p90",
            LatencyStat::P95 => "p95",
            LatencyStat::P99 => "p99",
        }
    }

    /// The perf_analyzer column holding it, in microseconds.
    pub fn column(self) -> &'static str {
        match self {
            LatencyStat::Avg => "Avg latency",
            LatencyStat::P50 => "p50 latency",
            LatencyStat::P90 => "p90 latency",
            LatencyStat::P95 => "p95 latency",
            LatencyStat::P99 => "p99 latency",
        }
    }
}

impl fmt::Display for LatencyStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A latency statistic name that is not one of [`LatencyStat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown latency statistic '{name}'; expected avg, p50, p90, p95 or p99")]
pub struct UnknownLatencyStat {
    /// The name as given.
    pub name: String,
}

impl FromStr for LatencyStat {
    type Err = UnknownLatencyStat;

    /// Parses a short name, ignoring case and surrounding spaces.
    fn from_str(s: &str) -> Result<LatencyStat, UnknownLatencyStat> {
        LatencyStat::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownLatencyStat {
                name: s.trim().to_string(),
            })
    }
}

/// What was measured, and which line and latency of the file to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfAnalyzerOptions {
    /// GPU id or name.
    pub gpu: String,
    /// MIG profile the server ran in.
    pub profile: String,
    /// Model name.
    pub model: String,
    /// Batch size of each request.
    pub batch: u32,
    /// MPS processes serving in the instance (1 = MIG only).
    pub procs: u32,
    /// The `Concurrency` value of the line to take; `None` takes the lowest.
    pub concurrency: Option<u32>,
    /// Which latency statistic becomes `latency_ms`.
    pub latency: LatencyStat,
}

/// Reads one row from perf_analyzer CSV text; `origin` names the file in errors.
pub fn parse_row(
    text: &str,
    origin: &str,
    options: &PerfAnalyzerOptions,
) -> Result<RawRow, ImportError> {
    let mut lines = numbered_lines(text);
    let Some((header_line, header)) = lines.next() else {
        return Err(import_error(
            origin,
            None,
            None,
            format!(
                "the file is empty; expected perf_analyzer's CSV header \
                 (`{CONCURRENCY},{THROUGHPUT},...`)"
            ),
        ));
    };
    let names: Vec<String> = split_csv_line(header)
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let find = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let missing = |name: &str, why: &str| {
        import_error(
            origin,
            Some(header_line),
            None,
            format!(
                "no `{name}` column{why}; the header has: {}",
                names.join(",")
            ),
        )
    };
    let concurrency_col = find(CONCURRENCY).ok_or_else(|| {
        let why = if find(REQUEST_RATE).is_some() {
            " (this is a request-rate run; measure with --concurrency-range)"
        } else {
            ""
        };
        missing(CONCURRENCY, why)
    })?;
    let throughput_col = find(THROUGHPUT).ok_or_else(|| missing(THROUGHPUT, ""))?;
    let latency_col = find(options.latency.column()).ok_or_else(|| {
        let why = if options.latency == LatencyStat::Avg {
            " (perf_analyzer writes it only with --verbose-csv and without --percentile)"
        } else {
            ""
        };
        missing(options.latency.column(), why)
    })?;
    // (line, concurrency, cells) of every data line.
    let mut rows: Vec<(usize, u32, Vec<String>)> = Vec::new();
    for (lineno, line) in lines {
        let cells = split_csv_line(line);
        if cells.len() != names.len() {
            return Err(import_error(
                origin,
                Some(lineno),
                None,
                format!(
                    "{} cells, but the header has {} columns",
                    cells.len(),
                    names.len()
                ),
            ));
        }
        let value = cells[concurrency_col].trim();
        let Ok(concurrency) = value.parse::<u32>() else {
            return Err(import_error(
                origin,
                Some(lineno),
                Some((concurrency_col, &names[concurrency_col])),
                format!("'{value}' is not a whole number"),
            ));
        };
        if let Some((first, ..)) = rows.iter().find(|r| r.1 == concurrency) {
            return Err(import_error(
                origin,
                Some(lineno),
                Some((concurrency_col, &names[concurrency_col])),
                format!("concurrency {concurrency} appears twice (first at line {first})"),
            ));
        }
        rows.push((lineno, concurrency, cells));
    }
    let chosen = match options.concurrency {
        None => rows.iter().min_by_key(|r| r.1),
        Some(c) => rows.iter().find(|r| r.1 == c),
    };
    let Some((lineno, _, cells)) = chosen else {
        if rows.is_empty() {
            return Err(import_error(origin, None, None, "no rows after the header"));
        }
        let mut levels: Vec<u32> = rows.iter().map(|r| r.1).collect();
        levels.sort_unstable();
        let levels: Vec<String> = levels.iter().map(u32::to_string).collect();
        return Err(import_error(
            origin,
            None,
            Some((concurrency_col, &names[concurrency_col])),
            format!(
                "concurrency {} is not in the file; it has {}",
                options.concurrency.unwrap_or_default(),
                levels.join(", ")
            ),
        ));
    };
    let positive = |c: usize| -> Result<f64, ImportError> {
        let value = cells[c].trim();
        match value.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
            _ => Err(import_error(
                origin,
                Some(*lineno),
                Some((c, &names[c])),
                format!("'{value}' is not a positive finite number"),
            )),
        }
    };
    let throughput_rps = positive(throughput_col)?;
    let latency_us = positive(latency_col)?;
    Ok(RawRow {
        gpu: options.gpu.clone(),
        profile: options.profile.clone(),
        model: options.model.clone(),
        batch: options.batch,
        procs: options.procs,
        latency_ms: latency_us / 1000.0,
        throughput_rps,
        memory_mib: None,
        source: SOURCE.to_string(),
        line: Some(*lineno),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::profile_table::ProfileTable;

    /// The `--verbose-csv` header; rows sorted by throughput as perf_analyzer writes them.
    const VERBOSE: &str = "\
Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait
2,310.5,20,300,150,40,5800,30,10,6300,6900,7100,7600,6400,30,6350
1,320.25,21,280,10,41,5500,29,9,6000,6500,6700,7000,6100,30,6050
4,402,22,350,3500,42,5900,31,11,9800,10400,10900,11800,9900,33,9850
";

    fn options(concurrency: Option<u32>, latency: LatencyStat) -> PerfAnalyzerOptions {
        PerfAnalyzerOptions {
            gpu: "H100 80GB HBM3".into(),
            profile: "MIG 3g.40gb".into(),
            model: "ResNet50".into(),
            batch: 8,
            procs: 1,
            concurrency,
            latency,
        }
    }

    fn row(text: &str, concurrency: Option<u32>, latency: LatencyStat) -> Result<RawRow, String> {
        parse_row(text, "pa.csv", &options(concurrency, latency)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_take_the_lowest_concurrency_and_the_mean() {
        let r = row(VERBOSE, None, LatencyStat::default()).unwrap();
        assert_eq!(
            (r.line, r.latency_ms, r.throughput_rps),
            (Some(3), 6.1, 320.25)
        );
        let t = ProfileTable::from_raw(Catalog::builtin(), vec![r], "pa.csv").unwrap();
        let p = &t.rows()[0];
        assert_eq!(
            (
                p.key.gpu.as_str(),
                p.key.profile.as_str(),
                p.key.model.as_str()
            ),
            ("h100-80gb", "3g.40gb", "resnet50")
        );
        assert_eq!((p.key.batch, p.key.procs), (8, 1));
        assert_eq!((p.memory_mib, p.source.as_str()), (None, "perf-analyzer"));
    }

    #[test]
    fn a_chosen_concurrency_and_percentile() {
        let r = row(VERBOSE, Some(4), LatencyStat::P99).unwrap();
        assert_eq!(
            (r.line, r.latency_ms, r.throughput_rps),
            (Some(4), 11.8, 402.0)
        );
        let r = row(VERBOSE, Some(2), LatencyStat::P50).unwrap();
        assert_eq!((r.line, r.latency_ms), (Some(2), 6.3));
    }

    #[test]
    fn columns_are_found_by_name_in_any_version() {
        // No server statistics, no verbose columns, different case and CRLF line ends.
        let text = "concurrency,Client Send,inferences/second,Client Recv,p95 latency\r\n\
                    8,5,1200.5,4,25300\r\n16,5,1300,4,51000\r\n";
        let r = row(text, None, LatencyStat::P95).unwrap();
        assert_eq!(
            (r.line, r.latency_ms, r.throughput_rps),
            (Some(2), 25.3, 1200.5)
        );
    }

    #[test]
    fn missing_columns_are_named() {
        let non_verbose = "Concurrency,Inferences/Second,Client Send,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n1,100,1,1,900,950,970,990\n";
        assert_eq!(
            row(non_verbose, None, LatencyStat::Avg).unwrap_err(),
            "pa.csv:1: no `Avg latency` column (perf_analyzer writes it only with --verbose-csv \
             and without --percentile); the header has: Concurrency,Inferences/Second,Client Send,\
             Client Recv,p50 latency,p90 latency,p95 latency,p99 latency"
        );
        assert_eq!(
            row("Concurrency,p99 latency\n1,900\n", None, LatencyStat::P99).unwrap_err(),
            "pa.csv:1: no `Inferences/Second` column; the header has: Concurrency,p99 latency"
        );
        assert_eq!(
            row(
                "Inferences/Second,Avg latency\n100,900\n",
                None,
                LatencyStat::Avg
            )
            .unwrap_err(),
            "pa.csv:1: no `Concurrency` column; the header has: Inferences/Second,Avg latency"
        );
        assert_eq!(
            row(
                "Request Rate,Inferences/Second,Avg latency\n100,100,900\n",
                None,
                LatencyStat::Avg
            )
            .unwrap_err(),
            "pa.csv:1: no `Concurrency` column (this is a request-rate run; measure with \
             --concurrency-range); the header has: Request Rate,Inferences/Second,Avg latency"
        );
    }

    #[test]
    fn a_concurrency_not_in_the_file_lists_those_that_are() {
        assert_eq!(
            row(VERBOSE, Some(3), LatencyStat::Avg).unwrap_err(),
            "pa.csv: column 1 (Concurrency): concurrency 3 is not in the file; it has 1, 2, 4"
        );
    }

    #[test]
    fn malformed_files_name_line_and_column() {
        let check = |from: &str, to: &str, expected: &str| {
            let text = VERBOSE.replacen(from, to, 1);
            assert_eq!(row(&text, None, LatencyStat::Avg).unwrap_err(), expected);
        };
        check(
            "\n1,320.25,",
            "\n1,fast,",
            "pa.csv:3: column 2 (Inferences/Second): 'fast' is not a positive finite number",
        );
        check(
            "\n1,320.25,",
            "\n1,0,",
            "pa.csv:3: column 2 (Inferences/Second): '0' is not a positive finite number",
        );
        check(
            ",6100,30,",
            ",-6100,30,",
            "pa.csv:3: column 14 (Avg latency): '-6100' is not a positive finite number",
        );
        check(
            "\n4,402,",
            "\n4.5,402,",
            "pa.csv:4: column 1 (Concurrency): '4.5' is not a whole number",
        );
        check(
            "\n4,402,",
            "\n2,402,",
            "pa.csv:4: column 1 (Concurrency): concurrency 2 appears twice (first at line 2)",
        );
        check(
            ",6350\n",
            "\n",
            "pa.csv:2: 15 cells, but the header has 16 columns",
        );
        assert_eq!(
            row("", None, LatencyStat::Avg).unwrap_err(),
            "pa.csv: the file is empty; expected perf_analyzer's CSV header \
             (`Concurrency,Inferences/Second,...`)"
        );
        let header_only = VERBOSE.lines().next().unwrap();
        assert_eq!(
            row(header_only, None, LatencyStat::Avg).unwrap_err(),
            "pa.csv: no rows after the header"
        );
    }

    #[test]
    fn latency_statistics_parse_by_name() {
        for l in LatencyStat::ALL {
            assert_eq!(l.name().parse::<LatencyStat>(), Ok(l));
            assert_eq!(l.to_string(), l.name());
        }
        assert_eq!(" P99 ".parse::<LatencyStat>(), Ok(LatencyStat::P99));
        assert_eq!(
            "p75".parse::<LatencyStat>().unwrap_err().to_string(),
            "unknown latency statistic 'p75'; expected avg, p50, p90, p95 or p99"
        );
    }
}
