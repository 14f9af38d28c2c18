//! `migsched instance import parvagpu`, and the "done when" of the solver issue on the real data.

use super::{expect, parvagpu_dir, tmp};

#[test]
fn parvagpu_scenarios_solve_to_proven_optima_in_well_under_a_second() {
    let Some(dir) = parvagpu_dir() else { return };
    let d = tmp("parva-scenarios");
    for k in 1..=6 {
        let inst = d.join(format!("s{k}.toml")).display().to_string();
        let r = expect(
            &[
                "instance",
                "import",
                "parvagpu",
                dir.to_str().unwrap(),
                "--scenario",
                &k.to_string(),
                "-o",
                &inst,
            ],
            0,
        );
        assert!(r.stdout.contains("models, 256 x a100-80gb"), "{}", r.stdout);
        let text = std::fs::read_to_string(&inst).unwrap();
        assert!(
            text.contains("slo_rule = \"parvagpu\"") && text.contains("max_procs = 5"),
            "{text}"
        );
        let r = expect(&["solve", &inst, "--objective", "min-gpus", "--json"], 0);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["status"], "optimal", "scenario {k}");
        assert!(
            v["solve_seconds"].as_f64().unwrap() < 1.0,
            "scenario {k}: {}",
            v["solve_seconds"]
        );
        let gpus = v["gpus_used"].as_u64().unwrap();
        let c = expect(&["compare", &inst, "--json"], 0);
        let c: serde_json::Value = serde_json::from_str(&c.stdout).unwrap();
        for m in c["methods"].as_array().unwrap() {
            assert!(
                m["objective_value"].as_f64().unwrap() >= gpus as f64,
                "scenario {k}: {m}"
            );
        }
    }
    let r = expect(
        &[
            "instance",
            "import",
            "parvagpu",
            dir.to_str().unwrap(),
            "--scenario",
            "9",
            "-o",
            d.join("x.toml").to_str().unwrap(),
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("--scenario 9: the SLO files hold scenarios 1 to 6"),
        "{}",
        r.stderr
    );
}

#[test]
fn import_needs_a_parvagpu_directory() {
    let d = tmp("parva-missing");
    let r = expect(
        &[
            "instance",
            "import",
            "parvagpu",
            d.to_str().unwrap(),
            "--scenario",
            "1",
            "-o",
            d.join("i.toml").to_str().unwrap(),
        ],
        2,
    );
    assert!(r.stderr.contains("prof_data"), "{}", r.stderr);
    assert!(!d.join("i.toml").exists());
}
