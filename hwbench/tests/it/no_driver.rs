//! On a machine without an NVIDIA driver every live command fails clearly with exit 2.
//! Where a driver is present (a GPU machine), these tests say so and skip.

use std::process::Command;

/// Whether libnvidia-ml can be opened here; tests that need its absence skip otherwise.
fn driver_absent() -> bool {
    if migsched_hwbench::nvml::driver_present() {
        eprintln!("skipped: an NVIDIA driver is present on this machine");
        false
    } else {
        true
    }
}

fn hwbench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_migsched-hwbench"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MIGSCHED_CATALOG")
        .output()
        .expect("running migsched-hwbench");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().expect("not killed"),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

#[test]
fn live_commands_fail_clearly_without_a_driver() {
    if !driver_absent() {
        return;
    }
    let e = migsched_hwbench::nvml::discover().unwrap_err().to_string();
    assert!(e.starts_with("no NVIDIA driver"), "{e}");
    let plan = std::env::temp_dir().join(format!("hwbench-nodrv-{}.json", std::process::id()));
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.display().to_string();
    for args in [
        vec!["discover"],
        vec!["discover", "--json"],
        vec!["diff", &plan],
        vec!["diff", &plan, "--apply", "--yes"],
    ] {
        let (code, stdout, stderr) = hwbench(&args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains("no NVIDIA driver"), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    let _ = std::fs::remove_file(&plan);
}

/// A one-GPU plan (A100-80GB, two 3g.40gb).
pub const PLAN: &str = r#"{
  "format": "migsched-plan/1", "instance": "t", "method": "ilp", "objective": "min-gpus",
  "gpus": [ { "index": 0, "type": "a100-80gb", "layout": "3g.40gb@0,3g.40gb@4",
    "instances": [ { "profile": "3g.40gb", "start": 0, "model": "resnet50", "batch": 8, "procs": 1 },
                   { "profile": "3g.40gb", "start": 4, "model": null } ] } ],
  "models": [], "gpus_used": 1, "cost": 1.0
}"#;
