//! End-to-end tests of the `migsched` binary: every subcommand, its output, its exit code,
//! and its handling of bad input (clear message, exit 2, no panic, no partial output).

mod catalog;
mod closed_pipe;
mod gpulet;
mod gpus;
mod hostile;
mod hwbench;
mod instance;
mod layouts;
mod mig_parted;
mod models;
mod nodes;
mod profile;
mod reproduce;
mod simulate;
mod solve;
mod sweep;
mod verify;

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run of the binary produced.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `migsched` with arguments from the repository root, without MIGSCHED_CATALOG.
pub fn migsched(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_migsched"))
        .args(args)
        .current_dir(repo())
        .env_remove("MIGSCHED_CATALOG")
        .output()
        .expect("running migsched");
    let run = Run {
        code: out.status.code().expect("migsched was killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "migsched panicked on {args:?}:\n{}",
        run.stderr
    );
    run
}

/// Asserts the exit code and returns the run, showing both streams on failure.
pub fn expect(args: &[&str], code: i32) -> Run {
    let run = migsched(args);
    assert_eq!(
        run.code, code,
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

/// The repository root (where `datasets/` is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ParvaGPU's measured data beside the checkout (`../shared/...`, or `MIGSCHED_PARVAGPU_DIR`),
/// or `None` with the reason printed: tests that need it skip.
pub fn parvagpu_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MIGSCHED_PARVAGPU_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/datasets/parvagpu-a100-80gb"));
    if dir.join("prof_data").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: ParvaGPU data not found at {} (set MIGSCHED_PARVAGPU_DIR)",
            dir.display()
        );
        None
    }
}

/// A fresh temporary directory for one test.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("migsched-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `reproduce TARGET --quick --out DIR` (exit 0) and returns its summary, which it both
/// printed and wrote to `DIR/summary.md`.
pub fn reproduce_quick(target: &str, dir: &Path) -> String {
    let r = expect(
        &[
            "reproduce",
            target,
            "--quick",
            "--out",
            dir.to_str().unwrap(),
        ],
        0,
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(r.stdout, summary);
    summary
}

/// Asserts that `text` contains every one of `rows`.
pub fn assert_rows(text: &str, rows: &[&str]) {
    for row in rows {
        assert!(text.contains(row), "missing {row}:\n{text}");
    }
}

/// Writes a file into `dir` and returns its path as text.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn help_and_version() {
    let r = expect(&["--help"], 0);
    assert!(
        r.stdout
            .contains("Exit codes: 0 success; 1 the answer is \"no\"")
    );
    for sub in [
        "gpus",
        "layouts",
        "check-layout",
        "mig-parted",
        "catalog",
        "models",
        "profile",
        "solve",
        "compare",
        "instance",
        "simulate",
        "peak",
        "bench",
        "hwbench",
    ] {
        assert!(r.stdout.contains(sub), "{sub}");
        let h = expect(&[sub, "--help"], 0);
        assert!(h.stdout.contains("Usage: migsched"), "{sub}");
    }
    assert!(expect(&["--version"], 0).stdout.starts_with("migsched "));
}

#[test]
fn usage_errors_exit_2() {
    let r = expect(&["no-such-command"], 2);
    assert!(r.stderr.contains("unrecognized subcommand"));
    expect(&["layouts"], 2);
    expect(&[], 2);
}
