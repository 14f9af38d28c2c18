//! The slim binary ends quietly when its reader goes away (`migsched-hwbench ... | head -1`
//! or `| true`): exit 0 or its normal answer, never a panic or a signal. The main binary's
//! `tests/it/closed_pipe.rs` covers the same commands through `migsched hwbench`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use crate::no_driver::PLAN;
use crate::support::fixture;

/// Runs the slim binary with stdout closed after its first line (or at once); the exit code
/// and whatever it wrote to stderr.
fn run_closed(args: &[&str], after_first_line: bool) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_migsched-hwbench"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MIGSCHED_CATALOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running migsched-hwbench");
    let mut stderr = child.stderr.take().unwrap();
    let drain = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().unwrap();
    if after_first_line {
        let mut first = String::new();
        let n = BufReader::new(stdout).read_line(&mut first).unwrap();
        assert!(n > 0, "{args:?}: no first line");
    } else {
        drop(stdout);
    }
    let status = child.wait().unwrap();
    (status.code(), drain.join().unwrap())
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let plan = std::env::temp_dir().join(format!("hwbench-pipe-{}.json", std::process::id()));
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.display().to_string();
    let a100 = fixture("a100-80gb-mig.json").display().to_string();
    for (args, code) in [
        (vec!["--help"], 0),
        (vec!["discover", "--state", &a100], 0),
        (vec!["discover", "--state", &a100, "--json"], 0),
        (vec!["diff", &plan, "--state", &a100], 1),
        (vec!["diff", &plan, "--state", &a100, "--json"], 1),
        (vec!["diff", &plan, "--mig-parted"], 0),
    ] {
        for after_first_line in [true, false] {
            let (status, stderr) = run_closed(&args, after_first_line);
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert!(
                status == Some(0) || status == Some(code),
                "{args:?} (after first line: {after_first_line}): {status:?}\n{stderr}"
            );
        }
    }
    let _ = std::fs::remove_file(&plan);
}
