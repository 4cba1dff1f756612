//! The Google Workspace connector's tests: one binary (see docs/ARCHITECTURE.md on test
//! binaries).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod faults;
mod login_lag;
mod mapping;
mod push;
mod rate_limits;
mod refusals;
mod sim;
mod support;
