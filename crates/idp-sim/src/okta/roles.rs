//! Admin role assignments to users, from Okta's management spec
//! (`RoleAssignmentAUser`): `GET /api/v1/iam/assignees/users` lists the users
//! holding at least one role (body-paged: `{"value":[…],"_links":{"next":…}}`,
//! `limit` default 100, `after` = the last user id of the page), and
//! `GET /api/v1/users/{userId}/roles` lists one user's `StandardRole`s.
//!
//! Only standard roles assigned directly to users (`assignmentType: USER`)
//! are modelled. Assigning or unassigning never touches the user's
//! `lastUpdated`, as in Okta.

use std::ops::Bound;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::clock::fmt_ts;
use super::errors::OktaError;
use super::http::{limit, url_with, Params};
use super::ratelimit::EndpointFamily;
use super::rng::{OktaIds, SimRng};
use super::routes::{base, page_size};
use super::state::Store;
use super::OktaSim;

/// Standard role types (`RoleType` minus `CUSTOM` and the IAM-based roles)
/// with their labels. Labels follow the spec's user-assignment examples where
/// it has one (SUPER_ADMIN … API_ACCESS_MANAGEMENT_ADMIN); the others are
/// the simulator's, in the same style. Okta's own examples vary in case, so
/// clients should key on `type`.
pub const STANDARD_ROLES: [(&str, &str); 9] = [
    ("SUPER_ADMIN", "Super Organization administrator"),
    ("ORG_ADMIN", "Organization administrator"),
    ("APP_ADMIN", "Application administrator"),
    ("HELP_DESK_ADMIN", "Help Desk administrator"),
    (
        "API_ACCESS_MANAGEMENT_ADMIN",
        "API Access Management administrator",
    ),
    ("USER_ADMIN", "User administrator"),
    ("READ_ONLY_ADMIN", "Read-only administrator"),
    ("GROUP_MEMBERSHIP_ADMIN", "Group Membership administrator"),
    ("REPORT_ADMIN", "Report administrator"),
];

/// How often each standard role is drawn for seeded users (same order as
/// [`STANDARD_ROLES`]).
const SEED_WEIGHTS: [u32; 9] = [2, 6, 8, 8, 3, 6, 6, 4, 3];

/// `limit` of the assignees list when absent (spec default). The spec gives
/// no maximum, so any positive 32-bit value is accepted.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = i32::MAX as usize;

/// One standard role held by a user.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    pub role_type: &'static str,
    pub label: &'static str,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
}

impl RoleAssignment {
    /// A new assignment of `role_type`; `None` unless it is a standard role.
    pub fn new(role_type: &str, id: String, at: DateTime<Utc>) -> Option<Self> {
        let (role_type, label) = STANDARD_ROLES.into_iter().find(|(t, _)| *t == role_type)?;
        Some(Self {
            id,
            role_type,
            label,
            created: at,
            last_updated: at,
        })
    }
}

/// Gives the token's admin SUPER_ADMIN and about 1 in 50 other users a role
/// or two, from an RNG derived from the seed so that nothing else generated
/// changes. Also names the org (`00o…`, used in ORNs).
pub fn seed(store: &mut Store, seed: u64, anchor: DateTime<Utc>) {
    let mut rng = SimRng::new(seed ^ 0x5EED_0AD3_1E50);
    store.org_id = rng.okta_id("00o");
    let users: Vec<(String, DateTime<Utc>)> = store
        .users
        .values()
        .map(|u| (u.id.clone(), u.created))
        .collect();
    for (id, created) in users {
        let mut types = Vec::new();
        if id == store.admin_id {
            types.push("SUPER_ADMIN");
        } else if rng.below(50) == 0 {
            types.push(STANDARD_ROLES[rng.weighted(&SEED_WEIGHTS)].0);
            let second = STANDARD_ROLES[rng.weighted(&SEED_WEIGHTS)].0;
            if rng.chance(0.25) && !types.contains(&second) {
                types.push(second);
            }
        }
        for t in types {
            let at = (anchor - Duration::days(rng.range(1, 400))).max(created);
            if let Some(a) = RoleAssignment::new(t, rng.okta_id("ra1"), at) {
                store.roles.entry(id.clone()).or_default().push(a);
            }
        }
    }
}

/// One `RoleAssignedUser` of the assignees list.
fn assignee(user_id: &str, org_id: &str, base: &str) -> Value {
    let href = format!("{base}/api/v1/users/{user_id}");
    json!({
        "id": user_id,
        "orn": format!("orn:okta:{org_id}:users:{user_id}"),
        "_links": {
            "self": { "href": href },
            "roles": { "href": format!("{href}/roles") },
        },
    })
}

/// One `StandardRole` assigned to a user.
fn role(a: &RoleAssignment, user_id: &str, base: &str) -> Value {
    json!({
        "id": a.id,
        "label": a.label,
        "type": a.role_type,
        "status": "ACTIVE",
        "created": fmt_ts(a.created),
        "lastUpdated": fmt_ts(a.last_updated),
        "assignmentType": "USER",
        "_links": {
            "assignee": { "href": format!("{base}/api/v1/users/{user_id}") },
        },
    })
}

/// `GET /api/v1/iam/assignees/users`.
pub async fn list_assignees(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    let p = Params::parse(raw.as_deref());
    let lim = limit(&p, DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let lower = p
        .get("after")
        .map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_string()));
    let base = base(&sim, &headers);
    let store = sim.store();
    let mut holders = store
        .roles
        .range::<String, _>((lower, Bound::Unbounded))
        .filter(|(_, held)| !held.is_empty())
        .map(|(id, _)| id);
    let per_page = page_size(&sim, EndpointFamily::Other, lim);
    let page: Vec<&String> = holders.by_ref().take(per_page).collect();
    let more = holders.next().is_some();
    let value: Vec<Value> = page
        .iter()
        .map(|id| assignee(id, &store.org_id, &base))
        .collect();
    let mut links = Map::new();
    if let (true, Some(last)) = (more, page.last()) {
        let next = url_with(
            &base,
            "/api/v1/iam/assignees/users",
            &[
                ("after", Some(last.to_string())),
                ("limit", Some(lim.to_string())),
            ],
        );
        links.insert("next".into(), json!({ "href": next }));
    }
    Ok(Json(json!({ "value": value, "_links": links })).into_response())
}

/// `GET /api/v1/users/{userId}/roles` (`expand` is accepted and ignored:
/// no targets are modelled).
pub async fn user_roles(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let base = base(&sim, &headers);
    let store = sim.store();
    let u = store
        .find_user(&id)
        .ok_or_else(|| OktaError::not_found(&id, "User"))?;
    let items: Vec<Value> = store
        .roles
        .get(&u.id)
        .into_iter()
        .flatten()
        .map(|a| role(a, &u.id, &base))
        .collect();
    Ok(Json(Value::Array(items)).into_response())
}

impl OktaSim {
    /// Assigns a standard role (`"HELP_DESK_ADMIN"`…) to a user (id or
    /// login) without touching its `lastUpdated`; false if the user is
    /// unknown or the type is not a standard role. A role already held stays as it is.
    pub fn assign_role(&self, user_id: &str, role_type: &str) -> bool {
        if !STANDARD_ROLES.iter().any(|(t, _)| *t == role_type) {
            return false;
        }
        let now = self.clock().now();
        let mut store = self.store();
        let Some(uid) = store.user_id(user_id) else {
            return false;
        };
        let held = store.roles.get(&uid).into_iter().flatten();
        if held.map(|h| h.role_type).any(|t| t == role_type) {
            return true;
        }
        let id = store.rng.okta_id("ra1");
        let Some(a) = RoleAssignment::new(role_type, id, now) else {
            return false;
        };
        store.roles.entry(uid).or_default().push(a);
        true
    }

    /// Removes every role of a user (id or login); unknown users are ignored.
    pub fn unassign_roles(&self, user_id: &str) {
        let mut store = self.store();
        if let Some(uid) = store.user_id(user_id) {
            store.roles.remove(&uid);
        }
    }

    /// Ids of the users holding at least one role, sorted.
    pub fn users_with_roles(&self) -> Vec<String> {
        self.store()
            .roles
            .iter()
            .filter(|(_, held)| !held.is_empty())
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_roles() {
        let t = DateTime::UNIX_EPOCH;
        assert!(RoleAssignment::new("SUPER_ADMIN", "ra1x".into(), t).is_some());
        assert!(RoleAssignment::new("CUSTOM", "ra1x".into(), t).is_none());
        assert!(RoleAssignment::new("super_admin", "ra1x".into(), t).is_none());
    }

    #[test]
    fn assignee_matches_the_spec_example() {
        let v = assignee("00u1", "00o1", "http://h");
        assert_eq!(v["orn"], "orn:okta:00o1:users:00u1");
        assert_eq!(v["_links"]["self"]["href"], "http://h/api/v1/users/00u1");
        assert_eq!(
            v["_links"]["roles"]["href"],
            "http://h/api/v1/users/00u1/roles"
        );
    }
}
