//! The `gatehouse` daemon as a library: the composition root ([`App`]) that `gatehouse serve`,
//! the end-to-end tests and the in-process test harness share, and the one list of connector
//! registrations ([`registry::build`]), and the master key's rules ([`keys`]). Only this crate
//! wires concrete types together.

mod app;
pub mod keys;
pub mod registry;

pub use app::{open_store, App, AppOptions, StoreBackend};
