//! Library-side helpers for tests: read and change the org directly (add or
//! modify users, which bumps `lastUpdated`), append System Log events, build
//! a realistic event for a user, and inspect what the API did.

use serde_json::{json, Value};

use super::events::{session_id, Auth, Origin, Parts, Who};
use super::render::{self, Omit};
use super::rng::OktaIds;
use super::state::{User, UserStatus};
use super::OktaSim;

/// A user to add with [`OktaSim::add_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub status: UserStatus,
    pub department: Option<String>,
    /// Extra profile attributes (custom attributes welcome).
    pub profile: serde_json::Map<String, Value>,
}

impl Default for NewUser {
    fn default() -> Self {
        Self {
            login: "new.user@example.com".into(),
            first_name: "New".into(),
            last_name: "User".into(),
            status: UserStatus::Active,
            department: None,
            profile: serde_json::Map::new(),
        }
    }
}

impl OktaSim {
    /// The id of the admin who owns the API token.
    pub fn admin_id(&self) -> String {
        self.store().admin_id.clone()
    }

    /// A user's status by id or login.
    pub fn user_status(&self, id: &str) -> Option<String> {
        self.store()
            .find_user(id)
            .map(|u| u.status.as_str().to_string())
    }

    /// A user as the single-user GET would return it.
    pub fn user_json(&self, id: &str) -> Option<Value> {
        let base = self.config().org_url.clone();
        self.store()
            .find_user(id)
            .map(|u| render::user(u, &base, true, Omit::default()))
    }

    /// Ids of users in `status`, in listing order.
    pub fn users_with_status(&self, status: UserStatus) -> Vec<String> {
        self.store()
            .users
            .values()
            .filter(|u| u.status == status)
            .map(|u| u.id.clone())
            .collect()
    }

    /// Number of users, DEPROVISIONED included.
    pub fn user_count(&self) -> usize {
        self.store().users.len()
    }

    /// Ids of the groups `user_id` belongs to.
    pub fn groups_of(&self, user_id: &str) -> Vec<String> {
        self.store()
            .user_groups
            .get(user_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds a user (and puts it in Everyone); returns its id.
    pub fn add_user(&self, new: NewUser) -> String {
        let now = self.clock().now();
        let mut store = self.store();
        let id = store.rng.okta_id("00u");
        let type_id = store
            .users
            .values()
            .next()
            .map(|u| u.type_id.clone())
            .unwrap_or_else(|| "oty1gatehouseSIM1d7".into());
        let mut profile = new.profile;
        profile.insert("login".into(), json!(new.login));
        profile.entry("email").or_insert_with(|| json!(new.login));
        profile.insert("firstName".into(), json!(new.first_name));
        profile.insert("lastName".into(), json!(new.last_name));
        profile
            .entry("displayName")
            .or_insert_with(|| json!(format!("{} {}", new.first_name, new.last_name)));
        if let Some(d) = new.department {
            profile.insert("department".into(), json!(d));
        }
        let activated = (!new.status.never_activated()).then_some(now);
        let user = User {
            id: id.clone(),
            status: new.status,
            transitioning_to: None,
            created: now,
            activated,
            status_changed: activated,
            last_login: None,
            last_updated: now,
            password_changed: activated,
            type_id,
            profile,
            provider: ("OKTA".into(), "OKTA".into()),
            has_password: activated.is_some(),
            recovery_question: None,
            factors: Vec::new(),
        };
        store.put_user(user);
        let everyone = store
            .groups
            .values()
            .find(|g| g.group_type == "BUILT_IN")
            .map(|g| g.id.clone());
        if let Some(g) = everyone {
            store.add_member(&g, &id, now);
        }
        id
    }

    /// Changes a user in place and bumps `lastUpdated`; false if unknown.
    pub fn modify_user(
        &self,
        id: &str,
        change: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> bool {
        let now = self.clock().now();
        let mut store = self.store();
        let Some(mut user) = store.find_user(id).cloned() else {
            return false;
        };
        change(&mut user.profile);
        user.last_updated = now;
        store.put_user(user);
        true
    }

    /// Sets a user's status directly (no lifecycle rules), bumping
    /// `statusChanged` and `lastUpdated`; false if unknown.
    pub fn set_user_status(&self, id: &str, status: UserStatus) -> bool {
        let now = self.clock().now();
        let mut store = self.store();
        let Some(mut user) = store.find_user(id).cloned() else {
            return false;
        };
        user.status = status;
        user.status_changed = Some(now);
        user.last_updated = now;
        store.put_user(user);
        true
    }

    /// Appends events to the System Log as if just persisted; missing `uuid`
    /// and `published` are filled in. Returns the uuids.
    pub fn append_events(&self, events: impl IntoIterator<Item = Value>) -> Vec<String> {
        let now = self.clock().now_ms();
        let mut store = self.store();
        events
            .into_iter()
            .map(|e| store.push_event(e, now))
            .collect()
    }

    /// A realistic event for an existing user at the current simulated time
    /// (not yet appended), e.g. `("user.session.start", "FAILURE", Some("INVALID_CREDENTIALS"))`.
    pub fn make_event(
        &self,
        user_id: &str,
        event_type: &str,
        result: &str,
        reason: Option<&str>,
    ) -> Option<Value> {
        let now = self.clock().now();
        let org = self.config().org_url.clone();
        let mut store = self.store();
        let user = store.find_user(user_id)?.clone();
        let rng = &mut store.rng;
        let origin = Origin::home_of(rng, &user);
        let mut p = Parts::new(
            rng,
            now,
            "user.session.start",
            "User login to Okta",
            Who::user(&user),
            origin,
            &org,
        );
        p.auth = Auth {
            credential_type: Some("PASSWORD"),
            ..Auth::default()
        };
        if result == "SUCCESS" {
            p.session = Some(session_id(rng));
        } else {
            p.severity = "WARN";
        }
        let mut v = p.build(rng);
        v["eventType"] = json!(event_type);
        v["outcome"] = json!({ "result": result, "reason": reason });
        if event_type != "user.session.start" {
            v["displayMessage"] = json!(event_type);
            v["legacyEventType"] = Value::Null;
        }
        Some(v)
    }

    /// Number of events in the System Log.
    pub fn event_count(&self) -> usize {
        self.store().events.len()
    }

    /// The System Log events, in persistence order.
    pub fn events(&self) -> Vec<Value> {
        self.store().events.iter().map(|e| e.value()).collect()
    }
}
