//! NVIDIA mig-parted v1 configuration files: read, check offline, and write.
//!
//! A mig-parted config names profile *counts* per device entry and checks nothing about
//! geometry before `apply`, which wipes the GPU and tries creation orders until one works.
//! [`check_config`] answers the question users ask before applying: can each entry's
//! counts be placed on its GPU type, and where. [`MigPartedFile::parse`] reads a config as
//! people have it: a config file, or a Kubernetes ConfigMap holding one (also as one
//! document of a multi-document YAML file).

mod expansion;
mod position;
mod source;

use std::fmt;
use std::fmt::Write as _;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalog::{Catalog, GpuType};
use crate::layout::{Driver, Layout, ProfileCounts, Violation, size_order};
use crate::placement::place;

pub use expansion::max_nodes as max_yaml_nodes;
pub use source::{CONFIG_MAP_KEY, ConfigForm, ConfigSource};

/// A parsed mig-parted config file (`version: v1`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigPartedConfig {
    /// Format version; only `v1` exists.
    pub version: String,
    /// Named configurations, in file order.
    #[serde(rename = "mig-configs")]
    pub mig_configs: OrderedMap<Vec<DeviceEntry>>,
}

/// One device entry of a named configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// PCI ids (`0x20B010DE`: device 0x20B0, vendor 0x10DE) the entry applies to; all when absent.
    #[serde(rename = "device-filter", default, deserialize_with = "one_or_many")]
    pub device_filter: Vec<String>,
    /// Which device indices.
    pub devices: Devices,
    /// Whether MIG mode is on.
    #[serde(rename = "mig-enabled")]
    pub mig_enabled: bool,
    /// Profile name to count, in file order.
    #[serde(rename = "mig-devices", default)]
    pub mig_devices: OrderedMap<u32>,
}

/// The `devices` field: `all` or a list of indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Devices {
    /// Every device.
    All,
    /// These device indices.
    List(Vec<u32>),
}

impl fmt::Display for Devices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Devices::All => f.write_str("all"),
            Devices::List(ids) => {
                let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
                write!(f, "[{}]", ids.join(", "))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Devices {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Devices;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`all` or a list of device indices")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Devices, E> {
                if v == "all" {
                    Ok(Devices::All)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Devices, E> {
                u32::try_from(v)
                    .map(|i| Devices::List(vec![i]))
                    .map_err(|_| E::custom("device index too large"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Devices, A::Error> {
                let mut ids = Vec::new();
                while let Some(i) = seq.next_element::<u32>()? {
                    ids.push(i);
                }
                Ok(Devices::List(ids))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string-keyed map that keeps file order (reports follow the file).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct M<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for M<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    if out.iter().any(|(have, _)| *have == k) {
                        return Err(de::Error::custom(format!("key '{k}'{REPEATED}")));
                    }
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_any(M(std::marker::PhantomData))
    }
}

/// The end of the error of a repeated key; [`repeated_key`] reads the key back to find its
/// second occurrence in the text (serde_yaml_ng places the error at the mapping's start).
const REPEATED: &str = " appears twice";

/// The key of a repeated-key error: ours, or serde's `duplicate field` of a struct.
fn repeated_key(message: &str) -> Option<String> {
    if let Some(end) = message.find(&format!("'{REPEATED}")) {
        let start = message[..end].rfind("key '")? + "key '".len();
        return Some(message[start..end].to_string());
    }
    let start = message.find("duplicate field `")? + "duplicate field `".len();
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_string())
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    // A visitor rather than an untagged enum: an untagged enum buffers the value, and its
    // error loses the value's position.
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a PCI id string such as \"0x20B010DE\" or a list of them")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut ids = Vec::new();
            while let Some(id) = seq.next_element::<String>()? {
                ids.push(id);
            }
            Ok(ids)
        }
    }
    d.deserialize_any(V)
}

/// A config file that cannot be read.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{origin}: {message}")]
pub struct MigPartedError {
    /// File name or other description of the source.
    pub origin: String,
    /// What is wrong, ending with its position (`at line L column C`).
    pub message: String,
    /// 1-based line of the problem in the file (also inside a ConfigMap's embedded config).
    pub line: usize,
    /// 1-based column of the problem in the file.
    pub column: usize,
}

/// A config and where in its file it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct MigPartedFile {
    /// The config.
    pub config: MigPartedConfig,
    /// Where it was found: the file itself, or a ConfigMap's data key.
    pub source: ConfigSource,
}

impl MigPartedFile {
    /// Parses a file's YAML text: a mig-parted config (`version: v1`), a Kubernetes
    /// ConfigMap holding one under `data."config.yaml"` (or under its one other data key
    /// that holds a config), or a multi-document file with exactly one of those. Every
    /// error carries the line and column in this text. `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<MigPartedFile, MigPartedError> {
        match source::read(text) {
            Ok((config, source)) => Ok(MigPartedFile { config, source }),
            Err(e) => Err(MigPartedError {
                origin: origin.to_string(),
                message: e.message,
                line: e.line,
                column: e.column,
            }),
        }
    }
}

impl MigPartedConfig {
    /// Parses a config's YAML text as [`MigPartedFile::parse`] does (ConfigMaps included),
    /// keeping the config only.
    pub fn parse(text: &str, origin: &str) -> Result<MigPartedConfig, MigPartedError> {
        MigPartedFile::parse(text, origin).map(|f| f.config)
    }

    /// The configurations' names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.mig_configs.0.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The config with only the configuration `name`, as `nvidia-mig-parted apply -c NAME`
    /// selects one.
    pub fn only(&self, name: &str) -> Result<MigPartedConfig, UnknownConfig> {
        match self.mig_configs.0.iter().find(|(n, _)| n == name) {
            Some(one) => Ok(MigPartedConfig {
                version: self.version.clone(),
                mig_configs: OrderedMap(vec![one.clone()]),
            }),
            None => Err(UnknownConfig {
                name: name.to_string(),
                available: self.names().into_iter().map(str::to_string).collect(),
            }),
        }
    }
}

/// A configuration name the file does not have.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("no configuration '{name}'; the file has {}", available.join(", "))]
pub struct UnknownConfig {
    /// The name asked for.
    pub name: String,
    /// The file's configuration names, in file order.
    pub available: Vec<String>,
}

/// The GPU a device entry was checked against, and the answer.
#[derive(Debug, Clone, Serialize)]
pub struct EntryCheck {
    /// The configuration's name.
    pub config: String,
    /// 0-based position of the entry within the configuration.
    pub entry: usize,
    /// The entry's `devices` field.
    pub devices: String,
    /// The GPU type the entry was checked for, when one applies.
    pub gpu: Option<String>,
    /// The answer.
    pub outcome: EntryOutcome,
}

/// What a device entry means on one GPU type.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum EntryOutcome {
    /// The counts can be placed; one legal placement.
    Placeable {
        /// The placement found.
        layout: Layout,
    },
    /// MIG disabled: nothing to place.
    MigDisabled,
    /// The counts cannot be placed on this GPU type (mig-parted would fail at apply time).
    Unplaceable {
        /// Every reason.
        violations: Vec<Violation>,
    },
    /// A profile name does not exist on this GPU type (mig-parted would fail at apply time).
    UnknownProfile {
        /// The lookup error, listing the GPU's profiles.
        message: String,
    },
    /// `--gpu` was given and the entry is for other GPU types.
    NotForThisGpu {
        /// How the entry says so.
        #[serde(flatten)]
        because: Exclusion,
    },
    /// The entry cannot be checked: no GPU type is known for it, or it uses a form migsched
    /// does not model.
    Unchecked {
        /// Why.
        reason: String,
    },
}

/// Why a device entry is for other GPU types than the one given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Exclusion {
    /// The entry's device-filter does not name the GPU.
    DeviceFilter {
        /// The entry's filter.
        device_filter: Vec<String>,
    },
    /// The entry has no device-filter and none of its profile names exists on the GPU (the
    /// catalog GPUs that have all of them are listed; none when it is for a GPU the catalog
    /// lacks, e.g. mig-parted's `all-3g.95gb`). Configs meant for several GPU types list such
    /// entries side by side without filters (`all-1g.20gb` for A100-80GB and H100 beside
    /// `all-1g.5gb` for A100-40GB); mig-parted applies only the one selected for the node.
    ProfileNames {
        /// The entry's profile names, in file order.
        profiles: Vec<String>,
        /// The catalog GPUs that have every one of them.
        fits: Vec<String>,
    },
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::DeviceFilter { device_filter } => write!(
                f,
                "device-filter {} excludes this GPU",
                device_filter.join(",")
            ),
            Exclusion::ProfileNames { profiles, fits } if fits.is_empty() => write!(
                f,
                "not for this GPU: no device-filter, and its profiles ({}) are those of no \
                 catalog GPU",
                profiles.join(", ")
            ),
            Exclusion::ProfileNames { profiles, fits } => write!(
                f,
                "not for this GPU: no device-filter, and its profiles ({}) are those of {}",
                profiles.join(", "),
                fits.join(", ")
            ),
        }
    }
}

impl EntryOutcome {
    /// Whether this outcome means the config would fail on the GPU.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            EntryOutcome::Unplaceable { .. } | EntryOutcome::UnknownProfile { .. }
        )
    }
    /// Whether this outcome means migsched could not check the entry.
    pub fn is_unchecked(&self) -> bool {
        matches!(self, EntryOutcome::Unchecked { .. })
    }
}

/// Parses a `device-filter` value such as `0x20B010DE` into its device id (0x20B0).
pub fn filter_device_id(value: &str) -> Option<u16> {
    let hex = value
        .trim()
        .strip_prefix("0x")
        .or_else(|| value.trim().strip_prefix("0X"))?;
    let full = u32::from_str_radix(hex, 16).ok()?;
    match hex.len() {
        8 if full & 0xFFFF == 0x10DE => Some((full >> 16) as u16),
        4 => Some(full as u16),
        _ => None,
    }
}

/// Checks every entry of every configuration.
///
/// With `gpu`, each entry is checked against that GPU type (entries whose device-filter
/// excludes it are reported as such). Without, the GPU types come from each entry's
/// device-filter; an entry without one cannot be checked.
pub fn check_config(
    catalog: &Catalog,
    config: &MigPartedConfig,
    gpu: Option<&std::sync::Arc<GpuType>>,
    driver: Driver,
) -> Vec<EntryCheck> {
    let mut out = Vec::new();
    for (name, entries) in &config.mig_configs.0 {
        for (i, entry) in entries.iter().enumerate() {
            let mut push = |gpu: Option<&GpuType>, outcome| {
                out.push(EntryCheck {
                    config: name.clone(),
                    entry: i,
                    devices: entry.devices.to_string(),
                    gpu: gpu.map(|g| g.id().to_string()),
                    outcome,
                })
            };
            if !entry.mig_enabled && entry.mig_devices.0.iter().all(|(_, n)| *n == 0) {
                push(gpu.map(|g| &**g), EntryOutcome::MigDisabled);
                continue;
            }
            let filter_ids: Vec<Option<u16>> = entry
                .device_filter
                .iter()
                .map(|f| filter_device_id(f))
                .collect();
            if let Some(bad) = entry
                .device_filter
                .iter()
                .zip(&filter_ids)
                .find(|(_, id)| id.is_none())
            {
                push(
                    None,
                    EntryOutcome::Unchecked {
                        reason: format!(
                            "device-filter '{}' is not a PCI id like 0x20B010DE",
                            bad.0
                        ),
                    },
                );
                continue;
            }
            let targets: Vec<&std::sync::Arc<GpuType>> = match gpu {
                Some(g) => {
                    let applies = entry.device_filter.is_empty()
                        || filter_ids
                            .iter()
                            .flatten()
                            .any(|id| g.pci_device_ids().contains(id));
                    if !applies {
                        let because = Exclusion::DeviceFilter {
                            device_filter: entry.device_filter.clone(),
                        };
                        push(Some(g), EntryOutcome::NotForThisGpu { because });
                        continue;
                    }
                    if let Some(because) = profiles_of_other_gpus(catalog, g, entry) {
                        push(Some(g), EntryOutcome::NotForThisGpu { because });
                        continue;
                    }
                    vec![g]
                }
                None => {
                    let mut found: Vec<&std::sync::Arc<GpuType>> = Vec::new();
                    for id in filter_ids.iter().flatten() {
                        if let Some(g) = catalog.gpu_by_pci_device_id(*id) {
                            if !found.iter().any(|f| f.id() == g.id()) {
                                found.push(g);
                            }
                        }
                    }
                    if found.is_empty() {
                        let reason = if entry.device_filter.is_empty() {
                            format!(
                                "no device-filter, so the GPU type is unknown{}; pass --gpu",
                                fitting_gpus_note(catalog, entry)
                            )
                        } else {
                            format!(
                                "device-filter {} matches no catalog GPU; pass --gpu",
                                entry.device_filter.join(", ")
                            )
                        };
                        push(None, EntryOutcome::Unchecked { reason });
                        continue;
                    }
                    found
                }
            };
            for g in targets {
                let mut outcome = check_entry(g, entry, driver);
                if let EntryOutcome::UnknownProfile { message } = &mut outcome {
                    message.push_str(&meant_for_note(catalog, entry));
                }
                push(Some(g), outcome);
            }
        }
    }
    out
}

/// The catalog GPUs that have every profile the entry names; none when it names none.
fn gpus_with_profiles<'c>(catalog: &'c Catalog, entry: &DeviceEntry) -> Vec<&'c GpuType> {
    let names = &entry.mig_devices.0;
    if names.is_empty() {
        return Vec::new();
    }
    catalog
        .gpus()
        .iter()
        .filter(|g| names.iter().all(|(n, _)| g.profile_by_name(n).is_ok()))
        .map(|g| &**g)
        .collect()
}

/// An entry without device-filter none of whose profile names exists on `gpu`: it is meant
/// for another GPU (a catalog GPU that has them all, or one the catalog lacks), not a failure
/// on this one. An entry mixing this GPU's names with unknown ones is still checked (and
/// fails).
fn profiles_of_other_gpus(
    catalog: &Catalog,
    gpu: &GpuType,
    entry: &DeviceEntry,
) -> Option<Exclusion> {
    if !entry.device_filter.is_empty()
        || entry
            .mig_devices
            .0
            .iter()
            .any(|(n, _)| gpu.profile_by_name(n).is_ok())
    {
        return None;
    }
    if entry.mig_devices.0.is_empty() {
        return None;
    }
    let fits: Vec<String> = gpus_with_profiles(catalog, entry)
        .iter()
        .map(|g| g.id().to_string())
        .collect();
    Some(Exclusion::ProfileNames {
        profiles: entry.mig_devices.0.iter().map(|(n, _)| n.clone()).collect(),
        fits,
    })
}

/// ` (its profiles fit a100-80gb, h100-80gb)` for an entry that cannot be checked for want
/// of a GPU type, or nothing when it names no profile.
fn fitting_gpus_note(catalog: &Catalog, entry: &DeviceEntry) -> String {
    if entry.mig_devices.0.is_empty() {
        return String::new();
    }
    let fits: Vec<&str> = gpus_with_profiles(catalog, entry)
        .iter()
        .map(|g| g.id())
        .collect();
    if fits.is_empty() {
        " (no catalog GPU has all of its profiles)".to_string()
    } else {
        format!(" (its profiles fit {})", fits.join(", "))
    }
}

/// For an entry without device-filter that names a profile its GPU lacks, while other
/// catalog GPUs have all its profiles (`1g.10gb` exists on A100-40GB and on the 80GB GPUs,
/// `2g.20gb` only on the latter): a hint that it may be meant for those.
fn meant_for_note(catalog: &Catalog, entry: &DeviceEntry) -> String {
    if !entry.device_filter.is_empty() {
        return String::new();
    }
    let fits: Vec<&str> = gpus_with_profiles(catalog, entry)
        .iter()
        .map(|g| g.id())
        .collect();
    if fits.is_empty() {
        return String::new();
    }
    format!(
        " (all of the entry's profiles exist on {}: without a device-filter, mig-parted \
         applies it to this GPU too)",
        fits.join(", ")
    )
}

fn check_entry(gpu: &std::sync::Arc<GpuType>, entry: &DeviceEntry, driver: Driver) -> EntryOutcome {
    if !entry.mig_enabled {
        if entry.mig_devices.0.iter().any(|(_, n)| *n > 0) {
            return EntryOutcome::Unplaceable {
                violations: vec![Violation::NoPlacement {
                    requested: "mig-devices with mig-enabled: false".into(),
                    placeable_without_one_of: Vec::new(),
                }],
            };
        }
        return EntryOutcome::MigDisabled;
    }
    let mut counts = ProfileCounts::new();
    for (name, n) in &entry.mig_devices.0 {
        if is_compute_instance_profile(name) {
            return EntryOutcome::Unchecked {
                reason: format!(
                    "'{name}' is a compute-instance profile; migsched checks GPU-instance profiles \
                     (one compute instance per GPU instance)"
                ),
            };
        }
        match gpu.profile_by_name(name) {
            Ok(p) => counts.add(p, *n),
            Err(e) => {
                return EntryOutcome::UnknownProfile {
                    message: e.to_string(),
                };
            }
        }
    }
    match place(gpu, &[], &counts, driver) {
        Ok(layout) => EntryOutcome::Placeable { layout },
        Err(e) => EntryOutcome::Unplaceable {
            violations: e.violations,
        },
    }
}

/// `1c.3g.20gb`-style names: a compute instance inside a GPU instance.
fn is_compute_instance_profile(name: &str) -> bool {
    let mut parts = name.trim().splitn(2, '.');
    let first = parts.next().unwrap_or("");
    first.len() > 1
        && first.ends_with('c')
        && first[..first.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// One device entry to write: which devices and their layout.
#[derive(Debug, Clone)]
pub struct ExportEntry<'a> {
    /// The devices the entry applies to.
    pub devices: Devices,
    /// The layout; its counts become `mig-devices`.
    pub layout: &'a Layout,
}

/// Writes a mig-parted v1 config with one configuration named `name`.
///
/// Each entry gets a `device-filter` with its GPU type's PCI ids (when the catalog has them),
/// so applying the file on another GPU type does nothing instead of failing, and a comment
/// with migsched's placement: mig-parted keeps only counts and may choose other starts,
/// which serve the same.
pub fn render_config(name: &str, entries: &[ExportEntry<'_>]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# mig-parted v1 config written by migsched {}",
        env!("CARGO_PKG_VERSION")
    );
    let key = yaml_key(name);
    // The key's form (quoted, escaped) in the comment too: a raw newline there would end the
    // comment and start YAML of the name's choosing.
    let _ = writeln!(s, "# Apply with: nvidia-mig-parted apply -f FILE -c {key}");
    let _ = writeln!(s, "version: v1");
    let _ = writeln!(s, "mig-configs:");
    if name.chars().count() > MAX_CONFIG_NAME_CHARS {
        let _ = writeln!(s, "  ? {key}");
        let _ = writeln!(s, "  :");
    } else {
        let _ = writeln!(s, "  {key}:");
    }
    for e in entries {
        let gpu = e.layout.gpu();
        let _ = writeln!(s, "    # {}: {}", gpu.id(), e.layout);
        let ids: Vec<String> = gpu
            .pci_device_ids()
            .iter()
            .map(|id| format!("\"0x{id:04X}10DE\""))
            .collect();
        if ids.is_empty() {
            let _ = writeln!(s, "    - devices: {}", e.devices);
        } else {
            let _ = writeln!(s, "    - device-filter: [{}]", ids.join(", "));
            let _ = writeln!(s, "      devices: {}", e.devices);
        }
        let _ = writeln!(s, "      mig-enabled: true");
        let counts = e.layout.counts();
        if counts.is_empty() {
            let _ = writeln!(s, "      mig-devices: {{}}");
            continue;
        }
        let _ = writeln!(s, "      mig-devices:");
        let mut items: Vec<_> = counts.iter().collect();
        items.sort_by_key(|&(p, _)| size_order(gpu, p));
        for (p, n) in items {
            let _ = writeln!(s, "        \"{}\": {n}", gpu.profile(p).name());
        }
    }
    s
}

/// The longest configuration name [`try_render_config`] accepts: YAML allows an implicit
/// (`name:`) key of at most 1,024 characters.
pub const MAX_CONFIG_NAME_CHARS: usize = 1024;

/// A configuration name that [`try_render_config`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigNameError {
    /// No name at all.
    #[error("the mig-parted configuration name is empty")]
    Empty,
    /// Longer than [`MAX_CONFIG_NAME_CHARS`].
    #[error(
        "the mig-parted configuration name has {chars} characters; at most {MAX_CONFIG_NAME_CHARS} (YAML's longest implicit key)"
    )]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// A control character (newline, tab, ESC, ...): it cannot be typed as `-c NAME`.
    #[error(
        "the mig-parted configuration name '{}' has a control character at character {at}; use letters, digits and punctuation",
        crate::error::display_safe(name)
    )]
    ControlCharacter {
        /// The name.
        name: String,
        /// 0-based position of the first control character.
        at: usize,
    },
}

/// Checks a configuration name for [`try_render_config`].
pub fn check_config_name(name: &str) -> Result<(), ConfigNameError> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err(ConfigNameError::Empty);
    }
    if chars > MAX_CONFIG_NAME_CHARS {
        return Err(ConfigNameError::TooLong { chars });
    }
    if let Some(at) = name.chars().position(is_line_or_control) {
        return Err(ConfigNameError::ControlCharacter {
            name: name.to_string(),
            at,
        });
    }
    Ok(())
}

/// [`render_config`] for a name from input: refuses an empty name, one over
/// [`MAX_CONFIG_NAME_CHARS`] characters and one with a control character
/// ([`check_config_name`]), which no one could pass to `nvidia-mig-parted apply -c`.
pub fn try_render_config(
    name: &str,
    entries: &[ExportEntry<'_>],
) -> Result<String, ConfigNameError> {
    check_config_name(name)?;
    Ok(render_config(name, entries))
}

/// Control characters and the characters YAML reads as line breaks.
fn is_line_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The name as a YAML key: plain when it cannot be read as anything but that string, else
/// double-quoted with every control character escaped, so no name can end the line (and
/// start a key of its own). A key over 1,024 characters is written as an explicit key
/// (`? "name"`), the only form YAML allows it; the caller writes the `:` line for it.
fn yaml_key(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        return name.to_string();
    }
    let mut quoted = String::from("\"");
    for c in name.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if is_line_or_control(c) => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  all-balanced:
    - device-filter: ["0x20B010DE", "0x20B110DE", "0x20F110DE"]
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.5gb": 2
        "2g.10gb": 1
        "3g.20gb": 1
    - device-filter: ["0x233010DE"]
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.10gb": 2
        "2g.20gb": 1
        "4g.40gb": 1
  custom:
    - devices: [0, 1]
      mig-enabled: true
      mig-devices:
        "3g.40gb": 2
"#;

    fn statuses(checks: &[EntryCheck]) -> Vec<String> {
        checks
            .iter()
            .map(|c| {
                let s = serde_json::to_value(&c.outcome).unwrap()["status"]
                    .as_str()
                    .unwrap()
                    .to_string();
                format!(
                    "{}#{} {} {s}",
                    c.config,
                    c.entry,
                    c.gpu.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn checks_each_entry_on_the_gpu_its_filter_names() {
        let cfg = MigPartedConfig::parse(CONFIG, "c.yaml").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, None, Driver::default());
        assert_eq!(
            statuses(&checks),
            [
                "all-disabled#0 - mig-disabled",
                "all-balanced#0 a100-40gb placeable",
                "all-balanced#1 h100-80gb unplaceable",
                "custom#0 - unchecked",
            ]
        );
        let EntryOutcome::Placeable { layout } = &checks[1].outcome else {
            panic!()
        };
        // 3g at 0 would leave 2g at 4, one 1g at 6 and none at 7: the 3g must go to 4.
        assert_eq!(layout.text(), "2g.10gb@0,1g.5gb@2,1g.5gb@3,3g.20gb@4");
    }

    #[test]
    fn gpu_option_overrides_and_respects_filters() {
        let cfg = MigPartedConfig::parse(CONFIG, "c.yaml").unwrap();
        let g = Catalog::builtin().gpu("a100-80gb").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, Some(g), Driver::default());
        assert_eq!(
            statuses(&checks),
            [
                "all-disabled#0 a100-80gb mig-disabled",
                "all-balanced#0 a100-80gb not-for-this-gpu",
                "all-balanced#1 a100-80gb not-for-this-gpu",
                "custom#0 a100-80gb placeable",
            ]
        );
    }

    #[test]
    fn counts_of_billions_are_over_the_limits_not_wrapped() {
        // 10^9 instances once made the totals wrap (n * slices in u32) or tried to expand.
        let text = "version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.10gb\": 1000000000\n        \"7g.80gb\": 4294967295\n        \"2g.20gb\": 613566757\n";
        let cfg = MigPartedConfig::parse(text, "x.yaml").unwrap();
        let g = Catalog::builtin().gpu("a100-80gb").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, Some(g), Driver::default());
        let EntryOutcome::Unplaceable { violations } = &checks[0].outcome else {
            panic!("{:?}", checks[0].outcome)
        };
        let shown: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
        assert!(
            shown[0].starts_with("1000000000 instances of 1g.10gb"),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.contains("4294967295 compute slices")),
            "saturated, not wrapped: {shown:?}"
        );
    }

    #[test]
    fn unknown_profiles_and_compute_instances() {
        // 3g.20gb beside a name of this GPU: a failure (an entry with only other GPUs'
        // names would be "not for this GPU").
        let text = "version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"3g.20gb\": 1\n        \"3g.40gb\": 1\n        \"1c.3g.40gb\": 1\n";
        let cfg = MigPartedConfig::parse(text, "x.yaml").unwrap();
        let g = Catalog::builtin().gpu("h100-80gb").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, Some(g), Driver::default());
        assert!(checks[0].outcome.is_failure());
        let text = text.replace("        \"3g.20gb\": 1\n", "");
        let cfg = MigPartedConfig::parse(&text, "x.yaml").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, Some(g), Driver::default());
        assert!(checks[0].outcome.is_unchecked());
    }

    /// (line, column) of the first occurrence of `needle` in `text`.
    fn at(text: &str, needle: &str) -> (usize, usize) {
        let (i, l) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {text}"));
        (i + 1, l.find(needle).unwrap() + 1)
    }

    fn error(text: &str) -> MigPartedError {
        MigPartedFile::parse(text, "f.yaml").unwrap_err()
    }

    /// Every error path of the parser, with the position it must name.
    #[test]
    fn every_error_names_line_and_column() {
        const ENTRY: &str = "version: v1\nmig-configs:\n  a:\n    - devices: all\n";
        let cases: &[(&str, (usize, usize), &str)] = &[
            ("", (1, 1), "the file is empty"),
            ("# only a comment\n\n", (1, 1), "the file is empty"),
            // YAML syntax
            (
                "version: v1\nmig-configs: [\n",
                (3, 1),
                "did not find expected node content",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: all\n     mig-enabled: true\n",
                (5, 6),
                "while parsing a block collection at line 4 column 5",
            ),
            (
                "--- {a: 1}\n",
                (1, 5),
                "content on the `---` line is not supported",
            ),
            // the document's shape
            (
                "hello",
                (1, 1),
                "invalid type: string \"hello\", expected struct MigPartedConfig",
            ),
            ("- a\n", (1, 1), "invalid type: sequence"),
            ("mig-configs: {a: []}\n", (1, 1), "missing field `version`"),
            ("version: v1\n", (1, 1), "missing field `mig-configs`"),
            (
                "version: v1\nversion: v1\nmig-configs: {a: []}\n",
                (2, 1),
                "duplicate field `version`",
            ),
            (
                "version: v1\nmig-configs: {a: []}\nextra: 1\n",
                (3, 1),
                "unknown field `extra`",
            ),
            // version and mig-configs
            (
                "version: v2\nmig-configs: {a: []}\n",
                (1, 10),
                "version: 'v2' is not supported; expected v1",
            ),
            (
                "version: 1\nmig-configs: {a: []}\n",
                (1, 10),
                "version: '1' is not supported",
            ),
            (
                "version: v1\nmig-configs:\n",
                (2, 1),
                "mig-configs: no configurations",
            ),
            (
                "version: v1\nmig-configs: {}\n",
                (2, 14),
                "mig-configs: no configurations",
            ),
            (
                "version: v1\nmig-configs: 5\n",
                (2, 14),
                "mig-configs: invalid type: integer `5`, expected a mapping",
            ),
            (
                "version: v1\nmig-configs:\n  a: []\n  b: []\n  a: []\n",
                (5, 3),
                "mig-configs: key 'a' appears twice",
            ),
            (
                "version: v1\nmig-configs:\n  a: 5\n",
                (3, 6),
                "mig-configs.a: invalid type: integer `5`, expected a sequence",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - 5\n",
                (4, 7),
                "expected struct DeviceEntry",
            ),
            // device entries
            (
                "version: v1\nmig-configs:\n  a:\n    - mig-enabled: true\n",
                (4, 7),
                "mig-configs.a[0]: missing field `devices`",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enable: true\n",
                (5, 7),
                "mig-configs.a[0]: unknown field `mig-enable`",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: yes\n",
                (5, 20),
                "mig-configs.a[0].mig-enabled: invalid type: string \"yes\", expected a boolean",
            ),
            // devices
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: some\n      mig-enabled: true\n",
                (4, 16),
                "mig-configs.a[0].devices: invalid value: string \"some\", expected `all` or a list",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: [0, -1]\n      mig-enabled: true\n",
                (4, 20),
                "mig-configs.a[0].devices[1]: invalid type: integer `-1`, expected u32",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: 1.5\n      mig-enabled: true\n",
                (4, 16),
                "invalid type: floating point `1.5`",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: 99999999999\n      mig-enabled: true\n",
                (4, 16),
                "device index too large",
            ),
            // device-filter
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: all\n      device-filter: 5\n      mig-enabled: true\n",
                (5, 22),
                "mig-configs.a[0].device-filter: invalid type: integer `5`, expected a PCI id",
            ),
            (
                "version: v1\nmig-configs:\n  a:\n    - devices: all\n      device-filter: [\"0x20B010DE\", {}]\n      mig-enabled: true\n",
                (5, 37),
                "device-filter[1]: invalid type: map, expected a string",
            ),
        ];
        for &(text, (line, column), msg) in cases {
            let e = error(text);
            assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
            assert!(
                e.message.contains(&format!("line {line} column {column}")),
                "{text:?}: {e}"
            );
        }
        // Counts, each in a mig-devices entry.
        for (count, msg) in [
            ("-1", "invalid type: integer `-1`, expected u32"),
            ("two", "invalid type: string \"two\", expected u32"),
            ("4294967296", "expected u32"),
        ] {
            let text = format!(
                "{ENTRY}      mig-enabled: true\n      mig-devices:\n        \"1g.5gb\": {count}\n"
            );
            let e = error(&text);
            assert_eq!((e.line, e.column), (7, 19), "{e}");
            assert!(
                e.message
                    .starts_with("mig-configs.a[0].mig-devices.1g.5gb: ")
                    && e.message.contains(msg),
                "{e}"
            );
        }
        let text = format!(
            "{ENTRY}      mig-enabled: true\n      mig-devices:\n        \"1g.5gb\": 1\n        \"2g.10gb\": 1\n        \"1g.5gb\": 2\n"
        );
        let e = error(&text);
        assert_eq!((e.line, e.column), (9, 9), "{e}");
        assert!(e.message.contains("key '1g.5gb' appears twice"), "{e}");
        assert_eq!(
            error("version: v2\nmig-configs: {a: []}\n").to_string(),
            "f.yaml: version: 'v2' is not supported; expected v1 at line 1 column 10"
        );
    }

    /// Shaped like the GPU Operator's ConfigMap (our own small config, not NVIDIA's).
    const CONFIG_MAP: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: custom-mig-config
  namespace: gpu-operator
data:
  config.yaml: |
    version: v1
    mig-configs:
      all-disabled:
        - devices: all
          mig-enabled: false

      all-3g.40gb:
        - devices: all
          mig-enabled: true
          mig-devices:
            "3g.40gb": 2
"#;

    #[test]
    fn a_config_map_holds_the_config_in_data_config_yaml() {
        let f = MigPartedFile::parse(CONFIG_MAP, "cm.yaml").unwrap();
        assert_eq!(f.config.names(), ["all-disabled", "all-3g.40gb"]);
        assert_eq!(
            f.source,
            ConfigSource {
                document: 1,
                documents: 1,
                line: 1,
                form: ConfigForm::ConfigMap {
                    name: Some("custom-mig-config".into()),
                    key: "config.yaml".into(),
                    key_line: 7,
                },
            }
        );
        assert_eq!(
            f.source.to_string(),
            "ConfigMap 'custom-mig-config', data.\"config.yaml\" at line 7"
        );
        // The plain parser reads it too (so `plan import mig-parted` does).
        assert_eq!(
            MigPartedConfig::parse(CONFIG_MAP, "cm.yaml").unwrap(),
            f.config
        );
        let plain = MigPartedFile::parse(CONFIG, "c.yaml").unwrap();
        assert_eq!(plain.source.form, ConfigForm::Config);
    }

    #[test]
    fn errors_inside_a_config_map_name_the_outer_line_and_column() {
        // A bad value: the inner line 8 is the file's line 15; columns shift by 4.
        let text = CONFIG_MAP.replace(
            "- devices: all\n          mig-enabled: true",
            "- devices: some\n          mig-enabled: true",
        );
        let e = error(&text);
        assert_eq!((e.line, e.column), at(&text, "some"), "{e}");
        assert_eq!((e.line, e.column), (15, 20), "{e}");
        assert!(
            e.message
                .starts_with("mig-configs.all-3g.40gb[0].devices: invalid value"),
            "{e}"
        );
        assert!(e.message.ends_with("at line 15 column 20"), "{e}");
        // A syntax error: both positions libyaml names are mapped.
        let text = CONFIG_MAP.replace("\"3g.40gb\": 2", "\"3g.40gb: 2");
        let e = error(&text);
        assert!(
            e.message
                .contains("while scanning a quoted scalar at line 18 column 13"),
            "{e}"
        );
        // Checks made after deserializing: version, an unknown key, a repeated key.
        let text = CONFIG_MAP.replace("version: v1", "version: v2");
        let e = error(&text);
        assert_eq!((e.line, e.column), (8, 14), "{e}");
        let text = CONFIG_MAP.replace("\"3g.40gb\": 2", "\"3g.40gb\": 2\n        extra: 1");
        let e = error(&text);
        assert_eq!((e.line, e.column), at(&text, "extra"), "{e}");
        let text = CONFIG_MAP.replace(
            "\"3g.40gb\": 2",
            "\"3g.40gb\": 1\n            \"3g.40gb\": 1",
        );
        let e = error(&text);
        assert_eq!((e.line, e.column), (19, 13), "{e}");
        assert!(e.message.contains("key '3g.40gb' appears twice"), "{e}");
        // Explicit indentation and chomping indicators, and a document after `---`.
        let text = format!(
            "---\n{}",
            CONFIG_MAP
                .replace("config.yaml: |", "config.yaml: |2-")
                .replace(
                    "devices: all\n          mig-enabled: true",
                    "devices: some\n          mig-enabled: true"
                )
        );
        let e = error(&text);
        assert_eq!((e.line, e.column), at(&text, "some"), "{e}");
    }

    #[test]
    fn a_config_map_string_in_another_style_names_the_key() {
        let text = "kind: ConfigMap\nmetadata: {name: m}\ndata:\n  config.yaml: \"version: v1\\nmig-configs:\\n  a: 5\\n\"\n";
        let e = error(text);
        assert_eq!((e.line, e.column), (4, 3), "{e}");
        assert!(
            e.message.ends_with(
                "at line 4 column 3 (line 3 column 6 of the string data.\"config.yaml\")"
            ),
            "{e}"
        );
    }

    #[test]
    fn config_map_data_keys() {
        let cm = |data: &str| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\ndata:\n{data}")
        };
        let cfg = "|\n    version: v1\n    mig-configs:\n      a:\n        - devices: all\n          mig-enabled: false\n";
        // One other key holding a config is read, and named.
        let text = cm(&format!("  README: hello\n  mig.yaml: {cfg}"));
        let f = MigPartedFile::parse(&text, "cm.yaml").unwrap();
        assert_eq!(
            f.source.to_string(),
            "ConfigMap 'm', data.\"mig.yaml\" at line 7"
        );
        // Several: an error listing them, at `data`.
        let text = cm(&format!("  a.yaml: {cfg}  b.yaml: {cfg}"));
        let e = error(&text);
        assert_eq!((e.line, e.column), (5, 1), "{e}");
        assert!(
            e.message
                .contains("several data keys hold a mig-parted config (a.yaml, b.yaml)"),
            "{e}"
        );
        // None.
        let e = error(&cm("  README: hello\n"));
        assert!(
            e.message
                .contains("none of its data keys (README) holds a mig-parted config"),
            "{e}"
        );
        assert_eq!((e.line, e.column), (5, 1), "{e}");
        // No data; a value that is not a string; an empty string.
        let e = error("kind: ConfigMap\nmetadata: {name: m}\n");
        assert!(
            e.message.starts_with("ConfigMap 'm' has no data;") && e.line == 1,
            "{e}"
        );
        let e = error(&cm("  config.yaml:\n    version: v1\n"));
        assert_eq!((e.line, e.column), (6, 3), "{e}");
        assert!(
            e.message.contains("data.\"config.yaml\" must be a string"),
            "{e}"
        );
        let e = error(&cm("  config.yaml: \"\"\n"));
        assert!(
            e.message.contains("data.\"config.yaml\" is empty")
                && e.message.ends_with("at line 6 column 3"),
            "{e}"
        );
        // Another Kubernetes resource.
        let e = error("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n");
        assert_eq!(
            e.message,
            "this is a Kubernetes Deployment 'd', not a mig-parted config or a ConfigMap \
             holding one under data.\"config.yaml\" at line 2 column 1"
        );
    }

    #[test]
    fn multi_document_files_hold_one_config() {
        let other = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gpu-operator\n";
        let text = format!("{other}---\n{CONFIG_MAP}---\n{other}");
        let f = MigPartedFile::parse(&text, "all.yaml").unwrap();
        assert_eq!(
            (f.source.document, f.source.documents, f.source.line),
            (2, 3, 6)
        );
        assert_eq!(
            f.source.to_string(),
            "ConfigMap 'custom-mig-config', data.\"config.yaml\" at line 12 (YAML document 2 of 3, line 6)"
        );
        // Positions inside the embedded config count the lines before its document.
        let bad = text.replace("version: v1", "version: v3");
        let e = error(&bad);
        assert_eq!((e.line, e.column), at(&bad, "v3"), "{e}");
        // None, or two.
        let e = error(&format!("{other}---\n{other}"));
        assert!(
            e.message.starts_with(
                "none of the 2 YAML documents is a mig-parted config or a ConfigMap holding one \
                 (a Kubernetes Namespace 'gpu-operator' at line 1; a Kubernetes Namespace"
            ),
            "{e}"
        );
        let e = error(&format!("{CONFIG_MAP}---\n{CONFIG_MAP}"));
        assert!(e.message.contains("2 YAML documents hold a mig-parted config (ConfigMap 'custom-mig-config' at line 1; ConfigMap 'custom-mig-config' at line 20)"), "{e}");
        assert_eq!(e.line, 20, "{e}");
        // A syntax error in any document stops the read, at its position in the file.
        let e = error(&format!("{CONFIG_MAP}---\nkind: [\n"));
        assert_eq!(e.line, 21, "{e}");
    }

    #[test]
    fn only_keeps_one_configuration() {
        let cfg = MigPartedConfig::parse(CONFIG, "c.yaml").unwrap();
        assert_eq!(cfg.names(), ["all-disabled", "all-balanced", "custom"]);
        assert_eq!(cfg.only("custom").unwrap().names(), ["custom"]);
        assert_eq!(
            cfg.only("nope").unwrap_err().to_string(),
            "no configuration 'nope'; the file has all-disabled, all-balanced, custom"
        );
    }

    #[test]
    fn profiles_of_another_gpu_are_not_for_this_gpu() {
        let text = "version: v1\nmig-configs:\n  all-1g.5gb:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.5gb\": 7\n  all-1g.20gb:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.20gb\": 4\n  mixed:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.5gb\": 1\n        \"1g.20gb\": 1\n  nowhere:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"9g.99gb\": 1\n";
        let cfg = MigPartedConfig::parse(text, "c.yaml").unwrap();
        let cat = Catalog::builtin();
        let g = cat.gpu("a100-40gb").unwrap();
        let checks = check_config(cat, &cfg, Some(g), Driver::default());
        assert_eq!(
            statuses(&checks),
            [
                "all-1g.5gb#0 a100-40gb placeable",
                "all-1g.20gb#0 a100-40gb not-for-this-gpu",
                "mixed#0 a100-40gb unknown-profile",
                "nowhere#0 a100-40gb not-for-this-gpu",
            ]
        );
        let EntryOutcome::NotForThisGpu { because } = &checks[1].outcome else {
            panic!("{checks:?}")
        };
        let Exclusion::ProfileNames { profiles, fits } = because else {
            panic!("{because:?}")
        };
        assert_eq!(profiles, &["1g.20gb"]);
        assert!(
            fits.iter().any(|g| g == "a100-80gb") && fits.iter().any(|g| g == "h100-80gb"),
            "{fits:?}"
        );
        assert!(!checks[1].outcome.is_failure() && !checks[1].outcome.is_unchecked());
        let json = serde_json::to_value(&checks[1].outcome).unwrap();
        assert_eq!(
            (json["status"].as_str(), json["by"].as_str()),
            (Some("not-for-this-gpu"), Some("profile-names"))
        );
        assert_eq!(json["profiles"][0], "1g.20gb");
        assert!(
            because.to_string().starts_with(
                "not for this GPU: no device-filter, and its profiles (1g.20gb) are those of "
            ),
            "{because}"
        );
        // Without --gpu the entries stay unchecked; the reason names the GPUs that fit.
        let checks = check_config(cat, &cfg, None, Driver::default());
        let EntryOutcome::Unchecked { reason } = &checks[1].outcome else {
            panic!("{checks:?}")
        };
        assert!(
            reason.starts_with("no device-filter, so the GPU type is unknown (its profiles fit "),
            "{reason}"
        );
        assert!(
            reason.contains("a100-80gb") && reason.ends_with("); pass --gpu"),
            "{reason}"
        );
        // A name of this GPU beside names it lacks is a failure; when other GPUs have all
        // of them, with a hint.
        let g = cat.gpu("a100-40gb").unwrap();
        let eighty = MigPartedConfig::parse(
            "version: v1\nmig-configs:\n  b:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.10gb\": 2\n        \"2g.20gb\": 1\n",
            "c.yaml",
        )
        .unwrap();
        let hinted = check_config(cat, &eighty, Some(g), Driver::default());
        let EntryOutcome::UnknownProfile { message } = &hinted[0].outcome else {
            panic!("{hinted:?}")
        };
        assert!(
            message.starts_with("unknown profile '2g.20gb' for a100-40gb")
                && message.contains("(all of the entry's profiles exist on ")
                && message.contains("h100-80gb"),
            "{message}"
        );
        let EntryOutcome::Unchecked { reason } = &checks[3].outcome else {
            panic!("{checks:?}")
        };
        assert!(
            reason.contains("(no catalog GPU has all of its profiles)"),
            "{reason}"
        );
        // A filter that excludes the GPU keeps its JSON shape.
        let g = cat.gpu("a100-80gb").unwrap();
        let checks = check_config(
            cat,
            &MigPartedConfig::parse(CONFIG, "c.yaml").unwrap(),
            Some(g),
            Driver::default(),
        );
        let json = serde_json::to_value(&checks[1].outcome).unwrap();
        assert_eq!(json["by"], "device-filter");
        assert_eq!(json["device_filter"][0], "0x20B010DE");
    }

    #[test]
    fn export_round_trips_through_check() {
        let g = Catalog::builtin().gpu("a100-80gb").unwrap().clone();
        let layout = Layout::parse(
            g.clone(),
            "3g.40gb@0,2g.20gb@4,1g.10gb@6",
            Driver::default(),
        )
        .unwrap();
        let text = render_config(
            "migsched-plan",
            &[ExportEntry {
                devices: Devices::All,
                layout: &layout,
            }],
        );
        assert!(
            text.contains(
                "device-filter: [\"0x20B210DE\", \"0x20B510DE\", \"0x20F310DE\", \"0x20F510DE\"]"
            ),
            "{text}"
        );
        let cfg = MigPartedConfig::parse(&text, "out.yaml").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, None, Driver::default());
        assert_eq!(checks.len(), 1);
        let EntryOutcome::Placeable { layout: placed } = &checks[0].outcome else {
            panic!("{checks:?}")
        };
        assert_eq!(placed.counts(), layout.counts());
    }

    #[test]
    fn any_name_renders_to_a_file_that_reads_back_with_that_name() {
        // `mig-parted export --name` with a newline injected a YAML key; names over 1,024
        // characters broke the file.
        let g = Catalog::builtin().gpu("a100-80gb").unwrap().clone();
        let layout = Layout::parse(g, "7g.80gb@0", Driver::default()).unwrap();
        let entries = [ExportEntry {
            devices: Devices::List(vec![0]),
            layout: &layout,
        }];
        let long = "n".repeat(3000);
        for name in [
            "plain-name_1.0",
            "a\nversion: v2\nb",
            "x\n  evil:\n    - devices: all",
            "esc\u{1b}[31m",
            "quote\"back\\slash",
            "null",
            "True",
            "1.5",
            "-dash",
            "*alias",
            "&anchor",
            "# hash",
            "tab\there",
            "line\u{2028}sep",
            "ünïcödé",
            long.as_str(),
        ] {
            let text = render_config(name, &entries);
            let cfg = MigPartedConfig::parse(&text, "out.yaml")
                .unwrap_or_else(|e| panic!("{name:?}: {e}\n{text}"));
            assert_eq!(cfg.names(), [name], "{text}");
            assert_eq!(cfg.mig_configs.0[0].1.len(), 1, "{text}");
        }
        assert_eq!(
            try_render_config("a\nb", &entries).unwrap_err().to_string(),
            "the mig-parted configuration name 'a\\nb' has a control character at character 1; use letters, digits and punctuation"
        );
        assert_eq!(
            try_render_config(&"x".repeat(1025), &entries)
                .unwrap_err()
                .to_string(),
            "the mig-parted configuration name has 1025 characters; at most 1024 (YAML's longest implicit key)"
        );
        assert_eq!(
            try_render_config("", &entries).unwrap_err(),
            ConfigNameError::Empty
        );
        assert!(try_render_config(&"x".repeat(1024), &entries).is_ok());
    }

    #[test]
    fn an_alias_bomb_is_refused_by_the_reader() {
        let mut text = String::from("version: v1\nx: &a0 [\"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for l in 1..=10 {
            let refs = vec![format!("*a{}", l - 1); 10].join(", ");
            text.push_str(&format!("x{l}: &a{l} [{refs}]\n"));
        }
        text.push_str("mig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n");
        let e = MigPartedConfig::parse(&text, "bomb.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bomb.yaml: the YAML expands"), "{e}");
        assert!(e.ends_with("alias bomb at line 3 column 10"), "{e}");
    }

    #[test]
    fn filter_ids() {
        assert_eq!(filter_device_id("0x20B010DE"), Some(0x20B0));
        assert_eq!(filter_device_id("0x20b0"), Some(0x20B0));
        assert_eq!(filter_device_id("0x20B01234"), None);
        assert_eq!(filter_device_id("20B0"), None);
    }
}
