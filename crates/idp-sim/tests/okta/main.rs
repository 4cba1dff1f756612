//! End-to-end tests of the Okta simulator over real loopback HTTP: paging and
//! Link headers, DEPROVISIONED visibility, filters, System Log polling, error
//! bodies and rate limits, lifecycle rules, recorded mutations, fault
//! injection, admin role assignments, and the event-hook sender against a
//! small receiver. This is the test root; the tests live in the modules below.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod errors;
mod faults;
mod hooks;
mod lifecycle;
mod logs;
mod oauth;
mod roles;
mod support;
mod users;
