//! migsched-core: the shared vocabulary of migsched.
//!
//! The MIG rules (the GPU/MIG catalog, legal layouts, placement and enumeration), NVIDIA's
//! formats (mig-parted configs, saved `nvidia-smi` output), migsched's exchange formats
//! (instances, profile tables, plans, event traces) and importers of other tools' files:
//! the plain data types that every other crate exchanges. No IO beyond parsing and printing
//! text, no clock, no RNG, no solver, no GPU. The performance model (model zoo, analytic
//! model, gpulets) is `migsched-perf`, built on this crate; core does not depend on it.

pub mod catalog;
pub mod enumerate;
pub mod error;
pub mod import;
pub mod instance;
pub mod layout;
pub mod method;
pub mod metrics;
pub mod mig_parted;
pub mod nvidia_smi;
pub mod placement;
pub mod plan;
pub mod profile_table;
#[cfg(test)]
mod test_support;
pub mod time;
pub mod trace;

pub use catalog::{
    Catalog, CatalogError, Datasheet, DriverVersion, GpuType, MediaEngines, Profile, ProfileIndex,
    UnknownGpu, UnknownProfile, Variant,
};
pub use enumerate::{
    EnumerateOptions, MAX_LAYOUTS, TooManyLayouts, count_layouts, enumerate_layouts,
    is_maximal_layout, try_enumerate_layouts,
};
pub use error::{InputError, display_safe};
pub use instance::{
    GpuPool, Instance, InstanceError, ModelDemand, ProfileSource, Serving, SloRule,
};
pub use layout::{
    Driver, IllegalLayout, Layout, LayoutError, LayoutSpec, Placement, ProfileCounts, SpecError,
    Violation, count_violations, validate,
};
pub use method::{GpuletMethod, Method, MigMethod, Objective, UnknownName};
pub use placement::place;
pub use plan::{
    GpuletSchedule, GpuletTask, MigGpu, ModelService, MpsGpu, PLAN_FORMAT, PLAN_FORMAT_V1, Plan,
    PlanGpu, PlanGpulet, PlanInstance, ResolveError, ResolvedMig,
};
pub use profile_table::{ProfileKey, ProfileRow, ProfileTable, RawRow, TableError, knee_batch};
pub use time::Ns;
pub use trace::{
    BATCHING_DYNAMIC, BATCHING_PREBATCHED, Event, EventKind, TRACE_FORMAT, TraceChoice, TraceEvent,
    TraceHeader, TraceInstance, TraceModel, TraceNode,
};
