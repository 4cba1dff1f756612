//! End-to-end tests of the JumpCloud simulator over real loopback HTTP:
//! `x-api-key` and multi-tenant `x-org-id` checks, v1 system users paging
//! (`limit`/`skip`/`sort`/`filter`/`fields`, `limit=101` refused, churn
//! shifting skip pages), writes (PUT, resetmfa, expire, unlock), v2 user
//! groups, Directory Insights events (time window, `search_after` paging and
//! the stop rule, lag, count), 429 and faults, and the shapes of JumpCloud's
//! documented examples. This is the test root.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod errors;
mod groups;
mod insights;
mod shapes;
mod support;
mod users;
mod writes;
