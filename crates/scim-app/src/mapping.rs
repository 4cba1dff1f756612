//! A SCIM User (RFC 7643 §4.1, with the enterprise extension of §4.3) as a [`ProviderUser`].
//!
//! * `external_id` is the app's `id` (what `/Users/{id}` takes); `login` is `userName`.
//! * `email` is the primary `emails` value, else the first, else `userName` when it is an
//!   address: identities join accounts by e-mail, and many apps use the address as the
//!   userName and list no `emails`.
//! * status: `active: false` → suspended (deactivated in the app), otherwise active; SCIM has
//!   no other lifecycle states. Accounts gone from the app become tombstones in the pull.
//! * names, `title`, the enterprise `department` and `manager.value`; `groups` values;
//!   `meta.created`/`meta.lastModified`. SCIM carries no MFA, admin role or last sign-in.
//! * `raw` is the record without `password` (write-only, but some apps echo it) and without
//!   `x509Certificates`.

use chrono::{DateTime, Utc};
use gatehouse_connect::raw_size::RawCopy;
use gatehouse_core::model::UserStatus;
use gatehouse_core::records::ProviderUser;
use serde_json::Value;

/// The enterprise User extension's URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    text(value)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `active` as a boolean; apps send `"False"` strings too. Absent means active (RFC 7643 gives
/// no default, and an app that does not model deactivation has only active accounts).
pub fn is_active(user: &Value) -> bool {
    match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.trim().eq_ignore_ascii_case("false"),
        _ => true,
    }
}

/// The user, or `None` without an `id`.
pub fn map_user(user: &Value) -> Option<ProviderUser> {
    let external_id = text(user.get("id"))?.to_owned();
    let user_name = text(user.get("userName")).map(str::to_owned);
    let mut emails: Vec<String> = Vec::new();
    let mut primary: Option<String> = None;
    for entry in user
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(address) = text(entry.get("value")).filter(|a| a.contains('@')) else {
            continue;
        };
        if entry.get("primary").and_then(Value::as_bool) == Some(true) && primary.is_none() {
            primary = Some(address.to_owned());
        }
        if !emails.iter().any(|e| e.eq_ignore_ascii_case(address)) {
            emails.push(address.to_owned());
        }
    }
    let email = primary
        .or_else(|| emails.first().cloned())
        .or_else(|| user_name.clone().filter(|u| u.contains('@')));
    if let Some(address) = &email {
        if !emails.iter().any(|e| e.eq_ignore_ascii_case(address)) {
            emails.push(address.clone());
        }
    }
    let name = user.get("name");
    let given_name = text(name.and_then(|n| n.get("givenName"))).map(str::to_owned);
    let family_name = text(name.and_then(|n| n.get("familyName"))).map(str::to_owned);
    let display_name = text(user.get("displayName"))
        .or_else(|| text(name.and_then(|n| n.get("formatted"))))
        .map(str::to_owned)
        .or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
    let enterprise = user.get(ENTERPRISE);
    let groups = user.get("groups").and_then(Value::as_array).map(|groups| {
        groups
            .iter()
            .filter_map(|g| text(g.get("value")).map(str::to_owned))
            .collect()
    });
    let meta = user.get("meta");
    Some(ProviderUser {
        login: user_name.unwrap_or_else(|| external_id.clone()),
        external_id,
        email,
        emails,
        display_name,
        given_name,
        family_name,
        status: if is_active(user) {
            UserStatus::Active
        } else {
            UserStatus::Suspended
        },
        status_flags: Vec::new(),
        department: text(enterprise.and_then(|e| e.get("department"))).map(str::to_owned),
        title: text(user.get("title")).map(str::to_owned),
        manager: text(
            enterprise
                .and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value")),
        )
        .map(str::to_owned),
        groups,
        mfa_enrolled: None,
        mfa_factors: Vec::new(),
        is_admin: None,
        created_at: time(meta.and_then(|m| m.get("created"))),
        last_login_at: None,
        updated_at: time(meta.and_then(|m| m.get("lastModified"))),
        raw: Some(RAW_COPY.of(user)),
    })
}

/// The user resource for investigations, without its password or certificates.
const RAW_COPY: RawCopy<'static> = RawCopy::without(&[&["password"], &["x509Certificates"]]);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn maps_the_rfc_example() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/user.json"
        ))
        .unwrap();
        let user = map_user(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(user.external_id, "2819c223-7f76-453a-919d-413861904646");
        assert_eq!(user.login, "bjensen@example.com");
        assert_eq!(user.email.as_deref(), Some("bjensen@example.com"));
        assert_eq!(user.emails, ["bjensen@example.com", "babs@jensen.org"]);
        assert_eq!(user.display_name.as_deref(), Some("Babs Jensen"));
        assert_eq!(user.status, UserStatus::Active);
        assert_eq!(user.department.as_deref(), Some("Tour Operations"));
        assert_eq!(user.title.as_deref(), Some("Tour Guide"));
        assert_eq!(
            user.manager.as_deref(),
            Some("26118915-6090-4610-87e4-49d8ca9f808d")
        );
        assert_eq!(
            user.groups,
            Some(vec!["e9e30dba-f08f-4109-8486-d5c6a331660a".to_owned()])
        );
        assert!(user.created_at.is_some() && user.updated_at.is_some());
    }

    #[test]
    fn inactive_users_and_user_names_as_addresses() {
        let user = map_user(&json!({"id": "1", "userName": "A@X.COM", "active": "False",
            "password": "hunter2"}))
        .unwrap();
        assert_eq!(user.status, UserStatus::Suspended);
        assert_eq!(user.email.as_deref(), Some("A@X.COM"));
        assert!(!user.raw.unwrap().text().contains("hunter2"));
        let user = map_user(&json!({"id": "2", "userName": "bob"})).unwrap();
        assert_eq!((user.email, user.status), (None, UserStatus::Active));
        assert!(map_user(&json!({"userName": "x"})).is_none());
    }
}
