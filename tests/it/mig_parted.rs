//! `migsched mig-parted check|export`.

use super::{expect, tmp, write};

/// Shaped like NVIDIA's published default config; the H100 entry is one seen in the wild
/// (a GPU operator ConfigMap) that asks for 8 GPCs on a 7-GPC GPU.
const CONFIG: &str = r#"version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  all-balanced:
    # A100-40GB
    - device-filter: ["0x20B010DE", "0x20B110DE", "0x20F110DE"]
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.5gb": 2
        "2g.10gb": 1
        "3g.20gb": 1
    # H100-80GB
    - device-filter: ["0x233010DE"]
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.10gb": 2
        "2g.20gb": 1
        "4g.40gb": 1
"#;

#[test]
fn flags_what_mig_parted_would_find_only_at_apply_time() {
    let d = tmp("mp-check");
    let f = write(&d, "config.yaml", CONFIG);
    let r = expect(&["mig-parted", "check", &f], 1);
    assert!(
        r.stdout.contains(
            "ok    all-balanced[0] devices=all on a100-40gb: 2g.10gb@0,1g.5gb@2,1g.5gb@3,3g.20gb@4"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("FAIL  all-balanced[1] devices=all on h100-80gb: cannot be placed")
    );
    assert!(r.stdout.contains("need 8 compute slices but the GPU has 7"));
    assert!(
        r.stdout
            .contains("3 entries checked, 1 would fail at apply time")
    );
}

#[test]
fn gpu_option_checks_every_entry_against_one_gpu() {
    let d = tmp("mp-gpu");
    let text = "version: v1\nmig-configs:\n  mine:\n    - devices: [0, 1]\n      mig-enabled: true\n      mig-devices:\n        \"3g.40gb\": 2\n";
    let f = write(&d, "c.yaml", text);
    let r = expect(&["mig-parted", "check", &f, "--gpu", "h100-80gb"], 0);
    assert!(
        r.stdout
            .contains("ok    mine[0] devices=[0, 1] on h100-80gb: 3g.40gb@0,3g.40gb@4"),
        "{}",
        r.stdout
    );
    // Without --gpu and without a device-filter the GPU type is unknown: unusable, exit 2;
    // the reason names the GPUs whose profiles the entry uses.
    let r = expect(&["mig-parted", "check", &f], 2);
    // (Other catalog GPUs may fit too: the catalog grows.)
    assert!(
        r.stdout
            .contains("no device-filter, so the GPU type is unknown (its profiles fit ")
            && r.stdout.contains("h100-80gb"),
        "{}",
        r.stdout
    );
    // Mixing a profile of this GPU with one it lacks: the config would fail at apply time.
    let text = text.replace("\"3g.40gb\": 2", "\"3g.20gb\": 1\n        \"3g.40gb\": 1");
    let f = write(&d, "mixed.yaml", &text);
    let r = expect(&["mig-parted", "check", &f, "--gpu", "a100-40gb"], 1);
    assert!(
        r.stdout.contains("unknown profile '3g.40gb' for a100-40gb"),
        "{}",
        r.stdout
    );
}

/// Our own config for several GPU types without device-filters, as configs for mixed
/// clusters list an 80GB GPUs' entry beside `all-1g.5gb` for A100-40GB.
const MULTI_GPU: &str = r#"version: v1
mig-configs:
  all-1g.5gb:
    - devices: all
      mig-enabled: true
      mig-devices:
        "1g.5gb": 7
  all-1g.20gb:
    - devices: all
      mig-enabled: true
      mig-devices:
        "1g.20gb": 4
  all-3g.40gb:
    - devices: all
      mig-enabled: true
      mig-devices:
        "3g.40gb": 2
"#;

#[test]
fn entries_with_another_gpus_profiles_are_not_for_this_gpu() {
    let d = tmp("mp-other-gpu");
    let f = write(&d, "multi.yaml", MULTI_GPU);
    let r = expect(&["mig-parted", "check", &f, "--gpu", "a100-40gb"], 0);
    assert!(
        r.stdout.contains(
            "ok    all-1g.5gb[0] devices=all on a100-40gb: 1g.5gb@0,1g.5gb@1,1g.5gb@2,1g.5gb@3,1g.5gb@4,1g.5gb@5,1g.5gb@6"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "skip  all-1g.20gb[0] devices=all on a100-40gb: not for this GPU: no device-filter, and its profiles (1g.20gb) are those of "
        ) && r.stdout.contains("h100-80gb"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("3 entries checked, 0 would fail at apply time, 0 could not be checked, 2 for other GPUs"),
        "{}",
        r.stdout
    );
    let r = expect(
        &["mig-parted", "check", &f, "--gpu", "a100-40gb", "--json"],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let e = &v["entries"][2]["outcome"];
    assert_eq!(
        (&e["status"], &e["by"], &e["profiles"][0]),
        (
            &serde_json::json!("not-for-this-gpu"),
            &serde_json::json!("profile-names"),
            &serde_json::json!("3g.40gb")
        ),
        "{e}"
    );
    assert!(
        e["fits"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("h100-80gb")),
        "{e}"
    );
    // On an 80GB GPU the 1g.5gb entry is the one for another GPU.
    let r = expect(&["mig-parted", "check", &f, "--gpu", "h100-80gb"], 0);
    assert!(
        r.stdout
            .contains("skip  all-1g.5gb[0] devices=all on h100-80gb: not for this GPU"),
        "{}",
        r.stdout
    );
}

/// Shaped like the GPU Operator's ConfigMap; our own small config.
const CONFIG_MAP: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: custom-mig-config
  namespace: gpu-operator
data:
  config.yaml: |
    version: v1
    mig-configs:
      all-disabled:
        - devices: all
          mig-enabled: false

      all-balanced:
        - devices: all
          mig-enabled: true
          mig-devices:
            "1g.10gb": 2
            "2g.20gb": 1
            "3g.40gb": 1

      too-much:
        - devices: all
          mig-enabled: true
          mig-devices:
            "1g.10gb": 2
            "2g.20gb": 1
            "4g.40gb": 1
"#;

#[test]
fn config_maps_and_one_config_by_name() {
    let d = tmp("mp-configmap");
    let f = write(&d, "cm.yaml", CONFIG_MAP);
    let r = expect(&["mig-parted", "check", &f, "--gpu", "h100-80gb"], 1);
    assert!(
        r.stdout.starts_with(&format!(
            "{f}: ConfigMap 'custom-mig-config', data.\"config.yaml\" at line 7\n"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("FAIL  too-much[0] devices=all on h100-80gb: cannot be placed"),
        "{}",
        r.stdout
    );
    // -c checks one configuration, as `nvidia-mig-parted apply -c` applies one.
    let r = expect(
        &[
            "mig-parted",
            "check",
            &f,
            "--gpu",
            "h100-80gb",
            "-c",
            "all-balanced",
        ],
        0,
    );
    assert!(
        r.stdout.contains(
            "ok    all-balanced[0] devices=all on h100-80gb: 2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("1 entries checked, 0 would fail"),
        "{}",
        r.stdout
    );
    let r = expect(
        &[
            "mig-parted",
            "check",
            &f,
            "--gpu",
            "h100-80gb",
            "--config",
            "too-much",
            "--json",
        ],
        1,
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["config"], "too-much");
    assert_eq!(v["source"]["form"], "config-map");
    assert_eq!(v["source"]["key"], "config.yaml");
    assert_eq!(v["source"]["name"], "custom-mig-config");
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    // An unknown name: unusable input, with the names the file has.
    let r = expect(&["mig-parted", "check", &f, "-c", "all-1g.10gb"], 2);
    assert!(
        r.stderr.contains(
            "no configuration 'all-1g.10gb'; the file has all-disabled, all-balanced, too-much"
        ),
        "{}",
        r.stderr
    );
    // The same ConfigMap among other resources, as `kubectl get -o yaml` of several gives.
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gpu-operator\n";
    let f = write(&d, "all.yaml", &format!("{ns}---\n{CONFIG_MAP}"));
    let r = expect(
        &[
            "mig-parted",
            "check",
            &f,
            "--gpu",
            "h100-80gb",
            "-c",
            "all-balanced",
        ],
        0,
    );
    assert!(
        r.stdout
            .contains("at line 12 (YAML document 2 of 2, line 6)"),
        "{}",
        r.stdout
    );
    // `plan import mig-parted` reads ConfigMaps through the same parser.
    let f = write(&d, "cm2.yaml", CONFIG_MAP);
    let r = expect(
        &[
            "plan",
            "import",
            "mig-parted",
            &f,
            "--gpu",
            "h100-80gb",
            "--config",
            "all-balanced",
        ],
        0,
    );
    assert!(
        r.stdout
            .contains("\"layout\": \"2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4\""),
        "{}",
        r.stdout
    );
}

#[test]
fn errors_in_a_config_map_name_the_line_in_the_file() {
    let d = tmp("mp-configmap-bad");
    let text = CONFIG_MAP.replace(
        "\"2g.20gb\": 1\n            \"3g.40gb\"",
        "\"2g.20gb\": one\n            \"3g.40gb\"",
    );
    let f = write(&d, "cm.yaml", &text);
    let r = expect(&["mig-parted", "check", &f, "--gpu", "h100-80gb"], 2);
    // Line 19 of the file, column 24: the embedded config's line 12, column 20.
    assert!(
        r.stderr.contains(&format!(
            "{f}: mig-configs.all-balanced[0].mig-devices.2g.20gb: invalid type: string \"one\", expected u32 at line 19 column 24"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(text.lines().nth(18).unwrap().find("one"), Some(23));
    let f = write(
        &d,
        "nodata.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  README: hello\n",
    );
    let r = expect(&["mig-parted", "check", &f], 2);
    assert!(
        r.stderr.contains(
            "ConfigMap 'x' has no data.\"config.yaml\", and none of its data keys (README) holds a mig-parted config at line 5 column 1"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn check_json() {
    let d = tmp("mp-json");
    let f = write(&d, "config.yaml", CONFIG);
    let r = expect(&["mig-parted", "check", &f, "--json"], 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries[1]["outcome"]["status"], "placeable");
    assert_eq!(entries[2]["outcome"]["status"], "unplaceable");
    assert_eq!(
        entries[2]["outcome"]["violations"][0]["rule"],
        "compute-exceeded"
    );
}

#[test]
fn malformed_configs_exit_2_with_the_location() {
    let d = tmp("mp-bad");
    let cases = [
        ("empty.yaml", "", "the file is empty"),
        ("yaml.yaml", "version: v1\nmig-configs: [\n", "yaml.yaml: "),
        (
            "devices.yaml",
            "version: v1\nmig-configs:\n  a:\n    - devices: some\n      mig-enabled: true\n",
            "at line 4 column 16",
        ),
        (
            "field.yaml",
            "version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enable: true\n",
            "unknown field `mig-enable`, expected one of `device-filter`, `devices`, `mig-enabled`, `mig-devices` at line 5 column 7",
        ),
        (
            "count.yaml",
            "version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.5gb\": -1\n",
            "invalid type: integer `-1`, expected u32 at line 7 column 19",
        ),
        (
            "version.yaml",
            "version: v9\nmig-configs: {a: []}\n",
            "version: 'v9' is not supported; expected v1 at line 1 column 10",
        ),
        (
            "deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\n",
            "this is a Kubernetes Deployment, not a mig-parted config",
        ),
    ];
    for (name, text, msg) in cases {
        let f = write(&d, name, text);
        let r = expect(&["mig-parted", "check", &f, "--gpu", "a100-40gb"], 2);
        assert!(r.stderr.contains(msg), "{name}: {}", r.stderr);
    }
    let r = expect(&["mig-parted", "check", "/no/such.yaml"], 2);
    assert!(
        r.stderr
            .contains("reading mig-parted config '/no/such.yaml'"),
        "{}",
        r.stderr
    );
}

#[test]
fn export_writes_a_config_that_checks_clean() {
    let d = tmp("mp-export");
    let out = d.join("mig.yaml").display().to_string();
    expect(
        &[
            "mig-parted",
            "export",
            "--gpu",
            "h100-80gb",
            "--name",
            "serving",
            "7g.80gb",
            "3g.40gb,3g.40gb",
            "-o",
            &out,
        ],
        0,
    );
    let text = std::fs::read_to_string(&out).unwrap();
    // The filter lists every PCI id the catalog has for the GPU type (H100 SXM5 first).
    assert!(
        text.contains(
            "  serving:\n    # h100-80gb: 7g.80gb@0\n    - device-filter: [\"0x233010DE\""
        ),
        "{text}"
    );
    assert!(
        text.contains("]\n      devices: [0]\n      mig-enabled: true\n"),
        "{text}"
    );
    assert!(text.contains("      devices: [1]\n      mig-enabled: true\n      mig-devices:\n        \"3g.40gb\": 2\n"), "{text}");
    let r = expect(&["mig-parted", "check", &out], 0);
    assert!(
        r.stdout
            .contains("serving[1] devices=[1] on h100-80gb: 3g.40gb@0,3g.40gb@4")
    );
    // To stdout, one layout for all devices.
    let r = expect(
        &[
            "mig-parted",
            "export",
            "--gpu",
            "a100-80gb",
            "3g.40gb,2g.20gb,2x1g.10gb",
        ],
        0,
    );
    assert!(r.stdout.contains("      devices: all\n"));
}

#[test]
fn export_refuses_illegal_layouts_without_writing() {
    let d = tmp("mp-export-bad");
    let out = d.join("mig.yaml");
    let r = expect(
        &[
            "mig-parted",
            "export",
            "--gpu",
            "a100-80gb",
            "7g.80gb,1g.10gb",
            "-o",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("layout 1 '7g.80gb,1g.10gb' cannot be written: it is not legal"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        0,
        "no temporary file left behind"
    );
    let r = expect(
        &[
            "mig-parted",
            "export",
            "--gpu",
            "a100-80gb",
            "--devices",
            "0,x",
            "7g.80gb",
        ],
        2,
    );
    assert!(
        r.stderr.contains("--devices: 'x' is not a device index"),
        "{}",
        r.stderr
    );
}
