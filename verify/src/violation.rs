//! What a checker reports: a violated rule, where it happened and why, in one shape for
//! layouts, plans and traces, so the command line prints and serializes them alike.

use std::fmt;

use serde::Serialize;

/// The rules the checkers enforce. Each violation names one; the kebab-case name is what
/// `--json` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    // --- layouts (MIG.md's validity rule) ---
    /// A profile name the GPU type does not have.
    UnknownProfile,
    /// An instance at a start its profile does not allow.
    IllegalStart,
    /// Two instances on the same memory slices.
    Overlap,
    /// More compute slices than the GPU has.
    ComputeLimit,
    /// More memory slices than the GPU has (profile counts without placements).
    MemoryLimit,
    /// More instances of a profile than its maximum count.
    CountLimit,
    /// More than one media-extensions (`+me`) instance on a GPU.
    MediaExtensions,
    /// A 4g and a 3g instance on one GPU under a driver before R510.
    DriverRule,
    /// Profile counts that pass every count rule but have no legal arrangement of starts.
    NoPlacement,

    // --- plans ---
    /// A GPU type the catalog or the instance does not know.
    UnknownGpu,
    /// A plan's layout text that disagrees with its instance list, or cannot be read.
    LayoutText,
    /// GPU positions not numbered 0, 1, ... in order.
    GpuIndex,
    /// More GPUs of a type than the instance makes available.
    GpuCount,
    /// A serving instance that serves a model the instance or plan does not list, or that
    /// lacks its batch or process count.
    UnknownModel,
    /// A serving option missing from the profile table, or figures that differ from it.
    ProfileRow,
    /// A batch size or process count the instance's serving rules exclude.
    ServingLimit,
    /// A serving option that breaks its model's SLO rule.
    Slo,
    /// A serving option whose memory exceeds its instance's.
    Memory,
    /// Less served rate than demand.
    Demand,
    /// A reported total (served rate, instance count, GPUs used, cost) that differs from the
    /// one recomputed, or a demand or SLO that differs from the instance's.
    Totals,
    /// PARIS-setting checks: batch classes, routed load.
    Paris,
    /// An MPS split that is not gpulet's: more than two gpulets, a size outside the allowed
    /// set, or sizes adding to more than 100.
    Gpulet,
    /// A gpulet's duty cycle that does not hold: a task whose batch and rate disagree with
    /// the cycle, or batches that do not fit in it (occupancy above 1).
    DutyCycle,

    // --- traces ---
    /// An event out of its causal order (arrival ≤ dispatch ≤ start ≤ finish), or about a
    /// request or batch that does not exist at that point.
    Causality,
    /// Time going backwards, or events after the trace's end.
    Clock,
    /// Two batches at once on one instance slot, or a slot the instance does not have.
    OneBatchPerSlot,
    /// A batch over its instance's maximum, or whose size disagrees with its members.
    BatchLimit,
    /// A batch whose finish time is not its start plus its service time.
    ServiceTime,
    /// A request that ends (finishes or is dropped) twice, or never.
    EndsOnce,
    /// A request dropped before its deadline passed.
    EarlyDrop,
    /// An instance that is not in the plan or the trace header, a request sent to an
    /// instance of another model, or a header that disagrees with the plan.
    Instance,
    /// A slot idle while a request it may serve waits, under a scheduler that claims work
    /// conservation.
    WorkConservation,
    /// An ELSA dispatch that its decision rule, replayed, does not make.
    ElsaDecision,
    /// A predicted wait or slack in an ELSA dispatch that the reconstructed queue state does
    /// not give.
    ElsaState,
    /// A reported metric that differs from the one recomputed from the trace.
    Metrics,
    /// Node-level traces: a request that runs its graph nodes out of order, twice, or past the
    /// model's last node.
    NodeOrder,
    /// Node-level traces: a kernel batching requests at different nodes, or (lazy) not one
    /// whole group.
    NodeBatch,
    /// Node-level traces, lazy scheduler: a catch-up that breaks the slack rule, overtakes a
    /// group it cannot merge with, or records a slack the node table does not predict.
    NodeSlack,
}

impl Rule {
    /// Every rule, in declaration order.
    pub const ALL: [Rule; 38] = [
        Rule::UnknownProfile,
        Rule::IllegalStart,
        Rule::Overlap,
        Rule::ComputeLimit,
        Rule::MemoryLimit,
        Rule::CountLimit,
        Rule::MediaExtensions,
        Rule::DriverRule,
        Rule::NoPlacement,
        Rule::UnknownGpu,
        Rule::LayoutText,
        Rule::GpuIndex,
        Rule::GpuCount,
        Rule::UnknownModel,
        Rule::ProfileRow,
        Rule::ServingLimit,
        Rule::Slo,
        Rule::Memory,
        Rule::Demand,
        Rule::Totals,
        Rule::Paris,
        Rule::Gpulet,
        Rule::DutyCycle,
        Rule::Causality,
        Rule::Clock,
        Rule::OneBatchPerSlot,
        Rule::BatchLimit,
        Rule::ServiceTime,
        Rule::EndsOnce,
        Rule::EarlyDrop,
        Rule::Instance,
        Rule::WorkConservation,
        Rule::ElsaDecision,
        Rule::ElsaState,
        Rule::Metrics,
        Rule::NodeOrder,
        Rule::NodeBatch,
        Rule::NodeSlack,
    ];

    /// The kebab-case name, as `--json` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::UnknownProfile => "unknown-profile",
            Rule::IllegalStart => "illegal-start",
            Rule::Overlap => "overlap",
            Rule::ComputeLimit => "compute-limit",
            Rule::MemoryLimit => "memory-limit",
            Rule::CountLimit => "count-limit",
            Rule::MediaExtensions => "media-extensions",
            Rule::DriverRule => "driver-rule",
            Rule::NoPlacement => "no-placement",
            Rule::UnknownGpu => "unknown-gpu",
            Rule::LayoutText => "layout-text",
            Rule::GpuIndex => "gpu-index",
            Rule::GpuCount => "gpu-count",
            Rule::UnknownModel => "unknown-model",
            Rule::ProfileRow => "profile-row",
            Rule::ServingLimit => "serving-limit",
            Rule::Slo => "slo",
            Rule::Memory => "memory",
            Rule::Demand => "demand",
            Rule::Totals => "totals",
            Rule::Paris => "paris",
            Rule::Gpulet => "gpulet",
            Rule::DutyCycle => "duty-cycle",
            Rule::Causality => "causality",
            Rule::Clock => "clock",
            Rule::OneBatchPerSlot => "one-batch-per-slot",
            Rule::BatchLimit => "batch-limit",
            Rule::ServiceTime => "service-time",
            Rule::EndsOnce => "ends-once",
            Rule::EarlyDrop => "early-drop",
            Rule::Instance => "instance",
            Rule::WorkConservation => "work-conservation",
            Rule::ElsaDecision => "elsa-decision",
            Rule::ElsaState => "elsa-state",
            Rule::Metrics => "metrics",
            Rule::NodeOrder => "node-order",
            Rule::NodeBatch => "node-batch",
            Rule::NodeSlack => "node-slack",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a violation happened. Every field is optional; a checker fills in what it knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Location {
    /// A mig-parted configuration entry (`config[0]`) or a layout file's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Line of the input file (traces: the event's line, the header is line 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Simulated time, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<u64>,
    /// GPU position in the plan (or device index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    /// GPU type id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_type: Option<String>,
    /// The GPU instance: `profile@start` in layouts and plans, `instance N` in traces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<u64>,
}

impl Location {
    /// No location (a whole-file property).
    pub fn none() -> Location {
        Location::default()
    }

    /// A GPU of a plan or config.
    pub fn gpu(index: u32, gpu_type: &str) -> Location {
        Location {
            gpu: Some(index),
            gpu_type: Some(gpu_type.to_string()),
            ..Location::default()
        }
    }

    /// This location with an instance.
    pub fn with_instance(&self, instance: impl Into<String>) -> Location {
        Location {
            instance: Some(instance.into()),
            ..self.clone()
        }
    }

    /// This location with a model.
    pub fn with_model(&self, model: &str) -> Location {
        Location {
            model: Some(model.to_string()),
            ..self.clone()
        }
    }

    /// This location with a request.
    pub fn with_request(&self, request: u64) -> Location {
        Location {
            request: Some(request),
            ..self.clone()
        }
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }
}

/// Formats nanoseconds as milliseconds with nanosecond precision, trailing zeros dropped
/// (`2101500` → `2.1015 ms`).
pub fn format_ns(ns: u64) -> String {
    migsched_core::Ns(ns).to_string()
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(e) = &self.entry {
            parts.push(e.clone());
        }
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(t) = self.time_ns {
            parts.push(format!("t={}", format_ns(t)));
        }
        match (self.gpu, &self.gpu_type) {
            (Some(g), Some(ty)) => parts.push(format!("gpu {g} ({ty})")),
            (Some(g), None) => parts.push(format!("gpu {g}")),
            (None, Some(ty)) => parts.push(ty.clone()),
            (None, None) => {}
        }
        if let Some(i) = &self.instance {
            parts.push(i.clone());
        }
        if let Some(m) = &self.model {
            parts.push(format!("model {m}"));
        }
        if let Some(r) = self.request {
            parts.push(format!("request {r}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One violated rule: which, where, and a message that says what is wrong and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// Where.
    #[serde(flatten)]
    pub at: Location,
    /// What and why, in words a user can act on.
    pub message: String,
}

impl Violation {
    /// A violation of `rule` at `at`.
    pub fn new(rule: Rule, at: Location, message: impl Into<String>) -> Violation {
        Violation {
            rule,
            at,
            message: message.into(),
        }
    }
}

/// `WHERE: MESSAGE [RULE]`, or `MESSAGE [RULE]` without a location.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{} [{}]", self.message, self.rule)
        } else {
            write!(f, "{}: {} [{}]", self.at, self.message, self.rule)
        }
    }
}

/// Counts of violations per rule, in rule order (for summaries).
pub fn count_by_rule(violations: &[Violation]) -> Vec<(Rule, usize)> {
    let mut counts: std::collections::BTreeMap<Rule, usize> = std::collections::BTreeMap::new();
    for v in violations {
        *counts.entry(v.rule).or_default() += 1;
    }
    counts.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_where_first_and_rule_last() {
        let v = Violation::new(
            Rule::Overlap,
            Location::gpu(2, "a100-80gb").with_instance("3g.40gb@0"),
            "shares memory slices 2, 3 with 2g.20gb@2",
        );
        assert_eq!(
            v.to_string(),
            "gpu 2 (a100-80gb), 3g.40gb@0: shares memory slices 2, 3 with 2g.20gb@2 [overlap]"
        );
        let w = Violation::new(Rule::Demand, Location::none(), "short");
        assert_eq!(w.to_string(), "short [demand]");
    }

    #[test]
    fn locations_add_one_field_at_a_time() {
        let at = Location::gpu(1, "h100-80gb");
        let r = at.with_request(7).with_model("bert");
        assert_eq!((r.gpu, r.request), (Some(1), Some(7)));
        assert_eq!(r.model.as_deref(), Some("bert"));
        assert_eq!(r.gpu_type.as_deref(), Some("h100-80gb"));
        assert_eq!(r.to_string(), "gpu 1 (h100-80gb), model bert, request 7");
        assert!(Location::none().is_empty());
        assert!(!Location::none().with_request(0).is_empty());
    }

    #[test]
    fn times_print_in_milliseconds() {
        assert_eq!(format_ns(0), "0 ms");
        assert_eq!(format_ns(2_101_500), "2.1015 ms");
        assert_eq!(format_ns(15_000_000), "15 ms");
        assert_eq!(format_ns(1), "0.000001 ms");
    }

    #[test]
    fn rule_names_match_serde() {
        let mut names = std::collections::BTreeSet::new();
        for r in Rule::ALL {
            assert!(names.insert(r.name()), "{r:?} shares its name");
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::Value::String(r.name().to_string())
            );
        }
        assert_eq!(Rule::ALL.iter().max(), Some(&Rule::NodeSlack));
    }

    #[test]
    fn counts_group_by_rule() {
        let v = |r| Violation::new(r, Location::none(), "x");
        let c = count_by_rule(&[v(Rule::Slo), v(Rule::Overlap), v(Rule::Slo)]);
        assert_eq!(c, [(Rule::Overlap, 1), (Rule::Slo, 2)]);
    }
}
