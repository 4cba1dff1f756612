//! SCIM resources to the records Gatehouse keeps for every provider ([`ProviderUser`],
//! [`ProviderGroup`]). The SCIM `id` (which Gatehouse assigned) is the external id, because
//! group members and managers refer to users by it; the client's `externalId` stays in `raw`.

use chrono::{DateTime, Utc};
use gatehouse_core::model::UserStatus;
use gatehouse_core::records::{ProviderGroup, ProviderUser};
use serde_json::Value;

use crate::json::{as_bool, field};
use crate::schema::ENTERPRISE_USER_SCHEMA;

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// `active: false` is Suspended; anything else Active. Deprovisioned is the caller's to decide
/// (on DELETE), as SCIM has no such state.
pub fn user_status(resource: &Value) -> UserStatus {
    match field(resource, "active").and_then(as_bool) {
        Some(false) => UserStatus::Suspended,
        _ => UserStatus::Active,
    }
}

/// E-mail addresses, the primary first, then the others in order, without duplicates.
pub fn user_emails(resource: &Value) -> Vec<String> {
    let items = field(resource, "emails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_primary = |e: &Value| field(e, "primary").and_then(as_bool) == Some(true);
    let ordered = items
        .iter()
        .filter(|e| is_primary(e))
        .chain(items.iter().filter(|e| !is_primary(e)));
    let mut out: Vec<String> = Vec::new();
    for e in ordered {
        if let Some(v) = text(field(e, "value")) {
            if !out.iter().any(|x| x.eq_ignore_ascii_case(&v)) {
                out.push(v);
            }
        }
    }
    out
}

/// A SCIM User as a provider account.
pub fn user_to_provider(resource: &Value) -> ProviderUser {
    let name = field(resource, "name");
    let given_name = text(name.and_then(|n| field(n, "givenName")));
    let family_name = text(name.and_then(|n| field(n, "familyName")));
    let display_name = text(field(resource, "displayName"))
        .or_else(|| text(name.and_then(|n| field(n, "formatted"))))
        .or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
    let enterprise = field(resource, ENTERPRISE_USER_SCHEMA);
    let emails = user_emails(resource);
    let meta = field(resource, "meta");
    let groups = field(resource, "groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(|x| text(field(x, "value")))
                .collect::<Vec<_>>()
        });
    ProviderUser {
        external_id: text(field(resource, "id")).unwrap_or_default(),
        login: text(field(resource, "userName")).unwrap_or_default(),
        email: emails.first().cloned(),
        emails,
        display_name,
        given_name,
        family_name,
        status: user_status(resource),
        status_flags: Vec::new(),
        department: text(enterprise.and_then(|e| field(e, "department"))),
        title: text(field(resource, "title")),
        manager: text(
            enterprise
                .and_then(|e| field(e, "manager"))
                .and_then(|m| field(m, "value")),
        ),
        groups,
        mfa_enrolled: None,
        mfa_factors: Vec::new(),
        is_admin: None,
        created_at: time(meta.and_then(|m| field(m, "created"))),
        last_login_at: None,
        updated_at: time(meta.and_then(|m| field(m, "lastModified"))),
        raw: Some(gatehouse_core::model::RawRecord::from_value(resource)),
    }
}

/// A SCIM Group as a provider group, members by their SCIM ids.
pub fn group_to_provider(resource: &Value) -> ProviderGroup {
    let members = field(resource, "members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|x| text(field(x, "value")))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    ProviderGroup {
        external_id: text(field(resource, "id")).unwrap_or_default(),
        name: text(field(resource, "displayName")).unwrap_or_default(),
        description: None,
        members,
        updated_at: time(field(resource, "meta").and_then(|m| field(m, "lastModified"))),
        raw: Some(gatehouse_core::model::RawRecord::from_value(resource)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_a_full_user() {
        let u = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
            "id": "u1", "userName": "bjensen@example.com", "active": false, "title": "Tour Guide",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "babs@home.example", "type": "home"},
                       {"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "BJENSEN@example.com"}],
            "groups": [{"value": "g1"}],
            ENTERPRISE_USER_SCHEMA: {"department": "Tours", "manager": {"value": "m1"}},
            "meta": {"created": "2024-01-02T03:04:05Z", "lastModified": "2024-02-02T03:04:05Z"}
        });
        let p = user_to_provider(&u);
        assert_eq!(p.external_id, "u1");
        assert_eq!(p.login, "bjensen@example.com");
        assert_eq!(p.status, UserStatus::Suspended);
        assert_eq!(p.emails, vec!["bjensen@example.com", "babs@home.example"]);
        assert_eq!(p.email.as_deref(), Some("bjensen@example.com"));
        assert_eq!(p.display_name.as_deref(), Some("Barbara Jensen"));
        assert_eq!(p.department.as_deref(), Some("Tours"));
        assert_eq!(p.manager.as_deref(), Some("m1"));
        assert_eq!(p.title.as_deref(), Some("Tour Guide"));
        assert_eq!(p.groups, Some(vec!["g1".to_owned()]));
        assert_eq!(
            p.updated_at.unwrap().to_rfc3339(),
            "2024-02-02T03:04:05+00:00"
        );
    }

    #[test]
    fn active_missing_or_true_is_active() {
        assert_eq!(user_status(&json!({})), UserStatus::Active);
        assert_eq!(user_status(&json!({"active": true})), UserStatus::Active);
        assert_eq!(
            user_status(&json!({"active": "False"})),
            UserStatus::Suspended
        );
        assert_eq!(user_to_provider(&json!({"userName": "a"})).groups, None);
    }

    #[test]
    fn maps_a_group() {
        let g = json!({"id": "g1", "displayName": "Admins",
                       "members": [{"value": "u1"}, {"value": "u2", "display": "x"}]});
        let p = group_to_provider(&g);
        assert_eq!((p.external_id.as_str(), p.name.as_str()), ("g1", "Admins"));
        assert_eq!(p.members, vec!["u1", "u2"]);
    }
}
