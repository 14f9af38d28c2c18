//! migsched-sim: a deterministic discrete-event simulator of serving ML inference on MIG
//! instances, with the online schedulers of the seeds (ELSA) and their baselines.
//!
//! Same setup, options and seed give byte-identical reports: integer nanoseconds, events in
//! (time, insertion) order, one seeded stream per model and purpose, no wall clock.

mod budget;
mod engine;
mod event_queue;
pub mod gpulet;
mod histogram;
pub mod lazy;
pub mod metrics;
mod parse;
mod report;
mod rng;
mod scheduler;
pub mod schedulers;
mod setup;
mod trace;
mod workload;

pub use budget::{Budget, BudgetExceeded, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_TIME_NS, MAX_EPOCHS};
pub use engine::{
    NoObserver, Noise, Observed, Observer, Progress, ServingMode, SimConfig, SimError, Stop,
    simulate, simulate_with_budget, simulate_with_progress,
};
pub use event_queue::EventQueue;
pub use histogram::{Histogram, Percentiles};
pub use parse::SpecParseError;
pub use report::{InstanceReport, ModelReport, SeriesPoint, SimReport};
pub use rng::Rng;
pub use scheduler::{Decision, Request, Scheduler, View};
pub use setup::{LatencyCurve, ModelSpec, ServerSpec, SetupError, SimSetup, WorkloadOptions};
pub use trace::{TraceRecorder, trace_event, trace_header};
pub use workload::{
    Arrival, ArrivalGen, MAX_CV, MAX_QUERY_BATCH, MIN_CV, MIN_PERIOD_S, QueryBatch, Replayed,
    WorkloadError, parse_trace_csv,
};
