//! ParvaGPU's measured profile tables (`prof_data/<model>.csv`, one file per model) as
//! profile rows.
//!
//! The format, header `Mig instance,Batch size,Workload Number,Throughput,Latency`:
//!
//! | column | meaning | becomes |
//! |---|---|---|
//! | `Mig instance` | instance size in GPCs (1, 2, 3, 4, 7) | `profile`, see below |
//! | `Batch size` | batch size | `batch` |
//! | `Workload Number` | MPS processes running in the instance | `procs` |
//! | `Throughput` | samples/s of **one** process | `throughput_rps` = this × processes |
//! | `Latency` | seconds per batch, rounded to 1 ms | `latency_ms` = this × 1000 |
//!
//! A `0,0` throughput/latency pair marks a configuration that did not run (out of memory)
//! and gives no row. Memory is not measured (`memory_mib` empty); `source` is `parvagpu`.
//!
//! Decisions:
//! - **Profile.** The size becomes the GPU's non-`+me` profile with that many compute
//!   slices. Where two share a GPC count (1g.10gb and 1g.20gb on an A100 80GB) the one with
//!   the fewest memory slices is taken: the smallest instance that gives those GPCs, which
//!   is also the one ParvaGPU's 1-GPC instances run in. A size the GPU has no profile for is
//!   an error.
//! - **Model.** The file stem, lowercased (`bert.csv` gives `bert`, `ResNet50.csv` gives
//!   `resnet50`). ParvaGPU's `bert` is kept as `bert`: migsched's zoo (migsched-perf)
//!   accepts `bert` as an alias of `bert-base`, so the name still resolves there.
//! - **Latency rounded to zero.** Latencies are rounded to milliseconds, so a fast
//!   configuration can read `Latency` 0 with a positive throughput. Its latency is derived
//!   from the same measurement instead: one process serves `batch` samples per batch at the
//!   per-process throughput, so `latency_ms = 1000 × batch / per-process throughput`
//!   (ParvaGPU's rows obey `throughput ≈ batch / latency` per process). A zero throughput
//!   with a positive latency is an error: only `0,0` means "did not run".
//! - **Rounding.** Milliseconds and whole-instance throughput are rounded to 6 decimals, so
//!   that `0.019` s reads `19` ms and not `19.000000000000004`; the input has 3.

use std::collections::BTreeMap;

use super::{ImportError, import_error, numbered_lines};
use crate::catalog::{GpuType, Profile};
use crate::profile_table::{RawRow, split_csv_line};

/// The header every ParvaGPU profile file starts with, cell by cell.
pub const HEADER: [&str; 5] = [
    "Mig instance",
    "Batch size",
    "Workload Number",
    "Throughput",
    "Latency",
];

/// The `source` of every imported row.
pub const SOURCE: &str = "parvagpu";

/// The model name for a profile file stem: trimmed and lowercased; `None` when it is not a
/// model name (letters, digits, `-`, `_`, `.`).
pub fn model_name(stem: &str) -> Option<String> {
    let name = stem.trim().to_ascii_lowercase();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then_some(name)
}

/// The profile a ParvaGPU instance of `gpcs` GPCs maps to on `gpu`: among the non-`+me`
/// profiles with that many compute slices, the one with the fewest memory slices (the
/// first in catalog order on a tie); `None` when there is none.
pub fn profile_for_size(gpu: &GpuType, gpcs: u8) -> Option<&Profile> {
    gpu.profiles()
        .iter()
        .filter(|p| !p.is_variant() && p.compute_slices() == gpcs)
        .min_by_key(|p| p.memory_slices())
}

/// Imports one profile file. `stem` is the file name without `.csv` (the model), `origin`
/// names the file in errors; `gpu` is the GPU the table was measured on. Rows come in file
/// order, each with its line number.
pub fn parse_profile_file(
    stem: &str,
    text: &str,
    origin: &str,
    gpu: &GpuType,
) -> Result<Vec<RawRow>, ImportError> {
    let err = |line: Option<usize>, column: Option<usize>, message: String| {
        import_error(origin, line, column.map(|c| (c, HEADER[c])), message)
    };
    let Some(model) = model_name(stem) else {
        return Err(err(
            None,
            None,
            format!("file stem '{stem}' is not a model name (letters, digits, - _ .)"),
        ));
    };
    let mut lines = numbered_lines(text);
    let Some((header_line, header)) = lines.next() else {
        return Err(err(
            None,
            None,
            format!(
                "the file is empty; expected the header `{}`",
                HEADER.join(",")
            ),
        ));
    };
    let cells = split_csv_line(header);
    if cells.iter().map(|c| c.trim()).ne(HEADER) {
        return Err(err(
            Some(header_line),
            None,
            format!(
                "the header is `{}`; expected `{}` (ParvaGPU's prof_data format)",
                header.trim(),
                HEADER.join(",")
            ),
        ));
    }
    let sizes: Vec<String> = {
        let mut s: Vec<u8> = gpu
            .profiles()
            .iter()
            .filter(|p| !p.is_variant())
            .map(Profile::compute_slices)
            .collect();
        s.sort_unstable();
        s.dedup();
        s.iter().map(u8::to_string).collect()
    };
    let mut seen: BTreeMap<(u8, u32, u32), usize> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut any = false;
    for (lineno, line) in lines {
        any = true;
        let cells = split_csv_line(line);
        if cells.len() != HEADER.len() {
            return Err(err(
                Some(lineno),
                None,
                format!(
                    "{} cells; expected {} ({})",
                    cells.len(),
                    HEADER.len(),
                    HEADER.join(",")
                ),
            ));
        }
        let cell = |c: usize| cells[c].trim();
        let count = |c: usize| -> Result<u32, ImportError> {
            match cell(c).parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(err(
                    Some(lineno),
                    Some(c),
                    format!("'{}' is not a whole number ≥ 1", cell(c)),
                )),
            }
        };
        let number = |c: usize| -> Result<f64, ImportError> {
            match cell(c).parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
                _ => Err(err(
                    Some(lineno),
                    Some(c),
                    format!("'{}' is not a finite number ≥ 0", cell(c)),
                )),
            }
        };
        let size = count(0)?;
        let batch = count(1)?;
        let procs = count(2)?;
        let per_process_rps = number(3)?;
        let latency_s = number(4)?;
        let profile = u8::try_from(size)
            .ok()
            .and_then(|g| profile_for_size(gpu, g))
            .ok_or_else(|| {
                err(
                    Some(lineno),
                    Some(0),
                    format!(
                        "no MIG profile of {} has {size} GPCs; its sizes are {}",
                        gpu.id(),
                        sizes.join(", ")
                    ),
                )
            })?;
        // Sizes that fit in a u8 were checked just above.
        let key = (size as u8, batch, procs);
        if let Some(first) = seen.insert(key, lineno) {
            return Err(err(
                Some(lineno),
                None,
                format!(
                    "size {size} batch {batch} processes {procs} appears twice (first at line {first})"
                ),
            ));
        }
        if per_process_rps == 0.0 {
            if latency_s == 0.0 {
                // `0,0`: the configuration did not run.
                continue;
            }
            return Err(err(
                Some(lineno),
                Some(3),
                format!(
                    "throughput 0 with latency {latency_s} s; only `0,0` marks a configuration that did not run"
                ),
            ));
        }
        let latency_ms = round6(if latency_s > 0.0 {
            latency_s * 1000.0
        } else {
            // Rounded to 0 ms: derive it from the same process's throughput.
            1000.0 * f64::from(batch) / per_process_rps
        });
        rows.push(RawRow {
            gpu: gpu.id().to_string(),
            profile: profile.name().to_string(),
            model: model.clone(),
            batch,
            procs,
            latency_ms,
            throughput_rps: round6(per_process_rps * f64::from(procs)),
            memory_mib: None,
            source: SOURCE.to_string(),
            line: Some(lineno),
        });
    }
    if !any {
        return Err(err(None, None, "no rows after the header".into()));
    }
    Ok(rows)
}

/// Rounds to 6 decimals: removes the binary noise of scaling a 3-decimal input.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Imports a set of profile files, given as (file stem, text) pairs, e.g. every
/// `prof_data/*.csv` of one GPU. Errors name each file as `<stem>.csv`. Rows come file by
/// file in the order given; their line numbers are those of their own file. Two stems that
/// give the same model are an error.
pub fn parse_profiles<S: AsRef<str>, T: AsRef<str>>(
    files: &[(S, T)],
    gpu: &GpuType,
) -> Result<Vec<RawRow>, ImportError> {
    let mut models: BTreeMap<String, &str> = BTreeMap::new();
    let mut rows = Vec::new();
    for (stem, text) in files {
        let stem = stem.as_ref();
        let origin = format!("{stem}.csv");
        if let Some(model) = model_name(stem) {
            if let Some(first) = models.insert(model.clone(), stem) {
                return Err(import_error(
                    &origin,
                    None,
                    None,
                    format!("model '{model}' again (already imported from {first}.csv)"),
                ));
            }
        }
        rows.extend(parse_profile_file(stem, text.as_ref(), &origin, gpu)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::profile_table::{ProfileKey, ProfileTable};

    const HEAD: &str = "Mig instance,Batch size,Workload Number,Throughput,Latency";

    fn gpu(id: &str) -> &'static GpuType {
        Catalog::builtin().gpu(id).unwrap()
    }

    /// Imports one file as `resnet50.csv` on `gpu` and validates the rows into a table.
    fn table(gpu_id: &str, body: &str) -> ProfileTable {
        let text = format!("{HEAD}\n{body}");
        let raw = parse_profiles(&[("resnet50", text.as_str())], gpu(gpu_id)).unwrap();
        ProfileTable::from_raw(Catalog::builtin(), raw, "resnet50.csv").unwrap()
    }

    /// The rows as `profile batch procs latency_ms throughput_rps` lines.
    fn summary(t: &ProfileTable) -> Vec<String> {
        t.rows()
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} {}",
                    r.key.profile, r.key.batch, r.key.procs, r.latency_ms, r.throughput_rps
                )
            })
            .collect()
    }

    fn error(stem: &str, text: &str) -> String {
        parse_profiles(&[(stem, text)], gpu("a100-80gb"))
            .unwrap_err()
            .to_string()
    }

    /// Checks the error for `body` after a correct header.
    fn check_error(body: &str, expected: &str) {
        assert_eq!(error("resnet50", &format!("{HEAD}\n{body}")), expected);
    }

    #[test]
    fn processes_multiply_throughput_and_did_not_run_rows_are_dropped() {
        let t = table(
            "a100-80gb",
            "1,1,1,50,0.02\n1,1,2,30,0.033\n1,8,5,0,0\n3,4,1,400,0.01\n",
        );
        assert_eq!(
            summary(&t),
            [
                "1g.10gb 1 1 20 50",
                "1g.10gb 1 2 33 60",
                "3g.40gb 4 1 10 400"
            ]
        );
        let r = &t.rows()[0];
        assert_eq!(r.key.gpu, "a100-80gb");
        assert_eq!(r.key.model, "resnet50");
        assert_eq!(r.memory_mib, None);
        assert_eq!(r.source, "parvagpu");
    }

    #[test]
    fn every_size_maps_to_the_smallest_profile_with_its_gpcs() {
        let body = "1,1,1,10,0.1\n2,1,1,10,0.1\n3,1,1,10,0.1\n4,1,1,10,0.1\n7,1,1,10,0.1\n";
        let profiles = |id: &str| -> Vec<String> {
            table(id, body)
                .rows()
                .iter()
                .map(|r| r.key.profile.clone())
                .collect()
        };
        // Sorted by name, as the table keeps them; never 1g.20gb nor the +me profile.
        let expected = ["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"];
        assert_eq!(profiles("a100-80gb"), expected);
        assert_eq!(profiles("h100-80gb"), expected);
        assert_eq!(
            profiles("a100-40gb"),
            ["1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"]
        );
    }

    #[test]
    fn latency_rounded_to_zero_is_derived_from_throughput() {
        let t = table("h100-80gb", "7,2,1,800,0\n7,2,2,500,0\n7,4,1,1000,0.004\n");
        assert_eq!(
            summary(&t),
            [
                "7g.80gb 2 1 2.5 800",
                "7g.80gb 2 2 4 1000",
                "7g.80gb 4 1 4 1000"
            ]
        );
    }

    #[test]
    fn scaling_leaves_no_binary_noise() {
        // 1.001 * 1000 and 30.123 * 3 are not exact in binary floating point.
        let t = table("a100-80gb", "1,1,3,30.123,1.001\n1,2,1,3,0.019\n");
        assert_eq!(summary(&t), ["1g.10gb 1 3 1001 90.369", "1g.10gb 2 1 19 3"]);
    }

    #[test]
    fn model_is_the_lowercased_stem_and_bert_stays_bert() {
        let text = format!("{HEAD}\r\n1,1,1,74,0.013\r\n");
        let files = [("BERT", text.as_str()), ("ResNet50", text.as_str())];
        let raw = parse_profiles(&files, gpu("a100-80gb")).unwrap();
        let t = ProfileTable::from_raw(Catalog::builtin(), raw, "prof_data").unwrap();
        assert_eq!(t.models(), ["bert", "resnet50"]);
        let key = ProfileKey {
            gpu: "a100-80gb".into(),
            profile: "1g.10gb".into(),
            model: "bert".into(),
            batch: 1,
            procs: 1,
        };
        assert_eq!(t.get(&key).unwrap().latency_ms, 13.0);
        // That the zoo keeps accepting ParvaGPU's `bert` is checked where the zoo lives:
        // migsched-perf's `parvagpu_names` test (core does not depend on the zoo).
    }

    #[test]
    fn rows_keep_their_line_numbers() {
        let text = format!("{HEAD}\n\n1,1,1,0,0\n1,2,1,10,0.2\n");
        let raw = parse_profile_file("vgg16", &text, "x/vgg16.csv", gpu("a100-80gb")).unwrap();
        assert_eq!(raw.len(), 1);
        assert_eq!(raw[0].line, Some(4));
    }

    #[test]
    fn wrong_header_is_named_exactly() {
        assert_eq!(
            error(
                "resnet50",
                "MIG instance,Batch size,Workload Number,Throughput,Latency\n1,1,1,1,1\n"
            ),
            "resnet50.csv:1: the header is `MIG instance,Batch size,Workload Number,Throughput,Latency`; \
             expected `Mig instance,Batch size,Workload Number,Throughput,Latency` (ParvaGPU's prof_data format)"
        );
        assert_eq!(
            error(
                "resnet50",
                "Mig instance,Batch size,Workload Number,Throughput\n"
            ),
            "resnet50.csv:1: the header is `Mig instance,Batch size,Workload Number,Throughput`; \
             expected `Mig instance,Batch size,Workload Number,Throughput,Latency` (ParvaGPU's prof_data format)"
        );
    }

    #[test]
    fn bad_numbers_name_file_line_and_column() {
        check_error(
            "1,1,1,50,0.02\n1,1,2,-3,0.02\n",
            "resnet50.csv:3: column 4 (Throughput): '-3' is not a finite number ≥ 0",
        );
        check_error(
            "1,1,1,50,NaN\n",
            "resnet50.csv:2: column 5 (Latency): 'NaN' is not a finite number ≥ 0",
        );
        check_error(
            "1,1,1,50,inf\n",
            "resnet50.csv:2: column 5 (Latency): 'inf' is not a finite number ≥ 0",
        );
        check_error(
            "1,1,1,fast,0.02\n",
            "resnet50.csv:2: column 4 (Throughput): 'fast' is not a finite number ≥ 0",
        );
        check_error(
            "1,0,1,50,0.02\n",
            "resnet50.csv:2: column 2 (Batch size): '0' is not a whole number ≥ 1",
        );
        check_error(
            "1,1,1.5,50,0.02\n",
            "resnet50.csv:2: column 3 (Workload Number): '1.5' is not a whole number ≥ 1",
        );
        check_error(
            "one,1,1,50,0.02\n",
            "resnet50.csv:2: column 1 (Mig instance): 'one' is not a whole number ≥ 1",
        );
        check_error(
            "1,1,1,50\n",
            "resnet50.csv:2: 4 cells; expected 5 (Mig instance,Batch size,Workload Number,Throughput,Latency)",
        );
    }

    #[test]
    fn unknown_gpc_size_lists_the_gpus_sizes() {
        check_error(
            "5,1,1,50,0.02\n",
            "resnet50.csv:2: column 1 (Mig instance): no MIG profile of a100-80gb has 5 GPCs; \
             its sizes are 1, 2, 3, 4, 7",
        );
        check_error(
            "300,1,1,50,0.02\n",
            "resnet50.csv:2: column 1 (Mig instance): no MIG profile of a100-80gb has 300 GPCs; \
             its sizes are 1, 2, 3, 4, 7",
        );
        let text = format!("{HEAD}\n7,1,1,50,0.02\n");
        assert_eq!(
            parse_profiles(&[("resnet50", text)], gpu("a30-24gb"))
                .unwrap_err()
                .to_string(),
            "resnet50.csv:2: column 1 (Mig instance): no MIG profile of a30-24gb has 7 GPCs; \
             its sizes are 1, 2, 4"
        );
    }

    #[test]
    fn inconsistent_rows_and_files_are_errors() {
        check_error(
            "1,1,1,0,0.02\n",
            "resnet50.csv:2: column 4 (Throughput): throughput 0 with latency 0.02 s; \
             only `0,0` marks a configuration that did not run",
        );
        check_error(
            "1,1,1,50,0.02\n2,1,1,50,0.02\n1,1,1,0,0\n",
            "resnet50.csv:4: size 1 batch 1 processes 1 appears twice (first at line 2)",
        );
        assert_eq!(
            error("resnet50", ""),
            "resnet50.csv: the file is empty; expected the header \
             `Mig instance,Batch size,Workload Number,Throughput,Latency`"
        );
        assert_eq!(
            error("resnet50", &format!("{HEAD}\n\n")),
            "resnet50.csv: no rows after the header"
        );
        assert_eq!(
            error("res net", HEAD),
            "res net.csv: file stem 'res net' is not a model name (letters, digits, - _ .)"
        );
        let text = format!("{HEAD}\n1,1,1,50,0.02\n");
        assert_eq!(
            parse_profiles(
                &[("vgg16", text.as_str()), ("VGG16", text.as_str())],
                gpu("a100-80gb")
            )
            .unwrap_err()
            .to_string(),
            "VGG16.csv: model 'vgg16' again (already imported from vgg16.csv)"
        );
    }
}
