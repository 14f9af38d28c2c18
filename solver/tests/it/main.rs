//! Integration tests of migsched-solver: every method's plan passes an independent check,
//! the ILP is never worse than a heuristic, and it equals brute force on tiny instances.

mod check;
mod gpulet;
mod methods;
mod oracle;

use migsched_core::{Catalog, Instance, ProfileTable, RawRow};
use migsched_solver::Problem;

/// A synthetic profile table: per model a base latency; latency grows with batch and with
/// processes sharing the instance, and shrinks with GPCs (a knee at 4·GPCs samples). `+me`
/// profiles get the same figures as their plain twins, as in the analytic tables.
pub fn table(gpu: &str, models: &[(&str, f64)]) -> ProfileTable {
    let catalog = Catalog::builtin();
    let g = catalog.gpu(gpu).unwrap();
    let mut rows = Vec::new();
    for &(model, base) in models {
        for p in g.profiles() {
            let k = f64::from(p.compute_slices());
            for batch in [1u32, 2, 4, 8, 16, 32] {
                for procs in 1..=3u32 {
                    let b = f64::from(batch);
                    let latency_ms = base
                        * f64::from(procs).powf(0.8)
                        * (1.0 + b / (4.0 * k))
                        * (7.0 / k).sqrt();
                    let throughput_rps = f64::from(procs) * b / latency_ms * 1000.0;
                    rows.push(RawRow {
                        gpu: gpu.to_string(),
                        profile: p.name().to_string(),
                        model: model.to_string(),
                        batch,
                        procs,
                        latency_ms,
                        throughput_rps,
                        memory_mib: None,
                        source: "synthetic".into(),
                        line: None,
                    });
                }
            }
        }
    }
    ProfileTable::from_raw(catalog, rows, "synthetic").unwrap()
}

/// An instance from TOML text.
pub fn instance(text: &str) -> Instance {
    Instance::from_toml_str(Catalog::builtin(), text, "test.toml", "test").unwrap()
}

/// The problem of an instance over a table.
pub fn problem(instance: &Instance, table: &ProfileTable) -> Problem {
    Problem::new(Catalog::builtin(), instance, table).unwrap()
}
