//! The simulated org's data: users, groups, memberships, factors, System Log
//! events and the record of mutating calls, plus the lookups handlers need.
//!
//! Everything lives behind one mutex in [`super::OktaSim`]; nothing here
//! awaits, so the lock is never held across an await point.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::clock::{fmt_ms, fmt_ts, parse_ts};
use super::filter::resolve_json;
use super::rng::SimRng;
use super::roles::RoleAssignment;

/// Okta user statuses (`UserStatus` in the management spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Active,
    Provisioned,
    Staged,
    Recovery,
    PasswordExpired,
    LockedOut,
    Suspended,
    Deprovisioned,
}

impl UserStatus {
    /// Every status, in the order the generator cycles through them.
    pub const ALL: [UserStatus; 8] = [
        UserStatus::Active,
        UserStatus::Provisioned,
        UserStatus::Staged,
        UserStatus::Recovery,
        UserStatus::PasswordExpired,
        UserStatus::LockedOut,
        UserStatus::Suspended,
        UserStatus::Deprovisioned,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "ACTIVE",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Staged => "STAGED",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<UserStatus> {
        UserStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Statuses in which the user has never finished activation.
    pub fn never_activated(self) -> bool {
        matches!(self, UserStatus::Staged | UserStatus::Provisioned)
    }
}

/// One enrolled MFA factor (`UserFactor`).
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub id: String,
    pub factor_type: String,
    pub provider: String,
    pub vendor_name: String,
    pub status: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub profile: Value,
}

/// One user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub status: UserStatus,
    pub transitioning_to: Option<UserStatus>,
    pub created: DateTime<Utc>,
    pub activated: Option<DateTime<Utc>>,
    pub status_changed: Option<DateTime<Utc>>,
    pub last_login: Option<DateTime<Utc>>,
    pub last_updated: DateTime<Utc>,
    pub password_changed: Option<DateTime<Utc>>,
    pub type_id: String,
    /// `profile` exactly as sent (default and custom attributes).
    pub profile: Map<String, Value>,
    /// `credentials.provider` as (type, name), e.g. ("OKTA", "OKTA").
    pub provider: (String, String),
    pub has_password: bool,
    pub recovery_question: Option<String>,
    pub factors: Vec<Factor>,
}

impl User {
    /// `profile.login`.
    pub fn login(&self) -> &str {
        self.profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `profile.displayName`, falling back to first + last name.
    pub fn display_name(&self) -> String {
        if let Some(d) = self.profile.get("displayName").and_then(Value::as_str) {
            return d.to_string();
        }
        let first = self
            .profile
            .get("firstName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let last = self
            .profile
            .get("lastName")
            .and_then(Value::as_str)
            .unwrap_or("");
        format!("{first} {last}").trim().to_string()
    }

    /// Values at a filter path (top-level fields, `type.id`, `profile.*`).
    pub fn resolve(&self, path: &str) -> Vec<Value> {
        let ts = |t: Option<DateTime<Utc>>| {
            vec![t.map(|t| Value::String(fmt_ts(t))).unwrap_or(Value::Null)]
        };
        match path {
            "id" => vec![Value::String(self.id.clone())],
            "status" => vec![Value::String(self.status.as_str().into())],
            "created" => ts(Some(self.created)),
            "activated" => ts(self.activated),
            "statusChanged" => ts(self.status_changed),
            "lastLogin" => ts(self.last_login),
            "lastUpdated" => ts(Some(self.last_updated)),
            "passwordChanged" => ts(self.password_changed),
            "type.id" => vec![Value::String(self.type_id.clone())],
            p => match p.strip_prefix("profile.") {
                Some(attr) => match self.profile.get(attr) {
                    Some(Value::Array(items)) => items.clone(),
                    Some(v) => vec![v.clone()],
                    None => Vec::new(),
                },
                None => Vec::new(),
            },
        }
    }
}

/// One group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    pub group_type: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub last_membership_updated: DateTime<Utc>,
    pub name: String,
    pub description: String,
    /// Source app id for `APP_GROUP`s.
    pub source: Option<String>,
    pub members: BTreeSet<String>,
}

impl Group {
    /// Values at a filter path.
    pub fn resolve(&self, path: &str) -> Vec<Value> {
        let s = |v: &str| vec![Value::String(v.to_string())];
        match path {
            "id" => s(&self.id),
            "type" => s(&self.group_type),
            "created" => s(&fmt_ts(self.created)),
            "lastUpdated" => s(&fmt_ts(self.last_updated)),
            "lastMembershipUpdated" => s(&fmt_ts(self.last_membership_updated)),
            "profile.name" => s(&self.name),
            "profile.description" => s(&self.description),
            "source.id" => self.source.as_deref().map(s).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// A System Log event as stored: the JSON text plus the fields paging and the
/// common filters need, so 50,000 events stay small and fast to scan.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Persistence order (1-based, dense): position in [`Store::events`] + 1.
    pub seq: u64,
    /// When the event was committed to the log (polling order and `since` in polling).
    pub persisted_ms: i64,
    /// `published` (bounded queries order and bound by it).
    pub published_ms: i64,
    pub event_type: String,
    pub outcome_result: String,
    pub actor_id: String,
    pub json: Box<str>,
}

impl StoredEvent {
    /// The event as JSON.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }
}

/// Resolves filter paths on a stored event, parsing the JSON only when a
/// filter needs a field that is not indexed.
pub struct EventResolver<'a> {
    event: &'a StoredEvent,
    parsed: Option<Value>,
}

impl<'a> EventResolver<'a> {
    pub fn new(event: &'a StoredEvent) -> Self {
        Self {
            event,
            parsed: None,
        }
    }

    pub fn resolve(&mut self, path: &str) -> Vec<Value> {
        let s = |v: &str| vec![Value::String(v.to_string())];
        match path {
            "eventType" => s(&self.event.event_type),
            "outcome.result" => s(&self.event.outcome_result),
            "actor.id" => s(&self.event.actor_id),
            _ => {
                let v = self.parsed.get_or_insert_with(|| self.event.value());
                resolve_json(v, path)
            }
        }
    }

    /// The parsed event (for keyword search).
    pub fn value(&mut self) -> &Value {
        self.parsed.get_or_insert_with(|| self.event.value())
    }
}

/// A mutating call the simulator received (for tests to assert on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCall {
    pub method: String,
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// The user the call addressed, resolved from id or login when it exists.
    pub user_id: Option<String>,
    /// The group the call addressed, if any.
    pub group_id: Option<String>,
    /// HTTP status answered; 0 when an injected connection reset answered nothing.
    pub status: u16,
    /// Simulated time the call arrived, Okta format.
    pub at: String,
    /// The `link` header values answered (paging relations), in order.
    #[serde(default)]
    pub link: Vec<String>,
}

/// The org.
#[derive(Debug, Default)]
pub struct Store {
    pub users: BTreeMap<String, User>,
    /// Lower-cased login → id.
    pub logins: HashMap<String, String>,
    pub groups: BTreeMap<String, Group>,
    /// User id → ids of groups the user belongs to.
    pub user_groups: HashMap<String, BTreeSet<String>>,
    pub events: Vec<StoredEvent>,
    pub mutations: Vec<RecordedCall>,
    /// The admin behind the API token (`/api/v1/users/me`).
    pub admin_id: String,
    /// User id → admin roles assigned to the user directly.
    pub roles: BTreeMap<String, Vec<RoleAssignment>>,
    /// The org's id (`00o…`), as in ORNs.
    pub org_id: String,
    /// Id source for objects created after generation (deterministic per seed).
    pub rng: SimRng,
    pub org_url: String,
}

impl Store {
    /// Finds a user by id, login, or unambiguous login short name.
    pub fn find_user(&self, key: &str) -> Option<&User> {
        if let Some(u) = self.users.get(key) {
            return Some(u);
        }
        let lower = key.to_lowercase();
        if let Some(id) = self.logins.get(&lower) {
            return self.users.get(id);
        }
        if lower.contains('@') {
            return None;
        }
        let mut hits = self.users.values().filter(|u| {
            u.login()
                .split('@')
                .next()
                .is_some_and(|short| short.eq_ignore_ascii_case(key))
        });
        match (hits.next(), hits.next()) {
            (Some(u), None) => Some(u),
            _ => None,
        }
    }

    /// The id of the user `key` names, if any.
    pub fn user_id(&self, key: &str) -> Option<String> {
        self.find_user(key).map(|u| u.id.clone())
    }

    /// Inserts or replaces a user and keeps the login index current.
    pub fn put_user(&mut self, user: User) {
        if let Some(old) = self.users.get(&user.id) {
            let old_login = old.login().to_lowercase();
            self.logins.remove(&old_login);
        }
        self.logins
            .insert(user.login().to_lowercase(), user.id.clone());
        self.users.insert(user.id.clone(), user);
    }

    /// Adds a membership; false if it already existed.
    pub fn add_member(&mut self, group_id: &str, user_id: &str, now: DateTime<Utc>) -> bool {
        let Some(g) = self.groups.get_mut(group_id) else {
            return false;
        };
        let added = g.members.insert(user_id.to_string());
        if added {
            g.last_membership_updated = now;
            self.user_groups
                .entry(user_id.to_string())
                .or_default()
                .insert(group_id.to_string());
        }
        added
    }

    /// Removes a membership; false if there was none.
    pub fn remove_member(&mut self, group_id: &str, user_id: &str, now: DateTime<Utc>) -> bool {
        let Some(g) = self.groups.get_mut(group_id) else {
            return false;
        };
        let removed = g.members.remove(user_id);
        if removed {
            g.last_membership_updated = now;
            if let Some(set) = self.user_groups.get_mut(user_id) {
                set.remove(group_id);
            }
        }
        removed
    }

    /// Appends one event; `persisted_ms` never goes backwards so polling order
    /// stays the order of appending. Returns the event's uuid.
    pub fn push_event(&mut self, event: Value, persisted_ms: i64) -> String {
        let prepared = Prepared::new(event, persisted_ms, &mut self.rng);
        let uuid = prepared.uuid.clone();
        self.push_prepared(prepared, persisted_ms);
        uuid
    }

    /// Appends an event already reduced to its stored form.
    pub fn push_prepared(&mut self, p: Prepared, persisted_ms: i64) {
        let persisted_ms = self
            .events
            .last()
            .map_or(persisted_ms, |l| l.persisted_ms.max(persisted_ms));
        self.events.push(StoredEvent {
            seq: self.events.len() as u64 + 1,
            persisted_ms,
            published_ms: p.published_ms,
            event_type: p.event_type,
            outcome_result: p.outcome_result,
            actor_id: p.actor_id,
            json: p.json,
        });
    }
}

/// An event reduced to what the store keeps (JSON text and indexed fields),
/// made as soon as an event is built so large logs never sit in memory as
/// `serde_json::Value` trees.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub uuid: String,
    pub published_ms: i64,
    pub event_type: String,
    pub outcome_result: String,
    pub actor_id: String,
    pub json: Box<str>,
}

impl Prepared {
    /// Fills in a missing `uuid` and `published` (= `default_ms`) and indexes the event.
    pub fn new(mut event: Value, default_ms: i64, rng: &mut SimRng) -> Self {
        let uuid = match event.get("uuid").and_then(Value::as_str) {
            Some(u) => u.to_string(),
            None => {
                let u = rng.uuid();
                if let Some(m) = event.as_object_mut() {
                    m.insert("uuid".into(), Value::String(u.clone()));
                }
                u
            }
        };
        let published_ms = match event
            .get("published")
            .and_then(Value::as_str)
            .and_then(parse_ts)
        {
            Some(t) => t.timestamp_millis(),
            None => {
                if let Some(m) = event.as_object_mut() {
                    m.insert("published".into(), Value::String(fmt_ms(default_ms)));
                }
                default_ms
            }
        };
        let text = |path: &str| {
            resolve_json(&event, path)
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Prepared {
            uuid,
            published_ms,
            event_type: text("eventType"),
            outcome_result: text("outcome.result"),
            actor_id: text("actor.id"),
            json: event.to_string().into_boxed_str(),
        }
    }
}
