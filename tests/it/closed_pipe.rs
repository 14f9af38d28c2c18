//! Every command that prints ends quietly when its reader goes away, as in `migsched ... |
//! head -1` or `| true`: it exits 0 or with its normal answer, never with a panic (exit 101,
//! "failed printing to stdout: Broken pipe") or a signal. The commands are the ones
//! `migsched --help` and each group's `--help` list; a command added there without a case here
//! fails `every_listed_command_has_a_case`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{expect, parvagpu_dir, repo, tmp, write};

/// Commands that print nothing on stdout (their report goes to stderr or files), with no case.
const SILENT: &[&str] = &["models export"];

/// When the test closes the command's stdout.
#[derive(Debug, Clone, Copy)]
enum Close {
    /// After reading the first line (`| head -1`).
    AfterFirstLine,
    /// Before the command writes anything (`| true`): its first write meets a closed pipe.
    AtOnce,
}

/// One command line and its exit code when stdout stays open.
struct Case {
    args: Vec<String>,
    code: i32,
}

/// Runs the command with stdout a pipe closed as `close` says; returns an error message
/// unless it ended quietly: exit 0 (the closed pipe) or `case.code`, no panic on stderr, and
/// (after the first line) a first line that was there to read.
fn run_closed(case: &Case, close: Close) -> Result<(), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_migsched"))
        .args(&case.args)
        .current_dir(repo())
        .env_remove("MIGSCHED_CATALOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning: {e}"))?;
    // stderr is drained beside, so a command that reports progress there cannot block.
    let mut stderr = child.stderr.take().unwrap();
    let drain = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    if let Close::AfterFirstLine = close {
        let read = BufReader::new(stdout).read_line(&mut first);
        // The reader (and the read end of the pipe) is dropped here, right after one line.
        if !matches!(read, Ok(n) if n > 0) {
            let _ = child.wait();
            let err = drain.join().unwrap();
            return Err(format!(
                "no first line on stdout ({read:?}); stderr:\n{err}"
            ));
        }
    } else {
        drop(stdout);
    }
    let status = child.wait().map_err(|e| format!("waiting: {e}"))?;
    let err = drain.join().unwrap();
    if err.contains("panicked") {
        return Err(format!("panicked ({status}):\n{err}"));
    }
    match status.code() {
        Some(c) if c == 0 || c == case.code => Ok(()),
        Some(c) => Err(format!("exit {c}, expected 0 or {}:\n{err}", case.code)),
        None => Err(format!("killed by a signal ({status}):\n{err}")),
    }
}

/// Every command that prints, with small fast arguments and bundled data: the exit code it
/// gives when stdout stays open, then the command line. Words are split at spaces, then `{d}` is
/// the test's directory (made by [`inputs`]), `{parvagpu}` ParvaGPU's data (those cases run only
/// where it is), and the other `{...}` bundled files (see [`cases`]).
const CASES: &[&str] = &[
    "0 --help",
    "0 --version",
    "0 help solve",
    "0 gpus",
    "0 gpus h100-80gb",
    "0 gpus --json",
    "0 layouts --gpu a100-80gb",
    "0 layouts --gpu a100-80gb --maximal --json",
    "0 check-layout --gpu a100-80gb 3g.40gb,2g.20gb,2x1g.10gb",
    "1 check-layout --gpu a100-80gb 4g.40gb@0,4g.40gb@4",
    "0 check-layout --gpu h100-80gb 2x1g.10gb,4g.40gb --json",
    "1 mig-parted check {fix}/mig-parted.yaml",
    "1 mig-parted check {fix}/mig-parted.yaml --json",
    "0 mig-parted export --gpu a100-80gb 3g.40gb,2x2g.20gb 7g.80gb",
    "0 catalog diff --lgip {smi}/lgip.txt --lgipp {smi}/lgipp.txt",
    "0 catalog diff --lgip {smi}/lgip.txt --lgipp {smi}/lgipp.txt --json",
    "0 catalog toml",
    "0 solve {small}",
    "0 solve {small} --method greedy --json",
    "0 compare {small}",
    "0 compare {small} --json",
    "0 simulate {small} --plan {d}/plan.json --duration 2",
    "0 simulate {small} --plan {d}/plan.json --duration 2 --json",
    "0 simulate-nodes --model mobilenetv2 --requests 50",
    "0 simulate-nodes --requests 50 --json",
    "0 peak {small} --plan {d}/plan.json --duration 1 --tolerance 0.2",
    "0 peak {small} --plan {d}/plan.json --duration 1 --max-load 2 --json",
    "0 reproduce paris-elsa --quick --out {d}/paris-elsa",
    "0 reproduce scaling --quick --out {d}/scaling",
    "0 reproduce lazybatching --quick --out {d}/lazybatching",
    "0 reproduce gpulet --quick --out {d}/gpulet",
    "0 reproduce parvagpu --data {parvagpu} --out {d}/parvagpu",
    "0 report {d}/repro",
    "0 bench solver --gpus 8 --models 4 --time-limit 5",
    "0 bench sim --requests 20000",
    "0 bench sim --requests 20000 --json",
    "0 instance import parvagpu {parvagpu} --scenario 1 -o {d}/s1.toml",
    "0 profile show {profiles}",
    "0 profile show {profiles} --rows",
    "0 profile show {profiles} --model resnet50 --json",
    "0 profile generate --gpu a100-80gb --models resnet50",
    "0 profile calibrate --measured {profiles} --gpu a100-80gb",
    "0 profile calibrate --measured {profiles} --gpu a100-80gb --json",
    "0 profile import parvagpu {parvagpu} --gpu a100-80gb -o {d}/parva.csv",
    "0 profile import perf-analyzer {d}/pa.csv --gpu a100-80gb --profile 3g.40gb --model resnet50 \
     --batch 1 -o {d}/pa-table.csv",
    "0 models",
    "0 models --json",
    "0 models show resnet50",
    "0 models show mobilenetv2 --nodes",
    "0 models show mobilenetv2 --json",
    "1 verify layout {d}/bad-layouts.txt --gpu a100-80gb",
    "1 verify layout {fix}/layouts.txt --gpu a100-80gb",
    "1 verify layout {fix}/layouts.txt --gpu a100-80gb --json",
    "0 verify layout {fix}/mig-parted.yaml --gpu a100-80gb",
    "0 verify plan {d}/plan.json --instance {small}",
    "0 verify plan {d}/plan.json --instance {small} --json",
    "0 verify trace {d}/sim.jsonl",
    "0 verify trace {d}/nodes.jsonl",
    "1 verify trace {fix}/fifs-broken.jsonl",
    "1 verify trace {fix}/fifs-broken.jsonl --json",
    "0 plan import parvagpu {fix}/parvagpu-deploy.csv --instance {fix}/parvagpu-instance.toml",
    "0 plan import parvagpu {fix}/parvagpu-deploy.csv --instance {fix}/parvagpu-instance.toml \
     -o {d}/parva-plan.json",
    "0 plan import mig-parted {fix}/mig-parted.yaml --config balanced",
    "0 plan import mig-parted {fix}/mig-parted.yaml --config balanced -o {d}/mp-plan.json",
    "0 sweep datasets/sweeps/example.toml -o {d}/sweep-case",
    "0 sweep merge {d}/sweep -o {d}/merged",
    "0 interference show",
    "0 interference show --json",
    "0 interference fit {d}/samples.csv --gpu a100-80gb",
    "0 interference fit {d}/samples.csv --gpu a100-80gb --json",
    "0 interference synthesize --gpu h100-80gb -o {d}/samples-h100.csv",
    "0 hwbench discover --state {state}",
    "0 hwbench discover --state {state} --json",
    "1 hwbench diff {d}/plan.json --state {state}",
    "1 hwbench diff {d}/plan.json --state {state} --json",
    "0 hwbench diff {d}/plan.json --mig-parted",
];

/// The cases' argument lists; without ParvaGPU's data, those that need it are left out.
fn cases(d: &Path, parvagpu: Option<&Path>) -> Vec<Case> {
    let fixed = [
        ("{small}", "datasets/instances/small.toml"),
        ("{profiles}", "datasets/profiles/a100-80gb.csv"),
        ("{smi}", "datasets/nvidia-smi/a100-40gb-before-r525"),
        ("{fix}", "verify/tests/fixtures"),
        ("{state}", "hwbench/tests/fixtures/a100-80gb-mig.json"),
    ];
    CASES
        .iter()
        .filter(|line| parvagpu.is_some() || !line.contains("{parvagpu}"))
        .map(|line| {
            let (code, line) = line.split_once(' ').unwrap();
            Case {
                code: code.parse().unwrap(),
                args: line
                    .split_whitespace()
                    .map(|word| {
                        let mut word = word.replace("{d}", &d.display().to_string());
                        if let Some(p) = parvagpu {
                            word = word.replace("{parvagpu}", &p.display().to_string());
                        }
                        for (key, path) in fixed {
                            word = word.replace(key, path);
                        }
                        word
                    })
                    .collect(),
            }
        })
        .collect()
}

/// What the cases read: a plan, traces, co-location samples, a reproduction, a sweep, a
/// perf_analyzer CSV, and a layouts file whose report (well over a pipe's 64 KiB) cannot fit
/// in the pipe, so that its writes meet the closed pipe whatever the timing.
fn inputs(d: &Path) {
    let run = |line: &str| {
        let args: Vec<String> = line
            .split_whitespace()
            .map(|w| w.replace("{d}", &d.display().to_string()))
            .collect();
        expect(&args.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    };
    let small = "datasets/instances/small.toml";
    run(&format!("solve {small} -o {{d}}/plan.json"));
    run(&format!(
        "simulate {small} --plan {{d}}/plan.json --duration 2 --trace {{d}}/sim.jsonl"
    ));
    run("simulate-nodes --model mobilenetv2 --requests 50 --trace {d}/nodes.jsonl");
    run("interference synthesize --gpu a100-80gb -o {d}/samples.csv");
    run("reproduce lazybatching --quick --out {d}/repro");
    run("sweep datasets/sweeps/example.toml -o {d}/sweep");
    let bad = "3g.40gb@0,3g.40gb@2\n7g.80gb@0,1g.10gb@0\n4g.40gb@0,4g.40gb@4\n".repeat(400);
    write(d, "bad-layouts.txt", &bad);
    let pa = "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,\
              Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,\
              p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,\
              response wait\n\
              1,480.2,10,250,5,30,1750,20,5,2050,2200,2300,2500,2080,0,0\n";
    write(d, "pa.csv", pa);
}

#[test]
fn every_command_ends_quietly_on_a_closed_stdout() {
    let d = tmp("closed-pipe");
    inputs(&d);
    let parvagpu = parvagpu_dir();
    let mut failures = Vec::new();
    for case in cases(&d, parvagpu.as_deref()) {
        for close in [Close::AfterFirstLine, Close::AtOnce] {
            if let Err(e) = run_closed(&case, close) {
                failures.push(format!("{:?} ({close:?}): {e}", case.args));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&d);
}

/// The commands `migsched --help` lists, and under each group the ones its `--help` lists
/// (to any depth); a group that also runs on its own (`models`, `sweep`) counts as a command.
fn listed_commands(prefix: &[String], out: &mut Vec<String>) {
    let args: Vec<&str> = prefix
        .iter()
        .map(String::as_str)
        .chain(["--help"])
        .collect();
    let help = expect(&args, 0).stdout;
    let subs: Vec<String> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    // "Usage: migsched sweep [OPTIONS] --out <OUT> <SPEC>" then "       migsched sweep <COMMAND>".
    let usage: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Usage: "))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("       migsched"))
        .map(|(_, l)| l)
        .collect();
    let runs_alone = usage.iter().any(|l| !l.trim_end().ends_with("<COMMAND>"));
    if !prefix.is_empty() && (subs.is_empty() || runs_alone) {
        out.push(prefix.join(" "));
    }
    for sub in subs {
        let mut p = prefix.to_vec();
        p.push(sub);
        listed_commands(&p, out);
    }
}

#[test]
fn every_listed_command_has_a_case() {
    let mut listed = Vec::new();
    listed_commands(&[], &mut listed);
    assert!(listed.len() > 30, "{listed:?}");
    for silent in SILENT {
        assert!(
            listed.iter().any(|c| c == silent),
            "{silent} is not a command"
        );
    }
    let missing: Vec<&String> = listed
        .iter()
        .filter(|cmd| !SILENT.contains(&cmd.as_str()))
        .filter(|cmd| {
            let words: Vec<&str> = cmd.split(' ').collect();
            !CASES.iter().any(|line| {
                let args: Vec<&str> = line.split_whitespace().skip(1).collect();
                args.len() >= words.len() && args[..words.len()] == words[..]
            })
        })
        .collect();
    assert!(missing.is_empty(), "no closed-pipe case for {missing:?}");
}
