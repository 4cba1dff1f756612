//! The Microsoft Entra ID connector: pulls a tenant's users through Graph's delta query (with
//! the deltaLink as the sync state of incremental pulls), its groups and members, and its
//! sign-in log; decodes Graph change notifications for users (validation handshake, clientState
//! check); keeps the users subscription alive (`maintain`); and runs response actions (disable
//! and enable the account, revoke sessions, enforce MFA through a Conditional Access group and
//! Identity Protection).
//!
//! It follows Microsoft's documented behaviour (Graph v1.0 reference and the identity
//! platform's client credentials flow), not any simulator's.
//!
//! Architecture invariants: every HTTP call goes through `gatehouse_connect::HttpClient`
//! (retries, backoff, 429 and `Retry-After`); a cursor or `@odata.nextLink`/`deltaLink` is
//! followed only when it points at the integration's own Graph and the collection it continues
//! (no SSRF through a forged link); the client secret, the access tokens and the clientState
//! live in `SecretString`s and never reach a log line or an error message; time comes only from
//! the injected clock. The mapping from Graph JSON to Gatehouse records ([`map_user`],
//! [`map_signin`], [`classify_signal`]) is pure and does no I/O.

mod actions;
mod auth;
mod check;
mod config;
mod connector;
mod contract;
mod errors;
mod factory;
#[cfg(test)]
mod fuzz_tests;
mod groups;
mod mapping;
mod push;
mod signins;
mod subscription;
mod users;

pub use config::{
    Enrichment, EntraConfig, EntraCredentials, DESCRIPTOR, GRAPH_BASE, LOGIN_BASE, MAX_CLIENT_STATE,
};
pub use connector::EntraConnector;
pub use errors::{error_from_response, token_error, GraphError};
pub use factory::{Factory, Settings};
pub use mapping::signin::{
    classify as classify_signal, map_fields as map_signin_fields, map_signin, SignalInput,
};
pub use mapping::user::{map_user, summarize_methods};
pub use push::{derive_client_state, validation};
pub use signins::{SigninCursor, OVERLAP_MINUTES};
pub use subscription::SubscriptionState;
pub use users::{PREFER_PAGE, SELECT};
