//! The JumpCloud connector's tests: one binary (see docs/ARCHITECTURE.md on test binaries).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod faults;
mod fuzz;
mod groups;
mod mapping;
mod scale;
mod sim;
