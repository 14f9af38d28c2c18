//! Integration tests of migsched-hwbench without a GPU: recorded device states, the catalog
//! comparison, the step planner (property-tested over enumerated layouts), and the clear
//! failure of live commands on a machine without a driver.

mod compare;
mod no_driver;
mod planner;
mod support;
