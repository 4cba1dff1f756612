//! Okta Management API simulator: users, groups, factors, admin role
//! assignments, System Log, lifecycle operations, rate limits, fault
//! injection and an event-hook sender, all built from Okta's published
//! documentation.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use gatehouse_idp_sim::okta::{OktaConfig, OktaSim};
//! let sim = OktaSim::new(OktaConfig { users: 500, events: 2000, ..OktaConfig::default() });
//! let running = sim.spawn(([127, 0, 0, 1], 0).into())?;
//! println!("{} SSWS {}", running.base_url(), sim.config().api_token);
//! # Ok(()) }
//! ```

mod clock;
mod data;
mod dialect;
mod edge;
mod errors;
mod events;
mod filter;
mod generate;
mod helpers;
mod hooks;
mod http;
mod import;
mod lifecycle;
mod logs;
pub mod oauth;
mod ratelimit;
mod render;
mod rng;
mod roles;
mod routes;
mod scenarios;
mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::common::{CannedResponse, Fault, RunningSim, Truncation};
pub use clock::SimClock;
pub use errors::OktaError;
pub use helpers::NewUser;
pub use hooks::{is_hook_eligible, HookAttempt, HookDelivery, HookVerification};
pub use import::ImportError;
pub use ratelimit::EndpointFamily;
pub use state::{RecordedCall, UserStatus};

use crate::common::{CallLog, FaultQueue};
use ratelimit::RateLimiter;
use rng::SimRng;
use state::Store;

/// How the simulated org is built and behaves.
#[derive(Debug, Clone)]
pub struct OktaConfig {
    /// Seed of every generated id, name and event.
    pub seed: u64,
    /// Users to generate, the token's admin included (8 or more cover every status).
    pub users: usize,
    /// `OKTA_GROUP`s to add beyond the standard set (Everyone, departments…).
    pub extra_groups: usize,
    /// System Log events to generate.
    pub events: usize,
    /// Generated events are published within this span before the start time.
    pub event_span: chrono::Duration,
    /// The API token accepted as `SSWS <token>` or `Bearer <token>`.
    pub api_token: String,
    /// Default per-minute quota of each endpoint family.
    pub rate_limit_per_minute: u32,
    /// Per-family quotas overriding the default.
    pub rate_limits: BTreeMap<EndpointFamily, u32>,
    /// Simulated time at start; `None` = the machine's wall time. A fixed value
    /// makes generated data identical from run to run.
    pub start_time: Option<DateTime<Utc>>,
    /// The org URL used where Okta names itself (hook `source`, event origins).
    pub org_url: String,
    /// Login of the admin who owns the API token (`/api/v1/users/me`).
    pub admin_login: String,
    /// Domain of generated logins.
    pub email_domain: String,
    /// Origin for absolute links; `None` = `http://` + the request's Host.
    pub public_base_url: Option<String>,
    /// Timeout of each event-hook request (Okta: 3 s).
    pub hook_timeout: Duration,
    /// How long an asynchronous deactivation (`Prefer: respond-async`) takes.
    pub async_deactivate_delay: Duration,
    /// The id in the event-hook `source` URL.
    pub event_hook_id: String,
    /// Answer 411 to a POST/PUT without `Content-Length`, as Okta documents
    /// (note: reqwest/hyper omit it on empty bodies unless set explicitly).
    pub require_content_length: bool,
    /// How many calls (reads included) [`OktaSim::calls`] keeps; older ones
    /// are forgotten, so a long benchmark does not grow without bound.
    pub call_log_capacity: usize,
    /// At most this many items on one page of a list in the family, whatever
    /// `limit` asks (links keep the client's `limit`). Okta documents `limit`
    /// as a maximum and tells clients to follow `next` rather than count
    /// items; a small cap lets a test page through a handful of objects.
    pub page_caps: BTreeMap<EndpointFamily, usize>,
    /// OAuth 2.0 service apps that may get access tokens at `/oauth2/v1/token`
    /// (the API token keeps working beside them).
    pub service_apps: Vec<oauth::ServiceApp>,
}

impl Default for OktaConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            users: 50,
            extra_groups: 3,
            events: 300,
            event_span: chrono::Duration::hours(72),
            api_token: "00gatehouse-sim-okta-api-token-0000000000".into(),
            rate_limit_per_minute: 600,
            rate_limits: BTreeMap::new(),
            start_time: None,
            org_url: "https://gatehouse-sim.okta.com".into(),
            admin_login: "admin@example.com".into(),
            email_domain: "example.com".into(),
            public_base_url: None,
            hook_timeout: Duration::from_secs(3),
            async_deactivate_delay: Duration::from_millis(200),
            event_hook_id: "who1gatehouseSIM1d7".into(),
            require_content_length: true,
            call_log_capacity: 10_000,
            page_caps: BTreeMap::new(),
            service_apps: Vec::new(),
        }
    }
}

pub(crate) struct Shared {
    config: OktaConfig,
    clock: SimClock,
    store: Mutex<Store>,
    limiter: Mutex<RateLimiter>,
    faults: Mutex<FaultQueue>,
    calls: CallLog<RecordedCall>,
    oauth: Mutex<oauth::OAuthState>,
}

/// Cheap-clone handle on one simulated Okta org.
#[derive(Clone)]
pub struct OktaSim {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for OktaSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaSim")
            .field("org_url", &self.shared.config.org_url)
            .finish()
    }
}

/// Locks a mutex, recovering from poisoning (a panicked test thread must not
/// take the whole simulator down with it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OktaSim {
    /// Builds the org: directory and System Log from `config.seed`.
    pub fn new(config: OktaConfig) -> Self {
        let anchor = config.start_time.unwrap_or_else(SimClock::wall_now);
        let clock = SimClock::starting_at(anchor);
        let mut rng = SimRng::new(config.seed);
        let spec = generate::DirectorySpec {
            users: config.users,
            extra_groups: config.extra_groups,
            admin_login: config.admin_login.clone(),
            email_domain: config.email_domain.clone(),
        };
        let mut store = generate::directory(&spec, anchor, &mut rng);
        store.org_url = config.org_url.clone();
        let events =
            scenarios::system_log(&store, anchor, config.event_span, config.events, &mut rng);
        // Events reach the log a little after they happen; polling order is persistence order.
        let mut with_lag: Vec<(i64, state::Prepared)> = events
            .into_iter()
            .map(|e| (e.published_ms + rng.range(50, 1500), e))
            .collect();
        with_lag.sort_by_key(|(t, _)| *t);
        for (persisted, e) in with_lag {
            store.push_prepared(e, persisted);
        }
        store.rng = SimRng::new(config.seed ^ 0x005E_ED0F_0C7A);
        roles::seed(&mut store, config.seed, anchor);
        let limiter = RateLimiter::new(
            ratelimit::WINDOW_MS,
            config.rate_limit_per_minute,
            config.rate_limits.clone(),
        );
        let calls = CallLog::new(config.call_log_capacity);
        Self {
            shared: Arc::new(Shared {
                config,
                clock,
                store: Mutex::new(store),
                limiter: Mutex::new(limiter),
                faults: Mutex::new(FaultQueue::default()),
                calls,
                oauth: Mutex::new(oauth::OAuthState::default()),
            }),
        }
    }

    /// The configuration the org was built with.
    pub fn config(&self) -> &OktaConfig {
        &self.shared.config
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Moves simulated time forward (rate-limit windows, timestamps of new data).
    pub fn advance_time(&self, by: chrono::Duration) {
        self.shared.clock.advance(by);
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.shared.limiter)
    }

    pub(crate) fn oauth(&self) -> MutexGuard<'_, oauth::OAuthState> {
        lock(&self.shared.oauth)
    }

    pub(crate) fn fault_queue(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.shared.faults)
    }

    /// The axum router serving the Management API (`ConnectionReset` faults
    /// need [`OktaSim::spawn`]; elsewhere they degrade to an aborted body).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves the API on `addr` (use port 0 for any free port) until the
    /// returned handle is dropped or shut down.
    pub fn spawn(&self, addr: std::net::SocketAddr) -> std::io::Result<RunningSim> {
        crate::common::server::spawn(self.router(), addr, "okta")
    }

    /// Every mutating call received so far, oldest first.
    pub fn mutations(&self) -> Vec<RecordedCall> {
        self.store().mutations.clone()
    }

    /// Forgets the recorded mutating calls.
    pub fn clear_mutations(&self) {
        self.store().mutations.clear();
    }

    /// Every call received so far, reads and refused calls included, oldest
    /// first (the latest [`OktaConfig::call_log_capacity`] of them).
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls.snapshot()
    }

    /// Forgets the calls kept by [`OktaSim::calls`].
    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    /// Queues a fault for the next matching requests.
    pub fn inject(&self, fault: Fault) {
        self.fault_queue().push(fault, None);
    }

    /// Queues a fault only for request paths starting with `path_prefix`.
    pub fn inject_on(&self, path_prefix: &str, fault: Fault) {
        self.fault_queue()
            .push(fault, Some(path_prefix.to_string()));
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.fault_queue().clear();
    }

    /// Requests still to be faulted.
    pub fn pending_faults(&self) -> u32 {
        self.fault_queue().outstanding()
    }

    /// Changes a family's per-minute quota.
    pub fn set_rate_limit(&self, family: EndpointFamily, per_minute: u32) {
        self.limiter().set_limit(family, per_minute);
    }
}
