//! The layout checker agrees with core's layout engine (`validate`, `place`,
//! `enumerate_layouts`) on random placements and counts: two readings of MIG.md's rule that
//! share only the catalog's numbers.

use std::collections::BTreeSet;
use std::sync::Arc;

use migsched_core::{
    Catalog, Driver, EnumerateOptions, GpuType, Placement, ProfileCounts, ProfileIndex,
    Violation as CoreViolation, enumerate_layouts, place, validate,
};
use migsched_verify::{Location, PlacedInstance, Rule, check_counts, check_layout, find_placement};
use proptest::prelude::*;

use super::config;

fn gpus() -> Vec<Arc<GpuType>> {
    Catalog::builtin().gpus().to_vec()
}

fn core_rule(v: &CoreViolation) -> Rule {
    match v {
        CoreViolation::IllegalStart { .. } => Rule::IllegalStart,
        CoreViolation::Overlap { .. } => Rule::Overlap,
        CoreViolation::ComputeExceeded { .. } => Rule::ComputeLimit,
        CoreViolation::MemoryExceeded { .. } => Rule::MemoryLimit,
        CoreViolation::CountExceeded { .. } => Rule::CountLimit,
        CoreViolation::MediaExtensionsExceeded { .. } | CoreViolation::EnginesExceeded { .. } => {
            Rule::MediaExtensions
        }
        CoreViolation::FourAndThreeBeforeR510 { .. } => Rule::DriverRule,
        CoreViolation::NoPlacement { .. } => Rule::NoPlacement,
    }
}

/// A GPU, then up to 9 instances: a profile and a start that is legal half of the time.
fn placements() -> impl Strategy<Value = (Arc<GpuType>, Vec<Placement>, Driver)> {
    (0..gpus().len(), any::<bool>()).prop_flat_map(|(g, before)| {
        let gpu = gpus()[g].clone();
        let n = gpu.profiles().len();
        let slices = gpu.memory_slices();
        let item = (
            0..n,
            any::<bool>(),
            0..slices + 1,
            any::<prop::sample::Index>(),
        );
        let driver = if before {
            Driver::BeforeR510
        } else {
            Driver::R510OrLater
        };
        (Just(gpu), prop::collection::vec(item, 0..9), Just(driver)).prop_map(
            |(gpu, items, driver)| {
                let placed = items
                    .into_iter()
                    .map(|(p, legal, any_start, pick)| {
                        let prof = gpu.profile(ProfileIndex(p as u8));
                        let start = if legal {
                            *pick.get(prof.starts())
                        } else {
                            any_start
                        };
                        Placement {
                            profile: ProfileIndex(p as u8),
                            start,
                        }
                    })
                    .collect();
                (gpu, placed, driver)
            },
        )
    })
}

fn named(gpu: &GpuType, placements: &[Placement]) -> Vec<PlacedInstance> {
    placements
        .iter()
        .map(|pl| PlacedInstance::new(gpu.profile(pl.profile).name(), pl.start))
        .collect()
}

proptest! {
    #![proptest_config(config(1024))]

    /// Same verdict, and the same rules broken (core folds two instances of one `+me`
    /// profile into its count rule; this checker also names the `+me` rule then).
    #[test]
    fn checker_agrees_with_core_validate((gpu, placed, driver) in placements()) {
        let mine = check_layout(&gpu, &named(&gpu, &placed), driver, &Location::none());
        let theirs = validate(&gpu, &placed, driver);
        prop_assert_eq!(mine.is_empty(), theirs.is_empty(), "mine {:?}\ntheirs {:?}", mine, theirs);
        let mut mine_rules: BTreeSet<Rule> = mine.iter().map(|v| v.rule).collect();
        let theirs_rules: BTreeSet<Rule> = theirs.iter().map(core_rule).collect();
        let me_profiles: BTreeSet<ProfileIndex> = placed
            .iter()
            .filter(|p| gpu.profile(p.profile).media_extensions())
            .map(|p| p.profile)
            .collect();
        if gpu.media_engines().is_none() && me_profiles.len() == 1 {
            mine_rules.remove(&Rule::MediaExtensions);
        }
        prop_assert_eq!(mine_rules, theirs_rules);
        prop_assert_eq!(
            mine.iter().filter(|v| v.rule == Rule::Overlap).count(),
            theirs.iter().filter(|v| matches!(v, CoreViolation::Overlap { .. })).count()
        );
    }

    /// Counts: placeable by this checker exactly when core's exhaustive search places them;
    /// and the arrangement found is itself legal by both.
    #[test]
    fn counts_agree_with_core_place((gpu, placed, driver) in placements()) {
        let mut counts = ProfileCounts::new();
        let mut named_counts: Vec<(String, u32)> = Vec::new();
        for pl in &placed {
            counts.add(pl.profile, 1);
            let name = gpu.profile(pl.profile).name().to_string();
            match named_counts.iter_mut().find(|(n, _)| *n == name) {
                Some(c) => c.1 += 1,
                None => named_counts.push((name, 1)),
            }
        }
        let mine = check_counts(&gpu, &named_counts, driver, &Location::none());
        let theirs = place(&gpu, &[], &counts, driver);
        prop_assert_eq!(mine.is_empty(), theirs.is_ok(), "mine {:?}\ntheirs {:?}", mine, theirs);
        if mine.is_empty() {
            let found = find_placement(&gpu, &named_counts).expect("placeable");
            prop_assert!(check_layout(&gpu, &found, driver, &Location::none()).is_empty());
            let as_core: Vec<Placement> = found
                .iter()
                .map(|p| Placement { profile: gpu.profile_by_name(&p.profile).unwrap(), start: p.start })
                .collect();
            prop_assert!(validate(&gpu, &as_core, driver).is_empty());
        }
    }
}

/// Every layout core enumerates is legal here, and one instance more at any start either
/// is illegal here too or is another enumerated layout (the maximal ones admit nothing).
#[test]
fn every_enumerated_layout_is_legal_and_maximal_ones_admit_nothing() {
    for gpu in gpus() {
        for driver in [Driver::R510OrLater, Driver::BeforeR510] {
            let all = enumerate_layouts(
                &gpu,
                &EnumerateOptions {
                    profiles: None,
                    driver,
                    maximal: false,
                },
            );
            let texts: BTreeSet<String> = all.iter().map(|l| l.text()).collect();
            for l in &all {
                let placed: Vec<Placement> = l.placements().to_vec();
                assert!(
                    check_layout(&gpu, &named(&gpu, &placed), driver, &Location::none()).is_empty(),
                    "{} {l}",
                    gpu.id()
                );
            }
            let maximal = enumerate_layouts(
                &gpu,
                &EnumerateOptions {
                    profiles: None,
                    driver,
                    maximal: true,
                },
            );
            for l in &maximal {
                for (pi, p) in gpu.profiles().iter().enumerate() {
                    for &s in p.starts() {
                        let mut placed = l.placements().to_vec();
                        placed.push(Placement {
                            profile: ProfileIndex(pi as u8),
                            start: s,
                        });
                        let v =
                            check_layout(&gpu, &named(&gpu, &placed), driver, &Location::none());
                        assert!(
                            !v.is_empty(),
                            "{} {l} + {}@{s} should not fit",
                            gpu.id(),
                            p.name()
                        );
                    }
                }
            }
            // The number of legal layouts with at least one instance, counted by brute force
            // over this checker.
            assert_eq!(
                brute_count(&gpu, driver) - 1,
                texts.len(),
                "{} {driver:?}",
                gpu.id()
            );
        }
    }
}

/// Legal layouts by this checker (the empty one included), by brute force over sets of
/// (profile, legal start) in a canonical order (each set counted once).
fn brute_count(gpu: &GpuType, driver: Driver) -> usize {
    let items: Vec<PlacedInstance> = gpu
        .profiles()
        .iter()
        .flat_map(|p| p.starts().iter().map(|&s| PlacedInstance::new(p.name(), s)))
        .collect();
    fn go(
        gpu: &GpuType,
        driver: Driver,
        items: &[PlacedInstance],
        from: usize,
        chosen: &mut Vec<PlacedInstance>,
    ) -> usize {
        let mut n = 1; // the current set
        for i in from..items.len() {
            chosen.push(items[i].clone());
            if check_layout(gpu, chosen, driver, &Location::none()).is_empty() {
                n += go(gpu, driver, items, i + 1, chosen);
            }
            chosen.pop();
        }
        n
    }
    go(gpu, driver, &items, 0, &mut Vec::new())
}

#[test]
fn nvidia_documents_19_a100_configurations_and_18_before_r510() {
    // Maximal layouts over the 1g(1 slice)/2g/3g/4g/7g profiles, counted by brute force
    // with this checker alone.
    let gpu = Catalog::builtin().gpu("a100-40gb").unwrap();
    let allowed = ["1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"];
    let items: Vec<PlacedInstance> = gpu
        .profiles()
        .iter()
        .filter(|p| allowed.contains(&p.name()))
        .flat_map(|p| p.starts().iter().map(|&s| PlacedInstance::new(p.name(), s)))
        .collect();
    let count = |driver: Driver| {
        let mut legal: Vec<Vec<PlacedInstance>> = Vec::new();
        let n = items.len();
        for mask in 0u32..(1 << n) {
            let set: Vec<PlacedInstance> = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| items[i].clone())
                .collect();
            if check_layout(gpu, &set, driver, &Location::none()).is_empty() {
                legal.push(set);
            }
        }
        legal
            .iter()
            .filter(|set| {
                !items.iter().any(|extra| {
                    let mut more = (*set).clone();
                    more.push(extra.clone());
                    !set.contains(extra)
                        && check_layout(gpu, &more, driver, &Location::none()).is_empty()
                })
            })
            .count()
    };
    assert_eq!(count(Driver::R510OrLater), 19);
    assert_eq!(count(Driver::BeforeR510), 18);
}
