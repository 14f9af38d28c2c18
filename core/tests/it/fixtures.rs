//! The `nvidia-smi` fixtures under `datasets/nvidia-smi/` agree with the catalog, and the
//! drifted one (a driver before R525) differs exactly where it should.

use std::path::PathBuf;

use migsched_core::Catalog;
use migsched_core::nvidia_smi::{diff_catalog, parse_lgip, parse_lgipp};

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets/nvidia-smi")
        .join(name)
}

fn diff(gpu: &str, fixture: &str) -> Vec<String> {
    let read = |f: &str| std::fs::read_to_string(dir(fixture).join(f)).unwrap();
    let lgip = parse_lgip(&read("lgip.txt"), "lgip.txt").unwrap();
    let lgipp = parse_lgipp(&read("lgipp.txt"), "lgipp.txt").unwrap();
    diff_catalog(Catalog::builtin().gpu(gpu).unwrap(), &lgip, &lgipp)
        .iter()
        .map(|d| format!("{} {}", d.profile, d.field))
        .collect()
}

#[test]
fn every_catalog_gpu_has_a_matching_fixture() {
    for gpu in Catalog::builtin().gpus() {
        assert_eq!(
            diff(gpu.id(), gpu.id()),
            Vec::<String>::new(),
            "{}",
            gpu.id()
        );
    }
}

#[test]
fn fixtures_of_one_gpu_differ_from_another() {
    assert!(diff("a100-80gb", "a100-40gb").len() > 7);
    assert_eq!(
        diff("a100-40gb", "a100-40gb-before-r525"),
        ["1g.10gb profile"]
    );
}
