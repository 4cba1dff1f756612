//! What every connector shares: the outbound HTTP client with retries, backoff with jitter and
//! rate-limit handling (429, `Retry-After`, provider budget headers, a share of the budget left
//! for the customer's other apps), RFC 8288 `Link` paging, the endpoint policy that keeps
//! connectors on their provider's official hosts, and redaction of secrets from errors.
//!
//! Architecture invariant: connectors reach the network only through [`HttpClient`]; no other
//! crate of ours makes outbound calls to providers.

pub mod backoff;
pub mod client;
pub mod compare;
pub mod endpoint;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod link;
pub mod ratelimit;
pub mod raw_size;
pub mod redact;
pub mod watermark;

pub use backoff::Backoff;
pub use client::{CallError, HttpClient, RetryPolicy};
pub use endpoint::{resolve_base, EndpointError};
pub use link::next_link;
pub use ratelimit::{RateBudget, RateState};
