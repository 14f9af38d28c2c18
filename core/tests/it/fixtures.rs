//! `catalog diff` on every real `nvidia-smi` transcript under `datasets/nvidia-smi/`: each is
//! recognized as the right GPU without `--gpu`, and differs from the catalog exactly where the
//! README says (driver-dependent memory, older names, a profile newer than the driver), with no
//! mismatch. The hand-written pre-R525 fixture differs where it should.

use std::path::PathBuf;

use migsched_core::Catalog;
use migsched_core::nvidia_smi::{
    DiffClass, DiffOptions, diff_catalog, identify_gpu, parse_lgip, parse_lgipp,
};

fn read(dir: &str, file: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../datasets/nvidia-smi")
        .join(dir)
        .join(file);
    std::fs::read_to_string(path).ok()
}

/// The GPU recognized from the files alone, and every difference as `profile field class`.
fn diff(dir: &str, partial: bool, gpu_hint: &str) -> (String, Vec<String>) {
    let lgip_text = read(dir, "lgip.txt");
    let lgipp_text = read(dir, "lgipp.txt");
    let lgip = lgip_text
        .as_deref()
        .map(|t| parse_lgip(t, "lgip.txt").unwrap())
        .unwrap_or_default();
    let lgipp = lgipp_text
        .as_deref()
        .map(|t| parse_lgipp(t, "lgipp.txt").unwrap())
        .unwrap_or_default();
    let texts: Vec<&str> = [lgip_text.as_deref(), lgipp_text.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let gpu = match identify_gpu(Catalog::builtin(), &texts, &lgip, &lgipp) {
        Ok(found) => found.gpu,
        // Placements alone cannot tell the 8-slice GPUs apart: then the test names it.
        Err(e) if lgip.is_empty() => {
            assert!(e.message.contains("name the GPU with --gpu"), "{e}");
            Catalog::builtin().gpu(gpu_hint).unwrap().clone()
        }
        Err(e) => panic!("{dir}: {e}"),
    };
    let options = DiffOptions {
        partial,
        ..DiffOptions::default()
    };
    let diffs = diff_catalog(&gpu, &lgip, &lgipp, &options)
        .iter()
        .map(|d| {
            let class = match d.class {
                DiffClass::Mismatch => "MISMATCH",
                DiffClass::DriverMemory => "driver-memory",
                DiffClass::Alias => "alias",
                DiffClass::NewerProfile => "newer-profile",
            };
            format!("{} {} {class}", d.profile, d.field)
        })
        .collect();
    (gpu.id().to_string(), diffs)
}

#[test]
fn every_real_transcript_matches_the_catalog() {
    // (directory, excerpt?, GPU it must be recognized as, differences expected)
    let cases: &[(&str, bool, &str, &[&str])] = &[
        ("a100-40gb-harvester-pcidevices", false, "a100-40gb", &[]),
        ("a30-24gb-summer-lo", false, "a30-24gb", EXPECT_A30_SUMMER),
        ("h100-80gb-pcie-scaleway", false, "h100-pcie-80gb", &[]),
        ("h100-80gb-sxm-stackhpc", false, "h100-80gb", &[]),
        ("h100-94gb-colfax", false, "h100-94gb", &[]),
        ("h100-94gb-gpu-operator-pr900", true, "h100-94gb", &[]),
        (
            "h100-94gb-harvester-pcidevices-allocated",
            false,
            "h100-94gb",
            EXPECT_NVL_HARVESTER,
        ),
        ("h100-96gb-gh200-cuanschutz", false, "gh200-96gb", &[]),
        ("gh200-144gb-mig-parted-pr139", true, "gh200-144gb", &[]),
        ("h200-141gb-mig-parted-issue120", true, "h200-141gb", &[]),
        (
            "b200-180gb-mig-parted-pr166",
            true,
            "b200-180gb",
            EXPECT_B200_JAN,
        ),
        ("b200-180gb-gpu-operator-pr1351", true, "b200-180gb", &[]),
        (
            "gb200-186gb-hgx-gpu-operator-pr1303",
            true,
            "gb200-186gb",
            EXPECT_GB200_HGX,
        ),
        ("gb200-186gb-mig-parted-issue227", true, "gb200-186gb", &[]),
        ("rtx-pro-6000-kubesimplify", false, "rtx-pro-6000", &[]),
        ("rtx-pro-6000-gke-pr564", true, "rtx-pro-6000", &[]),
        (
            "rtx-pro-6000-bigstack-issue312",
            true,
            "rtx-pro-6000",
            EXPECT_RTX_BIGSTACK,
        ),
    ];
    let mut failures = Vec::new();
    for &(dir, partial, gpu, expected) in cases {
        let got = diff(dir, partial, gpu);
        if got.0 != gpu || got.1 != expected {
            failures.push(format!(
                "{dir}: got {got:?}, expected ({gpu}, {expected:?})"
            ));
        }
        if got.1.iter().any(|d| d.ends_with("MISMATCH")) {
            failures.push(format!("{dir}: a mismatch: {:?}", got.1));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every fixture directory is in the table above or is the hand-written one.
#[test]
fn no_fixture_is_left_unchecked() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/nvidia-smi");
    let src = include_str!("fixtures.rs");
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            let name = entry.file_name().to_string_lossy().to_string();
            assert!(
                src.contains(&format!("\"{name}\"")),
                "{name} is not checked"
            );
        }
    }
}

/// Before R525 (no 2g.12gb+me), with the older 23.50 GiB.
const EXPECT_A30_SUMMER: &[&str] = &[
    "2g.12gb+me profile newer-profile",
    "4g.24gb memory_gib driver-memory",
];
/// Another driver's memory figures (10.62 ... 92.62).
const EXPECT_NVL_HARVESTER: &[&str] = &[
    "1g.12gb memory_gib driver-memory",
    "1g.12gb+me memory_gib driver-memory",
    "1g.24gb memory_gib driver-memory",
    "2g.24gb memory_gib driver-memory",
    "3g.47gb memory_gib driver-memory",
    "4g.47gb memory_gib driver-memory",
    "7g.94gb memory_gib driver-memory",
];
/// January 2025: 22.00 GiB where March 2025 (and the catalog) has 20.50.
const EXPECT_B200_JAN: &[&str] = &[
    "1g.23gb memory_gib driver-memory",
    "1g.23gb+me memory_gib driver-memory",
];
/// The March 2025 board printed 1g.24gb names with 20.00 GiB.
const EXPECT_GB200_HGX: &[&str] = &[
    "1g.23gb name alias",
    "1g.23gb memory_gib driver-memory",
    "1g.23gb+me name alias",
    "1g.23gb+me memory_gib driver-memory",
];
/// Another driver: 23.12 GiB where 610.43.02 prints 23.62.
const EXPECT_RTX_BIGSTACK: &[&str] = &[
    "1g.24gb memory_gib driver-memory",
    "1g.24gb+me memory_gib driver-memory",
    "1g.24gb+gfx memory_gib driver-memory",
];

#[test]
fn the_pre_r525_fixture_lacks_a_profile_newer_than_its_driver() {
    let (gpu, diffs) = diff("a100-40gb-before-r525", false, "");
    assert_eq!(gpu, "a100-40gb");
    assert!(
        diffs.contains(&"1g.10gb profile newer-profile".to_string()),
        "{diffs:?}"
    );
}
