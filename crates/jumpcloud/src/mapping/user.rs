//! A v1 system user (`systemuserreturn`) as a [`ProviderUser`].
//!
//! * status: `suspended: true` or `state: SUSPENDED` → suspended; `state: STAGED` (or
//!   `activated: false`) → staged; `account_locked: true` → locked; else active. Flags:
//!   `locked` (with another status), `password_expired`, `mfa_exclusion`.
//! * `login` is the `username` (what the User Portal, LDAP and RADIUS take), else `email`.
//! * `email` is the account's own address, held by the directory, so identity correlation
//!   treats it as verified; `alternateEmail` is also listed.
//! * MFA: `mfa.configured`, `totp_enabled` or `mfaEnrollment.overallStatus: ENROLLED` →
//!   enrolled; factors from `mfaEnrollment` (`totpStatus`, `pushStatus`, `webAuthnStatus`
//!   `ENROLLED` → `totp`, `push`, `webauthn`; `totp_enabled` → `totp`).
//! * `manager` is the id of another system user; `department`, `jobTitle`, `created`.
//! * `admin` (2026 spec: the user is also an administrator) → `is_admin`; absent → unknown.
//! * JumpCloud records no last login on the user (Directory Insights has it).

use gatehouse_connect::raw_size::RawCopy;
use gatehouse_core::model::UserStatus;
use gatehouse_core::records::ProviderUser;
use serde_json::Value;

use super::{text, time};

/// The largest raw copy kept per user (serialized bytes); larger records keep a summary.
const MAX_RAW_BYTES: usize = 16 * 1024;

/// The user, or `None` without an `_id`.
pub fn map_user(user: &Value) -> Option<ProviderUser> {
    let external_id = text(user.get("_id"))
        .or_else(|| text(user.get("id")))?
        .to_owned();
    let flag = |name: &str| user.get(name).and_then(Value::as_bool);
    let state = text(user.get("state")).map(str::to_ascii_uppercase);
    let locked = flag("account_locked").unwrap_or(false);
    let mut status_flags = Vec::new();
    let status = if flag("suspended") == Some(true) || state.as_deref() == Some("SUSPENDED") {
        UserStatus::Suspended
    } else if state.as_deref() == Some("STAGED")
        || (state.is_none() && flag("activated") == Some(false))
    {
        UserStatus::Staged
    } else if locked {
        UserStatus::Locked
    } else {
        UserStatus::Active
    };
    if locked && status != UserStatus::Locked {
        status_flags.push("locked".to_owned());
    }
    if flag("password_expired") == Some(true) {
        status_flags.push("password_expired".to_owned());
    }
    let mfa = user.get("mfa");
    if mfa
        .and_then(|m| m.get("exclusion"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        status_flags.push("mfa_exclusion".to_owned());
    }
    let enrollment = user.get("mfaEnrollment");
    let enrolled = |key: &str| {
        text(enrollment.and_then(|e| e.get(key)))
            .is_some_and(|s| s.eq_ignore_ascii_case("ENROLLED"))
    };
    let mut mfa_factors = Vec::new();
    if enrolled("totpStatus") || flag("totp_enabled") == Some(true) {
        mfa_factors.push("totp".to_owned());
    }
    if enrolled("pushStatus") {
        mfa_factors.push("push".to_owned());
    }
    if enrolled("webAuthnStatus") {
        mfa_factors.push("webauthn".to_owned());
    }
    let configured = mfa
        .and_then(|m| m.get("configured"))
        .and_then(Value::as_bool);
    let mfa_enrolled = match (configured, flag("totp_enabled"), enrollment.is_some()) {
        (None, None, false) => None,
        (c, t, _) => Some(
            c.unwrap_or(false)
                || t.unwrap_or(false)
                || enrolled("overallStatus")
                || !mfa_factors.is_empty(),
        ),
    };
    let email = text(user.get("email")).map(str::to_owned);
    let mut emails: Vec<String> = Vec::new();
    for address in [email.as_deref(), text(user.get("alternateEmail"))]
        .into_iter()
        .flatten()
    {
        if address.contains('@') && !emails.iter().any(|e| e.eq_ignore_ascii_case(address)) {
            emails.push(address.to_owned());
        }
    }
    let given_name = text(user.get("firstname")).map(str::to_owned);
    let family_name = text(user.get("lastname")).map(str::to_owned);
    let display_name = text(user.get("displayname"))
        .map(str::to_owned)
        .or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
    let is_admin = match user.get("admin") {
        Some(Value::Object(admin)) if !admin.is_empty() => Some(true),
        _ => None,
    };
    let login = text(user.get("username"))
        .map(str::to_owned)
        .or_else(|| email.clone())
        .unwrap_or_else(|| external_id.clone());
    Some(ProviderUser {
        login,
        external_id,
        email: email.filter(|e| e.contains('@')),
        emails,
        display_name,
        given_name,
        family_name,
        status,
        status_flags,
        department: text(user.get("department")).map(str::to_owned),
        title: text(user.get("jobTitle")).map(str::to_owned),
        manager: text(user.get("manager")).map(str::to_owned),
        groups: None,
        mfa_enrolled,
        mfa_factors,
        is_admin,
        created_at: time(user.get("created")),
        last_login_at: None,
        updated_at: None,
        raw: Some(RAW_COPY.of(user)),
    })
}

/// The user record for investigations. Nothing in a system user is a credential, but its SSH
/// public keys and custom attributes are dropped to keep the copy small; past the bound (a long
/// description, many addresses would bloat every account read) it keeps what an investigation
/// starts from.
const RAW_COPY: RawCopy<'static> = RawCopy {
    dropped: &[&["ssh_keys"], &["attributes"]],
    limit: MAX_RAW_BYTES,
    kept: &[
        "_id",
        "username",
        "email",
        "state",
        "activated",
        "suspended",
        "account_locked",
    ],
    marker: "_truncated",
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn maps_the_documented_example() {
        let user = map_user(&json!({
          "_id": "5c86b7149fdce00001d38014",
          "username": "alice.smith",
          "email": "alice.smith@example.com",
          "firstname": "Alice", "lastname": "Smith", "displayname": "Alice Smith",
          "state": "ACTIVATED", "suspended": false, "activated": true,
          "account_locked": false, "badLoginAttempts": 0,
          "created": "2022-04-04T15:56:05.382Z",
          "password_expired": false,
          "totp_enabled": true, "enable_user_portal_multifactor": true,
          "mfa": { "configured": true, "exclusion": false },
          "mfaEnrollment": { "overallStatus": "ENROLLED", "totpStatus": "ENROLLED",
                             "pushStatus": "NOT_ENROLLED", "webAuthnStatus": "NOT_ENROLLED" },
          "department": "Finance", "jobTitle": "Analyst",
          "manager": "5c86b7149fdce00001d38099"
        }))
        .unwrap();
        assert_eq!(user.external_id, "5c86b7149fdce00001d38014");
        assert_eq!(user.login, "alice.smith");
        assert_eq!(user.email.as_deref(), Some("alice.smith@example.com"));
        assert_eq!(user.status, UserStatus::Active);
        assert_eq!(user.mfa_enrolled, Some(true));
        assert_eq!(user.mfa_factors, ["totp"]);
        assert_eq!(user.department.as_deref(), Some("Finance"));
        assert_eq!(user.title.as_deref(), Some("Analyst"));
        assert_eq!(user.manager.as_deref(), Some("5c86b7149fdce00001d38099"));
        assert_eq!(user.display_name.as_deref(), Some("Alice Smith"));
        assert!(user.created_at.is_some());
        assert_eq!(user.is_admin, None);
    }

    #[test]
    fn an_oversized_record_keeps_a_summary_and_no_secret() {
        let user = map_user(&json!({
            "_id": "1", "username": "big", "suspended": false,
            "description": "x".repeat(MAX_RAW_BYTES),
            "ssh_keys": [{"public_key": "ssh-ed25519 AAAA"}],
        }))
        .unwrap();
        let raw = user.raw.unwrap().value().clone();
        assert_eq!(raw["_truncated"], true);
        assert_eq!(raw["username"], "big");
        assert!(raw.get("description").is_none() && raw.get("ssh_keys").is_none());
        let small = map_user(&json!({"_id": "2", "ssh_keys": [], "description": "d"})).unwrap();
        let raw = small.raw.unwrap().value().clone();
        assert_eq!(
            (raw["description"].as_str(), raw.get("ssh_keys")),
            (Some("d"), None)
        );
    }

    #[test]
    fn statuses() {
        let status = |v: Value| map_user(&v).unwrap();
        let s = status(json!({"_id": "1", "state": "SUSPENDED", "suspended": true}));
        assert_eq!(s.status, UserStatus::Suspended);
        let s = status(json!({"_id": "1", "suspended": true, "account_locked": true}));
        assert_eq!(
            (s.status, s.status_flags.clone()),
            (UserStatus::Suspended, vec!["locked".to_owned()])
        );
        let s = status(json!({"_id": "1", "state": "STAGED", "activated": false}));
        assert_eq!(s.status, UserStatus::Staged);
        let s = status(
            json!({"_id": "1", "state": "ACTIVATED", "account_locked": true, "password_expired": true}),
        );
        assert_eq!(s.status, UserStatus::Locked);
        assert_eq!(s.status_flags, ["password_expired"]);
        let s = status(json!({"_id": "1", "mfa": {"configured": false, "exclusion": true}}));
        assert_eq!(s.mfa_enrolled, Some(false));
        assert_eq!(s.status_flags, ["mfa_exclusion"]);
        assert_eq!(status(json!({"_id": "1"})).mfa_enrolled, None);
        assert!(map_user(&json!({"username": "x"})).is_none());
    }
}
