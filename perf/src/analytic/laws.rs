//! Metamorphic laws the analytic model must obey: latency grows with the batch and shrinks
//! with the partition, throughput per GPC saturates with a knee that moves to larger batches on
//! larger partitions, and MPS never costs throughput on an under-filled instance.

use migsched_core::catalog::{Catalog, GpuType, Profile};
use migsched_core::profile_table::knee_batch;

use super::model::estimate;
use super::params::AnalyticParams;
use super::table::generate_table;
use crate::zoo::{ModelGraph, ZooOptions, build, model_names};

fn graphs() -> Vec<ModelGraph> {
    model_names()
        .iter()
        .map(|n| build(n, &ZooOptions::default()).unwrap())
        .collect()
}

fn gpu(name: &str) -> &'static GpuType {
    Catalog::builtin().gpu(name).unwrap()
}

fn profile<'a>(gpu: &'a GpuType, name: &str) -> &'a Profile {
    gpu.profile(gpu.profile_by_name(name).unwrap())
}

/// The defaults, and variants that change every discrete choice and make each regime dominate.
fn param_sets() -> Vec<AnalyticParams> {
    let d = AnalyticParams::default();
    vec![
        d.clone(),
        AnalyticParams {
            fuse_epilogues: false,
            kernel_overhead_us: 0.0,
            tile_m: 64,
            tile_n: 256,
            ..d.clone()
        },
        AnalyticParams {
            compute_efficiency: 0.05,
            bandwidth_efficiency: 1.0,
            kernel_overhead_us: 40.0,
            tile_m: 256,
            tile_n: 64,
            ..d
        },
    ]
}

fn latency(
    g: &ModelGraph,
    gpu: &GpuType,
    p: &Profile,
    b: u32,
    k: u32,
    params: &AnalyticParams,
) -> f64 {
    estimate(g, gpu, p, b, k, params).unwrap().latency_ms
}

#[test]
fn latency_never_decreases_with_the_batch() {
    for params in param_sets() {
        for gpu in [gpu("a100-80gb"), gpu("h100-80gb")] {
            for g in graphs() {
                for p in gpu.profiles() {
                    for k in [1, 3] {
                        let mut last = 0.0;
                        for b in 1..=160 {
                            let l = latency(&g, gpu, p, b, k, &params);
                            assert!(
                                l >= last,
                                "{} {} {} procs {k}: batch {b} takes {l} ms < {last} ms ({params:?})",
                                g.name(),
                                gpu.id(),
                                p.name()
                            );
                            last = l;
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn latency_never_increases_with_more_sms_and_memory_slices() {
    for params in param_sets() {
        for gpu in [gpu("a100-80gb"), gpu("h100-80gb"), gpu("a30-24gb")] {
            let profiles = gpu.profiles();
            for g in graphs() {
                for small in profiles {
                    for large in profiles.iter().filter(|q| {
                        q.sm_count() >= small.sm_count()
                            && q.memory_slices() >= small.memory_slices()
                    }) {
                        for b in [1, 2, 4, 8, 16, 32, 64, 128, 256] {
                            for k in [1, 2] {
                                let ls = latency(&g, gpu, small, b, k, &params);
                                let ll = latency(&g, gpu, large, b, k, &params);
                                assert!(
                                    ll <= ls,
                                    "{} {}: {} takes {ll} ms > {} {ls} ms at batch {b} procs {k}",
                                    g.name(),
                                    gpu.id(),
                                    large.name(),
                                    small.name()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    // And strictly faster where compute dominates.
    let g = build("resnet50", &ZooOptions::default()).unwrap();
    let a100 = gpu("a100-80gb");
    let d = AnalyticParams::default();
    assert!(
        latency(&g, a100, profile(a100, "7g.80gb"), 64, 1, &d)
            < 0.5 * latency(&g, a100, profile(a100, "2g.20gb"), 64, 1, &d)
    );
}

/// Throughput per GPC over batches 1..=256 (powers of two), procs 1.
fn throughput_curve(
    g: &ModelGraph,
    gpu: &GpuType,
    p: &Profile,
    params: &AnalyticParams,
) -> Vec<(u32, f64)> {
    (0..=8)
        .map(|i| {
            let b = 1u32 << i;
            let e = estimate(g, gpu, p, b, 1, params).unwrap();
            (b, e.throughput_rps / f64::from(p.compute_slices()))
        })
        .collect()
}

#[test]
fn throughput_per_gpc_saturates_and_larger_profiles_knee_later() {
    let a100 = gpu("a100-80gb");
    let d = AnalyticParams::default();
    let sizes = ["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"];
    let mut strictly_later = 0;
    for g in graphs() {
        let mut knees = Vec::new();
        for size in sizes {
            let curve = throughput_curve(&g, a100, profile(a100, size), &d);
            let gains: Vec<f64> = curve.windows(2).map(|w| w[1].1 / w[0].1).collect();
            // Doubling the batch never hurts, and the gain shrinks: it is at its end lower
            // than at its start, and ends below 10%.
            assert!(
                gains.iter().all(|&x| x >= 1.0 - 1e-12),
                "{} {size}: {gains:?}",
                g.name()
            );
            assert!(
                gains[gains.len() - 1] < gains[0],
                "{} {size}: {gains:?}",
                g.name()
            );
            assert!(
                gains[gains.len() - 1] < 1.1,
                "{} {size}: {gains:?}",
                g.name()
            );
            // Once past the knee, it stays past: the gain of the second half of the batch range
            // is below that of the first half.
            let early: f64 = gains[..4].iter().product();
            let late: f64 = gains[4..].iter().product();
            assert!(late < early, "{} {size}: {gains:?}", g.name());
            knees.push(knee_batch(&curve, 0.1).unwrap());
        }
        // The smallest partition knees first, and the knee moves out along 1g -> 2g -> 7g.
        // (3g and 4g, whose SM counts are not multiples of the tile counts the same way, can
        // swap places by one doubling: wave quantization is not smooth.)
        assert!(
            knees.iter().all(|&k| k >= knees[0]) && knees[0] <= knees[1] && knees[1] <= knees[4],
            "{}: knees {knees:?} for {sizes:?}",
            g.name()
        );
        if knees[4] > knees[0] {
            strictly_later += 1;
        }
    }
    // The effect PARIS relies on: for most models the full GPU needs a larger batch.
    assert!(
        strictly_later >= 8,
        "only {strictly_later} models knee later on 7g"
    );
}

#[test]
fn more_mps_processes_on_an_under_filled_instance_do_not_reduce_throughput() {
    let mut gains = 0;
    for params in param_sets() {
        for gpu in [gpu("a100-80gb"), gpu("h100-80gb")] {
            for g in graphs() {
                for p in gpu.profiles() {
                    for b in [1, 2, 4, 8] {
                        let mut last = 0.0;
                        for k in 1..=5 {
                            let t = estimate(&g, gpu, p, b, k, &params).unwrap().throughput_rps;
                            assert!(
                                t >= last * (1.0 - 1e-12),
                                "{} {} {} batch {b}: {k} procs give {t}/s < {last}/s",
                                g.name(),
                                gpu.id(),
                                p.name()
                            );
                            if k > 1 && t > 1.2 * last {
                                gains += 1;
                            }
                            last = t;
                        }
                    }
                }
            }
        }
    }
    assert!(
        gains > 100,
        "MPS should help under-filled instances, gained {gains} times"
    );
}

#[test]
fn generated_tables_agree_with_the_estimates_they_come_from() {
    let c = Catalog::builtin();
    let d = AnalyticParams::default();
    let gs: Vec<ModelGraph> = ["resnet50", "bert"]
        .iter()
        .map(|n| build(n, &ZooOptions::default()).unwrap())
        .collect();
    let t = generate_table(c, "a100-80gb", &gs, &[1, 8, 64], 2, &d).unwrap();
    let a100 = gpu("a100-80gb");
    for r in t.rows() {
        let g = gs.iter().find(|g| g.name() == r.key.model).unwrap();
        let e = estimate(
            g,
            a100,
            profile(a100, &r.key.profile),
            r.key.batch,
            r.key.procs,
            &d,
        )
        .unwrap();
        assert_eq!(r.latency_ms, e.latency_ms);
        assert_eq!(r.throughput_rps, e.throughput_rps);
        assert_eq!(r.memory_mib, Some(e.memory_mib));
    }
    let again = generate_table(c, "a100-80gb", &gs, &[1, 8, 64], 2, &d).unwrap();
    assert_eq!(again.to_csv(), t.to_csv());
}
