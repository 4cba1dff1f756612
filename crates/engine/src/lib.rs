//! The pipelines that move data through Gatehouse.
//!
//! Today: onboarding (tenants, API keys, integrations validated against their provider descriptor),
//! secrets at rest (credentials sealed with the master key), and the random, hashed tokens that
//! authenticate operators, tenants, ingest pushes and SCIM clients. Pull scheduling, push ingest,
//! detections and the action executor build on this [`Gateway`].
//!
//! Architecture invariant: the engine knows no HTTP; it talks to providers only through the
//! `Connector` contract and to storage only through the `Store` trait.

mod error;
mod gateway;
pub mod secrets;
pub mod tokens;

pub use error::EngineError;
pub use gateway::{
    Gateway, GatewayOptions, IntegrationCreated, IntegrationPatch, NewIntegration, Principal,
};
