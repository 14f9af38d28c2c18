//! Integration tests of migsched-core: property tests of the layout engine against
//! independent, deliberately simple re-implementations of the MIG rules, and checks of the
//! shipped `nvidia-smi` fixtures against the catalog.

mod fixtures;
mod layout_props;
