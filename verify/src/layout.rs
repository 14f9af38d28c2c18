//! The MIG validity rule, re-derived from MIG.md without calling the layout engine under
//! test: instances at legal starts, memory slices pairwise disjoint, compute and count limits,
//! media engines of each kind within the GPU's (one `+me` instance per GPU where the catalog
//! has no engine counts), and (before driver R510) no 4g beside a 3g. Profile counts
//! without starts (mig-parted's form) are checked by the count rules and an exhaustive search
//! of its own for a legal arrangement.
//!
//! Only the catalog's plain figures are used: each profile's name, compute and memory slices,
//! maximum count, legal starts, media engines and variant, and the GPU's slice and engine
//! counts.

use migsched_core::{Driver, GpuType, MediaEngines, Profile};
use serde::Serialize;

use crate::violation::{Location, Rule, Violation};

/// One GPU instance as a file names it: a profile name and a start, legal or not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlacedInstance {
    /// Profile name, as written.
    pub profile: String,
    /// First memory slice.
    pub start: u8,
}

impl PlacedInstance {
    /// An instance of `profile` at `start`.
    pub fn new(profile: &str, start: u8) -> PlacedInstance {
        PlacedInstance {
            profile: profile.to_string(),
            start,
        }
    }

    /// The text form `profile@start`.
    pub fn text(&self) -> String {
        format!("{}@{}", self.profile, self.start)
    }
}

/// The profile of `gpu` called `name` (ASCII case ignored), with its index.
pub fn find_profile<'a>(gpu: &'a GpuType, name: &str) -> Option<(usize, &'a Profile)> {
    let name = name.trim();
    let named = |p: &Profile| {
        p.name().eq_ignore_ascii_case(name)
            || p.aliases().iter().any(|a| a.eq_ignore_ascii_case(name))
    };
    gpu.profiles().iter().enumerate().find(|(_, p)| named(p))
}

/// The memory slices `[start, start + size)` of a profile at a start, as a bitmask, or `None`
/// when they run past the GPU's last slice.
fn slices(gpu: &GpuType, profile: &Profile, start: u8) -> Option<u64> {
    let end = u32::from(start) + u32::from(profile.memory_slices());
    if end > u32::from(gpu.memory_slices()) {
        return None;
    }
    let ones = (1u64 << profile.memory_slices()) - 1;
    Some(ones << start)
}

/// The interval of memory slices an instance covers, even past the GPU's end.
fn interval(profile: &Profile, start: u8) -> (u32, u32) {
    (
        u32::from(start),
        u32::from(start) + u32::from(profile.memory_slices()),
    )
}

fn join<T: ToString>(xs: &[T]) -> String {
    xs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_profile(gpu: &GpuType, name: &str, at: Location) -> Violation {
    let known: Vec<&str> = gpu.profiles().iter().map(|p| p.name()).collect();
    Violation::new(
        Rule::UnknownProfile,
        at,
        format!(
            "'{name}' is not a profile of {}; its profiles are {}",
            gpu.id(),
            known.join(", ")
        ),
    )
}

/// Checks placed instances on one GPU against every rule; returns every violation (empty
/// means legal). `at` locates the GPU; violations about one instance add it.
///
/// Rules, in report order: unknown profile; illegal start; overlap (each pair); count limit
/// (each profile); compute limit; media extensions; the pre-R510 driver rule. With more
/// instances than the GPU has memory slices, the overlaps are summarized by the memory limit
/// (after the compute limit), so the cost stays linear in the instances.
pub fn check_layout(
    gpu: &GpuType,
    instances: &[PlacedInstance],
    driver: Driver,
    at: &Location,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut known: Vec<(&PlacedInstance, usize, &Profile)> = Vec::new();
    for inst in instances {
        match find_profile(gpu, &inst.profile) {
            Some((i, p)) => known.push((inst, i, p)),
            None => out.push(unknown_profile(
                gpu,
                &inst.profile,
                at.with_instance(inst.text()),
            )),
        }
    }
    for &(inst, _, p) in &known {
        if !p.starts().contains(&inst.start) {
            out.push(Violation::new(
                Rule::IllegalStart,
                at.with_instance(inst.text()),
                format!(
                    "{} cannot start at memory slice {}; its legal starts are {}",
                    p.name(),
                    inst.start,
                    join(p.starts())
                ),
            ));
        }
    }
    // More instances than memory slices cannot be legal (each holds one at least): the
    // memory total says so once, instead of a violation per pair (quadratic: thousands of
    // instances took gigabytes), and the instances are not named one by one.
    let summarized = known.len() > usize::from(gpu.memory_slices());
    let pairs = if summarized { &known[..0] } else { &known[..] };
    for (i, &(a, _, pa)) in pairs.iter().enumerate() {
        for &(b, _, pb) in &pairs[i + 1..] {
            let (a0, a1) = interval(pa, a.start);
            let (b0, b1) = interval(pb, b.start);
            let (lo, hi) = (a0.max(b0), a1.min(b1));
            if lo < hi {
                let shared: Vec<u32> = (lo..hi).collect();
                let noun = if shared.len() == 1 { "slice" } else { "slices" };
                out.push(Violation::new(
                    Rule::Overlap,
                    at.with_instance(a.text()),
                    format!(
                        "{} and {} both use memory {noun} {}",
                        a.text(),
                        b.text(),
                        join(&shared)
                    ),
                ));
            }
        }
    }
    let names: Vec<(usize, &Profile)> = known.iter().map(|&(_, i, p)| (i, p)).collect();
    out.extend(count_rules(gpu, &names, driver, at, summarized));
    // Name the instances in the media-engine and driver rules, not just the profiles.
    for v in out.iter_mut().filter(|_| !summarized) {
        match v.rule {
            Rule::MediaExtensions => {
                let texts: Vec<String> = known.iter().map(|(inst, _, _)| inst.text()).collect();
                v.message = match gpu.media_engines() {
                    Some(total) => engines_over(&total, known.iter().map(|&(_, _, p)| p), &texts)
                        .map_or_else(|| v.message.clone(), |(m, _)| m),
                    None => {
                        let me: Vec<String> = known
                            .iter()
                            .filter(|(_, _, p)| p.media_extensions())
                            .map(|(inst, _, _)| inst.text())
                            .collect();
                        media_message(&me)
                    }
                };
            }
            Rule::DriverRule => {
                let first = |g: u8| {
                    known
                        .iter()
                        .find(|(_, _, p)| p.compute_slices() == g)
                        .map(|(inst, _, _)| inst.text())
                        .unwrap_or_default()
                };
                v.message = driver_message(&first(4), &first(3));
            }
            _ => {}
        }
    }
    out
}

fn media_message(names: &[String]) -> String {
    format!(
        "{} media-extension (+me) instances ({}), but a GPU has media engines for one",
        names.len(),
        names.join(", ")
    )
}

/// The media-engine rule: per kind (NVDEC, NVENC, NVJPG, OFA), the instances' engines add up
/// to at most the GPU's. `None` when they do; else a message naming each exceeded kind and
/// the instances (`names`, parallel to `instances`) that use one. A profile without engine
/// figures counts as none. The flag says whether a variant (`+me`, `-me`, ...) is among
/// those instances.
fn engines_over<'a>(
    total: &MediaEngines,
    instances: impl Iterator<Item = &'a Profile>,
    names: &[String],
) -> Option<(String, bool)> {
    let profiles: Vec<&Profile> = instances.collect();
    let per: Vec<[(&'static str, u8); 4]> = profiles
        .iter()
        .map(|p| p.media_engines().unwrap_or_default().kinds())
        .collect();
    let mut kinds = Vec::new();
    let mut users: Vec<usize> = Vec::new();
    for (k, &(kind, available)) in total.kinds().iter().enumerate() {
        let used: u32 = per.iter().map(|e| u32::from(e[k].1)).sum();
        if used > u32::from(available) {
            kinds.push(format!("{kind}: {used} needed, {available} on the GPU"));
            for (i, e) in per.iter().enumerate() {
                if e[k].1 > 0 && !users.contains(&i) {
                    users.push(i);
                }
            }
        }
    }
    users.sort_unstable();
    let who: Vec<&str> = users.iter().map(|&i| names[i].as_str()).collect();
    let variant = users.iter().any(|&i| profiles[i].is_variant());
    (!kinds.is_empty()).then(|| {
        let message = format!(
            "media engines exceeded ({}) by {}",
            kinds.join("; "),
            who.join(", ")
        );
        (message, variant)
    })
}

fn driver_message(four: &str, three: &str) -> String {
    format!(
        "{four} and {three} on one GPU: drivers before R510 refuse a 4g instance beside a 3g \
         instance"
    )
}

/// The rules that depend only on how many instances of each profile there are. `profiles`
/// holds one (index, profile) per instance. With `memory`, also the total of memory slices
/// (for counts without starts; placed instances report overlaps instead).
fn count_rules(
    gpu: &GpuType,
    profiles: &[(usize, &Profile)],
    driver: Driver,
    at: &Location,
    memory: bool,
) -> Vec<Violation> {
    let mut per_profile: Vec<(usize, &Profile, u64)> = Vec::new();
    for &(i, p) in profiles {
        match per_profile.iter_mut().find(|(j, _, _)| *j == i) {
            Some(entry) => entry.2 += 1,
            None => per_profile.push((i, p, 1)),
        }
    }
    let mut out = Vec::new();
    total_rules(gpu, &mut per_profile, at, memory, &mut out);
    let compute: u32 = profiles
        .iter()
        .map(|(_, p)| u32::from(p.compute_slices()))
        .sum();
    match gpu.media_engines() {
        Some(total) => {
            let names: Vec<String> = profiles.iter().map(|(_, p)| p.name().to_string()).collect();
            // Plain instances over the compute slices are over the decoders too on most
            // GPUs; the compute rule says it, unless a variant is involved.
            let over_compute = compute > u32::from(gpu.compute_slices());
            if let Some((message, _)) =
                engines_over(&total, profiles.iter().map(|(_, p)| *p), &names)
                    .filter(|(_, variant)| *variant || !over_compute)
            {
                out.push(Violation::new(Rule::MediaExtensions, at.clone(), message));
            }
        }
        None => {
            let me: Vec<String> = profiles
                .iter()
                .filter(|(_, p)| p.media_extensions())
                .map(|(_, p)| p.name().to_string())
                .collect();
            if me.len() > 1 {
                out.push(Violation::new(
                    Rule::MediaExtensions,
                    at.clone(),
                    media_message(&me),
                ));
            }
        }
    }
    if driver == Driver::BeforeR510 {
        let of = |g: u8| profiles.iter().find(|(_, p)| p.compute_slices() == g);
        if let (Some((_, four)), Some((_, three))) = (of(4), of(3)) {
            out.push(Violation::new(
                Rule::DriverRule,
                at.clone(),
                driver_message(four.name(), three.name()),
            ));
        }
    }
    out
}

/// Checks profile counts without starts (mig-parted's form): unknown profiles, the count
/// rules (count, compute, memory, `+me`, driver), and when those pass, whether any
/// arrangement of legal starts holds them all (an exhaustive search of this crate's own).
pub fn check_counts(
    gpu: &GpuType,
    counts: &[(String, u32)],
    driver: Driver,
    at: &Location,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let total: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
    if total > u64::from(gpu.memory_slices()) {
        // No arrangement holds more instances than memory slices: the count rules from the
        // counts themselves, without expanding them (a count of 10^9 took 16 GB).
        return count_totals(gpu, counts, at);
    }
    let mut expanded: Vec<(usize, &Profile)> = Vec::new();
    for (name, n) in counts {
        match find_profile(gpu, name) {
            Some((i, p)) => expanded.extend(std::iter::repeat_n((i, p), *n as usize)),
            None if *n > 0 => out.push(unknown_profile(gpu, name, at.clone())),
            None => {}
        }
    }
    out.extend(count_rules(gpu, &expanded, driver, at, true));
    if out.is_empty() && find_placement(gpu, counts).is_none() {
        out.push(Violation::new(
            Rule::NoPlacement,
            at.clone(),
            format!(
                "no arrangement of legal starts holds {} (searched exhaustively)",
                describe_counts(counts)
            ),
        ));
    }
    out
}

/// `3g.40gb + 2x 1g.10gb`, in the given order; `no instances` when empty.
pub fn describe_counts(counts: &[(String, u32)]) -> String {
    let items: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(p, n)| {
            if *n == 1 {
                p.clone()
            } else {
                format!("{n}x {p}")
            }
        })
        .collect();
    if items.is_empty() {
        "no instances".to_string()
    } else {
        items.join(" + ")
    }
}

/// The count rules of counts too many for any GPU, from the counts (the media-engine and
/// driver rules add nothing to such a layout): unknown profiles, each profile over its
/// count, and the compute and memory totals, in [`check_counts`]'s words and order.
fn count_totals(gpu: &GpuType, counts: &[(String, u32)], at: &Location) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut per_profile: Vec<(usize, &Profile, u64)> = Vec::new();
    for (name, n) in counts.iter().filter(|(_, n)| *n > 0) {
        match find_profile(gpu, name) {
            Some((i, p)) => match per_profile.iter_mut().find(|(j, _, _)| *j == i) {
                Some(entry) => entry.2 += u64::from(*n),
                None => per_profile.push((i, p, u64::from(*n))),
            },
            None => out.push(unknown_profile(gpu, name, at.clone())),
        }
    }
    total_rules(gpu, &mut per_profile, at, true, &mut out);
    out
}

/// The rules on totals, from instance counts per profile (in profile order): each profile's
/// count limit, the compute slices and, with `memory`, the memory slices.
fn total_rules(
    gpu: &GpuType,
    per_profile: &mut [(usize, &Profile, u64)],
    at: &Location,
    memory: bool,
    out: &mut Vec<Violation>,
) {
    per_profile.sort_by_key(|&(i, _, _)| i);
    for &(_, p, n) in per_profile.iter() {
        if n > u64::from(p.max_count()) {
            out.push(Violation::new(
                Rule::CountLimit,
                at.clone(),
                format!(
                    "{n} instances of {}, but at most {} fit on one GPU",
                    p.name(),
                    p.max_count()
                ),
            ));
        }
    }
    let sum = |f: fn(&Profile) -> u8| -> u64 {
        per_profile
            .iter()
            .map(|&(_, p, n)| n * u64::from(f(p)))
            .sum()
    };
    let compute = sum(Profile::compute_slices);
    if compute > u64::from(gpu.compute_slices()) {
        out.push(Violation::new(
            Rule::ComputeLimit,
            at.clone(),
            format!(
                "the instances use {compute} compute slices, but the GPU has {}",
                gpu.compute_slices()
            ),
        ));
    }
    let used = sum(Profile::memory_slices);
    if memory && used > u64::from(gpu.memory_slices()) {
        out.push(Violation::new(
            Rule::MemoryLimit,
            at.clone(),
            format!(
                "the instances need {used} memory slices, but the GPU has {}",
                gpu.memory_slices()
            ),
        ));
    }
}

/// A legal arrangement of starts for profile counts, by exhaustive search, or `None` when
/// none exists (or a name is not a profile of `gpu`). Only starts and disjointness are
/// searched; the count rules are [`check_counts`]'s. Deterministic: instances with more
/// memory slices (then more compute, then catalog order) are placed first, each at its
/// lowest free legal start; the result is sorted by start.
pub fn find_placement(gpu: &GpuType, counts: &[(String, u32)]) -> Option<Vec<PlacedInstance>> {
    let total: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
    if total > u64::from(gpu.memory_slices()) {
        return None;
    }
    let mut items: Vec<(usize, &Profile)> = Vec::new();
    for (name, n) in counts.iter().filter(|(_, n)| *n > 0) {
        let (i, p) = find_profile(gpu, name)?;
        items.extend(std::iter::repeat_n((i, p), *n as usize));
    }
    let total: u32 = items
        .iter()
        .map(|(_, p)| u32::from(p.memory_slices()))
        .sum();
    if total > u32::from(gpu.memory_slices()) {
        return None;
    }
    items.sort_by_key(|&(i, p)| {
        (
            std::cmp::Reverse(p.memory_slices()),
            std::cmp::Reverse(p.compute_slices()),
            i,
        )
    });
    let mut starts = vec![0u8; items.len()];
    if !search(gpu, &items, 0, 0, &mut starts) {
        return None;
    }
    let mut placed: Vec<PlacedInstance> = items
        .iter()
        .zip(&starts)
        .map(|(&(_, p), &s)| PlacedInstance::new(p.name(), s))
        .collect();
    placed.sort_by(|a, b| (a.start, &a.profile).cmp(&(b.start, &b.profile)));
    Some(placed)
}

/// Places `items[k..]` into the free slices of `used`; identical profiles take increasing
/// starts (the same arrangement in another order is not searched again).
fn search(
    gpu: &GpuType,
    items: &[(usize, &Profile)],
    k: usize,
    used: u64,
    starts: &mut [u8],
) -> bool {
    let Some(&(index, profile)) = items.get(k) else {
        return true;
    };
    let after = match k.checked_sub(1) {
        Some(prev) if items[prev].0 == index => Some(starts[prev]),
        _ => None,
    };
    for &s in profile.starts() {
        if after.is_some_and(|a| s <= a) {
            continue;
        }
        let Some(mask) = slices(gpu, profile, s) else {
            continue;
        };
        if used & mask != 0 {
            continue;
        }
        starts[k] = s;
        if search(gpu, items, k + 1, used | mask, starts) {
            return true;
        }
    }
    false
}

/// The text form of placed instances, sorted by start (`empty` for none).
pub fn layout_text(instances: &[PlacedInstance]) -> String {
    if instances.is_empty() {
        return "empty".to_string();
    }
    let mut sorted: Vec<&PlacedInstance> = instances.iter().collect();
    sorted.sort_by_key(|i| i.start);
    sorted
        .iter()
        .map(|i| i.text())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a layout's text form: comma-separated `profile@start` items, or `empty`. Profile
/// names are not looked up here (an unknown one is a violation, not a syntax error).
pub fn parse_layout_text(text: &str) -> Result<Vec<PlacedInstance>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the layout text is empty; write `empty` for a GPU without instances".into());
    }
    if text.eq_ignore_ascii_case("empty") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, raw) in text.split(',').enumerate() {
        let item = raw.trim();
        let Some((name, start)) = item.split_once('@') else {
            return Err(format!(
                "item {} '{item}' has no '@start'; a layout names every instance's start",
                i + 1
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("item {} '{item}' has no profile name", i + 1));
        }
        let start: u8 = start.trim().parse().map_err(|_| {
            format!(
                "item {} '{item}': start '{}' is not a memory-slice number",
                i + 1,
                start.trim()
            )
        })?;
        out.push(PlacedInstance::new(name, start));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use migsched_core::Catalog;

    fn gpu(id: &str) -> &'static GpuType {
        Catalog::builtin().gpu(id).unwrap()
    }

    fn check(id: &str, text: &str, driver: Driver) -> Vec<String> {
        let instances = parse_layout_text(text).unwrap();
        check_layout(gpu(id), &instances, driver, &Location::none())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn rules(id: &str, text: &str, driver: Driver) -> Vec<Rule> {
        let instances = parse_layout_text(text).unwrap();
        check_layout(gpu(id), &instances, driver, &Location::none())
            .iter()
            .map(|v| v.rule)
            .collect()
    }

    fn counts(items: &[(&str, u32)]) -> Vec<(String, u32)> {
        items.iter().map(|&(p, n)| (p.to_string(), n)).collect()
    }

    #[test]
    fn legal_layouts_pass() {
        for text in [
            "empty",
            "7g.80gb@0",
            "3g.40gb@0,2g.20gb@4,1g.10gb@6",
            "4g.40gb@0,3g.40gb@4",
            "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,1g.10gb@4,1g.10gb@5,1g.10gb@6",
            "1g.10gb+me@0,1g.20gb@2,2g.20gb@4,1g.10gb@6",
        ] {
            assert_eq!(
                check("a100-80gb", text, Driver::R510OrLater),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn illegal_start_lists_the_legal_ones() {
        assert_eq!(
            check("a100-80gb", "3g.40gb@2", Driver::R510OrLater),
            [
                "3g.40gb@2: 3g.40gb cannot start at memory slice 2; its legal starts are 0, 4 \
              [illegal-start]"
            ]
        );
    }

    #[test]
    fn thousands_of_instances_are_summarized_not_paired() {
        // 4,000 instances took 1.3 GB in check-layout, 4.3 GB in verify plan.
        let text = vec!["1g.10gb@0"; 12_000].join(",");
        assert_eq!(
            check("a100-80gb", &text, Driver::R510OrLater),
            [
                "12000 instances of 1g.10gb, but at most 7 fit on one GPU [count-limit]",
                "the instances use 12000 compute slices, but the GPU has 7 [compute-limit]",
                "the instances need 12000 memory slices, but the GPU has 8 [memory-limit]",
            ]
        );
        let eight = ["1g.10gb@0"; 8].join(",");
        let pairs = rules("a100-80gb", &eight, Driver::R510OrLater);
        assert_eq!(pairs.iter().filter(|&&r| r == Rule::Overlap).count(), 28);
    }

    #[test]
    fn overlap_names_both_instances_and_the_slices() {
        assert_eq!(
            check("a100-80gb", "3g.40gb@0,2g.20gb@2", Driver::R510OrLater),
            ["3g.40gb@0: 3g.40gb@0 and 2g.20gb@2 both use memory slices 2, 3 [overlap]"]
        );
        assert_eq!(
            check("a100-80gb", "1g.10gb@3,3g.40gb@0", Driver::R510OrLater),
            ["1g.10gb@3: 1g.10gb@3 and 3g.40gb@0 both use memory slice 3 [overlap]"]
        );
        // Touching intervals do not overlap.
        assert!(check("a100-80gb", "2g.20gb@0,2g.20gb@2", Driver::R510OrLater).is_empty());
    }

    #[test]
    fn compute_limit_counts_every_instance() {
        // 4g + 2g + 1g + 1g = 8 GPCs; one-slice 1g cannot start at 7 either.
        assert_eq!(
            rules(
                "h100-80gb",
                "4g.40gb@0,2g.20gb@4,1g.10gb@6,1g.10gb@7",
                Driver::R510OrLater
            ),
            [Rule::IllegalStart, Rule::ComputeLimit]
        );
        // Exactly the GPU's compute passes (3g@0 strands one slice, which is legal).
        assert_eq!(
            rules("a100-80gb", "3g.40gb@0,3g.40gb@4", Driver::R510OrLater),
            Vec::<Rule>::new()
        );
        let msg = check(
            "a100-80gb",
            "4g.40gb@0,2g.20gb@4,1g.10gb@6,1g.10gb@6",
            Driver::R510OrLater,
        );
        assert!(
            msg.contains(
                &"the instances use 8 compute slices, but the GPU has 7 [compute-limit]"
                    .to_string()
            ),
            "{msg:?}"
        );
    }

    #[test]
    fn count_limit_per_profile() {
        let r = rules(
            "a100-80gb",
            "1g.20gb@0,1g.20gb@2,1g.20gb@4,1g.20gb@6,1g.20gb@6",
            Driver::R510OrLater,
        );
        assert_eq!(r, [Rule::Overlap, Rule::CountLimit]);
        assert!(
            check(
                "a100-80gb",
                "1g.20gb@0,1g.20gb@2,1g.20gb@4,1g.20gb@6,1g.20gb@6",
                Driver::R510OrLater
            )
            .contains(
                &"5 instances of 1g.20gb, but at most 4 fit on one GPU [count-limit]".to_string()
            )
        );
        // Exactly the maximum passes.
        assert!(
            rules(
                "a100-80gb",
                "2g.20gb@0,2g.20gb@2,2g.20gb@4",
                Driver::R510OrLater
            )
            .is_empty()
        );
    }

    #[test]
    fn one_media_extension_instance() {
        assert_eq!(
            check("a30-24gb", "1g.6gb+me@0,2g.12gb+me@2", Driver::R510OrLater),
            [
                "media engines exceeded (NVJPG: 2 needed, 1 on the GPU; OFA: 2 needed, 1 on the \
                 GPU) by 1g.6gb+me@0, 2g.12gb+me@2 [media-extensions]"
            ]
        );
        assert_eq!(
            rules("a100-40gb", "1g.5gb+me@0,1g.5gb+me@1", Driver::R510OrLater),
            [Rule::CountLimit, Rule::MediaExtensions]
        );
    }

    #[test]
    fn four_and_three_only_before_r510() {
        assert!(rules("a100-40gb", "4g.20gb@0,3g.20gb@4", Driver::R510OrLater).is_empty());
        assert_eq!(
            check("a100-40gb", "4g.20gb@0,3g.20gb@4", Driver::BeforeR510),
            [
                "4g.20gb@0 and 3g.20gb@4 on one GPU: drivers before R510 refuse a 4g instance \
              beside a 3g instance [driver-rule]"
            ]
        );
        // A 4g alone, or two 3g, are fine before R510.
        assert!(rules("a100-40gb", "4g.20gb@0", Driver::BeforeR510).is_empty());
        assert!(rules("a100-40gb", "3g.20gb@0,3g.20gb@4", Driver::BeforeR510).is_empty());
    }

    #[test]
    fn unknown_profiles_are_violations_not_errors() {
        let v = check("a100-80gb", "3g.20gb@0,1g.10gb@4", Driver::R510OrLater);
        assert_eq!(
            v,
            [
                "3g.20gb@0: '3g.20gb' is not a profile of a100-80gb; its profiles are 1g.10gb, \
              1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb [unknown-profile]"
            ]
        );
        // Case is ignored.
        assert!(check("a100-80gb", "3G.40GB@0", Driver::R510OrLater).is_empty());
    }

    #[test]
    fn every_rule_at_once() {
        let r = rules(
            "a100-40gb",
            "7g.40gb@0,4g.20gb@0,3g.20gb@1",
            Driver::BeforeR510,
        );
        assert_eq!(
            r,
            [
                Rule::IllegalStart,
                Rule::Overlap,
                Rule::Overlap,
                Rule::Overlap,
                Rule::ComputeLimit,
                Rule::DriverRule
            ]
        );
    }

    #[test]
    fn starts_past_the_last_slice_are_illegal_and_overlap_by_interval() {
        // 7g.80gb@1 would cover slices 1..8 (past the end): illegal start, and it overlaps.
        assert_eq!(
            rules("a100-80gb", "7g.80gb@1,1g.10gb@0", Driver::R510OrLater),
            [Rule::IllegalStart, Rule::ComputeLimit]
        );
        assert_eq!(
            rules("a100-80gb", "1g.10gb@255,1g.10gb@0", Driver::R510OrLater),
            [Rule::IllegalStart]
        );
    }

    #[test]
    fn counts_are_placed_exhaustively() {
        let g = gpu("a100-80gb");
        let placed = find_placement(
            g,
            &counts(&[("3g.40gb", 1), ("2g.20gb", 1), ("1g.10gb", 1)]),
        )
        .unwrap();
        assert_eq!(layout_text(&placed), "3g.40gb@0,2g.20gb@4,1g.10gb@6");
        // A second one-slice 1g cannot start at 7: the 3g moves to 4.
        let placed = find_placement(
            g,
            &counts(&[("3g.40gb", 1), ("2g.20gb", 1), ("1g.10gb", 2)]),
        )
        .unwrap();
        assert_eq!(
            layout_text(&placed),
            "2g.20gb@0,1g.10gb@2,1g.10gb@3,3g.40gb@4"
        );
        // 3g.40gb at 0 would leave two 2g only start 4; the search moves it to 4.
        let placed = find_placement(g, &counts(&[("3g.40gb", 1), ("2g.20gb", 2)])).unwrap();
        assert_eq!(layout_text(&placed), "2g.20gb@0,2g.20gb@2,3g.40gb@4");
        assert!(find_placement(g, &counts(&[("3g.40gb", 1), ("2g.20gb", 3)])).is_none());
        assert!(find_placement(g, &counts(&[("5g.50gb", 1)])).is_none());
        assert_eq!(find_placement(g, &[]), Some(Vec::new()));
        // Seven one-slice 1g fill starts 0..6; an eighth has nowhere to go.
        assert!(find_placement(g, &counts(&[("1g.10gb", 7)])).is_some());
        assert!(find_placement(g, &counts(&[("1g.10gb", 8)])).is_none());
    }

    #[test]
    fn counts_describe_without_zero_entries() {
        let c = counts(&[("3g.40gb", 1), ("2g.20gb", 0), ("1g.10gb", 2)]);
        assert_eq!(describe_counts(&c), "3g.40gb + 2x 1g.10gb");
        assert_eq!(describe_counts(&counts(&[("1g.10gb", 0)])), "no instances");
    }

    #[test]
    fn count_checks_report_each_rule() {
        let g = gpu("h100-80gb");
        let at = Location::none();
        let r = |items: &[(&str, u32)], d| -> Vec<Rule> {
            check_counts(g, &counts(items), d, &at)
                .iter()
                .map(|v| v.rule)
                .collect()
        };
        assert!(
            r(
                &[("3g.40gb", 1), ("2g.20gb", 1), ("1g.20gb", 1)],
                Driver::R510OrLater
            )
            .is_empty()
        );
        assert_eq!(
            r(
                &[("1g.10gb", 2), ("2g.20gb", 1), ("4g.40gb", 1)],
                Driver::R510OrLater
            ),
            [Rule::ComputeLimit]
        );
        assert_eq!(
            r(&[("7g.80gb", 2)], Driver::R510OrLater),
            [Rule::CountLimit, Rule::ComputeLimit, Rule::MemoryLimit]
        );
        assert_eq!(
            r(&[("4g.40gb", 1), ("3g.40gb", 1)], Driver::BeforeR510),
            [Rule::DriverRule]
        );
        assert_eq!(
            r(&[("9g.90gb", 1)], Driver::R510OrLater),
            [Rule::UnknownProfile]
        );
        assert!(r(&[("9g.90gb", 0)], Driver::R510OrLater).is_empty());
        assert_eq!(
            r(
                &[("3g.40gb", 1), ("2g.20gb", 2), ("1g.10gb", 1)],
                Driver::R510OrLater
            ),
            [Rule::ComputeLimit, Rule::MemoryLimit]
        );
        assert_eq!(
            r(&[("1g.10gb+me", 1), ("1g.10gb", 1)], Driver::R510OrLater),
            Vec::<Rule>::new()
        );
    }

    /// A GPU whose geometry, not its counts, forbids a pair: the wide profile only starts at
    /// 1, and the narrow one only where the wide one sits.
    const CRAMPED: &str = r#"
[[gpu]]
id = "cramped"
name = "Cramped GPU"
compute_slices = 2
memory_slices = 4
sm_count = 20
memory_gib = 8.0
[[gpu.profile]]
name = "1g.4gb"
nvml_id = 1
compute_slices = 1
memory_slices = 2
sm_count = 10
memory_gib = 4.0
max_count = 1
starts = [1]
[[gpu.profile]]
name = "1g.2gb"
nvml_id = 2
compute_slices = 1
memory_slices = 1
sm_count = 10
memory_gib = 2.0
max_count = 2
starts = [1, 2]
"#;

    #[test]
    fn counts_that_pass_every_count_rule_can_still_have_no_placement() {
        let cat = Catalog::from_toml_str(CRAMPED, "cramped.toml").unwrap();
        let g = cat.gpu("cramped").unwrap();
        let v = check_counts(
            g,
            &counts(&[("1g.4gb", 1), ("1g.2gb", 1)]),
            Driver::R510OrLater,
            &Location::none(),
        );
        assert_eq!(
            v.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "no arrangement of legal starts holds 1g.4gb + 1g.2gb (searched exhaustively) \
              [no-placement]"
            ]
        );
        assert!(find_placement(g, &counts(&[("1g.2gb", 2)])).is_some());
        assert!(find_placement(g, &counts(&[("1g.4gb", 1)])).is_some());
    }

    #[test]
    fn text_form_parses_and_prints() {
        let l = parse_layout_text(" 2g.20gb@4, 3g.40gb@0 ").unwrap();
        assert_eq!(layout_text(&l), "3g.40gb@0,2g.20gb@4");
        assert_eq!(parse_layout_text("EMPTY").unwrap(), Vec::new());
        assert_eq!(layout_text(&[]), "empty");
        assert_eq!(
            parse_layout_text("").unwrap_err(),
            "the layout text is empty; write `empty` for a GPU without instances"
        );
        assert_eq!(
            parse_layout_text("3g.40gb@0,2g.20gb").unwrap_err(),
            "item 2 '2g.20gb' has no '@start'; a layout names every instance's start"
        );
        assert_eq!(
            parse_layout_text("3g.40gb@x").unwrap_err(),
            "item 1 '3g.40gb@x': start 'x' is not a memory-slice number"
        );
        assert_eq!(
            parse_layout_text("@3").unwrap_err(),
            "item 1 '@3' has no profile name"
        );
        assert_eq!(describe_counts(&[]), "no instances");
    }
}
