//! End-to-end tests of the Entra ID (Microsoft Graph) simulator over real
//! loopback HTTP: the token endpoint and its AADSTS errors, token expiry,
//! users paging with `$top`/`$select`/`$filter`/`$expand`, the users delta
//! query (rounds, changes, `@removed`, expired tokens), sign-ins with lag,
//! account actions, permission and licence refusals, throttling and faults,
//! subscriptions with the validation handshake and notifications, and the
//! shapes of Microsoft's documented examples. This is the test root.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod delta;
mod errors;
mod shapes;
mod signins;
mod subscriptions;
mod support;
mod token;
mod users;
mod writes;
