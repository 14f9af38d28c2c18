//! Instance files (TOML): which models must be served at what rate and latency SLO, on which
//! GPUs, under which serving rules. Solvers, heuristics and the simulator all start from one.
//!
//! ```toml
//! name = "example"                     # optional; defaults to the file name
//!
//! [serving]
//! slo_rule = "parvagpu"                # "double" (2·L ≤ SLO), "batch-wait" (L + b/r ≤ SLO),
//!                                      # "parvagpu" (L < 0.9·SLO/2), or { fraction = f, strict = bool }
//! max_procs = 1                        # MPS processes per instance; 1 = MIG only
//! driver = "r510-or-later"             # or "before-r510"
//! batches = [1, 2, 4, 8, 16, 32]       # optional: only these batch sizes
//!
//! [profiles]                           # optional; default: migsched's analytic tables
//! files = ["../profiles/a100-80gb.csv"] # relative to the instance file
//!
//! [[gpus]]
//! type = "a100-80gb"
//! count = 8
//! cost = 1.0                           # optional, default 1 (for min-cost)
//!
//! [[models]]
//! name = "resnet50"
//! slo_ms = 100
//! rate_rps = 2000
//! batch_distribution = { 1 = 0.5, 4 = 0.3, 16 = 0.2 }   # optional: PARIS setting
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::error::InputError;
use crate::layout::Driver;

/// A validated instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// Name (from the file, or the file stem).
    pub name: String,
    /// Serving rules.
    pub serving: Serving,
    /// Where profile tables come from.
    pub profiles: ProfileSource,
    /// GPU pools, in file order, with distinct types.
    pub gpus: Vec<GpuPool>,
    /// Models with their demand, in file order, with distinct names.
    pub models: Vec<ModelDemand>,
}

/// Rules every serving option must follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Serving {
    /// Which (latency, batch) pairs meet a model's SLO.
    pub slo_rule: SloRule,
    /// Most MPS processes per GPU instance (1 = MIG only).
    pub max_procs: u32,
    /// Driver generation (the pre-R510 4g+3g rule).
    pub driver: Driver,
    /// Only these batch sizes, when set.
    pub batches: Option<Vec<u32>>,
}

/// How a serving option's latency must compare with its model's SLO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SloRule {
    /// `2·L ≤ SLO`: a request may wait one batch, then run in the next (Nexus, gpulet).
    Double,
    /// `L + b/r ≤ SLO`: collecting a batch of `b` at rate `r`, then running it (gpulet's rule
    /// for a partially loaded partition). `r` is the rate the instance is planned to serve.
    BatchWait,
    /// `L ≤ fraction·SLO`, or `L < fraction·SLO` when strict (ParvaGPU: 0.45, strict).
    Fraction {
        /// The fraction of the SLO the latency may use.
        fraction: f64,
        /// Whether equality is excluded.
        strict: bool,
    },
}

impl SloRule {
    /// ParvaGPU's rule: `L < 0.9·SLO/2`.
    pub const PARVAGPU: SloRule = SloRule::Fraction {
        fraction: 0.45,
        strict: true,
    };

    /// Whether a batch of `batch` with latency `latency_ms`, at `rate_rps` arriving requests
    /// per second for this instance, meets `slo_ms`.
    pub fn admits(&self, latency_ms: f64, batch: u32, rate_rps: f64, slo_ms: f64) -> bool {
        match *self {
            SloRule::Double => 2.0 * latency_ms <= slo_ms,
            SloRule::BatchWait => latency_ms + f64::from(batch) / rate_rps * 1000.0 <= slo_ms,
            SloRule::Fraction { fraction, strict } => {
                if strict {
                    latency_ms < fraction * slo_ms
                } else {
                    latency_ms <= fraction * slo_ms
                }
            }
        }
    }

    /// A short formula for tables and logs.
    pub fn describe(&self) -> String {
        match *self {
            SloRule::Double => "2·L ≤ SLO".into(),
            SloRule::BatchWait => "L + b/r ≤ SLO".into(),
            SloRule::Fraction { fraction, strict } => {
                format!("L {} {fraction}·SLO", if strict { "<" } else { "≤" })
            }
        }
    }
}

/// Where the profile tables of an instance come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProfileSource {
    /// migsched's analytic model with its calibrated parameters (the bundled default).
    Analytic,
    /// These tables (paths as written in the file, relative to it), merged in order.
    Files {
        /// The paths.
        files: Vec<String>,
    },
}

/// Some GPUs of one type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuPool {
    /// Catalog id of the type.
    pub gpu: String,
    /// How many are available.
    pub count: u32,
    /// Cost of one (for min-cost), > 0.
    pub cost: f64,
}

/// One model's demand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelDemand {
    /// Model name, lowercase, as in the profile tables.
    pub name: String,
    /// Latency SLO in milliseconds.
    pub slo_ms: f64,
    /// Request rate in requests (samples) per second.
    pub rate_rps: f64,
    /// When queries carry their own batch sizes (PARIS): (batch, probability) by batch,
    /// probabilities summing to 1. `None`: requests of one sample, batched by the server.
    pub batch_distribution: Option<Vec<(u32, f64)>>,
}

/// An instance file that cannot be used: the located [`InputError`] naming the file and the
/// field (e.g. `models[2].rate_rps`; none for syntax errors).
pub type InstanceError = InputError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: Option<String>,
    #[serde(default)]
    serving: RawServing,
    profiles: Option<RawProfiles>,
    #[serde(default)]
    gpus: Vec<RawGpu>,
    #[serde(default)]
    models: Vec<RawModel>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServing {
    slo_rule: Option<RawSloRule>,
    max_procs: Option<i64>,
    driver: Option<String>,
    batches: Option<Vec<i64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSloRule {
    Name(String),
    Fraction {
        fraction: f64,
        #[serde(default)]
        strict: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfiles {
    files: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGpu {
    #[serde(rename = "type")]
    gpu: String,
    count: i64,
    cost: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    slo_ms: f64,
    rate_rps: f64,
    batch_distribution: Option<BTreeMap<String, f64>>,
}

impl Instance {
    /// Parses and validates an instance file's text. `origin` names the file; `default_name`
    /// is used when the file has no `name`.
    pub fn from_toml_str(
        catalog: &Catalog,
        text: &str,
        origin: &str,
        default_name: &str,
    ) -> Result<Instance, InstanceError> {
        let err = |field: String, message: String| {
            let e = InputError::new(origin, message);
            if field.is_empty() {
                e
            } else {
                e.with_field(field)
            }
        };
        if text.trim().is_empty() {
            return Err(err(
                String::new(),
                "the file is empty; an instance needs [[gpus]] and [[models]]".into(),
            ));
        }
        let raw: RawInstance = toml::from_str(text)
            .map_err(|e| err(String::new(), e.to_string().trim_end().replace('\n', " ")))?;

        let slo_rule = match raw.serving.slo_rule {
            None => SloRule::Double,
            Some(RawSloRule::Name(n)) => match n.as_str() {
                "double" => SloRule::Double,
                "batch-wait" => SloRule::BatchWait,
                "parvagpu" => SloRule::PARVAGPU,
                other => {
                    return Err(err(
                        "serving.slo_rule".into(),
                        format!(
                            "'{other}' is not a rule; use \"double\", \"batch-wait\", \"parvagpu\" or {{ fraction = f, strict = bool }}"
                        ),
                    ));
                }
            },
            Some(RawSloRule::Fraction { fraction, strict }) => {
                if !(fraction.is_finite() && fraction > 0.0 && fraction <= 1.0) {
                    return Err(err(
                        "serving.slo_rule.fraction".into(),
                        format!("{fraction} is not in (0, 1]"),
                    ));
                }
                SloRule::Fraction { fraction, strict }
            }
        };
        let max_procs = match raw.serving.max_procs {
            None => 1,
            Some(k) if (1..=48).contains(&k) => k as u32,
            Some(k) => {
                return Err(err(
                    "serving.max_procs".into(),
                    format!("{k} is outside 1..=48 (MPS allows 48 clients)"),
                ));
            }
        };
        let driver = match raw.serving.driver.as_deref() {
            None | Some("r510-or-later") => Driver::R510OrLater,
            Some("before-r510") => Driver::BeforeR510,
            Some(other) => {
                return Err(err(
                    "serving.driver".into(),
                    format!("'{other}' is not \"r510-or-later\" or \"before-r510\""),
                ));
            }
        };
        let batches = match raw.serving.batches {
            None => None,
            Some(bs) => {
                if bs.is_empty() {
                    return Err(err(
                        "serving.batches".into(),
                        "is empty; leave it out to allow every batch".into(),
                    ));
                }
                let mut out = Vec::new();
                for (i, b) in bs.iter().enumerate() {
                    if !(1..=65536).contains(b) {
                        return Err(err(
                            format!("serving.batches[{i}]"),
                            format!("{b} is not a batch size ≥ 1"),
                        ));
                    }
                    out.push(*b as u32);
                }
                out.sort_unstable();
                out.dedup();
                Some(out)
            }
        };
        let profiles = match raw.profiles {
            None => ProfileSource::Analytic,
            Some(p) => {
                if p.files.is_empty() || p.files.iter().any(|f| f.trim().is_empty()) {
                    return Err(err(
                        "profiles.files".into(),
                        "needs at least one non-empty path".into(),
                    ));
                }
                ProfileSource::Files { files: p.files }
            }
        };

        if raw.gpus.is_empty() {
            return Err(err(
                "gpus".into(),
                "no [[gpus]] entries; an instance needs at least one GPU type".into(),
            ));
        }
        let mut gpus: Vec<GpuPool> = Vec::new();
        for (i, g) in raw.gpus.iter().enumerate() {
            let gpu = catalog
                .gpu(&g.gpu)
                .map_err(|e| err(format!("gpus[{i}].type"), e.to_string()))?;
            if gpus.iter().any(|p| p.gpu == gpu.id()) {
                return Err(err(
                    format!("gpus[{i}].type"),
                    format!("'{}' appears twice; give one entry per type", gpu.id()),
                ));
            }
            if g.count < 0 || g.count > 1_000_000 {
                return Err(err(
                    format!("gpus[{i}].count"),
                    format!("{} is outside 0..=1000000", g.count),
                ));
            }
            let cost = g.cost.unwrap_or(1.0);
            if !(cost.is_finite() && cost > 0.0) {
                return Err(err(
                    format!("gpus[{i}].cost"),
                    format!("{cost} is not a positive number"),
                ));
            }
            gpus.push(GpuPool {
                gpu: gpu.id().to_string(),
                count: g.count as u32,
                cost,
            });
        }

        if raw.models.is_empty() {
            return Err(err(
                "models".into(),
                "no [[models]] entries; an instance needs at least one model".into(),
            ));
        }
        let mut models: Vec<ModelDemand> = Vec::new();
        for (i, m) in raw.models.iter().enumerate() {
            let name = m.name.trim().to_ascii_lowercase();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(err(
                    format!("models[{i}].name"),
                    format!("'{}' is not a model name (letters, digits, - _ .)", m.name),
                ));
            }
            if models.iter().any(|d| d.name == name) {
                return Err(err(
                    format!("models[{i}].name"),
                    format!("'{name}' appears twice"),
                ));
            }
            for (field, v) in [("slo_ms", m.slo_ms), ("rate_rps", m.rate_rps)] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(err(
                        format!("models[{i}].{field}"),
                        format!("{v} is not a positive number"),
                    ));
                }
            }
            let batch_distribution = match &m.batch_distribution {
                None => None,
                Some(d) => Some(
                    parse_distribution(d)
                        .map_err(|e| err(format!("models[{i}].batch_distribution"), e))?,
                ),
            };
            models.push(ModelDemand {
                name,
                slo_ms: m.slo_ms,
                rate_rps: m.rate_rps,
                batch_distribution,
            });
        }
        Ok(Instance {
            name: raw.name.unwrap_or_else(|| default_name.to_string()),
            serving: Serving {
                slo_rule,
                max_procs,
                driver,
                batches,
            },
            profiles,
            gpus,
            models,
        })
    }

    /// The instance as TOML that [`Instance::from_toml_str`] reads back to an equal value.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "name = {}", toml_string(&self.name));
        let _ = writeln!(s, "\n[serving]");
        let rule = match self.serving.slo_rule {
            SloRule::Double => "\"double\"".to_string(),
            SloRule::BatchWait => "\"batch-wait\"".to_string(),
            r if r == SloRule::PARVAGPU => "\"parvagpu\"".to_string(),
            SloRule::Fraction { fraction, strict } => {
                format!("{{ fraction = {fraction:?}, strict = {strict} }}")
            }
        };
        let _ = writeln!(
            s,
            "slo_rule = {rule}   # {}",
            self.serving.slo_rule.describe()
        );
        let _ = writeln!(s, "max_procs = {}", self.serving.max_procs);
        let driver = match self.serving.driver {
            Driver::R510OrLater => "r510-or-later",
            Driver::BeforeR510 => "before-r510",
        };
        let _ = writeln!(s, "driver = \"{driver}\"");
        if let Some(bs) = &self.serving.batches {
            let bs: Vec<String> = bs.iter().map(u32::to_string).collect();
            let _ = writeln!(s, "batches = [{}]", bs.join(", "));
        }
        if let ProfileSource::Files { files } = &self.profiles {
            let fs: Vec<String> = files.iter().map(|f| toml_string(f)).collect();
            let _ = writeln!(s, "\n[profiles]\nfiles = [{}]", fs.join(", "));
        }
        for g in &self.gpus {
            let _ = writeln!(
                s,
                "\n[[gpus]]\ntype = \"{}\"\ncount = {}\ncost = {:?}",
                g.gpu, g.count, g.cost
            );
        }
        for m in &self.models {
            let _ = writeln!(
                s,
                "\n[[models]]\nname = \"{}\"\nslo_ms = {:?}\nrate_rps = {:?}",
                m.name, m.slo_ms, m.rate_rps
            );
            if let Some(d) = &m.batch_distribution {
                let items: Vec<String> = d.iter().map(|(b, p)| format!("{b} = {p:?}")).collect();
                let _ = writeln!(s, "batch_distribution = {{ {} }}", items.join(", "));
            }
        }
        s
    }

    /// The demand of a model by name.
    pub fn model(&self, name: &str) -> Option<&ModelDemand> {
        self.models.iter().find(|m| m.name == name)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn parse_distribution(d: &BTreeMap<String, f64>) -> Result<Vec<(u32, f64)>, String> {
    if d.is_empty() {
        return Err("is empty; leave it out for single-sample requests".into());
    }
    let mut out = Vec::new();
    for (k, &p) in d {
        let b: u32 = k
            .trim()
            .parse()
            .ok()
            .filter(|&b| b >= 1)
            .ok_or_else(|| format!("key '{k}' is not a batch size ≥ 1"))?;
        if !(p.is_finite() && p >= 0.0) {
            return Err(format!(
                "batch {b}: probability {p} is not a non-negative number"
            ));
        }
        out.push((b, p));
    }
    let total: f64 = out.iter().map(|(_, p)| p).sum();
    if total <= 0.0 {
        return Err("the probabilities add up to 0".into());
    }
    if (total - 1.0).abs() > 1e-6 {
        return Err(format!("the probabilities add up to {total}, not 1"));
    }
    out.sort_by_key(|(b, _)| *b);
    out.retain(|(_, p)| *p > 0.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
name = "t"
[serving]
slo_rule = "parvagpu"
max_procs = 5
[[gpus]]
type = "A100-SXM4-80GB"
count = 4
[[gpus]]
type = "h100-80gb"
count = 2
cost = 2.5
[[models]]
name = "ResNet50"
slo_ms = 100
rate_rps = 2000
batch_distribution = { 1 = 0.5, 4 = 0.5 }
[[models]]
name = "bert"
slo_ms = 200
rate_rps = 300
"#;

    fn parse(text: &str) -> Result<Instance, String> {
        Instance::from_toml_str(Catalog::builtin(), text, "i.toml", "i").map_err(|e| e.to_string())
    }

    #[test]
    fn parses_and_round_trips() {
        let i = parse(EXAMPLE).unwrap();
        assert_eq!(i.gpus[0].gpu, "a100-80gb");
        assert_eq!(i.models[0].name, "resnet50");
        assert_eq!(i.serving.slo_rule, SloRule::PARVAGPU);
        assert_eq!(i.profiles, ProfileSource::Analytic);
        assert_eq!(parse(&i.to_toml()).unwrap(), i);
    }

    #[test]
    fn slo_rules() {
        assert!(SloRule::Double.admits(50.0, 1, 1.0, 100.0));
        assert!(!SloRule::Double.admits(50.1, 1, 1.0, 100.0));
        assert!(SloRule::BatchWait.admits(50.0, 5, 100.0, 100.0));
        assert!(!SloRule::BatchWait.admits(50.0, 6, 100.0, 100.0));
        assert!(!SloRule::PARVAGPU.admits(45.0, 1, 1.0, 100.0));
        assert!(SloRule::PARVAGPU.admits(44.9, 1, 1.0, 100.0));
        let r = parse(&EXAMPLE.replace("\"parvagpu\"", "{ fraction = 0.5 }")).unwrap();
        assert_eq!(
            r.serving.slo_rule,
            SloRule::Fraction {
                fraction: 0.5,
                strict: false
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |from: &str, to: &str| parse(&EXAMPLE.replacen(from, to, 1)).unwrap_err();
        assert_eq!(
            bad("rate_rps = 2000", "rate_rps = -3"),
            "i.toml: models[0].rate_rps: -3 is not a positive number"
        );
        assert_eq!(
            bad("slo_ms = 200", "slo_ms = nan"),
            "i.toml: models[1].slo_ms: NaN is not a positive number"
        );
        assert!(
            bad("type = \"h100-80gb\"", "type = \"v100\"")
                .starts_with("i.toml: gpus[1].type: unknown GPU 'v100'")
        );
        assert_eq!(
            bad("count = 4", "count = -1"),
            "i.toml: gpus[0].count: -1 is outside 0..=1000000"
        );
        assert_eq!(
            bad("max_procs = 5", "max_procs = 0"),
            "i.toml: serving.max_procs: 0 is outside 1..=48 (MPS allows 48 clients)"
        );
        assert_eq!(
            bad("{ 1 = 0.5, 4 = 0.5 }", "{ 1 = 0.5, 4 = 0.4 }"),
            "i.toml: models[0].batch_distribution: the probabilities add up to 0.9, not 1"
        );
        assert_eq!(
            bad("{ 1 = 0.5,", "{ x = 0.5,"),
            "i.toml: models[0].batch_distribution: key 'x' is not a batch size ≥ 1"
        );
        assert_eq!(
            bad("name = \"bert\"", "name = \"resnet50\""),
            "i.toml: models[1].name: 'resnet50' appears twice"
        );
        assert!(
            bad("\"parvagpu\"", "\"fast\"")
                .starts_with("i.toml: serving.slo_rule: 'fast' is not a rule")
        );
        assert!(bad("count = 4", "count = 4\ncolor = 1").contains("unknown field `color`"));
        assert_eq!(
            parse("").unwrap_err(),
            "i.toml: the file is empty; an instance needs [[gpus]] and [[models]]"
        );
        assert_eq!(
            parse("name = \"x\"\n[[models]]\nname=\"a\"\nslo_ms=1\nrate_rps=1\n").unwrap_err(),
            "i.toml: gpus: no [[gpus]] entries; an instance needs at least one GPU type"
        );
    }
}
