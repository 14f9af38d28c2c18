//! The schedulers: first idle (FIFS), round robin, least loaded, and ELSA.

mod elsa;
mod fifs;
mod least_loaded;
mod round_robin;

pub use elsa::Elsa;
pub use fifs::Fifs;
pub use least_loaded::LeastLoaded;
pub use round_robin::RoundRobin;
