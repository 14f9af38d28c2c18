//! End-to-end tests of the `migsched` binary.
