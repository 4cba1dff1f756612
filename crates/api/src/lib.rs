//! The whole HTTP layer of Gatehouse (axum on hyper): every route of API.md, authentication,
//! body limits, timeouts, request ids, metrics, the JSON error shape and the OpenAPI document.
//!
//! Architecture invariant: only this crate knows HTTP. Handlers parse, authorize and translate;
//! the work itself is the engine's.

mod console;
mod error;
mod extract;
mod metrics;
mod middleware;
mod openapi;
mod paging;
mod routes;
mod throttle;
mod views;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use gatehouse_engine::{Engine, Gateway};

pub use console::CONTENT_SECURITY_POLICY as CONSOLE_CSP;
pub use error::ApiError;
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use throttle::{MAX_FAILURES as AUTH_MAX_FAILURES, WINDOW as AUTH_WINDOW};

/// Limits the HTTP layer enforces.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Largest accepted request body, in bytes (413 past it).
    pub body_limit: usize,
    /// How long one request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Requests handled at once; past it a request is shed at once with 503 and `Retry-After`
    /// instead of queueing until memory or latency gives out. Health, readiness and metrics
    /// are never shed.
    pub max_concurrent_requests: usize,
    /// Give the console's session cookie `Secure` on every response, not only on requests
    /// that say they came over TLS (`X-Forwarded-Proto: https`): for a daemon that is only
    /// ever reached through a TLS-terminating proxy.
    pub secure_cookies: bool,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            secure_cookies: false,
        }
    }
}

/// Requests handled at once by default: far above what the push benchmark's 64 connections
/// keep in flight, far below what exhausts memory.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 4096;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    /// Set once everything behind the API is running; cleared when shutdown begins.
    pub ready: Arc<AtomicBool>,
    /// Raised by the first durability failure of the store or the push inbox.
    pub fatal: gatehouse_store::FatalSignal,
}

/// The complete router with every layer applied.
pub fn router(state: AppState, options: &ApiOptions) -> Router {
    let routes = routes::routes()
        .merge(console::routes())
        .with_state(state.clone())
        .layer(axum::Extension(Arc::new(throttle::AuthThrottle::default())))
        .layer(axum::Extension(Arc::new(
            console::session::Sessions::default(),
        )))
        .layer(axum::Extension(console::CookiePolicy {
            always_secure: options.secure_cookies,
        }));
    middleware::apply(routes, state, options)
}

/// The OpenAPI document served at `/v1/openapi.json`, as pretty-printed JSON with a final
/// newline (what `gatehouse openapi` prints and `docs/openapi.json` holds).
pub fn openapi_json() -> String {
    use utoipa::OpenApi as _;
    let mut text = serde_json::to_string_pretty(&ApiDoc::openapi())
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
