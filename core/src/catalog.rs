//! The catalog of MIG-capable GPU types and their GPU-instance (GI) profiles.
//!
//! The built-in entries live in `catalog/gpus.toml` (data, not code), so a new GPU is one
//! block of TOML; a user file of the same shape extends or overrides them at run time.
//! Every entry is checked when it is loaded: a `GpuType` that exists is self-consistent
//! (every legal start keeps its instance inside the GPU, counts and sizes are positive).

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The built-in catalog source (TOML), embedded at compile time.
pub const BUILTIN_TOML: &str = include_str!("catalog/gpus.toml");

/// Most memory slices a GPU type may declare (placements are tracked in a `u32` bitmask).
pub const MAX_MEMORY_SLICES: u8 = 32;

/// A set of GPU types, looked up by id, product name or alias.
#[derive(Debug, Clone)]
pub struct Catalog {
    gpus: Vec<Arc<GpuType>>,
}

/// One MIG-capable GPU type and its GI profiles. Fields are private: an instance exists only
/// after the consistency checks of [`Catalog::from_toml_str`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuType {
    id: String,
    name: String,
    aliases: Vec<String>,
    pci_device_ids: Vec<u16>,
    compute_slices: u8,
    memory_slices: u8,
    sm_count: u32,
    memory_gib: f64,
    source: String,
    unconfirmed: Vec<String>,
    notes: Vec<String>,
    min_driver: Option<DriverVersion>,
    media_engines: Option<MediaEngines>,
    datasheet: Option<Datasheet>,
    profiles: Vec<Profile>,
}

/// Media engines of a GPU or of one GPU instance: video decoders (NVDEC), video encoders
/// (NVENC), JPEG decoders (NVJPG) and optical-flow accelerators (OFA), as the DEC, ENC,
/// JPEG and OFA columns of `nvidia-smi mig -lgip` print them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaEngines {
    /// Video decoders (NVDEC).
    #[serde(default)]
    pub decoders: u8,
    /// Video encoders (NVENC).
    #[serde(default)]
    pub encoders: u8,
    /// JPEG decoders (NVJPG).
    #[serde(default)]
    pub jpeg: u8,
    /// Optical-flow accelerators (OFA).
    #[serde(default)]
    pub ofa: u8,
}

impl MediaEngines {
    /// The engine kinds with their counts, in the order nvidia-smi prints them.
    pub fn kinds(&self) -> [(&'static str, u8); 4] {
        [
            ("NVDEC", self.decoders),
            ("NVENC", self.encoders),
            ("NVJPG", self.jpeg),
            ("OFA", self.ofa),
        ]
    }
    /// Whether every count here is at most the one in `other`.
    pub fn within(&self, other: &MediaEngines) -> bool {
        self.kinds()
            .iter()
            .zip(other.kinds())
            .all(|(&(_, a), (_, b))| a <= b)
    }
    /// Whether there are no engines at all.
    pub fn is_none(&self) -> bool {
        self.kinds().iter().all(|&(_, n)| n == 0)
    }
}

impl fmt::Display for MediaEngines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.decoders, self.encoders, self.jpeg, self.ofa
        )
    }
}

/// A profile's variant, from the suffix of its name (NVIDIA MIG user guide, "Supported MIG
/// Profiles"). What a variant may share a GPU with follows from its media engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// No suffix: the compute profile.
    Plain,
    /// `+me`: at least one media engine, including the OFA; one such instance per GPU.
    MediaExtensions,
    /// `+me.all`: all the GPU's media engines, so no other instance with a media engine.
    AllMedia,
    /// `-me`: no media engines.
    NoMedia,
    /// `+gfx`: graphics APIs as well as compute (RTX PRO Blackwell).
    Graphics,
}

impl Variant {
    /// The variant named by a profile name's suffix; `None` for a suffix NVIDIA does not use.
    pub fn of_name(name: &str) -> Option<Variant> {
        let lower = name.to_ascii_lowercase();
        let suffixes = [
            ("+me.all", Variant::AllMedia),
            ("+me", Variant::MediaExtensions),
            ("-me", Variant::NoMedia),
            ("+gfx", Variant::Graphics),
        ];
        for (suffix, v) in suffixes {
            if lower.ends_with(suffix) {
                return Some(v);
            }
        }
        if lower.contains('+') {
            None
        } else {
            Some(Variant::Plain)
        }
    }
    /// The suffix as written in profile names (empty for `Plain`).
    pub fn suffix(self) -> &'static str {
        match self {
            Variant::Plain => "",
            Variant::MediaExtensions => "+me",
            Variant::AllMedia => "+me.all",
            Variant::NoMedia => "-me",
            Variant::Graphics => "+gfx",
        }
    }
}

/// A driver version such as 525.85.12 (major, minor, patch; missing parts are 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DriverVersion {
    /// Branch, e.g. 525.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl DriverVersion {
    /// Parses `525.85.12`, `R525` or `525`.
    pub fn parse(text: &str) -> Option<DriverVersion> {
        let t = text.trim();
        let t = t.strip_prefix(['R', 'r']).unwrap_or(t);
        let mut parts = t.split('.');
        let mut next = |required: bool| -> Option<u32> {
            match parts.next() {
                Some(p)
                    if !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    p.parse().ok()
                }
                None if !required => Some(0),
                _ => None,
            }
        };
        let v = DriverVersion {
            major: next(true)?,
            minor: next(false)?,
            patch: next(false)?,
        };
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for DriverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.minor, self.patch) {
            (0, 0) => write!(f, "R{}", self.major),
            (_, 0) => write!(f, "{}.{:02}", self.major, self.minor),
            _ => write!(f, "{}.{:02}.{:02}", self.major, self.minor, self.patch),
        }
    }
}

impl Serialize for DriverVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Peak figures of the whole GPU from the vendor's datasheet, for the analytic latency model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datasheet {
    /// Dense FP16 tensor-core throughput of the whole GPU, TFLOP/s (without sparsity).
    pub fp16_tensor_tflops: f64,
    /// Memory bandwidth of the whole GPU, GB/s (10^9 bytes per second).
    pub memory_bandwidth_gbs: f64,
    /// The datasheet these come from.
    pub source: String,
}

/// A GPU-instance profile of one GPU type, as `nvidia-smi mig -lgip` / `-lgipp` describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    name: String,
    nvml_id: u32,
    compute_slices: u8,
    memory_slices: u8,
    sm_count: u32,
    memory_gib: f64,
    max_count: u8,
    starts: Vec<u8>,
    variant: Variant,
    aliases: Vec<String>,
    media_engines: Option<MediaEngines>,
    min_driver: Option<DriverVersion>,
    memory_gib_seen: Vec<f64>,
    source: String,
}

/// Index of a profile within its GPU type's profile list (the catalog's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProfileIndex(pub u8);

impl ProfileIndex {
    /// The index as a `usize`, for slicing.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// Errors found while loading a catalog. Each names the file and the offending entry.
#[derive(Debug, Error, PartialEq)]
pub enum CatalogError {
    /// The text is not valid TOML or does not have the catalog's shape.
    #[error("{origin}: {message}")]
    Syntax {
        /// File name or other description of the source.
        origin: String,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// An entry is inconsistent.
    #[error("{origin}: gpu '{gpu}'{}: {field}: {message}", profile.as_ref().map(|p| format!(" profile '{p}'")).unwrap_or_default())]
    Invalid {
        /// File name or other description of the source.
        origin: String,
        /// The GPU entry's id.
        gpu: String,
        /// The profile, when the problem is inside one.
        profile: Option<String>,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// A GPU name that matches no catalog entry.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("unknown GPU '{name}'; known GPUs: {}", known.join(", "))]
pub struct UnknownGpu {
    /// The name as given.
    pub name: String,
    /// The ids of the catalog's GPUs.
    pub known: Vec<String>,
}

/// A profile name that matches none of a GPU type's profiles.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("unknown profile '{name}' for {gpu}; its profiles are: {}", known.join(", "))]
pub struct UnknownProfile {
    /// The name as given.
    pub name: String,
    /// The GPU type's id.
    pub gpu: String,
    /// The GPU type's profile names.
    pub known: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    gpu: Vec<RawGpu>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGpu {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    pci_device_ids: Vec<String>,
    compute_slices: u8,
    memory_slices: u8,
    sm_count: u32,
    memory_gib: f64,
    #[serde(default)]
    source: String,
    #[serde(default)]
    unconfirmed: Vec<String>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    min_driver: Option<String>,
    #[serde(default)]
    media_engines: Option<MediaEngines>,
    #[serde(default)]
    datasheet: Option<Datasheet>,
    #[serde(default)]
    profile: Vec<RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    nvml_id: u32,
    compute_slices: u8,
    memory_slices: u8,
    sm_count: u32,
    memory_gib: f64,
    max_count: u8,
    starts: Vec<u8>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    media_engines: Option<MediaEngines>,
    #[serde(default)]
    min_driver: Option<String>,
    #[serde(default)]
    memory_gib_seen: Vec<f64>,
    #[serde(default)]
    source: String,
}

impl Catalog {
    /// The built-in catalog (parsed once; the embedded file is checked by the test suite).
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Catalog::from_toml_str(BUILTIN_TOML, "built-in catalog")
                .unwrap_or_else(|e| panic!("the embedded catalog is invalid (a build bug): {e}"))
        })
    }

    /// Parses and checks a catalog file's text. `origin` names the source in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if raw.gpu.is_empty() {
            return Err(CatalogError::Syntax {
                origin: origin.to_string(),
                message: "no [[gpu]] entries".to_string(),
            });
        }
        let mut gpus = Vec::with_capacity(raw.gpu.len());
        for g in raw.gpu {
            gpus.push(Arc::new(GpuType::from_raw(g, origin)?));
        }
        let catalog = Catalog { gpus: Vec::new() };
        catalog.extended(Catalog { gpus }, origin)
    }

    /// This catalog plus `other`'s GPUs; an entry of `other` with an existing id replaces it.
    /// Fails when a name or alias of one GPU would also resolve to another.
    pub fn extended(&self, other: Catalog, origin: &str) -> Result<Catalog, CatalogError> {
        let mut gpus = self.gpus.clone();
        for g in other.gpus {
            match gpus.iter().position(|have| have.id == g.id) {
                Some(i) => gpus[i] = g,
                None => gpus.push(g),
            }
        }
        for (i, a) in gpus.iter().enumerate() {
            for b in &gpus[i + 1..] {
                if let Some(key) = a.keys().find(|k| b.keys().any(|kb| kb == *k)) {
                    return Err(CatalogError::Invalid {
                        origin: origin.to_string(),
                        gpu: b.id.clone(),
                        profile: None,
                        field: "aliases",
                        message: format!("name '{key}' also names gpu '{}'", a.id),
                    });
                }
            }
        }
        Ok(Catalog { gpus })
    }

    /// All GPU types, in catalog order.
    pub fn gpus(&self) -> &[Arc<GpuType>] {
        &self.gpus
    }

    /// Looks a GPU type up by id, product name or alias. Matching ignores case, a leading
    /// "NVIDIA", and the difference between spaces, underscores and hyphens.
    pub fn gpu(&self, name: &str) -> Result<&Arc<GpuType>, UnknownGpu> {
        let key = normalize_gpu_name(name);
        self.gpus
            .iter()
            .find(|g| g.keys().any(|k| k == key))
            .ok_or_else(|| UnknownGpu {
                name: name.to_string(),
                known: self.gpus.iter().map(|g| g.id.clone()).collect(),
            })
    }

    /// The GPU type with this PCI device id (the upper 16 bits of mig-parted's
    /// `device-filter` values such as `0x20B010DE`), if any.
    pub fn gpu_by_pci_device_id(&self, device_id: u16) -> Option<&Arc<GpuType>> {
        self.gpus
            .iter()
            .find(|g| g.pci_device_ids.contains(&device_id))
    }
}

fn normalize_gpu_name(name: &str) -> String {
    let mut s = name.trim().to_ascii_lowercase().replace([' ', '_'], "-");
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    match s.strip_prefix("nvidia-") {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

fn normalize_profile_name(name: &str) -> String {
    let s = name.trim().to_ascii_lowercase();
    match s.strip_prefix("mig") {
        Some(rest) if rest.starts_with(' ') => rest.trim_start().to_string(),
        _ => s,
    }
}

fn parse_pci_device_id(text: &str) -> Option<u16> {
    let hex = text
        .trim()
        .strip_prefix("0x")
        .or_else(|| text.trim().strip_prefix("0X"))?;
    u16::from_str_radix(hex, 16).ok()
}

/// The media-engine fields of one profile against its GPU's totals and its variant: a GPU
/// that declares totals needs every profile's engines, each within the totals; `-me` has none
/// and `+me.all` has all the GPU's decoders, encoders and JPEG decoders.
fn check_engines(
    gpu: Option<MediaEngines>,
    p: &RawProfile,
    variant: Variant,
) -> Result<(), (&'static str, String)> {
    let (Some(total), Some(mine)) = (gpu, p.media_engines) else {
        return match (gpu, p.media_engines) {
            (Some(_), None) => Err((
                "media_engines",
                "missing; the GPU declares media_engines, so every profile needs them".into(),
            )),
            (None, Some(_)) => Err((
                "media_engines",
                "given, but the GPU declares no media_engines totals".into(),
            )),
            _ => Ok(()),
        };
    };
    if !mine.within(&total) {
        return Err((
            "media_engines",
            format!("{mine} (NVDEC/NVENC/NVJPG/OFA) exceeds the GPU's {total}"),
        ));
    }
    match variant {
        Variant::NoMedia if !mine.is_none() => Err((
            "media_engines",
            format!("a -me profile has no media engines, but {mine} are given"),
        )),
        Variant::AllMedia
            if (mine.decoders, mine.encoders, mine.jpeg)
                != (total.decoders, total.encoders, total.jpeg) =>
        {
            Err((
                "media_engines",
                format!("a +me.all profile has all the GPU's media engines ({total}), not {mine}"),
            ))
        }
        _ => Ok(()),
    }
}

impl GpuType {
    fn from_raw(raw: RawGpu, origin: &str) -> Result<GpuType, CatalogError> {
        let gpu_id = raw.id.clone();
        let invalid =
            |profile: Option<&str>, field: &'static str, message: String| CatalogError::Invalid {
                origin: origin.to_string(),
                gpu: gpu_id.clone(),
                profile: profile.map(str::to_string),
                field,
                message,
            };
        if raw.id.trim().is_empty() || raw.id != raw.id.to_ascii_lowercase() || raw.id.contains(' ')
        {
            return Err(invalid(
                None,
                "id",
                "must be non-empty, lowercase, without spaces".into(),
            ));
        }
        if raw.compute_slices == 0 {
            return Err(invalid(None, "compute_slices", "must be at least 1".into()));
        }
        if raw.memory_slices == 0 || raw.memory_slices > MAX_MEMORY_SLICES {
            return Err(invalid(
                None,
                "memory_slices",
                format!("{} is outside 1..={MAX_MEMORY_SLICES}", raw.memory_slices),
            ));
        }
        if raw.sm_count == 0 {
            return Err(invalid(None, "sm_count", "must be at least 1".into()));
        }
        if !(raw.memory_gib.is_finite() && raw.memory_gib > 0.0) {
            return Err(invalid(
                None,
                "memory_gib",
                format!("{} is not positive", raw.memory_gib),
            ));
        }
        if let Some(d) = &raw.datasheet {
            for (field, v) in [
                ("datasheet.fp16_tensor_tflops", d.fp16_tensor_tflops),
                ("datasheet.memory_bandwidth_gbs", d.memory_bandwidth_gbs),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(invalid(None, field, format!("{v} is not positive")));
                }
            }
        }
        let mut pci_device_ids = Vec::new();
        for text in &raw.pci_device_ids {
            let id = parse_pci_device_id(text).ok_or_else(|| {
                invalid(
                    None,
                    "pci_device_ids",
                    format!("'{text}' is not a hex id like 0x20B0"),
                )
            })?;
            pci_device_ids.push(id);
        }
        if raw.profile.is_empty() {
            return Err(invalid(
                None,
                "profile",
                "a GPU type needs at least one profile".into(),
            ));
        }
        let driver = |profile: Option<&str>, text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    DriverVersion::parse(t).ok_or_else(|| {
                        invalid(
                            profile,
                            "min_driver",
                            format!("'{t}' is not a driver version like 525.85.12 or R525"),
                        )
                    })
                })
                .transpose()
        };
        let min_driver = driver(None, &raw.min_driver)?;
        let mut profiles: Vec<Profile> = Vec::with_capacity(raw.profile.len());
        for p in raw.profile {
            let name = p.name.trim().to_string();
            let at = Some(name.as_str());
            if name.is_empty() || name.contains([',', '@', ' ']) {
                return Err(invalid(
                    at,
                    "name",
                    "must be non-empty without ',', '@' or spaces".into(),
                ));
            }
            for alias in &p.aliases {
                if alias.trim().is_empty() || alias.contains([',', '@', ' ']) {
                    return Err(invalid(
                        at,
                        "aliases",
                        format!("'{alias}' must be non-empty without ',', '@' or spaces"),
                    ));
                }
            }
            let keys: Vec<String> = std::iter::once(&name)
                .chain(&p.aliases)
                .map(|n| normalize_profile_name(n))
                .collect();
            if let Some(q) = profiles
                .iter()
                .find(|q| q.keys().any(|k| keys.contains(&k)))
            {
                return Err(invalid(
                    at,
                    "name",
                    format!("a name or alias of it also names '{}'", q.name),
                ));
            }
            let variant = Variant::of_name(&name).ok_or_else(|| {
                invalid(
                    at,
                    "name",
                    "has a variant suffix NVIDIA does not use (known: +me, +me.all, -me, +gfx)"
                        .into(),
                )
            })?;
            check_engines(raw.media_engines, &p, variant)
                .map_err(|(field, m)| invalid(at, field, m))?;
            if let Some(&m) = p
                .memory_gib_seen
                .iter()
                .find(|&&m| !(m.is_finite() && m > 0.0 && m <= raw.memory_gib))
            {
                return Err(invalid(
                    at,
                    "memory_gib_seen",
                    format!("{m} is outside (0, {}]", raw.memory_gib),
                ));
            }
            let profile_min_driver = driver(at, &p.min_driver)?;
            if let Some(q) = profiles.iter().find(|q| q.nvml_id == p.nvml_id) {
                return Err(invalid(
                    at,
                    "nvml_id",
                    format!("{} is also the id of '{}'", p.nvml_id, q.name),
                ));
            }
            if p.compute_slices == 0 || p.compute_slices > raw.compute_slices {
                return Err(invalid(
                    at,
                    "compute_slices",
                    format!("{} is outside 1..={}", p.compute_slices, raw.compute_slices),
                ));
            }
            if p.memory_slices == 0 || p.memory_slices > raw.memory_slices {
                return Err(invalid(
                    at,
                    "memory_slices",
                    format!("{} is outside 1..={}", p.memory_slices, raw.memory_slices),
                ));
            }
            if p.sm_count == 0 || p.sm_count > raw.sm_count {
                return Err(invalid(
                    at,
                    "sm_count",
                    format!("{} is outside 1..={}", p.sm_count, raw.sm_count),
                ));
            }
            if !(p.memory_gib.is_finite() && p.memory_gib > 0.0 && p.memory_gib <= raw.memory_gib) {
                return Err(invalid(
                    at,
                    "memory_gib",
                    format!("{} is outside (0, {}]", p.memory_gib, raw.memory_gib),
                ));
            }
            if p.max_count == 0 {
                return Err(invalid(at, "max_count", "must be at least 1".into()));
            }
            if p.starts.is_empty() {
                return Err(invalid(
                    at,
                    "starts",
                    "needs at least one legal start".into(),
                ));
            }
            let mut starts = p.starts.clone();
            starts.sort_unstable();
            starts.dedup();
            if starts.len() != p.starts.len() {
                return Err(invalid(at, "starts", "lists a start twice".into()));
            }
            if let Some(&s) = starts.iter().find(|&&s| {
                u16::from(s) + u16::from(p.memory_slices) > u16::from(raw.memory_slices)
            }) {
                return Err(invalid(
                    at,
                    "starts",
                    format!(
                        "start {s} + size {} exceeds the {} memory slices",
                        p.memory_slices, raw.memory_slices
                    ),
                ));
            }
            profiles.push(Profile {
                variant,
                aliases: p.aliases.iter().map(|a| a.trim().to_string()).collect(),
                media_engines: p.media_engines,
                min_driver: profile_min_driver.or(min_driver),
                memory_gib_seen: p.memory_gib_seen.clone(),
                source: p.source.clone(),
                name,
                nvml_id: p.nvml_id,
                compute_slices: p.compute_slices,
                memory_slices: p.memory_slices,
                sm_count: p.sm_count,
                memory_gib: p.memory_gib,
                max_count: p.max_count,
                starts,
            });
        }
        if profiles.len() > usize::from(u8::MAX) {
            return Err(invalid(None, "profile", "more than 255 profiles".into()));
        }
        Ok(GpuType {
            id: raw.id,
            name: raw.name,
            aliases: raw.aliases,
            pci_device_ids,
            compute_slices: raw.compute_slices,
            memory_slices: raw.memory_slices,
            sm_count: raw.sm_count,
            memory_gib: raw.memory_gib,
            source: raw.source,
            unconfirmed: raw.unconfirmed,
            notes: raw.notes,
            min_driver,
            media_engines: raw.media_engines,
            datasheet: raw.datasheet,
            profiles,
        })
    }

    /// Every normalized name this GPU answers to.
    fn keys(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.id)
            .chain(std::iter::once(&self.name))
            .chain(self.aliases.iter())
            .map(|n| normalize_gpu_name(n))
    }

    /// Short id used on the command line, e.g. `a100-40gb`.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Product name as NVML reports it, without the "NVIDIA " prefix.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Other accepted names.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }
    /// PCI device ids (vendor 0x10DE) of this GPU type.
    pub fn pci_device_ids(&self) -> &[u16] {
        &self.pci_device_ids
    }
    /// GPCs available to MIG (7 on A100/H100/H200, 4 on A30).
    pub fn compute_slices(&self) -> u8 {
        self.compute_slices
    }
    /// Memory slices (8 on A100/H100/H200, 4 on A30).
    pub fn memory_slices(&self) -> u8 {
        self.memory_slices
    }
    /// SMs of the whole GPU with MIG disabled.
    pub fn sm_count(&self) -> u32 {
        self.sm_count
    }
    /// Nominal memory capacity in GiB.
    pub fn memory_gib(&self) -> f64 {
        self.memory_gib
    }
    /// Where the figures come from.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Figures not yet confirmed on real hardware.
    pub fn unconfirmed(&self) -> &[String] {
        &self.unconfirmed
    }
    /// Decisions and alternatives behind the figures (where sources disagree).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
    /// The oldest driver with MIG support on this GPU, when the catalog knows it.
    pub fn min_driver(&self) -> Option<DriverVersion> {
        self.min_driver
    }
    /// The GPU's media engines, when the catalog has them; with them, the instances of a
    /// layout may use at most these many of each kind together.
    pub fn media_engines(&self) -> Option<MediaEngines> {
        self.media_engines
    }
    /// Peak compute and bandwidth from the vendor datasheet, when the catalog has them.
    pub fn datasheet(&self) -> Option<&Datasheet> {
        self.datasheet.as_ref()
    }
    /// The GI profiles, in catalog order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }
    /// The profile at an index. Panics on an index from another GPU type (a bug).
    pub fn profile(&self, index: ProfileIndex) -> &Profile {
        &self.profiles[index.get()]
    }
    /// All profile indices, in catalog order.
    pub fn profile_indices(&self) -> impl Iterator<Item = ProfileIndex> + '_ {
        (0..self.profiles.len()).map(|i| ProfileIndex(i as u8))
    }
    /// Looks a profile up by name, ignoring case and a leading "MIG ".
    pub fn profile_by_name(&self, name: &str) -> Result<ProfileIndex, UnknownProfile> {
        let key = normalize_profile_name(name);
        self.profiles
            .iter()
            // Names and aliases are unique across profiles (checked on load): one pass.
            .position(|p| p.keys().any(|k| k == key))
            .map(|i| ProfileIndex(i as u8))
            .ok_or_else(|| UnknownProfile {
                name: name.trim().to_string(),
                gpu: self.id.clone(),
                known: self.profiles.iter().map(|p| p.name.clone()).collect(),
            })
    }
    /// Looks a profile up by its NVML profile id.
    pub fn profile_by_nvml_id(&self, nvml_id: u32) -> Option<ProfileIndex> {
        self.profiles
            .iter()
            .position(|p| p.nvml_id == nvml_id)
            .map(|i| ProfileIndex(i as u8))
    }
}

impl fmt::Display for GpuType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

impl Profile {
    /// Profile name, e.g. `3g.40gb`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// NVML profile id (the "ID" column of `nvidia-smi mig -lgip`).
    pub fn nvml_id(&self) -> u32 {
        self.nvml_id
    }
    /// Compute slices (GPCs).
    pub fn compute_slices(&self) -> u8 {
        self.compute_slices
    }
    /// Memory slices, which is also the placement size.
    pub fn memory_slices(&self) -> u8 {
        self.memory_slices
    }
    /// SMs of one instance.
    pub fn sm_count(&self) -> u32 {
        self.sm_count
    }
    /// Memory of one instance in GiB, as `nvidia-smi mig -lgip` prints it.
    pub fn memory_gib(&self) -> f64 {
        self.memory_gib
    }
    /// Memory of one instance in MiB (rounded).
    pub fn memory_mib(&self) -> u64 {
        (self.memory_gib * 1024.0).round() as u64
    }
    /// Most instances of this profile on one GPU.
    pub fn max_count(&self) -> u8 {
        self.max_count
    }
    /// Legal placement starts, ascending.
    pub fn starts(&self) -> &[u8] {
        &self.starts
    }
    /// Whether this is a `+me` or `+me.all` profile (one media-extension GI per GPU).
    pub fn media_extensions(&self) -> bool {
        matches!(self.variant, Variant::MediaExtensions | Variant::AllMedia)
    }
    /// The profile's variant (from its name's suffix).
    pub fn variant(&self) -> Variant {
        self.variant
    }
    /// Whether this is a variant (`+me`, `+me.all`, `-me`, `+gfx`) rather than the plain
    /// compute profile. Planners serve inference on plain profiles.
    pub fn is_variant(&self) -> bool {
        self.variant != Variant::Plain
    }
    /// Other names of this profile (older boards or drivers print them).
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }
    /// The instance's media engines, when the catalog has them.
    pub fn media_engines(&self) -> Option<MediaEngines> {
        self.media_engines
    }
    /// Whether an instance of this profile never uses more media engines than one of
    /// `other`: compared per engine when the catalog has them, else by variant.
    pub fn engines_within(&self, other: &Profile) -> bool {
        match (self.media_engines, other.media_engines) {
            (Some(a), Some(b)) => a.within(&b),
            _ => !self.media_extensions() || other.media_extensions(),
        }
    }
    /// The oldest driver that offers this profile, when the catalog knows it.
    pub fn min_driver(&self) -> Option<DriverVersion> {
        self.min_driver
    }
    /// Other memory figures `nvidia-smi mig -lgip` printed for this profile on other drivers
    /// or boards (the catalog's own figure is [`Profile::memory_gib`]).
    pub fn memory_gib_seen(&self) -> &[f64] {
        &self.memory_gib_seen
    }
    /// Where this profile's figures come from, when it differs from the GPU's source.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Every normalized name this profile answers to.
    fn keys(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.name)
            .chain(self.aliases.iter())
            .map(|n| normalize_profile_name(n))
    }
    /// Bitmask of the memory slices an instance placed at `start` occupies.
    pub fn memory_mask(&self, start: u8) -> u32 {
        let ones = if self.memory_slices >= 32 {
            u32::MAX
        } else {
            (1u32 << self.memory_slices) - 1
        };
        ones.checked_shl(u32::from(start)).unwrap_or(0)
    }
    /// The profile's size class, e.g. `3g` (the prefix before the first dot).
    pub fn class(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> &'static Catalog {
        Catalog::builtin()
    }

    #[test]
    fn builtin_catalog_loads_with_every_documented_gpu() {
        let ids: Vec<&str> = builtin().gpus().iter().map(|g| g.id()).collect();
        assert_eq!(
            ids,
            [
                "a100-40gb",
                "a100-80gb",
                "h100-80gb",
                "h100-94gb",
                "h200-141gb",
                "a30-24gb",
                "h100-pcie-80gb",
                "gh200-96gb",
                "h20-96gb",
                "gh200-144gb",
                "b200-180gb",
                "gb200-186gb",
                "b300-288gb",
                "gb300-288gb",
                "rtx-pro-6000",
                "rtx-pro-5000",
                "rtx-pro-4500"
            ]
        );
    }

    #[test]
    fn gpu_lookup_accepts_ids_and_printed_names() {
        let c = builtin();
        for name in [
            "a100-40gb",
            "A100-SXM4-40GB",
            "NVIDIA A100-SXM4-40GB",
            "nvidia a100-sxm4-40gb",
            "A100 40GB PCIe",
        ] {
            assert_eq!(c.gpu(name).unwrap().id(), "a100-40gb", "{name}");
        }
        assert_eq!(c.gpu("NVIDIA H100 80GB HBM3").unwrap().id(), "h100-80gb");
        assert_eq!(c.gpu("NVIDIA H100 NVL").unwrap().id(), "h100-94gb");
        assert_eq!(c.gpu("NVIDIA H200").unwrap().id(), "h200-141gb");
        assert_eq!(c.gpu("NVIDIA A30").unwrap().id(), "a30-24gb");
    }

    #[test]
    fn unknown_gpu_lists_known_ids() {
        let e = builtin().gpu("v100").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown GPU 'v100'; known GPUs: a100-40gb, a100-80gb, h100-80gb, h100-94gb, h200-141gb, \
             a30-24gb, h100-pcie-80gb, gh200-96gb, h20-96gb, gh200-144gb, b200-180gb, gb200-186gb, \
             b300-288gb, gb300-288gb, rtx-pro-6000, rtx-pro-5000, rtx-pro-4500"
        );
    }

    #[test]
    fn profile_lookup_ignores_case_and_mig_prefix() {
        let g = builtin().gpu("h100-80gb").unwrap();
        let i = g.profile_by_name("MIG 3g.40gb").unwrap();
        assert_eq!(g.profile(i).name(), "3g.40gb");
        assert_eq!(
            g.profile(g.profile_by_name("1G.10GB+ME").unwrap()).name(),
            "1g.10gb+me"
        );
        let e = g.profile_by_name("3g.20gb").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown profile '3g.20gb' for h100-80gb; its profiles are: 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"
        );
    }

    #[test]
    fn documented_hopper_figures() {
        // MIG.md: real transcripts say 3g uses four memory slices, H100 3g has 60 SMs, 7g 132.
        let g = builtin().gpu("h100-80gb").unwrap();
        let p3 = g.profile(g.profile_by_name("3g.40gb").unwrap());
        assert_eq!(
            (p3.memory_slices(), p3.sm_count(), p3.starts()),
            (4, 60, &[0u8, 4][..])
        );
        let p7 = g.profile(g.profile_by_name("7g.80gb").unwrap());
        assert_eq!((p7.sm_count(), p7.nvml_id()), (132, 0));
    }

    #[test]
    fn pci_ids_resolve() {
        assert_eq!(
            builtin().gpu_by_pci_device_id(0x20B2).unwrap().id(),
            "a100-80gb"
        );
        assert!(builtin().gpu_by_pci_device_id(0x1234).is_none());
    }

    #[test]
    fn memory_mask_covers_the_placement() {
        let g = builtin().gpu("a100-40gb").unwrap();
        let p = g.profile(g.profile_by_name("3g.20gb").unwrap());
        assert_eq!(p.memory_mask(4), 0b1111_0000);
        assert!(
            g.profile(g.profile_by_name("1g.5gb+me").unwrap())
                .media_extensions()
        );
    }

    use crate::test_support::TOY_GPU_TOML as ONE_GPU;

    #[test]
    fn user_catalog_extends_the_builtin_one() {
        let extra = Catalog::from_toml_str(ONE_GPU, "extra.toml").unwrap();
        let c = builtin().extended(extra, "extra.toml").unwrap();
        assert_eq!(c.gpus().len(), builtin().gpus().len() + 1);
        assert_eq!(c.gpu("Toy GPU").unwrap().id(), "toy");
    }

    #[test]
    fn bad_catalog_entries_name_file_gpu_profile_and_field() {
        let check = |text: String, expected: &str| {
            let e = Catalog::from_toml_str(&text, "my.toml").unwrap_err();
            assert_eq!(e.to_string(), expected);
        };
        check(
            ONE_GPU.replace("starts = [0, 1]", "starts = [0, 2]"),
            "my.toml: gpu 'toy' profile '1g.4gb': starts: start 2 + size 1 exceeds the 2 memory slices",
        );
        check(
            ONE_GPU.replace("memory_gib = 4.0", "memory_gib = nan"),
            "my.toml: gpu 'toy' profile '1g.4gb': memory_gib: NaN is outside (0, 8]",
        );
        check(
            ONE_GPU.replace("max_count = 2", "max_count = 0"),
            "my.toml: gpu 'toy' profile '1g.4gb': max_count: must be at least 1",
        );
        check(
            ONE_GPU.replace("id = \"toy\"", "id = \"Toy\""),
            "my.toml: gpu 'Toy': id: must be non-empty, lowercase, without spaces",
        );
    }

    #[test]
    fn every_gpu_names_its_engines_drivers_and_sources() {
        for g in builtin().gpus() {
            assert!(g.media_engines().is_some(), "{}", g.id());
            assert!(g.min_driver().is_some(), "{}", g.id());
            assert!(!g.source().is_empty(), "{}", g.id());
        }
        let g = builtin().gpu("a100-40gb").unwrap();
        let p = g.profile(g.profile_by_name("1g.10gb").unwrap());
        assert_eq!(p.min_driver().unwrap().to_string(), "R525");
        assert_eq!(g.min_driver().unwrap().to_string(), "450.80.02");
        // GB200's older boards printed 1g.24gb: an alias of 1g.23gb.
        let g = builtin().gpu("GB200").unwrap();
        let p = g.profile(g.profile_by_name("1g.24gb+me").unwrap());
        assert_eq!(
            (p.name(), p.variant()),
            ("1g.23gb+me", Variant::MediaExtensions)
        );
    }

    #[test]
    fn variants_come_from_the_name() {
        for (name, v) in [
            ("1g.10gb", Some(Variant::Plain)),
            ("1g.24gb+me", Some(Variant::MediaExtensions)),
            ("1g.24gb+me.all", Some(Variant::AllMedia)),
            ("2g.48gb-me", Some(Variant::NoMedia)),
            ("4g.96gb+gfx", Some(Variant::Graphics)),
            ("1g.5gb+xyz", None),
        ] {
            assert_eq!(Variant::of_name(name), v, "{name}");
        }
        assert_eq!(DriverVersion::parse("R525").unwrap().to_string(), "R525");
        assert_eq!(
            DriverVersion::parse("535.161.07").unwrap(),
            DriverVersion {
                major: 535,
                minor: 161,
                patch: 7
            }
        );
        for bad in ["", "R", "5x5", "1.2.3.4", "525..1"] {
            assert!(DriverVersion::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn bad_engine_grid_and_variant_fields_are_named() {
        let check = |text: String, expected: &str| {
            let e = Catalog::from_toml_str(&text, "my.toml").unwrap_err();
            assert_eq!(e.to_string(), expected);
        };
        let with_engines = ONE_GPU
            .replace(
                "memory_gib = 8.0",
                "memory_gib = 8.0\nmedia_engines = { decoders = 2, ofa = 1 }",
            )
            .replace(
                "starts = [0, 1]",
                "starts = [0, 1]\nmedia_engines = { decoders = 1 }",
            );
        assert!(Catalog::from_toml_str(&with_engines, "ok.toml").is_ok());
        check(
            with_engines.replace("media_engines = { decoders = 1 }", ""),
            "my.toml: gpu 'toy' profile '1g.4gb': media_engines: missing; the GPU declares media_engines, so every profile needs them",
        );
        check(
            with_engines.replace("{ decoders = 1 }", "{ decoders = 3 }"),
            "my.toml: gpu 'toy' profile '1g.4gb': media_engines: 3/0/0/0 (NVDEC/NVENC/NVJPG/OFA) exceeds the GPU's 2/0/0/1",
        );
        check(
            with_engines.replace("\"1g.4gb\"", "\"1g.4gb-me\""),
            "my.toml: gpu 'toy' profile '1g.4gb-me': media_engines: a -me profile has no media engines, but 1/0/0/0 are given",
        );
        check(
            with_engines.replace("\"1g.4gb\"", "\"1g.4gb+me.all\""),
            "my.toml: gpu 'toy' profile '1g.4gb+me.all': media_engines: a +me.all profile has all the GPU's media engines (2/0/0/1), not 1/0/0/0",
        );
        check(
            ONE_GPU.replace("\"1g.4gb\"", "\"1g.4gb+foo\""),
            "my.toml: gpu 'toy' profile '1g.4gb+foo': name: has a variant suffix NVIDIA does not use (known: +me, +me.all, -me, +gfx)",
        );
        check(
            ONE_GPU.replace("memory_gib = 8.0", "memory_gib = 8.0\nmin_driver = \"new\""),
            "my.toml: gpu 'toy': min_driver: 'new' is not a driver version like 525.85.12 or R525",
        );
        // A bad grid: a start past the grid, and a grid larger than the bitmask.
        check(
            ONE_GPU.replace(
                "memory_slices = 2\nsm_count = 20",
                "memory_slices = 40\nsm_count = 20",
            ),
            "my.toml: gpu 'toy': memory_slices: 40 is outside 1..=32",
        );
        check(
            ONE_GPU.replace("starts = [0, 1]", "starts = [0, 0]"),
            "my.toml: gpu 'toy' profile '1g.4gb': starts: lists a start twice",
        );
        let second = "\n[[gpu.profile]]\nname = \"2g.8gb\"\naliases = [\"1G.4GB\"]\nnvml_id = 2\ncompute_slices = 2\nmemory_slices = 2\nsm_count = 20\nmemory_gib = 8.0\nmax_count = 1\nstarts = [0]\n";
        check(
            format!("{ONE_GPU}{second}"),
            "my.toml: gpu 'toy' profile '2g.8gb': name: a name or alias of it also names '1g.4gb'",
        );
    }

    #[test]
    fn alias_collisions_are_rejected() {
        let text = ONE_GPU.replace("name = \"Toy GPU\"", "name = \"A100-SXM4-40GB\"");
        let extra = Catalog::from_toml_str(&text, "x.toml").unwrap();
        let e = builtin().extended(extra, "x.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.toml: gpu 'toy': aliases: name 'a100-sxm4-40gb' also names gpu 'a100-40gb'"
        );
    }

    #[test]
    fn syntax_errors_carry_the_origin() {
        let e = Catalog::from_toml_str("[[gpu]]\nid = ", "broken.toml").unwrap_err();
        assert!(e.to_string().starts_with("broken.toml: "), "{e}");
        let e = Catalog::from_toml_str("", "empty.toml").unwrap_err();
        assert_eq!(e.to_string(), "empty.toml: no [[gpu]] entries");
    }
}
