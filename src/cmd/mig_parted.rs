//! `migsched mig-parted check|export`: NVIDIA mig-parted v1 configs, offline.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use migsched_core::mig_parted::{
    ConfigForm, ConfigSource, Devices, EntryCheck, EntryOutcome, ExportEntry, MigPartedFile,
    check_config, render_config,
};
use migsched_core::{Layout, LayoutSpec, place};
use migsched_out::{print_json, read_text, write_atomic};
use serde::Serialize;

use super::args::DriverArgs;
use super::{Env, Outcome};

#[derive(Debug, Subcommand)]
pub enum MigPartedCommand {
    /// Say for every config and device entry whether its counts can be placed on its GPU
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Write a mig-parted config from layouts (one device entry per layout)
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
}

const CHECK_HELP: &str = "\
FILE is a mig-parted config (`version: v1`, `mig-configs:`), or a Kubernetes ConfigMap that
holds one as a string under data.\"config.yaml\" (such as the GPU Operator's
default-mig-parted-config; a ConfigMap without that key is read when exactly one other data
key holds a config). A file of several YAML documents (`---`) is read when exactly one of
them is a config or such a ConfigMap. Errors give the line and column in FILE, also inside
a ConfigMap's embedded config.

The GPU type of each entry comes from --gpu, or else from the entry's device-filter (PCI
ids such as 0x20B010DE); an entry with neither cannot be checked (the reason says which
catalog GPUs have its profiles). With --gpu, an entry without device-filter none of whose
profiles exists on that GPU, while another catalog GPU has them all (as in configs that
list `all-1g.20gb` for 80GB GPUs beside `all-1g.5gb` for A100-40GB without filters), is
reported as not for this GPU, like an entry whose device-filter excludes it. An entry that
also names a profile of that GPU still fails (1g.10gb exists on A100-40GB as well as on the
80GB GPUs); the message then says which GPUs have all its profiles.

-c NAME checks one configuration, as `nvidia-mig-parted apply -c NAME` selects one.

Exit codes: 0 every entry can be placed (or has MIG disabled, or is for another GPU);
1 some entry cannot be placed or names a profile its GPU lacks (mig-parted would fail at
apply time); 2 unusable input (also an unknown -c NAME: the message lists the names), or
an entry migsched cannot check.

Examples:
  migsched mig-parted check config.yaml
  migsched mig-parted check config.yaml --gpu a100-80gb --json
  migsched mig-parted check default-mig-parted-config.yaml --gpu a100-40gb -c all-balanced
  kubectl get configmap default-mig-parted-config -n gpu-operator -o yaml > cm.yaml
  migsched mig-parted check cm.yaml --gpu h100-80gb";

const EXPORT_HELP: &str = "\
Each LAYOUT is a text form or profile counts as in `migsched check-layout`. One layout
applies to all devices; several apply to devices 0, 1, ... in order. mig-parted keeps only
counts and may choose other starts: the placement is written as a comment.

Examples:
  migsched mig-parted export --gpu a100-80gb 3g.40gb,2g.20gb,2x1g.10gb
  migsched mig-parted export --gpu h100-80gb --name serving 7g.80gb 3g.40gb,3g.40gb -o mig.yaml";

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The mig-parted config (YAML)
    file: PathBuf,
    /// Check every entry against this GPU type instead of using device-filters
    #[arg(long)]
    gpu: Option<String>,
    /// Check only this configuration (as `nvidia-mig-parted apply -c NAME`)
    #[arg(short = 'c', long = "config", value_name = "NAME")]
    config: Option<String>,
    #[command(flatten)]
    driver: DriverArgs,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// GPU id or name (see `migsched gpus`)
    #[arg(long)]
    gpu: String,
    /// Name of the configuration in the file
    #[arg(long, default_value = "migsched")]
    name: String,
    /// Devices for a single layout: `all` or indices like 0,1
    #[arg(long, value_name = "all|I,...")]
    devices: Option<String>,
    #[command(flatten)]
    driver: DriverArgs,
    /// Write to this file instead of stdout
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The layouts
    #[arg(required = true)]
    layouts: Vec<String>,
}

pub fn run(env: &Env, command: MigPartedCommand) -> Result<Outcome> {
    match command {
        MigPartedCommand::Check(a) => check(env, a),
        MigPartedCommand::Export(a) => export(env, a),
    }
}

#[derive(Serialize)]
struct CheckJson<'a> {
    file: String,
    /// Where in the file the config was found (a ConfigMap's data key, a document).
    source: &'a ConfigSource,
    /// The configuration `-c` selected; all when null.
    config: Option<&'a str>,
    ok: bool,
    entries: &'a [EntryCheck],
}

fn check(env: &Env, args: CheckArgs) -> Result<Outcome> {
    let gpu = args.gpu.as_deref().map(|g| env.gpu(g)).transpose()?;
    let origin = args.file.display().to_string();
    let text = read_text(&args.file, "mig-parted config")?;
    let file = MigPartedFile::parse(&text, &origin)?;
    let config = match &args.config {
        Some(name) => file
            .config
            .only(name)
            .with_context(|| format!("{origin}: -c {name}"))?,
        None => file.config,
    };
    let checks = check_config(&env.catalog, &config, gpu.as_ref(), args.driver.driver());
    let failed = checks.iter().any(|c| c.outcome.is_failure());
    let unchecked = checks.iter().filter(|c| c.outcome.is_unchecked()).count();
    if args.json {
        print_json(&CheckJson {
            file: origin.clone(),
            source: &file.source,
            config: args.config.as_deref(),
            ok: !failed && unchecked == 0,
            entries: &checks,
        })?;
    } else {
        print_checks(&origin, &file.source, &checks);
    }
    if failed {
        Ok(Outcome::No)
    } else if unchecked > 0 {
        bail!(
            "{unchecked} entries of {origin} could not be checked (see above); pass --gpu to name the GPU type"
        )
    } else {
        Ok(Outcome::Yes)
    }
}

fn print_checks(origin: &str, source: &ConfigSource, checks: &[EntryCheck]) {
    if source.form != ConfigForm::Config || source.documents > 1 {
        outln!("{origin}: {source}");
    }
    for c in checks {
        let head = format!(
            "{}[{}] devices={}{}",
            c.config,
            c.entry,
            c.devices,
            c.gpu
                .as_deref()
                .map(|g| format!(" on {g}"))
                .unwrap_or_default()
        );
        match &c.outcome {
            EntryOutcome::Placeable { layout } => outln!("ok    {head}: {layout}"),
            EntryOutcome::MigDisabled => outln!("ok    {head}: MIG disabled"),
            EntryOutcome::NotForThisGpu { because } => outln!("skip  {head}: {because}"),
            EntryOutcome::Unplaceable { violations } => {
                outln!("FAIL  {head}: cannot be placed");
                for v in violations {
                    outln!("        - {v}");
                }
            }
            EntryOutcome::UnknownProfile { message } => outln!("FAIL  {head}: {message}"),
            EntryOutcome::Unchecked { reason } => outln!("??    {head}: {reason}"),
        }
    }
    let bad = checks.iter().filter(|c| c.outcome.is_failure()).count();
    let unchecked = checks.iter().filter(|c| c.outcome.is_unchecked()).count();
    let skipped = checks
        .iter()
        .filter(|c| matches!(c.outcome, EntryOutcome::NotForThisGpu { .. }))
        .count();
    let skipped = if skipped > 0 {
        format!(", {skipped} for other GPUs")
    } else {
        String::new()
    };
    outln!(
        "\n{origin}: {} entries checked, {bad} would fail at apply time, {unchecked} could not be checked{skipped}",
        checks.len()
    );
}

fn export(env: &Env, args: ExportArgs) -> Result<Outcome> {
    let gpu = env.gpu(&args.gpu)?;
    let driver = args.driver.driver();
    let mut layouts: Vec<Layout> = Vec::new();
    for (i, text) in args.layouts.iter().enumerate() {
        let spec = LayoutSpec::parse(&gpu, text).with_context(|| format!("layout {}", i + 1))?;
        let layout = place(&gpu, &spec.pinned, &spec.unplaced, driver).with_context(|| {
            format!(
                "layout {} '{text}' cannot be written: it is not legal",
                i + 1
            )
        })?;
        layouts.push(layout);
    }
    let devices: Vec<Devices> = match (&args.devices, layouts.len()) {
        (Some(d), 1) => vec![parse_devices(d)?],
        (Some(_), _) => bail!(
            "--devices applies to a single layout; several layouts go to devices 0, 1, ... in order"
        ),
        (None, 1) => vec![Devices::All],
        (None, n) => (0..n as u32).map(|i| Devices::List(vec![i])).collect(),
    };
    let entries: Vec<ExportEntry> = layouts
        .iter()
        .zip(devices)
        .map(|(layout, devices)| ExportEntry { devices, layout })
        .collect();
    let yaml = render_config(&args.name, &entries);
    match &args.output {
        Some(path) => {
            write_atomic(path, &yaml)?;
            eprintln!("wrote {}", path.display());
        }
        None => out!("{yaml}"),
    }
    Ok(Outcome::Yes)
}

fn parse_devices(text: &str) -> Result<Devices> {
    if text.trim() == "all" {
        return Ok(Devices::All);
    }
    let mut ids = Vec::new();
    for part in text.split(',') {
        let id: u32 = part.trim().parse().with_context(|| {
            format!(
                "--devices: '{}' is not a device index (use `all` or indices like 0,1)",
                part.trim()
            )
        })?;
        ids.push(id);
    }
    Ok(Devices::List(ids))
}
