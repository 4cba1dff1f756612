//! The pipelines that move data through Gatehouse.
//!
//! The [`Gateway`] onboards tenants, API keys and integrations (validated against their provider
//! descriptor), seals credentials at rest and mints the hashed tokens that authenticate operators,
//! tenants, ingest pushes and SCIM clients. The [`Engine`] runs the pipelines behind it: pulls and
//! their cron schedules ([`sync`], [`schedule`]), push ingest ([`ingest`], through the durable
//! [`inbox`]), the inventory writes
//! ([`inventory`]), sign-ins handed over by federation protocols such as SAML ([`federation`])
//! and the durable action executor ([`actions`]).
//!
//! Architecture invariant: the engine knows no HTTP; it talks to providers only through the
//! `Connector` contract and to storage only through the `Store` trait (and the store crate's
//! journal, for the inbox).

pub mod actions;
pub mod backtest;
pub mod detect;
mod engine;
mod error;
pub mod federation;
mod gateway;
pub mod geoip;
pub mod inbox;
pub mod ingest;
pub mod inventory;
pub mod lease;
pub mod outputs;
pub mod policies;
pub mod provision;
pub mod refresh;
pub mod schedule;
pub mod scim;
pub mod secrets;
pub mod span;
pub mod stats;
pub mod sync;
mod sync_pipeline;
pub mod tokens;
pub mod unwritten;

pub use engine::{Engine, EngineOptions};
pub use error::EngineError;
pub use gateway::{
    reseal_push_token, ClientRefusal, Gateway, GatewayOptions, IntegrationCreated,
    IntegrationPatch, NewIntegration, Principal, PUBLIC_BASE_URL,
};
