//! The simulated organization's state: system users (typed, rendered to the
//! v1 `systemuserreturn` JSON on demand so a 100,000-user org builds fast),
//! v2 user groups and their members, Directory Insights events with the
//! instant each becomes visible, and JumpCloud's id and timestamp formats.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::common::SimRng;

/// RFC 3339 with milliseconds and `Z`, as JumpCloud writes times.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// True for a 24-hex-digit MongoDB ObjectId (JumpCloud's object ids).
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A user's `state`.
pub const STATES: &[&str] = &["STAGED", "ACTIVATED", "SUSPENDED"];

/// The user's `mfa` object.
#[derive(Debug, Clone, Default)]
pub struct Mfa {
    pub configured: bool,
    pub exclusion: bool,
    pub exclusion_days: Option<u64>,
    pub exclusion_until: Option<String>,
}

/// One system user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub displayname: String,
    /// `STAGED`, `ACTIVATED` or `SUSPENDED`; `suspended` and `activated` follow it.
    pub state: String,
    pub account_locked: bool,
    pub account_locked_date: Option<String>,
    pub bad_login_attempts: u64,
    pub created: DateTime<Utc>,
    pub password_date: Option<DateTime<Utc>>,
    pub password_expired: bool,
    pub password_never_expires: bool,
    pub password_expiration_date: Option<DateTime<Utc>>,
    pub totp_enabled: bool,
    pub enable_user_portal_multifactor: bool,
    pub mfa: Mfa,
    pub department: String,
    pub job_title: String,
    pub employee_identifier: String,
    pub manager: Option<String>,
    pub company: String,
    pub location: String,
    /// Fields set through writes that are not modelled above, rendered as given.
    pub extra: Map<String, Value>,
}

fn status(enrolled: bool) -> &'static str {
    if enrolled {
        "ENROLLED"
    } else {
        "NOT_ENROLLED"
    }
}

impl User {
    /// The v1 `systemuserreturn` object.
    pub fn render(&self, org: &str) -> Value {
        let mut mfa = json!({"configured": self.mfa.configured, "exclusion": self.mfa.exclusion});
        if let Some(o) = mfa.as_object_mut() {
            if let Some(u) = &self.mfa.exclusion_until {
                o.insert("exclusionUntil".into(), json!(u));
            }
            if let Some(d) = self.mfa.exclusion_days {
                o.insert("exclusionDays".into(), json!(d));
            }
        }
        let totp = status(self.totp_enabled);
        let mut v = json!({
            "_id": self.id,
            "username": self.username,
            "email": self.email,
            "firstname": self.firstname,
            "middlename": "",
            "lastname": self.lastname,
            "displayname": self.displayname,
            "state": self.state,
            "activated": self.state != "STAGED",
            "suspended": self.state == "SUSPENDED",
            "account_locked": self.account_locked,
            "account_locked_date": self.account_locked_date,
            "badLoginAttempts": self.bad_login_attempts,
            "created": fmt_ts(self.created),
            "password_date": self.password_date.map(fmt_ts),
            "password_expired": self.password_expired,
            "password_never_expires": self.password_never_expires,
            "password_expiration_date": self.password_expiration_date.map(fmt_ts),
            "totp_enabled": self.totp_enabled,
            "enable_user_portal_multifactor": self.enable_user_portal_multifactor,
            "mfa": mfa,
            "mfaEnrollment": {
                "overallStatus": totp,
                "totpStatus": totp,
                "pushStatus": "NOT_ENROLLED",
                "webAuthnStatus": "NOT_ENROLLED",
            },
        });
        let rest = json!({
            "department": self.department,
            "jobTitle": self.job_title,
            "employeeIdentifier": self.employee_identifier,
            "employeeType": "",
            "company": self.company,
            "costCenter": "",
            "location": self.location,
            "description": "",
            "alternateEmail": "",
            "recoveryEmail": {"address": self.email, "verified": false},
            "phoneNumbers": [],
            "addresses": [],
            "attributes": [],
            "organization": org,
            "externally_managed": false,
            "external_dn": "",
            "external_source_type": "",
            "ldap_binding_user": false,
            "sudo": false,
            "passwordless_sudo": false,
            "allow_public_key": true,
            "enable_managed_uid": false,
            "unix_uid": 0,
            "unix_guid": 0,
            "samba_service_user": false,
            "ssh_keys": [],
            "relationships": [],
            "creationSource": "jumpcloud:admin",
            "managedAppleId": "",
            "restrictedFields": [],
        });
        if let (Some(o), Value::Object(r)) = (v.as_object_mut(), rest) {
            o.extend(r);
        }
        if let Some(o) = v.as_object_mut() {
            if let Some(m) = &self.manager {
                o.insert("manager".into(), json!(m));
            }
            for (k, x) in &self.extra {
                o.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

/// One v2 user group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Member user ids, in the order added.
    pub members: Vec<String>,
}

impl Group {
    /// The v2 `UserGroup` object.
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "type": "user_group",
            "description": self.description,
            "email": "",
            "attributes": null,
            "membershipMethod": "STATIC",
            "memberQuery": null,
            "memberQueryExemptions": [],
            "memberSuggestionsNotify": false,
        })
    }
}

/// One Directory Insights event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `timestamp` in epoch milliseconds (the first `search_after` value).
    pub ts_ms: i64,
    /// The search index's document id (the second `search_after` value).
    pub doc_id: String,
    pub service: String,
    /// Epoch milliseconds from which the API returns it.
    pub visible_ms: i64,
    pub value: Value,
}

/// A user list mutation queued to run after the N-th `GET /api/systemusers`.
#[derive(Debug, Clone)]
pub enum Churn {
    /// Adds these users (newest ids, so last in `_id` order).
    Add(Vec<super::NewUser>),
    /// Removes these user ids.
    Remove(Vec<String>),
    /// Removes `count` users starting at position `at` of the `_id` order.
    RemoveAt { at: usize, count: usize },
}

/// Everything the simulated organization holds.
#[derive(Debug, Default)]
pub struct Store {
    pub rng: SimRng,
    /// Users in `_id` order (ids grow with creation).
    pub users: Vec<User>,
    pub index: HashMap<String, usize>,
    pub groups: Vec<Group>,
    /// Events in (`ts_ms`, `doc_id`) order.
    pub events: Vec<Event>,
    /// Counter part of generated ObjectIds.
    pub counter: u32,
    /// The per-process random part of generated ObjectIds (10 hex digits).
    pub machine: String,
    /// `POST …/resetmfa` successes per user id.
    pub mfa_resets: HashMap<String, u64>,
    /// `GET /api/systemusers` requests answered so far.
    pub list_requests: u64,
    /// Mutations to run after the N-th list request.
    pub churn: BTreeMap<u64, Vec<Churn>>,
}

impl Store {
    /// A new ObjectId for an object created at `t` (timestamp, the store's
    /// 5 random bytes, counter), so ids created later sort later.
    pub fn object_id(&mut self, t: DateTime<Utc>) -> String {
        if self.machine.len() != 10 {
            self.machine = self.rng.hex(10);
        }
        self.counter = self.counter.wrapping_add(1) & 0x00ff_ffff;
        let secs = u32::try_from(t.timestamp().max(0)).unwrap_or(u32::MAX);
        format!("{secs:08x}{}{:06x}", self.machine, self.counter)
    }

    pub fn user_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.user_index(id).and_then(|i| self.users.get(i))
    }

    pub fn user_mut(&mut self, id: &str) -> Option<&mut User> {
        match self.user_index(id) {
            Some(i) => self.users.get_mut(i),
            None => None,
        }
    }

    /// Inserts a user keeping `_id` order; returns its id.
    pub fn insert_user(&mut self, user: User) -> String {
        let id = user.id.clone();
        let pos = match self.users.last() {
            Some(last) if last.id > id => self.users.partition_point(|u| u.id < id),
            _ => self.users.len(),
        };
        if pos == self.users.len() {
            self.index.insert(id.clone(), pos);
            self.users.push(user);
        } else {
            self.users.insert(pos, user);
            self.reindex();
        }
        id
    }

    /// Removes a user (and its group memberships); false if unknown.
    pub fn remove_user(&mut self, id: &str) -> bool {
        let Some(i) = self.user_index(id) else {
            return false;
        };
        self.users.remove(i);
        self.reindex();
        for g in &mut self.groups {
            g.members.retain(|m| m != id);
        }
        true
    }

    pub fn reindex(&mut self) {
        self.index = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
    }

    pub fn group_index(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id == id)
    }

    pub fn sort_events(&mut self) {
        self.events
            .sort_by(|a, b| (a.ts_ms, &a.doc_id).cmp(&(b.ts_ms, &b.doc_id)));
    }
}
