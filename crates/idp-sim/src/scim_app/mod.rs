//! A SCIM 2.0 service provider as a SaaS application exposes it, written from RFC 7643 (core
//! schema) and RFC 7644 (protocol): `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`,
//! `/Users` (list with `startIndex`/`count` paging capped at a maximum page size, the filter
//! `userName eq "…"` (also `externalId`, `id`), create with `userName` uniqueness answered 409
//! `uniqueness`, get, PUT, PATCH, DELETE), bearer-token authentication, 429 with
//! `Retry-After`, `/Groups` (list with the filter `displayName eq "…"` (also `externalId`, `id`),
//! create with `displayName` uniqueness, get, PUT, PATCH of `members` with `add`, `replace` and
//! `remove` including the value filter `members[value eq "…"]`, DELETE), and every error in the `urn:ietf:params:scim:api:messages:2.0:Error` body.
//!
//! Apps differ in what they implement, so the simulator can play an app without PATCH (501,
//! only PUT: [`ScimAppConfig::patch`]), without filtering, and without ETags; what it announces
//! in `/ServiceProviderConfig` follows the same switches.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use gatehouse_idp_sim::scim_app::{ScimAppConfig, ScimAppSim};
//! let sim = ScimAppSim::new(ScimAppConfig { users: 500, ..ScimAppConfig::default() });
//! let running = sim.spawn(([127, 0, 0, 1], 0).into())?;
//! println!("{} bearer {}", running.base_url(), sim.config().token);
//! # Ok(()) }
//! ```
//!
//! Library API for tests: [`ScimAppSim::add_user`], [`ScimAppSim::user`],
//! [`ScimAppSim::user_ids`], [`ScimAppSim::find_by_user_name`], [`ScimAppSim::update_user`],
//! [`ScimAppSim::remove_user`], groups ([`ScimAppSim::add_group`], [`ScimAppSim::group`],
//! [`ScimAppSim::group_ids`], [`ScimAppSim::find_group`], [`ScimAppSim::add_group_member`], [`ScimAppSim::group_members`]), faults ([`ScimAppSim::inject`], [`ScimAppSim::inject_on`],
//! [`ScimAppSim::clear_faults`]) and the call record ([`ScimAppSim::calls`],
//! [`ScimAppSim::writes`]).

mod discovery;
mod edge;
mod errors;
mod groups;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub use crate::common::{CannedResponse, Fault, RunningSim, SimClock, Truncation};
pub use edge::RecordedCall;
pub use errors::ScimError;

use crate::common::{CallLog, FaultQueue, RateLimiter, SimRng};

/// The core User schema URN (RFC 7643 §8.7.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN (RFC 7643 §8.7.1).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// How the simulated application is built and behaves.
#[derive(Debug, Clone)]
pub struct ScimAppConfig {
    /// The bearer token every call must send.
    pub token: String,
    /// Users generated at start.
    pub users: usize,
    pub domain: String,
    pub seed: u64,
    /// Largest `count` honoured on a list (larger asks get this many), announced as
    /// `filter.maxResults`.
    pub max_page_size: usize,
    /// `count` when the request names none.
    pub default_page_size: usize,
    /// PATCH implemented (false: 501 and `patch.supported: false`).
    pub patch: bool,
    /// `filter` implemented (false: the parameter is ignored, as some apps do, and
    /// `filter.supported: false`).
    pub filter: bool,
    /// ETags (`meta.version`, `If-Match` checked, 412 on a stale one).
    pub etag: bool,
    /// `/Groups` served (and the Group schema and resource type announced); false: 404.
    pub groups: bool,
    /// Requests per minute; past it 429 with `Retry-After`.
    pub rate_limit_per_minute: u32,
    /// `Retry-After` seconds on a 429.
    pub retry_after_secs: u64,
    pub call_log_capacity: usize,
}

impl Default for ScimAppConfig {
    fn default() -> Self {
        Self {
            token: "scimapp-sim-token-0123456789abcdef".into(),
            users: 50,
            domain: "example.com".into(),
            seed: 1,
            max_page_size: 100,
            default_page_size: 100,
            patch: true,
            filter: true,
            etag: true,
            groups: true,
            rate_limit_per_minute: 100_000,
            retry_after_secs: 1,
            call_log_capacity: 10_000,
        }
    }
}

/// A user to add (unset fields are generated).
#[derive(Debug, Clone, Default)]
pub struct NewScimUser {
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub external_id: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// The application's users, in creation order (the order lists page through).
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub order: Vec<String>,
    pub users: HashMap<String, Value>,
    pub rng: SimRng,
    pub versions: u64,
    /// Group ids in creation order, and the groups.
    pub group_order: Vec<String>,
    pub groups: HashMap<String, Value>,
}

impl Store {
    /// The id of the user whose `userName` is `name` (case-insensitive: RFC 7643 §4.1.1
    /// makes `userName` `caseExact: false`).
    pub fn by_user_name(&self, name: &str) -> Option<String> {
        self.order
            .iter()
            .find(|id| {
                self.users
                    .get(*id)
                    .and_then(|u| u.get("userName"))
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .cloned()
    }

    pub fn next_version(&mut self) -> String {
        self.versions += 1;
        format!("W/\"{}\"", self.versions)
    }
}

/// Rate-limit buckets: one per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Bucket {
    Token,
}

pub(crate) struct Shared {
    config: ScimAppConfig,
    clock: SimClock,
    store: Mutex<Store>,
    limiter: Mutex<RateLimiter<Bucket>>,
    faults: Mutex<FaultQueue>,
    calls: CallLog<RecordedCall>,
}

/// Cheap-clone handle on one simulated SCIM application.
#[derive(Clone)]
pub struct ScimAppSim {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ScimAppSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimAppSim")
            .field("patch", &self.shared.config.patch)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ScimAppSim {
    /// Builds the application with `config.users` generated users.
    pub fn new(config: ScimAppConfig) -> Self {
        let clock = SimClock::starting_at(SimClock::wall_now());
        let store = Store {
            rng: SimRng::new(config.seed),
            ..Store::default()
        };
        let limiter = RateLimiter::new(60_000, config.rate_limit_per_minute, BTreeMap::new());
        let sim = Self {
            shared: Arc::new(Shared {
                calls: CallLog::new(config.call_log_capacity),
                config,
                clock,
                store: Mutex::new(store),
                limiter: Mutex::new(limiter),
                faults: Mutex::new(FaultQueue::default()),
            }),
        };
        let domain = sim.shared.config.domain.clone();
        for i in 0..sim.shared.config.users {
            sim.add_user(NewScimUser {
                user_name: Some(format!("user{i:05}@{domain}")),
                given_name: Some(format!("Given{i}")),
                family_name: Some(format!("Family{i}")),
                // Every tenth account is already deactivated, as in any real app.
                active: Some(i % 10 != 9),
                ..NewScimUser::default()
            });
        }
        sim
    }

    pub fn config(&self) -> &ScimAppConfig {
        &self.shared.config
    }

    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
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
        edge::router(self.clone())
    }

    /// Serves on `addr` (port 0 = any free port) until the handle is dropped.
    pub fn spawn(&self, addr: std::net::SocketAddr) -> std::io::Result<RunningSim> {
        crate::common::server::spawn(self.router(), addr, "scim_app")
    }

    /// Adds a user as an administrator of the app would; returns its id.
    pub fn add_user(&self, new: NewScimUser) -> String {
        let now = fmt_ts(self.clock().now());
        let mut store = self.store();
        let id = store.rng.uuid().replace('-', "");
        let domain = &self.shared.config.domain;
        let user_name = new
            .user_name
            .unwrap_or_else(|| format!("user-{}@{domain}", &id[..8]));
        let email = new.email.unwrap_or_else(|| user_name.clone());
        let mut user = json!({
            "schemas": [USER_SCHEMA],
            "id": id,
            "userName": user_name,
            "name": {"givenName": new.given_name, "familyName": new.family_name},
            "emails": [{"value": email, "type": "work", "primary": true}],
            "active": new.active.unwrap_or(true),
        });
        if let Some(external) = new.external_id {
            user["externalId"] = Value::String(external);
        }
        if let Some(map) = user.as_object_mut() {
            without_nulls(map);
        }
        let version = store.next_version();
        user["meta"] = json!({"resourceType": "User", "created": now, "lastModified": now,
            "version": version});
        store.order.push(id.clone());
        store.users.insert(id.clone(), user);
        id
    }

    /// A user as `GET /Users/{id}` renders it (without `meta.location`).
    pub fn user(&self, id: &str) -> Option<Value> {
        self.store().users.get(id).cloned()
    }

    /// Every user id, in creation order.
    pub fn user_ids(&self) -> Vec<String> {
        self.store().order.clone()
    }

    /// The id of the user with that `userName` (case-insensitive).
    pub fn find_by_user_name(&self, name: &str) -> Option<String> {
        self.store().by_user_name(name)
    }

    /// Sets top-level attributes of a user as an administrator would (bumps its version);
    /// false when unknown.
    pub fn update_user(&self, id: &str, fields: &Value) -> bool {
        let now = fmt_ts(self.clock().now());
        let mut store = self.store();
        let version = store.next_version();
        let Some(user) = store.users.get_mut(id) else {
            return false;
        };
        if let (Some(target), Some(fields)) = (user.as_object_mut(), fields.as_object()) {
            for (k, v) in fields {
                target.insert(k.clone(), v.clone());
            }
        }
        users::touch(user, &now, version);
        true
    }

    /// Deletes a user; false when unknown.
    pub fn remove_user(&self, id: &str) -> bool {
        let mut store = self.store();
        store.order.retain(|i| i != id);
        store.users.remove(id).is_some()
    }

    /// Adds a group as an administrator of the app would (members are user ids); returns its id.
    pub fn add_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        members: &[&str],
    ) -> String {
        let now = fmt_ts(self.clock().now());
        let mut store = self.store();
        let id = store.rng.uuid().replace('-', "");
        let members: Vec<Value> = members.iter().map(|m| groups::member(&store, m)).collect();
        let mut group = json!({"schemas": [GROUP_SCHEMA], "id": id, "displayName": display_name,
            "members": members});
        if let Some(external) = external_id {
            group["externalId"] = Value::String(external.to_owned());
        }
        let version = store.next_version();
        group["meta"] = json!({"resourceType": "Group", "created": now, "lastModified": now,
            "version": version});
        store.group_order.push(id.clone());
        store.groups.insert(id.clone(), group);
        id
    }

    /// A group as `GET /Groups/{id}` renders it (without `meta.location`).
    pub fn group(&self, id: &str) -> Option<Value> {
        self.store().groups.get(id).cloned()
    }

    /// Every group id, in creation order.
    pub fn group_ids(&self) -> Vec<String> {
        self.store().group_order.clone()
    }

    /// The group with that `displayName`, if one has it.
    pub fn find_group(&self, display_name: &str) -> Option<Value> {
        let store = self.store();
        store
            .group_order
            .iter()
            .filter_map(|id| store.groups.get(id))
            .find(|g| g.get("displayName").and_then(Value::as_str) == Some(display_name))
            .cloned()
    }

    /// Adds user `member` to group `id` as an administrator of the app would; false when
    /// either is unknown.
    pub fn add_group_member(&self, id: &str, member: &str) -> bool {
        let mut store = self.store();
        if !store.users.contains_key(member) {
            return false;
        }
        let entry = groups::member(&store, member);
        let version = store.next_version();
        let Some(group) = store.groups.get_mut(id) else {
            return false;
        };
        let members = group
            .as_object_mut()
            .map(|g| g.entry("members").or_insert_with(|| json!([])));
        if let Some(Value::Array(items)) = members {
            if !items.iter().any(|m| m.get("value") == entry.get("value")) {
                items.push(entry);
            }
        }
        if let Some(meta) = group.get_mut("meta").and_then(Value::as_object_mut) {
            meta.insert("version".into(), Value::String(version));
        }
        true
    }

    /// The user ids a group's `members` hold, sorted.
    pub fn group_members(&self, id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .group(id)
            .and_then(|g| g.get("members").cloned())
            .and_then(|m| serde_json::from_value::<Vec<Value>>(m).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// Queues a fault for the next requests to any path.
    pub fn inject(&self, fault: Fault) {
        self.fault_queue().push(fault, None);
    }

    /// Queues a fault for requests whose path starts with `prefix`.
    pub fn inject_on(&self, prefix: &str, fault: Fault) {
        self.fault_queue().push(fault, Some(prefix.to_owned()));
    }

    pub fn clear_faults(&self) {
        self.fault_queue().clear();
    }

    /// Every call answered (up to the log's capacity), oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls.snapshot()
    }

    /// The calls that may change something (not GET).
    pub fn writes(&self) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET")
            .collect()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    pub(crate) fn record(&self, call: RecordedCall) {
        self.shared.calls.push(call);
    }
}

/// Sets `meta.location` on a rendered resource.
pub(crate) fn located(user: Value, base: &str) -> Value {
    located_in(user, base, "Users")
}

/// Sets `meta.location` on a rendered resource of the `collection` endpoint.
pub(crate) fn located_in(mut user: Value, base: &str, collection: &str) -> Value {
    let id = user
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(meta) = user.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert(
            "location".into(),
            Value::String(format!("{base}/{collection}/{id}")),
        );
    }
    user
}

/// Drops the keys of an object whose value is null (an unset name part).
pub(crate) fn without_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for v in map.values_mut() {
        if let Some(inner) = v.as_object_mut() {
            without_nulls(inner);
        }
    }
}
