//! The `migsched` command line: thin glue over the library crates.

fn main() {}
