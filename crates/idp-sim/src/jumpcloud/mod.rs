//! JumpCloud simulator: the v1 API's system users (`/api/systemusers` list
//! with `limit`/`skip`/`sort`/`filter`/`fields`, get, PUT, `resetmfa`,
//! `expire`, `unlock`), the v2 API's user groups (`/api/v2/usergroups`,
//! members, `users/{id}/memberof`) and the Directory Insights API
//! (`POST /insights/directory/v1/events` and `/events/count`, with
//! `search_after` paging through the `X-Search_after` header and an arrival
//! lag), written from JumpCloud's API documentation (the v1, v2 and
//! Directory Insights OpenAPI specs and their descriptions).
//!
//! One server plays both hosts: `console.jumpcloud.com` paths (`/api/…`,
//! `/api/v2/…`) and `api.jumpcloud.com` paths (`/insights/directory/v1/…`).
//! Every call needs `x-api-key`; a multi-tenant (MSP) key also needs
//! `x-org-id`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use gatehouse_idp_sim::jumpcloud::{JumpCloudConfig, JumpCloudSim};
//! let sim = JumpCloudSim::new(JumpCloudConfig { users: 500, events: 2000, ..JumpCloudConfig::default() });
//! let running = sim.spawn(([127, 0, 0, 1], 0).into())?;
//! println!("{} x-api-key: {}", running.base_url(), sim.config().api_key);
//! # Ok(()) }
//! ```
//!
//! # Library API for tests
//!
//! - building: [`JumpCloudSim::new`]`(`[`JumpCloudConfig`]`)` (100,000 users build
//!   in well under a second in release), [`JumpCloudSim::spawn`]`(addr) -> io::Result<RunningSim>`,
//!   [`JumpCloudSim::router`], [`JumpCloudSim::config`];
//! - users: [`JumpCloudSim::add_user`]`(`[`NewUser`]`) -> id`,
//!   [`JumpCloudSim::update_user`]`(id, &Value) -> bool` (fields as `PUT /api/systemusers/{id}` takes them),
//!   [`JumpCloudSim::remove_user`]`(id) -> bool`, [`JumpCloudSim::user`]`(id) -> Option<Value>`,
//!   [`JumpCloudSim::user_ids`] (in `_id` order), [`JumpCloudSim::churn_after`]`(n, `[`Churn`]`)`
//!   (mutate the user list right after the n-th `GET /api/systemusers`);
//! - groups: [`JumpCloudSim::create_group`]`(name) -> id`, [`JumpCloudSim::add_to_group`],
//!   [`JumpCloudSim::group_members`]`(id) -> Vec<id>`, [`JumpCloudSim::group_ids`];
//! - Directory Insights: [`JumpCloudSim::add_event`]`(value) -> id` (merged onto a
//!   generated successful `user_login_attempt` at "now", visible after
//!   [`JumpCloudConfig::event_lag`]), [`JumpCloudSim::add_event_visible_after`]`(value, lag)`,
//!   [`JumpCloudSim::add_logins`]`(count, age) -> Vec<id>`,
//!   [`JumpCloudSim::add_login_events`]`(`[`NewLogin`]`s) -> Vec<id>` (chosen account, time,
//!   outcome, address and arrival lag; many at once), [`JumpCloudSim::event_count`];
//! - time: [`JumpCloudSim::clock`], [`JumpCloudSim::advance`];
//! - faults and limits: [`JumpCloudSim::inject`], [`JumpCloudSim::inject_on`],
//!   [`JumpCloudSim::clear_faults`], [`JumpCloudSim::set_rate_limit`];
//! - inspection: [`JumpCloudSim::calls`], [`JumpCloudSim::writes`], [`JumpCloudSim::clear_calls`],
//!   [`JumpCloudSim::mfa_resets`]`(id) -> u64`, [`JumpCloudSim::password_expired`]`(id) -> bool`,
//!   [`JumpCloudSim::list_requests`].

mod edge;
mod errors;
mod generate;
mod groups;
mod insights;
mod model;
mod routes;
mod users;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use crate::common::{CannedResponse, Fault, RunningSim, SimClock, Truncation};
pub use edge::RecordedCall;
pub use errors::JcError;
pub use generate::{NewLogin, NewUser};
pub use model::Churn;

use crate::common::{CallLog, FaultQueue, RateLimiter};
use model::Store;

/// How the simulated organization is built and behaves.
#[derive(Debug, Clone)]
pub struct JumpCloudConfig {
    /// The administrator API key every call must send in `x-api-key`.
    pub api_key: String,
    /// The organization's id (24 hex digits), `organization` of users and events.
    pub org_id: String,
    /// The key is a multi-tenant (MSP) admin's: calls must send `x-org-id`.
    pub multi_tenant_key: bool,
    /// Organizations the key may select with `x-org-id` besides `org_id`
    /// (they exist but hold nothing).
    pub other_orgs: Vec<String>,
    /// Domain of generated users' emails.
    pub domain: String,
    /// The administrator behind the key (`initiated_by` of admin events).
    pub admin_id: String,
    pub admin_email: String,
    pub users: usize,
    pub groups: usize,
    /// Directory Insights events to generate over [`JumpCloudConfig::event_span`].
    pub events: usize,
    pub event_span: Duration,
    pub seed: u64,
    /// Simulated time at start; `None` = the machine's wall time.
    pub start_time: Option<DateTime<Utc>>,
    /// An event is returned by Directory Insights this long after its `timestamp`.
    pub event_lag: Duration,
    /// Largest `limit` of v1/v2 lists (past it 400; JumpCloud documents "Limited to 100").
    pub max_limit: usize,
    /// v1/v2 page size without `limit` (JumpCloud: 10).
    pub default_limit: usize,
    /// Directory Insights rows without `limit` (JumpCloud: 1000).
    pub events_default_limit: usize,
    /// Largest Directory Insights `limit` (JumpCloud: 10,000; larger values get the default).
    pub events_max_limit: usize,
    /// Requests per minute for the key; past it 429.
    pub rate_limit_per_minute: u32,
    /// `Retry-After` seconds on a 429 (JumpCloud documents none; `None` sends none).
    pub retry_after: Option<u64>,
    /// Send `X-RateLimit-Limit`/`-Remaining`/`-Reset` (not documented by JumpCloud; off by default).
    pub rate_limit_headers: bool,
    pub call_log_capacity: usize,
}

impl Default for JumpCloudConfig {
    fn default() -> Self {
        Self {
            api_key: "jcsim0123456789abcdef0123456789abcdef01234".into(),
            org_id: "5a2af2a82cf2b0010053ea41".into(),
            multi_tenant_key: false,
            other_orgs: Vec::new(),
            domain: "example.com".into(),
            admin_id: "5845d8f9c4894c85596c54f3".into(),
            admin_email: "admin@example.com".into(),
            users: 50,
            groups: 5,
            events: 300,
            event_span: Duration::from_secs(72 * 3600),
            seed: 1,
            start_time: None,
            event_lag: Duration::from_secs(60),
            max_limit: 100,
            default_limit: 10,
            events_default_limit: 1000,
            events_max_limit: 10_000,
            rate_limit_per_minute: 6000,
            retry_after: None,
            rate_limit_headers: false,
            call_log_capacity: 10_000,
        }
    }
}

/// Rate-limit buckets (one per key; JumpCloud documents no finer split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    Key,
}

pub(crate) struct Shared {
    config: JumpCloudConfig,
    clock: SimClock,
    store: Mutex<Store>,
    limiter: Mutex<RateLimiter<Bucket>>,
    faults: Mutex<FaultQueue>,
    calls: CallLog<RecordedCall>,
}

/// Cheap-clone handle on one simulated JumpCloud organization.
#[derive(Clone)]
pub struct JumpCloudSim {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for JumpCloudSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JumpCloudSim")
            .field("org_id", &self.shared.config.org_id)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::zero())
}

impl JumpCloudSim {
    /// Builds the organization from `config.seed`.
    pub fn new(config: JumpCloudConfig) -> Self {
        let anchor = config.start_time.unwrap_or_else(SimClock::wall_now);
        let clock = SimClock::starting_at(anchor);
        let store = generate::build(&config, anchor);
        let limiter = RateLimiter::new(60_000, config.rate_limit_per_minute, BTreeMap::new());
        let calls = CallLog::new(config.call_log_capacity);
        Self {
            shared: Arc::new(Shared {
                config,
                clock,
                store: Mutex::new(store),
                limiter: Mutex::new(limiter),
                faults: Mutex::new(FaultQueue::default()),
                calls,
            }),
        }
    }

    /// The configuration the organization was built with.
    pub fn config(&self) -> &JumpCloudConfig {
        &self.shared.config
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Moves simulated time forward (event lag, rate windows).
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

    /// The axum router serving every path.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves on `addr` (port 0 = any free port) until the handle is dropped.
    pub fn spawn(&self, addr: std::net::SocketAddr) -> std::io::Result<RunningSim> {
        crate::common::server::spawn(self.router(), addr, "jumpcloud")
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, new: NewUser) -> String {
        let now = self.clock().now();
        let mut store = self.store();
        let user = generate::user_from(&mut store, new, &self.shared.config, now);
        store.insert_user(user)
    }

    /// Applies fields as `PUT /api/systemusers/{id}` takes them (`suspended`,
    /// `state`, `account_locked`, `password_expired`, `email`…); false when
    /// there is no such user or a field has the wrong type.
    pub fn update_user(&self, id: &str, patch: &Value) -> bool {
        let now = self.clock().now();
        let mut store = self.store();
        match store.user_mut(id) {
            Some(u) => users::apply_put(u, patch, now).is_ok(),
            None => false,
        }
    }

    /// Deletes a user; false when unknown.
    pub fn remove_user(&self, id: &str) -> bool {
        self.store().remove_user(id)
    }

    /// A user as `GET /api/systemusers/{id}` renders it.
    pub fn user(&self, id: &str) -> Option<Value> {
        let store = self.store();
        store.user(id).map(|u| u.render(&self.shared.config.org_id))
    }

    /// Every user id, in `_id` order.
    pub fn user_ids(&self) -> Vec<String> {
        self.store().users.iter().map(|u| u.id.clone()).collect()
    }

    /// Runs `churn` right after the `n`-th (1-based, counted from the start)
    /// `GET /api/systemusers` list request has been answered.
    pub fn churn_after(&self, n: u64, churn: Churn) {
        self.store().churn.entry(n).or_default().push(churn);
    }

    /// `GET /api/systemusers` list requests answered so far.
    pub fn list_requests(&self) -> u64 {
        self.store().list_requests
    }

    pub(crate) fn run_churn(&self, churn: Churn) {
        match churn {
            Churn::Add(users) => {
                for u in users {
                    self.add_user(u);
                }
            }
            Churn::Remove(ids) => {
                let mut store = self.store();
                for id in ids {
                    store.remove_user(&id);
                }
            }
            Churn::RemoveAt { at, count } => {
                let mut store = self.store();
                let ids: Vec<String> = store
                    .users
                    .iter()
                    .skip(at)
                    .take(count)
                    .map(|u| u.id.clone())
                    .collect();
                for id in ids {
                    store.remove_user(&id);
                }
            }
        }
    }

    /// Creates an empty user group; returns its id.
    pub fn create_group(&self, name: &str) -> String {
        let now = self.clock().now();
        let mut store = self.store();
        let id = store.object_id(now);
        store.groups.push(model::Group {
            id: id.clone(),
            name: name.to_string(),
            description: String::new(),
            members: Vec::new(),
        });
        id
    }

    /// Adds a user to a group; false if either is unknown or it already is a member.
    pub fn add_to_group(&self, group: &str, user: &str) -> bool {
        let mut store = self.store();
        if store.user(user).is_none() {
            return false;
        }
        let Some(g) = store.group_index(group) else {
            return false;
        };
        match store.groups.get_mut(g) {
            Some(g) if !g.members.iter().any(|m| m == user) => {
                g.members.push(user.to_string());
                true
            }
            _ => false,
        }
    }

    /// The member user ids of a group.
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

    /// Adds a Directory Insights event: `value` is merged (JSON merge) onto a
    /// generated successful `user_login_attempt` of a random user at the
    /// current time (`timestamp`, `event_type`, `service`, `id`… may be set;
    /// set `service` along with an `event_type` of another service).
    /// Visible after [`JumpCloudConfig::event_lag`]. Returns its `id`.
    pub fn add_event(&self, value: Value) -> String {
        let lag = self.shared.config.event_lag;
        self.add_event_visible_after(value, lag)
    }

    /// As [`JumpCloudSim::add_event`], visible `lag` after its `timestamp`.
    pub fn add_event_visible_after(&self, value: Value, lag: Duration) -> String {
        let now = self.clock().now();
        let mut store = self.store();
        let n = store.users.len() as u64;
        let user = (n > 0).then(|| store.rng.below(n) as usize);
        let mut v = generate::event_value(
            &mut store,
            &self.shared.config,
            "user_login_attempt",
            user,
            now,
            true,
        );
        generate::merge(&mut v, &value);
        let id = generate::push_event(&mut store, v, now, chrono_of(lag));
        store.sort_events();
        id
    }

    /// Adds `count` varied login events that happened `age` ago (a
    /// millisecond apart), visible after the event lag; returns their ids.
    pub fn add_logins(&self, count: usize, age: Duration) -> Vec<String> {
        let at = self.clock().now() - chrono_of(age);
        let lag = chrono_of(self.shared.config.event_lag);
        let mut store = self.store();
        let out = (0..count)
            .map(|i| {
                let t = at - chrono::Duration::milliseconds(i as i64);
                generate::random_event(&mut store, &self.shared.config, t, lag)
            })
            .collect();
        store.sort_events();
        out
    }

    /// Adds login events of chosen kinds, accounts, times, outcomes and addresses (an attack, a
    /// backlog, events reaching the log late); returns their ids in order. Sorted once, so tens
    /// of thousands are added quickly.
    pub fn add_login_events(&self, logins: impl IntoIterator<Item = NewLogin>) -> Vec<String> {
        let now = self.clock().now();
        let mut store = self.store();
        let ids = logins
            .into_iter()
            .map(|login| generate::push_login(&mut store, &self.shared.config, login, now))
            .collect();
        store.sort_events();
        ids
    }

    /// Events stored (visible or not).
    pub fn event_count(&self) -> usize {
        self.store().events.len()
    }

    /// Every call received, oldest first (the latest `call_log_capacity`).
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls.snapshot()
    }

    /// The calls that may change state: PUT, DELETE, PATCH and the v1/v2
    /// POSTs (not Directory Insights queries, which are POSTs too).
    pub fn writes(&self) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET" && !c.path.starts_with("/insights/"))
            .collect()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    /// How many times `POST /api/systemusers/{id}/resetmfa` succeeded for a user.
    pub fn mfa_resets(&self, id: &str) -> u64 {
        self.store().mfa_resets.get(id).copied().unwrap_or(0)
    }

    /// The user's `password_expired` (false for an unknown user).
    pub fn password_expired(&self, id: &str) -> bool {
        self.store().user(id).is_some_and(|u| u.password_expired)
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

    /// Changes the key's per-minute quota (429 past it).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.limiter().set_limit(Bucket::Key, per_minute);
    }
}
