//! `migsched gpus`: the catalog, or one GPU's profiles.

use anyhow::Result;
use clap::Args;
use migsched_core::{EnumerateOptions, GpuType, enumerate_layouts};
use migsched_out::{Table, print_json};
use serde::Serialize;

use super::{Env, Outcome};

#[derive(Debug, Args)]
pub struct GpusArgs {
    /// A GPU id or name (e.g. h100-80gb, "NVIDIA H100 80GB HBM3"); all GPUs when omitted
    gpu: Option<String>,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct GpuJson<'a> {
    #[serde(flatten)]
    gpu: &'a GpuType,
    legal_layouts: usize,
    maximal_layouts: usize,
}

pub fn run(env: &Env, args: GpusArgs) -> Result<Outcome> {
    match &args.gpu {
        None => list(env, args.json),
        Some(name) => show(&env.gpu(name)?, args.json),
    }
}

fn list(env: &Env, json: bool) -> Result<Outcome> {
    if json {
        print_json(&env.catalog.gpus().iter().map(|g| &**g).collect::<Vec<_>>())?;
        return Ok(Outcome::Yes);
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
    Ok(Outcome::Yes)
}

fn show(g: &std::sync::Arc<GpuType>, json: bool) -> Result<Outcome> {
    let legal = enumerate_layouts(g, &EnumerateOptions::default()).len();
    let maximal = enumerate_layouts(
        g,
        &EnumerateOptions {
            maximal: true,
            ..Default::default()
        },
    )
    .len();
    if json {
        print_json(&GpuJson {
            gpu: g,
            legal_layouts: legal,
            maximal_layouts: maximal,
        })?;
        return Ok(Outcome::Yes);
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
    Ok(Outcome::Yes)
}
