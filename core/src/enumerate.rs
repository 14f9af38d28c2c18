//! Enumeration of every legal layout of a GPU type, and of the maximal ones (nothing more
//! fits), optionally restricted to a subset of its profiles.
//!
//! This is the set the configuration-count integer programs range over; NVIDIA documents
//! 19 maximal A100 layouts with the 1g/2g/3g/4g/7g profiles on R510+ and 18 before, which
//! the tests reproduce from the rules alone.

use std::sync::Arc;

use crate::catalog::{GpuType, ProfileIndex};
use crate::layout::{Driver, Layout, Placement, SizeKey, size_order};

/// What to enumerate.
#[derive(Debug, Clone, Default)]
pub struct EnumerateOptions {
    /// Only these profiles (all of the GPU's when `None`). Maximality is relative to them.
    pub profiles: Option<Vec<ProfileIndex>>,
    /// Driver rules.
    pub driver: Driver,
    /// Only layouts to which no allowed instance can be added.
    pub maximal: bool,
}

/// The most legal layouts [`try_enumerate_layouts`] and [`count_layouts`] visit by default:
/// 10^6. Every catalog GPU has a few hundred at most; a custom GPU of 22 one-slice starts
/// has millions (every subset of its slices), which took forever and all memory.
pub const MAX_LAYOUTS: u64 = 1_000_000;

/// An enumeration that would go past its budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{gpu} has more than {limit} legal layouts{}; enumerate fewer profiles (a subset of them) or a smaller GPU",
    if *maximal { " to search for the maximal ones" } else { "" }
)]
pub struct TooManyLayouts {
    /// The GPU type's id.
    pub gpu: String,
    /// The budget of legal layouts visited.
    pub limit: u64,
    /// Whether maximal layouts were wanted.
    pub maximal: bool,
}

/// [`enumerate_layouts`] within a budget: stops with an error once the search has visited
/// more than `limit` legal layouts (all of them are visited, maximal or not).
pub fn try_enumerate_layouts(
    gpu: &Arc<GpuType>,
    options: &EnumerateOptions,
    limit: u64,
) -> Result<Vec<Layout>, TooManyLayouts> {
    let mut out = Vec::new();
    search(gpu, options, limit, &mut |l| out.push(l))?;
    out.sort_by_cached_key(|l| sort_key(gpu, l));
    Ok(out)
}

/// How many layouts [`enumerate_layouts`] returns, without keeping them; the same budget
/// as [`try_enumerate_layouts`].
pub fn count_layouts(
    gpu: &Arc<GpuType>,
    options: &EnumerateOptions,
    limit: u64,
) -> Result<u64, TooManyLayouts> {
    let mut n = 0u64;
    search(gpu, options, limit, &mut |_| n += 1)?;
    Ok(n)
}

/// Every non-empty legal layout (or every maximal one), in a fixed order: larger instances
/// first (7g, then 4g+..., then 3g+...), ties by placement. Unbounded: for a GPU from input
/// (a custom catalog), call [`try_enumerate_layouts`].
pub fn enumerate_layouts(gpu: &Arc<GpuType>, options: &EnumerateOptions) -> Vec<Layout> {
    try_enumerate_layouts(gpu, options, u64::MAX).expect("an unbounded budget")
}

/// Visits every legal layout (depth first), handing each wanted one to `found`.
fn search(
    gpu: &Arc<GpuType>,
    options: &EnumerateOptions,
    limit: u64,
    found: &mut dyn FnMut(Layout),
) -> Result<(), TooManyLayouts> {
    let allowed: Vec<ProfileIndex> = match &options.profiles {
        Some(ps) => {
            let mut ps = ps.clone();
            ps.sort_unstable();
            ps.dedup();
            ps
        }
        None => gpu.profile_indices().collect(),
    };
    // Candidates in (start, profile) order; a layout is an increasing subsequence of them
    // (instances of a legal layout have distinct starts), so each is produced exactly once.
    let mut candidates: Vec<Placement> = allowed
        .iter()
        .flat_map(|&p| {
            gpu.profile(p)
                .starts()
                .iter()
                .map(move |&start| Placement { profile: p, start })
        })
        .collect();
    candidates.sort_by_key(|pl| (pl.start, pl.profile));

    let mut walk = Walk {
        candidates: &candidates,
        options,
        left: limit,
        found,
    };
    if walk.extend(0, &Layout::empty(gpu.clone())) {
        Ok(())
    } else {
        Err(TooManyLayouts {
            gpu: gpu.id().to_string(),
            limit,
            maximal: options.maximal,
        })
    }
}

struct Walk<'a> {
    candidates: &'a [Placement],
    options: &'a EnumerateOptions,
    /// Legal layouts still to visit before the budget is spent.
    left: u64,
    found: &'a mut dyn FnMut(Layout),
}

impl Walk<'_> {
    /// Extends `current` by candidates from `from` on; false once the budget is spent.
    fn extend(&mut self, from: usize, current: &Layout) -> bool {
        for (i, &pl) in self.candidates.iter().enumerate().skip(from) {
            let Ok(next) = current.with(pl, self.options.driver) else {
                continue;
            };
            if self.left == 0 {
                return false;
            }
            self.left -= 1;
            if !self.extend(i + 1, &next) {
                return false;
            }
            if !self.options.maximal || is_maximal(&next, self.candidates, self.options.driver) {
                (self.found)(next);
            }
        }
        true
    }
}

/// Whether no candidate instance can be added to the layout.
fn is_maximal(layout: &Layout, candidates: &[Placement], driver: Driver) -> bool {
    !candidates.iter().any(|&pl| layout.can_add(pl, driver))
}

/// Whether no instance of the allowed profiles (all of the GPU's when `None`) can be added.
pub fn is_maximal_layout(
    layout: &Layout,
    profiles: Option<&[ProfileIndex]>,
    driver: Driver,
) -> bool {
    let gpu = layout.gpu();
    let allowed: Vec<ProfileIndex> = match profiles {
        Some(ps) => ps.to_vec(),
        None => gpu.profile_indices().collect(),
    };
    !allowed.iter().any(|&p| {
        gpu.profile(p)
            .starts()
            .iter()
            .any(|&start| layout.can_add(Placement { profile: p, start }, driver))
    })
}

fn sort_key(gpu: &GpuType, layout: &Layout) -> (Vec<SizeKey>, Vec<(u8, ProfileIndex)>) {
    let mut shape: Vec<_> = layout
        .placements()
        .iter()
        .map(|pl| size_order(gpu, pl.profile))
        .collect();
    shape.sort();
    let places = layout
        .placements()
        .iter()
        .map(|pl| (pl.start, pl.profile))
        .collect();
    (shape, places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn gpu(id: &str) -> Arc<GpuType> {
        Catalog::builtin().gpu(id).unwrap().clone()
    }

    fn only(gpu: &GpuType, names: &[&str]) -> Option<Vec<ProfileIndex>> {
        Some(
            names
                .iter()
                .map(|n| gpu.profile_by_name(n).unwrap())
                .collect(),
        )
    }

    /// A custom GPU of `slices` one-slice instances that may start anywhere.
    fn sliced(slices: u8) -> Arc<GpuType> {
        let starts: Vec<String> = (0..slices).map(|s| s.to_string()).collect();
        let text = format!(
            "[[gpu]]\nid = \"s{slices}\"\nname = \"Sliced {slices}\"\ncompute_slices = {slices}\nmemory_slices = {slices}\nsm_count = {}\nmemory_gib = {slices}.0\n[[gpu.profile]]\nname = \"1g.1gb\"\nnvml_id = 1\ncompute_slices = 1\nmemory_slices = 1\nsm_count = 10\nmemory_gib = 1.0\nmax_count = {slices}\nstarts = [{}]\n",
            u32::from(slices) * 10,
            starts.join(", ")
        );
        let c = Catalog::from_toml_str(&text, "custom.toml").unwrap();
        c.gpus()[0].clone()
    }

    #[test]
    fn a_custom_gpu_with_millions_of_layouts_stops_at_the_budget() {
        // `layouts --count` on a custom 22-slice GPU ran forever: 2^22 - 1 layouts.
        let g = sliced(22);
        let opts = EnumerateOptions::default();
        let e = count_layouts(&g, &opts, MAX_LAYOUTS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s22 has more than 1000000 legal layouts; enumerate fewer profiles (a subset of them) or a smaller GPU"
        );
        let maximal = EnumerateOptions {
            maximal: true,
            ..EnumerateOptions::default()
        };
        assert!(try_enumerate_layouts(&g, &maximal, 1000).is_err());
        // Within the budget, every layout: each subset of 12 slices.
        let g = sliced(12);
        assert_eq!(count_layouts(&g, &opts, MAX_LAYOUTS), Ok(4095));
        assert_eq!(try_enumerate_layouts(&g, &opts, 4095).unwrap().len(), 4095);
        assert!(try_enumerate_layouts(&g, &opts, 4094).is_err());
        assert_eq!(try_enumerate_layouts(&g, &maximal, 4095).unwrap().len(), 1);
    }

    #[test]
    fn nvidia_documents_19_a100_layouts_on_r510_and_18_before() {
        for id in ["a100-40gb", "a100-80gb", "h100-80gb", "h200-141gb"] {
            let g = gpu(id);
            let names: Vec<&str> = g
                .profiles()
                .iter()
                .filter(|p| !(p.is_variant() || p.class() == "1g" && p.memory_slices() == 2))
                .map(|p| p.name())
                .collect();
            assert_eq!(names.len(), 5, "{id}: {names:?}");
            let mut opts = EnumerateOptions {
                profiles: only(&g, &names),
                maximal: true,
                ..Default::default()
            };
            assert_eq!(enumerate_layouts(&g, &opts).len(), 19, "{id} R510+");
            opts.driver = Driver::BeforeR510;
            assert_eq!(enumerate_layouts(&g, &opts).len(), 18, "{id} before R510");
        }
    }

    #[test]
    fn the_19_a100_layouts_are_nvidias() {
        let g = gpu("a100-40gb");
        let opts = EnumerateOptions {
            profiles: only(&g, &["1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"]),
            maximal: true,
            ..Default::default()
        };
        let texts: Vec<String> = enumerate_layouts(&g, &opts)
            .iter()
            .map(|l| l.text())
            .collect();
        assert_eq!(texts[0], "7g.40gb@0");
        assert_eq!(texts[1], "4g.20gb@0,3g.20gb@4");
        assert!(texts.contains(&"3g.20gb@0,3g.20gb@4".to_string()));
        assert!(texts.contains(
            &"1g.5gb@0,1g.5gb@1,1g.5gb@2,1g.5gb@3,1g.5gb@4,1g.5gb@5,1g.5gb@6".to_string()
        ));
        // 3g at 0 strands a compute slice; 2g+1g+1g fill the rest.
        assert!(texts.contains(&"3g.20gb@0,2g.10gb@4,1g.5gb@6".to_string()));
        // Not maximal: a 1g still fits at 3.
        assert!(!texts.contains(&"2g.10gb@0,1g.5gb@2,3g.20gb@4".to_string()));
    }

    #[test]
    fn every_enumerated_layout_is_distinct_and_legal() {
        let g = gpu("a100-80gb");
        let all = enumerate_layouts(&g, &EnumerateOptions::default());
        let mut texts: Vec<String> = all.iter().map(|l| l.text()).collect();
        let n = texts.len();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), n);
        assert!(all.iter().all(|l| !l.is_empty()));
        let maximal = enumerate_layouts(
            &g,
            &EnumerateOptions {
                maximal: true,
                ..Default::default()
            },
        );
        assert!(maximal.len() < all.len());
        assert!(
            maximal
                .iter()
                .all(|l| is_maximal_layout(l, None, Driver::default()))
        );
    }

    #[test]
    fn maximal_means_no_allowed_instance_fits() {
        let g = gpu("a100-80gb");
        let spec = crate::layout::LayoutSpec::parse(&g, "4g.40gb@0").unwrap();
        let layout = Layout::new(g.clone(), spec.pinned.clone(), Driver::default()).unwrap();
        // A 3g.40gb (or smaller) still fits at 4.
        assert!(!is_maximal_layout(&layout, None, Driver::default()));
        // Only 4g.40gb allowed: nothing more fits.
        let four = only(&g, &["4g.40gb"]);
        assert!(is_maximal_layout(
            &layout,
            four.as_deref(),
            Driver::default()
        ));
    }

    #[test]
    fn a30_has_four_slices() {
        let g = gpu("a30-24gb");
        let opts = EnumerateOptions {
            profiles: only(&g, &["1g.6gb", "2g.12gb", "4g.24gb"]),
            maximal: true,
            ..Default::default()
        };
        let texts: Vec<String> = enumerate_layouts(&g, &opts)
            .iter()
            .map(|l| l.text())
            .collect();
        assert_eq!(
            texts,
            [
                "4g.24gb@0",
                "2g.12gb@0,2g.12gb@2",
                "1g.6gb@0,1g.6gb@1,2g.12gb@2",
                "2g.12gb@0,1g.6gb@2,1g.6gb@3",
                "1g.6gb@0,1g.6gb@1,1g.6gb@2,1g.6gb@3"
            ]
        );
    }

    /// Legal and maximal layouts of every catalog GPU, all profiles, R510+. Every 8-slice GPU
    /// has NVIDIA's 7-slice geometry with a `+me` 1g, so they all share A100's counts (H100
    /// NVL too, now that its 1g.12gb+me is in); A30 has 4 slices; RTX PRO 5000/4500 have two
    /// halves.
    #[test]
    fn layout_counts_per_gpu_are_pinned() {
        let count = |id: &str, maximal: bool| {
            let opts = EnumerateOptions {
                maximal,
                ..Default::default()
            };
            enumerate_layouts(&gpu(id), &opts).len()
        };
        for g in Catalog::builtin().gpus() {
            let expected = match g.id() {
                "a30-24gb" => (75, 17),
                "rtx-pro-6000" => (716, 302),
                "rtx-pro-5000" => (29, 19),
                "rtx-pro-4500" => (21, 13),
                _ => (2318, 239),
            };
            assert_eq!(
                (count(g.id(), false), count(g.id(), true)),
                expected,
                "{}",
                g.id()
            );
        }
    }

    /// RTX PRO 6000's 716 re-derived without the layout engine: each half of the 12-unit
    /// grid holds nothing, one of the four 2g variants, or two quarters (each empty or one of
    /// the five 1g variants); or one whole-GPU instance. Then the engine rule (4 NVDEC, 1 OFA:
    /// +me takes the OFA, +me.all all four decoders and the OFA) and the count limits (one
    /// +me, one +me.all of each size) decide.
    #[test]
    fn rtx_pro_6000_count_follows_from_the_grid_and_the_engines() {
        // (decoders, ofa, name) per variant; the name only keys the count limits.
        let quarter = [
            (1, 0, "q"),
            (1, 1, "q+me"),
            (1, 0, "q+gfx"),
            (4, 1, "q+me.all"),
            (0, 0, "q-me"),
        ];
        let half = [
            (2, 0, "h"),
            (2, 0, "h+gfx"),
            (4, 1, "h+me.all"),
            (0, 0, "h-me"),
        ];
        let mut halves: Vec<Vec<(u32, u32, &str)>> = vec![vec![]];
        for h in half {
            halves.push(vec![h]);
        }
        for a in 0..=quarter.len() {
            for b in 0..=quarter.len() {
                let pick = |i: usize| (i < quarter.len()).then(|| quarter[i]);
                let items: Vec<_> = [pick(a), pick(b)].into_iter().flatten().collect();
                if !items.is_empty() {
                    halves.push(items);
                }
            }
        }
        let mut legal = 2; // 4g.96gb and 4g.96gb+gfx, alone
        for x in &halves {
            for y in &halves {
                let all: Vec<_> = x.iter().chain(y).collect();
                let dec: u32 = all.iter().map(|i| i.0).sum();
                let ofa: u32 = all.iter().map(|i| i.1).sum();
                let once = ["q+me", "q+me.all", "h+me.all"]
                    .iter()
                    .all(|n| all.iter().filter(|i| i.2 == *n).count() <= 1);
                if !all.is_empty() && dec <= 4 && ofa <= 1 && once {
                    legal += 1;
                }
            }
        }
        assert_eq!(legal, 716);
    }
}
