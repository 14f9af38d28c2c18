//! Readers for saved `nvidia-smi mig -lgip` and `nvidia-smi mig -lgipp` output, and the
//! comparison of what a real GPU reports with the catalog.
//!
//! Labs run the two commands on a GPU, save the text, and `migsched catalog diff` reports
//! every profile, id, count, size, SM count and placement that differs from the catalog.

use std::collections::BTreeSet;

use serde::Serialize;
use thiserror::Error;

use crate::catalog::GpuType;

/// One GPU-instance profile row of `nvidia-smi mig -lgip`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LgipRow {
    /// GPU index.
    pub gpu: u32,
    /// Profile name without the `MIG ` prefix, e.g. `3g.40gb`.
    pub name: String,
    /// NVML profile id.
    pub id: u32,
    /// Free instances of this profile at the time.
    pub free: u32,
    /// Most instances of this profile.
    pub total: u32,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// SMs per instance.
    pub sm_count: u32,
    /// Line number in the file (1-based).
    pub line: usize,
}

/// One row of `nvidia-smi mig -lgipp`: a profile's legal starts and size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LgippRow {
    /// GPU index.
    pub gpu: u32,
    /// NVML profile id.
    pub id: u32,
    /// Legal starts.
    pub starts: Vec<u8>,
    /// Placement size in memory slices.
    pub size: u8,
    /// Line number in the file (1-based).
    pub line: usize,
}

/// A saved output that cannot be read; names the file, line and column.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct NvidiaSmiError {
    /// File name.
    pub origin: String,
    /// 1-based line, when the problem is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Parses `nvidia-smi mig -lgip` output (the boxed table; the second line of each row,
/// CE/JPEG/OFA, is not needed).
pub fn parse_lgip(text: &str, origin: &str) -> Result<Vec<LgipRow>, NvidiaSmiError> {
    let err = |line: Option<usize>, message: String| NvidiaSmiError {
        origin: origin.to_string(),
        line,
        message,
    };
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.trim().trim_matches('|').trim();
        let tokens: Vec<&str> = body.split_whitespace().collect();
        if tokens.len() < 2 || tokens[1] != "MIG" {
            continue;
        }
        const COLUMNS: [&str; 8] = [
            "GPU",
            "MIG",
            "Name",
            "ID",
            "Instances",
            "Memory",
            "P2P",
            "SM",
        ];
        if tokens.len() < COLUMNS.len() {
            return Err(err(
                Some(line),
                format!(
                    "a profile row needs {} columns ({}), found {}",
                    COLUMNS.len(),
                    COLUMNS.join(", "),
                    tokens.len()
                ),
            ));
        }
        let number = |col: usize| -> Result<u32, NvidiaSmiError> {
            tokens[col].parse().map_err(|_| {
                err(
                    Some(line),
                    format!(
                        "column {}: '{}' is not a whole number",
                        COLUMNS[col], tokens[col]
                    ),
                )
            })
        };
        let (free, total) = tokens[4].split_once('/').ok_or_else(|| {
            err(
                Some(line),
                format!("column Instances: '{}' is not free/total", tokens[4]),
            )
        })?;
        let count = |s: &str| -> Result<u32, NvidiaSmiError> {
            s.parse().map_err(|_| {
                err(
                    Some(line),
                    format!("column Instances: '{}' is not free/total", tokens[4]),
                )
            })
        };
        let memory_gib: f64 = tokens[5]
            .parse()
            .ok()
            .filter(|m: &f64| m.is_finite() && *m >= 0.0)
            .ok_or_else(|| {
                err(
                    Some(line),
                    format!("column Memory: '{}' is not a size in GiB", tokens[5]),
                )
            })?;
        rows.push(LgipRow {
            gpu: number(0)?,
            name: tokens[2].to_string(),
            id: number(3)?,
            free: count(free)?,
            total: count(total)?,
            memory_gib,
            sm_count: number(7)?,
            line,
        });
    }
    if rows.is_empty() {
        return Err(err(None, "no GPU instance profile rows found; expected the output of `nvidia-smi mig -lgip` on a GPU with MIG enabled".into()));
    }
    Ok(rows)
}

/// Parses `nvidia-smi mig -lgipp` output: `GPU 0 Profile ID 9 Placements: {0,4}:4`.
pub fn parse_lgipp(text: &str, origin: &str) -> Result<Vec<LgippRow>, NvidiaSmiError> {
    let err = |line: Option<usize>, message: String| NvidiaSmiError {
        origin: origin.to_string(),
        line,
        message,
    };
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = l.split_whitespace().collect();
        if tokens.first() != Some(&"GPU")
            || tokens.get(2) != Some(&"Profile")
            || tokens.get(3) != Some(&"ID")
        {
            // nvidia-smi prints nothing else on success; anything else is not its output.
            return Err(err(
                Some(line),
                format!(
                    "expected 'GPU <n> Profile ID <id> Placements: {{starts}}:size', found '{l}'"
                ),
            ));
        }
        let gpu: u32 = tokens[1].parse().map_err(|_| {
            err(
                Some(line),
                format!("GPU index '{}' is not a number", tokens[1]),
            )
        })?;
        let id: u32 = tokens
            .get(4)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| err(Some(line), "profile id is missing or not a number".into()))?;
        let (open, close) = match (l.find('{'), l.find('}')) {
            (Some(o), Some(c)) if o < c => (o, c),
            _ => return Err(err(Some(line), "no {starts} list".into())),
        };
        let mut starts = Vec::new();
        for s in l[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            starts.push(
                s.parse::<u8>()
                    .map_err(|_| err(Some(line), format!("start '{s}' is not a number")))?,
            );
        }
        let size = l[close + 1..]
            .trim()
            .strip_prefix(':')
            .and_then(|s| s.trim().parse::<u8>().ok())
            .ok_or_else(|| err(Some(line), "no ':size' after the starts".into()))?;
        rows.push(LgippRow {
            gpu,
            id,
            starts,
            size,
            line,
        });
    }
    if rows.is_empty() {
        return Err(err(
            None,
            "no placement rows found; expected the output of `nvidia-smi mig -lgipp`".into(),
        ));
    }
    Ok(rows)
}

/// One way a real GPU differs from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// GPU index in the saved output.
    pub gpu_index: u32,
    /// The profile.
    pub profile: String,
    /// What differs: `profile`, `nvml_id`, `max_count`, `memory_gib`, `sm_count`, `starts`,
    /// `size`, or `placements`.
    pub field: &'static str,
    /// The catalog's value.
    pub catalog: String,
    /// What the GPU reports.
    pub device: String,
}

/// Memory is printed with two decimals: differences below this are rounding.
const MEMORY_TOLERANCE_GIB: f64 = 0.006;

/// Compares saved `-lgip` and `-lgipp` rows with a catalog GPU type, for every GPU index
/// present in the output. Returns every difference (empty = the catalog matches).
pub fn diff_catalog(gpu: &GpuType, lgip: &[LgipRow], lgipp: &[LgippRow]) -> Vec<Difference> {
    let indices: BTreeSet<u32> = lgip
        .iter()
        .map(|r| r.gpu)
        .chain(lgipp.iter().map(|r| r.gpu))
        .collect();
    let mut out = Vec::new();
    for index in indices {
        let rows: Vec<&LgipRow> = lgip.iter().filter(|r| r.gpu == index).collect();
        let places: Vec<&LgippRow> = lgipp.iter().filter(|r| r.gpu == index).collect();
        let mut push = |profile: &str, field, catalog: String, device: String| {
            out.push(Difference {
                gpu_index: index,
                profile: profile.to_string(),
                field,
                catalog,
                device,
            });
        };
        for p in gpu.profiles() {
            let Some(row) = rows.iter().find(|r| r.name.eq_ignore_ascii_case(p.name())) else {
                push(p.name(), "profile", "present".into(), "absent".into());
                continue;
            };
            if row.id != p.nvml_id() {
                push(
                    p.name(),
                    "nvml_id",
                    p.nvml_id().to_string(),
                    row.id.to_string(),
                );
            }
            if row.total != u32::from(p.max_count()) {
                push(
                    p.name(),
                    "max_count",
                    p.max_count().to_string(),
                    row.total.to_string(),
                );
            }
            if (row.memory_gib - p.memory_gib()).abs() > MEMORY_TOLERANCE_GIB {
                push(
                    p.name(),
                    "memory_gib",
                    format!("{:.2}", p.memory_gib()),
                    format!("{:.2}", row.memory_gib),
                );
            }
            if row.sm_count != p.sm_count() {
                push(
                    p.name(),
                    "sm_count",
                    p.sm_count().to_string(),
                    row.sm_count.to_string(),
                );
            }
            match places.iter().find(|r| r.id == row.id) {
                None => push(
                    p.name(),
                    "placements",
                    fmt_starts(p.starts(), p.memory_slices()),
                    "absent".into(),
                ),
                Some(pl) => {
                    if pl.starts != p.starts() {
                        push(p.name(), "starts", join(p.starts()), join(&pl.starts));
                    }
                    if pl.size != p.memory_slices() {
                        push(
                            p.name(),
                            "size",
                            p.memory_slices().to_string(),
                            pl.size.to_string(),
                        );
                    }
                }
            }
        }
        for row in &rows {
            if gpu.profile_by_name(&row.name).is_err() {
                push(
                    &row.name,
                    "profile",
                    "absent".into(),
                    format!("present (id {})", row.id),
                );
            }
        }
        for pl in &places {
            if !rows.iter().any(|r| r.id == pl.id) {
                push(
                    &format!("id {}", pl.id),
                    "placements",
                    "absent".into(),
                    fmt_starts(&pl.starts, pl.size),
                );
            }
        }
    }
    out
}

fn join(xs: &[u8]) -> String {
    xs.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn fmt_starts(starts: &[u8], size: u8) -> String {
    format!("{{{}}}:{size}", join(starts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    const LGIP: &str = "\
+-----------------------------------------------------------------------------+
| GPU instance profiles:                                                      |
| GPU   Name             ID    Instances   Memory     P2P    SM    DEC   ENC  |
|                              Free/Total   GiB              CE    JPEG  OFA  |
|=============================================================================|
|   0  MIG 1g.6gb        14     4/4        5.81       No     14     1     0   |
|                                                             1     0     0   |
+-----------------------------------------------------------------------------+
|   0  MIG 1g.6gb+me     21     1/1        5.81       No     14     1     0   |
|                                                             1     1     1   |
+-----------------------------------------------------------------------------+
|   0  MIG 2g.12gb        5     2/2        11.69      No     28     2     0   |
|                                                             2     0     0   |
+-----------------------------------------------------------------------------+
|   0  MIG 4g.24gb        0     0/1        23.44      No     56     4     0   |
|                                                             4     1     1   |
+-----------------------------------------------------------------------------+
";
    const LGIPP: &str = "\
GPU  0 Profile ID 14 Placements: {0,1,2,3}:1
GPU  0 Profile ID 21 Placements: {0,1,2,3}:1
GPU  0 Profile ID  5 Placements: {0,2}:2
GPU  0 Profile ID  0 Placement : {0}:4
";

    #[test]
    fn parses_a_transcript() {
        let rows = parse_lgip(LGIP, "a30.txt").unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            (
                rows[3].name.as_str(),
                rows[3].id,
                rows[3].free,
                rows[3].total,
                rows[3].line
            ),
            ("4g.24gb", 0, 0, 1, 15)
        );
        let places = parse_lgipp(LGIPP, "a30p.txt").unwrap();
        assert_eq!(places[3].starts, [0]);
        assert_eq!(places[2].size, 2);
    }

    #[test]
    fn diff_reports_every_difference() {
        let gpu = Catalog::builtin().gpu("a30-24gb").unwrap();
        let diffs = diff_catalog(
            gpu,
            &parse_lgip(LGIP, "x").unwrap(),
            &parse_lgipp(LGIPP, "y").unwrap(),
        );
        let text: Vec<String> = diffs
            .iter()
            .map(|d| format!("{} {}: {} vs {}", d.profile, d.field, d.catalog, d.device))
            .collect();
        // This older transcript has no 2g.12gb+me (R525+) and a slightly smaller 4g.
        assert_eq!(
            text,
            [
                "2g.12gb+me profile: present vs absent",
                "4g.24gb memory_gib: 23.50 vs 23.44"
            ]
        );
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let bad = LGIP.replace("  5     2/2", "  x     2/2");
        assert_eq!(
            parse_lgip(&bad, "f.txt").unwrap_err().to_string(),
            "f.txt:12: column ID: 'x' is not a whole number"
        );
        let bad = LGIP.replace("2/2", "2-2");
        assert_eq!(
            parse_lgip(&bad, "f.txt").unwrap_err().to_string(),
            "f.txt:12: column Instances: '2-2' is not free/total"
        );
        assert_eq!(
            parse_lgip("", "e.txt").unwrap_err().to_string(),
            "e.txt: no GPU instance profile rows found; expected the output of `nvidia-smi mig -lgip` on a GPU with MIG enabled"
        );
        assert_eq!(
            parse_lgipp("GPU  0 Profile ID 5 Placements: {0,x}:2", "p.txt")
                .unwrap_err()
                .to_string(),
            "p.txt:1: start 'x' is not a number"
        );
        assert_eq!(
            parse_lgipp("hello", "p.txt").unwrap_err().to_string(),
            "p.txt:1: expected 'GPU <n> Profile ID <id> Placements: {starts}:size', found 'hello'"
        );
    }
}
