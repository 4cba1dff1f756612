//! The Okta connector against Okta's documented payloads (fixtures) and against a small fake
//! Okta org on loopback that pages with separate `link` headers, omits DEPROVISIONED users from
//! unfiltered lists, fails on request, and records every call.
//!
//! The tests are split by topic:
//! - [`support`]: fixture loading and connector builders shared by every module;
//! - [`fake`]: the fake Okta org;
//! - [`mapping`]: System Log events and users mapped from Okta's documented payloads;
//! - [`push`]: event hook deliveries decoded;
//! - [`http_behaviour`]: the factory, authentication, cursor checks, rate limits and retries;
//! - [`pulls`]: users, roles, groups and System Log pulled from the fake org;
//! - [`actions`]: response actions against the fake org;
//! - [`signals`]: the typed signal of Okta events, and the risk fixtures checked against it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod actions;
mod fake;
mod http_behaviour;
mod mapping;
mod pulls;
mod push;
mod signals;
mod support;
