//! Recorded device states: parsing, checks, and the comparison with the catalog.

use migsched_core::Catalog;
use migsched_hwbench::compare::{compare, driver_rules};
use migsched_hwbench::state::DeviceState;

use crate::support::{fixture, load};

#[test]
fn a100_in_mig_mode_agrees_with_the_catalog() {
    let state = load("a100-80gb-mig.json");
    let cmp = compare(Catalog::builtin(), &state);
    assert_eq!(cmp.len(), 1);
    let g = &cmp[0];
    assert_eq!(g.gpu_type.as_deref(), Some("a100-80gb"));
    assert_eq!(g.differences, vec![], "{g:?}");
    assert_eq!(
        g.layout.as_deref(),
        Some("2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4")
    );
    let ci = &state.gpus[0].gpu_instances[1].compute_instances[0];
    assert_eq!(ci.processes[0].pid, 4242);
    assert!(ci.uuid.as_deref().unwrap().starts_with("MIG-"));
}

#[test]
fn h100_with_mig_disabled_has_no_layout_and_a_note() {
    let state = load("h100-80gb-nomig.json");
    let g = &compare(Catalog::builtin(), &state)[0];
    assert_eq!(g.gpu_type.as_deref(), Some("h100-80gb"));
    assert_eq!(g.differences, vec![]);
    assert_eq!(g.layout, None);
    assert_eq!(g.notes.len(), 1, "{:?}", g.notes);
}

#[test]
fn a100_40gb_before_r525_lacks_a_profile() {
    let state = load("a100-40gb-r470.json");
    let g = &compare(Catalog::builtin(), &state)[0];
    let fields: Vec<(&str, &str)> = g
        .differences
        .iter()
        .map(|d| (d.subject.as_str(), d.field.as_str()))
        .collect();
    assert_eq!(fields, vec![("1g.10gb", "profile")]);
    assert_eq!(g.layout.as_deref(), Some("7g.40gb@0"));
    assert_eq!(
        driver_rules(&state.driver_version),
        migsched_core::Driver::BeforeR510
    );
}

#[test]
fn every_field_that_differs_is_reported() {
    let mut state = load("a100-80gb-mig.json");
    let g = &mut state.gpus[0];
    g.sm_count = Some(100);
    g.profiles[4].sm_count = 40; // 3g.40gb
    g.profiles[4].placements = vec![0, 2, 4];
    g.profiles[0].instance_count = 6; // 1g.10gb
    let cmp = &compare(Catalog::builtin(), &state)[0];
    let mut fields: Vec<String> = cmp
        .differences
        .iter()
        .map(|d| format!("{}:{}:{}:{}", d.subject, d.field, d.catalog, d.device))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "1g.10gb:max_count:7:6",
            "3g.40gb:sm_count:42:40",
            "3g.40gb:starts:0,4:0,2,4",
            "gpu:sm_count:108:100",
        ]
    );
}

#[test]
fn unknown_gpus_and_illegal_layouts_are_reported() {
    let mut state = load("a100-80gb-mig.json");
    // Two 1g.10gb on the 2g.20gb's slices: overlapping memory.
    state.gpus[0].gpu_instances[0].profile_id = 19;
    state.gpus[0].gpu_instances[0].size = 1;
    state.gpus[0].gpu_instances[0].start = 2;
    let cmp = &compare(Catalog::builtin(), &state)[0];
    assert!(
        cmp.differences
            .iter()
            .any(|d| d.field == "layout" && d.device.contains("illegal")),
        "{cmp:?}"
    );
    let mut state = load("h100-80gb-nomig.json");
    state.gpus[0].name = "NVIDIA L4".into();
    state.gpus[0].pci_device_id = Some("0x27B8".into());
    let cmp = &compare(Catalog::builtin(), &state)[0];
    assert_eq!(cmp.gpu_type, None);
    assert_eq!(cmp.differences[0].field, "type");
}

#[test]
fn a_gpu_is_identified_by_pci_id_when_the_name_is_unknown() {
    let mut state = load("a100-80gb-mig.json");
    state.gpus[0].name = "NVIDIA Graphics Device".into();
    let cmp = &compare(Catalog::builtin(), &state)[0];
    assert_eq!(cmp.gpu_type.as_deref(), Some("a100-80gb"));
    state.gpus[0].pci_device_id = None;
    let cmp = &compare(Catalog::builtin(), &state)[0];
    assert_eq!(cmp.gpu_type, None);
}

#[test]
fn bad_snapshots_name_the_field() {
    let text = std::fs::read_to_string(fixture("a100-80gb-mig.json")).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("{".into(), "not a device-state file"),
        (edit(&|v| v["format"] = "other/1".into()), "format"),
        (
            edit(&|v| v["gpus"][0]["gpu_instances"][1]["id"] = 3.into()),
            "gpus[0].gpu_instances[1].id: GI id 3 appears twice",
        ),
        (
            edit(&|v| v["gpus"][0]["memory_mib"] = 0.into()),
            "gpus[0].memory_mib",
        ),
        (
            edit(&|v| v["gpus"][0]["gpu_instances"][3]["size"] = 2.into()),
            "gpus[0].gpu_instances[3].size",
        ),
        (
            edit(&|v| v["gpus"][0]["profiles"][2]["id"] = 19.into()),
            "gpus[0].profiles[2].id",
        ),
        (
            edit(&|v| v["gpus"][0]["mig"]["current"] = false.into()),
            "MIG disabled",
        ),
        (
            edit(&|v| v["gpus"][0]["gpu_instances"][0]["start"] = (-1).into()),
            "not a device-state file",
        ),
        (text.replacen("\"uuid\"", "\"uuuid\"", 1), "unknown field"),
    ];
    for (bad, want) in cases {
        let e = DeviceState::from_json_str(&bad, "s.json").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("s.json: "), "{msg}");
        assert!(msg.contains(want), "want '{want}' in: {msg}");
    }
}

#[test]
fn snapshots_round_trip_through_json() {
    for name in [
        "a100-80gb-mig.json",
        "h100-80gb-nomig.json",
        "a100-40gb-r470.json",
    ] {
        let state = load(name);
        let again = DeviceState::from_json_str(&state.to_json(), "again").unwrap();
        assert_eq!(state, again, "{name}");
    }
}
