//! Google Workspace simulator: the OAuth 2.0 token endpoint of a service
//! account with domain-wide delegation (RFC 7523 JWT bearer assertions,
//! RS256-verified), the Admin SDK Directory API (users list/get/update/patch,
//! signOut, groups, members) and the Reports API's login activities (with a
//! reporting lag, `eventName`/`filters`/time windows, paging) and push
//! channels (`watch`, `channels/stop`, `sync` and per-activity
//! notifications), written from Google's documentation and discovery
//! documents.
//!
//! One server plays every host: the token endpoint is `POST {base}/token`
//! (give clients [`GoogleSim::service_account_json`]`(format!("{base}/token"))`),
//! the APIs are under `{base}/admin/directory/v1/…` and `{base}/admin/reports/v1/…`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use gatehouse_idp_sim::google::{GoogleConfig, GoogleSim};
//! let sim = GoogleSim::new(GoogleConfig { users: 500, activities: 2000, ..GoogleConfig::default() });
//! let running = sim.spawn(([127, 0, 0, 1], 0).into())?;
//! let key_file = sim.service_account_json(&format!("{}/token", running.base_url()));
//! println!("{key_file}");
//! # Ok(()) }
//! ```
//!
//! # Library API for tests
//!
//! - building: [`GoogleSim::new`]`(`[`GoogleConfig`]`)`, [`GoogleSim::spawn`]`(addr) -> io::Result<RunningSim>`,
//!   [`GoogleSim::router`], [`GoogleSim::config`],
//!   [`GoogleSim::service_account_json`]`(token_uri) -> Value` (the JSON key file);
//! - directory: [`GoogleSim::add_user`]`(`[`NewUser`]`) -> id`,
//!   [`GoogleSim::update_user`]`(key, patch) -> bool`, [`GoogleSim::user`]`(key) -> Option<Value>`,
//!   [`GoogleSim::user_ids`], [`GoogleSim::create_group`]`(email) -> id`,
//!   [`GoogleSim::add_to_group`], [`GoogleSim::group_members`]`(group) -> Vec<id>`;
//! - login activities: [`GoogleSim::add_activity`]`(value) -> (time, uniqueQualifier)` (merged
//!   onto a generated `login_success`, visible after [`GoogleConfig::reporting_lag`]),
//!   [`GoogleSim::add_activity_visible_after`]`(value, lag)` (per-activity lag),
//!   [`GoogleSim::add_logins`]`(count, age) -> Vec<(time, uniqueQualifier)>`,
//!   [`GoogleSim::add_logins_visible_after`]`(count, age, lag)`,
//!   [`GoogleSim::activities`] (every one, shown yet or not);
//! - time: [`GoogleSim::clock`], [`GoogleSim::advance`];
//! - faults and limits: [`GoogleSim::inject`], [`GoogleSim::inject_on`], [`GoogleSim::clear_faults`],
//!   [`GoogleSim::set_rate_limit`], [`GoogleSim::set_user_rate_limit`],
//!   [`GoogleSim::quota_fault`]`(`[`QuotaError`]`, count)` (429 and 403 quota answers);
//! - inspection: [`GoogleSim::calls`], [`GoogleSim::writes`], [`GoogleSim::signed_out`]`(user) -> u64`,
//!   [`GoogleSim::channels`], [`GoogleSim::deliver_notifications`]`().await -> Vec<u16>`.

mod channels;
mod edge;
mod errors;
mod generate;
mod groups;
mod keys;
mod model;
mod reports;
mod routes;
mod token;
mod users;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub use crate::common::{CannedResponse, Fault, RunningSim, SimClock, Truncation};
pub use edge::RecordedCall;
pub use errors::GoogleError;
pub use generate::NewUser;
pub use keys::{DEFAULT_PRIVATE_KEY_PEM, DEFAULT_PUBLIC_KEY_PEM};
pub use model::{Channel, Notification};

use crate::common::{CallLog, FaultQueue, RateLimiter};
use model::Store;

/// Directory: users, read only.
pub const SCOPE_USER_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.user.readonly";
/// Directory: users, read and write.
pub const SCOPE_USER: &str = "https://www.googleapis.com/auth/admin.directory.user";
/// Directory: user security (signOut, tokens, ASPs).
pub const SCOPE_USER_SECURITY: &str =
    "https://www.googleapis.com/auth/admin.directory.user.security";
/// Directory: groups, read only.
pub const SCOPE_GROUP_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.group.readonly";
/// Directory: groups, read and write.
pub const SCOPE_GROUP: &str = "https://www.googleapis.com/auth/admin.directory.group";
/// Directory: group members, read only.
pub const SCOPE_GROUP_MEMBER_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";
/// Directory: group members, read and write.
pub const SCOPE_GROUP_MEMBER: &str = "https://www.googleapis.com/auth/admin.directory.group.member";
/// Reports: audit activities (list, watch, channels.stop).
pub const SCOPE_REPORTS_AUDIT: &str =
    "https://www.googleapis.com/auth/admin.reports.audit.readonly";

/// Every scope the simulator knows (authorized for the client by default).
pub const ALL_SCOPES: &[&str] = &[
    SCOPE_USER_READONLY,
    SCOPE_USER,
    SCOPE_USER_SECURITY,
    SCOPE_GROUP_READONLY,
    SCOPE_GROUP,
    SCOPE_GROUP_MEMBER_READONLY,
    SCOPE_GROUP_MEMBER,
    SCOPE_REPORTS_AUDIT,
];

/// The service account a client holds a key file for.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    /// The OAuth client id (what domain-wide delegation is granted to).
    pub client_id: String,
    /// The key's id (the assertion header's `kid`).
    pub private_key_id: String,
    /// PKCS#8 PEM given to clients in the key file.
    pub private_key_pem: String,
    /// SPKI PEM the token endpoint verifies assertions with.
    pub public_key_pem: String,
}

impl Default for ServiceAccount {
    fn default() -> Self {
        Self {
            project_id: "gatehouse-sim".into(),
            client_email: "gatehouse@gatehouse-sim.iam.gserviceaccount.com".into(),
            client_id: "104170000000000000001".into(),
            private_key_id: "5f1c0d3e9a7b2c4d6e8f0a1b3c5d7e9f1a2b3c4d".into(),
            private_key_pem: DEFAULT_PRIVATE_KEY_PEM.into(),
            public_key_pem: DEFAULT_PUBLIC_KEY_PEM.into(),
        }
    }
}

/// How the simulated Workspace is built and behaves.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    pub service_account: ServiceAccount,
    /// Scopes domain-wide delegation grants the service account's client id.
    pub authorized_scopes: BTreeSet<String>,
    /// Primary domain of generated users.
    pub domain: String,
    /// The customer id (`my_customer` is its alias).
    pub customer_id: String,
    /// The super admin the service account impersonates (created first).
    pub admin_email: String,
    /// Users to generate (the admin included).
    pub users: usize,
    pub groups: usize,
    /// Login activities to generate over [`GoogleConfig::activity_span`].
    pub activities: usize,
    pub activity_span: chrono::Duration,
    pub seed: u64,
    /// Simulated time at start; `None` = the machine's wall time.
    pub start_time: Option<DateTime<Utc>>,
    /// Access-token lifetime (`expires_in`), on the sim's clock.
    pub token_lifetime: Duration,
    /// Allowed clock skew when checking an assertion's `iat`/`exp`.
    pub assertion_skew: Duration,
    /// Extra `aud` values the token endpoint accepts besides `{base}/token`.
    pub token_audiences: Vec<String>,
    /// An activity shows in the Reports API this long after it happened.
    pub reporting_lag: Duration,
    /// Largest `maxResults` of `users.list` (Google: 500).
    pub users_max_page: usize,
    /// `users.list` page size without `maxResults` (Google: 100).
    pub users_default_page: usize,
    /// Largest `maxResults` of `activities.list` (Google: 1000).
    pub activities_max_page: usize,
    /// Project-wide per-minute quota; past it 429 `rateLimitExceeded`.
    pub rate_limit_per_minute: u32,
    /// Per impersonated user per-minute quota; past it 403 `userRateLimitExceeded`.
    pub user_rate_limit_per_minute: u32,
    pub call_log_capacity: usize,
    /// Origin for absolute URLs; `None` = `http://` + the request's Host.
    pub public_base_url: Option<String>,
    /// Timeout of each notification POST.
    pub notification_timeout: Duration,
    /// Interval of the background notification sender; `None` = only
    /// [`GoogleSim::deliver_notifications`] delivers.
    pub notification_interval: Option<Duration>,
    /// Channel lifetime when the watch request gives no `expiration`, and its cap.
    pub channel_max_lifetime: Duration,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            service_account: ServiceAccount::default(),
            authorized_scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            domain: "example.com".into(),
            customer_id: "C03az79cb".into(),
            admin_email: "admin@example.com".into(),
            users: 50,
            groups: 5,
            activities: 300,
            activity_span: chrono::Duration::hours(72),
            seed: 1,
            start_time: None,
            token_lifetime: Duration::from_secs(3599),
            assertion_skew: Duration::from_secs(300),
            token_audiences: vec!["https://oauth2.googleapis.com/token".into()],
            reporting_lag: Duration::from_secs(120),
            users_max_page: 500,
            users_default_page: 100,
            activities_max_page: 1000,
            rate_limit_per_minute: 6000,
            user_rate_limit_per_minute: 2400,
            call_log_capacity: 10_000,
            public_base_url: None,
            notification_timeout: Duration::from_secs(5),
            notification_interval: Some(Duration::from_millis(500)),
            channel_max_lifetime: Duration::from_secs(6 * 3600),
        }
    }
}

/// The quota errors the Admin SDK answers (Google's "Standard error
/// responses" and the Directory API's "Limits and quotas": back off
/// exponentially and retry). None carries `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaError {
    /// 429 `rateLimitExceeded` (the project's per-minute quota).
    RateLimit429,
    /// 403 `rateLimitExceeded`, "Rate Limit Exceeded".
    RateLimit403,
    /// 403 `userRateLimitExceeded` (the per-user quota).
    UserRateLimit403,
}

/// Rate-limit buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    /// The whole project (429 `rateLimitExceeded`).
    Project,
    /// One impersonated user, by its index (403 `userRateLimitExceeded`).
    User(usize),
}

pub(crate) struct Shared {
    config: GoogleConfig,
    clock: SimClock,
    store: Mutex<Store>,
    limiter: Mutex<RateLimiter<Bucket>>,
    faults: Mutex<FaultQueue>,
    calls: CallLog<RecordedCall>,
    http: reqwest::Client,
    /// Serialises notification delivery (sender task vs. test helper).
    delivering: tokio::sync::Mutex<()>,
}

/// Cheap-clone handle on one simulated Workspace.
#[derive(Clone)]
pub struct GoogleSim {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GoogleSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleSim")
            .field("customer_id", &self.shared.config.customer_id)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::zero())
}

impl GoogleSim {
    /// Builds the Workspace from `config.seed`.
    pub fn new(config: GoogleConfig) -> Self {
        let anchor = config.start_time.unwrap_or_else(SimClock::wall_now);
        let clock = SimClock::starting_at(anchor);
        let store = generate::build(&config, anchor);
        let mut limits = BTreeMap::new();
        limits.insert(Bucket::Project, config.rate_limit_per_minute);
        let limiter = RateLimiter::new(60_000, config.user_rate_limit_per_minute, limits);
        let calls = CallLog::new(config.call_log_capacity);
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(config.notification_timeout)
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
                http,
                delivering: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The configuration the Workspace was built with.
    pub fn config(&self) -> &GoogleConfig {
        &self.shared.config
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Moves simulated time forward (token expiry, rate windows, reporting lag).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(chrono_of(by));
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, RateLimiter<Bucket>> {
        lock(&self.shared.limiter)
    }

    pub(crate) fn fault_queue(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.shared.faults)
    }

    /// The JSON key file a client of this service account is given, with
    /// `token_uri` (e.g. `http://127.0.0.1:PORT/token`).
    pub fn service_account_json(&self, token_uri: &str) -> Value {
        let sa = &self.shared.config.service_account;
        json!({
            "type": "service_account",
            "project_id": sa.project_id,
            "private_key_id": sa.private_key_id,
            "private_key": sa.private_key_pem,
            "client_email": sa.client_email,
            "client_id": sa.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                crate::common::http::encode(&sa.client_email)
            ),
            "universe_domain": "googleapis.com",
        })
    }

    /// The axum router serving the token endpoint and the APIs.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves on `addr` (port 0 = any free port) until the handle is dropped;
    /// starts the notification sender when [`GoogleConfig::notification_interval`] is set.
    pub fn spawn(&self, addr: std::net::SocketAddr) -> std::io::Result<RunningSim> {
        let running = crate::common::server::spawn(self.router(), addr, "google")?;
        if let Some(every) = self.shared.config.notification_interval {
            let weak = Arc::downgrade(&self.shared);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(shared) = weak.upgrade() else { break };
                    let sim = GoogleSim { shared };
                    sim.deliver_notifications().await;
                }
            });
        }
        Ok(running)
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, new: NewUser) -> String {
        let now = self.clock().now();
        let mut store = self.store();
        let user = generate::user_from(&mut store, new, &self.shared.config, now);
        store.insert_user(user)
    }

    /// Applies a Directory-style patch (`suspended`, `orgUnitPath`, `name`…)
    /// to a user named by id or email; false when there is no such user.
    pub fn update_user(&self, key: &str, patch: &Value) -> bool {
        let mut store = self.store();
        match store.user_index(key) {
            Some(i) => {
                let reindex = users::apply_patch(&mut store, i, patch);
                if let Some((old, new)) = reindex {
                    store.by_email.remove(&old);
                    store.by_email.insert(new, i);
                }
                true
            }
            None => false,
        }
    }

    /// A user as `users.get` with `projection=full` renders it.
    pub fn user(&self, key: &str) -> Option<Value> {
        let store = self.store();
        store
            .user(key)
            .map(|u| u.render(&self.shared.config.customer_id, true))
    }

    /// Every user id, in listing order.
    pub fn user_ids(&self) -> Vec<String> {
        self.store().users.iter().map(|u| u.id.clone()).collect()
    }

    /// Creates an empty group; returns its id.
    pub fn create_group(&self, email: &str) -> String {
        let mut store = self.store();
        let id = format!("0{}", &store.new_id()[1..]);
        let name = email.split('@').next().unwrap_or(email).to_string();
        store.groups.push(model::Group {
            id: id.clone(),
            email: email.to_string(),
            name,
            members: Vec::new(),
        });
        id
    }

    /// Adds a user (id or email) to a group (id or email); false if either is unknown.
    pub fn add_to_group(&self, group: &str, user: &str) -> bool {
        let mut store = self.store();
        let (Some(g), Some(uid)) = (
            store.group_index(group),
            store.user(user).map(|u| u.id.clone()),
        ) else {
            return false;
        };
        match store.groups.get_mut(g) {
            Some(g) if !g.members.contains(&uid) => {
                g.members.push(uid);
                true
            }
            _ => false,
        }
    }

    /// The member user ids of a group (id or email).
    pub fn group_members(&self, group: &str) -> Vec<String> {
        let store = self.store();
        store
            .group_index(group)
            .and_then(|g| store.groups.get(g))
            .map(|g| g.members.clone())
            .unwrap_or_default()
    }

    /// Every group id.
    pub fn group_ids(&self) -> Vec<String> {
        self.store().groups.iter().map(|g| g.id.clone()).collect()
    }

    /// Adds a login activity: `value` is merged (JSON merge) onto a generated
    /// `login_success` of a random user at the current time; `id.time` and
    /// `actor.email` may be set. Visible after [`GoogleConfig::reporting_lag`]
    /// from `id.time`. Returns `(id.time, id.uniqueQualifier)`.
    pub fn add_activity(&self, value: Value) -> (String, String) {
        let lag = self.shared.config.reporting_lag;
        self.add_activity_visible_after(value, lag)
    }

    /// As [`GoogleSim::add_activity`], visible `lag` after its `id.time`.
    pub fn add_activity_visible_after(&self, value: Value, lag: Duration) -> (String, String) {
        let now = self.clock().now();
        let mut store = self.store();
        let out = generate::activity(
            &mut store,
            &self.shared.config,
            now,
            Some(value),
            chrono_of(lag),
        );
        store.sort_activities();
        out
    }

    /// Adds `count` varied login activities that happened `age` ago (a
    /// millisecond apart), visible after the reporting lag.
    pub fn add_logins(&self, count: usize, age: Duration) -> Vec<(String, String)> {
        self.add_logins_visible_after(count, age, self.shared.config.reporting_lag)
    }

    /// As [`GoogleSim::add_logins`], each visible `lag` after its `id.time`:
    /// Google's login report lags by up to hours, and not evenly, so an
    /// activity may show after newer ones already have.
    pub fn add_logins_visible_after(
        &self,
        count: usize,
        age: Duration,
        lag: Duration,
    ) -> Vec<(String, String)> {
        let at = self.clock().now() - chrono_of(age);
        let lag = chrono_of(lag);
        let mut store = self.store();
        let out = (0..count)
            .map(|i| {
                let t = at - chrono::Duration::milliseconds(i as i64);
                generate::random_activity(&mut store, &self.shared.config, t, lag)
            })
            .collect();
        store.sort_activities();
        out
    }

    /// Every login activity the Workspace holds, newest first, whether the
    /// Reports API shows it yet or not (the `Activity` resources).
    pub fn activities(&self) -> Vec<Value> {
        self.store()
            .activities
            .iter()
            .map(|a| a.body.clone())
            .collect()
    }

    /// A fault answering the next `count` requests with one of Google's
    /// quota errors (see [`QuotaError`]).
    pub fn quota_fault(kind: QuotaError, count: u32) -> Fault {
        let error = match kind {
            QuotaError::RateLimit429 => GoogleError::rate_limited(),
            QuotaError::RateLimit403 => GoogleError::rate_limited_forbidden(),
            QuotaError::UserRateLimit403 => GoogleError::user_rate_limited(),
        };
        Fault::respond(error.canned(), count)
    }

    /// Every call received, oldest first (the latest `call_log_capacity`).
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls.snapshot()
    }

    /// The mutating API calls (not GET, not token requests) among [`GoogleSim::calls`].
    pub fn writes(&self) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET" && c.path != "/token")
            .collect()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    /// How many times `users.signOut` succeeded for a user (id or email).
    pub fn signed_out(&self, user: &str) -> u64 {
        let store = self.store();
        let Some(id) = store.user(user).map(|u| u.id.clone()) else {
            return 0;
        };
        store.signed_out.get(&id).copied().unwrap_or(0)
    }

    /// Every watch channel (stopped ones included).
    pub fn channels(&self) -> Vec<Channel> {
        self.store().channels.values().cloned().collect()
    }

    /// Queues the notifications due and posts every pending one now, in
    /// order; returns the HTTP statuses (0 for a transport error).
    pub async fn deliver_notifications(&self) -> Vec<u16> {
        channels::deliver(self).await
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

    /// Changes the project's per-minute quota (429 past it).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.limiter().set_limit(Bucket::Project, per_minute);
    }

    /// Changes the per-user per-minute quota of every user (403 past it).
    pub fn set_user_rate_limit(&self, per_minute: u32) {
        let n = self.store().users.len();
        let mut l = self.limiter();
        for i in 0..n {
            l.set_limit(Bucket::User(i), per_minute);
        }
    }
}
