//! The `gatehouse` daemon as a library: the composition root ([`App`]) that `gatehouse serve`,
//! the end-to-end tests and the in-process test harness share, and the one list of connector
//! registrations ([`registry::build`]), the master key's rules ([`keys`]) and moving a store to
//! PostgreSQL ([`migrate`]). Only this crate wires concrete types together.

mod app;
pub mod keys;
pub mod migrate;
pub mod registry;

pub use app::{open_store, App, AppOptions, StoreBackend};
