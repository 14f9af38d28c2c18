//! ParvaGPU's deployment CSV (`deployment/SLO<k>/SLO<k>_ParvaGPU_deploy.csv`) as a migsched
//! plan, so ParvaGPU's placements can be verified like migsched's own.
//!
//! | column | meaning | becomes |
//! |---|---|---|
//! | `Num instance` | node index | with `Num GPU`, the GPU's identity |
//! | `Num GPU` | GPU index within the node | GPUs are numbered in (node, GPU) order |
//! | `Model` | model name | `model` (as written) |
//! | `Placement` | start, in memory slices | `start` |
//! | `Instance size` | GPCs | `profile`: the GPU's non-`+me` profile with that many compute slices and the fewest memory slices (`<n>g` when there is none) |
//! | `Batch size` | batch | `batch` |
//! | `Num proc` | MPS processes | `procs` |
//!
//! An import records what the file says, legal or not, and never repairs it: an illegal
//! start, an overlap or an unknown size comes through for the checkers to report. Latency and
//! throughput come from the instance's profile table where it has the row (ParvaGPU's file
//! does not carry them); demand, SLOs and GPU costs from the instance. Only unreadable input
//! fails: a wrong header, a row with the wrong number of cells, or a cell that is not a
//! whole number of the right range.

use std::collections::BTreeMap;

use migsched_core::import::parvagpu::profile_for_size;
use migsched_core::{GpuType, Instance, MigGpu, Objective, PlanInstance, ProfileKey, ProfileTable};

use super::{Imported, finish_plan};
use crate::error::InputError;
use crate::layout::{PlacedInstance, layout_text};

/// The header of a ParvaGPU deployment file, cell by cell.
pub const DEPLOY_HEADER: [&str; 7] = [
    "Num instance",
    "Num GPU",
    "Model",
    "Placement",
    "Instance size",
    "Batch size",
    "Num proc",
];

/// One row of a deployment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRow {
    /// 1-based line.
    pub line: usize,
    /// Node index.
    pub node: u32,
    /// GPU index within the node.
    pub gpu: u32,
    /// Model name.
    pub model: String,
    /// Start, in memory slices.
    pub placement: u8,
    /// Instance size, GPCs.
    pub size: u8,
    /// Batch size.
    pub batch: u32,
    /// MPS processes.
    pub procs: u32,
}

/// Reads a deployment file's rows.
pub fn parse_deploy(text: &str, origin: &str) -> Result<Vec<DeployRow>, InputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, header)) = lines.next() else {
        return Err(InputError::new(
            origin,
            format!(
                "the file is empty; a ParvaGPU deployment starts with the header '{}'",
                DEPLOY_HEADER.join(",")
            ),
        ));
    };
    let cells: Vec<&str> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    if cells != DEPLOY_HEADER {
        return Err(InputError::at_line(
            origin,
            hline,
            format!(
                "header '{}' is not ParvaGPU's '{}'",
                header.trim(),
                DEPLOY_HEADER.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    for (line, text) in lines {
        let cells: Vec<&str> = text.split(',').map(str::trim).collect();
        if cells.len() != DEPLOY_HEADER.len() {
            return Err(InputError::at_line(
                origin,
                line,
                format!(
                    "{} cells, but the header has {}",
                    cells.len(),
                    DEPLOY_HEADER.len()
                ),
            ));
        }
        fn num<T: std::str::FromStr>(
            origin: &str,
            line: usize,
            col: usize,
            cell: &str,
        ) -> Result<T, InputError> {
            cell.parse::<T>().map_err(|_| {
                InputError::at_line(
                    origin,
                    line,
                    format!("'{cell}' is not a whole number in range"),
                )
                .with_field(DEPLOY_HEADER[col])
            })
        }
        if cells[2].is_empty() {
            return Err(InputError::at_line(origin, line, "the model name is empty")
                .with_field(DEPLOY_HEADER[2]));
        }
        rows.push(DeployRow {
            line,
            node: num(origin, line, 0, cells[0])?,
            gpu: num(origin, line, 1, cells[1])?,
            model: cells[2].to_string(),
            placement: num(origin, line, 3, cells[3])?,
            size: num(origin, line, 4, cells[4])?,
            batch: num(origin, line, 5, cells[5])?,
            procs: num(origin, line, 6, cells[6])?,
        });
    }
    Ok(rows)
}

/// Imports a ParvaGPU deployment as a plan of `gpu` GPUs for `instance`, with figures from
/// `table` where it has the row.
pub fn import_parvagpu(
    text: &str,
    origin: &str,
    gpu: &GpuType,
    instance: &Instance,
    table: &ProfileTable,
) -> Result<Imported, InputError> {
    let rows = parse_deploy(text, origin)?;
    let mut notes = Vec::new();
    let mut by_gpu: BTreeMap<(u32, u32), Vec<&DeployRow>> = BTreeMap::new();
    for r in &rows {
        by_gpu.entry((r.node, r.gpu)).or_default().push(r);
    }
    let cost = match instance.gpus.iter().find(|p| p.gpu == gpu.id()) {
        Some(p) => p.cost,
        None => {
            notes.push(format!(
                "instance '{}' has no {} pool; each GPU is costed 1",
                instance.name,
                gpu.id()
            ));
            1.0
        }
    };
    let mut gpus = Vec::new();
    let mut missing = 0;
    let mut unknown_sizes: Vec<u8> = Vec::new();
    for (index, ((node, g), rows)) in by_gpu.iter().enumerate() {
        let mut instances: Vec<PlanInstance> = Vec::new();
        for r in rows {
            let profile = match profile_for_size(gpu, r.size) {
                Some(p) => p.name().to_string(),
                None => {
                    if !unknown_sizes.contains(&r.size) {
                        unknown_sizes.push(r.size);
                    }
                    format!("{}g", r.size)
                }
            };
            let row = table.get(&ProfileKey {
                gpu: gpu.id().to_string(),
                profile: profile.clone(),
                model: r.model.clone(),
                batch: r.batch,
                procs: r.procs,
            });
            if row.is_none() {
                missing += 1;
            }
            instances.push(PlanInstance {
                profile,
                start: r.placement,
                model: Some(r.model.clone()),
                batch: Some(r.batch),
                procs: Some(r.procs),
                latency_ms: row.map(|x| x.latency_ms),
                throughput_rps: row.map(|x| x.throughput_rps),
            });
        }
        instances.sort_by_key(|i| i.start);
        let placed: Vec<PlacedInstance> = instances
            .iter()
            .map(|i| PlacedInstance::new(&i.profile, i.start))
            .collect();
        gpus.push(MigGpu {
            index: index as u32,
            gpu: gpu.id().to_string(),
            layout: layout_text(&placed),
            instances,
        });
        notes.push(format!("node {node} GPU {g} is plan GPU {index}"));
    }
    if !unknown_sizes.is_empty() {
        notes.push(format!(
            "{} has no profile of {} GPC(s); recorded as '<n>g'",
            gpu.id(),
            unknown_sizes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if missing > 0 {
        notes.push(format!(
            "{missing} instance(s) have no row in the profile table: no latency or throughput \
             recorded"
        ));
    }
    let plan = finish_plan(
        &instance.name,
        Some(Objective::MinGpus),
        gpus,
        &instance.models,
        cost,
    );
    Ok(Imported { plan, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_with_their_lines() {
        let rows = parse_deploy(
            "Num instance,Num GPU,Model,Placement,Instance size,Batch size,Num proc\r\n\
             0,1,resnet50,4,3,16,2\r\n\n",
            "d.csv",
        )
        .unwrap();
        assert_eq!(
            rows,
            [DeployRow {
                line: 2,
                node: 0,
                gpu: 1,
                model: "resnet50".into(),
                placement: 4,
                size: 3,
                batch: 16,
                procs: 2
            }]
        );
    }

    #[test]
    fn unreadable_input_names_line_and_column() {
        let h = "Num instance,Num GPU,Model,Placement,Instance size,Batch size,Num proc\n";
        let err = |t: &str| parse_deploy(t, "d.csv").unwrap_err().to_string();
        assert_eq!(
            err(""),
            "d.csv: the file is empty; a ParvaGPU deployment starts with the header 'Num \
             instance,Num GPU,Model,Placement,Instance size,Batch size,Num proc'"
        );
        assert!(err("a,b\n").starts_with("d.csv:1: header 'a,b' is not ParvaGPU's"));
        assert_eq!(
            err(&format!("{h}0,0,vgg16,2,2,32\n")),
            "d.csv:2: 6 cells, but the header has 7"
        );
        assert_eq!(
            err(&format!("{h}0,0,vgg16,two,2,32,1\n")),
            "d.csv:2: Placement: 'two' is not a whole number in range"
        );
        assert_eq!(
            err(&format!("{h}0,0,vgg16,300,2,32,1\n")),
            "d.csv:2: Placement: '300' is not a whole number in range"
        );
        assert_eq!(
            err(&format!("{h}0,-1,vgg16,0,2,32,1\n")),
            "d.csv:2: Num GPU: '-1' is not a whole number in range"
        );
        assert_eq!(
            err(&format!("{h}0,0,,0,2,32,1\n")),
            "d.csv:2: Model: the model name is empty"
        );
        assert!(parse_deploy(h, "d.csv").unwrap().is_empty());
    }
}
