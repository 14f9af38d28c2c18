//! `migsched catalog diff|toml`.

use super::{expect, tmp, write};

fn fixture(dir: &str, file: &str) -> String {
    format!("datasets/nvidia-smi/{dir}/{file}")
}

#[test]
fn shipped_fixtures_match_the_catalog() {
    for id in [
        "a100-40gb",
        "a100-80gb",
        "h100-80gb",
        "h100-94gb",
        "h200-141gb",
        "a30-24gb",
    ] {
        let r = expect(
            &[
                "catalog",
                "diff",
                "--gpu",
                id,
                "--lgip",
                &fixture(id, "lgip.txt"),
                "--lgipp",
                &fixture(id, "lgipp.txt"),
            ],
            0,
        );
        assert!(
            r.stdout.starts_with("the catalog matches"),
            "{id}: {}",
            r.stdout
        );
    }
}

#[test]
fn differences_are_listed_and_exit_1() {
    let dir = "a100-40gb-before-r525";
    let args = [
        "catalog",
        "diff",
        "--gpu",
        "a100-40gb",
        "--lgip",
        &fixture(dir, "lgip.txt"),
        "--lgipp",
        &fixture(dir, "lgipp.txt"),
    ];
    let r = expect(&args, 1);
    assert!(
        r.stdout.contains("  0  1g.10gb  profile  present  absent"),
        "{}",
        r.stdout
    );
    let mut json = args.to_vec();
    json.push("--json");
    let v: serde_json::Value = serde_json::from_str(&expect(&json, 1).stdout).unwrap();
    assert_eq!(v["matches"], false);
    assert_eq!(v["differences"][0]["field"], "profile");
    // The wrong GPU type: many differences.
    let r = expect(
        &[
            "catalog",
            "diff",
            "--gpu",
            "h100-80gb",
            "--lgip",
            &fixture("a100-80gb", "lgip.txt"),
            "--lgipp",
            &fixture("a100-80gb", "lgipp.txt"),
        ],
        1,
    );
    assert!(r.stdout.contains("sm_count"), "{}", r.stdout);
}

#[test]
fn unreadable_transcripts_exit_2() {
    let d = tmp("diff-bad");
    let empty = write(&d, "empty.txt", "");
    let lgipp = fixture("a30-24gb", "lgipp.txt");
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
    let lgip = fixture("a30-24gb", "lgip.txt");
    let r = expect(
        &[
            "catalog", "diff", "--gpu", "a30-24gb", "--lgip", &lgip, "--lgipp", &junk,
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("junk.txt:1: expected 'GPU <n> Profile ID <id>"),
        "{}",
        r.stderr
    );
}

#[test]
fn builtin_catalog_prints_as_toml_that_loads_back() {
    let r = expect(&["catalog", "toml"], 0);
    let d = tmp("toml");
    let f = write(&d, "copy.toml", &r.stdout);
    expect(&["--catalog", &f, "gpus", "h100-80gb"], 0);
}
