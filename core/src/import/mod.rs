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

pub use crate::error::InputError;

pub mod parvagpu;
pub mod parvagpu_slo;
pub mod perf_analyzer;

pub use parvagpu::{parse_profile_file, parse_profiles};
pub use parvagpu_slo::{Demand, Scenario, parse_scenarios};
pub use perf_analyzer::{LatencyStat, PerfAnalyzerOptions, UnknownLatencyStat, parse_row};

/// An input an importer cannot use: the located [`InputError`], displayed as
/// `file:line: column N (name): message`, leaving out the parts that do not apply.
pub type ImportError = InputError;

/// An importer's error at a position of `origin`: a line and a 0-based column with its name.
pub(crate) fn import_error(
    origin: &str,
    line: Option<usize>,
    column: Option<(usize, &str)>,
    message: impl Into<String>,
) -> ImportError {
    let e = InputError {
        line,
        ..InputError::new(origin, message)
    };
    match column {
        Some((i, name)) => e.with_field(format!("column {} ({name})", i + 1)),
        None => e,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::catalog::Catalog;
    use crate::profile_table::ProfileTable;

    /// ParvaGPU's public data, shared beside the repository and never copied into it.
    const PARVAGPU_DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/datasets/parvagpu-a100-80gb"
    );

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn imports_the_real_parvagpu_data_when_present() {
        let dir = Path::new(PARVAGPU_DIR);
        if !dir.is_dir() {
            eprintln!(
                "skipped: the ParvaGPU data is not at {} (this test needs it; the rest do not)",
                dir.display()
            );
            return;
        }
        let mut files: Vec<(String, String)> = fs::read_dir(dir.join("prof_data"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .map(|p| {
                (
                    p.file_stem().unwrap().to_str().unwrap().to_string(),
                    read(&p),
                )
            })
            .collect();
        // ParvaGPU's column order in the SLO files: the profile file names, sorted.
        files.sort();
        assert_eq!(files.len(), 11, "eleven profile files");

        let catalog = Catalog::builtin();
        let raw = parse_profiles(&files, catalog.gpu("a100-80gb").unwrap()).unwrap();
        let table = ProfileTable::from_raw(catalog, raw, "prof_data").unwrap();
        let stems: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(table.models().len(), 11);
        let mut per_model: BTreeMap<&str, usize> = BTreeMap::new();
        let mut per_profile: BTreeMap<&str, usize> = BTreeMap::new();
        for r in table.rows() {
            *per_model.entry(&r.key.model).or_default() += 1;
            *per_profile.entry(&r.key.profile).or_default() += 1;
        }
        eprintln!("{} rows; per model {per_model:?}", table.rows().len());
        eprintln!("per profile {per_profile:?}");
        assert_eq!(
            per_profile.keys().copied().collect::<Vec<_>>(),
            ["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]
        );
        // 5 sizes x 9 batches x 5 process counts per file, less the `0,0` rows.
        assert!(per_model.values().all(|&n| (1..=225).contains(&n)));
        assert_eq!(table.rows().len(), 1747);

        // The reading of the columns: the instance serves `procs` times one process's
        // throughput, and one process serves `batch` samples per latency. ParvaGPU's rows
        // obey this up to the rounding of latencies to 1 ms (and of throughput to 3
        // decimals), so the latency implied by the throughput is within 0.5 ms of the column.
        let mut worst = 0.0_f64;
        for r in table.rows() {
            let implied_ms = 1000.0 * f64::from(r.key.batch * r.key.procs) / r.throughput_rps;
            let off = (implied_ms - r.latency_ms).abs();
            assert!(
                off <= 0.5 + 1e-3 * r.latency_ms,
                "{r:?}: implies {implied_ms} ms"
            );
            worst = worst.max(off / r.latency_ms);
        }
        eprintln!("largest relative gap between latency and batch/throughput: {worst:.3}");
        let under_1ms = table.rows().iter().filter(|r| r.latency_ms < 1.0).count();
        eprintln!("rows under 1 ms (latency derived from throughput): {under_1ms}");

        let scenarios = parse_scenarios(
            &read(&dir.join("SLO/SLO_latency.csv")),
            &read(&dir.join("SLO/SLO_req_rate.csv")),
            &stems,
        )
        .unwrap();
        assert_eq!(scenarios.len(), 6);
        for s in &scenarios {
            // ParvaGPU's rule: an option meets an SLO when its latency is below 0.9 x SLO / 2.
            let unservable: Vec<&str> = s
                .demands
                .iter()
                .filter(|d| {
                    !table
                        .select(None, None, Some(&d.model), None)
                        .any(|r| r.latency_ms < 0.45 * d.slo_ms)
                })
                .map(|d| d.model.as_str())
                .collect();
            eprintln!(
                "scenario {}: {} models, {:.0} requests/s in all; no option meets the SLO: {unservable:?}",
                s.number,
                s.demands.len(),
                s.demands.iter().map(|d| d.rate_rps).sum::<f64>()
            );
            assert!(
                s.demands
                    .iter()
                    .all(|d| table.models().contains(&d.model.as_str()))
            );
        }
    }
}
