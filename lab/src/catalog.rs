//! The catalog commands: every GPU type, one GPU type's profiles, and the catalog compared
//! with a real GPU's `nvidia-smi mig -lgip`/`-lgipp` output.

use std::path::PathBuf;

use anyhow::Result;
use migsched_core::nvidia_smi::{
    DiffClass, DiffOptions, Difference, diff_catalog, identify_gpu, parse_lgip, parse_lgipp,
};
use migsched_core::{EnumerateOptions, GpuType, MAX_LAYOUTS, count_layouts};
use migsched_out::{Table, print_json, read_text};
use serde::Serialize;

use crate::Env;

/// `catalog diff`: the saved outputs and how to compare them.
#[derive(Debug, Clone)]
pub struct DiffQuery {
    /// The GPU type the output was taken on (inferred when `None`).
    pub gpu: Option<String>,
    /// Saved `nvidia-smi mig -lgip` output.
    pub lgip: Option<PathBuf>,
    /// Saved `nvidia-smi mig -lgipp` output.
    pub lgipp: Option<PathBuf>,
    /// Memory differences up to this share are driver-dependent.
    pub memory_tolerance: f64,
    /// The output is an excerpt.
    pub partial: bool,
    /// Print JSON.
    pub json: bool,
}

#[derive(Serialize)]
struct GpuJson<'a> {
    #[serde(flatten)]
    gpu: &'a GpuType,
    legal_layouts: usize,
    maximal_layouts: usize,
}

/// Prints the catalog: one row per GPU type.
pub fn print_gpus(env: &Env, json: bool) -> Result<()> {
    if json {
        print_json(&env.catalog.gpus().iter().map(|g| &**g).collect::<Vec<_>>())?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "id",
        "name",
        ">GPCs",
        ">mem slices",
        ">SMs",
        ">GiB",
        "profiles",
    ]);
    for g in env.catalog.gpus() {
        let names: Vec<&str> = g.profiles().iter().map(|p| p.name()).collect();
        t.row(vec![
            g.id().to_string(),
            g.name().to_string(),
            g.compute_slices().to_string(),
            g.memory_slices().to_string(),
            g.sm_count().to_string(),
            format!("{:.0}", g.memory_gib()),
            names.join(" "),
        ]);
    }
    out!("{}", t.render());
    let unconfirmed: Vec<&str> = env
        .catalog
        .gpus()
        .iter()
        .filter(|g| !g.unconfirmed().is_empty())
        .map(|g| g.id())
        .collect();
    if !unconfirmed.is_empty() {
        outln!(
            "\nSome figures of {} are not confirmed on hardware: `migsched gpus ID` says which, and\n\
             `migsched catalog diff` checks a real GPU.",
            unconfirmed.join(", ")
        );
    }
    Ok(())
}

/// Prints one GPU type: its figures, its profiles, its layouts, its sources.
pub fn print_gpu(g: &std::sync::Arc<GpuType>, json: bool) -> Result<()> {
    let legal = count_layouts(g, &EnumerateOptions::default(), MAX_LAYOUTS)? as usize;
    let maximal = count_layouts(
        g,
        &EnumerateOptions {
            maximal: true,
            ..Default::default()
        },
        MAX_LAYOUTS,
    )? as usize;
    if json {
        print_json(&GpuJson {
            gpu: g,
            legal_layouts: legal,
            maximal_layouts: maximal,
        })?;
        return Ok(());
    }
    outln!("{} ({})", g.name(), g.id());
    if !g.aliases().is_empty() {
        outln!("  also known as: {}", g.aliases().join(", "));
    }
    outln!(
        "  {} compute slices (GPCs), {} memory slices, {} SMs, {} GiB",
        g.compute_slices(),
        g.memory_slices(),
        g.sm_count(),
        g.memory_gib()
    );
    if !g.pci_device_ids().is_empty() {
        let ids: Vec<String> = g
            .pci_device_ids()
            .iter()
            .map(|id| format!("0x{id:04X}"))
            .collect();
        outln!("  PCI device ids: {}", ids.join(", "));
    }
    if let Some(d) = g.min_driver() {
        outln!("  MIG from driver {d}");
    }
    if let Some(e) = g.media_engines() {
        outln!("  media engines (NVDEC/NVENC/NVJPG/OFA): {e}");
    }
    outln!("  legal layouts: {legal} ({maximal} maximal, all profiles, driver R510+)");
    outln!();
    let mut t = Table::new(&[
        "profile",
        ">id",
        ">GPCs",
        ">mem slices",
        ">SMs",
        ">GiB",
        ">max",
        "starts",
        "engines",
        "since",
    ]);
    for p in g.profiles() {
        let since = match (p.min_driver(), g.min_driver()) {
            (Some(d), Some(gd)) if d != gd => d.to_string(),
            _ => String::new(),
        };
        t.row(vec![
            p.name().to_string(),
            p.nvml_id().to_string(),
            p.compute_slices().to_string(),
            p.memory_slices().to_string(),
            p.sm_count().to_string(),
            format!("{:.2}", p.memory_gib()),
            p.max_count().to_string(),
            p.starts()
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(","),
            p.media_engines().map(|e| e.to_string()).unwrap_or_default(),
            since,
        ]);
    }
    out!("{}", t.render());
    for p in g.profiles() {
        if !p.aliases().is_empty() {
            outln!(
                "{} is also printed as: {}",
                p.name(),
                p.aliases().join(", ")
            );
        }
    }
    for p in g.profiles() {
        if !p.memory_gib_seen().is_empty() {
            let seen: Vec<String> = p
                .memory_gib_seen()
                .iter()
                .map(|m| format!("{m:.2}"))
                .collect();
            outln!(
                "{} memory on other drivers: {} GiB",
                p.name(),
                seen.join(", ")
            );
        }
    }
    outln!("\nsource: {}", g.source());
    for n in g.notes() {
        outln!("note: {n}");
    }
    for u in g.unconfirmed() {
        outln!("not confirmed on hardware: {u}");
    }
    Ok(())
}

#[derive(Serialize)]
struct DiffJson<'a> {
    gpu: &'a str,
    identified_by: &'a str,
    matches: bool,
    mismatches: usize,
    driver_dependent: usize,
    aliases: usize,
    newer_profiles: usize,
    differences: &'a [Difference],
}

/// `n thing` or `n things`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Compares saved `nvidia-smi mig -lgip`/`-lgipp` output with the catalog and prints every
/// difference; `Ok(true)` when there is no mismatch.
pub fn catalog_diff(env: &Env, args: &DiffQuery) -> Result<bool> {
    let read = |path: &Option<PathBuf>, what: &str| -> Result<Option<(String, String)>> {
        path.as_ref()
            .map(|p| Ok((read_text(p, what)?, p.display().to_string())))
            .transpose()
    };
    let lgip_text = read(&args.lgip, "-lgip output")?;
    let lgipp_text = read(&args.lgipp, "-lgipp output")?;
    let lgip = match &lgip_text {
        Some((text, origin)) => parse_lgip(text, origin)?,
        None => Vec::new(),
    };
    let lgipp = match &lgipp_text {
        Some((text, origin)) => parse_lgipp(text, origin)?,
        None => Vec::new(),
    };
    let (gpu, evidence) = match &args.gpu {
        Some(name) => (env.gpu(name)?, "--gpu".to_string()),
        None => {
            let texts: Vec<&str> = [&lgip_text, &lgipp_text]
                .into_iter()
                .flatten()
                .map(|(t, _)| t.as_str())
                .collect();
            let found = identify_gpu(&env.catalog, &texts, &lgip, &lgipp)?;
            (found.gpu, found.evidence)
        }
    };
    let options = DiffOptions {
        memory_tolerance: args.memory_tolerance,
        partial: args.partial,
    };
    let diffs = diff_catalog(&gpu, &lgip, &lgipp, &options);
    let of = |c: DiffClass| diffs.iter().filter(|d| d.class == c).count();
    let (mismatches, memory, aliases, newer) = (
        of(DiffClass::Mismatch),
        of(DiffClass::DriverMemory),
        of(DiffClass::Alias),
        of(DiffClass::NewerProfile),
    );
    if args.json {
        print_json(&DiffJson {
            gpu: gpu.id(),
            identified_by: &evidence,
            matches: mismatches == 0,
            mismatches,
            driver_dependent: memory,
            aliases,
            newer_profiles: newer,
            differences: &diffs,
        })?;
        return Ok(mismatches == 0);
    }
    if args.gpu.is_none() {
        outln!("GPU: {gpu} ({evidence})");
    }
    let gpus = lgip
        .iter()
        .map(|r| r.gpu)
        .chain(lgipp.iter().map(|r| r.gpu))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let compared = match (args.lgip.is_some(), args.lgipp.is_some()) {
        (true, true) => "-lgip and -lgipp",
        (true, false) => "-lgip only",
        _ => "-lgipp only",
    };
    if mismatches == 0 {
        outln!(
            "the catalog matches: {} of {gpu} agree on {} ({compared}{})",
            count(gpu.profiles().len(), "profile", "profiles"),
            count(gpus, "GPU", "GPUs"),
            if args.partial { ", an excerpt" } else { "" }
        );
    } else {
        outln!(
            "{} between the catalog and the GPU output for {gpu}:",
            count(mismatches, "mismatch", "mismatches")
        );
    }
    if memory + aliases + newer > 0 && mismatches == 0 {
        let parts: Vec<String> = [
            (
                memory,
                "driver-dependent memory figure",
                "driver-dependent memory figures",
            ),
            (aliases, "older profile name", "older profile names"),
            (
                newer,
                "profile newer than the driver",
                "profiles newer than the driver",
            ),
        ]
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|&(n, one, many)| count(n, one, many))
        .collect();
        outln!("{}, which are not mismatches:", parts.join(", "));
    }
    if !diffs.is_empty() {
        let mut t = Table::new(&[
            ">GPU", "profile", "field", "catalog", "device", "class", "note",
        ]);
        for d in &diffs {
            t.row(vec![
                d.gpu_index.to_string(),
                d.profile.clone(),
                d.field.to_string(),
                d.catalog.clone(),
                d.device.clone(),
                match d.class {
                    DiffClass::Mismatch => "mismatch",
                    DiffClass::DriverMemory => "driver memory",
                    DiffClass::Alias => "alias",
                    DiffClass::NewerProfile => "newer profile",
                }
                .to_string(),
                d.note.clone().unwrap_or_default(),
            ]);
        }
        out!("{}", t.render());
    }
    Ok(mismatches == 0)
}
