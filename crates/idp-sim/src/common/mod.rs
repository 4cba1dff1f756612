//! Provider-neutral pieces every simulator module builds on: serving a router
//! on a port ([`server`]), the simulated clock ([`clock`]), the seeded random
//! generator ([`rng`]), fault injection ([`faults`], with the resettable
//! listener of [`conn`]), fixed-window rate-limit buckets ([`ratelimit`]),
//! the call record ([`record`]) and small HTTP helpers ([`http`]).
//!
//! Nothing here knows a provider's wire format: error bodies come through
//! [`FaultAnswers`], quota header names through [`RateHeaders`], bucket keys
//! and call records are the provider's own types.

pub mod clock;
pub mod conn;
pub mod faults;
pub mod http;
pub mod ratelimit;
pub mod record;
pub mod rng;
pub mod server;

pub use clock::SimClock;
pub use conn::{ConnHandle, SimListener};
pub use faults::{CannedResponse, Fault, FaultAnswers, FaultQueue, Truncation};
pub use ratelimit::{Quota, RateHeaders, RateLimiter};
pub use record::CallLog;
pub use rng::SimRng;
pub use server::RunningSim;
