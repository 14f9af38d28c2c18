//! Integration tests of migsched-hwbench without a GPU: recorded device states, the catalog
//! comparison, the step planner (property-tested over enumerated layouts), and the clear
//! failure of live commands on a machine without a driver; the slim binary on a closed stdout.

mod closed_pipe;
mod compare;
mod no_driver;
mod outputs;
mod planner;
mod support;
