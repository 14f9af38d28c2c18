//! `migsched verify layout|plan|trace` and `migsched plan import parvagpu|mig-parted`, end to
//! end: clean and broken inputs, `--json`, and unusable input (missing, empty, malformed).

use super::{expect, tmp, write};

const FIX: &str = "verify/tests/fixtures";

fn fix(name: &str) -> String {
    format!("{FIX}/{name}")
}

#[test]
fn help_lists_the_commands() {
    let r = expect(&["--help"], 0);
    assert!(
        r.stdout.contains("verify") && r.stdout.contains("plan"),
        "{}",
        r.stdout
    );
    for sub in [
        vec!["verify", "--help"],
        vec!["verify", "layout", "--help"],
        vec!["verify", "plan", "--help"],
        vec!["verify", "trace", "--help"],
        vec!["plan", "import", "parvagpu", "--help"],
        vec!["plan", "import", "mig-parted", "--help"],
    ] {
        let h = expect(&sub, 0);
        assert!(h.stdout.contains("Usage: migsched"), "{sub:?}");
    }
    expect(&["verify"], 2);
    expect(&["verify", "plan"], 2);
}

#[test]
fn verify_layout_of_a_solved_plan_and_of_text_layouts() {
    let d = tmp("verify-layout");
    let plan = d.join("plan.json").display().to_string();
    expect(&["solve", "datasets/instances/small.toml", "-o", &plan], 0);
    let r = expect(&["verify", "layout", &plan], 0);
    assert!(
        r.stdout.contains("ok    gpu 0 (a100-80gb): "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("0 with violations, 0 could not be checked; no violations"),
        "{}",
        r.stdout
    );

    let r = expect(
        &[
            "verify",
            "layout",
            &fix("layouts.txt"),
            "--gpu",
            "a100-80gb",
        ],
        1,
    );
    assert!(
        r.stdout
            .contains("ok    line 2 on a100-80gb: 3g.40gb@0,2g.20gb@4,1g.10gb@6"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "        - 3g.40gb cannot start at memory slice 2; its legal starts are 0, 4 [illegal-start]"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[media-extensions]"), "{}", r.stdout);
    // Before R510 the second line breaks the driver rule too.
    let r = expect(
        &[
            "verify",
            "layout",
            &fix("layouts.txt"),
            "--gpu",
            "a100-80gb",
            "--before-r510",
            "--json",
        ],
        1,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["layouts"][1]["violations"][0]["rule"], "driver-rule");
    assert_eq!(v["layouts"][1]["violations"][0]["entry"], "line 3");

    // Text layouts need a GPU type.
    let r = expect(&["verify", "layout", &fix("layouts.txt")], 2);
    assert!(r.stderr.contains("need --gpu"), "{}", r.stderr);
}

#[test]
fn verify_layout_of_a_mig_parted_config() {
    let r = expect(&["verify", "layout", &fix("mig-parted.yaml")], 1);
    assert!(
        r.stdout
            .contains("ok    balanced[0] devices=[0, 1] on a100-80gb"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("FAIL  too-much[0] devices=all on h100-80gb: 2x 1g.10gb + 2g.20gb + 4g.40gb"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("- the instances use 8 compute slices, but the GPU has 7 [compute-limit]"),
        "{}",
        r.stdout
    );
    // Against another GPU type, the filters exclude every entry.
    let r = expect(
        &[
            "verify",
            "layout",
            &fix("mig-parted.yaml"),
            "--gpu",
            "a30-24gb",
        ],
        0,
    );
    assert!(r.stdout.contains("skip"), "{}", r.stdout);
}

#[test]
fn verify_plan_against_its_instance() {
    let d = tmp("verify-plan");
    let plan = d.join("plan.json").display().to_string();
    expect(&["solve", "datasets/instances/medium.toml", "-o", &plan], 0);
    let r = expect(
        &[
            "verify",
            "plan",
            &plan,
            "--instance",
            "datasets/instances/medium.toml",
        ],
        0,
    );
    assert!(
        r.stdout
            .contains(": no violations; 9 GPUs (9 used, cost 9.00)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("checked against instance medium"),
        "{}",
        r.stdout
    );
    let r = expect(&["verify", "plan", &plan], 0);
    assert!(
        r.stdout.contains("not checked: serving options"),
        "{}",
        r.stdout
    );

    // Break it: claim more served than the instances give, and move an instance.
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["gpus"][0]["instances"][0]["start"] = 1.into();
    v["models"][0]["served_rps"] = 1.0.into();
    let broken = write(
        &d,
        "broken.json",
        &serde_json::to_string_pretty(&v).unwrap(),
    );
    let r = expect(
        &[
            "verify",
            "plan",
            &broken,
            "--instance",
            "datasets/instances/medium.toml",
        ],
        1,
    );
    assert!(r.stdout.contains("[illegal-start]"), "{}", r.stdout);
    assert!(r.stdout.contains("[layout-text]"), "{}", r.stdout);
    assert!(r.stdout.contains("[totals]"), "{}", r.stdout);
    let r = expect(
        &[
            "verify",
            "plan",
            &broken,
            "--instance",
            "datasets/instances/medium.toml",
            "--json",
        ],
        1,
    );
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["ok"], false);
    assert_eq!(j["instance"], "medium");
    assert!(j["violations"].as_array().unwrap().len() >= 3);
}

#[test]
fn verify_plan_of_paris_and_max_load_plans() {
    let d = tmp("verify-paris");
    let plan = d.join("paris.json").display().to_string();
    expect(
        &[
            "solve",
            "datasets/instances/paris.toml",
            "--objective",
            "paris",
            "-o",
            &plan,
        ],
        0,
    );
    let r = expect(
        &[
            "verify",
            "plan",
            &plan,
            "--instance",
            "datasets/instances/paris.toml",
        ],
        0,
    );
    assert!(
        r.stdout.contains("not checked: PARIS routing"),
        "{}",
        r.stdout
    );
    let plan = d.join("load.json").display().to_string();
    expect(
        &[
            "solve",
            "datasets/instances/small.toml",
            "--objective",
            "max-load",
            "-o",
            &plan,
        ],
        0,
    );
    let r = expect(
        &[
            "verify",
            "plan",
            &plan,
            "--instance",
            "datasets/instances/small.toml",
        ],
        0,
    );
    assert!(r.stdout.contains("load factor served: "), "{}", r.stdout);
}

#[test]
fn verify_trace() {
    let r = expect(
        &[
            "verify",
            "trace",
            &fix("elsa.jsonl"),
            "--plan",
            &fix("elsa-plan.json"),
        ],
        0,
    );
    assert!(
        r.stdout.contains("no violations; 16 events, 4 requests (4 finished, 0 dropped, 0 unfinished), scheduler elsa, 4 ELSA dispatches replayed"),
        "{}",
        r.stdout
    );
    let r = expect(&["verify", "trace", &fix("fifs-broken.jsonl")], 1);
    assert!(r.stdout.contains("[work-conservation]"), "{}", r.stdout);
    assert!(r.stdout.contains("[service-time]"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("2 violations (service-time 1, work-conservation 1)"),
        "{}",
        r.stdout
    );
    let r = expect(&["verify", "trace", &fix("fifs-broken.jsonl"), "--json"], 1);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["violations"][0]["rule"], "work-conservation");
    assert_eq!(j["violations"][0]["request"], 3);
    assert_eq!(j["metrics"]["requests"], 5);

    let d = tmp("verify-trace");
    let metrics = write(&d, "m.json", r#"{"requests": 4, "slo_attainment": 0.5}"#);
    let r = expect(
        &["verify", "trace", &fix("elsa.jsonl"), "--metrics", &metrics],
        1,
    );
    assert!(
        r.stdout
            .contains("reports slo_attainment = 0.5, but the trace gives 1 [metrics]"),
        "{}",
        r.stdout
    );
}

#[test]
fn plan_import_parvagpu_then_verify() {
    let d = tmp("import-parva");
    let out = d.join("parva.json").display().to_string();
    let inst = fix("parvagpu-instance.toml");
    let r = expect(
        &[
            "plan",
            "import",
            "parvagpu",
            &fix("parvagpu-deploy.csv"),
            "--instance",
            &inst,
            "-o",
            &out,
        ],
        0,
    );
    assert!(r.stdout.contains("2 GPUs, 6 instances"), "{}", r.stdout);
    expect(&["verify", "plan", &out, "--instance", &inst], 0);
    // Without -o the plan goes to stdout as JSON; the notes to stderr.
    let r = expect(
        &[
            "plan",
            "import",
            "parvagpu",
            &fix("parvagpu-deploy.csv"),
            "--instance",
            &inst,
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["method"], "imported");
    assert!(
        r.stderr.contains("note: node 0 GPU 1 is plan GPU 1"),
        "{}",
        r.stderr
    );

    let bad = d.join("bad.json").display().to_string();
    expect(
        &[
            "plan",
            "import",
            "parvagpu",
            &fix("parvagpu-deploy-illegal.csv"),
            "--instance",
            &inst,
            "-o",
            &bad,
        ],
        0,
    );
    let r = expect(&["verify", "plan", &bad, "--instance", &inst], 1);
    for rule in [
        "[illegal-start]",
        "[overlap]",
        "[unknown-profile]",
        "[serving-limit]",
        "[demand]",
    ] {
        assert!(r.stdout.contains(rule), "{rule}: {}", r.stdout);
    }
}

#[test]
fn plan_import_mig_parted_then_verify() {
    let d = tmp("import-mig");
    let out = d.join("mig.json").display().to_string();
    expect(
        &[
            "plan",
            "import",
            "mig-parted",
            &fix("mig-parted.yaml"),
            "--config",
            "balanced",
            "-o",
            &out,
        ],
        0,
    );
    expect(&["verify", "plan", &out], 0);
    expect(
        &[
            "plan",
            "import",
            "mig-parted",
            &fix("mig-parted.yaml"),
            "--config",
            "too-much",
            "-o",
            &out,
        ],
        0,
    );
    let r = expect(&["verify", "plan", &out], 1);
    assert!(r.stdout.contains("[compute-limit]"), "{}", r.stdout);
    let r = expect(
        &["plan", "import", "mig-parted", &fix("mig-parted.yaml")],
        2,
    );
    assert!(
        r.stderr.contains("choose one with --config"),
        "{}",
        r.stderr
    );
}

#[test]
fn unusable_input_exits_2_without_output() {
    let d = tmp("verify-bad");
    let empty = write(&d, "empty.txt", "");
    let junk_json = write(&d, "junk.json", "{\"format\": ");
    let junk_csv = write(
        &d,
        "junk.csv",
        "Num instance,Num GPU,Model,Placement,Instance size,Batch size,Num proc\n0,0,resnet50,x,3,16,2\n",
    );
    let junk_yaml = write(&d, "junk.yaml", "version: v1\nmig-configs: [\n");
    let junk_trace = write(&d, "junk.jsonl", "{\"format\":\"migsched-trace/1\"}\n");
    let out = d.join("out.json");
    let o = out.display().to_string();
    let inst = fix("parvagpu-instance.toml");
    for (args, needle) in [
        (
            vec!["verify", "plan", "no/such/plan.json"],
            "reading plan 'no/such/plan.json'",
        ),
        (vec!["verify", "plan", &empty], "the file is empty"),
        (vec!["verify", "plan", &junk_json], "not a plan"),
        (vec!["verify", "layout", &empty], "the file is empty"),
        (vec!["verify", "layout", &junk_yaml], "junk.yaml"),
        (vec!["verify", "trace", &empty], "the file is empty"),
        (vec!["verify", "trace", &junk_trace], "not a trace header"),
        (
            vec!["verify", "trace", &fix("elsa.jsonl"), "--plan", &empty],
            "the file is empty",
        ),
        (
            vec![
                "verify",
                "trace",
                &fix("elsa.jsonl"),
                "--metrics",
                &junk_json,
            ],
            "not JSON",
        ),
        (
            vec![
                "verify",
                "plan",
                &fix("elsa-plan.json"),
                "--instance",
                "no/such.toml",
            ],
            "no/such.toml",
        ),
        (
            vec![
                "plan",
                "import",
                "parvagpu",
                &junk_csv,
                "--instance",
                &inst,
                "-o",
                &o,
            ],
            "junk.csv:2: Placement: 'x'",
        ),
        (
            vec![
                "plan",
                "import",
                "parvagpu",
                &empty,
                "--instance",
                &inst,
                "-o",
                &o,
            ],
            "the file is empty",
        ),
        (
            vec![
                "plan",
                "import",
                "parvagpu",
                "no/such.csv",
                "--instance",
                &inst,
                "-o",
                &o,
            ],
            "no/such.csv",
        ),
        (
            vec!["plan", "import", "mig-parted", &junk_yaml, "-o", &o],
            "junk.yaml",
        ),
        (
            vec!["plan", "import", "mig-parted", &empty, "-o", &o],
            "the file is empty",
        ),
    ] {
        let r = expect(&args, 2);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
}
