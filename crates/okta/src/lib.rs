//! The Okta connector: pulls an Okta org's users (with their MFA factors), groups and System Log,
//! decodes Okta event-hook deliveries, and runs response actions (suspend or deactivate, unsuspend,
//! revoke sessions, reset factors) through Okta's management API.
//!
//! It follows Okta's documented behaviour (the management OpenAPI spec and developer docs), not any
//! simulator's: `SSWS` API tokens or OAuth 2.0 service apps (`private_key_jwt`, DPoP), RFC 8288
//! `Link` paging that is followed and never built by hand, System Log polling requests whose
//! `next` link is the resumable cursor, and event-hook deliveries whose `data.events[]` are System
//! Log events mapped by the same pure function as pulled ones.
//!
//! Architecture invariants: every HTTP call goes through `gatehouse_connect::HttpClient` (retries,
//! backoff, 429 handling, the integration's share of Okta's rate limits); a cursor or `next` link
//! is followed only when it points at the integration's own Okta org (no SSRF through a forged
//! link); the API token, the service app's private key and its access tokens live in
//! `SecretString`s and never reach a log line or an error message; the OAuth token endpoint is
//! the org's own (`{org}/oauth2/v1/token`); time comes only from the injected clock. The mapping from Okta JSON to Gatehouse
//! records ([`map_event`], [`map_user`], [`map_status`]) is pure and does no I/O.

mod actions;
mod auth;
mod config;
mod confirm;
mod connector;
mod errors;
mod factory;
mod groups;
mod logs;
mod mapping;
mod push;
mod roles;
mod screen;
mod users;

pub use config::{
    DisableMode, Enrichment, OktaConfig, OktaCredentials, PrivateKey, DESCRIPTOR, OKTA_DOMAINS,
    RATE_HEADERS,
};
pub use connector::OktaConnector;
pub use errors::error_from_response;
pub use factory::{Factory, Settings};
pub use mapping::signal::{classify as classify_signal, SignalInput};
pub use mapping::{category as event_category, map_event, map_event_owned, parse_risk_level};
pub use push::{decode_push, screen_push};
pub use users::{map_status, map_user, summarize_factors};
