//! End-to-end tests of the Google Workspace simulator over real loopback
//! HTTP: the service-account token endpoint and each assertion refusal,
//! scope enforcement and token expiry, Directory users paging/projection,
//! writes (patch, signOut, members), Reports login activities (time window,
//! paging, reporting lag), quota errors and faults, watch channels delivering
//! to a local receiver, and the shapes of Google's documented examples.
//! This is the test root.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod channels;
mod errors;
mod reports;
mod shapes;
mod support;
mod token;
mod users;
mod writes;
