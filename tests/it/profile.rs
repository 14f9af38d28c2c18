//! `migsched profile show|generate|calibrate|import`.

use super::{expect, parvagpu_dir, repo, tmp, write};

const TABLE: &str = "\
gpu,profile,model,batch,procs,latency_ms,throughput_rps,memory_mib,source
a100-80gb,1g.10gb,resnet50,1,1,5,200,,measured
a100-80gb,1g.10gb,resnet50,2,1,6,333.3,,measured
a100-80gb,1g.10gb,resnet50,4,1,10,400,,measured
a100-80gb,1g.10gb,resnet50,8,1,19,421,,measured
";

#[test]
fn show_prints_knees() {
    let d = tmp("show");
    let f = write(&d, "t.csv", TABLE);
    let r = expect(&["profile", "show", &f], 0);
    assert!(
        r.stdout
            .contains("a100-80gb  resnet50  1g.10gb      1  1..8 (4)     4"),
        "{}",
        r.stdout
    );
    let r = expect(
        &["profile", "show", &f, "--knee-threshold", "0.01", "--json"],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["groups"][0]["knee_batch"], 8);
    let r = expect(&["profile", "show", &f, "--rows"], 0);
    assert!(r.stdout.contains("333.3"));
}

#[test]
fn bad_tables_exit_2_naming_file_line_and_column() {
    let d = tmp("bad-table");
    let cases = [
        (
            "neg.csv",
            TABLE.replace(",5,200,", ",-5,200,"),
            "neg.csv:2: column latency_ms: '-5' is not a positive finite number",
        ),
        (
            "nan.csv",
            TABLE.replace(",400,", ",NaN,"),
            "nan.csv:4: column throughput_rps: 'NaN' is not a positive finite number",
        ),
        (
            "gpu.csv",
            TABLE.replacen("a100-80gb", "v100", 1),
            "gpu.csv:2: column gpu: unknown GPU 'v100'",
        ),
        (
            "prof.csv",
            TABLE.replacen("1g.10gb", "1g.5gb", 1),
            "prof.csv:2: column profile: unknown profile '1g.5gb' for a100-80gb",
        ),
        (
            "dup.csv",
            format!("{TABLE}a100-80gb,1g.10gb,resnet50,8,1,20,400,,x\n"),
            "dup.csv:6: duplicate key",
        ),
        ("empty.csv", String::new(), "empty.csv: the file is empty"),
        (
            "ext.txt",
            TABLE.to_string(),
            "a table file ends in .csv or .parquet",
        ),
    ];
    for (name, text, msg) in cases {
        let f = write(&d, name, &text);
        let r = expect(&["profile", "show", &f], 2);
        assert!(r.stderr.contains(msg), "{name}: {}", r.stderr);
    }
    let f = write(&d, "ok.csv", TABLE);
    let r = expect(&["profile", "show", &f, "--model", "bert-base"], 2);
    assert!(
        r.stderr.contains("no rows match the filters"),
        "{}",
        r.stderr
    );
}

#[test]
fn generate_matches_the_bundled_tables() {
    for gpu in ["a100-80gb", "h100-80gb"] {
        let fresh = expect(&["profile", "generate", "--gpu", gpu], 0).stdout;
        let bundled =
            std::fs::read_to_string(repo().join(format!("datasets/profiles/{gpu}.csv"))).unwrap();
        assert!(
            fresh == bundled,
            "datasets/profiles/{gpu}.csv is stale: regenerate it with `migsched profile generate`"
        );
    }
}

#[test]
fn generate_options_and_parquet_round_trip() {
    let d = tmp("generate");
    let csv = d.join("t.csv").display().to_string();
    expect(
        &[
            "profile",
            "generate",
            "--gpu",
            "h100-80gb",
            "--models",
            "resnet50,bert",
            "--batches",
            "1,8",
            "--max-procs",
            "2",
            "-o",
            &csv,
        ],
        0,
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("h100-80gb,7g.80gb,bert,8,2,"), "{text}");
    assert!(
        std::fs::read_to_string(format!("{csv}.provenance.toml"))
            .unwrap()
            .contains("compute_efficiency = 0.6")
    );
    let pq = d.join("t.parquet").display().to_string();
    expect(
        &[
            "profile",
            "generate",
            "--gpu",
            "h100-80gb",
            "--models",
            "resnet50,bert",
            "--batches",
            "1,8",
            "--max-procs",
            "2",
            "-o",
            &pq,
        ],
        0,
    );
    let a = expect(&["profile", "show", &csv, "--rows", "--json"], 0).stdout;
    let b = expect(&["profile", "show", &pq, "--rows", "--json"], 0).stdout;
    assert_eq!(a, b, "CSV and Parquet hold the same table");
    let r = expect(
        &[
            "profile",
            "generate",
            "--gpu",
            "h100-80gb",
            "--models",
            "alexnet",
        ],
        2,
    );
    assert!(r.stderr.contains("unknown model `alexnet`"));
    expect(
        &[
            "profile",
            "generate",
            "--gpu",
            "h100-80gb",
            "--batches",
            "0",
        ],
        2,
    );
    let bad = write(&d, "p.toml", "compute_efficiency = 1.5\n");
    let r = expect(
        &[
            "profile",
            "generate",
            "--gpu",
            "h100-80gb",
            "--params",
            &bad,
        ],
        2,
    );
    assert!(r.stderr.contains("compute_efficiency"), "{}", r.stderr);
    let junk = write(&d, "junk.parquet", "not parquet");
    let r = expect(&["profile", "show", &junk], 2);
    assert!(
        r.stderr.contains("not a readable Parquet file"),
        "{}",
        r.stderr
    );
}

#[test]
fn calibration_recovers_generating_parameters_from_the_cli() {
    let d = tmp("calibrate");
    let params = write(
        &d,
        "truth.toml",
        "compute_efficiency = 0.35\nbandwidth_efficiency = 0.55\nkernel_overhead_us = 12.0\n",
    );
    let table = d.join("m.csv").display().to_string();
    expect(
        &[
            "profile",
            "generate",
            "--gpu",
            "a100-80gb",
            "--models",
            "resnet50,vgg16,mobilenetv2",
            "--batches",
            "1,4,16,64",
            "--max-procs",
            "2",
            "--params",
            &params,
            "-o",
            &table,
        ],
        0,
    );
    let fitted = d.join("fit.toml").display().to_string();
    let r = expect(
        &[
            "profile",
            "calibrate",
            "--measured",
            &table,
            "--gpu",
            "a100-80gb",
            "--json",
            "-o",
            &fitted,
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["mape_before"].as_f64().unwrap() > 0.2,
        "{}",
        v["mape_before"]
    );
    assert!(
        v["mape_after"].as_f64().unwrap() < 0.01,
        "{}",
        v["mape_after"]
    );
    assert!(v["max_error_after"].as_f64().is_some());
    assert_eq!(v["per_model"].as_array().unwrap().len(), 3);
    let text = std::fs::read_to_string(&fitted).unwrap();
    assert!(text.starts_with("# Analytic parameters fitted by `migsched profile calibrate`"));
    let r = expect(
        &[
            "profile",
            "calibrate",
            "--measured",
            &table,
            "--gpu",
            "h100-80gb",
        ],
        2,
    );
    assert!(r.stderr.contains("no rows for h100-80gb"), "{}", r.stderr);
}

#[test]
fn perf_analyzer_import() {
    let d = tmp("perf");
    let csv = "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait\n\
               2,812.5,10,300,20,30,2100,20,5,2400,2600,2700,3100,2450,0,0\n\
               1,480.2,10,250,5,30,1750,20,5,2050,2200,2300,2500,2080,0,0\n";
    let f = write(&d, "pa.csv", csv);
    let out = d.join("t.csv").display().to_string();
    let args = [
        "profile",
        "import",
        "perf-analyzer",
        &f,
        "--gpu",
        "a100-80gb",
        "--profile",
        "3g.40gb",
        "--model",
        "resnet50",
        "--batch",
        "1",
        "-o",
        &out,
    ];
    expect(&args, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("a100-80gb,3g.40gb,resnet50,1,1,2.08,480.2,,perf-analyzer"),
        "{text}"
    );
    let mut more = args.to_vec();
    more.extend(["--concurrency", "2", "--latency", "p99", "--append"]);
    more[11] = "2";
    expect(&more, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 3);
    let mut bad = args.to_vec();
    bad.extend(["--concurrency", "7"]);
    let r = expect(&bad, 2);
    assert!(r.stderr.contains("7"), "{}", r.stderr);
    let mut bad = args.to_vec();
    bad.extend(["--latency", "p42"]);
    expect(&bad, 2);
}

#[test]
fn parvagpu_import_and_calibration_on_the_real_data() {
    let Some(dir) = parvagpu_dir() else { return };
    let d = tmp("parva");
    let out = d.join("parva.csv").display().to_string();
    let r = expect(
        &[
            "profile",
            "import",
            "parvagpu",
            dir.to_str().unwrap(),
            "--gpu",
            "a100-80gb",
            "-o",
            &out,
        ],
        0,
    );
    assert!(
        r.stdout
            .starts_with("imported 1747 rows (11 models) from 11 files"),
        "{}",
        r.stdout
    );
    let r = expect(
        &[
            "profile",
            "calibrate",
            "--measured",
            &out,
            "--gpu",
            "a100-80gb",
            "--unfused",
            "--json",
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let (before, after) = (
        v["mape_before"].as_f64().unwrap(),
        v["mape_after"].as_f64().unwrap(),
    );
    assert!(after < before && after < 0.35, "MAPE {before} -> {after}");
    // A directory of migsched tables is not ParvaGPU data; an empty one holds nothing.
    let import = |dir: &std::path::Path| {
        let args = [
            "profile",
            "import",
            "parvagpu",
            dir.to_str().unwrap(),
            "--gpu",
            "a100-80gb",
            "-o",
            &out,
        ];
        expect(&args, 2).stderr
    };
    let e = import(&d);
    assert!(
        e.contains("expected `Mig instance,Batch size,Workload Number,Throughput,Latency`"),
        "{e}"
    );
    let e = import(&tmp("parva-empty"));
    assert!(e.contains("holds no <model>.csv profile files"), "{e}");
}
