//! The slim binary's outputs: never over one of its inputs, and `/dev/null` works.

use std::process::Command;

use super::support::fixture;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_migsched-hwbench"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn discover_never_writes_over_its_state_file() {
    let dir = std::env::temp_dir().join(format!("migsched-hwbench-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    std::fs::copy(fixture("a100-80gb-mig.json"), &state).unwrap();
    let before = std::fs::read(&state).unwrap();
    let s = state.display().to_string();
    let (code, stderr) = run(&["discover", "--state", &s, "-o", &s]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("refusing to write over the input '{s}'")),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&state).unwrap(), before);
    // Another output path, and the null device, are fine.
    let copy = dir.join("copy.json").display().to_string();
    assert_eq!(run(&["discover", "--state", &s, "-o", &copy]).0, Some(0));
    assert_eq!(
        run(&["discover", "--state", &s, "-o", "/dev/null"]).0,
        Some(0)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["copy.json", "state.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
