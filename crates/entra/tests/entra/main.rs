//! The Entra connector's tests: one binary (see docs/ARCHITECTURE.md on test binaries).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod fake;
mod faults;
mod graph;
mod mapping;
mod sim;
