//! NVIDIA mig-parted configs: each device entry's profile counts checked as layouts, and a
//! configuration imported as a plan.
//!
//! mig-parted holds counts, not starts. The GPU type of an entry comes from `--gpu` or from
//! its `device-filter` (PCI ids such as `0x20B010DE`); `devices: all` stands for a number of
//! devices the caller gives (default 1). An import records one plan GPU per (GPU type,
//! device index), in (device, type) order, with every instance the file asks for, idle (a
//! config names no models). Starts are chosen by this crate's exhaustive search
//! ([`crate::find_placement`]), the arrangement mig-parted's apply reaches by trying creation
//! orders; when none exists, each instance is recorded at its first legal start that is still
//! free (else its first legal start), so the plan checker reports the conflict. Nothing is
//! dropped or repaired: unknown profiles, `mig-enabled: false` entries with devices, and
//! entries sharing a device all come through as written.

use std::collections::BTreeMap;

use migsched_core::mig_parted::{DeviceEntry, Devices, MigPartedConfig, filter_device_id};
use migsched_core::{Catalog, Driver, GpuType, MigGpu, PlanInstance};

use super::{Imported, finish_plan};
use crate::error::InputError;
use crate::layout::{
    PlacedInstance, check_counts, describe_counts, find_placement, find_profile, layout_text,
};
use crate::violation::{Location, Violation};

/// The GPU type a device entry is for: `gpu` when given (`Ok(None)` when the entry's
/// device-filter excludes it), else the first catalog GPU its device-filter names.
pub fn entry_gpu<'c>(
    catalog: &'c Catalog,
    entry: &DeviceEntry,
    gpu: Option<&'c GpuType>,
) -> Result<Option<&'c GpuType>, String> {
    let mut ids = Vec::new();
    for f in &entry.device_filter {
        match filter_device_id(f) {
            Some(id) => ids.push(id),
            None => {
                return Err(format!(
                    "device-filter '{f}' is not a PCI id like 0x20B010DE"
                ));
            }
        }
    }
    if let Some(g) = gpu {
        let applies = ids.is_empty() || ids.iter().any(|id| g.pci_device_ids().contains(id));
        return Ok(applies.then_some(g));
    }
    if ids.is_empty() {
        return Err("no device-filter, so the GPU type is unknown; pass --gpu".into());
    }
    ids.iter()
        .find_map(|&id| catalog.gpu_by_pci_device_id(id))
        .map(|g| Some(&**g))
        .ok_or_else(|| {
            format!(
                "device-filter {} matches no catalog GPU; pass --gpu",
                entry.device_filter.join(", ")
            )
        })
}

/// One device entry's check.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryCheck {
    /// `config[i]`.
    pub entry: String,
    /// The entry's devices.
    pub devices: String,
    /// The GPU type checked, or why none.
    pub gpu: Result<Option<String>, String>,
    /// Every violation of the counts on that GPU type.
    pub violations: Vec<Violation>,
}

/// Checks every device entry of every configuration as profile counts (see
/// [`check_counts`]). Entries without a known GPU type carry the reason in `gpu`; entries
/// whose device-filter excludes `gpu` carry `Ok(None)`.
pub fn check_config(
    catalog: &Catalog,
    config: &MigPartedConfig,
    gpu: Option<&GpuType>,
    driver: Driver,
) -> Vec<EntryCheck> {
    let mut out = Vec::new();
    for (name, entries) in &config.mig_configs.0 {
        for (i, e) in entries.iter().enumerate() {
            let label = format!("{name}[{i}]");
            let counts: Vec<(String, u32)> = e.mig_devices.0.clone();
            let (ty, violations) = match entry_gpu(catalog, e, gpu) {
                Ok(Some(g)) => {
                    let at = Location {
                        entry: Some(label.clone()),
                        gpu_type: Some(g.id().to_string()),
                        ..Location::none()
                    };
                    let mut v = check_counts(g, &counts, driver, &at);
                    if !e.mig_enabled && counts.iter().any(|(_, n)| *n > 0) {
                        v.push(Violation::new(
                            crate::violation::Rule::NoPlacement,
                            at,
                            "mig-devices are listed but mig-enabled is false: no instance can \
                             exist without MIG mode",
                        ));
                    }
                    (Ok(Some(g.id().to_string())), v)
                }
                Ok(None) => (Ok(None), Vec::new()),
                Err(why) => (Err(why), Vec::new()),
            };
            out.push(EntryCheck {
                entry: label,
                devices: e.devices.to_string(),
                gpu: ty,
                violations,
            });
        }
    }
    out
}

/// A device's GPU type and its profile counts in file order.
type DeviceCounts<'c> = (&'c GpuType, Vec<(String, u32)>);

/// Options of a mig-parted import.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigPartedImport<'a> {
    /// The configuration to import; `None` when the file has exactly one.
    pub config: Option<&'a str>,
    /// The GPU type of every entry, instead of device-filters.
    pub gpu: Option<&'a GpuType>,
    /// How many devices `devices: all` means (at least 1).
    pub all_devices: u32,
}

/// Imports one configuration as a plan of idle instances; see the module documentation.
pub fn import_mig_parted(
    catalog: &Catalog,
    config: &MigPartedConfig,
    origin: &str,
    options: &MigPartedImport<'_>,
) -> Result<Imported, InputError> {
    let names = config.names();
    let selected;
    let (name, entries) = match options.config {
        Some(want) => {
            selected = config
                .only(want)
                .map_err(|e| InputError::new(origin, e.to_string()))?;
            &selected.mig_configs.0[0]
        }
        None if config.mig_configs.0.len() == 1 => &config.mig_configs.0[0],
        None => {
            return Err(InputError::new(
                origin,
                format!(
                    "the file has {} configurations ({}); choose one with --config",
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
    };
    let mut notes = Vec::new();
    // (device, GPU type id) -> (type, counts in file order)
    let mut gpus: BTreeMap<(u32, String), DeviceCounts<'_>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let label = format!("{name}[{i}]");
        let g = match entry_gpu(catalog, e, options.gpu) {
            Ok(Some(g)) => g,
            Ok(None) => {
                notes.push(format!(
                    "{label}: its device-filter excludes the given GPU type; skipped"
                ));
                continue;
            }
            Err(why) => {
                return Err(InputError::new(origin, why).with_field(format!("mig-configs.{label}")));
            }
        };
        if !e.mig_enabled && e.mig_devices.0.iter().any(|(_, n)| *n > 0) {
            notes.push(format!(
                "{label}: mig-devices listed with mig-enabled: false; recorded as written"
            ));
        }
        let devices: Vec<u32> = match &e.devices {
            Devices::All => (0..options.all_devices.max(1)).collect(),
            Devices::List(v) => v.clone(),
        };
        for d in devices {
            let slot = gpus
                .entry((d, g.id().to_string()))
                .or_insert_with(|| (g, Vec::new()));
            if !slot.1.is_empty() {
                notes.push(format!(
                    "{label}: device {d} also appears in an earlier entry; its instances are added"
                ));
            }
            for (p, n) in &e.mig_devices.0 {
                match slot.1.iter_mut().find(|(q, _)| q == p) {
                    Some(c) => c.1 = c.1.saturating_add(*n),
                    None => slot.1.push((p.clone(), *n)),
                }
            }
        }
    }
    // The plan records every instance: counts no GPU can hold (each instance takes a memory
    // slice at least) are refused before anything is expanded (a count of 10^9 took 16 GB).
    for ((device, ty), (g, counts)) in &gpus {
        let total: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
        if total > u64::from(g.memory_slices()) {
            return Err(InputError::new(
                origin,
                format!(
                    "device {device} ({ty}): {total} instances ({}), but one {ty} holds at most {} (one per memory slice)",
                    describe_counts(counts),
                    g.memory_slices()
                ),
            )
            .with_field(format!("mig-configs.{name}")));
        }
    }
    let mut plan_gpus = Vec::new();
    for (index, ((device, ty), (g, counts))) in gpus.iter().enumerate() {
        let placed = match find_placement(g, counts) {
            Some(p) => p,
            None => {
                notes.push(format!(
                    "device {device} ({ty}): no legal placement exists for these counts; \
                     instances recorded at their first free legal starts"
                ));
                naive_starts(g, counts)
            }
        };
        let instances: Vec<PlanInstance> = placed
            .iter()
            .map(|p| PlanInstance {
                profile: p.profile.clone(),
                start: p.start,
                model: None,
                batch: None,
                procs: None,
                latency_ms: None,
                throughput_rps: None,
            })
            .collect();
        plan_gpus.push(MigGpu {
            index: index as u32,
            gpu: ty.clone(),
            layout: layout_text(&placed),
            instances,
        });
        notes.push(format!("device {device} ({ty}) is plan GPU {index}"));
    }
    notes.push("mig-parted configs hold counts only: starts chosen by an exhaustive search".into());
    Ok(Imported {
        plan: finish_plan(name, None, plan_gpus, &[], 0.0),
        notes,
    })
}

/// Each instance (larger first, then file order) at its first legal start whose slices are
/// still free, else at its first legal start (0 for an unknown profile); sorted by start.
fn naive_starts(gpu: &GpuType, counts: &[(String, u32)]) -> Vec<PlacedInstance> {
    let mut items: Vec<(&str, u32)> = counts.iter().map(|(p, n)| (p.as_str(), *n)).collect();
    items.sort_by_key(|(p, _)| {
        std::cmp::Reverse(find_profile(gpu, p).map_or(0, |(_, q)| q.memory_slices()))
    });
    let mut used: u64 = 0;
    let mut out = Vec::new();
    for (name, n) in items {
        for _ in 0..n {
            let start = match find_profile(gpu, name) {
                None => 0,
                Some((_, p)) => {
                    let mask = |s: u8| ((1u64 << p.memory_slices()) - 1) << s;
                    let free = p.starts().iter().copied().find(|&s| used & mask(s) == 0);
                    let s = free.or_else(|| p.starts().first().copied()).unwrap_or(0);
                    used |= mask(s);
                    s
                }
            };
            out.push(PlacedInstance::new(name, start));
        }
    }
    out.sort_by_key(|p| p.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violation::Rule;

    const TWO: &str = "version: v1
mig-configs:
  balanced:
    - device-filter: [\"0x20B210DE\"]
      devices: [0, 1]
      mig-enabled: true
      mig-devices:
        \"3g.40gb\": 1
        \"2g.20gb\": 1
        \"1g.10gb\": 2
  bad:
    - devices: all
      mig-enabled: true
      mig-devices:
        \"3g.40gb\": 1
        \"2g.20gb\": 2
        \"1g.10gb\": 1
";

    fn parse(text: &str) -> MigPartedConfig {
        MigPartedConfig::parse(text, "c.yaml").unwrap()
    }

    #[test]
    fn checks_name_the_entry_and_the_rule() {
        let cat = Catalog::builtin();
        let g = cat.gpu("a100-80gb").unwrap();
        let checks = check_config(cat, &parse(TWO), Some(g), Driver::R510OrLater);
        assert_eq!(checks.len(), 2);
        assert!(checks[0].violations.is_empty());
        assert_eq!(checks[1].entry, "bad[0]");
        assert_eq!(
            checks[1]
                .violations
                .iter()
                .map(|v| v.rule)
                .collect::<Vec<_>>(),
            [Rule::ComputeLimit, Rule::MemoryLimit]
        );
        // Without --gpu, the entry without a filter cannot be checked.
        let checks = check_config(cat, &parse(TWO), None, Driver::R510OrLater);
        assert_eq!(checks[0].gpu, Ok(Some("a100-80gb".to_string())));
        assert_eq!(
            checks[1].gpu,
            Err("no device-filter, so the GPU type is unknown; pass --gpu".to_string())
        );
    }

    #[test]
    fn import_places_counts_or_records_them_as_written() {
        let cat = Catalog::builtin();
        let g = cat.gpu("a100-80gb").unwrap();
        let opts = MigPartedImport {
            config: Some("balanced"),
            ..MigPartedImport::default()
        };
        let imp = import_mig_parted(cat, &parse(TWO), "c.yaml", &opts).unwrap();
        let layouts: Vec<&str> = imp.plan.mig_gpus().map(|g| g.layout.as_str()).collect();
        // 3g.40gb at 0 would leave a one-slice 1g only slice 7, which no 1g may start at.
        assert_eq!(layouts, ["2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4"; 2]);
        assert_eq!(
            (imp.plan.gpus_used, imp.plan.method.name()),
            (0, "imported")
        );
        let opts = MigPartedImport {
            config: Some("bad"),
            gpu: Some(g),
            all_devices: 2,
        };
        let imp = import_mig_parted(cat, &parse(TWO), "c.yaml", &opts).unwrap();
        assert_eq!(imp.plan.gpus.len(), 2);
        assert_eq!(
            imp.plan.gpus[0].as_mig().unwrap().layout,
            "3g.40gb@0,2g.20gb@0,2g.20gb@4,1g.10gb@6"
        );
        assert!(
            imp.notes[0].contains("no legal placement exists"),
            "{:?}",
            imp.notes
        );
    }

    #[test]
    fn import_fails_only_on_what_it_cannot_read() {
        let cat = Catalog::builtin();
        let err =
            import_mig_parted(cat, &parse(TWO), "c.yaml", &MigPartedImport::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.yaml: the file has 2 configurations (balanced, bad); choose one with --config"
        );
        let opts = MigPartedImport {
            config: Some("nope"),
            ..MigPartedImport::default()
        };
        assert_eq!(
            import_mig_parted(cat, &parse(TWO), "c.yaml", &opts)
                .unwrap_err()
                .to_string(),
            "c.yaml: no configuration 'nope'; the file has balanced, bad"
        );
        let opts = MigPartedImport {
            config: Some("bad"),
            ..MigPartedImport::default()
        };
        assert_eq!(
            import_mig_parted(cat, &parse(TWO), "c.yaml", &opts)
                .unwrap_err()
                .to_string(),
            "c.yaml: mig-configs.bad[0]: no device-filter, so the GPU type is unknown; pass --gpu"
        );
    }

    /// A config asking for a billion instances (10^9 once took 16 GB to expand).
    const BILLION: &str = "version: v1
mig-configs:
  huge:
    - device-filter: [\"0x20B210DE\"]
      devices: [0]
      mig-enabled: true
      mig-devices:
        \"1g.10gb\": 1000000000
        \"7g.80gb\": 4294967295
";

    #[test]
    fn counts_no_gpu_holds_are_checked_without_expanding_them() {
        let cat = Catalog::builtin();
        let checks = check_config(cat, &parse(BILLION), None, Driver::R510OrLater);
        let got: Vec<String> = checks[0].violations.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            got,
            [
                "huge[0], a100-80gb: 1000000000 instances of 1g.10gb, but at most 7 fit on one GPU [count-limit]",
                "huge[0], a100-80gb: 4294967295 instances of 7g.80gb, but at most 1 fit on one GPU [count-limit]",
                "huge[0], a100-80gb: the instances use 31064771065 compute slices, but the GPU has 7 [compute-limit]",
                "huge[0], a100-80gb: the instances need 35359738360 memory slices, but the GPU has 8 [memory-limit]",
            ]
        );
        let opts = MigPartedImport {
            config: Some("huge"),
            ..MigPartedImport::default()
        };
        let e = import_mig_parted(cat, &parse(BILLION), "c.yaml", &opts).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.yaml: mig-configs.huge: device 0 (a100-80gb): 5294967295 instances (1000000000x 1g.10gb + 4294967295x 7g.80gb), but one a100-80gb holds at most 8 (one per memory slice)"
        );
    }

    #[test]
    fn naive_starts_keep_every_instance() {
        let g = Catalog::builtin().gpu("a100-80gb").unwrap();
        let counts = vec![("7g.80gb".to_string(), 2), ("9g".to_string(), 1)];
        let placed = naive_starts(g, &counts);
        assert_eq!(layout_text(&placed), "7g.80gb@0,7g.80gb@0,9g@0");
    }
}
