//! `migsched reproduce`: each target in quick mode writes its files and a summary with the
//! expected rows.

use super::{assert_rows, expect, reproduce_quick, tmp};

fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn paris_elsa_quick() {
    let d = tmp("repro-paris");
    let summary = reproduce_quick("paris-elsa", &d);
    assert_rows(
        &summary,
        &[
            "| `paris` | PARIS | ELSA | 3 |",
            "| `paris` | PARIS | FIFS | 3 |",
            "| `paris-tight` | PARIS | ELSA | 3 |",
            "ILP routing",
        ],
    );
    assert!(
        summary.contains("| `paris-tight` | homogeneous "),
        "{summary}"
    );
    for f in [
        "results.csv",
        "results.parquet",
        "sweep.csv",
        "sweep.parquet",
        "results.json",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    for stem in [
        "attainment-paris",
        "attainment-paris-tight",
        "p99-paris",
        "p99-paris-tight",
        "peak-load",
    ] {
        let svg = std::fs::read_to_string(d.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{stem}.svg"
        );
        assert!(is_png(&d.join(format!("{stem}.png"))), "{stem}.png");
    }
    let svg = std::fs::read_to_string(d.join("attainment-paris-tight.svg")).unwrap();
    for series in ["PARIS / ELSA", "PARIS / FIFS", "ILP routing"] {
        assert!(svg.contains(series), "series {series} in the plot");
    }
    let csv = std::fs::read_to_string(d.join("results.csv")).unwrap();
    assert!(
        csv.starts_with(
            "instance,config,scheduler,gpus,peak_load,slo_attainment_at_1,p99_ms_at_1\n"
        )
    );
    // Same seed, same results.
    let d2 = tmp("repro-paris-2");
    reproduce_quick("paris-elsa", &d2);
    assert_eq!(
        csv,
        std::fs::read_to_string(d2.join("results.csv")).unwrap()
    );
    // `migsched report` renders the same files again from results.json.
    let svg = std::fs::read_to_string(d.join("peak-load.svg")).unwrap();
    for f in [
        "summary.md",
        "peak-load.svg",
        "peak-load.png",
        "results.csv",
    ] {
        std::fs::remove_file(d.join(f)).unwrap();
    }
    let r = expect(&["report", d.to_str().unwrap()], 0);
    assert_eq!(r.stdout, summary);
    assert_eq!(
        std::fs::read_to_string(d.join("summary.md")).unwrap(),
        summary
    );
    assert_eq!(
        std::fs::read_to_string(d.join("peak-load.svg")).unwrap(),
        svg
    );
    assert!(is_png(&d.join("peak-load.png")));
    assert_eq!(std::fs::read_to_string(d.join("results.csv")).unwrap(), csv);
}

#[test]
fn report_needs_a_results_directory() {
    let d = tmp("report-empty");
    std::fs::create_dir_all(&d).unwrap();
    let r = expect(&["report", d.to_str().unwrap()], 2);
    assert!(r.stderr.contains("results.json"), "{}", r.stderr);
    std::fs::write(d.join("results.json"), r#"{"target":"nope"}"#).unwrap();
    let r = expect(&["report", d.to_str().unwrap()], 2);
    assert!(r.stderr.contains("target 'nope'"), "{}", r.stderr);
}

#[test]
fn parvagpu_needs_its_data_and_plans_every_scenario() {
    let d = tmp("repro-parvagpu");
    let r = expect(&["reproduce", "parvagpu", "--out", d.to_str().unwrap()], 2);
    assert!(r.stderr.contains("needs --data DIR"), "{}", r.stderr);
    let Some(data) = super::parvagpu_dir() else {
        return;
    };
    let r = expect(
        &[
            "reproduce",
            "parvagpu",
            "--data",
            data.to_str().unwrap(),
            "--out",
            d.to_str().unwrap(),
        ],
        0,
    );
    // The optima the README reports, proven by the ILP.
    for (k, g) in [(1, 2), (2, 3), (3, 5), (4, 7), (5, 12), (6, 15)] {
        let row = format!("| {k} | ");
        let line = r.stdout.lines().find(|l| l.starts_with(&row)).unwrap();
        assert!(
            line.contains(&format!("| {g} (proven optimal) |")),
            "{line}"
        );
    }
    let svg = std::fs::read_to_string(d.join("gpus.svg")).unwrap();
    assert!(svg.contains("homogeneous") && svg.contains("ILP"));
    assert!(is_png(&d.join("gpus.png")));
    std::fs::remove_file(d.join("summary.md")).unwrap();
    let again = expect(&["report", d.to_str().unwrap()], 0);
    assert_eq!(again.stdout, r.stdout);
}

#[test]
fn scaling_quick() {
    let d = tmp("repro-scaling");
    let r = expect(
        &[
            "reproduce",
            "scaling",
            "--quick",
            "--out",
            d.to_str().unwrap(),
        ],
        0,
    );
    assert_rows(
        &r.stdout,
        &[
            "| 8 | 4 | ilp | optimal |",
            "| 64 | 16 | greedy |",
            "| elsa | 300000 |",
            "| fifs | 300000 |",
        ],
    );
    let svg = std::fs::read_to_string(d.join("solver-time.svg")).unwrap();
    assert!(svg.contains("ilp, 4 models") && svg.contains("greedy, 16 models"));
    for f in ["solver.csv", "sim.csv", "results.json", "solver-time.png"] {
        assert!(d.join(f).is_file(), "{f}");
    }
}

#[test]
fn lazybatching_quick() {
    let d = tmp("repro-lazy");
    let summary = reproduce_quick("lazybatching", &d);
    assert_rows(
        &summary,
        &[
            "| resnet50 | 7g.80gb | low (",
            "| bert-base | 3g.40gb | high (",
            "| mobilenetv2 | 7g.80gb | medium (",
            "| graph 99 ms |",
            "| serial |",
            "| lazy |",
            "Geometric means",
            "15x",
        ],
    );
    for f in [
        "results.csv",
        "results.parquet",
        "ratios.csv",
        "ratios.parquet",
        "results.json",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    for stem in ["sla-7g.80gb", "sla-3g.40gb", "ratios"] {
        let svg = std::fs::read_to_string(d.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{stem}.svg");
        assert!(is_png(&d.join(format!("{stem}.png"))), "{stem}.png");
    }
    let csv = std::fs::read_to_string(d.join("results.csv")).unwrap();
    // 3 models × 2 instances × 3 loads × (serial + 5 windows + lazy), and a header.
    assert_eq!(csv.lines().count(), 1 + 3 * 2 * 3 * 7);
    // Same seed, same results.
    let d2 = tmp("repro-lazy-2");
    reproduce_quick("lazybatching", &d2);
    assert_eq!(
        csv,
        std::fs::read_to_string(d2.join("results.csv")).unwrap()
    );
    // `migsched report` renders the same files again from results.json.
    let svg = std::fs::read_to_string(d.join("ratios.svg")).unwrap();
    for f in ["summary.md", "ratios.svg", "results.csv"] {
        std::fs::remove_file(d.join(f)).unwrap();
    }
    let again = expect(&["report", d.to_str().unwrap()], 0);
    assert_eq!(again.stdout, summary);
    assert_eq!(std::fs::read_to_string(d.join("ratios.svg")).unwrap(), svg);
    assert_eq!(std::fs::read_to_string(d.join("results.csv")).unwrap(), csv);
    assert!(svg.contains("response-time speedup"));
}
