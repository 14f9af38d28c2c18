//! `migsched sweep`: shards merged equal the unsharded run, resuming skips finished cells,
//! and bad specs are unusable input.

use super::{expect, tmp};

fn spec(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("spec.toml");
    let inst = super::repo().join("datasets/instances/small.toml");
    std::fs::write(
        &p,
        format!("instances = [{:?}]\n{body}", inst.to_str().unwrap()),
    )
    .unwrap();
    p
}

const GRID: &str = r#"methods = ["ilp", "greedy"]
schedulers = ["fifs", "elsa"]
loads = [0.5, 1.0]
seeds = [1, 2]
duration_s = 0.5
mode = "dynamic"
"#;

#[test]
fn shards_merge_to_the_unsharded_run_and_runs_resume() {
    let d = tmp("sweep");
    let s = spec(&d, GRID);
    let s = s.to_str().unwrap();
    let all = d.join("all");
    let r = expect(&["sweep", s, "--jobs", "2", "-o", all.to_str().unwrap()], 0);
    assert!(r.stdout.starts_with("16 cells in"), "{}", r.stdout);
    let whole = std::fs::read_to_string(all.join("results.csv")).unwrap();
    assert_eq!(whole.lines().count(), 17);
    assert!(
        whole.starts_with("index,instance,method,objective,status,gpus_used,scheduler,load,seed")
    );
    let mut shards = Vec::new();
    for i in 1..=3 {
        let o = d.join(format!("shard-{i}"));
        expect(
            &[
                "sweep",
                s,
                "--shard",
                &format!("{i}/3"),
                "-o",
                o.to_str().unwrap(),
            ],
            0,
        );
        shards.push(o.to_str().unwrap().to_string());
    }
    let merged = d.join("merged");
    let mut args = vec!["sweep", "merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["-o", merged.to_str().unwrap()]);
    expect(&args, 0);
    assert_eq!(
        std::fs::read_to_string(merged.join("results.csv")).unwrap(),
        whole
    );
    // Resume: one cell removed is the only one run again, with the same result.
    let cell = all.join("cells/small__ilp__elsa__load1__seed2.json");
    std::fs::remove_file(&cell).unwrap();
    let r = expect(&["sweep", s, "-o", all.to_str().unwrap()], 0);
    assert!(
        r.stderr
            .contains("16 in this shard, 15 already done, 1 to run"),
        "{}",
        r.stderr
    );
    assert!(cell.is_file());
    assert_eq!(
        std::fs::read_to_string(all.join("results.csv")).unwrap(),
        whole
    );
    // Shards that disagree on a cell are refused.
    let c = shards[0].clone() + "/cells";
    let first = std::fs::read_dir(&c)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&first).unwrap();
    let changed = text.replacen("\"seed\": ", "\"seed\": 9", 1);
    std::fs::write(all.join("cells").join(first.file_name().unwrap()), changed).unwrap();
    let r = expect(
        &[
            "sweep",
            "merge",
            &shards[0],
            all.to_str().unwrap(),
            "-o",
            merged.to_str().unwrap(),
        ],
        2,
    );
    assert!(
        r.stderr.contains("differs from the same cell"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_specs_are_unusable_input() {
    let d = tmp("sweep-bad");
    let o = d.join("out");
    let o = o.to_str().unwrap();
    for (body, msg) in [
        (
            GRID.replace("\"elsa\"", "\"nope\""),
            "scheduler 'nope' is not one of",
        ),
        (
            GRID.replace("[0.5, 1.0]", "[0.5, -1.0]"),
            "loads: -1 is not a load factor in (0, 1e6]",
        ),
        (
            GRID.replace("[0.5, 1.0]", "[0.5, 1e12]"),
            "loads: 1000000000000 is not a load factor in (0, 1e6]",
        ),
        (
            GRID.replace("duration_s = 0.5", "duration_s = 1e-12"),
            "duration_s: 0.000000000001 is not a number of seconds in [0.001, 1e7]",
        ),
        (
            GRID.to_string() + "arrival = \"gamma:-1\"\n",
            "spec.toml: arrival: ",
        ),
        (
            GRID.replace("seeds = [1, 2]", "seeds = []"),
            "'seeds' is empty",
        ),
        (
            GRID.replace("duration_s = 0.5", "duration_s = nan"),
            "duration_s",
        ),
        (
            GRID.replace("mode = \"dynamic\"", "mode = \"lazy\""),
            "mode 'lazy'",
        ),
        (GRID.to_string() + "extra = 1\n", "unknown field `extra`"),
    ] {
        let s = spec(&d, &body);
        let r = expect(&["sweep", s.to_str().unwrap(), "-o", o], 2);
        assert!(r.stderr.contains(msg), "{msg}: {}", r.stderr);
    }
    let s = spec(&d, GRID);
    let r = expect(
        &["sweep", s.to_str().unwrap(), "--shard", "4/3", "-o", o],
        2,
    );
    assert!(r.stderr.contains("--shard '4/3'"), "{}", r.stderr);
    let r = expect(&["sweep", "merge", d.to_str().unwrap(), "-o", o], 2);
    assert!(
        r.stderr.contains("not a sweep output directory"),
        "{}",
        r.stderr
    );
}

/// D4: a method that finds no plan made the sweep exit 2 with no results ("invalid type: null,
/// expected f64" reading its own cells back). Now the cell is recorded with its failure, the
/// results are written, and the sweep answers 1.
#[test]
fn a_cell_without_a_plan_is_recorded_and_the_sweep_answers_no() {
    let d = tmp("sweep-fail");
    let body = GRID
        .replace(r#"["ilp", "greedy"]"#, r#"["greedy", "paris"]"#)
        .replace(r#"["fifs", "elsa"]"#, r#"["fifs"]"#)
        .replace("[0.5, 1.0]", "[1.0]")
        .replace("[1, 2]", "[1]");
    let s = spec(&d, &body);
    let out = d.join("out");
    let r = expect(
        &["sweep", s.to_str().unwrap(), "-o", out.to_str().unwrap()],
        1,
    );
    assert!(r.stdout.contains("(1 without a plan)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("does not answer objective min-gpus"),
        "{}",
        r.stdout
    );
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let paris = lines.iter().find(|l| l.contains(",paris,")).unwrap();
    assert!(paris.contains("infeasible"), "{paris}");
    assert!(!csv.contains("NaN"), "{csv}");
    // Running again reads the recorded cells back (resume) and answers the same.
    let r = expect(
        &["sweep", s.to_str().unwrap(), "-o", out.to_str().unwrap()],
        1,
    );
    assert!(r.stdout.contains("(1 without a plan)"), "{}", r.stdout);
    // A gpulet method is refused when the spec is read, not sent to the MIG solver.
    let s = spec(&d, &body.replace(r#""paris""#, r#""gpulet""#));
    let r = expect(
        &["sweep", s.to_str().unwrap(), "-o", out.to_str().unwrap()],
        2,
    );
    assert!(r.stderr.contains("plans MPS gpulets"), "{}", r.stderr);
}
