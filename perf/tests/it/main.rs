//! Integration tests of migsched-perf: the performance model against the names and tables
//! of migsched-core's importers.

mod parvagpu_names;
