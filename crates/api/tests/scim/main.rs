//! The SCIM 2.0 service provider over real HTTP on an ephemeral port: discovery, Users and
//! Groups, filters and indexes, ETags, content types, both auth schemes, the request sequences
//! Microsoft Entra ID and Okta send, Bulk, tenant isolation and the inventory rows SCIM feeds.
//! `support` holds the server harness; the other modules group the tests by topic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod support;

mod auth;
mod bulk;
mod clients;
mod discovery;
mod groups;
mod inventory;
mod isolation;
mod uniqueness;
mod users;
