//! The step planner: exact steps on recorded states, and a property test over pairs of
//! enumerated legal layouts (the steps replay in order, each intermediate layout is legal,
//! the end is the target, and instances that already match are never touched).

use std::collections::BTreeSet;
use std::sync::Arc;

use migsched_core::{Catalog, Driver, EnumerateOptions, GpuType, Layout, enumerate_layouts};
use migsched_hwbench::state::{ComputeInstanceState, DeviceState};
use migsched_hwbench::steps::{GpuDiff, Step, diff_gpu, simulate};
use proptest::prelude::*;

use crate::support::{load, snapshot};

fn gpu(id: &str) -> Arc<GpuType> {
    Catalog::builtin().gpu(id).unwrap().clone()
}

fn layout(ty: &Arc<GpuType>, text: &str) -> Layout {
    Layout::parse(ty.clone(), text, Driver::R510OrLater).unwrap()
}

/// The planner's diff of GPU `index` of `state` (its device, if any) against `target`.
fn diff(state: &DeviceState, index: u32, ty: &Arc<GpuType>, target: &Layout) -> GpuDiff {
    diff_gpu(
        Catalog::builtin(),
        state.gpu(index),
        index,
        ty,
        target,
        Driver::R510OrLater,
    )
}

fn commands(steps: &[Step]) -> Vec<String> {
    steps.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a100_fixture_to_two_3g_keeps_the_matching_instance() {
    let state = load("a100-80gb-mig.json");
    let ty = gpu("a100-80gb");
    let target = layout(&ty, "3g.40gb@0,3g.40gb@4");
    let d = diff(&state, 0, &ty, &target);
    assert_eq!(d.error, None);
    assert_eq!(d.keep.len(), 1);
    assert_eq!(
        (d.keep[0].gi, d.keep[0].instance.as_str()),
        (2, "3g.40gb@4")
    );
    assert!(!d.keep[0].cis_replaced);
    let destroyed: Vec<(u32, &str, Vec<u32>)> = d
        .destroy
        .iter()
        .map(|x| (x.gi, x.instance.as_str(), x.processes.clone()))
        .collect();
    assert_eq!(
        destroyed,
        vec![
            (3, "2g.20gb@0", vec![]),
            (9, "1g.10gb@2", vec![4242]),
            (10, "1g.10gb@3", vec![])
        ]
    );
    assert_eq!(d.create, vec!["3g.40gb@0"]);
    assert_eq!(
        commands(&d.steps),
        vec![
            "nvidia-smi mig -i 0 -gi 3 -ci 0 -dci",
            "nvidia-smi mig -i 0 -gi 9 -ci 0 -dci",
            "nvidia-smi mig -i 0 -gi 10 -ci 0 -dci",
            "nvidia-smi mig -i 0 -gi 3 -dgi",
            "nvidia-smi mig -i 0 -gi 9 -dgi",
            "nvidia-smi mig -i 0 -gi 10 -dgi",
            "nvidia-smi mig -i 0 -cgi 9:0 -C",
        ]
    );
}

#[test]
fn the_current_layout_matches_itself_with_no_steps() {
    let state = load("a100-80gb-mig.json");
    let ty = gpu("a100-80gb");
    let target = layout(&ty, "2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4");
    let d = diff(&state, 0, &ty, &target);
    assert!(d.matches(), "{d:?}");
    assert_eq!(d.keep.len(), 4);
}

#[test]
fn mig_disabled_is_enabled_first() {
    let state = load("h100-80gb-nomig.json");
    let ty = gpu("h100-80gb");
    let target = layout(&ty, "1g.10gb@6,3g.40gb@0,2g.20gb@4");
    let d = diff(&state, 0, &ty, &target);
    assert_eq!(d.error, None);
    assert_eq!(
        commands(&d.steps),
        vec![
            "nvidia-smi -i 0 -mig 1",
            "nvidia-smi mig -i 0 -cgi 9:0 -C",
            "nvidia-smi mig -i 0 -cgi 14:4 -C",
            "nvidia-smi mig -i 0 -cgi 19:6 -C",
        ]
    );
    // An empty target leaves a GPU without MIG alone.
    let d = diff(&state, 0, &ty, &Layout::empty(ty.clone()));
    assert!(d.matches(), "{d:?}");
}

#[test]
fn unreachable_gpus_say_why() {
    let state = load("h100-80gb-nomig.json");
    let ty = gpu("a100-80gb");
    let target = layout(&ty, "7g.80gb@0");
    let d = diff(&state, 0, &ty, &target);
    assert!(
        d.error.as_deref().unwrap().contains("is a h100-80gb"),
        "{d:?}"
    );
    assert!(d.steps.is_empty());
    let d = diff(&state, 3, &ty, &target);
    assert!(d.error.as_deref().unwrap().contains("no GPU with index 3"));
}

#[test]
fn a_kept_instance_with_split_compute_gets_one_full_ci() {
    let ty = gpu("a100-80gb");
    let current = layout(&ty, "3g.40gb@0,3g.40gb@4");
    let mut state = snapshot(&ty, &current, 1);
    // GI 1 (3g.40gb@0) split into a 2-slice and a 1-slice CI.
    state.gpus[0].gpu_instances[0].compute_instances = vec![
        ComputeInstanceState {
            id: 0,
            profile_id: 1,
            slice_count: 2,
            start: 0,
            sm_count: None,
            uuid: None,
            processes: Vec::new(),
        },
        ComputeInstanceState {
            id: 1,
            profile_id: 0,
            slice_count: 1,
            start: 2,
            sm_count: None,
            uuid: None,
            processes: Vec::new(),
        },
    ];
    let d = diff(&state, 0, &ty, &current);
    assert_eq!(
        commands(&d.steps),
        vec![
            "nvidia-smi mig -i 0 -gi 1 -ci 0 -dci",
            "nvidia-smi mig -i 0 -gi 1 -ci 1 -dci",
            "nvidia-smi mig -i 0 -gi 1 -cci 2",
        ]
    );
    assert!(d.keep.iter().all(|k| k.gi != 2 || !k.cis_replaced));
}

#[test]
fn the_simulator_rejects_steps_the_driver_would_refuse() {
    let ty = gpu("a100-80gb");
    let current = layout(&ty, "3g.40gb@0,3g.40gb@4");
    let state = snapshot(&ty, &current, 1);
    let g = state.gpu(0).unwrap();
    let sim = |steps: &[Step]| simulate(g, &ty, Driver::R510OrLater, steps);
    // A GI with its CI still there.
    let e = sim(&[Step::DestroyGi {
        gpu: 0,
        gi: 1,
        profile: "3g.40gb".into(),
        start: 0,
    }])
    .unwrap_err();
    assert!(e.contains("still has compute instances"), "{e}");
    // Overlap with an existing instance.
    let e = sim(&[Step::CreateGi {
        gpu: 0,
        profile: "1g.10gb".into(),
        profile_id: 19,
        start: 5,
    }])
    .unwrap_err();
    assert!(e.contains("illegal"), "{e}");
    // Unknown ids and another GPU.
    assert!(
        sim(&[Step::DestroyCi {
            gpu: 0,
            gi: 7,
            ci: 0
        }])
        .is_err()
    );
    assert!(
        sim(&[Step::DestroyCi {
            gpu: 1,
            gi: 1,
            ci: 0
        }])
        .is_err()
    );
    assert!(sim(&[Step::EnableMig { gpu: 0 }]).is_err());
    // A CI that does not fit.
    let e = sim(&[Step::CreateCi {
        gpu: 0,
        gi: 1,
        ci_profile_id: 0,
    }])
    .unwrap_err();
    assert!(e.contains("does not fit"), "{e}");
}

/// Case count: `PROPTEST_CASES` when set (deep runs), else a bound that keeps the suite fast.
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

/// Every legal layout of each catalog GPU, plus the empty one (enumerated once).
fn all_layouts() -> &'static [(Arc<GpuType>, Vec<Layout>)] {
    static ALL: std::sync::OnceLock<Vec<(Arc<GpuType>, Vec<Layout>)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        Catalog::builtin()
            .gpus()
            .iter()
            .map(|g| {
                let mut ls = vec![Layout::empty(g.clone())];
                ls.extend(enumerate_layouts(g, &EnumerateOptions::default()));
                (g.clone(), ls)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn steps_reach_any_layout_from_any_other(
        g in any::<prop::sample::Index>(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        first_id in 1u32..20,
        split in any::<Option<prop::sample::Index>>(),
        mig_off in any::<bool>(),
    ) {
        let gpus = all_layouts();
        let (ty, layouts) = &gpus[g.index(gpus.len())];
        let from = &layouts[a.index(layouts.len())];
        let to = &layouts[b.index(layouts.len())];
        let mut state = snapshot(ty, from, first_id);
        // Sometimes a GPU with MIG off (no instances), sometimes one GI without its CI.
        let mig_off = mig_off && from.is_empty();
        if mig_off {
            state.gpus[0].mig = Some(migsched_hwbench::state::MigMode { current: false, pending: false });
        }
        let mut bare = None;
        if let Some(i) = split && !from.is_empty() {
            let gis = &mut state.gpus[0].gpu_instances;
            let k = i.index(gis.len());
            gis[k].compute_instances.clear();
            bare = Some(gis[k].id);
        }
        let dev = state.gpu(0).unwrap();
        let d = diff_gpu(Catalog::builtin(), Some(dev), 0, ty, to, Driver::R510OrLater);
        prop_assert_eq!(&d.error, &None);

        // The steps replay in order, every intermediate layout is legal (Layout exists only
        // when legal), and the last one is the target.
        let layouts = simulate(dev, ty, Driver::R510OrLater, &d.steps).map_err(TestCaseError::fail)?;
        let end = layouts.last().cloned().unwrap_or_else(|| from.clone());
        prop_assert_eq!(end.placements(), to.placements());

        // Instances that already match are never destroyed, and their CIs are touched only
        // when they were not one full-size CI.
        let target: BTreeSet<_> = to.placements().iter().map(|p| (p.profile, p.start)).collect();
        let matching: BTreeSet<u32> = dev.gpu_instances.iter()
            .filter(|gi| target.contains(&(ty.profile_by_nvml_id(gi.profile_id).unwrap(), gi.start)))
            .map(|gi| gi.id)
            .collect();
        for s in &d.steps {
            match s {
                Step::DestroyGi { gi, .. } => prop_assert!(!matching.contains(gi), "destroyed matching GI {}", gi),
                Step::DestroyCi { gi, .. } | Step::CreateCi { gi, .. } => {
                    prop_assert!(!matching.contains(gi) || bare == Some(*gi), "touched CIs of matching GI {}", gi)
                }
                Step::EnableMig { .. } => prop_assert!(mig_off),
                Step::CreateGi { .. } => {}
            }
        }
        // Only what must change: one destroy per unmatched instance, one create per missing one.
        let creates = d.steps.iter().filter(|s| matches!(s, Step::CreateGi { .. })).count();
        let destroys = d.steps.iter().filter(|s| matches!(s, Step::DestroyGi { .. })).count();
        prop_assert_eq!(destroys, dev.gpu_instances.len() - matching.len());
        prop_assert_eq!(creates, to.placements().len() - matching.len());
        let enable = mig_off && !to.is_empty();
        let same = from.placements() == to.placements() && bare.is_none() && !enable;
        prop_assert_eq!(d.matches(), same);
    }
}
