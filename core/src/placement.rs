//! Placement search: from profile counts (what mig-parted configs and most planners give)
//! to a legal layout with explicit starts, or a proof that none exists.
//!
//! The search is exhaustive over legal starts (largest instances first, identical instances
//! in increasing start order so no arrangement is tried twice), so "no placement" is a proof,
//! not a heuristic's failure. It is tiny: at most a few thousand nodes on an 8-slice GPU.

use std::sync::Arc;

use crate::catalog::{GpuType, ProfileIndex};
use crate::layout::{
    Driver, IllegalLayout, Layout, Placement, ProfileCounts, Violation, count_violations,
    size_order, validate,
};

/// Places `wanted` instances around the `pinned` ones.
///
/// Returns the first legal layout in a fixed search order (largest profiles first, each at
/// its lowest free legal start), so the answer is deterministic; or every reason it cannot:
/// the pinned instances' violations, the per-count rules, or [`Violation::NoPlacement`] with
/// the profiles whose removal would make the rest fit.
pub fn place(
    gpu: &Arc<GpuType>,
    pinned: &[Placement],
    wanted: &ProfileCounts,
    driver: Driver,
) -> Result<Layout, IllegalLayout> {
    let illegal = |violations| IllegalLayout {
        gpu: gpu.id().to_string(),
        violations,
    };
    let pinned_violations = validate(gpu, pinned, driver);
    let mut all = wanted.clone();
    for pl in pinned {
        all.add(pl.profile, 1);
    }
    let mut violations = count_violations(gpu, &all, driver);
    if !pinned_violations.is_empty() {
        // Report the pinned instances' own problems, plus the count rules the whole set breaks
        // that the pinned ones alone do not.
        let mut out = pinned_violations;
        violations.retain(|v| !out.contains(v) && !out.iter().any(|o| same_rule(o, v)));
        out.extend(violations);
        return Err(illegal(out));
    }
    if !violations.is_empty() {
        return Err(illegal(violations));
    }
    if let Some(layout) = search(gpu, pinned, wanted, driver) {
        return Ok(layout);
    }
    let mut fits_without = Vec::new();
    for (p, _) in wanted.iter() {
        let mut fewer = wanted.clone();
        fewer.remove_one(p);
        if search(gpu, pinned, &fewer, driver).is_some() {
            fits_without.push(gpu.profile(p).name().to_string());
        }
    }
    let requested = if pinned.is_empty() {
        wanted.describe(gpu)
    } else {
        let pins: Vec<String> = pinned
            .iter()
            .map(|pl| format!("{}@{}", gpu.profile(pl.profile).name(), pl.start))
            .collect();
        format!("{} around {}", wanted.describe(gpu), pins.join(","))
    };
    Err(illegal(vec![Violation::NoPlacement {
        requested,
        placeable_without_one_of: fits_without,
    }]))
}

/// Whether two violations are the same rule about the same totals (the pinned check and the
/// whole-set check can both report compute or media limits).
fn same_rule(a: &Violation, b: &Violation) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
        && !matches!(
            a,
            Violation::CountExceeded { .. }
                | Violation::IllegalStart { .. }
                | Violation::Overlap { .. }
        )
}

/// Depth-first search for starts; `None` when no arrangement is legal.
fn search(
    gpu: &Arc<GpuType>,
    pinned: &[Placement],
    wanted: &ProfileCounts,
    driver: Driver,
) -> Option<Layout> {
    let mut todo: Vec<ProfileIndex> = Vec::new();
    for (p, n) in wanted.iter() {
        todo.extend(std::iter::repeat_n(p, n as usize));
    }
    todo.sort_by_key(|&p| size_order(gpu, p));
    let used = pinned.iter().fold(0u32, |m, pl| {
        m | gpu.profile(pl.profile).memory_mask(pl.start)
    });
    let mut chosen: Vec<Placement> = pinned.to_vec();
    if dfs(gpu, &todo, used, None, &mut chosen) {
        // Per-count rules were checked by the caller and starts and overlaps by the search;
        // building the layout re-checks everything.
        Layout::new(gpu.clone(), chosen, driver).ok()
    } else {
        None
    }
}

fn dfs(
    gpu: &GpuType,
    todo: &[ProfileIndex],
    used: u32,
    prev: Option<Placement>,
    chosen: &mut Vec<Placement>,
) -> bool {
    let Some((&p, rest)) = todo.split_first() else {
        return true;
    };
    let prof = gpu.profile(p);
    // Identical instances to place take increasing starts, so no arrangement is tried twice.
    // (`prev` is the previous instance placed by the search, never a pinned one.)
    let min_start = match prev {
        Some(last) if last.profile == p => last.start + 1,
        _ => 0,
    };
    for &start in prof.starts().iter().filter(|&&s| s >= min_start) {
        let mask = prof.memory_mask(start);
        if used & mask != 0 {
            continue;
        }
        let here = Placement { profile: p, start };
        chosen.push(here);
        if dfs(gpu, rest, used | mask, Some(here), chosen) {
            return true;
        }
        chosen.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::layout::LayoutSpec;

    fn try_place(id: &str, text: &str, driver: Driver) -> Result<String, Vec<String>> {
        let gpu = Catalog::builtin().gpu(id).unwrap().clone();
        let spec = LayoutSpec::parse(&gpu, text).unwrap();
        place(&gpu, &spec.pinned, &spec.unplaced, driver)
            .map(|l| l.text())
            .map_err(|e| e.violations.iter().map(|v| v.to_string()).collect())
    }

    #[test]
    fn places_largest_first_at_lowest_start() {
        assert_eq!(
            try_place("a100-80gb", "1g.10gb,2g.20gb,3g.40gb", Driver::default()).unwrap(),
            "3g.40gb@0,2g.20gb@4,1g.10gb@6"
        );
        assert_eq!(
            try_place("a100-40gb", "3g.20gb,4g.20gb", Driver::default()).unwrap(),
            "4g.20gb@0,3g.20gb@4"
        );
        assert_eq!(
            try_place("a100-40gb", "7x1g.5gb", Driver::default()).unwrap(),
            "1g.5gb@0,1g.5gb@1,1g.5gb@2,1g.5gb@3,1g.5gb@4,1g.5gb@5,1g.5gb@6"
        );
    }

    #[test]
    fn places_around_pinned_instances() {
        assert_eq!(
            try_place("a100-80gb", "3g.40gb@4,2x2g.20gb", Driver::default()).unwrap(),
            "2g.20gb@0,2g.20gb@2,3g.40gb@4"
        );
    }

    #[test]
    fn totals_and_geometry_refusals() {
        assert_eq!(
            try_place("a100-80gb", "2x3g.40gb,1g.10gb", Driver::default()).unwrap_err(),
            ["the instances need 9 memory slices but the GPU has 8; remove 1 memory slice(s)"]
        );
        // Counts and totals allow it (7 GPCs, 8 slices), but 2g starts only at 0, 2 and 4.
        assert_eq!(
            try_place("a100-80gb", "3g.40gb@0,2x2g.20gb", Driver::default()).unwrap_err(),
            [
                "no legal placement exists for 2x 2g.20gb around 3g.40gb@0 (searched exhaustively); removing one 2g.20gb makes it placeable"
            ]
        );
        // The same counts without the pin fit, with the 3g at 4.
        assert_eq!(
            try_place("a100-80gb", "3g.40gb,2x2g.20gb", Driver::default()).unwrap(),
            "2g.20gb@0,2g.20gb@2,3g.40gb@4"
        );
    }

    #[test]
    fn pinned_instances_do_not_constrain_identical_placed_ones() {
        assert_eq!(
            try_place("a100-80gb", "1g.10gb@5,1g.10gb", Driver::default()).unwrap(),
            "1g.10gb@0,1g.10gb@5"
        );
    }

    #[test]
    fn hopper_config_from_the_wild() {
        // A published mig-parted "all-balanced" entry for H100: 2x 1g.10gb + 2g.20gb + 4g.40gb.
        assert_eq!(
            try_place("h100-80gb", "2x1g.10gb,2g.20gb,4g.40gb", Driver::default()).unwrap_err(),
            ["the instances need 8 compute slices but the GPU has 7; remove 1 compute slice(s)"]
        );
    }

    #[test]
    fn a_rule_the_pins_already_break_is_reported_once() {
        // The pins need 8 GPCs; with the unplaced 1g the whole set needs 9. Only the pins'
        // figure is reported; the whole set's memory (9 slices of 8) is a new rule.
        assert_eq!(
            try_place(
                "h100-80gb",
                "4g.40gb@0,2g.20gb@4,1g.10gb@6,1g.10gb@5,1g.10gb",
                Driver::default()
            )
            .unwrap_err(),
            [
                "2g.20gb@4 and 1g.10gb@5 overlap on memory slice 5",
                "the instances need 8 compute slices but the GPU has 7; remove 1 compute slice(s)",
                "the instances need 9 memory slices but the GPU has 8; remove 1 memory slice(s)"
            ]
        );
    }

    #[test]
    fn pinned_conflicts_are_reported() {
        assert_eq!(
            try_place("a100-80gb", "3g.40gb@2,1g.10gb", Driver::default()).unwrap_err(),
            ["3g.40gb@2: 3g.40gb cannot start at memory slice 2; legal starts: 0, 4"]
        );
        assert_eq!(
            try_place("a100-80gb", "3g.40gb@0,1g.10gb@1", Driver::default()).unwrap_err(),
            ["3g.40gb@0 and 1g.10gb@1 overlap on memory slice 1"]
        );
        assert_eq!(
            try_place("a100-80gb", "4g.40gb@0,1g.10gb", Driver::BeforeR510).unwrap(),
            "4g.40gb@0,1g.10gb@4"
        );
        assert_eq!(
            try_place("a100-80gb", "4g.40gb@0,3g.40gb", Driver::BeforeR510).unwrap_err(),
            [
                "4g.40gb and 3g.40gb cannot share a GPU before driver R510 (drop --before-r510 if the driver is R510 or later)"
            ]
        );
    }
}
