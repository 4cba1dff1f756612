//! Loading an org from Okta-shaped JSON instead of the generator: a test
//! that keeps fixtures copied from Okta's documentation (`User`, `UserFactor`,
//! `Group` objects) empties the directory and imports them, ids and
//! timestamps as written, so the simulator serves exactly those objects with
//! all of its own behaviour (paging, filters, lifecycle rules, faults).

use serde_json::{Map, Value};

use super::clock::parse_ts;
use super::state::{Factor, Group, User, UserStatus};
use super::OktaSim;

/// Why an object could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot import: {0}")]
pub struct ImportError(pub String);

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, ImportError> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError(format!("`{field}` is missing or not a string")))
}

fn time(v: &Value, field: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, ImportError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_ts(s)
            .map(Some)
            .ok_or_else(|| ImportError(format!("`{field}` is not a timestamp: {s}"))),
        Some(_) => Err(ImportError(format!("`{field}` is not a timestamp"))),
    }
}

fn required_time(v: &Value, field: &str) -> Result<chrono::DateTime<chrono::Utc>, ImportError> {
    time(v, field)?.ok_or_else(|| ImportError(format!("`{field}` is missing")))
}

/// A `User` object as Okta sends it.
fn user(v: &Value) -> Result<User, ImportError> {
    let status = UserStatus::parse(text(v, "status")?)
        .ok_or_else(|| ImportError("`status` is not an Okta user status".into()))?;
    let transitioning_to = match v.get("transitioningToStatus").and_then(Value::as_str) {
        Some(s) => Some(
            UserStatus::parse(s)
                .ok_or_else(|| ImportError("`transitioningToStatus` is unknown".into()))?,
        ),
        None => None,
    };
    let profile: Map<String, Value> = v
        .get("profile")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| ImportError("`profile` is missing".into()))?;
    if !profile.get("login").is_some_and(Value::is_string) {
        return Err(ImportError("`profile.login` is missing".into()));
    }
    let credentials = v.get("credentials");
    let provider = credentials.and_then(|c| c.get("provider"));
    let field = |p: Option<&Value>, k: &str| {
        p.and_then(|p| p.get(k))
            .and_then(Value::as_str)
            .unwrap_or("OKTA")
            .to_string()
    };
    Ok(User {
        id: text(v, "id")?.to_string(),
        status,
        transitioning_to,
        created: required_time(v, "created")?,
        activated: time(v, "activated")?,
        status_changed: time(v, "statusChanged")?,
        last_login: time(v, "lastLogin")?,
        last_updated: required_time(v, "lastUpdated")?,
        password_changed: time(v, "passwordChanged")?,
        type_id: v
            .get("type")
            .and_then(|t| t.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("oty1gatehouseSIM1d7")
            .to_string(),
        profile,
        provider: (field(provider, "type"), field(provider, "name")),
        has_password: credentials.is_some_and(|c| c.get("password").is_some()),
        recovery_question: credentials
            .and_then(|c| c.get("recovery_question"))
            .and_then(|q| q.get("question"))
            .and_then(Value::as_str)
            .map(String::from),
        factors: Vec::new(),
    })
}

/// A `UserFactor` object.
fn factor(v: &Value) -> Result<Factor, ImportError> {
    Ok(Factor {
        id: text(v, "id")?.to_string(),
        factor_type: text(v, "factorType")?.to_string(),
        provider: text(v, "provider")?.to_string(),
        vendor_name: v
            .get("vendorName")
            .and_then(Value::as_str)
            .unwrap_or_else(|| v.get("provider").and_then(Value::as_str).unwrap_or("OKTA"))
            .to_string(),
        status: text(v, "status")?.to_string(),
        created: required_time(v, "created")?,
        last_updated: required_time(v, "lastUpdated")?,
        profile: v.get("profile").cloned().unwrap_or(Value::Null),
    })
}

/// A `Group` object (an `APP_GROUP`'s source app from `_links.source`).
fn group(v: &Value) -> Result<Group, ImportError> {
    let created = required_time(v, "created")?;
    let last_updated = required_time(v, "lastUpdated")?;
    let profile = v.get("profile");
    let name = profile
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError("`profile.name` is missing".into()))?;
    let source = v
        .pointer("/_links/source/href")
        .and_then(Value::as_str)
        .and_then(|h| h.rsplit('/').next())
        .map(String::from);
    Ok(Group {
        id: text(v, "id")?.to_string(),
        group_type: text(v, "type")?.to_string(),
        created,
        last_updated,
        last_membership_updated: time(v, "lastMembershipUpdated")?.unwrap_or(last_updated),
        name: name.to_string(),
        description: profile
            .and_then(|p| p.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        source,
        members: Default::default(),
    })
}

impl OktaSim {
    /// Empties the directory (users, groups, memberships, role assignments)
    /// and the System Log, keeping the configuration, clock and faults.
    pub fn clear_directory(&self) {
        let mut store = self.store();
        store.users.clear();
        store.logins.clear();
        store.groups.clear();
        store.user_groups.clear();
        store.roles.clear();
        store.events.clear();
        store.admin_id.clear();
    }

    /// Adds (or replaces) a user from an Okta `User` object; returns its id.
    pub fn import_user(&self, json: &Value) -> Result<String, ImportError> {
        let u = user(json)?;
        let id = u.id.clone();
        let mut store = self.store();
        let factors = store
            .users
            .get(&id)
            .map(|old| old.factors.clone())
            .unwrap_or_default();
        store.put_user(User { factors, ..u });
        Ok(id)
    }

    /// Sets a user's factors from an array of Okta `UserFactor` objects.
    pub fn import_factors(&self, user_id: &str, json: &Value) -> Result<(), ImportError> {
        let items = json
            .as_array()
            .ok_or_else(|| ImportError("factors must be an array".into()))?;
        let factors = items.iter().map(factor).collect::<Result<Vec<_>, _>>()?;
        let mut store = self.store();
        let id = store
            .user_id(user_id)
            .ok_or_else(|| ImportError(format!("no user {user_id}")))?;
        if let Some(u) = store.users.get_mut(&id) {
            u.factors = factors;
        }
        Ok(())
    }

    /// Adds (or replaces) a group from an Okta `Group` object, keeping its
    /// members if it existed; returns its id.
    pub fn import_group(&self, json: &Value) -> Result<String, ImportError> {
        let g = group(json)?;
        let id = g.id.clone();
        let mut store = self.store();
        let members = store
            .groups
            .get(&id)
            .map(|old| old.members.clone())
            .unwrap_or_default();
        store.groups.insert(id.clone(), Group { members, ..g });
        Ok(id)
    }

    /// Puts a user in a group (without touching `lastMembershipUpdated`, as
    /// data that was already there); false if either is unknown.
    pub fn import_membership(&self, group_id: &str, user_id: &str) -> bool {
        let mut store = self.store();
        let Some(uid) = store.user_id(user_id) else {
            return false;
        };
        let Some(g) = store.groups.get_mut(group_id) else {
            return false;
        };
        g.members.insert(uid.clone());
        store
            .user_groups
            .entry(uid)
            .or_default()
            .insert(group_id.to_string());
        true
    }

    /// Makes `user_id` the admin who owns the API token (`/api/v1/users/me`);
    /// false if unknown.
    pub fn set_token_owner(&self, user_id: &str) -> bool {
        let mut store = self.store();
        match store.user_id(user_id) {
            Some(id) => {
                store.admin_id = id;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_documented_user() {
        let u = user(&json!({
            "id": "00u1", "status": "LOCKED_OUT", "created": "2013-07-02T21:36:25.344Z",
            "activated": null, "lastUpdated": "2013-07-02T21:36:25.344Z",
            "profile": {"login": "a@example.com"},
            "credentials": {"password": {}, "provider": {"type": "ACTIVE_DIRECTORY", "name": "corp"}}
        }))
        .unwrap();
        assert_eq!(u.status, UserStatus::LockedOut);
        assert_eq!(u.provider, ("ACTIVE_DIRECTORY".into(), "corp".into()));
        assert!(u.has_password && u.activated.is_none());
        assert!(user(&json!({"id": "00u1", "status": "GONE"})).is_err());
    }
}
