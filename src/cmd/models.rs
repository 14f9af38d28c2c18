//! `migsched models`: the model zoo as layer graphs (list, show, export as JSON).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use migsched_lab::models::{export_models, list_models, show_model};

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

pub fn run(args: ModelsArgs) -> Result<Outcome> {
    match args.command {
        None => list_models(args.json)?,
        Some(ModelsCommand::Show(a)) => {
            show_model(&a.model, a.seq_len, (!a.nodes).then_some(a.depth), a.json)?
        }
        Some(ModelsCommand::Export(a)) => export_models(&a.out, a.seq_len)?,
    }
    Ok(Outcome::Yes)
}
