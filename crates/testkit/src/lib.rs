//! Test-only harness: starts the real `gatehouse` binary (and, as provider simulators land, the
//! simulators) on loopback, on ephemeral ports, with a temporary data dir, and hands the test an
//! HTTP client. Nothing here is used by the daemon itself.

mod api;
mod daemon;

pub use api::{Api, Reply};
pub use daemon::{binary, Gatehouse, GatehouseBuilder, TEST_OPERATOR_KEY};
/// The provider simulators, for tests that start them beside the daemon.
pub use gatehouse_idp_sim as idp_sim;
