//! Local simulators of identity-provider APIs, written from each provider's
//! published documentation, for Gatehouse's tests and demos.
//!
//! One module per provider; each offers a library API for tests (build an
//! org from a seed, serve it on loopback, inject faults, inspect what clients
//! did) and a subcommand of the `gatehouse-idp-sim` binary.

pub mod okta;
