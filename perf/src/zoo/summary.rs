//! A short human summary of a model graph, per node or per group of nodes, for display.

use serde::Serialize;

use super::graph::ModelGraph;

/// One line of a summary: a node, or a run of consecutive nodes sharing a name prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    /// Node name, or the shared prefix of the group (`layer3.2`).
    pub name: String,
    /// The node's op label, or `N nodes` for a group.
    pub op: String,
    /// Output shape of the node, or of the group's last node.
    pub output_shape: String,
    /// Nodes in the row.
    pub nodes: u64,
    /// Multiply-accumulates per sample.
    pub macs_per_sample: u64,
    /// Learnable parameters.
    pub params: u64,
}

/// The first `depth` dot-separated components of a node name.
fn prefix(name: &str, depth: usize) -> &str {
    match name.match_indices('.').nth(depth.saturating_sub(1)) {
        Some((at, _)) if depth > 0 => &name[..at],
        _ => name,
    }
}

/// Rows in execution order. With `group_depth` None, one row per node; with `Some(d)`, one row
/// per run of consecutive nodes whose names share their first `d` components (`Some(1)` gives
/// ResNet's stages `layer1`..`layer4`; `Some(2)` its blocks, DenseNet's dense blocks;
/// `Some(3)` BERT's encoder layers).
pub fn summary_rows(graph: &ModelGraph, group_depth: Option<usize>) -> Vec<SummaryRow> {
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut open_key: Option<&str> = None;
    for node in graph.nodes() {
        let key = group_depth.map(|depth| prefix(node.name(), depth));
        let extends = key.is_some() && key == open_key;
        match rows.last_mut() {
            Some(row) if extends => {
                row.nodes += 1;
                row.op = format!("{} nodes", row.nodes);
                row.output_shape = node.output_shape().to_string();
                row.macs_per_sample = row.macs_per_sample.saturating_add(node.macs_per_sample());
                row.params = row.params.saturating_add(node.weight_params());
            }
            _ => rows.push(SummaryRow {
                name: key.unwrap_or(node.name()).to_string(),
                op: node.op().to_string(),
                output_shape: node.output_shape().to_string(),
                nodes: 1,
                macs_per_sample: node.macs_per_sample(),
                params: node.weight_params(),
            }),
        }
        open_key = key;
    }
    rows
}

/// A millions figure with one decimal for MACs and params columns.
fn millions(value: u64) -> String {
    format!("{:.1}", value as f64 / 1e6)
}

/// The rows of [`summary_rows`] as an aligned text table with a total line, MACs and params in
/// millions.
pub fn summary_table(graph: &ModelGraph, group_depth: Option<usize>) -> String {
    let rows = summary_rows(graph, group_depth);
    let totals = graph.totals();
    let header = ["name", "op", "output", "MMACs", "Mparams"].map(String::from);
    let mut lines: Vec<[String; 5]> = vec![header];
    for row in &rows {
        lines.push([
            row.name.clone(),
            row.op.clone(),
            row.output_shape.clone(),
            millions(row.macs_per_sample),
            millions(row.params),
        ]);
    }
    lines.push([
        format!("total ({})", graph.name()),
        format!("{} nodes", totals.nodes),
        String::new(),
        millions(totals.macs_per_sample),
        millions(totals.params),
    ]);
    let mut widths = [0usize; 5];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let text = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}",
            line[0],
            line[1],
            line[2],
            line[3],
            line[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        );
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::{ZooOptions, build};

    #[test]
    fn prefixes_cut_at_dots() {
        assert_eq!(prefix("layer3.2.conv2", 1), "layer3");
        assert_eq!(prefix("layer3.2.conv2", 2), "layer3.2");
        assert_eq!(prefix("layer3.2.conv2", 5), "layer3.2.conv2");
        assert_eq!(prefix("fc", 2), "fc");
        assert_eq!(prefix("fc", 0), "fc");
    }

    #[test]
    fn stage_rows_add_up_to_the_totals() {
        let graph = build("resnet50", &ZooOptions::default()).unwrap();
        let rows = summary_rows(&graph, Some(1));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                "avgpool", "fc"
            ]
        );
        let totals = graph.totals();
        assert_eq!(
            rows.iter().map(|r| r.macs_per_sample).sum::<u64>(),
            totals.macs_per_sample
        );
        assert_eq!(rows.iter().map(|r| r.params).sum::<u64>(), totals.params);
        assert_eq!(rows.iter().map(|r| r.nodes).sum::<u64>(), totals.nodes);
        assert_eq!(summary_rows(&graph, None).len() as u64, totals.nodes);
    }

    #[test]
    fn table_is_aligned_and_ends_with_the_total() {
        let graph = build("mobilenetv2", &ZooOptions::default()).unwrap();
        let table = summary_table(&graph, Some(2));
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("name"), "{table}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("features.2 ") && l.contains("[24,56,56]")),
            "{table}"
        );
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("total (mobilenetv2)") && last.ends_with("3.5"),
            "{table}"
        );
    }
}
