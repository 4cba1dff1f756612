//! The Okta connector against Okta's documented payloads (fixtures) and against the Okta
//! simulator (`gatehouse_idp_sim::okta`) loaded with those fixtures on loopback: it pages with
//! separate `link` headers, omits DEPROVISIONED users from unfiltered lists, fails on request
//! (fault injection), and records every call.
//!
//! The tests are split by topic:
//! - [`support`]: fixture loading, the simulated org and connector builders shared by every
//!   module;
//! - [`mapping`]: System Log events and users mapped from Okta's documented payloads;
//! - [`push`]: event hook deliveries decoded;
//! - [`http_behaviour`]: the factory, authentication, cursor checks, rate limits and retries;
//! - [`pulls`]: users, roles, groups and System Log pulled from the simulated org;
//! - [`actions`]: response actions against the simulated org;
//! - [`signals`]: the typed signal of Okta events, and the risk fixtures checked against it;
//! - [`oauth`]: OAuth 2.0 service apps (`private_key_jwt`, DPoP) instead of an API token;
//! - [`conformance`]: the connector conformance suite every connector passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod actions;
mod conformance;
mod faults;
mod fuzz;
mod http_behaviour;
mod mapping;
mod oauth;
mod pulls;
mod push;
mod signals;
mod support;
