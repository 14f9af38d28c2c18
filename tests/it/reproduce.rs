//! `migsched reproduce`: each target in quick mode writes its files and a summary with the
//! expected rows.

use super::{expect, tmp};

fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn paris_elsa_quick() {
    let d = tmp("repro-paris");
    let r = expect(
        &[
            "reproduce",
            "paris-elsa",
            "--quick",
            "--out",
            d.to_str().unwrap(),
        ],
        0,
    );
    let summary = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert_eq!(r.stdout, summary);
    for row in [
        "| `paris` | PARIS | ELSA | 3 |",
        "| `paris` | PARIS | FIFS | 3 |",
        "| `paris-tight` | PARIS | ELSA | 3 |",
        "ILP routing",
    ] {
        assert!(summary.contains(row), "missing {row}:\n{summary}");
    }
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
    expect(
        &[
            "reproduce",
            "paris-elsa",
            "--quick",
            "--out",
            d2.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(
        csv,
        std::fs::read_to_string(d2.join("results.csv")).unwrap()
    );
}

#[test]
fn lazybatching_quick() {
    let d = tmp("repro-lazy");
    let args = |d: &std::path::Path| {
        [
            "reproduce",
            "lazybatching",
            "--quick",
            "--out",
            d.to_str().unwrap(),
        ]
        .map(String::from)
    };
    let a = args(&d);
    let r = expect(&a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    let summary = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert_eq!(r.stdout, summary);
    for row in [
        "| resnet50 | 7g.80gb | low (",
        "| bert-base | 3g.40gb | high (",
        "| mobilenetv2 | 7g.80gb | medium (",
        "| graph 99 ms |",
        "| serial |",
        "| lazy |",
        "Geometric means",
        "15x",
    ] {
        assert!(summary.contains(row), "missing {row}:\n{summary}");
    }
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
    let a = args(&d2);
    expect(&a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    assert_eq!(
        csv,
        std::fs::read_to_string(d2.join("results.csv")).unwrap()
    );
}
