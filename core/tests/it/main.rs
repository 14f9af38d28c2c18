//! Integration tests of migsched-core: property tests of the layout engine against
//! independent, deliberately simple re-implementations of the MIG rules.
