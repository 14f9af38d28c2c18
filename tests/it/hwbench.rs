//! `migsched hwbench discover|diff` on recorded device states (no GPU needed).

use super::{expect, tmp, write};

const A100: &str = "hwbench/tests/fixtures/a100-80gb-mig.json";
const H100: &str = "hwbench/tests/fixtures/h100-80gb-nomig.json";
const A100_R470: &str = "hwbench/tests/fixtures/a100-40gb-r470.json";

fn plan(gpus: &str) -> String {
    format!(
        r#"{{ "format": "migsched-plan/1", "instance": "t", "method": "ilp",
  "objective": "min-gpus", "gpus": [{gpus}], "models": [], "gpus_used": 1, "cost": 1.0 }}"#
    )
}

fn gpu(index: u32, ty: &str, layout: &str) -> String {
    format!(r#"{{ "index": {index}, "type": "{ty}", "layout": "{layout}", "instances": [] }}"#)
}

#[test]
fn discover_a_recorded_state() {
    let r = expect(&["hwbench", "discover", "--state", A100], 0);
    assert!(
        r.stdout.contains("GPU 0  NVIDIA A100-SXM4-80GB"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("MIG enabled; layout 2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("MIG-8a6b0c1d-0000-5000-8000-000000000009")
    );
    assert!(r.stdout.contains("4242"));
    assert!(r.stdout.contains("catalog: agrees"));

    let r = expect(&["hwbench", "discover", "--state", H100], 0);
    assert!(r.stdout.contains("MIG disabled"), "{}", r.stdout);
    assert!(r.stdout.contains("777 (tritonserver)"), "{}", r.stdout);

    let r = expect(&["hwbench", "discover", "--state", A100_R470, "--json"], 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["catalog"][0]["differences"][0]["subject"], "1g.10gb");
    assert_eq!(v["state"]["driver_version"], "470.82.01");
}

#[test]
fn discover_writes_a_snapshot_that_reads_back() {
    let dir = tmp("hwbench-save");
    let out = dir.join("state.json").display().to_string();
    let first = expect(&["hwbench", "discover", "--state", A100, "-o", &out], 0);
    let again = expect(&["hwbench", "discover", "--state", &out], 0);
    assert_eq!(first.stdout, again.stdout);
}

#[test]
fn diff_prints_the_steps_and_exits_1() {
    let dir = tmp("hwbench-diff");
    let p = write(
        &dir,
        "plan.json",
        &plan(&gpu(0, "a100-80gb", "3g.40gb@0,3g.40gb@4")),
    );
    let r = expect(&["hwbench", "diff", &p, "--state", A100], 1);
    let want = "\
GPU 0 (a100-80gb): now 2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4; plan 3g.40gb@0,3g.40gb@4
  keep     3g.40gb@4 (GI 2)
  destroy  2g.20gb@0 (GI 3)
  destroy  1g.10gb@2 (GI 9) - busy: processes 4242
  destroy  1g.10gb@3 (GI 10)
  create   3g.40gb@0

steps (as root, in this order):
  nvidia-smi mig -i 0 -gi 3 -ci 0 -dci
  nvidia-smi mig -i 0 -gi 9 -ci 0 -dci
  nvidia-smi mig -i 0 -gi 10 -ci 0 -dci
  nvidia-smi mig -i 0 -gi 3 -dgi
  nvidia-smi mig -i 0 -gi 9 -dgi
  nvidia-smi mig -i 0 -gi 10 -dgi
  nvidia-smi mig -i 0 -cgi 9:0 -C
";
    assert_eq!(r.stdout, want);
    let j = expect(&["hwbench", "diff", &p, "--state", A100, "--json"], 1);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["matches"], false);
    assert_eq!(v["gpus"][0]["steps"][6]["action"], "create-gi");

    let same = write(
        &dir,
        "same.json",
        &plan(&gpu(
            0,
            "a100-80gb",
            "3g.40gb@4,2g.20gb@0,1g.10gb@2,1g.10gb@3",
        )),
    );
    let r = expect(&["hwbench", "diff", &same, "--state", A100], 0);
    assert!(r.stdout.contains("matches the plan"), "{}", r.stdout);
}

#[test]
fn diff_reports_gpus_that_cannot_reach_the_plan() {
    let dir = tmp("hwbench-unreach");
    let p = write(
        &dir,
        "plan.json",
        &plan(&format!(
            "{}, {}",
            gpu(0, "a100-80gb", "7g.80gb@0"),
            gpu(1, "h100-80gb", "7g.80gb@0")
        )),
    );
    let r = expect(&["hwbench", "diff", &p, "--state", H100], 1);
    assert!(r.stdout.contains("GPU 0 is a h100-80gb"), "{}", r.stdout);
    assert!(r.stdout.contains("no GPU with index 1"), "{}", r.stdout);
    assert!(!r.stdout.contains("steps"), "{}", r.stdout);
}

#[test]
fn diff_writes_a_mig_parted_config() {
    let dir = tmp("hwbench-parted");
    let p = write(
        &dir,
        "plan.json",
        &plan(&gpu(0, "a100-80gb", "3g.40gb@0,3g.40gb@4")),
    );
    let r = expect(&["hwbench", "diff", &p, "--mig-parted"], 0);
    let cfg = write(&dir, "config.yaml", &r.stdout);
    assert!(r.stdout.contains("\"3g.40gb\": 2"), "{}", r.stdout);
    expect(&["mig-parted", "check", &cfg], 0);
}

#[test]
fn apply_needs_yes_and_a_live_machine() {
    let dir = tmp("hwbench-apply");
    let p = write(&dir, "plan.json", &plan(&gpu(0, "a100-80gb", "7g.80gb@0")));
    let r = expect(&["hwbench", "diff", &p, "--apply"], 2);
    assert!(r.stderr.contains("add --yes"), "{}", r.stderr);
    let r = expect(
        &["hwbench", "diff", &p, "--state", A100, "--apply", "--yes"],
        2,
    );
    assert!(
        r.stderr.contains("cannot be used with --state"),
        "{}",
        r.stderr
    );
    expect(&["hwbench", "diff", &p, "--yes"], 2);
}

#[test]
fn bad_input_is_named() {
    let dir = tmp("hwbench-bad");
    let good = write(&dir, "plan.json", &plan(&gpu(0, "a100-80gb", "7g.80gb@0")));
    let cases = [
        (write(&dir, "empty.json", ""), A100.to_string(), "empty"),
        (
            write(
                &dir,
                "illegal.json",
                &plan(&gpu(0, "a100-80gb", "7g.80gb@0,1g.10gb@0")),
            ),
            A100.to_string(),
            "layout '7g.80gb@0,1g.10gb@0'",
        ),
        (
            write(
                &dir,
                "unknown.json",
                &plan(&gpu(0, "a100-80gb", "3g.20gb@0")),
            ),
            A100.to_string(),
            "3g.20gb",
        ),
        (
            good.clone(),
            write(&dir, "state.json", "{\"format\": \"x\"}"),
            "state.json",
        ),
        (
            good.clone(),
            dir.join("absent.json").display().to_string(),
            "absent.json",
        ),
    ];
    for (plan, state, want) in cases {
        let r = expect(&["hwbench", "diff", &plan, "--state", &state], 2);
        assert!(r.stderr.contains(want), "want '{want}': {}", r.stderr);
    }
}

#[test]
fn live_commands_say_there_is_no_driver() {
    if migsched_hwbench::nvml::driver_present() {
        eprintln!("skipped: an NVIDIA driver is present on this machine");
        return;
    }
    let dir = tmp("hwbench-nodriver");
    let p = write(&dir, "plan.json", &plan(&gpu(0, "a100-80gb", "7g.80gb@0")));
    for args in [
        vec!["hwbench", "discover"],
        vec!["hwbench", "diff", &p],
        vec!["hwbench", "diff", &p, "--apply", "--yes"],
    ] {
        let r = expect(&args, 2);
        assert!(
            r.stderr.contains("no NVIDIA driver"),
            "{args:?}: {}",
            r.stderr
        );
    }
}
