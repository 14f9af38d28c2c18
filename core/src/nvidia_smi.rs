//! Readers for saved `nvidia-smi mig -lgip` and `nvidia-smi mig -lgipp` output, and the
//! comparison of what a real GPU reports with the catalog.
//!
//! Labs run the two commands on a GPU, save the text, and `migsched catalog diff` reports
//! every profile, id, count, size, SM count and placement that differs from the catalog.

use std::collections::BTreeSet;

use serde::Serialize;
use thiserror::Error;

use crate::error::InputError;

use std::sync::Arc;

use crate::catalog::{Catalog, GpuType, Profile};

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

/// Saved `nvidia-smi` output that cannot be read: the located [`InputError`] (file, line).
pub type NvidiaSmiError = InputError;

/// Parses `nvidia-smi mig -lgip` output (the boxed table, 79 or 81 columns wide; the second
/// line of each row, CE/JPEG/OFA, is not needed). Lines that are not profile rows (a pasted
/// prompt, headings, notes) are skipped.
pub fn parse_lgip(text: &str, origin: &str) -> Result<Vec<LgipRow>, NvidiaSmiError> {
    let err = |line: Option<usize>, message: String| NvidiaSmiError {
        line,
        ..InputError::new(origin, message)
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

/// Parses `nvidia-smi mig -lgipp` output: `GPU 0 Profile ID 9 Placements: {0,4}:4`. Other
/// lines (a pasted prompt, notes) are skipped; a malformed row is an error.
pub fn parse_lgipp(text: &str, origin: &str) -> Result<Vec<LgippRow>, NvidiaSmiError> {
    let err = |line: Option<usize>, message: String| NvidiaSmiError {
        line,
        ..InputError::new(origin, message)
    };
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = l.split_whitespace().collect();
        if tokens.first() != Some(&"GPU") || tokens.get(2) != Some(&"Profile") {
            // A pasted prompt, a heading or a note around the output: not a row.
            continue;
        }
        if tokens.get(3) != Some(&"ID") {
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

/// How a difference counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffClass {
    /// The catalog is wrong for this GPU (or the output is from another GPU type).
    Mismatch,
    /// A memory figure that differs by no more than drivers are known to vary: one the
    /// catalog lists under `memory_gib_seen`, or within the tolerance.
    DriverMemory,
    /// The GPU prints a name the catalog lists as the profile's alias (an older board or
    /// driver).
    Alias,
    /// A profile the output lacks that the catalog says came with a later driver than the
    /// GPU's first (e.g. A100's 1g.10gb from R525): the output is from an older driver.
    NewerProfile,
}

/// One way a real GPU differs from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// GPU index in the saved output.
    pub gpu_index: u32,
    /// The profile.
    pub profile: String,
    /// What differs: `profile`, `nvml_id`, `max_count`, `memory_gib`, `sm_count`, `starts`,
    /// `size`, `placements`, or `name`.
    pub field: &'static str,
    /// The catalog's value.
    pub catalog: String,
    /// What the GPU reports.
    pub device: String,
    /// Whether it counts as a mismatch.
    pub class: DiffClass,
    /// Why it is classed so, or what may explain it (e.g. a profile newer than the driver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Memory is printed with two decimals: differences below this are rounding.
const MEMORY_ROUNDING_GIB: f64 = 0.006;

/// How to compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiffOptions {
    /// Memory differences up to this fraction of the catalog's figure are driver-dependent,
    /// not mismatches (observed across drivers: up to 1.9%, e.g. RTX PRO 6000 2g.48gb 47.38
    /// vs 46.50 GiB).
    pub memory_tolerance: f64,
    /// The output is an excerpt: catalog profiles it does not show are not reported.
    pub partial: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            memory_tolerance: 0.02,
            partial: false,
        }
    }
}

/// Compares saved `-lgip` and `-lgipp` rows with a catalog GPU type, for every GPU index
/// present in the output. Either list may be empty (not given): then only the other is
/// compared. Returns every difference; the catalog matches when none is a
/// [`DiffClass::Mismatch`].
pub fn diff_catalog(
    gpu: &GpuType,
    lgip: &[LgipRow],
    lgipp: &[LgippRow],
    options: &DiffOptions,
) -> Vec<Difference> {
    let indices: BTreeSet<u32> = lgip
        .iter()
        .map(|r| r.gpu)
        .chain(lgipp.iter().map(|r| r.gpu))
        .collect();
    let mut out = Vec::new();
    for index in indices {
        let rows: Vec<&LgipRow> = lgip.iter().filter(|r| r.gpu == index).collect();
        let places: Vec<&LgippRow> = lgipp.iter().filter(|r| r.gpu == index).collect();
        let mut diff = GpuDiff {
            gpu,
            index,
            options,
            out: &mut out,
        };
        diff.profiles(&rows, &places, !lgip.is_empty(), !lgipp.is_empty());
    }
    out
}

/// The comparison of one GPU index of the output.
struct GpuDiff<'a> {
    gpu: &'a GpuType,
    index: u32,
    options: &'a DiffOptions,
    out: &'a mut Vec<Difference>,
}

impl GpuDiff<'_> {
    fn push(&mut self, profile: &str, field: &'static str, catalog: String, device: String) {
        self.push_class(profile, field, catalog, device, DiffClass::Mismatch, None);
    }

    fn push_class(
        &mut self,
        profile: &str,
        field: &'static str,
        catalog: String,
        device: String,
        class: DiffClass,
        note: Option<String>,
    ) {
        self.out.push(Difference {
            gpu_index: self.index,
            profile: profile.to_string(),
            field,
            catalog,
            device,
            class,
            note,
        });
    }

    fn profiles(
        &mut self,
        rows: &[&LgipRow],
        places: &[&LgippRow],
        has_lgip: bool,
        has_lgipp: bool,
    ) {
        let gpu = self.gpu;
        for p in gpu.profiles() {
            let row = rows
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(p.name()))
                .or_else(|| {
                    rows.iter()
                        .find(|r| p.aliases().iter().any(|a| a.eq_ignore_ascii_case(&r.name)))
                });
            // The profile's placement row: by the id the GPU printed for it, else the catalog's.
            let id = row.map_or(p.nvml_id(), |r| r.id);
            let place = places.iter().find(|r| r.id == id);
            if has_lgip {
                match row {
                    Some(row) => self.row(p, row),
                    None if self.options.partial => continue,
                    None => {
                        let newer = p.min_driver().filter(|d| Some(*d) != gpu.min_driver());
                        let (class, note) = match newer {
                            Some(d) => (
                                DiffClass::NewerProfile,
                                Some(format!(
                                    "the catalog has it from driver {d} on; an older driver lacks it"
                                )),
                            ),
                            None => (DiffClass::Mismatch, None),
                        };
                        self.push_class(
                            p.name(),
                            "profile",
                            "present".into(),
                            "absent".into(),
                            class,
                            note,
                        );
                        continue;
                    }
                }
            }
            if has_lgipp {
                match place {
                    None if self.options.partial => {}
                    None => self.push(
                        p.name(),
                        "placements",
                        fmt_starts(p.starts(), p.memory_slices()),
                        "absent".into(),
                    ),
                    Some(pl) => self.placement(p, pl),
                }
            }
        }
        for row in rows {
            if gpu.profile_by_name(&row.name).is_err() {
                self.push(
                    &row.name,
                    "profile",
                    "absent".into(),
                    format!("present (id {})", row.id),
                );
            }
        }
        for pl in places {
            let named = rows.iter().any(|r| r.id == pl.id);
            let known = gpu.profile_by_nvml_id(pl.id).is_some();
            if !named && (!known || has_lgip) {
                self.push(
                    &format!("id {}", pl.id),
                    "placements",
                    "absent".into(),
                    fmt_starts(&pl.starts, pl.size),
                );
            }
        }
    }

    fn row(&mut self, p: &Profile, row: &LgipRow) {
        if !row.name.eq_ignore_ascii_case(p.name()) {
            self.push_class(
                p.name(),
                "name",
                p.name().to_string(),
                row.name.clone(),
                DiffClass::Alias,
                Some("an older name of this profile (the catalog lists it as an alias)".into()),
            );
        }
        if row.id != p.nvml_id() {
            self.push(
                p.name(),
                "nvml_id",
                p.nvml_id().to_string(),
                row.id.to_string(),
            );
        }
        if row.total != u32::from(p.max_count()) {
            self.push(
                p.name(),
                "max_count",
                p.max_count().to_string(),
                row.total.to_string(),
            );
        }
        let delta = (row.memory_gib - p.memory_gib()).abs();
        if delta > MEMORY_ROUNDING_GIB {
            let seen = p
                .memory_gib_seen()
                .iter()
                .any(|m| (m - row.memory_gib).abs() <= MEMORY_ROUNDING_GIB);
            let (class, note) = if seen {
                (
                    DiffClass::DriverMemory,
                    Some("a figure the catalog lists as printed by other drivers".to_string()),
                )
            } else if delta <= self.options.memory_tolerance * p.memory_gib() {
                (
                    DiffClass::DriverMemory,
                    Some(format!(
                        "{:.1}% off, within the {:.1}% drivers vary by",
                        100.0 * delta / p.memory_gib(),
                        100.0 * self.options.memory_tolerance
                    )),
                )
            } else {
                (DiffClass::Mismatch, None)
            };
            self.push_class(
                p.name(),
                "memory_gib",
                format!("{:.2}", p.memory_gib()),
                format!("{:.2}", row.memory_gib),
                class,
                note,
            );
        }
        if row.sm_count != p.sm_count() {
            self.push(
                p.name(),
                "sm_count",
                p.sm_count().to_string(),
                row.sm_count.to_string(),
            );
        }
    }

    fn placement(&mut self, p: &Profile, pl: &LgippRow) {
        if pl.starts != p.starts() {
            self.push(p.name(), "starts", join(p.starts()), join(&pl.starts));
        }
        if pl.size != p.memory_slices() {
            self.push(
                p.name(),
                "size",
                p.memory_slices().to_string(),
                pl.size.to_string(),
            );
        }
    }
}

/// Whether any difference is a mismatch.
pub fn has_mismatch(diffs: &[Difference]) -> bool {
    diffs.iter().any(|d| d.class == DiffClass::Mismatch)
}

/// Which catalog GPU a transcript comes from, and how that was decided.
#[derive(Debug, Clone)]
pub struct Identified {
    /// The GPU type.
    pub gpu: Arc<GpuType>,
    /// How it was recognized, for the user.
    pub evidence: String,
}

/// A transcript whose GPU type cannot be told.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{message}")]
pub struct Unidentified {
    /// What was found and what to do.
    pub message: String,
}

/// Names the GPU a transcript comes from: a GPU name line in the text (as `nvidia-smi -L` or
/// `-q` print them, if the user pasted one), else the catalog GPU whose profiles the rows
/// match (names with their NVML ids, then SM counts, then memory; placements for `-lgipp`
/// alone). `texts` are the saved files' contents.
pub fn identify_gpu(
    catalog: &Catalog,
    texts: &[&str],
    lgip: &[LgipRow],
    lgipp: &[LgippRow],
) -> Result<Identified, Unidentified> {
    let mut unknown_names: Vec<String> = Vec::new();
    for text in texts {
        for line in text.lines() {
            let Some(at) = line.find("NVIDIA ") else {
                continue;
            };
            let rest = &line[at + "NVIDIA ".len()..];
            let name = rest.split(['(', '|']).next().unwrap_or("").trim();
            let name = name.split("  ").next().unwrap_or("").trim();
            if name.is_empty() || name.starts_with("MIG") {
                continue;
            }
            let words: Vec<&str> = name.split_whitespace().collect();
            let found = (1..=words.len())
                .rev()
                .find_map(|n| catalog.gpu(&words[..n].join(" ")).ok());
            match found {
                Some(g) => {
                    return Ok(Identified {
                        gpu: g.clone(),
                        evidence: format!("the output names it: 'NVIDIA {name}'"),
                    });
                }
                None if !unknown_names.contains(&name.to_string()) => {
                    unknown_names.push(name.to_string());
                }
                None => {}
            }
        }
    }
    type Score = (usize, usize, i64);
    let mut scored: Vec<(Score, &Arc<GpuType>)> = Vec::new();
    let mut closest: Option<(usize, &Arc<GpuType>)> = None;
    for g in catalog.gpus() {
        let named = lgip
            .iter()
            .filter(|r| {
                g.profile_by_name(&r.name)
                    .is_ok_and(|p| g.profile(p).nvml_id() == r.id)
            })
            .count();
        let placed = lgipp
            .iter()
            .filter(|r| {
                g.profile_by_nvml_id(r.id).is_some_and(|p| {
                    let p = g.profile(p);
                    p.starts() == r.starts && p.memory_slices() == r.size
                })
            })
            .count();
        let matched = if lgip.is_empty() { placed } else { named };
        let of = if lgip.is_empty() {
            lgipp.len()
        } else {
            lgip.len()
        };
        if closest.is_none_or(|(m, _)| matched > m) {
            closest = Some((matched, g));
        }
        if matched == of && of > 0 {
            let sms = lgip
                .iter()
                .filter(|r| {
                    g.profile_by_name(&r.name)
                        .is_ok_and(|p| g.profile(p).sm_count() == r.sm_count)
                })
                .count();
            let memory_error: f64 = lgip
                .iter()
                .filter_map(|r| {
                    g.profile_by_name(&r.name)
                        .ok()
                        .map(|p| (g.profile(p).memory_gib() - r.memory_gib).abs())
                })
                .sum();
            scored.push(((sms, placed, -((memory_error * 100.0).round() as i64)), g));
        }
    }
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [(best, g), rest @ ..] if rest.first().is_none_or(|(s, _)| s < best) => {
            let what = if lgip.is_empty() {
                "its placements match"
            } else {
                "its profile names and ids match"
            };
            Ok(Identified {
                gpu: (*g).clone(),
                evidence: format!(
                    "{what}{}",
                    if rest.is_empty() {
                        String::new()
                    } else {
                        ", and its SM counts and memory fit best".into()
                    }
                ),
            })
        }
        [(best, _), ..] if scored.len() > 1 => {
            let tied: Vec<&str> = scored
                .iter()
                .filter(|(s, _)| s == best)
                .map(|(_, g)| g.id())
                .collect();
            Err(Unidentified {
                message: format!(
                    "the output fits {} equally well; name the GPU with --gpu",
                    tied.join(", ")
                ),
            })
        }
        _ => {
            let printed: Vec<&str> = lgip.iter().map(|r| r.name.as_str()).collect();
            let looks = match unknown_names.first() {
                Some(n) => format!("the output names 'NVIDIA {n}', and "),
                None => String::new(),
            };
            let near = closest
                .filter(|(m, _)| *m > 0)
                .map(|(m, g)| format!("; the closest is {} ({m} matching)", g.id()))
                .unwrap_or_default();
            let subject = if printed.is_empty() {
                "its placements".to_string()
            } else {
                format!("its profiles ({})", printed.join(", "))
            };
            Err(Unidentified {
                message: format!(
                    "{looks}{subject} match no catalog GPU{near}. If it is a GPU the catalog does \
                     not have, add it with --catalog FILE (`migsched catalog toml` prints the \
                     format); otherwise name it with --gpu"
                ),
            })
        }
    }
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
        // This older transcript has no 2g.12gb+me (R525+); its 4g memory is the catalog's.
        assert_eq!(
            a30_diffs(&DiffOptions::default(), true),
            ["2g.12gb+me profile NewerProfile: present vs absent"]
        );
        let gpu = Catalog::builtin().gpu("a30-24gb").unwrap();
        let diffs = diff_catalog(
            gpu,
            &parse_lgip(&LGIP.replace("23.44", "23.50"), "x").unwrap(),
            &parse_lgipp(LGIPP, "y").unwrap(),
            &DiffOptions::default(),
        );
        assert_eq!(
            diffs[0].note.as_deref(),
            Some("the catalog has it from driver R525 on; an older driver lacks it")
        );
        assert_eq!(diffs[1].class, DiffClass::DriverMemory);
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
            "p.txt: no placement rows found; expected the output of `nvidia-smi mig -lgipp`"
        );
        assert_eq!(
            parse_lgipp("GPU 0 Profile 5 Placements: {0}:2", "p.txt")
                .unwrap_err()
                .to_string(),
            "p.txt:1: expected 'GPU <n> Profile ID <id> Placements: {starts}:size', found 'GPU 0 Profile 5 Placements: {0}:2'"
        );
    }

    #[test]
    fn prompts_and_notes_around_the_output_are_skipped() {
        let pasted = format!("$ nvidia-smi mig -lgip\n{LGIP}(note: taken on driver 535)\n");
        assert_eq!(parse_lgip(&pasted, "x").unwrap().len(), 4);
        let pasted = format!("root@node:~# nvidia-smi mig -lgipp\n{LGIPP}\nthat's all\n");
        assert_eq!(parse_lgipp(&pasted, "y").unwrap().len(), 4);
    }

    fn a30_diffs(options: &DiffOptions, lgipp: bool) -> Vec<String> {
        let gpu = Catalog::builtin().gpu("a30-24gb").unwrap();
        let places = if lgipp {
            parse_lgipp(LGIPP, "y").unwrap()
        } else {
            Vec::new()
        };
        diff_catalog(gpu, &parse_lgip(LGIP, "x").unwrap(), &places, options)
            .iter()
            .map(|d| {
                format!(
                    "{} {} {:?}: {} vs {}",
                    d.profile, d.field, d.class, d.catalog, d.device
                )
            })
            .collect()
    }

    #[test]
    fn partial_outputs_and_missing_lgipp_are_diffed_for_what_they_show() {
        let partial = DiffOptions {
            partial: true,
            ..DiffOptions::default()
        };
        assert_eq!(a30_diffs(&partial, true), Vec::<String>::new());
        assert_eq!(a30_diffs(&partial, false), Vec::<String>::new());
        // Only -lgipp: placements compared by NVML id.
        let gpu = Catalog::builtin().gpu("a30-24gb").unwrap();
        let bad = LGIPP.replace("{0,2}:2", "{0,1,2}:2");
        let d = diff_catalog(gpu, &[], &parse_lgipp(&bad, "y").unwrap(), &partial);
        assert_eq!(
            (d.len(), d[0].field, d[0].device.as_str()),
            (1, "starts", "0,1,2")
        );
    }

    #[test]
    fn memory_within_the_driver_margin_is_its_own_class() {
        let gpu = Catalog::builtin().gpu("h100-80gb").unwrap();
        let rows = |m: &str| {
            let text = LGIP_H100.replace("9.75", m);
            parse_lgip(&text, "x").unwrap()
        };
        let opts = DiffOptions {
            partial: true,
            ..DiffOptions::default()
        };
        // 9.62 is listed under memory_gib_seen; 9.70 is within 2%; 8.00 is a mismatch.
        for (m, class) in [
            ("9.62", DiffClass::DriverMemory),
            ("9.70", DiffClass::DriverMemory),
            ("8.00", DiffClass::Mismatch),
        ] {
            let d = diff_catalog(gpu, &rows(m), &[], &opts);
            assert_eq!(d.len(), 1, "{m}: {d:?}");
            assert_eq!((d[0].field, d[0].class), ("memory_gib", class), "{m}");
            assert_eq!(has_mismatch(&d), class == DiffClass::Mismatch);
        }
        let strict = DiffOptions {
            memory_tolerance: 0.0,
            partial: true,
        };
        let d = diff_catalog(gpu, &rows("9.70"), &[], &strict);
        assert_eq!(d[0].class, DiffClass::Mismatch);
    }

    const LGIP_H100: &str = "\
|   0  MIG 1g.10gb       19     7/7        9.75       No     16     1     0   |
|                                                             1     1     0   |
";

    #[test]
    fn identifies_the_gpu_from_names_ids_and_sms() {
        let c = Catalog::builtin();
        let a30 = parse_lgip(LGIP, "x").unwrap();
        assert_eq!(
            identify_gpu(c, &[LGIP], &a30, &[]).unwrap().gpu.id(),
            "a30-24gb"
        );
        // A100-80GB and H100-80GB share names and ids; the SM count decides.
        let h100 = parse_lgip(LGIP_H100, "x").unwrap();
        assert_eq!(
            identify_gpu(c, &[LGIP_H100], &h100, &[]).unwrap().gpu.id(),
            "h100-80gb"
        );
        let a100 = parse_lgip(&LGIP_H100.replace("16", "14").replace("9.75", "9.50"), "x").unwrap();
        assert_eq!(
            identify_gpu(c, &[], &a100, &[]).unwrap().gpu.id(),
            "a100-80gb"
        );
        // A pasted name line decides first.
        let named = format!("GPU 0: NVIDIA H100 NVL (UUID: GPU-1234)\n{LGIP_H100}");
        let id = identify_gpu(c, &[&named], &h100, &[]).unwrap();
        assert_eq!(id.gpu.id(), "h100-94gb");
        assert!(id.evidence.contains("NVIDIA H100 NVL"), "{}", id.evidence);
    }

    #[test]
    fn a_gpu_the_catalog_lacks_is_named_as_such() {
        let text = crate::catalog::BUILTIN_TOML;
        let a30 = &text[text.find("[[gpu]]\nid = \"a30-24gb\"").unwrap()..];
        let a30 = &a30[..a30[1..].find("\n[[gpu]]").unwrap() + 1];
        let only_a30 = Catalog::from_toml_str(a30, "a30.toml").unwrap();
        let h100 = parse_lgip(LGIP_H100, "x").unwrap();
        let named = format!("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\n{LGIP_H100}");
        let e = identify_gpu(&only_a30, &[&named], &h100, &[]).unwrap_err();
        assert!(
            e.message.starts_with("the output names 'NVIDIA H100 80GB HBM3', and its profiles (1g.10gb) match no catalog GPU"),
            "{e}"
        );
        assert!(e.message.contains("--catalog FILE"), "{e}");
    }
}
