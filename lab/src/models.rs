//! The model zoo as layer graphs: list, show one, export them all as JSON.

use std::path::Path;

use anyhow::{Context, Result};
use migsched_out::{Outputs, Table, print_json};
use migsched_perf::zoo::{ZooOptions, build, model_info, models, summary_table};
use serde::Serialize;

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

/// Prints the zoo: one row per model, with its totals and the published figures it is held to.
pub fn list_models(json: bool) -> Result<()> {
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
        return Ok(());
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
    Ok(())
}

/// Prints one model's layer graph: totals, then a summary table to `depth` (every node when
/// `depth` is `None`).
pub fn show_model(model: &str, seq_len: u32, depth: Option<usize>, json: bool) -> Result<()> {
    let info = model_info(model)?;
    let graph = build(info.name, &ZooOptions { seq_len })?;
    if json {
        print_json(&graph)?;
        return Ok(());
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
    out!("{}", summary_table(&graph, depth));
    Ok(())
}

/// Writes every model's layer graph as JSON into `dir`.
pub fn export_models(dir: &Path, seq_len: u32) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating '{}'", dir.display()))?;
    // Every graph staged first, then all renamed into place: a failure leaves no partial set.
    let mut outputs = Outputs::new();
    let mut written = Vec::new();
    for info in models() {
        let graph = build(info.name, &ZooOptions { seq_len })?;
        let mut text = serde_json::to_string_pretty(&graph).context("encoding a graph")?;
        text.push('\n');
        let path = dir.join(format!("{}.json", info.name));
        outputs.add(&path, &text)?;
        written.push((path, graph.nodes().len()));
    }
    outputs.commit()?;
    for (path, nodes) in written {
        eprintln!("wrote {} ({nodes} nodes)", path.display());
    }
    Ok(())
}
