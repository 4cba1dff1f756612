//! The simulated Workspace's state: users (typed, rendered to the Directory
//! API's `User` JSON on demand so a 100,000-user org builds fast), groups and
//! their members, login activities with the instant each becomes visible,
//! issued access tokens, watch channels, and Google's timestamp format.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::common::SimRng;

/// RFC 3339 with milliseconds and `Z`, as the Admin SDK writes times.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `lastLoginTime` of a user who never signed in.
pub const NEVER: &str = "1970-01-01T00:00:00.000Z";

/// One Directory user.
#[derive(Debug, Clone)]
pub struct User {
    /// Insertion order, the default listing order.
    pub seq: u64,
    pub id: String,
    pub primary_email: String,
    pub given_name: String,
    pub family_name: String,
    pub is_admin: bool,
    pub suspended: bool,
    pub suspension_reason: Option<String>,
    pub archived: bool,
    pub change_password_at_next_login: bool,
    pub org_unit_path: String,
    pub creation_time: DateTime<Utc>,
    pub last_login_time: Option<DateTime<Utc>>,
    pub enrolled_2sv: bool,
    pub enforced_2sv: bool,
    pub title: String,
    pub department: String,
    pub manager: Option<String>,
    /// Bumped on every change (the etag's tail).
    pub version: u64,
    /// Fields set through writes that are not modelled above, rendered as given.
    pub extra: Map<String, Value>,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }

    /// The Directory API `User` resource (`full` adds `customSchemas`).
    pub fn render(&self, customer_id: &str, full: bool) -> Value {
        let mut v = json!({
            "kind": "admin#directory#user",
            "id": self.id,
            "etag": format!("\"sim{}/{:x}\"", self.id, self.version),
            "primaryEmail": self.primary_email,
            "name": {
                "givenName": self.given_name,
                "familyName": self.family_name,
                "fullName": self.full_name(),
            },
            "isAdmin": self.is_admin,
            "isDelegatedAdmin": false,
            "lastLoginTime": self.last_login_time.map(fmt_ts).unwrap_or_else(|| NEVER.to_string()),
            "creationTime": fmt_ts(self.creation_time),
            "agreedToTerms": self.last_login_time.is_some(),
            "suspended": self.suspended,
            "archived": self.archived,
            "changePasswordAtNextLogin": self.change_password_at_next_login,
            "ipWhitelisted": false,
            "emails": [{"address": self.primary_email, "primary": true}],
            "organizations": [{
                "title": self.title,
                "primary": true,
                "customType": "",
                "department": self.department,
            }],
            "customerId": customer_id,
            "orgUnitPath": self.org_unit_path,
            "isMailboxSetup": true,
            "isEnrolledIn2Sv": self.enrolled_2sv,
            "isEnforcedIn2Sv": self.enforced_2sv,
            "includeInGlobalAddressList": true,
            "thumbnailPhotoUrl": format!("https://lh3.google.com/ao/sim/{}", self.id),
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(m) = &self.manager {
                obj.insert("relations".into(), json!([{"value": m, "type": "manager"}]));
            }
            if self.suspended {
                obj.insert(
                    "suspensionReason".into(),
                    json!(self
                        .suspension_reason
                        .clone()
                        .unwrap_or_else(|| "ADMIN".into())),
                );
            }
            for (k, x) in &self.extra {
                if k == "customSchemas" && !full {
                    continue;
                }
                obj.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

/// One group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub email: String,
    pub name: String,
    /// Member user ids in insertion order.
    pub members: Vec<String>,
}

impl Group {
    pub fn render(&self) -> Value {
        json!({
            "kind": "admin#directory#group",
            "id": self.id,
            "etag": format!("\"simg{}/{:x}\"", self.id, self.members.len()),
            "email": self.email,
            "name": self.name,
            "directMembersCount": self.members.len().to_string(),
            "description": "",
            "adminCreated": true,
        })
    }
}

/// One login activity and when the Reports API starts showing it.
#[derive(Debug, Clone)]
pub struct Activity {
    pub time_ms: i64,
    pub unique: String,
    pub visible_ms: i64,
    pub email: String,
    pub profile_id: String,
    pub ip: String,
    /// The whole `Activity` resource.
    pub body: Value,
}

impl Activity {
    /// The first event's name (a notification's `X-Goog-Resource-State`).
    pub fn event_name(&self) -> String {
        self.body["events"][0]["name"]
            .as_str()
            .unwrap_or("login_success")
            .to_string()
    }
}

/// An access token the token endpoint issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub scopes: BTreeSet<String>,
    /// The impersonated user (`sub`), if any.
    pub subject: Option<String>,
    pub expires_ms: i64,
}

/// A notification waiting to be (or that was) posted.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// `sync` or the activity's event name.
    pub state: String,
    pub message_number: u64,
    /// The activity (none for `sync`).
    pub body: Option<Value>,
}

/// A Reports API watch channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: String,
    pub resource_id: String,
    pub resource_uri: String,
    pub address: String,
    pub token: Option<String>,
    pub expiration_ms: i64,
    /// `all`, an email or a profile id.
    pub user_key: String,
    pub event_name: Option<String>,
    pub stopped: bool,
    pub next_message: u64,
    /// Activities already queued for this channel, as `time_ms:unique`.
    pub seen: BTreeSet<String>,
    pub pending: Vec<Notification>,
    /// `(message number, state, HTTP status or 0 on a transport error)` of each delivery.
    pub deliveries: Vec<(u64, String, u16)>,
}

/// Everything the simulated Workspace holds.
#[derive(Debug, Default)]
pub struct Store {
    pub users: Vec<User>,
    pub by_id: HashMap<String, usize>,
    pub by_email: HashMap<String, usize>,
    pub groups: Vec<Group>,
    /// Newest first after [`Store::sort_activities`].
    pub activities: Vec<Activity>,
    pub tokens: HashMap<String, IssuedToken>,
    pub channels: BTreeMap<String, Channel>,
    pub signed_out: HashMap<String, u64>,
    pub rng: SimRng,
    pub next_seq: u64,
}

impl Store {
    /// The user an id or (any-case) primary email names.
    pub fn user_index(&self, key: &str) -> Option<usize> {
        self.by_id
            .get(key)
            .or_else(|| self.by_email.get(&key.to_ascii_lowercase()))
            .copied()
    }

    pub fn user(&self, key: &str) -> Option<&User> {
        self.user_index(key).and_then(|i| self.users.get(i))
    }

    pub fn insert_user(&mut self, mut u: User) -> String {
        u.seq = self.next_seq;
        self.next_seq += 1;
        let id = u.id.clone();
        let idx = self.users.len();
        self.by_id.insert(id.clone(), idx);
        self.by_email
            .insert(u.primary_email.to_ascii_lowercase(), idx);
        self.users.push(u);
        id
    }

    /// A 21-digit Google id.
    pub fn new_id(&mut self) -> String {
        loop {
            let id = format!(
                "1{:010}{:010}",
                self.rng.below(10_000_000_000),
                self.rng.below(10_000_000_000)
            );
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn group_index(&self, key: &str) -> Option<usize> {
        let lower = key.to_ascii_lowercase();
        self.groups
            .iter()
            .position(|g| g.id == key || g.email.to_ascii_lowercase() == lower)
    }

    pub fn sort_activities(&mut self) {
        self.activities.sort_by(|a, b| {
            b.time_ms
                .cmp(&a.time_ms)
                .then_with(|| b.unique.cmp(&a.unique))
        });
    }
}
