//! A Graph `user` (as `/users/delta` returns it) as a [`ProviderUser`].
//!
//! * `accountEnabled: false` → `suspended` (the account cannot sign in; it still exists).
//! * `@removed` → `deprovisioned`, flag `soft_deleted` for `reason: changed` (in the deleted
//!   items container, restorable for 30 days) or `deleted` for `reason: deleted` (gone for
//!   good), and the tombstone flag: Graph sends such an entry with only its `id`, so the
//!   inventory keeps the account's last known fields.
//! * `emails`: `mail`, then `otherMails`, then the `userPrincipalName` when it is an address
//!   (a guest's `…#EXT#@tenant` UPN is not); the directory holds these as the user's own
//!   addresses, so identity correlation treats them as verified, like Okta's profile e-mails.
//! * `userType: Guest` → flag `guest`.
//! * `manager`: the id in `manager@delta` (delta) or `manager.id` (`$expand`).

use gatehouse_connect::raw_size::RawCopy;
use gatehouse_core::model::UserStatus;
use gatehouse_core::records::{ProviderUser, TOMBSTONE_FLAG};
use serde_json::Value;

use super::{text, time};

/// The largest raw copy kept per user (serialized bytes); larger records keep a summary.
const MAX_RAW_BYTES: usize = 16 * 1024;

/// The user, or `None` without an `id`.
pub fn map_user(user: &Value) -> Option<ProviderUser> {
    let external_id = text(user.get("id"))?.to_owned();
    let field = |name: &str| text(user.get(name)).map(str::to_owned);
    let upn = field("userPrincipalName");
    if let Some(removed) = user.get("@removed") {
        let reason = text(removed.get("reason")).unwrap_or("deleted");
        let flag = if reason.eq_ignore_ascii_case("changed") {
            "soft_deleted"
        } else {
            "deleted"
        };
        return Some(ProviderUser {
            login: upn.clone().unwrap_or_else(|| external_id.clone()),
            external_id,
            email: None,
            emails: Vec::new(),
            display_name: field("displayName"),
            given_name: None,
            family_name: None,
            status: UserStatus::Deprovisioned,
            status_flags: vec![flag.to_owned(), TOMBSTONE_FLAG.to_owned()],
            department: None,
            title: None,
            manager: None,
            groups: None,
            mfa_enrolled: None,
            mfa_factors: Vec::new(),
            is_admin: None,
            created_at: None,
            last_login_at: None,
            updated_at: None,
            raw: Some(RAW_COPY.of(user)),
        });
    }
    let mail = field("mail");
    let mut emails: Vec<String> = Vec::new();
    let mut add = |address: &str| {
        let address = address.trim();
        if is_address(address) && !emails.iter().any(|e| e.eq_ignore_ascii_case(address)) {
            emails.push(address.to_owned());
        }
    };
    if let Some(mail) = &mail {
        add(mail);
    }
    if let Some(Value::Array(others)) = user.get("otherMails") {
        for other in others.iter().filter_map(Value::as_str) {
            add(other);
        }
    }
    if let Some(upn) = &upn {
        add(upn);
    }
    let email = mail
        .filter(|m| is_address(m))
        .or_else(|| emails.first().cloned());
    let mut status_flags = Vec::new();
    let status = match user.get("accountEnabled").and_then(Value::as_bool) {
        Some(false) => UserStatus::Suspended,
        _ => UserStatus::Active,
    };
    if text(user.get("userType")).is_some_and(|t| t.eq_ignore_ascii_case("guest")) {
        status_flags.push("guest".to_owned());
    }
    let given_name = field("givenName");
    let family_name = field("surname");
    let display_name = field("displayName").or_else(|| {
        let joined = [given_name.as_deref(), family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    let activity = user.get("signInActivity");
    let last_login_at = activity.and_then(|a| {
        time(a.get("lastSuccessfulSignInDateTime")).or_else(|| time(a.get("lastSignInDateTime")))
    });
    Some(ProviderUser {
        login: upn.unwrap_or_else(|| external_id.clone()),
        external_id,
        email,
        emails,
        display_name,
        given_name,
        family_name,
        status,
        status_flags,
        department: field("department"),
        title: field("jobTitle"),
        manager: manager_of(user),
        groups: None,
        mfa_enrolled: None,
        mfa_factors: Vec::new(),
        // Directory roles are not on the user record.
        is_admin: None,
        created_at: time(user.get("createdDateTime")),
        last_login_at,
        updated_at: None,
        raw: Some(RAW_COPY.of(user)),
    })
}

/// A plausible e-mail address: one `@`, text on both sides, and not a guest's `#EXT#` UPN.
fn is_address(text: &str) -> bool {
    let mut parts = text.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None)
        if !local.is_empty() && domain.contains('.') && !text.contains("#EXT#") && !text.contains(char::is_whitespace))
}

/// The manager's id: the last `manager@delta` entry not itself removed, else `manager.id`.
fn manager_of(user: &Value) -> Option<String> {
    if let Some(Value::Array(entries)) = user.get("manager@delta") {
        return entries
            .iter()
            .rev()
            .find(|m| m.get("@removed").is_none())
            .and_then(|m| text(m.get("id")))
            .map(str::to_owned);
    }
    user.get("manager")
        .and_then(|m| text(m.get("id")))
        .map(str::to_owned)
}

/// The user record for investigations, bounded in size.
const RAW_COPY: RawCopy<'static> = RawCopy {
    dropped: &[],
    limit: MAX_RAW_BYTES,
    kept: &[
        "id",
        "userPrincipalName",
        "mail",
        "displayName",
        "accountEnabled",
        "userType",
    ],
    marker: "_truncated",
};

/// `(mfa_enrolled, methods)` from `/users/{id}/authentication/methods`: the `@odata.type`s
/// without the namespace and `AuthenticationMethod` suffix (`microsoftAuthenticator`, `phone`,
/// `fido2`, …); enrolled when any method other than the password is registered.
pub fn summarize_methods(methods: &[Value]) -> (bool, Vec<String>) {
    let mut kinds: Vec<String> = Vec::new();
    for method in methods {
        let Some(kind) = text(method.get("@odata.type")) else {
            continue;
        };
        let kind = kind
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.")
            .trim_end_matches("AuthenticationMethod")
            .to_owned();
        if kind != "password" && !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    (!kinds.is_empty(), kinds)
}
