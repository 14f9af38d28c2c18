//! mig-parted configs offline: check that every entry can be placed, write one from layouts.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use migsched_core::mig_parted::{
    ConfigForm, ConfigSource, Devices, EntryCheck, EntryOutcome, ExportEntry, MigPartedFile,
    check_config, render_config,
};
use migsched_core::{Driver, Layout, LayoutSpec, place};
use migsched_out::{print_json, read_text, write_atomic};
use serde::Serialize;

use crate::Env;

/// `mig-parted check`.
#[derive(Debug, Clone)]
pub struct MigPartedCheck {
    /// The mig-parted config (YAML).
    pub file: PathBuf,
    /// Check every entry against this GPU type instead of the device filters.
    pub gpu: Option<String>,
    /// Check only this configuration.
    pub config: Option<String>,
    /// Driver rules.
    pub driver: Driver,
    /// Print JSON.
    pub json: bool,
}

/// `mig-parted export`.
#[derive(Debug, Clone)]
pub struct MigPartedExport {
    /// GPU id or name.
    pub gpu: String,
    /// Name of the configuration in the file.
    pub name: String,
    /// Devices for a single layout: `all` or indices.
    pub devices: Option<String>,
    /// Driver rules.
    pub driver: Driver,
    /// Where to write (stdout when `None`).
    pub output: Option<PathBuf>,
    /// The layouts.
    pub layouts: Vec<String>,
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

/// Says for every config and device entry of a mig-parted file whether its counts can be
/// placed on its GPU; `Ok(true)` when every entry can.
pub fn check_mig_parted(env: &Env, args: &MigPartedCheck) -> Result<bool> {
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
    let checks = check_config(&env.catalog, &config, gpu.as_ref(), args.driver);
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
        Ok(false)
    } else if unchecked > 0 {
        bail!(
            "{unchecked} entries of {origin} could not be checked (see above); pass --gpu to name the GPU type"
        )
    } else {
        Ok(true)
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

/// Writes a mig-parted config from layouts (one device entry per layout), to a file or stdout.
pub fn export_mig_parted(env: &Env, args: &MigPartedExport) -> Result<()> {
    let gpu = env.gpu(&args.gpu)?;
    let driver = args.driver;
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
    Ok(())
}

/// `all` or device indices like `0,1` (each at most once).
pub fn parse_devices(text: &str) -> Result<Devices> {
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
        if ids.contains(&id) {
            bail!("--devices: device {id} is listed twice");
        }
        ids.push(id);
    }
    Ok(Devices::List(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_all_or_distinct_indices() {
        assert!(matches!(parse_devices("all").unwrap(), Devices::All));
        assert!(matches!(parse_devices("0, 2").unwrap(), Devices::List(v) if v == [0, 2]));
        let e = parse_devices("0,0").unwrap_err().to_string();
        assert!(e.contains("device 0 is listed twice"), "{e}");
        assert!(parse_devices("0,x").is_err());
    }
}
