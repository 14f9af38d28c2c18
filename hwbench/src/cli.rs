//! The `hwbench` commands, shared by `migsched hwbench ...` and the slim `migsched-hwbench`
//! binary. Each returns `Ok(true)` (exit 0), `Ok(false)` (exit 1: differences, changes
//! needed) or an error (exit 2: unusable input, no driver).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use migsched_core::{Catalog, Driver, Plan};
use migsched_out::{Table, out, outln, print_json, read_text, write_atomic};
use serde::Serialize;

use crate::compare::{GpuComparison, compare, driver_rules};
use crate::state::DeviceState;
use crate::steps::{GpuDiff, diff_plan};

/// The `hwbench` subcommands.
#[derive(Debug, Subcommand)]
pub enum HwbenchCommand {
    /// GPUs, MIG mode, GPU and compute instances, MIG device UUIDs and processes, compared
    /// with the catalog
    #[command(after_help = DISCOVER_HELP)]
    Discover(DiscoverArgs),
    /// What must change on this machine to reach a plan's layouts, as nvidia-smi commands
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
}

const DISCOVER_HELP: &str = "\
Reads the live machine through NVML (libnvidia-ml, loaded at run time), or a recorded
snapshot with --state. Exit codes: 0 the GPUs agree with the catalog; 1 differences (each is
listed); 2 no driver or unusable input.

Examples:
  migsched hwbench discover
  migsched hwbench discover -o state.json          # record the machine for later
  migsched hwbench discover --state hwbench/tests/fixtures/a100-80gb-mig.json --json";

const DIFF_HELP: &str = "\
Pairs plan GPU i with NVML GPU i. Instances whose profile and placement the plan has are
kept untouched; the rest are destroyed (compute instances first) and the plan's missing
instances are created at explicit placements. The steps are replayed through the layout
rules before they are printed.

--apply runs them, and only with --yes; it re-discovers first, refuses while an instance to
be destroyed has processes, and re-discovers afterwards to confirm. Never run it on a lent
or shared machine.

Exit codes: 0 the machine matches the plan; 1 changes are needed (or a GPU cannot reach the
plan); 2 no driver or unusable input. With --apply: 0 when the machine matches afterwards.

Examples:
  migsched hwbench diff plan.json
  migsched hwbench diff plan.json --state hwbench/tests/fixtures/a100-80gb-mig.json
  migsched hwbench diff plan.json --mig-parted > config.yaml
  sudo migsched-hwbench diff plan.json --apply --yes";

/// `hwbench discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Read a recorded snapshot (JSON, as written by `-o`) instead of the live machine
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Write the snapshot to this file (JSON), for `--state` later
    #[arg(short = 'o', long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print JSON (the snapshot and the comparison) instead of text
    #[arg(long)]
    json: bool,
}

/// `hwbench diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The plan (JSON, `migsched solve -o`)
    plan: PathBuf,
    /// Compare with a recorded snapshot instead of the live machine
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Print a mig-parted v1 config for the plan instead (counts only: mig-parted chooses
    /// placements and reconfigures whole GPUs)
    #[arg(long, conflicts_with_all = ["apply", "json"])]
    mig_parted: bool,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    /// Run the steps (needs --yes, root and an idle GPU)
    #[arg(long)]
    apply: bool,
    /// Confirm --apply
    #[arg(long, requires = "apply")]
    yes: bool,
}

/// Runs an hwbench command with the catalog in effect.
pub fn run(catalog: &Catalog, command: HwbenchCommand) -> Result<bool> {
    match command {
        HwbenchCommand::Discover(a) => discover(catalog, a),
        HwbenchCommand::Diff(a) => diff(catalog, a),
    }
}

/// The snapshot from a file, or from the live machine.
fn load_state(state: Option<&PathBuf>) -> Result<DeviceState> {
    match state {
        Some(path) => {
            let text = read_text(path, "device state")?;
            Ok(DeviceState::from_json_str(
                &text,
                &path.display().to_string(),
            )?)
        }
        None => crate::nvml::discover(),
    }
}

#[derive(Serialize)]
struct DiscoverJson<'a> {
    state: &'a DeviceState,
    catalog: &'a [GpuComparison],
}

fn discover(catalog: &Catalog, args: DiscoverArgs) -> Result<bool> {
    let state = load_state(args.state.as_ref())?;
    let comparison = compare(catalog, &state);
    if let Some(path) = &args.out {
        write_atomic(path, &state.to_json())?;
    }
    let agrees = comparison.iter().all(|c| c.differences.is_empty());
    if args.json {
        print_json(&DiscoverJson {
            state: &state,
            catalog: &comparison,
        })?;
        return Ok(agrees);
    }
    out!("{}", render_discovery(&state, &comparison));
    Ok(agrees)
}

fn opt<T: std::fmt::Display>(v: Option<T>, unit: &str) -> String {
    v.map(|v| format!("{v}{unit}"))
        .unwrap_or_else(|| "unknown".into())
}

/// The text report of `discover`.
pub fn render_discovery(state: &DeviceState, comparison: &[GpuComparison]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "driver {}, CUDA {}, NVML {} (source: {})",
        state.driver_version,
        state.cuda_driver_version.as_deref().unwrap_or("unknown"),
        state.nvml_version.as_deref().unwrap_or("unknown"),
        state.source
    );
    if state.gpus.is_empty() {
        let _ = writeln!(s, "no GPUs");
    }
    for (gpu, cmp) in state.gpus.iter().zip(comparison) {
        let _ = writeln!(s, "\nGPU {}  {}  {}", gpu.index, gpu.name, gpu.uuid);
        let _ = writeln!(
            s,
            "  type {}, memory {} MiB, SMs {}, max clocks SM {} / memory {}",
            cmp.gpu_type.as_deref().unwrap_or("not in the catalog"),
            gpu.memory_mib,
            opt(gpu.sm_count, ""),
            opt(gpu.max_sm_clock_mhz, " MHz"),
            opt(gpu.max_memory_clock_mhz, " MHz"),
        );
        match gpu.mig {
            None => {
                let _ = writeln!(s, "  MIG not supported");
            }
            Some(m) => {
                let pending = if m.pending != m.current {
                    format!(
                        " ({} after the next GPU reset)",
                        if m.pending { "enabled" } else { "disabled" }
                    )
                } else {
                    String::new()
                };
                let mode = if m.current { "enabled" } else { "disabled" };
                let layout = cmp
                    .layout
                    .as_deref()
                    .map(|l| format!("; layout {l}"))
                    .unwrap_or_default();
                let _ = writeln!(s, "  MIG {mode}{pending}{layout}");
            }
        }
        if !gpu.gpu_instances.is_empty() {
            let mut t = Table::new(&[
                ">GI",
                "profile",
                "placement",
                ">CI",
                ">slices",
                ">SMs",
                "MIG device",
                "processes",
            ]);
            let mut gis: Vec<_> = gpu.gpu_instances.iter().collect();
            gis.sort_by_key(|g| (g.start, g.id));
            for gi in gis {
                let profile = gpu
                    .profile(gi.profile_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| format!("id {}", gi.profile_id));
                let placement = format!("{}:{}", gi.start, gi.size);
                if gi.compute_instances.is_empty() {
                    t.row(vec![
                        gi.id.to_string(),
                        profile,
                        placement,
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "(no compute instance)".into(),
                        "-".into(),
                    ]);
                    continue;
                }
                for ci in &gi.compute_instances {
                    let procs: Vec<String> =
                        ci.processes.iter().map(|p| p.pid.to_string()).collect();
                    t.row(vec![
                        gi.id.to_string(),
                        profile.clone(),
                        placement.clone(),
                        ci.id.to_string(),
                        ci.slice_count.to_string(),
                        opt(ci.sm_count, ""),
                        ci.uuid.clone().unwrap_or_else(|| "unknown".into()),
                        if procs.is_empty() {
                            "-".into()
                        } else {
                            procs.join(",")
                        },
                    ]);
                }
            }
            for line in t.render().lines() {
                let _ = writeln!(s, "  {line}");
            }
        }
        if !gpu.processes.is_empty() {
            let procs: Vec<String> = gpu
                .processes
                .iter()
                .map(|p| match &p.name {
                    Some(n) => format!("{} ({n})", p.pid),
                    None => p.pid.to_string(),
                })
                .collect();
            let _ = writeln!(s, "  processes: {}", procs.join(", "));
        }
        for note in &cmp.notes {
            let _ = writeln!(s, "  note: {note}");
        }
        if cmp.differences.is_empty() {
            let _ = writeln!(s, "  catalog: agrees");
        } else {
            let _ = writeln!(s, "  catalog: {} difference(s)", cmp.differences.len());
            let mut t = Table::new(&["subject", "field", "catalog", "device"]);
            for d in &cmp.differences {
                t.row(vec![
                    d.subject.clone(),
                    d.field.clone(),
                    d.catalog.clone(),
                    d.device.clone(),
                ]);
            }
            for line in t.render().lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    s
}

/// Reads a plan file (current or previous format).
pub fn read_plan(path: &Path) -> Result<Plan> {
    let text = read_text(path, "plan")?;
    Ok(Plan::from_json(
        &text,
        &format!("plan '{}'", path.display()),
    )?)
}

#[derive(Serialize)]
struct DiffJson<'a> {
    matches: bool,
    gpus: &'a [GpuDiff],
}

fn diff(catalog: &Catalog, args: DiffArgs) -> Result<bool> {
    let plan = read_plan(&args.plan)?;
    if args.mig_parted {
        // The plan alone decides a mig-parted config; no machine is read.
        let driver = Driver::default();
        out!(
            "# mig-parted reconfigures each listed GPU as a whole and picks placements itself;\n\
             # `migsched hwbench diff` without --mig-parted keeps instances that already match.\n{}",
            plan.mig_parted_config(catalog, driver, "migsched")?
        );
        return Ok(true);
    }
    if args.apply {
        if args.state.is_some() {
            bail!("--apply changes the live machine; it cannot be used with --state");
        }
        if !args.yes {
            bail!(
                "--apply changes the GPU configuration and destroys instances; add --yes to \
                 confirm (never on a lent or shared machine)"
            );
        }
        return apply(catalog, &plan, args.json);
    }
    let state = load_state(args.state.as_ref())?;
    let driver = driver_rules(&state.driver_version);
    print_diff(catalog, &state, &plan, driver, args.json, None)
}

/// Diffs `state` against the plan's GPUs and prints it (JSON, or the rendered diff under an
/// optional heading); whether every GPU matches.
fn print_diff(
    catalog: &Catalog,
    state: &DeviceState,
    plan: &Plan,
    driver: Driver,
    json: bool,
    heading: Option<&str>,
) -> Result<bool> {
    let diffs = diff_plan(catalog, state, plan, driver)?;
    let all = diffs.iter().all(GpuDiff::matches);
    if json {
        print_json(&DiffJson {
            matches: all,
            gpus: &diffs,
        })?;
    } else {
        if let Some(h) = heading {
            outln!("{h}");
        }
        out!("{}", render_diff(&diffs));
    }
    Ok(all)
}

/// The text report of `diff`: per GPU what matches and what changes, then the steps.
pub fn render_diff(diffs: &[GpuDiff]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for d in diffs {
        let current = d.current.as_deref().unwrap_or("MIG disabled");
        let _ = writeln!(
            s,
            "GPU {} ({}): now {current}; plan {}",
            d.index, d.gpu_type, d.target
        );
        if let Some(e) = &d.error {
            let _ = writeln!(s, "  cannot reach the plan: {e}");
            continue;
        }
        if d.matches() {
            let _ = writeln!(s, "  matches the plan");
            continue;
        }
        for k in &d.keep {
            let note = if k.cis_replaced {
                " (compute instances replaced by one full-size CI)"
            } else {
                ""
            };
            let _ = writeln!(s, "  keep     {} (GI {}){note}", k.instance, k.gi);
        }
        for x in &d.destroy {
            let procs = if x.processes.is_empty() {
                String::new()
            } else {
                let p: Vec<String> = x.processes.iter().map(u32::to_string).collect();
                format!(" - busy: processes {}", p.join(","))
            };
            let _ = writeln!(s, "  destroy  {} (GI {}){procs}", x.instance, x.gi);
        }
        for c in &d.create {
            let _ = writeln!(s, "  create   {c}");
        }
    }
    let steps: Vec<_> = diffs.iter().flat_map(|d| &d.steps).collect();
    if !steps.is_empty() {
        let _ = writeln!(s, "\nsteps (as root, in this order):");
        for st in steps {
            let _ = writeln!(s, "  {st}");
        }
    }
    s
}

/// `diff --apply --yes`: re-discover, refuse busy instances, run the steps, confirm.
fn apply(catalog: &Catalog, plan: &Plan, json: bool) -> Result<bool> {
    let state = crate::nvml::discover()?;
    let driver = driver_rules(&state.driver_version);
    let diffs = diff_plan(catalog, &state, plan, driver)?;
    for d in &diffs {
        if let Some(e) = &d.error {
            bail!("GPU {}: cannot reach the plan: {e}", d.index);
        }
        let mut busy: Vec<String> = d
            .destroy
            .iter()
            .filter(|x| !x.processes.is_empty())
            .map(|x| format!("{} (GI {}) runs {:?}", x.instance, x.gi, x.processes))
            .collect();
        busy.extend(
            d.keep
                .iter()
                .filter(|k| k.cis_replaced && !k.processes.is_empty())
                .map(|k| format!("{} (GI {}) runs {:?}", k.instance, k.gi, k.processes)),
        );
        if d.steps
            .iter()
            .any(|s| matches!(s, crate::steps::Step::EnableMig { .. }))
            && let Some(g) = state.gpu(d.index)
            && g.all_processes().next().is_some()
        {
            busy.push(format!(
                "GPU {} has processes (MIG mode needs it idle)",
                d.index
            ));
        }
        if !busy.is_empty() {
            bail!(
                "refusing to apply: instances to change are in use: {}",
                busy.join("; ")
            );
        }
    }
    let mut steps: Vec<_> = diffs.iter().flat_map(|d| d.steps.clone()).collect();
    let enable: Vec<_> = steps
        .iter()
        .filter(|s| matches!(s, crate::steps::Step::EnableMig { .. }))
        .cloned()
        .collect();
    if !enable.is_empty() {
        // MIG mode takes effect after a GPU reset, which the driver may or may not do at
        // once: enable it, re-discover, and plan the instances on what is really there.
        run_steps(&enable)?;
        let state = crate::nvml::discover()?;
        if let Some(g) = state
            .gpus
            .iter()
            .find(|g| enable.iter().any(|s| s.gpu() == g.index) && !g.mig_enabled())
        {
            bail!(
                "MIG mode on GPU {} is pending: reset the GPU (`nvidia-smi -i {} -r`) or reboot, \
                 then run `hwbench diff --apply --yes` again",
                g.index,
                g.index
            );
        }
        steps = diff_plan(catalog, &state, plan, driver)?
            .into_iter()
            .flat_map(|d| d.steps)
            .collect();
    }
    run_steps(&steps)?;
    let after = crate::nvml::discover()?;
    print_diff(
        catalog,
        &after,
        plan,
        driver,
        json,
        Some("re-discovered after applying the steps:"),
    )
}

/// Runs nvidia-smi steps in order, stopping at the first that fails.
fn run_steps(steps: &[crate::steps::Step]) -> Result<()> {
    for (n, step) in steps.iter().enumerate() {
        eprintln!("[{}/{}] {step}", n + 1, steps.len());
        let argv = step.argv();
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .status()
            .with_context(|| format!("running '{step}'"))?;
        if !status.success() {
            bail!(
                "'{step}' failed ({status}); steps 1 to {} were done: run `hwbench diff` again \
                 to see where the machine is",
                n
            );
        }
    }
    Ok(())
}
