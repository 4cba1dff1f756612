//! The normalized model of Gatehouse and the contract every provider connector fulfils.
//!
//! Architecture invariant: this crate does no I/O. It holds data types (tenants, integrations,
//! users, identities, groups, sign-in events, detections, actions), their ids, the injected
//! [`clock::Clock`], the provider descriptors that say what an integration of each type must carry,
//! and the [`provider::Connector`] contract with its [`provider::ConnectorRegistry`]. Everything
//! here is serde and plain logic, so it can be tested without a runtime.

pub mod catalog;
pub mod clock;
pub mod ids;
pub mod model;
pub mod provider;
pub mod records;
pub mod validate;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::*;
