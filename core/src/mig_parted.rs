//! NVIDIA mig-parted v1 configuration files: read, check offline, and write.
//!
//! A mig-parted config names profile *counts* per device entry and checks nothing about
//! geometry before `apply`, which wipes the GPU and tries creation orders until one works.
//! [`check_config`] answers the question users ask before applying: can each entry's
//! counts be placed on its GPU type, and where.

use std::fmt;
use std::fmt::Write as _;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalog::{Catalog, GpuType};
use crate::layout::{Driver, Layout, ProfileCounts, Violation, size_order};
use crate::placement::place;

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
                        return Err(de::Error::custom(format!("key '{k}' appears twice")));
                    }
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_any(M(std::marker::PhantomData))
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(v)) => Ok(v),
        Err(_) => Err(de::Error::custom(
            "device-filter must be a PCI id string or a list of them",
        )),
    }
}

/// A config file that cannot be read.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{origin}: {message}")]
pub struct MigPartedError {
    /// File name or other description of the source.
    pub origin: String,
    /// What is wrong, with line and column where the parser gives them.
    pub message: String,
}

impl MigPartedConfig {
    /// Parses a config's YAML text. `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<MigPartedConfig, MigPartedError> {
        let err = |message: String| MigPartedError {
            origin: origin.to_string(),
            message,
        };
        if text.trim().is_empty() {
            return Err(err(
                "the file is empty; a mig-parted config starts with `version: v1`".into(),
            ));
        }
        let config: MigPartedConfig =
            serde_yaml_ng::from_str(text).map_err(|e| err(e.to_string()))?;
        if config.version != "v1" {
            return Err(err(format!(
                "version: '{}' is not supported; expected v1",
                config.version
            )));
        }
        if config.mig_configs.0.is_empty() {
            return Err(err("mig-configs: no configurations".into()));
        }
        Ok(config)
    }
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
    /// `--gpu` was given and the entry's device-filter excludes it.
    NotForThisGpu {
        /// The entry's filter.
        device_filter: Vec<String>,
    },
    /// The entry cannot be checked: no GPU type is known for it, or it uses a form migsched
    /// does not model.
    Unchecked {
        /// Why.
        reason: String,
    },
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
                        push(
                            Some(g),
                            EntryOutcome::NotForThisGpu {
                                device_filter: entry.device_filter.clone(),
                            },
                        );
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
                            "no device-filter, so the GPU type is unknown; pass --gpu".to_string()
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
                push(Some(g), check_entry(g, entry, driver));
            }
        }
    }
    out
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
    let _ = writeln!(s, "# Apply with: nvidia-mig-parted apply -f FILE -c {name}");
    let _ = writeln!(s, "version: v1");
    let _ = writeln!(s, "mig-configs:");
    let _ = writeln!(s, "  {}:", yaml_key(name));
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

fn yaml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
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
    fn unknown_profiles_and_compute_instances() {
        let text = "version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"3g.20gb\": 1\n        \"1c.3g.40gb\": 1\n";
        let cfg = MigPartedConfig::parse(text, "x.yaml").unwrap();
        let g = Catalog::builtin().gpu("h100-80gb").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, Some(g), Driver::default());
        assert!(checks[0].outcome.is_failure());
        let text = text.replace("\"3g.20gb\": 1\n", "");
        let cfg = MigPartedConfig::parse(&text, "x.yaml").unwrap();
        let checks = check_config(Catalog::builtin(), &cfg, Some(g), Driver::default());
        assert!(checks[0].outcome.is_unchecked());
    }

    #[test]
    fn malformed_files_give_located_errors() {
        let e = MigPartedConfig::parse("", "e.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "e.yaml: the file is empty; a mig-parted config starts with `version: v1`"
        );
        let e = MigPartedConfig::parse(
            "version: v1\nmig-configs:\n  a:\n    - devices: some\n      mig-enabled: true\n",
            "b.yaml",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("b.yaml: mig-configs.a[0].devices: invalid value"),
            "{e}"
        );
        assert!(e.to_string().contains("line 4"), "{e}");
        let e =
            MigPartedConfig::parse("version: v2\nmig-configs: {a: []}\n", "v.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "v.yaml: version: 'v2' is not supported; expected v1"
        );
        let e = MigPartedConfig::parse("version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n      mig-device: {}\n", "t.yaml").unwrap_err();
        assert!(e.to_string().contains("unknown field `mig-device`"), "{e}");
        assert!(MigPartedConfig::parse("{{{", "y.yaml").is_err());
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
    fn filter_ids() {
        assert_eq!(filter_device_id("0x20B010DE"), Some(0x20B0));
        assert_eq!(filter_device_id("0x20b0"), Some(0x20B0));
        assert_eq!(filter_device_id("0x20B01234"), None);
        assert_eq!(filter_device_id("20B0"), None);
    }
}
