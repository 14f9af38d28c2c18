//! `migsched layouts` and `migsched check-layout`.

use super::expect;

const A100_DOC_PROFILES: &str = "1g.5gb,2g.10gb,3g.20gb,4g.20gb,7g.40gb";

#[test]
fn counts_match_nvidia_documentation() {
    let args = [
        "layouts",
        "--gpu",
        "a100-40gb",
        "--maximal",
        "--profiles",
        A100_DOC_PROFILES,
        "--count",
    ];
    assert_eq!(expect(&args, 0).stdout, "19\n");
    let mut before = args.to_vec();
    before.push("--before-r510");
    assert_eq!(expect(&before, 0).stdout, "18\n");
}

#[test]
fn maximal_layouts_are_printed_with_a_slice_map() {
    let r = expect(
        &[
            "layouts",
            "--gpu",
            "a100-40gb",
            "--maximal",
            "--profiles",
            A100_DOC_PROFILES,
        ],
        0,
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("19 maximal layouts of A100-SXM4-40GB (a100-40gb)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].contains("7g.40gb@0") && lines[2].contains("[7g"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains("4g.20gb@0,3g.20gb@4"));
    assert_eq!(lines.len(), 21);
}

#[test]
fn layouts_json() {
    let r = expect(&["layouts", "--gpu", "a30-24gb", "--maximal", "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["count"].as_u64().unwrap() as usize,
        v["layouts"].as_array().unwrap().len()
    );
    assert_eq!(v["layouts"][0]["layout"], "4g.24gb@0");
    let r = expect(&["layouts", "--gpu", "a30-24gb", "--count", "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v.get("layouts").is_none());
}

#[test]
fn layouts_bad_input() {
    let r = expect(
        &[
            "layouts",
            "--gpu",
            "a100-40gb",
            "--profiles",
            "1g.5gb,9g.99gb",
        ],
        2,
    );
    assert!(
        r.stderr.contains("unknown profile '9g.99gb' for a100-40gb"),
        "{}",
        r.stderr
    );
    expect(&["layouts", "--gpu", "nope"], 2);
}

#[test]
fn legal_text_form_is_echoed_in_canonical_order() {
    let r = expect(
        &[
            "check-layout",
            "--gpu",
            "a100-80gb",
            "1g.10gb@6,2g.20gb@4,3g.40gb@0",
        ],
        0,
    );
    assert!(
        r.stdout
            .starts_with("legal on A100-SXM4-80GB (a100-80gb): 3g.40gb@0,2g.20gb@4,1g.10gb@6\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("6/7 compute slices, 7/8 memory slices, 84 SMs")
    );
    assert!(r.stdout.contains("maximal: no other instance fits"));
}

#[test]
fn counts_are_placed_by_search() {
    let r = expect(
        &[
            "check-layout",
            "--gpu",
            "a100-40gb",
            "2x1g.5gb,2g.10gb,3g.20gb",
        ],
        0,
    );
    assert!(
        r.stdout.contains(": 2g.10gb@0,1g.5gb@2,1g.5gb@3,3g.20gb@4"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("placement search"));
}

#[test]
fn illegal_layout_lists_every_reason_and_exits_1() {
    let r = expect(
        &[
            "check-layout",
            "--gpu",
            "a100-80gb",
            "3g.40gb@2,2g.20gb@4,1g.10gb@4",
        ],
        1,
    );
    assert_eq!(
        r.stdout,
        "'3g.40gb@2,2g.20gb@4,1g.10gb@4' is illegal on A100-SXM4-80GB (a100-80gb):
  - 3g.40gb@2: 3g.40gb cannot start at memory slice 2; legal starts: 0, 4
  - 3g.40gb@2 and 2g.20gb@4 overlap on memory slices 4, 5
  - 3g.40gb@2 and 1g.10gb@4 overlap on memory slice 4
  - 2g.20gb@4 and 1g.10gb@4 overlap on memory slice 4
"
    );
}

#[test]
fn unplaceable_counts_say_how_to_fix_them() {
    let r = expect(
        &[
            "check-layout",
            "--gpu",
            "h100-80gb",
            "2x1g.10gb,2g.20gb,4g.40gb",
        ],
        1,
    );
    assert!(
        r.stdout
            .contains("need 8 compute slices but the GPU has 7; remove 1 compute slice(s)"),
        "{}",
        r.stdout
    );
    let r = expect(
        &["check-layout", "--gpu", "a100-80gb", "3g.40gb@0,2x2g.20gb"],
        1,
    );
    assert!(
        r.stdout.contains("removing one 2g.20gb makes it placeable"),
        "{}",
        r.stdout
    );
}

#[test]
fn pre_r510_rule_is_optional() {
    expect(
        &["check-layout", "--gpu", "a100-40gb", "4g.20gb,3g.20gb"],
        0,
    );
    let r = expect(
        &[
            "check-layout",
            "--gpu",
            "a100-40gb",
            "--before-r510",
            "4g.20gb,3g.20gb",
        ],
        1,
    );
    assert!(r.stdout.contains("cannot share a GPU before driver R510"));
}

#[test]
fn check_json_for_both_answers() {
    let r = expect(
        &[
            "check-layout",
            "--gpu",
            "a100-80gb",
            "--json",
            "3g.40gb@4,1g.10gb",
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["legal"], true);
    assert_eq!(v["placed_by_search"], true);
    assert_eq!(v["layout"]["layout"], "1g.10gb@0,3g.40gb@4");
    let r = expect(
        &["check-layout", "--gpu", "a100-80gb", "--json", "3g.40gb@2"],
        1,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["legal"], false);
    assert_eq!(v["violations"][0]["rule"], "illegal-start");
    assert_eq!(
        v["violations"][0]["legal_starts"],
        serde_json::json!([0, 4])
    );
}

#[test]
fn check_bad_input_exits_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--gpu", "a100-80gb", "3g.20gb"],
            "unknown profile '3g.20gb' for a100-80gb",
        ),
        (
            &["--gpu", "a100-80gb", "3g.20gb"],
            "('3g.20gb' is a profile of a100-40gb)",
        ),
        (
            &["--gpu", "a100-80gb", "3g.40gb@x"],
            "item 1 '3g.40gb@x': start 'x' is not a memory-slice number (0 to 7)",
        ),
        (
            &["--gpu", "a100-80gb", "3g.40gb,,1g.10gb"],
            "item 2 '': empty item",
        ),
        (
            &["--gpu", "a100-80gb", ""],
            "the layout is empty; write `empty`",
        ),
        (&["--gpu", "v100", "7g.40gb"], "unknown GPU 'v100'"),
    ];
    for (args, msg) in cases {
        let mut full = vec!["check-layout"];
        full.extend_from_slice(args);
        let r = expect(&full, 2);
        assert!(r.stderr.contains(msg), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    expect(&["check-layout", "--gpu", "a100-80gb", "empty"], 0);
}
