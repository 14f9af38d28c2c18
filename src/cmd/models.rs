//! `migsched models`: the model zoo as layer graphs (list, show, export as JSON).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use migsched_out::{Table, print_json, write_atomic};
use migsched_perf::zoo::{ZooOptions, build, model_info, models, summary_table};
use serde::Serialize;

use super::Outcome;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: Option<ModelsCommand>,
    /// Print JSON instead of a table (for the list)
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Show one model's layer graph, grouped by name prefix or node by node
    #[command(
        after_help = "Examples:\n  migsched models show resnet50\n  migsched models show bert-base --seq-len 384 --depth 3\n  migsched models show mobilenetv2 --nodes\n  migsched models show resnet50 --json > resnet50.json"
    )]
    Show(ShowArgs),
    /// Write every model's graph as JSON (one file per model) for other tools
    #[command(after_help = "Example:\n  migsched models export --out datasets/models")]
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Model name (see `migsched models`); `bert` is accepted for `bert-base`
    model: String,
    /// Sequence length for BERT (1 to 512)
    #[arg(long, default_value_t = migsched_perf::zoo::DEFAULT_SEQ_LEN)]
    seq_len: u32,
    /// Group consecutive nodes sharing this many leading name components (1: ResNet stages,
    /// 2: blocks, 3: BERT layers)
    #[arg(long, default_value_t = 1, conflicts_with = "nodes")]
    depth: usize,
    /// One row per node
    #[arg(long)]
    nodes: bool,
    /// Print the whole graph as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Directory to write `<model>.json` files into (created if missing)
    #[arg(long, default_value = "datasets/models")]
    out: PathBuf,
    /// Sequence length for BERT
    #[arg(long, default_value_t = migsched_perf::zoo::DEFAULT_SEQ_LEN)]
    seq_len: u32,
}

#[derive(Serialize)]
struct ModelRow {
    name: &'static str,
    aliases: &'static [&'static str],
    description: &'static str,
    input: &'static str,
    nodes: u64,
    params: u64,
    macs_per_sample: u64,
    weight_mib: f64,
    reference_params: u64,
    reference_macs: u64,
    reference_source: &'static str,
}

pub fn run(args: ModelsArgs) -> Result<Outcome> {
    match args.command {
        None => list(args.json),
        Some(ModelsCommand::Show(a)) => show(a),
        Some(ModelsCommand::Export(a)) => export(a),
    }
}

fn list(json: bool) -> Result<Outcome> {
    let mut rows = Vec::new();
    for info in models() {
        let g = build(info.name, &ZooOptions::default())?;
        let t = g.totals();
        rows.push(ModelRow {
            name: info.name,
            aliases: info.aliases,
            description: info.description,
            input: info.input,
            nodes: t.nodes,
            params: t.params,
            macs_per_sample: t.macs_per_sample,
            weight_mib: t.weight_bytes as f64 / (1024.0 * 1024.0),
            reference_params: info.reference.params,
            reference_macs: info.reference.macs,
            reference_source: info.reference.source,
        });
    }
    if json {
        print_json(&rows)?;
        return Ok(Outcome::Yes);
    }
    let mut t = Table::new(&[
        "model",
        "input",
        ">nodes",
        ">Mparams",
        ">GMACs",
        ">published",
        ">fp16 MiB",
        "description",
    ]);
    for r in &rows {
        t.row(vec![
            r.name.to_string(),
            r.input.to_string(),
            r.nodes.to_string(),
            format!("{:.2}", r.params as f64 / 1e6),
            format!("{:.3}", r.macs_per_sample as f64 / 1e9),
            format!(
                "{:.2}M/{:.3}G",
                r.reference_params as f64 / 1e6,
                r.reference_macs as f64 / 1e9
            ),
            format!("{:.1}", r.weight_mib),
            r.description.to_string(),
        ]);
    }
    out!("{}", t.render());
    outln!(
        "\nMACs per sample; `published` is the reference the tests hold each graph to (sources: `migsched models --json`)."
    );
    Ok(Outcome::Yes)
}

fn show(args: ShowArgs) -> Result<Outcome> {
    let info = model_info(&args.model)?;
    let graph = build(
        info.name,
        &ZooOptions {
            seq_len: args.seq_len,
        },
    )?;
    if args.json {
        print_json(&graph)?;
        return Ok(Outcome::Yes);
    }
    let t = graph.totals();
    outln!("{} ({}): {}", info.name, info.input, info.description);
    outln!(
        "  {} nodes, {:.2} M params ({:.1} MiB fp16), {:.3} GMACs and {:.3} GFLOPs per sample",
        t.nodes,
        t.params as f64 / 1e6,
        t.weight_bytes as f64 / (1024.0 * 1024.0),
        t.macs_per_sample as f64 / 1e9,
        t.flops_per_sample as f64 / 1e9
    );
    outln!(
        "  activations per sample: {:.1} MiB written, {:.1} MiB live at peak",
        t.activation_bytes_per_sample as f64 / (1024.0 * 1024.0),
        t.peak_activation_bytes_per_sample as f64 / (1024.0 * 1024.0)
    );
    outln!();
    out!(
        "{}",
        summary_table(&graph, if args.nodes { None } else { Some(args.depth) })
    );
    Ok(Outcome::Yes)
}

fn export(args: ExportArgs) -> Result<Outcome> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating '{}'", args.out.display()))?;
    for info in models() {
        let graph = build(
            info.name,
            &ZooOptions {
                seq_len: args.seq_len,
            },
        )?;
        let mut text = serde_json::to_string_pretty(&graph).context("encoding a graph")?;
        text.push('\n');
        let path = args.out.join(format!("{}.json", info.name));
        write_atomic(&path, &text)?;
        eprintln!("wrote {} ({} nodes)", path.display(), graph.nodes().len());
    }
    Ok(Outcome::Yes)
}
