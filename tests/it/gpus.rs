//! `migsched gpus`.

use super::{expect, tmp, write};

#[test]
fn lists_the_catalog() {
    let r = expect(&["gpus"], 0);
    for id in [
        "a100-40gb",
        "a100-80gb",
        "h100-80gb",
        "h100-94gb",
        "h200-141gb",
        "a30-24gb",
        "b200-180gb",
        "gb200-186gb",
        "rtx-pro-6000",
    ] {
        assert!(r.stdout.contains(id), "{id}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&expect(&["gpus", "--json"], 0).stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 17);
    assert_eq!(v[0]["profiles"][0]["name"], "1g.5gb");
}

#[test]
fn shows_one_gpu_by_id_or_printed_name() {
    let r = expect(&["gpus", "h100-80gb"], 0);
    assert!(
        r.stdout
            .contains("3g.40gb      9     3           4   60  39.50    2  0,4"),
        "{}",
        r.stdout
    );
    let by_name = expect(&["gpus", "NVIDIA H100 80GB HBM3"], 0);
    assert_eq!(by_name.stdout, r.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&expect(&["gpus", "a100-40gb", "--json"], 0).stdout).unwrap();
    assert_eq!(v["id"], "a100-40gb");
    assert_eq!(v["sm_count"], 108);
    assert!(v["maximal_layouts"].as_u64().unwrap() > 19);
}

#[test]
fn unconfirmed_figures_are_flagged() {
    let r = expect(&["gpus", "b300-288gb"], 0);
    assert!(
        r.stdout.contains("not confirmed on hardware: sm_count"),
        "{}",
        r.stdout
    );
}

#[test]
fn unknown_gpu() {
    let r = expect(&["gpus", "v100"], 2);
    assert_eq!(
        r.stderr.trim(),
        "error: unknown GPU 'v100'; known GPUs: a100-40gb, a100-80gb, h100-80gb, h100-94gb, h200-141gb, \
         a30-24gb, h100-pcie-80gb, gh200-96gb, h20-96gb, gh200-144gb, b200-180gb, gb200-186gb, \
         b300-288gb, gb300-288gb, rtx-pro-6000, rtx-pro-5000, rtx-pro-4500"
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn user_catalog_adds_a_gpu() {
    let d = tmp("catalog");
    let toml = r#"
[[gpu]]
id = "toy-2g"
name = "Toy GPU"
compute_slices = 2
memory_slices = 2
sm_count = 20
memory_gib = 8.0
[[gpu.profile]]
name = "1g.4gb"
nvml_id = 1
compute_slices = 1
memory_slices = 1
sm_count = 10
memory_gib = 4.0
max_count = 2
starts = [0, 1]
"#;
    let f = write(&d, "extra.toml", toml);
    let r = expect(&["--catalog", &f, "gpus"], 0);
    assert!(r.stdout.contains("toy-2g"));
    let r = expect(
        &["--catalog", &f, "layouts", "--gpu", "toy-2g", "--maximal"],
        0,
    );
    assert!(r.stdout.contains("1g.4gb@0,1g.4gb@1"), "{}", r.stdout);

    let bad = write(
        &d,
        "bad.toml",
        &toml.replace("starts = [0, 1]", "starts = [0, 5]"),
    );
    let r = expect(&["--catalog", &bad, "gpus"], 2);
    assert!(
        r.stderr.contains("bad.toml: gpu 'toy-2g' profile '1g.4gb': starts: start 5 + size 1 exceeds the 2 memory slices"),
        "{}",
        r.stderr
    );
    let empty = write(&d, "empty.toml", "");
    assert!(
        expect(&["--catalog", &empty, "gpus"], 2)
            .stderr
            .contains("empty.toml: no [[gpu]] entries")
    );
    let r = expect(&["--catalog", "/no/such/file.toml", "gpus"], 2);
    assert!(
        r.stderr.contains("reading catalog '/no/such/file.toml'"),
        "{}",
        r.stderr
    );
}
