//! Local simulators of identity-provider APIs, written from each provider's
//! published documentation, for Gatehouse's tests and demos.
//!
//! One module per provider; each offers a library API for tests (build an
//! org from a seed, serve it on loopback, inject faults, inspect what clients
//! did) and a subcommand of the `gatehouse-idp-sim` binary. The crate depends
//! on nothing of Gatehouse's: it speaks only the providers' wire formats, so
//! it cannot share a mistake with a connector.
//!
//! # Adding a provider
//!
//! A new provider module (Graph, Google, JumpCloud…) reuses [`common`]:
//!
//! - keep a [`common::SimClock`] for "now" (tests jump it forward past
//!   windows and expiries) and derive every generated id and name from a
//!   [`common::SimRng`] seeded by its config, so a seed gives the same org;
//! - keep a `Mutex<`[`common::FaultQueue`]`>` and, in one middleware in front
//!   of every route, `take(path)` the pending faults: sleep the delay, answer
//!   [`common::faults::answer`] (its error body comes from the module's
//!   [`common::FaultAnswers`] impl), reset with
//!   [`common::faults::reset_connection`], or run the handler and break its
//!   body with [`common::faults::truncate`];
//! - count requests in a [`common::RateLimiter`] keyed by the provider's own
//!   bucket type, and write the [`common::Quota`] with the provider's
//!   [`common::RateHeaders`];
//! - record calls in a [`common::CallLog`] of the provider's record type;
//! - serve with [`common::server::spawn`]`(router, addr, "name")`, which
//!   returns a [`common::RunningSim`] and makes connection resets real.
//!
//! `okta` is the worked example: its `edge` middleware is the pattern above;
//! `entra` (Microsoft Graph), `google` (Workspace Admin SDK) and `jumpcloud`
//! (v1/v2 API and Directory Insights) follow the same layout; `scim_app` plays a SaaS
//! application's SCIM 2.0 service provider (RFC 7643/7644).

pub mod common;
pub mod entra;
pub mod google;
pub mod jumpcloud;
pub mod okta;
pub mod scim_app;
