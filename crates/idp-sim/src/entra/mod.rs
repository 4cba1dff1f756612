//! Microsoft Entra ID simulator: the identity platform's client-credentials
//! token endpoint and the Microsoft Graph v1.0 endpoints an identity
//! integration uses (users with `$select`/`$top`/`$filter`/`$expand=manager`
//! and paging, the users delta query, groups and members, transitive
//! memberships, authentication methods, the sign-in log with arrival lag,
//! account actions, and change-notification subscriptions with the
//! validation handshake and a notification sender), written from
//! Microsoft's documentation.
//!
//! One server answers both hosts: configure a client's login base URL and
//! Graph base URL to [`RunningSim::base_url`]; the token endpoint is
//! `POST {base}/{directory-id}/oauth2/v2.0/token`, Graph is `{base}/v1.0/…`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use gatehouse_idp_sim::entra::{EntraConfig, EntraSim};
//! let sim = EntraSim::new(EntraConfig { users: 500, signins: 2000, ..EntraConfig::default() });
//! let running = sim.spawn(([127, 0, 0, 1], 0).into())?;
//! println!("{} tenant {} client {}", running.base_url(), sim.config().directory_id, sim.config().client_id);
//! # Ok(()) }
//! ```
//!
//! # Library API for tests
//!
//! - building: [`EntraSim::new`]`(`[`EntraConfig`]`)`, [`EntraSim::spawn`]`(addr) -> RunningSim`,
//!   [`EntraSim::router`];
//! - directory: [`EntraSim::add_user`]`(`[`NewUser`]`) -> id`, [`EntraSim::update_user`]`(id, patch)`,
//!   [`EntraSim::delete_user`] (soft delete: `@removed` reason `changed`),
//!   [`EntraSim::purge_user`] (reason `deleted`), [`EntraSim::user`], [`EntraSim::user_ids`],
//!   [`EntraSim::create_group`], [`EntraSim::add_to_group`], [`EntraSim::group_members`],
//!   [`EntraSim::group_ids`];
//! - sign-ins: [`EntraSim::add_signins`]`(count, age) -> ids`, [`EntraSim::add_signin`]`(value) -> id`
//!   (merged onto a generated event), both visible only after [`EntraConfig::signin_lag`];
//! - delta: [`EntraSim::expire_delta_tokens`] (older tokens answer 400 `syncStateNotFound`),
//!   [`EntraSim::reset_sync_state`] (410 Gone + `Location`, code `resyncRequired`);
//! - time: [`EntraSim::clock`], [`EntraSim::advance`];
//! - faults and limits: [`EntraSim::inject`], [`EntraSim::inject_on`], [`EntraSim::clear_faults`],
//!   [`EntraSim::set_rate_limit`];
//! - inspection: [`EntraSim::calls`], [`EntraSim::writes`], [`EntraSim::revoked_sessions`],
//!   [`EntraSim::confirmed_compromised`], [`EntraSim::subscriptions`],
//!   [`EntraSim::deliver_notifications`]`().await -> Vec<u16>`, [`EntraSim::deliveries`],
//!   [`EntraSim::pending_notifications`].

mod edge;
mod errors;
mod generate;
mod groups;
mod helpers;
mod model;
mod odata;
mod routes;
mod signins;
mod subscriptions;
mod token;
mod users;
mod writes;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::common::{CannedResponse, Fault, RunningSim, SimClock, Truncation};
pub use edge::RecordedCall;
pub use errors::GraphError;
pub use helpers::NewUser;
pub use model::Delivery;

use crate::common::{CallLog, FaultQueue, RateLimiter, SimRng};
use model::Store;

/// Every application permission the simulator knows (granted by default).
pub const ALL_PERMISSIONS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "User.EnableDisableAccount.All",
    "User.RevokeSessions.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "AuditLog.Read.All",
    "Organization.Read.All",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "IdentityRiskyUser.Read.All",
    "IdentityRiskyUser.ReadWrite.All",
];

/// Another app registration in the tenant (a second client with its own
/// secret and consented permissions).
#[derive(Debug, Clone)]
pub struct AppRegistration {
    pub client_id: String,
    pub client_secret: String,
    pub display_name: String,
    pub granted: BTreeSet<String>,
}

/// Rate-limit buckets, counted per app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    /// Every Graph call not in a tighter bucket.
    Graph,
    /// `/identityProtection/…`, limited more tightly.
    IdentityProtection,
    /// `/auditLogs/…`.
    AuditLogs,
}

/// How the simulated tenant is built and behaves.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    /// The tenant (directory) id in the token URL and `tid` claim.
    pub directory_id: String,
    /// The app registration's client id.
    pub client_id: String,
    pub client_secret: String,
    pub app_display_name: String,
    /// Application permissions consented for the app (its token's `roles`).
    pub granted: BTreeSet<String>,
    /// More app registrations in the tenant.
    pub extra_apps: Vec<AppRegistration>,
    /// Domain of generated UPNs.
    pub domain: String,
    pub users: usize,
    pub groups: usize,
    pub signins: usize,
    pub seed: u64,
    /// Simulated time at start; `None` = the machine's wall time.
    pub start_time: Option<DateTime<Utc>>,
    /// Access-token lifetime (`expires_in`), measured on the sim's clock.
    pub token_lifetime: Duration,
    /// Delta tokens older than this answer `syncStateNotFound` (Graph: 7 days
    /// for directory objects).
    pub delta_token_max_age: Duration,
    /// Default page size of the users delta query (`Prefer: odata.maxpagesize` overrides).
    pub delta_page_size: usize,
    /// Default page size of `GET /users` and groups without `$top`.
    pub page_size: usize,
    /// Generated sign-ins span this long before the start time.
    pub signin_span: chrono::Duration,
    /// A sign-in shows in the API this long after it happened.
    pub signin_lag: Duration,
    /// Per-app per-minute quota of Graph calls.
    pub rate_limit_per_minute: u32,
    /// Per-app per-minute quota of `/identityProtection` calls.
    pub identity_protection_per_minute: u32,
    /// Per-app per-minute quota of `/auditLogs` calls.
    pub audit_logs_per_minute: u32,
    /// Microsoft Entra ID P1/P2 licence (sign-in logs, `signInActivity`).
    pub premium: bool,
    pub call_log_capacity: usize,
    /// Origin for absolute links; `None` = `http://` + the request's Host.
    pub public_base_url: Option<String>,
    /// How long the notification URL has to answer the validation request (Graph: 10 s).
    pub validation_timeout: Duration,
    /// Timeout of each notification POST (Graph expects an answer within 3 s).
    pub notification_timeout: Duration,
    /// Interval of the background notification sender; `None` = only
    /// [`EntraSim::deliver_notifications`] delivers.
    pub notification_interval: Option<Duration>,
    /// Longest subscription lifetime for users (Graph: 41,760 minutes).
    pub max_subscription_minutes: i64,
}

impl Default for EntraConfig {
    fn default() -> Self {
        Self {
            directory_id: "aaaabbbb-0000-cccc-1111-dddd2222eeee".into(),
            client_id: "00001111-aaaa-2222-bbbb-3333cccc4444".into(),
            client_secret: "sim~Entra.Secret_0000000000000000000000".into(),
            app_display_name: "Gatehouse".into(),
            granted: ALL_PERMISSIONS.iter().map(|s| s.to_string()).collect(),
            extra_apps: Vec::new(),
            domain: "contoso.onmicrosoft.com".into(),
            users: 50,
            groups: 8,
            signins: 300,
            seed: 1,
            start_time: None,
            token_lifetime: Duration::from_secs(3599),
            delta_token_max_age: Duration::from_secs(7 * 24 * 3600),
            delta_page_size: 100,
            page_size: 100,
            signin_span: chrono::Duration::hours(72),
            signin_lag: Duration::from_secs(120),
            rate_limit_per_minute: 6000,
            identity_protection_per_minute: 60,
            audit_logs_per_minute: 600,
            premium: true,
            call_log_capacity: 10_000,
            public_base_url: None,
            validation_timeout: Duration::from_secs(10),
            notification_timeout: Duration::from_secs(3),
            notification_interval: Some(Duration::from_millis(500)),
            max_subscription_minutes: 41_760,
        }
    }
}

pub(crate) struct Shared {
    config: EntraConfig,
    clock: SimClock,
    store: Mutex<Store>,
    limiter: Mutex<RateLimiter<(u32, Bucket)>>,
    faults: Mutex<FaultQueue>,
    calls: CallLog<RecordedCall>,
    /// Key the sim signs its access tokens with.
    token_key: Vec<u8>,
    http: reqwest::Client,
    /// Serialises notification delivery (sender task vs. test helper).
    delivering: tokio::sync::Mutex<()>,
}

/// Cheap-clone handle on one simulated tenant.
#[derive(Clone)]
pub struct EntraSim {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EntraSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraSim")
            .field("directory_id", &self.shared.config.directory_id)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EntraSim {
    /// Builds the tenant from `config.seed`.
    pub fn new(config: EntraConfig) -> Self {
        let anchor = config.start_time.unwrap_or_else(SimClock::wall_now);
        let clock = SimClock::starting_at(anchor);
        let mut rng = SimRng::new(config.seed);
        let spec = generate::Spec {
            users: config.users,
            groups: config.groups,
            signins: config.signins,
            domain: &config.domain,
            signin_span: config.signin_span,
            signin_lag: chrono::Duration::from_std(config.signin_lag)
                .unwrap_or_else(|_| chrono::Duration::zero()),
        };
        let mut store = generate::build(&spec, anchor, &mut rng);
        store.rng = SimRng::new(config.seed ^ 0x00E7_7A51_0000_0001);
        let token_key = format!("entra-sim-{}-{}", config.seed, rng.hex(32)).into_bytes();
        let mut limits = BTreeMap::new();
        for app in 0..=config.extra_apps.len() as u32 {
            limits.insert(
                (app, Bucket::IdentityProtection),
                config.identity_protection_per_minute,
            );
            limits.insert((app, Bucket::AuditLogs), config.audit_logs_per_minute);
        }
        let limiter = RateLimiter::new(60_000, config.rate_limit_per_minute, limits);
        let calls = CallLog::new(config.call_log_capacity);
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            shared: Arc::new(Shared {
                config,
                clock,
                store: Mutex::new(store),
                limiter: Mutex::new(limiter),
                faults: Mutex::new(FaultQueue::default()),
                calls,
                token_key,
                http,
                delivering: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The configuration the tenant was built with.
    pub fn config(&self) -> &EntraConfig {
        &self.shared.config
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Moves simulated time forward (token expiry, rate windows, sign-in lag,
    /// delta-token age, subscription expiry).
    pub fn advance(&self, by: Duration) {
        self.shared
            .clock
            .advance(chrono::Duration::from_std(by).unwrap_or_else(|_| chrono::Duration::zero()));
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, RateLimiter<(u32, Bucket)>> {
        lock(&self.shared.limiter)
    }

    pub(crate) fn fault_queue(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.shared.faults)
    }

    /// The axum router serving the token endpoint and Graph.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves on `addr` (port 0 = any free port) until the handle is dropped;
    /// starts the notification sender when [`EntraConfig::notification_interval`] is set.
    pub fn spawn(&self, addr: std::net::SocketAddr) -> std::io::Result<RunningSim> {
        let running = crate::common::server::spawn(self.router(), addr, "entra")?;
        if let Some(every) = self.shared.config.notification_interval {
            let weak = Arc::downgrade(&self.shared);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(shared) = weak.upgrade() else { break };
                    let sim = EntraSim { shared };
                    sim.deliver_notifications().await;
                }
            });
        }
        Ok(running)
    }

    /// Every call received, oldest first (the latest `call_log_capacity`).
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls.snapshot()
    }

    /// The mutating calls (not GET, not token requests) among [`EntraSim::calls`].
    pub fn writes(&self) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET" && !c.path.contains("/oauth2/"))
            .collect()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    /// Queues a fault for the next requests.
    pub fn inject(&self, fault: Fault) {
        self.fault_queue().push(fault, None);
    }

    /// Queues a fault for request paths starting with `path_prefix`.
    pub fn inject_on(&self, path_prefix: &str, fault: Fault) {
        self.fault_queue()
            .push(fault, Some(path_prefix.to_string()));
    }

    pub fn clear_faults(&self) {
        self.fault_queue().clear();
    }

    /// Changes one bucket's per-minute quota for every app.
    pub fn set_rate_limit(&self, bucket: Bucket, per_minute: u32) {
        let apps = 1 + self.shared.config.extra_apps.len() as u32;
        let mut l = self.limiter();
        for app in 0..apps {
            l.set_limit((app, bucket), per_minute);
        }
    }
}
