//! Integration tests of migsched-verify: the layout checker against core's layout engine on
//! random placements, every solver plan through the plan checker (and hand-broken plans
//! caught), metamorphic laws of the solver, hand-written traces with each rule broken once,
//! and imports of other tools' plans.

mod imports;
mod layout_props;
mod metamorphic;
mod nodes;
mod pipeline;
mod plans;
mod sim_traces;
mod traces;

use migsched_core::{Catalog, Instance, ProfileTable, RawRow};
use proptest::test_runner::Config as ProptestConfig;

/// Case count: `PROPTEST_CASES` when set (deep runs), else a bound that keeps the suite fast.
pub fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

/// The repository root (where `datasets/` is).
pub fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("verify/ has a parent")
        .to_path_buf()
}

/// A made-up profile table for `models` = (name, base latency ms) on `gpu`: latency grows
/// linearly in batch past a per-profile saturation point and with MPS processes, and shrinks
/// with GPCs; memory grows with batch and processes (so large options can exceed a small
/// instance's memory). `+me` profiles copy their plain twin.
pub fn synthetic_table(gpu: &str, models: &[(&str, f64)], with_memory: bool) -> ProfileTable {
    let catalog = Catalog::builtin();
    let g = catalog.gpu(gpu).expect("a catalog GPU");
    let mut rows = Vec::new();
    for &(model, base) in models {
        for p in g.profiles() {
            let gpcs = f64::from(p.compute_slices());
            for batch in [1u32, 2, 4, 8, 16, 32] {
                for procs in 1..=3u32 {
                    let b = f64::from(batch);
                    let k = f64::from(procs);
                    let saturation = 2.0 * gpcs;
                    let latency_ms =
                        base * ((b / saturation).max(1.0) + 0.1 * b) * (1.0 + 0.4 * (k - 1.0))
                            / gpcs.sqrt();
                    rows.push(RawRow {
                        gpu: gpu.to_string(),
                        profile: p.name().to_string(),
                        model: model.to_string(),
                        batch,
                        procs,
                        latency_ms,
                        throughput_rps: k * b * 1000.0 / latency_ms,
                        memory_mib: with_memory.then_some(k * (2000.0 + 250.0 * b)),
                        source: "synthetic".into(),
                        line: None,
                    });
                }
            }
        }
    }
    ProfileTable::from_raw(catalog, rows, "synthetic").expect("a valid synthetic table")
}

/// An instance from TOML text.
pub fn instance(text: &str) -> Instance {
    Instance::from_toml_str(Catalog::builtin(), text, "test.toml", "test").expect("valid TOML")
}
