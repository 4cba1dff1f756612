//! The management API over real HTTP on an ephemeral port: every tenant and integration route,
//! validation, authentication and isolation, limits, rotation and the operations endpoints.
//! `support` holds the server harness; the other modules group the tests by topic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod support;

mod console;
mod durability;
mod ingest;
mod integrations;
mod inventory;
mod ops;
mod policies;
mod providers;
mod push_contract;
mod saml;
mod scim_integrations;
mod security;
mod tenants;
mod validation;
