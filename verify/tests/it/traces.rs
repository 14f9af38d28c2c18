//! The trace checker on hand-written traces: two clean runs (a work-conserving FIFS with a
//! central queue, and ELSA with per-instance queues and replayable decisions), then each rule
//! broken once.

use std::collections::BTreeSet;

use migsched_core::{
    Method, MigGpu, ModelService, Objective, PLAN_FORMAT, Plan, PlanGpu, PlanInstance,
};
use migsched_verify::{Rule, TraceOptions, check_trace, parse_metrics, read_trace};

const M: u64 = 1_000_000;

fn header(
    scheduler: &str,
    params: &str,
    wc: bool,
    instances: &[(u32, &str, u8, u32, u32)],
    slo_ms: f64,
    duration: u64,
) -> String {
    let inst: Vec<String> = instances
        .iter()
        .map(|&(id, profile, start, slots, max_batch)| {
            format!(
                r#"{{"instance":{id},"gpu":0,"profile":"{profile}","start":{start},"model":"resnet50","slots":{slots},"max_batch":{max_batch}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"format":"migsched-trace/1","scheduler":"{scheduler}"{params},"seed":7,"duration_ns":{duration},"instances":[{}],"models":[{{"model":"resnet50","slo_ms":{slo_ms}}}],"work_conserving":{wc}}}"#,
        inst.join(",")
    )
}

fn arrival(t: u64, req: u64, batch: u32) -> String {
    format!(r#"{{"t":{t},"ev":"arrival","req":{req},"model":"resnet50","batch":{batch}}}"#)
}

fn dispatch(t: u64, req: u64, instance: u32) -> String {
    format!(r#"{{"t":{t},"ev":"dispatch","req":{req},"instance":{instance}}}"#)
}

fn elsa(t: u64, req: u64, instance: u32, slack: i64, choices: &[(u32, u64, u64)]) -> String {
    let c: Vec<String> = choices
        .iter()
        .map(|&(i, w, s)| format!(r#"{{"instance":{i},"wait_ns":{w},"service_ns":{s}}}"#))
        .collect();
    format!(
        r#"{{"t":{t},"ev":"dispatch","req":{req},"instance":{instance},"slack_ns":{slack},"choices":[{}]}}"#,
        c.join(",")
    )
}

fn start(t: u64, instance: u32, slot: u32, members: &[u64], batch: u32, service: u64) -> String {
    format!(
        r#"{{"t":{t},"ev":"start","instance":{instance},"slot":{slot},"members":{members:?},"batch":{batch},"service_ns":{service}}}"#
    )
}

fn finish(t: u64, instance: u32, slot: u32, members: &[u64]) -> String {
    format!(
        r#"{{"t":{t},"ev":"finish","instance":{instance},"slot":{slot},"members":{members:?}}}"#
    )
}

fn drop(t: u64, req: u64) -> String {
    format!(r#"{{"t":{t},"ev":"drop","req":{req}}}"#)
}

/// FIFS over one two-slot instance with a central queue (dispatch when a slot takes the
/// request); request 4 is larger than any batch and is dropped at its deadline.
fn fifs() -> Vec<String> {
    vec![
        header("fifs", "", true, &[(0, "3g.40gb", 0, 2, 4)], 5.0, 20 * M),
        arrival(0, 0, 1),
        dispatch(0, 0, 0),
        start(0, 0, 0, &[0], 1, 3 * M),
        arrival(M, 1, 2),
        dispatch(M, 1, 0),
        start(M, 0, 1, &[1], 2, 3 * M),
        arrival(2 * M, 2, 1),
        finish(3 * M, 0, 0, &[0]),
        dispatch(3 * M, 2, 0),
        start(3 * M, 0, 0, &[2], 1, 3 * M),
        finish(4 * M, 0, 1, &[1]),
        arrival(4 * M, 3, 1),
        dispatch(4 * M, 3, 0),
        start(4 * M, 0, 1, &[3], 1, 3 * M),
        arrival(4 * M + M / 2, 4, 8),
        finish(6 * M, 0, 0, &[2]),
        finish(7 * M, 0, 1, &[3]),
        drop(9 * M + M / 2, 4),
    ]
}

/// ELSA over a 1g (instance 0) and a 3g (instance 1) partition, SLO 10 ms; predicted
/// service 4 ms on the 1g and 2 ms on the 3g.
fn elsa_run(params: &str) -> Vec<String> {
    vec![
        header(
            "elsa",
            params,
            false,
            &[(0, "1g.10gb", 6, 1, 8), (1, "3g.40gb", 0, 1, 8)],
            10.0,
            100 * M,
        ),
        arrival(0, 0, 1),
        // Empty queues: the 1g qualifies (10 > 0 + 4).
        elsa(0, 0, 0, 10 * M as i64, &[(0, 0, 4 * M), (1, 0, 2 * M)]),
        start(0, 0, 0, &[0], 1, 4 * M),
        arrival(M, 1, 1),
        // The 1g has 3 ms of its running batch left: 10 > 3 + 4.
        elsa(M, 1, 0, 10 * M as i64, &[(0, 3 * M, 4 * M), (1, 0, 2 * M)]),
        arrival(2 * M, 2, 1),
        // The 1g: 2 ms left + 4 ms queued = 6; 6 + 4 is not < 10; the 3g qualifies.
        elsa(
            2 * M,
            2,
            1,
            10 * M as i64,
            &[(0, 6 * M, 4 * M), (1, 0, 2 * M)],
        ),
        start(2 * M, 1, 0, &[2], 1, 2 * M),
        finish(4 * M, 0, 0, &[0]),
        start(4 * M, 0, 0, &[1], 1, 4 * M),
        finish(4 * M, 1, 0, &[2]),
        finish(8 * M, 0, 0, &[1]),
        arrival(50 * M, 3, 1),
        elsa(50 * M, 3, 0, 10 * M as i64, &[(0, 0, 4 * M), (1, 0, 2 * M)]),
        start(50 * M, 0, 0, &[3], 1, 4 * M),
        finish(54 * M, 0, 0, &[3]),
    ]
}

const AB: &str = r#","parameters":[["alpha",1.0],["beta",1.0]]"#;

fn rules(lines: &[String]) -> BTreeSet<Rule> {
    let trace = read_trace(&lines.join("\n"), "t.jsonl").unwrap();
    check_trace(&trace, &TraceOptions::default())
        .violations
        .iter()
        .map(|v| v.rule)
        .collect()
}

fn messages(lines: &[String]) -> Vec<String> {
    let trace = read_trace(&lines.join("\n"), "t.jsonl").unwrap();
    check_trace(&trace, &TraceOptions::default())
        .violations
        .iter()
        .map(|v| v.to_string())
        .collect()
}

fn set(r: &[Rule]) -> BTreeSet<Rule> {
    r.iter().copied().collect()
}

/// The FIFS run with line `i` (0 = header) replaced.
fn fifs_with(i: usize, line: String) -> Vec<String> {
    let mut l = fifs();
    l[i] = line;
    l
}

#[test]
fn clean_runs_are_clean() {
    let trace = read_trace(&fifs().join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(r.is_clean(), "{:#?}", r.violations);
    let m = &r.metrics;
    assert_eq!((m.requests, m.finished, m.dropped, m.slo_met), (5, 4, 1, 4));
    assert_eq!(m.slo_attainment, Some(0.8));
    assert_eq!(m.latency_ms_p50, Some(3.0));
    assert_eq!(m.latency_ms_p99, Some(4.0));
    let trace = read_trace(&elsa_run(AB).join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(r.is_clean(), "{:#?}", r.violations);
    assert_eq!(r.elsa_replayed, 4);
    assert_eq!(r.metrics.slo_met, 4);
}

#[test]
fn clock_rules() {
    // Line 7 (arrival of request 2) moved before the time of line 6.
    assert_eq!(
        rules(&fifs_with(7, arrival(M / 2, 2, 1))),
        set(&[Rule::Clock])
    );
    assert_eq!(
        messages(&fifs_with(7, arrival(M / 2, 2, 1))),
        ["line 8, t=0.5 ms: time goes back from 1 ms to 0.5 ms [clock]"]
    );
    assert_eq!(rules(&fifs_with(18, drop(25 * M, 4))), set(&[Rule::Clock]));
    let broken = read_trace(&fifs_with(7, arrival(M / 2, 2, 1)).join("\n"), "t.jsonl").unwrap();
    assert!(!check_trace(&broken, &TraceOptions::default()).is_clean());
}

#[test]
fn causality_rules() {
    // Request 2 starts without a dispatch.
    let mut l = fifs();
    l.remove(9);
    assert_eq!(rules(&l), set(&[Rule::Causality]));
    assert_eq!(
        messages(&l),
        [
            "line 10, t=3 ms, gpu 0, instance 0 (3g.40gb@0), request 2: starts without a \
          dispatch [causality]"
        ]
    );
    // A dispatch of a request that never arrived.
    let mut l = fifs();
    l.insert(2, dispatch(0, 9, 0));
    assert_eq!(rules(&l), set(&[Rule::Causality]));
    // A finish of a batch that is not running; request 2's batch then never ends.
    assert_eq!(
        rules(&fifs_with(16, finish(6 * M, 0, 0, &[3]))),
        set(&[Rule::Causality, Rule::EndsOnce])
    );
}

#[test]
fn slot_and_batch_rules() {
    // Request 2 on slot 1, busy until 4 ms (and finished there).
    let mut l = fifs();
    l[10] = start(3 * M, 0, 1, &[2], 1, 3 * M);
    l[16] = finish(6 * M, 0, 1, &[2]);
    assert!(
        rules(&l).contains(&Rule::OneBatchPerSlot),
        "{:?}",
        rules(&l)
    );
    assert_eq!(
        messages(&l)[0],
        "line 11, t=3 ms, gpu 0, instance 0 (3g.40gb@0): slot 1 starts a batch while the batch \
         started at 1 ms (line 7) runs until 4 ms [one-batch-per-slot]"
    );
    assert!(
        rules(&fifs_with(10, start(3 * M, 0, 2, &[2], 1, 3 * M))).contains(&Rule::OneBatchPerSlot)
    );
    // The batch's size disagrees with its member (2 samples).
    assert_eq!(
        rules(&fifs_with(6, start(M, 0, 1, &[1], 3, 3 * M))),
        set(&[Rule::BatchLimit])
    );
    // A request of 5 samples run as one batch on an instance whose maximum is 4.
    let mut l = fifs();
    l[4] = arrival(M, 1, 5);
    l[6] = start(M, 0, 1, &[1], 5, 3 * M);
    assert_eq!(rules(&l), set(&[Rule::BatchLimit]));
}

#[test]
fn service_time_and_endings() {
    assert_eq!(
        rules(&fifs_with(16, finish(6 * M + M / 2, 0, 0, &[2]))),
        set(&[Rule::ServiceTime])
    );
    let mut l = fifs();
    l.pop();
    assert_eq!(rules(&l), set(&[Rule::EndsOnce]));
    assert_eq!(
        messages(&l),
        [
            "line 16, t=7 ms, request 4: arrived at 4.5 ms and neither finished nor was dropped by \
          the end of the trace: never dispatched [ends-once]"
        ]
    );
    let mut l = fifs();
    l.push(drop(10 * M, 0));
    assert_eq!(rules(&l), set(&[Rule::EndsOnce]));
    assert_eq!(
        rules(&fifs_with(18, drop(8 * M, 4))),
        set(&[Rule::EarlyDrop])
    );
    // Dropping a request that already runs.
    let mut l = fifs();
    l.insert(11, drop(3 * M, 2));
    assert!(rules(&l).contains(&Rule::EarlyDrop));
}

#[test]
fn instance_rules() {
    // A dispatch to an instance the header lacks.
    let mut l = fifs();
    l[9] = dispatch(3 * M, 2, 5);
    assert!(rules(&l).contains(&Rule::Instance), "{:?}", rules(&l));
    // A request for a model the header does not list.
    let l = fifs_with(
        15,
        r#"{"t":4500000,"ev":"arrival","req":4,"model":"bert","batch":8}"#.to_string(),
    );
    assert_eq!(rules(&l), set(&[Rule::Instance]));
}

#[test]
fn work_conservation() {
    // Request 3 waits 1 ms while slot 1 is idle.
    let mut l: Vec<String> = fifs()[..13].to_vec();
    l.extend([
        arrival(4 * M + M / 2, 4, 8),
        dispatch(5 * M, 3, 0),
        start(5 * M, 0, 1, &[3], 1, 3 * M),
        finish(6 * M, 0, 0, &[2]),
        finish(8 * M, 0, 1, &[3]),
        drop(9 * M + M / 2, 4),
    ]);
    assert_eq!(rules(&l), set(&[Rule::WorkConservation]));
    assert_eq!(
        messages(&l),
        [
            "line 13, t=4 ms, gpu 0, instance 0 (3g.40gb@0), request 3: 1 slot(s) idle while \
          request 3 (arrived at 4 ms) waits for this instance; the scheduler claims work \
          conservation [work-conservation]"
        ]
    );
    // The same run without the claim is clean.
    l[0] = l[0].replace(r#""work_conserving":true"#, r#""work_conserving":false"#);
    assert_eq!(rules(&l), set(&[]));
}

#[test]
fn elsa_decisions_are_replayed() {
    // With α = 2, request 1 should have gone to the 3g: 2·(3 + 4) = 14 ≥ 10.
    let l = elsa_run(r#","parameters":[["alpha",2.0],["beta",1.0]]"#);
    assert_eq!(rules(&l), set(&[Rule::ElsaDecision]));
    assert_eq!(
        messages(&l),
        [
            "line 6, t=1 ms, gpu 0, instance 0 (1g.10gb@6), request 1: dispatched to instance 0, \
          but ELSA chooses instance 1: instance 1 is the first in visiting order with slack 10 \
          ms > α·(wait + β·est) = 2·(0 + 1·2) = 4 ms [elsa-decision]"
        ]
    );
    // Candidates listed largest first.
    let mut l = elsa_run(AB);
    l[2] = elsa(0, 0, 0, 10 * M as i64, &[(1, 0, 2 * M), (0, 0, 4 * M)]);
    assert_eq!(rules(&l), set(&[Rule::ElsaDecision]));
    // No numbers to replay.
    let mut l = elsa_run(AB);
    l[2] = dispatch(0, 0, 0);
    assert!(rules(&l).contains(&Rule::ElsaDecision));
    // Without parameters, ALGORITHMS.md's defaults are used and said so.
    let trace = read_trace(&elsa_run("").join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(r.is_clean());
    assert!(
        r.not_checked.iter().any(|n| n.contains("'alpha'")),
        "{:?}",
        r.not_checked
    );
}

#[test]
fn elsa_state_is_reconstructed() {
    // The 1g's wait at request 1 is 3 ms (the running batch's rest), not 2.
    let mut l = elsa_run(AB);
    l[5] = elsa(M, 1, 0, 10 * M as i64, &[(0, 2 * M, 4 * M), (1, 0, 2 * M)]);
    assert_eq!(rules(&l), set(&[Rule::ElsaState]));
    assert_eq!(
        messages(&l),
        [
            "line 6, t=1 ms, gpu 0, instance 0 (1g.10gb@6), request 1: the choice predicts a wait \
          of 2 ms, but the queue holds 3 ms of predicted work (0 queued, 1 running) over 1 \
          slot(s): 3 ms [elsa-state]"
        ]
    );
    // Request 2 sees request 1 queued behind the running batch: 6 ms, not 2.
    let mut l = elsa_run(AB);
    l[7] = elsa(
        2 * M,
        2,
        1,
        10 * M as i64,
        &[(0, 2 * M, 4 * M), (1, 0, 2 * M)],
    );
    assert!(rules(&l).contains(&Rule::ElsaState));
    // A slack that is not deadline − now.
    let mut l = elsa_run(AB);
    l[14] = elsa(50 * M, 3, 0, 11 * M as i64, &[(0, 0, 4 * M), (1, 0, 2 * M)]);
    assert_eq!(rules(&l), set(&[Rule::ElsaState]));
}

#[test]
fn metrics_are_recomputed() {
    let trace = read_trace(&fifs().join("\n"), "t.jsonl").unwrap();
    let good = parse_metrics(
        r#"{"requests":5,"finished":4,"dropped":1,"slo_attainment":0.8,"latency_ms_p50":3,
            "throughput_rps":200,"models":{"resnet50":{"slo_met":4}}}"#,
        "m.json",
    )
    .unwrap();
    let r = check_trace(
        &trace,
        &TraceOptions {
            plan: None,
            metrics: Some(&good),
        },
    );
    assert!(r.is_clean(), "{:?}", r.violations);
    let bad = parse_metrics(r#"{"slo_attainment":1.0,"dropped":0}"#, "m.json").unwrap();
    let r = check_trace(
        &trace,
        &TraceOptions {
            plan: None,
            metrics: Some(&bad),
        },
    );
    assert_eq!(
        r.violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>(),
        [
            "reports dropped = 0, but the trace gives 1 [metrics]",
            "reports slo_attainment = 1, but the trace gives 0.8 [metrics]"
        ]
    );
}

fn plan_for_elsa(slots: u32) -> Plan {
    let serving = |profile: &str, start: u8| PlanInstance {
        profile: profile.into(),
        start,
        model: Some("resnet50".into()),
        batch: Some(8),
        procs: Some(slots),
        latency_ms: Some(4.0),
        throughput_rps: Some(1000.0),
    };
    Plan {
        format: PLAN_FORMAT.into(),
        instance: "t".into(),
        method: Method::Imported,
        objective: Some(Objective::MinGpus),
        gpus: vec![PlanGpu::Mig(MigGpu {
            index: 0,
            gpu: "a100-80gb".into(),
            layout: "3g.40gb@0,1g.10gb@6".into(),
            instances: vec![serving("3g.40gb", 0), serving("1g.10gb", 6)],
        })],
        models: vec![ModelService {
            model: "resnet50".into(),
            slo_ms: 10.0,
            rate_rps: 100.0,
            served_rps: 2000.0,
            instances: 2,
        }],
        gpus_used: 1,
        cost: 1.0,
    }
}

#[test]
fn only_instances_of_the_plan() {
    let trace = read_trace(&elsa_run(AB).join("\n"), "t.jsonl").unwrap();
    let plan = plan_for_elsa(1);
    let r = check_trace(
        &trace,
        &TraceOptions {
            plan: Some(&plan),
            metrics: None,
        },
    );
    assert!(r.is_clean(), "{:?}", r.violations);
    let mut l = elsa_run(AB);
    l[0] = l[0].replace(
        r#""profile":"1g.10gb","start":6"#,
        r#""profile":"1g.10gb","start":5"#,
    );
    let trace = read_trace(&l.join("\n"), "t.jsonl").unwrap();
    let r = check_trace(
        &trace,
        &TraceOptions {
            plan: Some(&plan),
            metrics: None,
        },
    );
    assert_eq!(
        r.violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>(),
        [
            "line 1, t=0 ms, gpu 0, instance 0 (1g.10gb@5): the plan has no 1g.10gb@5 on GPU 0 \
          [instance]"
        ]
    );
    let mut plan = plan_for_elsa(1);
    plan.models[0].slo_ms = 12.0;
    plan.gpus[0].as_mig_mut().unwrap().instances[0].batch = Some(4);
    let trace = read_trace(&elsa_run(AB).join("\n"), "t.jsonl").unwrap();
    let r = check_trace(
        &trace,
        &TraceOptions {
            plan: Some(&plan),
            metrics: None,
        },
    );
    assert_eq!(r.violations.len(), 2, "{:?}", r.violations);
}

#[test]
fn unreadable_traces_are_errors() {
    let err = |t: &str| read_trace(t, "t.jsonl").unwrap_err().to_string();
    assert_eq!(
        err(""),
        "t.jsonl: the file is empty; a trace starts with a header line of format migsched-trace/1"
    );
    assert!(err("{").starts_with("t.jsonl:1: not a trace header"));
    let h = &fifs()[0];
    assert_eq!(
        err(&h.replace("migsched-trace/1", "other/9")),
        "t.jsonl:1: format: format 'other/9' is not migsched-trace/1"
    );
    assert_eq!(
        err(&format!(
            "{h}\n{{\"t\":1,\"ev\":\"arrival\",\"req\":0,\"batch\":1}}"
        )),
        "t.jsonl:2: not a trace event: the arrival event needs 'model'"
    );
    assert!(
        err(&format!("{h}\n{{\"t\":1,\"ev\":\"teleport\"}}"))
            .starts_with("t.jsonl:2: not a trace event")
    );
    let dup = header(
        "fifs",
        "",
        true,
        &[(0, "3g.40gb", 0, 2, 4), (0, "3g.40gb", 4, 2, 4)],
        5.0,
        1,
    );
    assert_eq!(
        err(&dup),
        "t.jsonl:1: instances: instance id 0 appears twice"
    );
}

#[test]
fn elsa_choices_may_stop_at_the_first_that_qualifies() {
    // Request 0: the 1g qualifies; ELSA need not look at the 3g.
    let mut l = elsa_run(AB);
    l[2] = elsa(0, 0, 0, 10 * M as i64, &[(0, 0, 4 * M)]);
    assert!(rules(&l).is_empty(), "{:?}", messages(&l));
    // Request 2: the 1g does not qualify, so stopping there is wrong.
    let mut l = elsa_run(AB);
    l[7] = elsa(2 * M, 2, 1, 10 * M as i64, &[(0, 6 * M, 4 * M)]);
    assert_eq!(rules(&l), set(&[Rule::ElsaDecision]));
    assert!(
        messages(&l)[0].contains("no visited instance qualifies, yet the choices stop after [0]"),
        "{:?}",
        messages(&l)
    );
    // Choices that skip the first instance in visiting order.
    let mut l = elsa_run(AB);
    l[2] = elsa(0, 0, 0, 10 * M as i64, &[(1, 0, 2 * M)]);
    assert!(rules(&l).contains(&Rule::ElsaDecision));
}

/// The ELSA run with the header publishing service tables (1g: 4 ms, 3g: 2 ms at any batch).
fn elsa_with_tables() -> Vec<String> {
    let mut l = elsa_run(AB);
    let t = |ms: u64| format!("[{}]", vec![(ms * M).to_string(); 8].join(","));
    l[0] = l[0]
        .replacen(
            r#""max_batch":8}"#,
            &format!(r#""max_batch":8,"service_ns":{}}}"#, t(4)),
            1,
        )
        .replacen(
            r#""start":0,"model":"resnet50","slots":1,"max_batch":8}"#,
            &format!(
                r#""start":0,"model":"resnet50","slots":1,"max_batch":8,"service_ns":{}}}"#,
                t(2)
            ),
            1,
        );
    l
}

#[test]
fn elsa_service_predictions_are_checked_against_the_published_table() {
    let l = elsa_with_tables();
    assert!(l[0].matches("service_ns").count() == 2, "{}", l[0]);
    let trace = read_trace(&l.join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(r.is_clean(), "{:?}", messages(&l));
    assert!(
        !r.not_checked.iter().any(|n| n.contains("service")),
        "{:?}",
        r.not_checked
    );
    // A choice that predicts 3 ms on the 3g, whose table says 2 ms.
    let mut l = elsa_with_tables();
    l[2] = elsa(0, 0, 0, 10 * M as i64, &[(0, 0, 4 * M), (1, 0, 3 * M)]);
    assert_eq!(rules(&l), set(&[Rule::ElsaState]));
    assert!(
        messages(&l)[0].contains("predicts a service of 3 ms, but the header's service_ns"),
        "{:?}",
        messages(&l)
    );
    // Without tables the predicted services are listed as not checked.
    let trace = read_trace(&elsa_run(AB).join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(r.not_checked.iter().any(|n| n.contains("service")));
    // A table of the wrong length is unusable input.
    let mut l = elsa_with_tables();
    l[0] = l[0].replacen(&format!(",{}", 4 * M), "", 1);
    let err = read_trace(&l.join("\n"), "t.jsonl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("publishes 7 predicted service times"), "{err}");
}

#[test]
fn dynamic_batching_waits_count_full_batches() {
    // One 1g instance, max batch 4, predicted service 1, 1.5, 2, 2.5 ms for 1..4 samples.
    let h = header("elsa", AB, false, &[(0, "1g.10gb", 0, 1, 4)], 10.0, 20 * M)
        .replacen(
            r#""max_batch":4}"#,
            r#""max_batch":4,"service_ns":[1000000,1500000,2000000,2500000]}"#,
            1,
        )
        .replacen(
            r#""work_conserving""#,
            r#""batching":"dynamic","work_conserving""#,
            1,
        );
    let run = |third_wait: u64| {
        vec![
            h.clone(),
            arrival(0, 0, 1),
            elsa(0, 0, 0, 10 * M as i64, &[(0, 0, M)]),
            start(0, 0, 0, &[0], 1, M),
            arrival(M / 10, 1, 1),
            // The running batch has 0.9 ms left.
            elsa(M / 10, 1, 0, 10 * M as i64, &[(0, 9 * M / 10, M)]),
            arrival(2 * M / 10, 2, 1),
            // 0.8 ms left, plus one queued sample (1 ms).
            elsa(2 * M / 10, 2, 0, 10 * M as i64, &[(0, 18 * M / 10, M)]),
            arrival(3 * M / 10, 3, 1),
            // 0.7 ms left, plus two queued samples as one batch of 2 (1.5 ms).
            elsa(3 * M / 10, 3, 0, 10 * M as i64, &[(0, third_wait, M)]),
            finish(M, 0, 0, &[0]),
            start(M, 0, 0, &[1, 2, 3], 3, 2 * M),
            finish(3 * M, 0, 0, &[1, 2, 3]),
        ]
    };
    let l = run(22 * M / 10);
    assert!(rules(&l).is_empty(), "{:?}", messages(&l));
    // Counting each queued request as its own batch (2.7 ms) is the pre-batched rule.
    let l = run(27 * M / 10);
    assert_eq!(rules(&l), set(&[Rule::ElsaState]));
    // An unknown batching mode is unusable input.
    let mut l = run(22 * M / 10);
    l[0] = l[0].replacen("dynamic", "lazy", 1);
    let err = read_trace(&l.join("\n"), "t.jsonl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("batching 'lazy'"), "{err}");
}

#[test]
fn runs_stopped_with_requests_in_flight() {
    // Request 3 never finishes.
    let mut l = fifs();
    l.remove(17);
    assert_eq!(rules(&l), set(&[Rule::EndsOnce]));
    // The header says arrivals stopped with requests in flight: not a violation.
    l[0] = l[0].replacen(
        r#""work_conserving""#,
        r#""drained":false,"work_conserving""#,
        1,
    );
    let trace = read_trace(&l.join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(r.is_clean(), "{:?}", messages(&l));
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.contains("1 request(s) in flight")),
        "{:?}",
        r.not_checked
    );
    // Ending twice is still a violation.
    let mut l = fifs();
    l[0] = l[0].replacen(
        r#""work_conserving""#,
        r#""drained":false,"work_conserving""#,
        1,
    );
    l.push(drop(10 * M, 3));
    assert!(rules(&l).contains(&Rule::EndsOnce));
}

#[test]
fn elsa_predictions_agree_within_a_microsecond() {
    // The 3g's service predicted 1 µs off its table: accepted; 1 ns more is not.
    for (off, clean) in [(1000, true), (1001, false)] {
        let mut l = elsa_with_tables();
        l[2] = elsa(
            0,
            0,
            0,
            10 * M as i64,
            &[(0, 0, 4 * M), (1, 0, 2 * M + off)],
        );
        assert_eq!(rules(&l).is_empty(), clean, "{:?}", messages(&l));
    }
    // The 1g's wait at request 1 (3 ms of its running batch left), 1 µs off.
    for (off, clean) in [(1000, true), (1001, false)] {
        let mut l = elsa_run(AB);
        l[5] = elsa(
            M,
            1,
            0,
            10 * M as i64,
            &[(0, 3 * M + off, 4 * M), (1, 0, 2 * M)],
        );
        assert_eq!(rules(&l).is_empty(), clean, "{:?}", messages(&l));
    }
    // Request 3's slack (deadline − now = 10 ms), 1 µs off.
    for (off, clean) in [(1000, true), (1001, false)] {
        let mut l = elsa_run(AB);
        l[14] = elsa(
            50 * M,
            3,
            0,
            (10 * M + off) as i64,
            &[(0, 0, 4 * M), (1, 0, 2 * M)],
        );
        assert_eq!(rules(&l).is_empty(), clean, "{:?}", messages(&l));
    }
}

#[test]
fn waits_that_cannot_be_predicted_are_said() {
    // Request 0 dispatched without ELSA's numbers: request 1's wait behind it has no
    // prediction to rebuild.
    let mut l = elsa_run(AB);
    l[2] = dispatch(0, 0, 0);
    let trace = read_trace(&l.join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.contains("carries no prediction")),
        "{:?}",
        r.not_checked
    );
    let trace = read_trace(&elsa_run(AB).join("\n"), "t.jsonl").unwrap();
    let r = check_trace(&trace, &TraceOptions::default());
    assert!(
        !r.not_checked
            .iter()
            .any(|n| n.contains("carries no prediction"))
    );
}

#[test]
fn a_dispatch_after_the_start_is_caught() {
    // Request 0 starts, then is dispatched.
    let mut l = fifs();
    l.swap(2, 3);
    assert!(
        messages(&l)
            .iter()
            .any(|m| m.contains("request 0: dispatched after it started or ended")),
        "{:?}",
        messages(&l)
    );
}

#[test]
fn what_a_trace_check_could_not_do_is_said() {
    let trace = read_trace(&fifs().join("\n"), "t.jsonl").unwrap();
    let notes = |metrics: &str| {
        let m = parse_metrics(metrics, "m.json").unwrap();
        check_trace(
            &trace,
            &TraceOptions {
                plan: None,
                metrics: Some(&m),
            },
        )
        .not_checked
    };
    // Only the missing plan: the run drained, and every reported metric is known.
    assert_eq!(notes(r#"{"finished": 4}"#).len(), 1, "{:?}", notes("{}"));
    let n = notes(r#"{"finished": 4, "gpu_hours": 2}"#);
    assert!(n.iter().any(|n| n.contains("gpu_hours")), "{n:?}");
}

#[test]
fn header_slots_and_batches_within_the_plan() {
    let trace = read_trace(&elsa_run(AB).join("\n"), "t.jsonl").unwrap();
    let check = |plan: &Plan| {
        check_trace(
            &trace,
            &TraceOptions {
                plan: Some(plan),
                metrics: None,
            },
        )
        .violations
    };
    // One slot where the plan allows two processes is fine.
    assert_eq!(check(&plan_for_elsa(2)), []);
    let mut l = elsa_run(AB);
    l[0] = l[0].replacen(r#""slots":1"#, r#""slots":2"#, 1);
    let two = read_trace(&l.join("\n"), "t.jsonl").unwrap();
    let v = check_trace(
        &two,
        &TraceOptions {
            plan: Some(&plan_for_elsa(1)),
            metrics: None,
        },
    )
    .violations;
    assert!(
        v.iter()
            .any(|v| v.message == "has 2 slots, but the plan runs 1 process(es)"),
        "{v:?}"
    );
}

#[test]
fn a_start_must_follow_its_own_dispatch() {
    // Request 2 dispatched to the 1g (instance 0) but started on the 3g.
    let mut l = elsa_run(AB);
    l[7] = elsa(
        2 * M,
        2,
        0,
        10 * M as i64,
        &[(0, 6 * M, 4 * M), (1, 0, 2 * M)],
    );
    assert!(
        messages(&l)
            .iter()
            .any(|m| m.contains("request 2: starts here, but was dispatched to instance 0")),
        "{:?}",
        messages(&l)
    );
    // Request 1's dispatch stamped 0.5 ms after the start that follows it.
    let l = fifs_with(5, dispatch(M + M / 2, 1, 0));
    assert!(
        messages(&l)
            .iter()
            .any(|m| m.contains("request 1: starts before its dispatch at 1.5 ms")),
        "{:?}",
        messages(&l)
    );
}
