//! MIG layouts: the GPU instances placed on one GPU, the validity rule, and the text form.
//!
//! A [`Layout`] can only be built legal: [`Layout::new`] checks every rule of the validity
//! rule (legal starts, disjoint memory slices, compute and count limits, one `+me` instance,
//! and the pre-R510 4g+3g rule when asked) and returns every violated rule otherwise.
//! The canonical text form lists instances by start: `3g.40gb@0,2g.20gb@4,1g.10gb@6`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::catalog::{GpuType, Profile, ProfileIndex, UnknownProfile};

/// Which driver generation's rules apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Driver {
    /// R510 and later: a 4g and a 3g instance may share a GPU.
    #[default]
    R510OrLater,
    /// Before R510: a 4g and a 3g instance could not coexist on one GPU.
    BeforeR510,
}

/// One GPU instance: a profile at a start (in memory-slice units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Placement {
    /// The profile, as an index into the GPU type's profiles.
    pub profile: ProfileIndex,
    /// The first memory slice the instance occupies.
    pub start: u8,
}

/// How many instances of each profile (a multiset; what mig-parted and most planners give).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileCounts(BTreeMap<ProfileIndex, u32>);

impl ProfileCounts {
    /// No instances.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds `n` instances of a profile.
    pub fn add(&mut self, profile: ProfileIndex, n: u32) {
        if n > 0 {
            // Saturates: a count from a file (10^9 in a mig-parted config) is over every
            // limit long before u32::MAX, and must not wrap below one.
            let c = self.0.entry(profile).or_insert(0);
            *c = c.saturating_add(n);
        }
    }
    /// Removes one instance of a profile; false when there was none.
    pub fn remove_one(&mut self, profile: ProfileIndex) -> bool {
        match self.0.get_mut(&profile) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.0.remove(&profile);
                true
            }
            None => false,
        }
    }
    /// Instances of one profile.
    pub fn get(&self, profile: ProfileIndex) -> u32 {
        self.0.get(&profile).copied().unwrap_or(0)
    }
    /// (profile, count) pairs with a positive count, in profile order.
    pub fn iter(&self) -> impl Iterator<Item = (ProfileIndex, u32)> + '_ {
        self.0.iter().map(|(&p, &n)| (p, n))
    }
    /// Total number of instances.
    pub fn total(&self) -> u32 {
        self.0.values().sum()
    }
    /// Whether there are no instances.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Whether every count here is at most the count in `other`.
    pub fn is_subset_of(&self, other: &ProfileCounts) -> bool {
        self.iter().all(|(p, n)| other.get(p) >= n)
    }
    /// Human form, largest profiles first, e.g. `3g.40gb + 2x 1g.10gb`.
    pub fn describe(&self, gpu: &GpuType) -> String {
        if self.is_empty() {
            return "no instances".to_string();
        }
        let mut items: Vec<(ProfileIndex, u32)> = self.iter().collect();
        items.sort_by_key(|&(p, _)| size_order(gpu, p));
        items
            .iter()
            .map(|&(p, n)| {
                let name = gpu.profile(p).name();
                if n == 1 {
                    name.to_string()
                } else {
                    format!("{n}x {name}")
                }
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Orders profiles larger first (more compute, then more memory), then by index.
pub(crate) type SizeKey = (std::cmp::Reverse<(u8, u8)>, ProfileIndex);

/// Sort key that puts larger profiles (more compute, then more memory) first.
pub(crate) fn size_order(gpu: &GpuType, p: ProfileIndex) -> SizeKey {
    let prof = gpu.profile(p);
    (
        std::cmp::Reverse((prof.compute_slices(), prof.memory_slices())),
        p,
    )
}

/// One violated rule, with what, where and why. Instances are named by their text form
/// (`profile@start`), so a user can find and fix them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Violation {
    /// An instance sits at a start its profile does not allow.
    IllegalStart {
        /// The instance, e.g. `3g.40gb@2`.
        instance: String,
        /// The profile's legal starts.
        legal_starts: Vec<u8>,
    },
    /// Two instances share memory slices.
    Overlap {
        /// The first instance.
        first: String,
        /// The second instance.
        second: String,
        /// The memory slices both use.
        slices: Vec<u8>,
    },
    /// The instances need more compute slices than the GPU has.
    ComputeExceeded {
        /// Compute slices the instances need.
        used: u32,
        /// Compute slices the GPU has.
        available: u8,
    },
    /// The instances need more memory slices than the GPU has (checked on counts).
    MemoryExceeded {
        /// Memory slices the instances need.
        used: u32,
        /// Memory slices the GPU has.
        available: u8,
    },
    /// More instances of a profile than one GPU allows.
    CountExceeded {
        /// The profile.
        profile: String,
        /// Instances requested.
        count: u32,
        /// Most allowed on one GPU.
        max: u8,
    },
    /// The instances together need more media engines of one kind than the GPU has (how
    /// `+me`, `+me.all` and the other variants exclude each other).
    EnginesExceeded {
        /// Each exceeded kind (NVDEC, NVENC, NVJPG, OFA): engines needed, engines the GPU has.
        over: Vec<(String, u32, u8)>,
        /// The instances or profiles that use an exceeded kind.
        instances: Vec<String>,
    },
    /// More than one media-extensions (`+me`) instance (the rule for a GPU whose catalog
    /// entry has no media-engine counts).
    MediaExtensionsExceeded {
        /// The `+me` instances or profiles involved.
        instances: Vec<String>,
    },
    /// A 4g and a 3g instance together, which drivers before R510 refuse.
    FourAndThreeBeforeR510 {
        /// The 4g instance or profile.
        four: String,
        /// The 3g instance or profile.
        three: String,
    },
    /// The counts pass every per-count rule but no arrangement of starts is legal.
    NoPlacement {
        /// The requested instances.
        requested: String,
        /// Profiles one instance of which, removed, makes the rest placeable.
        placeable_without_one_of: Vec<String>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::IllegalStart {
                instance,
                legal_starts,
            } => {
                let (profile, start) = instance.split_once('@').unwrap_or((instance, "?"));
                write!(
                    f,
                    "{instance}: {profile} cannot start at memory slice {start}; legal starts: {}",
                    join(legal_starts)
                )
            }
            Violation::Overlap {
                first,
                second,
                slices,
            } => {
                let noun = if slices.len() == 1 { "slice" } else { "slices" };
                write!(
                    f,
                    "{first} and {second} overlap on memory {noun} {}",
                    join(slices)
                )
            }
            Violation::ComputeExceeded { used, available } => write!(
                f,
                "the instances need {used} compute slices but the GPU has {available}; remove {} \
                 compute slice(s)",
                used - u32::from(*available)
            ),
            Violation::MemoryExceeded { used, available } => write!(
                f,
                "the instances need {used} memory slices but the GPU has {available}; remove {} \
                 memory slice(s)",
                used - u32::from(*available)
            ),
            Violation::CountExceeded {
                profile,
                count,
                max,
            } => {
                write!(
                    f,
                    "{count} instances of {profile}, but at most {max} fit on one GPU"
                )
            }
            Violation::EnginesExceeded { over, instances } => {
                let kinds: Vec<String> = over
                    .iter()
                    .map(|(kind, used, available)| format!("{used} {kind} of {available}"))
                    .collect();
                write!(
                    f,
                    "{} need more media engines than the GPU has ({}): a +me instance takes \
                     the OFA and +me.all every engine; -me uses none",
                    instances.join(", "),
                    kinds.join(", ")
                )
            }
            Violation::MediaExtensionsExceeded { instances } => write!(
                f,
                "{} media-extension (+me) instances ({}), but a GPU has media engines for one",
                instances.len(),
                instances.join(", ")
            ),
            Violation::FourAndThreeBeforeR510 { four, three } => write!(
                f,
                "{four} and {three} cannot share a GPU before driver R510 (drop --before-r510 if \
                 the driver is R510 or later)"
            ),
            Violation::NoPlacement {
                requested,
                placeable_without_one_of,
            } => {
                write!(
                    f,
                    "no legal placement exists for {requested} (searched exhaustively)"
                )?;
                if !placeable_without_one_of.is_empty() {
                    write!(
                        f,
                        "; removing one {} makes it placeable",
                        placeable_without_one_of.join(" or one ")
                    )?;
                }
                Ok(())
            }
        }
    }
}

fn join(xs: &[u8]) -> String {
    xs.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rules that depend only on how many instances of each profile there are: count and
/// compute limits, memory slices in total, one `+me` instance, and the pre-R510 rule.
pub fn count_violations(gpu: &GpuType, counts: &ProfileCounts, driver: Driver) -> Vec<Violation> {
    let mut out = Vec::new();
    for (p, n) in counts.iter() {
        let prof = gpu.profile(p);
        if n > u32::from(prof.max_count()) {
            out.push(Violation::CountExceeded {
                profile: prof.name().to_string(),
                count: n,
                max: prof.max_count(),
            });
        }
    }
    // Saturating: counts come from files; a wrapped total could look legal.
    let total = |f: &dyn Fn(ProfileIndex) -> u8| {
        counts.iter().fold(0u32, |sum, (p, n)| {
            sum.saturating_add(n.saturating_mul(u32::from(f(p))))
        })
    };
    let compute = total(&|p| gpu.profile(p).compute_slices());
    if compute > u32::from(gpu.compute_slices()) {
        out.push(Violation::ComputeExceeded {
            used: compute,
            available: gpu.compute_slices(),
        });
    }
    let memory = total(&|p| gpu.profile(p).memory_slices());
    if memory > u32::from(gpu.memory_slices()) {
        out.push(Violation::MemoryExceeded {
            used: memory,
            available: gpu.memory_slices(),
        });
    }
    out.extend(engine_violations(
        gpu,
        counts,
        compute > u32::from(gpu.compute_slices()),
    ));
    let me: Vec<ProfileIndex> = counts
        .iter()
        .filter(|&(p, _)| gpu.profile(p).media_extensions())
        .map(|(p, _)| p)
        .collect();
    if gpu.media_engines().is_none() && me.len() > 1 {
        // Several instances of one +me profile are already a CountExceeded (max count 1);
        // this rule is about different +me profiles together.
        out.push(Violation::MediaExtensionsExceeded {
            instances: me
                .iter()
                .map(|&p| gpu.profile(p).name().to_string())
                .collect(),
        });
    }
    if driver == Driver::BeforeR510 {
        let of_class = |c: &str| counts.iter().find(|&(p, _)| gpu.profile(p).class() == c);
        if let (Some((four, _)), Some((three, _))) = (of_class("4g"), of_class("3g")) {
            out.push(Violation::FourAndThreeBeforeR510 {
                four: gpu.profile(four).name().to_string(),
                three: gpu.profile(three).name().to_string(),
            });
        }
    }
    out
}

/// The media-engine rule: per engine kind, the instances' engines add up to at most the
/// GPU's. Names the profiles (with counts) that use an exceeded kind.
///
/// On most GPUs a plain profile's decoders follow its compute slices, so instances that
/// exceed the compute slices exceed the decoders too; when no variant is involved, the
/// compute rule already says it all (`compute_exceeded`) and this one stays silent.
fn engine_violations(
    gpu: &GpuType,
    counts: &ProfileCounts,
    compute_exceeded: bool,
) -> Vec<Violation> {
    let mut over = Vec::new();
    let mut users: Vec<ProfileIndex> = Vec::new();
    for (k, (kind, available)) in engine_kinds_over(gpu, counts) {
        over.push((kind.to_string(), k.0, available));
        for (p, _) in counts.iter() {
            if engines_of(gpu, p)[k.1] > 0 && !users.contains(&p) {
                users.push(p);
            }
        }
    }
    let variant_involved = users.iter().any(|&p| gpu.profile(p).is_variant());
    if over.is_empty() || compute_exceeded && !variant_involved {
        return Vec::new();
    }
    users.sort_unstable();
    let instances = users
        .iter()
        .map(|&p| match counts.get(p) {
            1 => gpu.profile(p).name().to_string(),
            n => format!("{n}x {}", gpu.profile(p).name()),
        })
        .collect();
    vec![Violation::EnginesExceeded { over, instances }]
}

/// A profile's engines per kind (none when the catalog has no figures).
fn engines_of(gpu: &GpuType, p: ProfileIndex) -> [u8; 4] {
    gpu.profile(p)
        .media_engines()
        .map_or([0; 4], |e| e.kinds().map(|(_, n)| n))
}

/// The engine kinds the instances exceed: ((engines needed, kind position), (kind, the GPU's
/// count)). Empty when the GPU has no engine figures.
/// ((engines needed, kind position), (kind, the GPU's count)).
type KindOver = ((u32, usize), (&'static str, u8));

fn engine_kinds_over(gpu: &GpuType, counts: &ProfileCounts) -> Vec<KindOver> {
    let Some(total) = gpu.media_engines() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, (kind, available)) in total.kinds().into_iter().enumerate() {
        let used: u32 = counts.iter().fold(0u32, |sum, (p, n)| {
            sum.saturating_add(n.saturating_mul(u32::from(engines_of(gpu, p)[k])))
        });
        if used > u32::from(available) {
            out.push(((used, k), (kind, available)));
        }
    }
    out
}

/// Checks placed instances against every rule and returns all violations (empty = legal).
pub fn validate(gpu: &GpuType, placements: &[Placement], driver: Driver) -> Vec<Violation> {
    let name = |pl: &Placement| format!("{}@{}", gpu.profile(pl.profile).name(), pl.start);
    let mut out = Vec::new();
    for pl in placements {
        let prof = gpu.profile(pl.profile);
        if !prof.starts().contains(&pl.start) {
            out.push(Violation::IllegalStart {
                instance: name(pl),
                legal_starts: prof.starts().to_vec(),
            });
        }
    }
    // Every instance holds at least one memory slice, so more instances than slices cannot
    // be legal: the total (one MemoryExceeded, kept below) says so without a violation per
    // pair, which for thousands of instances took gigabytes. Up to the slice count (8 on
    // every catalog GPU, 32 at most) the pairs name each overlap.
    let summarized = placements.len() > usize::from(gpu.memory_slices());
    let pairs: &[Placement] = if summarized { &[] } else { placements };
    for (i, a) in pairs.iter().enumerate() {
        for b in &pairs[i + 1..] {
            let shared = gpu.profile(a.profile).memory_mask(a.start)
                & gpu.profile(b.profile).memory_mask(b.start);
            if shared != 0 {
                let slices = (0..32u8).filter(|s| shared & (1 << s) != 0).collect();
                out.push(Violation::Overlap {
                    first: name(a),
                    second: name(b),
                    slices,
                });
            }
        }
    }
    let mut counts = ProfileCounts::new();
    for pl in placements {
        counts.add(pl.profile, 1);
    }
    let mut per_count = count_violations(gpu, &counts, driver);
    // Placed instances that exceed the memory slices also overlap or start illegally, which
    // names them; the total alone adds nothing (unless the pairs were summarized by it).
    per_count.retain(|v| summarized || !matches!(v, Violation::MemoryExceeded { .. }));
    // Summarized, the engine rules keep their per-profile counts ("12000x 1g.10gb") rather
    // than name every instance.
    if let Some(Violation::EnginesExceeded { instances, .. }) = per_count
        .iter_mut()
        .find(|v| matches!(v, Violation::EnginesExceeded { .. }))
        .filter(|_| !summarized)
    {
        let kinds: Vec<usize> = engine_kinds_over(gpu, &counts)
            .iter()
            .map(|((_, k), _)| *k)
            .collect();
        *instances = placements
            .iter()
            .filter(|pl| kinds.iter().any(|&k| engines_of(gpu, pl.profile)[k] > 0))
            .map(name)
            .collect();
    }
    if let Some(v) = per_count
        .iter_mut()
        .find(|v| matches!(v, Violation::MediaExtensionsExceeded { .. }))
        .filter(|_| !summarized)
    {
        let me = placements
            .iter()
            .filter(|pl| gpu.profile(pl.profile).media_extensions());
        *v = Violation::MediaExtensionsExceeded {
            instances: me.map(name).collect(),
        };
    }
    if let Some(v) = per_count
        .iter_mut()
        .find(|v| matches!(v, Violation::FourAndThreeBeforeR510 { .. }))
    {
        let first_of = |c: &str| {
            placements
                .iter()
                .find(|pl| gpu.profile(pl.profile).class() == c)
        };
        if let (Some(four), Some(three)) = (first_of("4g"), first_of("3g")) {
            *v = Violation::FourAndThreeBeforeR510 {
                four: name(four),
                three: name(three),
            };
        }
    }
    out.extend(per_count);
    out
}

/// The GPU instances of one GPU, legal by construction, ordered by start.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    gpu: Arc<GpuType>,
    placements: Vec<Placement>,
}

/// A layout that breaks the rules.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("illegal layout on {gpu}: {}", violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
pub struct IllegalLayout {
    /// The GPU type's id.
    pub gpu: String,
    /// Every violated rule.
    pub violations: Vec<Violation>,
}

impl Layout {
    /// Builds a layout from placed instances, or reports every rule they break.
    pub fn new(
        gpu: Arc<GpuType>,
        mut placements: Vec<Placement>,
        driver: Driver,
    ) -> Result<Layout, IllegalLayout> {
        let violations = validate(&gpu, &placements, driver);
        if !violations.is_empty() {
            return Err(IllegalLayout {
                gpu: gpu.id().to_string(),
                violations,
            });
        }
        placements.sort_by_key(|pl| (pl.start, pl.profile));
        Ok(Layout { gpu, placements })
    }

    /// A GPU with no instances.
    pub fn empty(gpu: Arc<GpuType>) -> Layout {
        Layout {
            gpu,
            placements: Vec::new(),
        }
    }

    /// Parses the canonical text form (every instance with `@start`) and checks it.
    pub fn parse(gpu: Arc<GpuType>, text: &str, driver: Driver) -> Result<Layout, LayoutError> {
        let spec = LayoutSpec::parse(&gpu, text)?;
        if !spec.unplaced.is_empty() {
            return Err(LayoutError::Spec(SpecError::Unplaced {
                text: text.trim().to_string(),
            }));
        }
        Ok(Layout::new(gpu, spec.pinned, driver)?)
    }

    /// The GPU type.
    pub fn gpu(&self) -> &Arc<GpuType> {
        &self.gpu
    }
    /// The instances, ordered by start.
    pub fn placements(&self) -> &[Placement] {
        &self.placements
    }
    /// The instances with their profiles, ordered by start.
    pub fn instances(&self) -> impl Iterator<Item = (Placement, &Profile)> + '_ {
        self.placements
            .iter()
            .map(|&pl| (pl, self.gpu.profile(pl.profile)))
    }
    /// Whether the GPU has no instances.
    pub fn is_empty(&self) -> bool {
        self.placements.is_empty()
    }
    /// How many instances of each profile.
    pub fn counts(&self) -> ProfileCounts {
        let mut c = ProfileCounts::new();
        for pl in &self.placements {
            c.add(pl.profile, 1);
        }
        c
    }
    /// Compute slices used.
    pub fn compute_slices_used(&self) -> u32 {
        self.instances()
            .map(|(_, p)| u32::from(p.compute_slices()))
            .sum()
    }
    /// Bitmask of the memory slices used.
    pub fn memory_mask(&self) -> u32 {
        self.instances()
            .fold(0, |m, (pl, p)| m | p.memory_mask(pl.start))
    }
    /// SMs of all instances together.
    pub fn sm_count(&self) -> u32 {
        self.instances().map(|(_, p)| p.sm_count()).sum()
    }
    /// Whether another instance can join under the given driver rules.
    pub fn can_add(&self, placement: Placement, driver: Driver) -> bool {
        let mut all = self.placements.clone();
        all.push(placement);
        validate(&self.gpu, &all, driver).is_empty()
    }
    /// This layout with one more instance, if legal.
    pub fn with(&self, placement: Placement, driver: Driver) -> Result<Layout, IllegalLayout> {
        let mut all = self.placements.clone();
        all.push(placement);
        Layout::new(self.gpu.clone(), all, driver)
    }
    /// The canonical text form (also what `Display` prints); `empty` for no instances.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.placements.is_empty() {
            return f.write_str(EMPTY);
        }
        for (i, (pl, p)) in self.instances().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}@{}", p.name(), pl.start)?;
        }
        Ok(())
    }
}

/// JSON form: the GPU id, the text form, and each instance with its resources.
impl Serialize for Layout {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Instance<'a> {
            profile: &'a str,
            start: u8,
            size: u8,
            compute_slices: u8,
            sm_count: u32,
            memory_gib: f64,
        }
        let instances: Vec<Instance> = self
            .instances()
            .map(|(pl, p)| Instance {
                profile: p.name(),
                start: pl.start,
                size: p.memory_slices(),
                compute_slices: p.compute_slices(),
                sm_count: p.sm_count(),
                memory_gib: p.memory_gib(),
            })
            .collect();
        let mut s = serializer.serialize_struct("Layout", 5)?;
        s.serialize_field("gpu", self.gpu.id())?;
        s.serialize_field("layout", &self.text())?;
        s.serialize_field("instances", &instances)?;
        s.serialize_field("compute_slices_used", &self.compute_slices_used())?;
        s.serialize_field("memory_slices_used", &self.memory_mask().count_ones())?;
        s.end()
    }
}

/// The text of a layout with no instances.
pub const EMPTY: &str = "empty";

/// A parsed layout text: instances pinned at a start, and instances still to be placed.
///
/// Grammar: comma-separated items `[N x]PROFILE[@START]`, e.g. `3g.40gb@0,2x1g.10gb`, or the
/// word `empty`. Items with `@` are pinned; the rest are placed by [`crate::place`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayoutSpec {
    /// Instances with an explicit start.
    pub pinned: Vec<Placement>,
    /// Instances without a start.
    pub unplaced: ProfileCounts,
}

/// Why a layout text could not be read.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpecError {
    /// Nothing was given.
    #[error("the layout is empty; write `{EMPTY}` for a GPU without instances")]
    Blank,
    /// One comma-separated item is malformed.
    #[error("item {position} '{item}': {reason}")]
    BadItem {
        /// 1-based position among the comma-separated items.
        position: usize,
        /// The item's text.
        item: String,
        /// What is wrong.
        reason: String,
    },
    /// A profile name is not one of the GPU's.
    #[error("item {position}: {unknown}")]
    UnknownProfile {
        /// 1-based position among the comma-separated items.
        position: usize,
        /// The lookup error, listing the GPU's profiles.
        unknown: UnknownProfile,
    },
    /// A text form was required but some items have no start.
    #[error("'{text}' has items without '@start'; a placed layout names every start")]
    Unplaced {
        /// The text.
        text: String,
    },
}

/// A layout text that could not be read or that breaks the rules.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LayoutError {
    /// The text is malformed.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The text is well formed but the layout is illegal.
    #[error(transparent)]
    Illegal(#[from] IllegalLayout),
}

impl LayoutSpec {
    /// Parses `[N x]PROFILE[@START]` items; see the type's documentation.
    pub fn parse(gpu: &GpuType, text: &str) -> Result<LayoutSpec, SpecError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SpecError::Blank);
        }
        let mut spec = LayoutSpec::default();
        if text.eq_ignore_ascii_case(EMPTY) {
            return Ok(spec);
        }
        for (i, raw) in text.split(',').enumerate() {
            let position = i + 1;
            let item = raw.trim();
            let bad = |reason: String| SpecError::BadItem {
                position,
                item: item.to_string(),
                reason,
            };
            if item.is_empty() {
                return Err(bad(
                    "empty item (two commas in a row, or a trailing comma)".into()
                ));
            }
            let (count, rest) = split_count(item).map_err(bad)?;
            let (name, start) = match rest.split_once('@') {
                Some((n, s)) => (n.trim(), Some(s.trim())),
                None => (rest.trim(), None),
            };
            if name.is_empty() {
                return Err(bad("missing profile name".into()));
            }
            let profile = gpu
                .profile_by_name(name)
                .map_err(|unknown| SpecError::UnknownProfile { position, unknown })?;
            match start {
                Some(s) => {
                    let start: u8 = s.parse().map_err(|_| {
                        bad(format!(
                            "start '{s}' is not a memory-slice number (0 to {})",
                            gpu.memory_slices() - 1
                        ))
                    })?;
                    if count != 1 {
                        return Err(bad(
                            "a count and a start together; list each placed instance".into(),
                        ));
                    }
                    spec.pinned.push(Placement { profile, start });
                }
                None => spec.unplaced.add(profile, count),
            }
        }
        Ok(spec)
    }
}

/// Splits an optional `Nx` count prefix (`2x1g.10gb`, `2x 1g.10gb`).
fn split_count(item: &str) -> Result<(u32, &str), String> {
    if let Some((n, rest)) = item.split_once(['x', 'X']) {
        if !n.is_empty() && n.trim().chars().all(|c| c.is_ascii_digit()) {
            let count: u32 = n
                .trim()
                .parse()
                .map_err(|_| format!("count '{n}' is too large"))?;
            if count == 0 {
                return Err("a count must be at least 1".into());
            }
            return Ok((count, rest.trim()));
        }
    }
    Ok((1, item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn gpu(id: &str) -> Arc<GpuType> {
        Catalog::builtin().gpu(id).unwrap().clone()
    }

    #[test]
    fn profile_counts_keep_no_zero_entries() {
        let (a, b) = (ProfileIndex(0), ProfileIndex(3));
        let mut c = ProfileCounts::new();
        c.add(a, 0);
        assert!(c.is_empty());
        assert_eq!(c, ProfileCounts::new());
        c.add(a, 2);
        c.add(b, 1);
        assert_eq!((c.total(), c.get(a), c.get(b)), (3, 2, 1));
        assert!(c.remove_one(b));
        assert_eq!(c.iter().collect::<Vec<_>>(), [(a, 2)]);
        assert!(!c.remove_one(b));
        assert!(c.remove_one(a));
        assert_eq!((c.total(), c.get(a)), (1, 1));
        assert!(c.remove_one(a));
        assert!(c.is_empty());
        assert_eq!(c, ProfileCounts::new());
        assert_eq!(c.total(), 0);
    }

    fn errors(id: &str, text: &str, driver: Driver) -> Vec<String> {
        match Layout::parse(gpu(id), text, driver) {
            Ok(l) => panic!("{text} should be illegal, got {l}"),
            Err(LayoutError::Illegal(e)) => e.violations.iter().map(|v| v.to_string()).collect(),
            Err(e) => panic!("{text}: unexpected {e}"),
        }
    }

    #[test]
    fn legal_layout_round_trips_in_canonical_order() {
        let l = Layout::parse(
            gpu("a100-80gb"),
            "1g.10gb@6, 2g.20gb@4,3g.40gb@0",
            Driver::default(),
        )
        .unwrap();
        assert_eq!(l.text(), "3g.40gb@0,2g.20gb@4,1g.10gb@6");
        assert_eq!(
            Layout::parse(gpu("a100-80gb"), &l.text(), Driver::default()).unwrap(),
            l
        );
        assert_eq!(
            (l.compute_slices_used(), l.memory_mask(), l.sm_count()),
            (6, 0b0111_1111, 42 + 28 + 14)
        );
    }

    #[test]
    fn empty_layout_has_a_text_form() {
        let l = Layout::parse(gpu("h100-80gb"), "empty", Driver::default()).unwrap();
        assert!(l.is_empty());
        assert_eq!(l.text(), "empty");
        assert_eq!(
            Layout::parse(gpu("h100-80gb"), " ", Driver::default())
                .unwrap_err()
                .to_string(),
            "the layout is empty; write `empty` for a GPU without instances"
        );
    }

    #[test]
    fn illegal_start_names_the_legal_ones() {
        assert_eq!(
            errors("a100-40gb", "3g.20gb@2", Driver::default()),
            ["3g.20gb@2: 3g.20gb cannot start at memory slice 2; legal starts: 0, 4"]
        );
    }

    #[test]
    fn overlap_names_both_instances_and_the_slices() {
        assert_eq!(
            errors("a100-80gb", "3g.40gb@0,2g.20gb@2", Driver::default()),
            ["3g.40gb@0 and 2g.20gb@2 overlap on memory slices 2, 3"]
        );
        assert_eq!(
            errors(
                "a100-80gb",
                "1g.10gb@3,3g.40gb@0,1g.10gb@4",
                Driver::default()
            ),
            ["1g.10gb@3 and 3g.40gb@0 overlap on memory slice 3"]
        );
    }

    #[test]
    fn thousands_of_instances_are_summarized_not_paired() {
        // 12,000 copies of one instance (a 120 KB argument) made 72 million overlap pairs.
        let text = vec!["1g.10gb@0"; 12_000].join(",");
        let got = errors("a100-80gb", &text, Driver::default());
        assert_eq!(
            got,
            [
                "12000 instances of 1g.10gb, but at most 7 fit on one GPU",
                "the instances need 12000 compute slices but the GPU has 7; remove 11993 compute slice(s)",
                "the instances need 12000 memory slices but the GPU has 8; remove 11992 memory slice(s)",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
        );
        // At the slice count the pairs are still named.
        let nine = ["1g.10gb@0"; 9].join(",");
        assert!(
            errors("a100-80gb", &nine, Driver::default())
                .iter()
                .all(|e| !e.contains("overlap"))
        );
        let eight = ["1g.10gb@0"; 8].join(",");
        let pairs = errors("a100-80gb", &eight, Driver::default());
        assert_eq!(pairs.iter().filter(|e| e.contains("overlap")).count(), 28);
    }

    #[test]
    fn compute_limit() {
        // 4g@0 + 2g@4 + 1g@6 + 1g@7 would be 8 GPCs; 1g (one slice) cannot start at 7 either.
        let e = errors(
            "h100-80gb",
            "4g.40gb@0,2g.20gb@4,1g.10gb@6,1g.10gb@7",
            Driver::default(),
        );
        assert_eq!(
            e,
            [
                "1g.10gb@7: 1g.10gb cannot start at memory slice 7; legal starts: 0, 1, 2, 3, 4, 5, 6",
                "the instances need 8 compute slices but the GPU has 7; remove 1 compute slice(s)",
            ]
        );
    }

    #[test]
    fn count_limit() {
        let e = errors(
            "a100-40gb",
            "1g.10gb@0,1g.10gb@2,1g.10gb@4,1g.10gb@6,1g.10gb@6",
            Driver::default(),
        );
        assert!(
            e.contains(&"5 instances of 1g.10gb, but at most 4 fit on one GPU".to_string()),
            "{e:?}"
        );
        assert!(
            e.contains(&"1g.10gb@6 and 1g.10gb@6 overlap on memory slices 6, 7".to_string()),
            "{e:?}"
        );
    }

    #[test]
    fn one_media_extension_instance_per_gpu() {
        let e = errors("a30-24gb", "1g.6gb+me@0,2g.12gb+me@2", Driver::default());
        assert_eq!(
            e,
            [
                "1g.6gb+me@0, 2g.12gb+me@2 need more media engines than the GPU has (2 NVJPG of 1, 2 OFA of 1): a +me instance takes the OFA and +me.all every engine; -me uses none"
            ]
        );
        let e = errors("a100-40gb", "1g.5gb+me@0,1g.5gb+me@1", Driver::default());
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(
            e[0],
            "2 instances of 1g.5gb+me, but at most 1 fit on one GPU"
        );
    }

    /// Without engine figures in the catalog, the rule falls back to "one +me instance".
    #[test]
    fn legacy_media_rule_without_engine_counts() {
        let text = crate::test_support::TOY_GPU_TOML.replace(
            "starts = [0, 1]\n",
            "starts = [0, 1]\n[[gpu.profile]]\nname = \"1g.4gb+me\"\nnvml_id = 2\ncompute_slices = 1\nmemory_slices = 1\nsm_count = 10\nmemory_gib = 4.0\nmax_count = 1\nstarts = [0, 1]\n[[gpu.profile]]\nname = \"1g.4gb+me.all\"\nnvml_id = 3\ncompute_slices = 1\nmemory_slices = 1\nsm_count = 10\nmemory_gib = 4.0\nmax_count = 1\nstarts = [0, 1]\n",
        );
        let c = Catalog::from_toml_str(&text, "toy.toml").unwrap();
        let g = c.gpu("toy").unwrap().clone();
        assert!(Layout::parse(g.clone(), "1g.4gb+me@0,1g.4gb@1", Driver::default()).is_ok());
        let Err(LayoutError::Illegal(e)) =
            Layout::parse(g, "1g.4gb+me@0,1g.4gb+me.all@1", Driver::default())
        else {
            panic!("two media-extension instances must be illegal");
        };
        assert!(matches!(
            e.violations[..],
            [Violation::MediaExtensionsExceeded { .. }]
        ));
    }

    /// Every variant rule of RTX PRO 6000 Blackwell (12-unit grid), each passing and failing.
    #[test]
    fn engine_variants_follow_from_engine_counts() {
        let ok = |text: &str| {
            let g = gpu("rtx-pro-6000");
            let spec = LayoutSpec::parse(&g, text).unwrap();
            crate::place(&g, &spec.pinned, &spec.unplaced, Driver::default())
                .unwrap_or_else(|e| panic!("{text}: {e}"))
        };
        let bad = |text: &str, kinds: &str| {
            let g = gpu("rtx-pro-6000");
            let spec = LayoutSpec::parse(&g, text).unwrap();
            let e =
                crate::place(&g, &spec.pinned, &spec.unplaced, Driver::default()).expect_err(text);
            let msg: Vec<String> = e.violations.iter().map(|v| v.to_string()).collect();
            assert!(msg.iter().any(|m| m.contains(kinds)), "{text}: {msg:?}");
        };
        // +me: at most one (the OFA); beside plain instances.
        assert_eq!(
            ok("1g.24gb+me,3x1g.24gb").text(),
            "1g.24gb@0,1g.24gb@3,1g.24gb@6,1g.24gb+me@9"
        );
        bad("2x1g.24gb+me", "2 OFA of 1");
        // +me.all: every engine, so only -me instances beside it.
        ok("1g.24gb+me.all,3x1g.24gb-me");
        ok("2g.48gb+me.all,2g.48gb-me");
        bad(
            "1g.24gb+me,1g.24gb+me.all",
            "5 NVDEC of 4, 5 NVENC of 4, 5 NVJPG of 4, 2 OFA of 1",
        );
        bad("1g.24gb+me.all,1g.24gb", "5 NVDEC of 4");
        bad("2g.48gb+me.all,2g.48gb+gfx", "6 NVDEC of 4");
        // +gfx and -me: as many as the counts allow.
        ok("4x1g.24gb+gfx");
        ok("2x2g.48gb-me");
        ok("2g.48gb+gfx,1g.24gb+me,1g.24gb-me");
        // The whole GPU takes every engine.
        bad("4g.96gb,1g.24gb-me", "");
    }

    #[test]
    fn four_and_three_only_before_r510() {
        let text = "4g.20gb@0,3g.20gb@4";
        assert!(Layout::parse(gpu("a100-40gb"), text, Driver::R510OrLater).is_ok());
        assert_eq!(
            errors("a100-40gb", text, Driver::BeforeR510),
            [
                "4g.20gb@0 and 3g.20gb@4 cannot share a GPU before driver R510 (drop --before-r510 if the driver is R510 or later)"
            ]
        );
    }

    #[test]
    fn every_rule_is_reported_at_once() {
        let e = errors(
            "a100-40gb",
            "7g.40gb@0,4g.20gb@0,3g.20gb@1",
            Driver::BeforeR510,
        );
        assert_eq!(e.len(), 6, "{e:?}");
    }

    #[test]
    fn spec_errors_name_the_item() {
        let g = gpu("a100-40gb");
        let msg = |t: &str| LayoutSpec::parse(&g, t).unwrap_err().to_string();
        assert_eq!(
            msg("3g.20gb@0,,1g.5gb"),
            "item 2 '': empty item (two commas in a row, or a trailing comma)"
        );
        assert_eq!(
            msg("3g.20gb@x"),
            "item 1 '3g.20gb@x': start 'x' is not a memory-slice number (0 to 7)"
        );
        assert_eq!(
            msg("0x1g.5gb"),
            "item 1 '0x1g.5gb': a count must be at least 1"
        );
        assert_eq!(
            msg("1g.5gb,3g.40gb"),
            "item 2: unknown profile '3g.40gb' for a100-40gb; its profiles are: 1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb"
        );
        assert_eq!(msg("@3"), "item 1 '@3': missing profile name");
        assert_eq!(
            Layout::parse(g.clone(), "3g.20gb@0,1g.5gb", Driver::default())
                .unwrap_err()
                .to_string(),
            "'3g.20gb@0,1g.5gb' has items without '@start'; a placed layout names every start"
        );
    }

    #[test]
    fn spec_counts_and_pins() {
        let g = gpu("a100-80gb");
        let s = LayoutSpec::parse(&g, "3g.40gb@4, 2x 1g.10gb, 1g.10gb").unwrap();
        assert_eq!(
            s.pinned,
            [Placement {
                profile: g.profile_by_name("3g.40gb").unwrap(),
                start: 4
            }]
        );
        assert_eq!(s.unplaced.get(g.profile_by_name("1g.10gb").unwrap()), 3);
        assert_eq!(s.unplaced.describe(&g), "3x 1g.10gb");
    }

    #[test]
    fn json_form_lists_instances() {
        let l = Layout::parse(gpu("h100-80gb"), "7g.80gb@0", Driver::default()).unwrap();
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v["layout"], "7g.80gb@0");
        assert_eq!(v["instances"][0]["sm_count"], 132);
        assert_eq!(v["memory_slices_used"], 8);
    }
}
