//! gpulet end to end: `solve --method gpulet|gpulet-ilp|timeshare`, `simulate` of the plan
//! with autoscaling (its trace passes `verify trace`), and `reproduce gpulet --quick`.

use super::{assert_rows, expect, reproduce_quick, tmp, write};

const INSTANCE: &str = r#"
name = "gpulet-mix"
[[gpus]]
type = "a100-80gb"
count = 16
[[models]]
name = "inceptionv3"
slo_ms = 40
rate_rps = 600
[[models]]
name = "bert-base"
slo_ms = 100
rate_rps = 150
[[models]]
name = "mobilenetv2"
slo_ms = 20
rate_rps = 900
"#;

#[test]
fn solve_simulate_with_autoscaling_and_verify_the_trace() {
    let d = tmp("gpulet");
    let inst = write(&d, "mix.toml", INSTANCE);
    let mut used = Vec::new();
    for method in ["gpulet", "gpulet-unaware", "gpulet-ilp", "timeshare"] {
        let plan = d.join(format!("{method}.json"));
        let r = expect(
            &[
                "solve",
                &inst,
                "--method",
                method,
                "-o",
                plan.to_str().unwrap(),
                "--json",
            ],
            0,
        );
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        used.push(v["gpus_used"].as_u64().unwrap());
        let p: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
        for g in p["gpus"].as_array().unwrap() {
            assert_eq!(g["kind"], "mps", "{g}");
            assert!(
                g["gpulets"]
                    .as_array()
                    .is_some_and(|l| (1..=2).contains(&l.len()))
            );
        }
        // D2: the project's own gpulet plans pass `verify plan` by gpulet's rules (they
        // failed it when the split hid in the layout string).
        let r = expect(
            &[
                "verify",
                "plan",
                plan.to_str().unwrap(),
                "--instance",
                &inst,
            ],
            0,
        );
        assert!(r.stdout.contains("no violations"), "{method}: {}", r.stdout);
    }
    // The program is a lower bound on every heuristic.
    assert!(
        used[2] <= used[0] && used[2] <= used[1] && used[2] <= used[3],
        "{used:?}"
    );

    let plan = d.join("gpulet.json");
    let trace = d.join("t.jsonl");
    let report = d.join("r.json");
    let r = expect(
        &[
            "simulate",
            &inst,
            "--plan",
            plan.to_str().unwrap(),
            "--duration",
            "12",
            "--autoscale",
            "--epoch",
            "4",
            "--reconfig-delay",
            "2",
            "--rates",
            "steps:4=2,8=0.5",
            "--trace",
            trace.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        0,
    );
    assert!(r.stdout.contains("autoscaling:"), "{}", r.stdout);
    assert!(r.stdout.contains("SLO attainment"), "{}", r.stdout);
    // D3: the gpulet simulator's report agrees with its trace on every shared metric.
    let v = expect(
        &[
            "verify",
            "trace",
            trace.to_str().unwrap(),
            "--metrics",
            report.to_str().unwrap(),
        ],
        0,
    );
    assert!(v.stdout.contains("no violations"), "{}", v.stdout);
    assert!(!v.stdout.contains("does not define"), "{}", v.stdout);

    // Bad input: unknown method for autoscaling, malformed rates.
    let r = expect(
        &[
            "simulate",
            &inst,
            "--plan",
            plan.to_str().unwrap(),
            "--rates",
            "steps:x",
        ],
        2,
    );
    assert!(r.stderr.contains("--rates"), "{}", r.stderr);
    let r = expect(
        &[
            "solve",
            &inst,
            "--method",
            "gpulet",
            "--mig-parted",
            "m.yaml",
        ],
        2,
    );
    assert!(r.stderr.contains("MPS"), "{}", r.stderr);
}

#[test]
fn reproduce_gpulet_quick() {
    let d = tmp("repro-gpulet");
    let summary = reproduce_quick("gpulet", &d);
    assert_rows(
        &summary,
        &[
            "| inception-bert-mobilenet | gpulet |",
            "| resnet-vgg-densenet | timeshare |",
            "GPU-seconds",
            "+61.7%",
        ],
    );
    for f in [
        "results.csv",
        "results.json",
        "autoscale.csv",
        "peak.svg",
        "peak.png",
        "autoscale.svg",
        "autoscale.png",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let svg = std::fs::read_to_string(d.join("autoscale.svg")).unwrap();
    assert!(svg.contains("gpulet") && svg.contains("timeshare"));
    // `migsched report` renders the same summary and plots from results.json.
    std::fs::remove_file(d.join("summary.md")).unwrap();
    std::fs::remove_file(d.join("autoscale.svg")).unwrap();
    let again = expect(&["report", d.to_str().unwrap()], 0);
    assert_eq!(again.stdout, summary);
    assert_eq!(
        std::fs::read_to_string(d.join("autoscale.svg")).unwrap(),
        svg
    );
}

const MIX: &str = r#"
name = "mix"
[[gpus]]
type = "a100-80gb"
count = 8
[[models]]
name = "resnet50"
slo_ms = 40
rate_rps = 3000
[[models]]
name = "vgg16"
slo_ms = 80
rate_rps = 1000
[[models]]
name = "densenet121"
slo_ms = 50
rate_rps = 2000
"#;

fn gpus_used(args: &[&str]) -> u64 {
    let r = expect(args, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["gpus_used"].as_u64().unwrap()
}

#[test]
fn interference_coefficients_round_trip_and_steer_the_planner() {
    let d = tmp("interference");
    let samples = d.join("s.csv").display().to_string();
    let lab = d.join("lab.toml").display().to_string();
    // The synthetic samples refit to the shipped set.
    expect(
        &[
            "interference",
            "synthesize",
            "--gpu",
            "a100-80gb",
            "-o",
            &samples,
        ],
        0,
    );
    let r = expect(
        &[
            "interference",
            "fit",
            &samples,
            "--gpu",
            "a100-80gb",
            "-o",
            &lab,
            "--json",
        ],
        0,
    );
    let fit: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let shown = expect(&["interference", "show", "--gpu", "a100-80gb", "--json"], 0);
    let shipped: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    for (a, b) in fit["set"]["c"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shipped[0]["c"].as_array().unwrap())
    {
        assert!(
            (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-5,
            "{a} vs {b}"
        );
    }
    let again = expect(&["interference", "show", "--file", &lab, "--json"], 0);
    let written: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(written[0]["c"], fit["set"]["c"]);
    // The planner uses a given set: without interference it co-locates more.
    let inst = write(&d, "mix.toml", MIX);
    let none = write(
        &d,
        "none.toml",
        "[[set]]\ngpu = \"a100-80gb\"\nsource = \"none\"\nc = [0, 0, 0, 0, 1]\n",
    );
    let solve = |extra: &[&str]| {
        let mut args = vec!["solve", inst.as_str(), "--method", "gpulet", "--json"];
        args.extend_from_slice(extra);
        gpus_used(&args)
    };
    let shipped_gpus = solve(&[]);
    assert_eq!(solve(&["--interference", &lab]), shipped_gpus);
    assert!(solve(&["--interference", &none]) < shipped_gpus);
    // ... and so does the simulator: the plan made without interference meets every SLO when
    // simulated without it, and misses some under the shipped set.
    let plan = d.join("p.json").display().to_string();
    expect(
        &[
            "solve",
            &inst,
            "--method",
            "gpulet",
            "--interference",
            &none,
            "-o",
            &plan,
        ],
        0,
    );
    let attainment = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            inst.as_str(),
            "--plan",
            plan.as_str(),
            "--duration",
            "5",
            "--json",
        ];
        args.extend_from_slice(extra);
        let r = expect(&args, 0);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v["slo_attainment"].as_f64().unwrap()
    };
    assert_eq!(attainment(&["--interference", &none]), 1.0);
    assert!(attainment(&[]) < 1.0);
    // A file without the instance's GPU type, or a method without interference: usage.
    let h100 = write(
        &d,
        "h.toml",
        "[[set]]\ngpu = \"h100-80gb\"\nsource = \"none\"\nc = [0, 0, 0, 0, 1]\n",
    );
    let r = expect(
        &[
            "solve",
            &inst,
            "--method",
            "gpulet",
            "--interference",
            &h100,
        ],
        2,
    );
    assert!(
        r.stderr.contains("no set for GPU 'a100-80gb'"),
        "{}",
        r.stderr
    );
    expect(&["solve", &inst, "--interference", &none], 2);
    // Too few samples, and a bad value: unusable input, and nothing written.
    let text = std::fs::read_to_string(&samples).unwrap();
    let few: Vec<&str> = text.lines().take(4).collect();
    let few_path = write(&d, "few.csv", &few.join("\n"));
    let out = d.join("never.toml").display().to_string();
    let r = expect(
        &[
            "interference",
            "fit",
            &few_path,
            "--gpu",
            "a100-80gb",
            "-o",
            &out,
        ],
        2,
    );
    assert!(r.stderr.contains("do not determine"), "{}", r.stderr);
    let bad = write(
        &d,
        "bad.csv",
        &format!("{}\n0.2,0.3,40,0.1,0.2,60,-2\n", few[0]),
    );
    let r = expect(
        &[
            "interference",
            "fit",
            &bad,
            "--gpu",
            "a100-80gb",
            "-o",
            &out,
        ],
        2,
    );
    assert!(
        r.stderr.contains("bad.csv:2: slowdown -2 is not positive"),
        "{}",
        r.stderr
    );
    assert!(!std::path::Path::new(&out).exists());
}

/// Plans of the previous format (`migsched-plan/1`, the split hidden in `layout: "mps:…"`)
/// still read: checked by gpulet's rules and simulated.
#[test]
fn version_1_gpulet_plans_still_read() {
    let d = tmp("gpulet-v1");
    let inst = write(&d, "mix.toml", INSTANCE);
    let old = super::repo().join("verify/tests/fixtures/gpulet-plan-v1.json");
    let old = old.to_str().unwrap();
    let r = expect(&["verify", "plan", old, "--instance", &inst], 0);
    assert!(r.stdout.contains("no violations"), "{}", r.stdout);
    let r = expect(&["simulate", &inst, "--plan", old, "--duration", "2"], 0);
    assert!(r.stdout.contains("SLO attainment"), "{}", r.stdout);
}
