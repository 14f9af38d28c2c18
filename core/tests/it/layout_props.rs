//! Property tests: the layout engine agrees with a simple, separate reading of the rules.

use std::sync::Arc;

use migsched_core::{
    Catalog, Driver, EnumerateOptions, GpuType, Layout, Placement, ProfileCounts, ProfileIndex,
    enumerate_layouts, place, validate,
};
use proptest::prelude::*;

/// Case count: `PROPTEST_CASES` when set (deep runs), else a bound that keeps the suite fast.
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

fn gpus() -> Vec<Arc<GpuType>> {
    Catalog::builtin().gpus().to_vec()
}

/// The validity rule of MIG.md, written out as plainly as possible over bitmasks, sharing
/// nothing with the engine but the catalog's plain numbers.
fn simple_is_legal(gpu: &GpuType, placements: &[Placement], driver: Driver) -> bool {
    let mut used: u64 = 0;
    let mut compute = 0u32;
    let mut per_profile = vec![0u32; gpu.profiles().len()];
    let mut media = 0u32;
    let mut engines = [0u32; 4];
    let (mut has4, mut has3) = (false, false);
    for pl in placements {
        let p = gpu.profile(pl.profile);
        if !p.starts().contains(&pl.start) {
            return false;
        }
        let end = u32::from(pl.start) + u32::from(p.memory_slices());
        if end > u32::from(gpu.memory_slices()) {
            return false;
        }
        let mut mask = 0u64;
        for s in pl.start..end as u8 {
            mask |= 1 << s;
        }
        if used & mask != 0 {
            return false;
        }
        used |= mask;
        compute += u32::from(p.compute_slices());
        per_profile[pl.profile.get()] += 1;
        if p.name().ends_with("+me") || p.name().ends_with("+me.all") {
            media += 1;
        }
        let e = p.media_engines().unwrap_or_default();
        for (k, n) in [e.decoders, e.encoders, e.jpeg, e.ofa]
            .into_iter()
            .enumerate()
        {
            engines[k] += u32::from(n);
        }
        has4 |= p.name().starts_with("4g.");
        has3 |= p.name().starts_with("3g.");
    }
    compute <= u32::from(gpu.compute_slices())
        && per_profile
            .iter()
            .zip(gpu.profiles())
            .all(|(&n, p)| n <= u32::from(p.max_count()))
        && match gpu.media_engines() {
            // Per kind, the instances' engines within the GPU's.
            Some(t) => engines
                .iter()
                .zip([t.decoders, t.encoders, t.jpeg, t.ofa])
                .all(|(&used, have)| used <= u32::from(have)),
            None => media <= 1,
        }
        && !(driver == Driver::BeforeR510 && has4 && has3)
}

fn driver_strategy() -> impl Strategy<Value = Driver> {
    prop_oneof![Just(Driver::R510OrLater), Just(Driver::BeforeR510)]
}

/// A GPU index and up to 8 random (profile, start) pairs, starts anywhere in 0..memory_slices
/// (legal or not).
fn placements_strategy() -> impl Strategy<Value = (usize, Vec<(u8, u8)>)> {
    (
        0..gpus().len(),
        prop::collection::vec((any::<u8>(), any::<u8>()), 0..8),
    )
}

fn to_placements(gpu: &GpuType, raw: &[(u8, u8)]) -> Vec<Placement> {
    let np = gpu.profiles().len() as u8;
    raw.iter()
        .map(|&(p, s)| Placement {
            profile: ProfileIndex(p % np),
            start: s % gpu.memory_slices(),
        })
        .collect()
}

#[test]
fn every_enumerated_layout_validates_and_round_trips() {
    for gpu in gpus() {
        for driver in [Driver::R510OrLater, Driver::BeforeR510] {
            let all = enumerate_layouts(
                &gpu,
                &EnumerateOptions {
                    driver,
                    ..Default::default()
                },
            );
            assert!(!all.is_empty());
            for l in &all {
                assert!(validate(&gpu, l.placements(), driver).is_empty(), "{l}");
                assert!(simple_is_legal(&gpu, l.placements(), driver), "{l}");
                let back = Layout::parse(gpu.clone(), &l.text(), driver).unwrap();
                assert_eq!(&back, l);
            }
        }
    }
}

#[test]
fn enumeration_is_complete_against_brute_force() {
    // Every subset of legal (profile, start) pairs, checked by the simple rule, must be
    // exactly the enumerated set (A30 is small enough to try all subsets; so is an A100
    // restricted to four profiles).
    let catalog = Catalog::builtin();
    for (id, names) in [
        ("a30-24gb", None),
        (
            "a100-40gb",
            Some(vec!["1g.5gb", "2g.10gb", "3g.20gb", "7g.40gb"]),
        ),
    ] {
        let gpu = catalog.gpu(id).unwrap().clone();
        let allowed: Vec<ProfileIndex> = match &names {
            Some(ns) => ns.iter().map(|n| gpu.profile_by_name(n).unwrap()).collect(),
            None => gpu.profile_indices().collect(),
        };
        let cands: Vec<Placement> = allowed
            .iter()
            .flat_map(|&p| {
                gpu.profile(p)
                    .starts()
                    .iter()
                    .map(move |&start| Placement { profile: p, start })
            })
            .collect();
        assert!(
            cands.len() <= 20,
            "{id}: {} candidates is too many to brute-force",
            cands.len()
        );
        let mut brute: Vec<String> = Vec::new();
        for bits in 1u32..(1 << cands.len()) {
            let subset: Vec<Placement> = (0..cands.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| cands[i])
                .collect();
            if simple_is_legal(&gpu, &subset, Driver::default()) {
                brute.push(
                    Layout::new(gpu.clone(), subset, Driver::default())
                        .unwrap()
                        .text(),
                );
            }
        }
        brute.sort();
        let opts = EnumerateOptions {
            profiles: Some(allowed),
            ..Default::default()
        };
        let mut ours: Vec<String> = enumerate_layouts(&gpu, &opts)
            .iter()
            .map(|l| l.text())
            .collect();
        ours.sort();
        assert_eq!(ours, brute, "{id}");
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn validator_agrees_with_the_simple_checker(
        (g, raw) in placements_strategy(),
        driver in driver_strategy(),
    ) {
        let gpu = &gpus()[g];
        let placements = to_placements(gpu, &raw);
        let violations = validate(gpu, &placements, driver);
        prop_assert_eq!(
            violations.is_empty(),
            simple_is_legal(gpu, &placements, driver),
            "{} {:?}: {:?}", gpu.id(), placements, violations
        );
        // Layout::new accepts exactly the legal ones, and a legal one round-trips.
        match Layout::new(gpu.clone(), placements.clone(), driver) {
            Ok(l) => {
                prop_assert!(violations.is_empty());
                prop_assert_eq!(Layout::parse(gpu.clone(), &l.text(), driver).unwrap(), l);
            }
            Err(e) => prop_assert_eq!(e.violations, violations),
        }
    }

    #[test]
    fn placement_search_succeeds_exactly_when_some_layout_contains_the_counts(
        g in 0..6usize,
        raw in prop::collection::vec(any::<u8>(), 0..8),
        driver in driver_strategy(),
    ) {
        let gpu = &gpus()[g];
        let np = gpu.profiles().len() as u8;
        let mut wanted = ProfileCounts::new();
        for p in raw {
            wanted.add(ProfileIndex(p % np), 1);
        }
        let all = enumerate_layouts(gpu, &EnumerateOptions { driver, ..Default::default() });
        let exists = wanted.is_empty() || all.iter().any(|l| wanted.is_subset_of(&l.counts()));
        match place(gpu, &[], &wanted, driver) {
            Ok(l) => {
                prop_assert!(exists);
                prop_assert_eq!(l.counts(), wanted.clone());
                prop_assert!(simple_is_legal(gpu, l.placements(), driver));
            }
            Err(e) => {
                prop_assert!(!exists, "{}: {} refused but {} exists", gpu.id(), wanted.describe(gpu), e);
                prop_assert!(!e.violations.is_empty());
            }
        }
    }

    #[test]
    fn placement_around_pins_keeps_the_pins(
        g in 0..6usize,
        pin in (any::<u8>(), any::<u8>()),
        raw in prop::collection::vec(any::<u8>(), 0..5),
    ) {
        let gpu = &gpus()[g];
        let np = gpu.profiles().len() as u8;
        let pinned = to_placements(gpu, &[pin]);
        let mut wanted = ProfileCounts::new();
        for p in raw {
            wanted.add(ProfileIndex(p % np), 1);
        }
        let all = enumerate_layouts(gpu, &EnumerateOptions::default());
        let exists = all.iter().any(|l| {
            l.placements().contains(&pinned[0]) && {
                let mut rest = l.counts();
                rest.remove_one(pinned[0].profile);
                wanted.is_subset_of(&rest)
            }
        });
        match place(gpu, &pinned, &wanted, Driver::default()) {
            Ok(l) => {
                prop_assert!(exists);
                prop_assert!(l.placements().contains(&pinned[0]));
            }
            Err(_) => prop_assert!(!exists),
        }
    }
}
