//! Integration tests of `gatehouse-risk`: every detection against a firing fixture and a near
//! miss (`tests/fixtures/<kind>.json`, `<kind>_near_miss.json`), replayed the way the engine runs
//! them (store an event, build its context from the windows, assess, reconcile); out-of-order
//! delivery; merging; scores; escalation; OCSF and ECS output.
//!
//! The tests are split by topic into the modules below; `support` loads the fixtures and replays
//! them through the engine's steps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod detections;
mod merging;
mod ordering;
mod outputs;
mod scoring;
