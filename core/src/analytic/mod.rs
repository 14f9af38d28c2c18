//! An analytic latency, throughput and memory model of serving a zoo model on a MIG instance:
//! its free parameters, its errors and the hardware share one serving process sees.

mod error;
mod params;
mod share;

pub use error::AnalyticError;
pub use params::AnalyticParams;
pub use share::ProcessShare;
