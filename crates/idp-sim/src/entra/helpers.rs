//! The library API tests drive the tenant with: add, change and delete
//! users, manage groups, add sign-ins (subject to the arrival lag), expire
//! delta tokens, and inspect what clients did (revocations, compromised
//! users, subscriptions, notification deliveries).

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::{Map, Value};

use super::generate::{make_user, outcome, pick_outcome, signin_body};
use super::model::{Delivery, Group, SignIn, USER_PROPERTIES};
use super::{subscriptions, EntraSim};

/// A user to add with [`EntraSim::add_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    pub given_name: String,
    pub surname: String,
    /// Defaults to `given.surname@{domain}`.
    pub user_principal_name: Option<String>,
    pub account_enabled: bool,
    pub department: Option<String>,
    pub job_title: Option<String>,
    /// Id of the manager.
    pub manager: Option<String>,
}

impl Default for NewUser {
    fn default() -> Self {
        Self {
            given_name: "Test".into(),
            surname: "User".into(),
            user_principal_name: None,
            account_enabled: true,
            department: None,
            job_title: None,
            manager: None,
        }
    }
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

impl EntraSim {
    /// Adds a user (a `created` change); returns its id.
    pub fn add_user(&self, new: NewUser) -> String {
        let now = self.clock().now();
        let domain = self.config().domain.clone();
        let mut store = self.store();
        let upn = new.user_principal_name.clone().unwrap_or_else(|| {
            format!(
                "{}.{}{}@{domain}",
                new.given_name.to_lowercase(),
                new.surname.to_lowercase(),
                store.users.len()
            )
        });
        let mut rng = std::mem::take(&mut store.rng);
        let mut user = make_user(
            &mut rng,
            &new.given_name,
            &new.surname,
            upn,
            new.account_enabled,
            now,
            now,
        );
        store.rng = rng;
        if new.department.is_some() {
            user.department = new.department;
        }
        if new.job_title.is_some() {
            user.job_title = new.job_title;
        }
        user.manager = new.manager.as_deref().and_then(|m| store.user_idx(m));
        let id = user.id.clone();
        let idx = store.users.len();
        store.user_index.insert(id.clone(), idx);
        store.users.push(user);
        store.touch(idx, "created", now);
        store.users[idx].created_seq = store.seq;
        id
    }

    /// Applies a JSON patch of user properties (an `updated` change);
    /// `false` when the user is unknown or a property cannot be written.
    pub fn update_user(&self, id: &str, patch: Value) -> bool {
        let now = self.clock().now();
        let mut store = self.store();
        let Some(idx) = store.live_user(id) else {
            return false;
        };
        let Some(obj) = patch.as_object() else {
            return false;
        };
        let mut user = store.users[idx].clone();
        for (k, v) in obj {
            if !user.set(k, v) {
                return false;
            }
        }
        store.users[idx] = user;
        store.touch_props(idx, obj.keys(), now);
        true
    }

    /// Soft-deletes a user (restorable: delta shows `@removed` reason
    /// `changed`; a `deleted` change notification). Removes its memberships.
    pub fn delete_user(&self, id: &str) -> bool {
        let now = self.clock().now();
        let mut store = self.store();
        let Some(idx) = store.live_user(id) else {
            return false;
        };
        store.users[idx].deleted = Some(now);
        for g in &mut store.groups {
            if g.member_set.remove(&idx) {
                g.members.retain(|m| *m != idx);
            }
        }
        store.touch(idx, "deleted", now);
        true
    }

    /// Permanently deletes a user (soft-deleted or not): `@removed` reason `deleted`.
    pub fn purge_user(&self, id: &str) -> bool {
        let now = self.clock().now();
        let mut store = self.store();
        let Some(idx) = store.user_idx(id).filter(|i| !store.users[*i].purged) else {
            return false;
        };
        let was_live = store.users[idx].deleted.is_none();
        store.users[idx].purged = true;
        store.users[idx].deleted.get_or_insert(now);
        for g in &mut store.groups {
            if g.member_set.remove(&idx) {
                g.members.retain(|m| *m != idx);
            }
        }
        let _ = was_live;
        store.touch(idx, "deleted", now);
        true
    }

    /// A live user with every property the sim models.
    pub fn user(&self, id: &str) -> Option<Value> {
        let domain = self.config().domain.clone();
        let store = self.store();
        let idx = store.live_user(id)?;
        let all: Vec<String> = USER_PROPERTIES
            .iter()
            .filter(|p| **p != "manager")
            .map(|p| p.to_string())
            .collect();
        let mut obj: Map<String, Value> = store.users[idx].render(Some(&all), &domain);
        let manager = store.users[idx]
            .manager
            .and_then(|m| store.users.get(m))
            .map(|m| Value::String(m.id.clone()));
        obj.insert("managerId".into(), manager.unwrap_or(Value::Null));
        Some(Value::Object(obj))
    }

    /// Ids of the live (not deleted) users.
    pub fn user_ids(&self) -> BTreeSet<String> {
        self.store()
            .users
            .iter()
            .filter(|u| u.visible())
            .map(|u| u.id.clone())
            .collect()
    }

    /// Creates a security group; returns its id.
    pub fn create_group(&self, name: &str) -> String {
        let now = self.clock().now();
        let mut store = self.store();
        let id = store.rng.uuid();
        let idx = store.groups.len();
        store.group_index.insert(id.clone(), idx);
        store.groups.push(Group {
            id: id.clone(),
            display_name: name.to_string(),
            description: format!("{name} members"),
            created: now,
            members: Vec::new(),
            member_set: Default::default(),
        });
        id
    }

    /// Ids of every group.
    pub fn group_ids(&self) -> Vec<String> {
        self.store().groups.iter().map(|g| g.id.clone()).collect()
    }

    /// Adds a user to a group; `false` when either is unknown or already a member.
    pub fn add_to_group(&self, group_id: &str, user_id: &str) -> bool {
        let mut store = self.store();
        let (Some(g), Some(u)) = (
            store.group_index.get(group_id).copied(),
            store.live_user(user_id),
        ) else {
            return false;
        };
        let group = &mut store.groups[g];
        if group.member_set.insert(u) {
            group.members.push(u);
            true
        } else {
            false
        }
    }

    /// Ids of a group's live members, in membership order.
    pub fn group_members(&self, group_id: &str) -> Vec<String> {
        let store = self.store();
        let Some(g) = store.group_index.get(group_id).copied() else {
            return Vec::new();
        };
        store.groups[g]
            .members
            .iter()
            .filter_map(|i| store.users.get(*i))
            .filter(|u| u.visible())
            .map(|u| u.id.clone())
            .collect()
    }

    /// When an event added now becomes visible (its arrival, after the lag).
    fn visible_at(&self, created_ms: i64) -> i64 {
        let lag = self.config().signin_lag.as_millis() as i64;
        created_ms.max(self.clock().now_ms()) + lag
    }

    /// Adds `count` sign-ins of random users, created `age` ago; they show in
    /// the API only after [`super::EntraConfig::signin_lag`]. Returns their ids.
    pub fn add_signins(&self, count: usize, age: Duration) -> Vec<String> {
        let created = self.clock().now() - age;
        let visible_ms = self.visible_at(created.timestamp_millis());
        let mut store = self.store();
        let mut ids = Vec::new();
        if store.users.is_empty() {
            return ids;
        }
        let mut rng = std::mem::take(&mut store.rng);
        for _ in 0..count {
            let idx = rng.below(store.users.len() as u64) as usize;
            let code = pick_outcome(&mut rng, store.users[idx].account_enabled);
            let body = signin_body(&store.users[idx], created, outcome(code), &mut rng);
            let id = body["id"].as_str().unwrap_or_default().to_string();
            ids.push(id.clone());
            store.insert_signin(SignIn {
                created_ms: created.timestamp_millis(),
                visible_ms,
                id,
                body,
            });
        }
        store.rng = rng;
        ids
    }

    /// Adds one sign-in: `event` is merged onto a generated success of the
    /// user named by its `userId` (else a random user); `createdDateTime`
    /// defaults to now. Subject to the arrival lag. Returns its id.
    pub fn add_signin(&self, event: Value) -> String {
        let now = self.clock().now();
        let created = event
            .get("createdDateTime")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or(now);
        let visible_ms = self.visible_at(created.timestamp_millis());
        let mut store = self.store();
        let mut rng = std::mem::take(&mut store.rng);
        let idx = event
            .get("userId")
            .and_then(Value::as_str)
            .and_then(|u| store.user_idx(u))
            .unwrap_or_else(|| rng.below(store.users.len().max(1) as u64) as usize);
        let code = event
            .pointer("/status/errorCode")
            .and_then(Value::as_u64)
            .map_or(0, |c| c as u32);
        let mut body = match store.users.get(idx) {
            Some(u) => signin_body(u, created, outcome(code), &mut rng),
            None => Value::Object(Map::new()),
        };
        store.rng = rng;
        merge(&mut body, &event);
        body["createdDateTime"] = Value::String(super::model::fmt_ts_frac(created));
        let id = body["id"].as_str().unwrap_or_default().to_string();
        store.insert_signin(SignIn {
            created_ms: created.timestamp_millis(),
            visible_ms,
            id: id.clone(),
            body,
        });
        id
    }

    /// Every sign-in, newest first, visible yet or not.
    pub fn signins(&self) -> Vec<Value> {
        self.store()
            .signins
            .iter()
            .map(|s| s.body.clone())
            .collect()
    }

    /// Expires every delta token issued so far: using one answers 400
    /// `syncStateNotFound` ("The sync state generation is not found…"), as an
    /// over-age token does.
    pub fn expire_delta_tokens(&self) {
        let now = self.clock().now_ms();
        self.store().delta_expired_before_ms = now + 1;
    }

    /// A synchronization reset: earlier delta/skip tokens answer `410 Gone`
    /// with a `Location` to restart from (error code `resyncRequired`).
    pub fn reset_sync_state(&self) {
        self.store().delta_generation += 1;
    }

    /// How many times `revokeSignInSessions` was called for a user.
    pub fn revoked_sessions(&self, id: &str) -> u32 {
        self.store().revoked.get(id).copied().unwrap_or(0)
    }

    /// User ids confirmed compromised, in call order.
    pub fn confirmed_compromised(&self) -> Vec<String> {
        self.store().compromised.clone()
    }

    /// Every subscription created and not deleted (expired ones included).
    pub fn subscriptions(&self) -> Vec<Value> {
        self.store()
            .subscriptions
            .iter()
            .map(|s| {
                let mut v = s.render("");
                if let Some(o) = v.as_object_mut() {
                    o.remove("@odata.context");
                }
                v
            })
            .collect()
    }

    /// Delivers every pending change notification now; the status of each POST (0 = unreachable).
    pub async fn deliver_notifications(&self) -> Vec<u16> {
        subscriptions::deliver(self).await
    }

    /// Notifications waiting for delivery.
    pub fn pending_notifications(&self) -> usize {
        self.store().pending.len()
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.store().deliveries.clone()
    }
}
