//! migsched-verify: checkers that re-derive every invariant of a MIG layout, a serving plan
//! and an event trace from the rules in MIG.md and ALGORITHMS.md, without calling the code
//! that produced them (they share only plain data types), plus importers that turn other
//! tools' plans into migsched plans so they can be checked alike.

pub mod elsa;
pub use migsched_core::error;
pub mod import;
pub mod input;
pub mod layout;
pub mod metrics;
pub mod node;
pub mod plan;
pub mod trace;
pub mod violation;

pub use elsa::{ElsaDecision, ElsaParams, replay};
pub use error::InputError;
pub use import::Imported;
pub use import::mig_parted::{MigPartedImport, import_mig_parted};
pub use import::parvagpu::{import_parvagpu, parse_deploy};
pub use input::{LayoutFile, parse_plan, read_layout_file};
pub use layout::{
    PlacedInstance, check_counts, check_layout, describe_counts, find_placement, find_profile,
    layout_text, parse_layout_text,
};
pub use metrics::{Metrics, ReportedMetrics, parse_metrics};
pub use plan::{
    Against, ModelTotals, PlanReport, SloCheck, check_plan, check_plan_layouts, latency_at,
    slo_admits,
};
pub use trace::{Trace, TraceOptions, TraceReport, check_trace, read_trace};
pub use violation::{Location, Rule, Violation, count_by_rule, format_ns};
