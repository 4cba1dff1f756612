//! Store behaviour: tenant isolation, persistence across reopen, group commit under many writers,
//! dedupe and token rotation.
//!
//! The tests are split by topic into the modules below; `support` holds the record builders they
//! share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod support;

mod contention;
mod cursor_moves;
mod detections;
mod directory;
mod durability;
mod export;
mod group_commit;
mod leases;
mod pages;
mod scim;
mod signins;
mod tenancy;
mod tls;
