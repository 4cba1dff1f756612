//! The engine's pipelines against a scripted connector: pulls with cursors, failures and resume,
//! identity correlation, group memberships, sign-in dedupe, push ingest, and the action executor
//! (guards, dry runs, retries, idempotency, resume after a restart).
//!
//! The tests are split by topic into the modules below; `support` holds the scripted connector
//! and the harness they share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod support;

mod actions;
mod detections;
mod fairness;
mod geoip;
mod ingest;
mod outputs;
mod safety;
mod scim;
mod sync;
mod upkeep;
