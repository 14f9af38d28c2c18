//! Hostile input (issue 17): every reproduction of the issue as a test, and a mutation fuzzer
//! that runs commands on mutated bundled inputs under a memory and time limit.
//!
//! Every run here goes through [`limited`]: `ulimit -v` (4 GiB of address space) and a
//! wall-clock limit, so a runaway allocation or an endless loop fails the test instead of the
//! machine. The fuzzer's case count is `MIGSCHED_FUZZ_CASES` (default 40; the README's Testing
//! section gives the deep-run command).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Run, repo, tmp, write};

/// Address space a run may use, KiB (`ulimit -v`).
const MEMORY_KIB: u64 = 4 * 1024 * 1024;
/// Wall-clock seconds a run may take.
const SECONDS: u32 = 60;

/// Runs `migsched` from `cwd` under the memory and time limits; a kill by either fails the
/// test (exit 124 from `timeout`, or a signal).
fn limited(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_KIB}; exec timeout {SECONDS} \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_migsched"))
        .args(args)
        .current_dir(cwd)
        .env_remove("MIGSCHED_CATALOG")
        .output()
        .expect("running migsched under sh");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("memory allocation"),
        "{args:?} crashed:\n{}",
        run.stderr
    );
    assert_ne!(run.code, 124, "{args:?} ran past {SECONDS} s");
    assert!(
        [0, 1, 2].contains(&run.code),
        "{args:?} exited {} (only 0, 1 and 2 are allowed):\n{}",
        run.code,
        run.stderr
    );
    run
}

/// [`limited`] from the repository root, expecting `code` and `needle` in stderr.
fn refused(args: &[&str], code: i32, needle: &str) -> Run {
    let r = limited(&repo(), args);
    assert_eq!(r.code, code, "{args:?}\nstderr:\n{}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "{args:?}: wanted '{needle}' in\n{}",
        r.stderr
    );
    r
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                files.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

fn instance_copy(d: &Path) -> PathBuf {
    // The instance names its profile table relative to itself: keep that layout.
    std::fs::create_dir_all(d.join("instances")).unwrap();
    std::fs::create_dir_all(d.join("profiles")).unwrap();
    std::fs::copy(
        repo().join("datasets/profiles/a100-80gb.csv"),
        d.join("profiles/a100-80gb.csv"),
    )
    .unwrap();
    let p = d.join("instances/small.toml");
    std::fs::copy(repo().join("datasets/instances/small.toml"), &p).unwrap();
    p
}

#[test]
fn outputs_never_replace_inputs_links_devices_or_each_other() {
    let d = tmp("hostile-outputs");
    let i = instance_copy(&d);
    let is = i.to_str().unwrap();
    let before = std::fs::read(&i).unwrap();
    refused(
        &["solve", is, "-o", is],
        2,
        "refusing to write over the input",
    );
    assert_eq!(std::fs::read(&i).unwrap(), before);
    let p = d.join("p.json");
    let ps = p.to_str().unwrap();
    refused(
        &["solve", is, "-o", ps, "--mig-parted", ps],
        2,
        "refusing to write",
    );
    assert!(!p.exists());
    // A missing directory for the second output: the first is not written either.
    let m = d.join("nope/m.yaml");
    refused(
        &["solve", is, "-o", ps, "--mig-parted", m.to_str().unwrap()],
        2,
        "does not exist",
    );
    assert!(
        !p.exists(),
        "solve wrote the plan although its second output failed"
    );
    // A symbolic link at the output path stays a link, and its target is not written.
    let target = d.join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    let link = d.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refused(
        &["solve", is, "-o", link.to_str().unwrap()],
        2,
        "symbolic link",
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    // A device (when this user may make one: root, as CI runs) stays a device.
    let dev = d.join("full");
    let made = Command::new("mknod")
        .args([dev.to_str().unwrap(), "c", "1", "7"])
        .status()
        .is_ok_and(|s| s.success());
    if made {
        refused(&["solve", is, "-o", dev.to_str().unwrap()], 2, "refusing");
        use std::os::unix::fs::FileTypeExt as _;
        assert!(
            std::fs::metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    } else {
        eprintln!("skipping the device case: mknod needs root");
    }
    // /dev/null is a destination like any other.
    let r = limited(&repo(), &["solve", is, "-o", "/dev/null"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Other commands whose output equals an input.
    let yaml = repo().join("verify/tests/fixtures/mig-parted.yaml");
    let y = d.join("m.yaml");
    std::fs::copy(&yaml, &y).unwrap();
    let ys = y.to_str().unwrap();
    let yb = std::fs::read(&y).unwrap();
    refused(
        &[
            "plan",
            "import",
            "mig-parted",
            ys,
            "--config",
            "balanced",
            "--gpu",
            "a100-80gb",
            "-o",
            ys,
        ],
        2,
        "refusing to write over the input",
    );
    assert_eq!(std::fs::read(&y).unwrap(), yb);
    let t = d.join("t.csv");
    std::fs::write(
        &t,
        std::fs::read_to_string(d.join("profiles/a100-80gb.csv"))
            .unwrap()
            .lines()
            .take(120)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    let ts = t.to_str().unwrap();
    let tb = std::fs::read(&t).unwrap();
    refused(
        &[
            "profile",
            "calibrate",
            "--measured",
            ts,
            "--gpu",
            "a100-80gb",
            "--max-evaluations",
            "5",
            "-o",
            ts,
        ],
        2,
        "refusing to write over the input",
    );
    assert_eq!(std::fs::read(&t).unwrap(), tb);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_issues_panics_are_usage_errors() {
    let small = "datasets/instances/small.toml";
    refused(
        &["solve", small, "--seed", "2147483648"],
        2,
        "seed = 2147483648",
    );
    refused(
        &["compare", small, "--seed", "2147483648"],
        2,
        "seed = 2147483648",
    );
    refused(
        &["solve", small, "--threads", "1000000"],
        2,
        "threads = 1000000",
    );
    refused(
        &["bench", "solver", "--models", "0"],
        2,
        "--models 0 is outside",
    );
    refused(
        &["bench", "solver", "--models", "100000"],
        2,
        "--models 100000 is outside",
    );
    refused(&["bench", "solver", "--time-limit", "nan"], 2, "time");
    let d = tmp("hostile-nodes");
    let table = write(
        &d,
        "nodes.csv",
        "node,batch,latency_ms\nconv,1,1e300\nconv,2,1e300\n",
    );
    let r = limited(
        &repo(),
        &[
            "simulate-nodes",
            "--node-table",
            &table,
            "--max-batch",
            "2",
            "--duration",
            "1",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    refused(
        &["simulate-nodes", "--max-batch", "4294967295"],
        2,
        "--max-batch 4294967295",
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn small_inputs_cannot_ask_for_unbounded_memory_or_time() {
    let d = tmp("hostile-resources");
    let small = "datasets/instances/small.toml";
    // 12,000 copies of one instance: answered in linear time, one summarized violation.
    let huge = vec!["1g.10gb@0"; 12_000].join(",");
    let r = limited(&repo(), &["check-layout", "--gpu", "a100-80gb", &huge]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.lines().count() < 50,
        "one line per pair:\n{}",
        &r.stdout[..500]
    );
    // A mig-parted count of 10^9.
    let yaml = write(
        &d,
        "big.yaml",
        "version: v1\nmig-configs:\n  big:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.10gb\": 1000000000\n",
    );
    let r = limited(&repo(), &["verify", "layout", &yaml, "--gpu", "a100-80gb"]);
    assert!(r.code == 1 || r.code == 2, "{}", r.stderr);
    let r = limited(
        &repo(),
        &["plan", "import", "mig-parted", &yaml, "--gpu", "a100-80gb"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A YAML alias bomb (a few KB that expand to billions of nodes).
    let mut bomb = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        bomb.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let bomb = write(&d, "bomb.yaml", &bomb);
    refused(&["mig-parted", "check", &bomb, "--gpu", "a100-80gb"], 2, "");
    // Simulated load and arrival processes that would pile events up at time 0.
    let plan = d.join("p.json");
    limited(
        &repo(),
        &[
            "solve",
            small,
            "--method",
            "greedy",
            "-o",
            plan.to_str().unwrap(),
        ],
    );
    let ps = plan.to_str().unwrap();
    refused(
        &["simulate", small, "--plan", ps, "--load", "1e9"],
        2,
        "--load",
    );
    refused(
        &["simulate", small, "--plan", ps, "--arrival", "gamma:1e-300"],
        2,
        "--arrival",
    );
    refused(
        &[
            "simulate",
            small,
            "--plan",
            ps,
            "--query-batch",
            "fixed:4294967295",
        ],
        2,
        "--query-batch",
    );
    refused(
        &[
            "simulate",
            small,
            "--plan",
            ps,
            "--noise",
            "lognormal:1e308",
        ],
        2,
        "--noise",
    );
    refused(
        &["simulate", small, "--plan", ps, "--duration", "1e12"],
        2,
        "--duration",
    );
    refused(
        &["peak", small, "--plan", ps, "--tolerance", "1e-17"],
        2,
        "--tolerance",
    );
    // A list of servers asking for 10^5 instances.
    let servers = write(
        &d,
        "servers.toml",
        "[[servers]]\ngpu = \"a100-80gb\"\nprofile = \"1g.10gb\"\nmodel = \"resnet50\"\ncount = 100000\n",
    );
    refused(&["simulate", small, "--plan", &servers], 2, "at most 4096");
    // A rate of 10^12: every heuristic answers (infeasible) instead of placing for hours.
    let base = tmp("hostile-rate");
    let i = instance_copy(&base);
    let text = std::fs::read_to_string(&i).unwrap();
    std::fs::write(&i, text.replace("rate_rps = 6000", "rate_rps = 1e12")).unwrap();
    for method in ["greedy", "paris", "gpulet", "timeshare", "homogeneous"] {
        let r = limited(&repo(), &["solve", i.to_str().unwrap(), "--method", method]);
        assert!(r.code == 1 || r.code == 2, "{method}: {}", r.stdout);
    }
    let _ = std::fs::remove_dir_all(&base);
    // /dev/zero as an input ends at the size limit.
    let r = limited(&repo(), &["solve", "/dev/zero"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn no_partial_or_stray_outputs() {
    let d = tmp("hostile-partial");
    let small = "datasets/instances/small.toml";
    let plan = d.join("p.json");
    let ps = plan.to_str().unwrap();
    limited(&repo(), &["solve", small, "--method", "greedy", "-o", ps]);
    let t = d.join("t.jsonl");
    let r = limited(
        &repo(),
        &[
            "simulate",
            small,
            "--plan",
            ps,
            "--duration",
            "1",
            "--trace",
            t.to_str().unwrap(),
            "--requests-log",
            d.join("r.txt").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(".csv or .parquet"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("simulating:"),
        "the run started: {}",
        r.stderr
    );
    assert!(
        !t.exists(),
        "the trace was written although the run was refused"
    );
    // profile generate: the table is not written when its provenance cannot be.
    let g = d.join("g.csv");
    std::fs::create_dir_all(d.join("g.csv.provenance.toml")).unwrap();
    let r = limited(
        &repo(),
        &[
            "profile",
            "generate",
            "--gpu",
            "a100-80gb",
            "--models",
            "resnet50",
            "--batches",
            "1",
            "--max-procs",
            "1",
            "-o",
            g.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!g.exists());
    // Nothing left behind by any of it.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("migsched-tmp") || n.ends_with(".events"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn written_files_read_back_and_nonsense_is_refused() {
    let d = tmp("hostile-nonsense");
    // A name with a newline cannot inject a key: the file reads back with that name.
    let y = d.join("m.yaml");
    let r = limited(
        &repo(),
        &[
            "mig-parted",
            "export",
            "--gpu",
            "a100-80gb",
            "--name",
            "a\nmig-configs: {}",
            "7g.80gb",
            "-o",
            y.to_str().unwrap(),
        ],
    );
    if r.code == 0 {
        let back = limited(
            &repo(),
            &[
                "mig-parted",
                "check",
                y.to_str().unwrap(),
                "--gpu",
                "a100-80gb",
                "--json",
            ],
        );
        assert_eq!(back.code, 0, "{}", back.stderr);
        assert!(back.stdout.contains("7g.80gb"), "{}", back.stdout);
    } else {
        assert_eq!(r.code, 2);
        assert!(!y.exists());
    }
    refused(
        &[
            "mig-parted",
            "export",
            "--gpu",
            "a100-80gb",
            "--devices",
            "0,0",
            "7g.80gb",
        ],
        2,
        "listed twice",
    );
    refused(
        &[
            "solve",
            "datasets/instances/small.toml",
            "--method",
            "homogeneous",
            "--homogeneous-class",
            "bogus",
        ],
        2,
        "is not a size class",
    );
    let empty = write(&d, "empty.toml", "");
    refused(
        &[
            "profile",
            "generate",
            "--gpu",
            "a100-80gb",
            "--params",
            &empty,
        ],
        2,
        "no parameters",
    );
    // Control characters from input are escaped in messages.
    let r = limited(&repo(), &["gpus", "evil\u{1b}[31mgpu"]);
    assert_eq!(r.code, 2);
    assert!(
        !r.stderr.contains('\u{1b}'),
        "ESC reached the terminal: {:?}",
        r.stderr
    );
    // An empty MIGSCHED_CATALOG is named as such.
    let out = Command::new(env!("CARGO_BIN_EXE_migsched"))
        .arg("gpus")
        .env("MIGSCHED_CATALOG", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MIGSCHED_CATALOG is set but empty"));
    let _ = std::fs::remove_dir_all(&d);
}

/// A tiny deterministic generator (xorshift64*), so every case is reproducible from its number.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that have broken parsers and simulators before.
const TOKENS: [&str; 16] = [
    "1e300",
    "-1",
    "0",
    "nan",
    "inf",
    "4294967296",
    "18446744073709551616",
    "1e-300",
    "\"\"",
    "\u{1b}[2J",
    "\n[x]\n",
    "&a",
    "*a",
    "99999999999",
    "\u{0}",
    "-0.0",
];

/// One mutation of `text`: a byte flipped, a range deleted or duplicated, a number replaced by
/// a hostile token, or a token inserted.
fn mutate(text: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut t = text.to_vec();
    for _ in 0..1 + rng.below(3) {
        if t.is_empty() {
            t.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
            continue;
        }
        let at = rng.below(t.len());
        match rng.below(5) {
            0 => t[at] ^= 1 << rng.below(8),
            1 => {
                let end = (at + 1 + rng.below(64)).min(t.len());
                t.drain(at..end);
            }
            2 => {
                let end = (at + 1 + rng.below(256)).min(t.len());
                let copy = t[at..end].to_vec();
                for _ in 0..1 + rng.below(20) {
                    t.splice(at..at, copy.iter().copied());
                }
            }
            3 => {
                // Replace the number at or after `at` with a token.
                if let Some(start) = (at..t.len()).find(|&i| t[i].is_ascii_digit()) {
                    let end = (start..t.len())
                        .find(|&i| !(t[i].is_ascii_digit() || t[i] == b'.'))
                        .unwrap_or(t.len());
                    let tok = TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec();
                    t.splice(start..end, tok);
                }
            }
            _ => {
                let tok = TOKENS[rng.below(TOKENS.len())].as_bytes().to_vec();
                t.splice(at..at, tok);
            }
        }
    }
    t
}

/// An input kind of the fuzzer: the bundled file it starts from, where the mutated copy goes,
/// and the commands that read it (`{in}` the mutated file, `{out}` an empty output directory).
struct Kind {
    seed: PathBuf,
    name: &'static str,
    commands: &'static [&'static str],
}

#[test]
fn fuzz_commands_on_mutated_inputs() {
    let cases: u64 = std::env::var("MIGSCHED_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let d = tmp("hostile-fuzz");
    let base = d.join("base");
    std::fs::create_dir_all(&base).unwrap();
    let small = instance_copy(&base);
    // A plan and a trace of the small instance to mutate.
    let plan = base.join("plan.json");
    let trace = base.join("trace.jsonl");
    let r = limited(
        &repo(),
        &[
            "solve",
            small.to_str().unwrap(),
            "--method",
            "greedy",
            "-o",
            plan.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = limited(
        &repo(),
        &[
            "simulate",
            small.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "--duration",
            "0.05",
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let profiles = base.join("profiles.csv");
    let text = std::fs::read_to_string(base.join("profiles/a100-80gb.csv")).unwrap();
    std::fs::write(
        &profiles,
        text.lines().take(150).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let fixtures = repo().join("verify/tests/fixtures");
    let kinds = [
        Kind {
            seed: small.clone(),
            name: "instances/x.toml",
            commands: &[
                "solve {in} --method greedy -o {out}/p.json --mig-parted {out}/m.yaml",
                "solve {in} --method gpulet -o {out}/g.json",
            ],
        },
        Kind {
            seed: plan.clone(),
            name: "plan.json",
            commands: &[
                "verify plan {in} --instance {base}/instances/small.toml",
                "simulate {base}/instances/small.toml --plan {in} --duration 0.05 --trace {out}/t.jsonl --report {out}/r.json",
            ],
        },
        Kind {
            seed: trace.clone(),
            name: "trace.jsonl",
            commands: &["verify trace {in} --json"],
        },
        Kind {
            seed: fixtures.join("mig-parted.yaml"),
            name: "m.yaml",
            commands: &[
                "mig-parted check {in} --gpu a100-80gb",
                "plan import mig-parted {in} --gpu a100-80gb -o {out}/p.json",
            ],
        },
        Kind {
            seed: fixtures.join("layouts.txt"),
            name: "layouts.txt",
            commands: &["verify layout {in} --gpu a100-80gb"],
        },
        Kind {
            seed: profiles.clone(),
            name: "t.csv",
            commands: &["profile show {in} --json"],
        },
        Kind {
            seed: repo().join("datasets/catalogs/rtx-pro-5000-ug580.toml"),
            name: "catalog.toml",
            commands: &[
                "--catalog {in} gpus",
                "--catalog {in} layouts --gpu rtx-pro-5000 --count",
            ],
        },
    ];
    let (mut runs, mut codes) = (0u64, [0u64; 3]);
    for case in 0..cases {
        let mut rng = Rng::new(case);
        let kind = &kinds[case as usize % kinds.len()];
        let dir = d.join(format!("case-{case}"));
        let out = dir.join("out");
        std::fs::create_dir_all(out.clone()).unwrap();
        // The mutated input, beside a copy of what it refers to (the instance's profiles).
        let input = dir.join(kind.name);
        std::fs::create_dir_all(input.parent().unwrap()).unwrap();
        std::fs::create_dir_all(dir.join("profiles")).unwrap();
        std::fs::copy(
            base.join("profiles/a100-80gb.csv"),
            dir.join("profiles/a100-80gb.csv"),
        )
        .unwrap();
        let bytes = mutate(&std::fs::read(&kind.seed).unwrap(), &mut rng);
        std::fs::write(&input, &bytes).unwrap();
        for template in kind.commands {
            let line = template
                .replace("{in}", input.to_str().unwrap())
                .replace("{out}", out.to_str().unwrap())
                .replace("{base}", base.to_str().unwrap());
            let args: Vec<&str> = line.split(' ').collect();
            let inputs_before = snapshot(&dir);
            let r = limited(&repo(), &args);
            runs += 1;
            codes[r.code as usize] += 1;
            let after = snapshot(&dir);
            // No input modified.
            for (p, b) in &inputs_before {
                if !p.starts_with(&out) {
                    assert_eq!(
                        after.get(p),
                        Some(b),
                        "case {case}: {line} modified {}",
                        p.display()
                    );
                }
            }
            let outputs: Vec<&PathBuf> = after.keys().filter(|p| p.starts_with(&out)).collect();
            // No temporary file left, whatever the answer.
            assert!(
                outputs.iter().all(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    !n.contains("migsched-tmp") && !n.ends_with(".events")
                }),
                "case {case}: {line} left temporary files {outputs:?}"
            );
            // No output on a non-zero exit.
            if r.code != 0 {
                assert!(
                    outputs.is_empty(),
                    "case {case}: {line} exited {} but wrote {outputs:?}\n{}",
                    r.code,
                    r.stderr
                );
            }
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!(
        "fuzz: {cases} cases, {runs} runs: exit 0 {} times, 1 {} times, 2 {} times",
        codes[0], codes[1], codes[2]
    );
    let _ = std::fs::remove_dir_all(&d);
}
