//! `migsched simulate-nodes`: one model node by node under each scheduler; its traces pass
//! `migsched verify trace`, a broken one does not; bad input is exit 2.

use super::{expect, tmp, write};

#[test]
fn every_scheduler_runs_and_its_trace_verifies() {
    let d = tmp("nodes");
    for sched in ["serial", "graph", "lazy"] {
        let trace = d.join(format!("{sched}.jsonl"));
        let t = trace.to_str().unwrap();
        let args = [
            "simulate-nodes",
            "--model",
            "mobilenetv2",
            "--profile",
            "3g.40gb",
            "--scheduler",
            sched,
            "--rate",
            "300",
            "--duration",
            "0.5",
            "--max-batch",
            "8",
            "--window-ms",
            "5",
            "--slo-ms",
            "20",
            "--seed",
            "3",
            "--trace",
            t,
            "--json",
        ];
        let r = expect(&args, 0);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["report"]["policy"], sched);
        assert!(v["report"]["completed"].as_u64().unwrap() > 50);
        assert_eq!(v["report"]["in_flight"], 0);
        // Deterministic.
        assert_eq!(expect(&args, 0).stdout, r.stdout);
        let ok = expect(&["verify", "trace", t], 0);
        assert!(ok.stdout.contains("no violations"), "{}", ok.stdout);
        if sched == "lazy" {
            assert!(v["report"]["catch_up_kernels"].as_u64().unwrap() > 0);
            // Tighten the SLO in the header: the recorded catch-ups now break the slack rule.
            let text = std::fs::read_to_string(&trace).unwrap();
            let broken = text.replacen("\"slo_ms\":20.0", "\"slo_ms\":1.0", 1);
            assert_ne!(broken, text);
            let b = write(&d, "broken.jsonl", &broken);
            let r = expect(&["verify", "trace", &b, "--json"], 1);
            assert!(r.stdout.contains("node-slack"), "{}", r.stdout);
        }
    }
}

#[test]
fn a_measured_node_table_replaces_the_analytic_model() {
    let d = tmp("nodes-table");
    let table = write(
        &d,
        "nodes.csv",
        "node,batch,latency_ms\nconv,1,1.0\nfc,1,0.5\nconv,4,2.0\nfc,4,1.0\n",
    );
    let r = expect(
        &[
            "simulate-nodes",
            "--node-table",
            &table,
            "--scheduler",
            "lazy",
            "--max-batch",
            "4",
            "--requests",
            "200",
            "--rate",
            "100",
            "--json",
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["source"], "node-table");
    assert_eq!(v["whole_model_ms_batch1"], 1.5);
    assert_eq!(v["report"]["completed"], 200);
}

#[test]
fn bad_input_is_exit_2() {
    let d = tmp("nodes-bad");
    for (args, needle) in [
        (vec!["--model", "nope"], "nope"),
        (vec!["--profile", "9g.99gb"], "9g.99gb"),
        (vec!["--rate=-1"], "--rate"),
        (vec!["--max-batch", "0"], "--max-batch"),
        (
            vec!["--window-ms", "NaN", "--scheduler", "graph"],
            "--window-ms",
        ),
        (vec!["--slo-ms", "0"], "--slo-ms"),
    ] {
        let mut a = vec!["simulate-nodes", "--duration", "0.1"];
        a.extend(args);
        let r = expect(&a, 2);
        assert!(r.stderr.contains(needle), "{a:?}: {}", r.stderr);
    }
    let bad = write(&d, "bad.csv", "node,batch,latency_ms\nconv,1,-2\n");
    let r = expect(
        &["simulate-nodes", "--node-table", &bad, "--duration", "0.1"],
        2,
    );
    assert!(
        r.stderr.contains("latency_ms") && r.stderr.contains("bad.csv"),
        "{}",
        r.stderr
    );
}
