//! Test-only harness: starts the real `gatehouse` binary (and, as provider simulators land, the
//! simulators) on loopback, on ephemeral ports, with a temporary data dir, and hands the test an
//! HTTP client, or builds the same daemon in-process ([`InProcess`], through the daemon's own
//! composition root). Nothing here is used by the daemon itself.

mod api;
pub mod conformance;
mod daemon;
pub mod faults;
mod in_process;

pub use api::{Api, Reply};
pub use daemon::{binary, Gatehouse, GatehouseBuilder, TEST_OPERATOR_KEY};
/// The provider simulators, for tests that start them beside the daemon.
pub use gatehouse_idp_sim as idp_sim;
/// A throwaway PostgreSQL server, for tests of the PostgreSQL store and of replicas.
pub use gatehouse_pgtest as pgtest;
pub use in_process::InProcess;
