//! `migsched catalog diff|toml`.

use super::{expect, tmp, write};

fn fixture(dir: &str, file: &str) -> String {
    format!("datasets/nvidia-smi/{dir}/{file}")
}

#[test]
fn real_transcripts_are_recognized_and_match() {
    // (directory, flags, GPU it must be recognized as)
    for (dir, partial, id) in [
        ("rtx-pro-6000-kubesimplify", false, "rtx-pro-6000"),
        ("h100-80gb-pcie-scaleway", false, "h100-pcie-80gb"),
        ("h100-80gb-sxm-stackhpc", false, "h100-80gb"),
        ("b200-180gb-gpu-operator-pr1351", true, "b200-180gb"),
    ] {
        let lgip = fixture(dir, "lgip.txt");
        let mut args = vec!["catalog", "diff", "--lgip", lgip.as_str()];
        if partial {
            args.push("--partial");
        }
        let r = expect(&args, 0);
        assert!(
            r.stdout.starts_with("GPU: ") && r.stdout.contains(&format!("({id})")),
            "{dir}: {}",
            r.stdout
        );
        assert!(
            r.stdout.contains("the catalog matches"),
            "{dir}: {}",
            r.stdout
        );
    }
    // -lgipp alone, with the GPU named (placements alone fit every 8-slice GPU).
    let r = expect(
        &[
            "catalog",
            "diff",
            "--gpu",
            "h100-94gb",
            "--lgipp",
            &fixture("h100-94gb-colfax", "lgipp.txt"),
        ],
        0,
    );
    assert!(r.stdout.contains("(-lgipp only)"), "{}", r.stdout);
    let r = expect(
        &[
            "catalog",
            "diff",
            "--lgipp",
            &fixture("h100-94gb-colfax", "lgipp.txt"),
        ],
        2,
    );
    assert!(r.stderr.contains("name the GPU with --gpu"), "{}", r.stderr);
}

#[test]
fn driver_classes_and_mismatches() {
    let dir = "a100-40gb-before-r525";
    let args = [
        "catalog",
        "diff",
        "--lgip",
        &fixture(dir, "lgip.txt"),
        "--lgipp",
        &fixture(dir, "lgipp.txt"),
    ];
    let r = expect(&args, 0);
    assert!(
        r.stdout
            .contains("2 driver-dependent memory figures, 1 profile newer than the driver"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("1g.10gb  profile     present  absent  newer profile"),
        "{}",
        r.stdout
    );
    let mut json = args.to_vec();
    json.push("--json");
    let v: serde_json::Value = serde_json::from_str(&expect(&json, 0).stdout).unwrap();
    assert_eq!(v["matches"], true);
    assert_eq!(v["differences"][0]["class"], "newer-profile");
    // With no tolerance and the wrong GPU named: mismatches, exit 1, singular wording.
    let r = expect(
        &[
            "catalog",
            "diff",
            "--gpu",
            "h100-80gb",
            "--lgip",
            &fixture("h100-80gb-pcie-scaleway", "lgip.txt"),
        ],
        1,
    );
    assert!(r.stdout.contains("sm_count"), "{}", r.stdout);
    let d = tmp("diff-one");
    let one = std::fs::read_to_string(fixture("rtx-pro-6000-kubesimplify", "lgip.txt"))
        .unwrap()
        .replacen("95.12", "90.00", 1);
    let f = write(&d, "one.txt", &one);
    let r = expect(
        &["catalog", "diff", "--lgip", &f, "--memory-tolerance", "0"],
        1,
    );
    assert!(r.stdout.contains("mismatch between"), "{}", r.stdout);
    assert!(!r.stdout.contains("mismatches between"), "{}", r.stdout);
    expect(
        &["catalog", "diff", "--lgip", &f, "--memory-tolerance", "-3%"],
        2,
    );
}

#[test]
fn unreadable_transcripts_exit_2() {
    let d = tmp("diff-bad");
    let empty = write(&d, "empty.txt", "");
    let lgipp = fixture("a30-24gb-summer-lo", "lgipp.txt");
    let r = expect(
        &[
            "catalog", "diff", "--gpu", "a30-24gb", "--lgip", &empty, "--lgipp", &lgipp,
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("empty.txt: no GPU instance profile rows found"),
        "{}",
        r.stderr
    );
    let junk = write(&d, "junk.txt", "No MIG-enabled devices found.\n");
    let lgip = fixture("a30-24gb-summer-lo", "lgip.txt");
    let r = expect(
        &[
            "catalog", "diff", "--gpu", "a30-24gb", "--lgip", &lgip, "--lgipp", &junk,
        ],
        2,
    );
    assert!(
        r.stderr.contains("junk.txt: no placement rows found"),
        "{}",
        r.stderr
    );
    expect(&["catalog", "diff", "--gpu", "a30-24gb"], 2);
}

#[test]
fn builtin_catalog_prints_as_toml_that_loads_back() {
    let r = expect(&["catalog", "toml"], 0);
    let d = tmp("toml");
    let f = write(&d, "copy.toml", &r.stdout);
    expect(&["--catalog", &f, "gpus", "h100-80gb"], 0);
}
