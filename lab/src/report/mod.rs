//! Result reports: plots (SVG and PNG) and Markdown summaries written into a results
//! directory, shared by the `reproduce` targets.

pub mod markdown;
pub mod plot;
