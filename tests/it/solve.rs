//! `migsched solve` and `migsched compare` on the bundled instances.

use super::{expect, tmp, write};

#[test]
fn bundled_instances_solve_to_proven_optima() {
    for name in ["small", "medium", "large", "hetero"] {
        let path = format!("datasets/instances/{name}.toml");
        let r = expect(&["solve", &path, "--json"], 0);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        for key in [
            "status",
            "method",
            "objective",
            "objective_value",
            "bound",
            "gap",
            "gpus_used",
            "solve_seconds",
            "plan",
        ] {
            assert!(v.get(key).is_some(), "{name}: missing {key}");
        }
        assert_eq!(v["status"], "optimal", "{name}");
        assert_eq!(v["objective_value"], v["bound"], "{name}");
        assert_eq!(v["plan"]["format"], "migsched-plan/2");
    }
}

#[test]
fn text_output_and_plan_files() {
    let d = tmp("solve-out");
    let plan = d.join("plan.json").display().to_string();
    let mig = d.join("mig.yaml").display().to_string();
    let r = expect(
        &[
            "solve",
            "datasets/instances/small.toml",
            "-o",
            &plan,
            "--mig-parted",
            &mig,
        ],
        0,
    );
    assert!(
        r.stdout.contains("method ilp, objective min-gpus: optimal"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("model        SLO ms  rate/s  served/s"),
        "{}",
        r.stdout
    );
    let first = std::fs::read_to_string(&plan).unwrap();
    expect(&["solve", "datasets/instances/small.toml", "-o", &plan], 0);
    assert_eq!(
        first,
        std::fs::read_to_string(&plan).unwrap(),
        "plans are byte-identical across runs"
    );
    let r = expect(&["mig-parted", "check", &mig], 0);
    assert!(
        r.stdout.contains("0 would fail at apply time"),
        "{}",
        r.stdout
    );
}

#[test]
fn every_method_and_objective() {
    for (method, objective, file) in [
        ("greedy", "min-gpus", "medium"),
        ("homogeneous", "min-gpus", "medium"),
        ("ilp", "min-cost", "hetero"),
        ("ilp", "max-load", "small"),
        ("greedy", "max-load", "small"),
        ("ilp", "paris", "paris"),
        ("paris", "paris", "paris"),
    ] {
        let path = format!("datasets/instances/{file}.toml");
        let r = expect(
            &[
                "solve",
                &path,
                "--method",
                method,
                "--objective",
                objective,
                "--json",
            ],
            0,
        );
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert!(
            v["plan"]["gpus"].as_array().is_some_and(|g| !g.is_empty()),
            "{method} {objective}"
        );
    }
    let r = expect(
        &[
            "solve",
            "datasets/instances/small.toml",
            "--method",
            "paris",
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("--method paris does not answer --objective min-gpus"),
        "{}",
        r.stderr
    );
    let r = expect(
        &[
            "solve",
            "datasets/instances/small.toml",
            "--method",
            "brute",
        ],
        1,
    );
    assert!(
        r.stdout.contains("brute force is for tiny instances"),
        "{}",
        r.stdout
    );
}

#[test]
fn compare_prints_the_gap_to_the_ilp_bound() {
    let r = expect(&["compare", "datasets/instances/medium.toml"], 0);
    assert!(
        r.stdout
            .starts_with("instance medium, objective min-gpus, ILP bound"),
        "{}",
        r.stdout
    );
    for m in ["ilp", "homogeneous", "greedy"] {
        assert!(r.stdout.contains(m));
    }
    let v: serde_json::Value = serde_json::from_str(
        &expect(
            &[
                "compare",
                "datasets/instances/paris.toml",
                "--objective",
                "paris",
                "--json",
            ],
            0,
        )
        .stdout,
    )
    .unwrap();
    let methods: Vec<&str> = v["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["ilp", "paris"]);
}

#[test]
fn infeasible_instances_exit_1_with_a_reason() {
    let d = tmp("infeasible");
    let strict = std::fs::read_to_string(super::repo().join("datasets/instances/small.toml"))
        .unwrap()
        .replace("slo_ms = 15", "slo_ms = 0.5")
        .replace(
            "../profiles/a100-80gb.csv",
            &super::repo()
                .join("datasets/profiles/a100-80gb.csv")
                .display()
                .to_string(),
        );
    let f = write(&d, "strict.toml", &strict);
    let r = expect(&["solve", &f], 1);
    assert!(
        r.stdout
            .contains("resnet50: no profile meets SLO 0.5 ms (2·L ≤ SLO) at any batch"),
        "{}",
        r.stdout
    );
    let crowded = strict
        .replace("slo_ms = 0.5", "slo_ms = 15")
        .replace("count = 8", "count = 1");
    let f = write(&d, "crowded.toml", &crowded);
    let r = expect(&["solve", &f, "--json"], 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["status"], "infeasible");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .starts_with("the 1 available GPUs serve at most"),
        "{}",
        v["reason"]
    );
}

#[test]
fn bad_instances_exit_2_naming_the_field() {
    let d = tmp("bad-instance");
    let base = "[[gpus]]\ntype = \"a100-80gb\"\ncount = 2\n[[models]]\nname = \"resnet50\"\nslo_ms = 15\nrate_rps = 100\n";
    let cases = [
        (
            "neg.toml",
            base.replace("rate_rps = 100", "rate_rps = -1"),
            "models[0].rate_rps: -1 is not a positive number",
        ),
        (
            "gpu.toml",
            base.replace("a100-80gb", "v100"),
            "gpus[0].type: unknown GPU 'v100'",
        ),
        (
            "syntax.toml",
            base.replace("count = 2", "count = "),
            "syntax.toml: ",
        ),
        ("empty.toml", String::new(), "the file is empty"),
        (
            "zoo.toml",
            base.replace("resnet50", "alexnet"),
            "model 'alexnet' is not in migsched's zoo",
        ),
        (
            "files.toml",
            format!("[profiles]\nfiles = [\"nope.csv\"]\n{base}"),
            "reading profile table",
        ),
    ];
    for (name, text, msg) in cases {
        let f = write(&d, name, &text);
        let r = expect(&["solve", &f], 2);
        assert!(r.stderr.contains(msg), "{name}: {}", r.stderr);
    }
    expect(
        &[
            "solve",
            "datasets/instances/small.toml",
            "--time-limit",
            "-3",
        ],
        2,
    );
    expect(
        &["solve", "datasets/instances/small.toml", "--rho", "1.5"],
        2,
    );
}

#[test]
fn analytic_profiles_on_the_fly() {
    let d = tmp("analytic");
    let text = "[[gpus]]\ntype = \"h100-80gb\"\ncount = 4\n[[models]]\nname = \"bert\"\nslo_ms = 50\nrate_rps = 2000\n";
    let f = write(&d, "i.toml", text);
    let r = expect(&["solve", &f, "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["status"], "optimal");
    assert_eq!(v["plan"]["models"][0]["model"], "bert");
}
