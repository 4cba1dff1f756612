//! A Directory API `User` (as `users.list` with `projection=full` returns it) as a
//! [`ProviderUser`].
//!
//! * `suspended: true` or `archived: true` → `suspended` (the account cannot sign in; it
//!   still exists), with flag `archived` for an archived user and `suspension:{reason}` when
//!   Google gives `suspensionReason`; a user with `deletionTime` → `deprovisioned`.
//! * `emails`: `primaryEmail`, then every `emails[].address`; the directory holds these as the
//!   user's own addresses, so identity correlation treats them as verified, like Entra's.
//! * `isEnrolledIn2Sv` → `mfa_enrolled`; `isEnforcedIn2Sv` → flag `2sv_enforced`.
//! * `isAdmin` (super admin) or `isDelegatedAdmin` → `is_admin` (flag `delegated_admin` for
//!   the latter).
//! * `manager`: the `value` of the `relations` entry of `type: manager` (Google gives the
//!   manager's e-mail, not an id).
//! * department and title from the primary `organizations` entry (else the first).
//! * `lastLoginTime` → `last_login_at`, except Google's "never" (`1970-01-01T00:00:00.000Z`).
//! * `orgUnitPath` has no field of its own in [`ProviderUser`]; it stays in `raw`.

use chrono::Datelike;
use gatehouse_connect::raw_size::RawCopy;
use gatehouse_core::model::UserStatus;
use gatehouse_core::records::ProviderUser;
use serde_json::Value;

use super::{text, time};

/// The largest raw copy kept per user (serialized bytes); larger records keep a summary.
const MAX_RAW_BYTES: usize = 16 * 1024;

/// The user, or `None` without an `id`.
pub fn map_user(user: &Value) -> Option<ProviderUser> {
    let external_id = text(user.get("id"))?.to_owned();
    let flag = |name: &str| user.get(name).and_then(Value::as_bool).unwrap_or(false);
    let primary = text(user.get("primaryEmail")).map(str::to_owned);
    let mut emails: Vec<String> = Vec::new();
    let mut add = |address: &str| {
        let address = address.trim();
        if is_address(address) && !emails.iter().any(|e| e.eq_ignore_ascii_case(address)) {
            emails.push(address.to_owned());
        }
    };
    if let Some(primary) = &primary {
        add(primary);
    }
    if let Some(Value::Array(list)) = user.get("emails") {
        for entry in list {
            if let Some(address) = text(entry.get("address")) {
                add(address);
            }
        }
    }
    let mut status_flags = Vec::new();
    let status = if user.get("deletionTime").is_some_and(|t| !t.is_null()) {
        UserStatus::Deprovisioned
    } else if flag("suspended") || flag("archived") {
        UserStatus::Suspended
    } else {
        UserStatus::Active
    };
    if flag("archived") {
        status_flags.push("archived".to_owned());
    }
    if flag("suspended") {
        if let Some(reason) = text(user.get("suspensionReason")) {
            status_flags.push(format!("suspension:{}", reason.to_ascii_lowercase()));
        }
    }
    if flag("isEnforcedIn2Sv") {
        status_flags.push("2sv_enforced".to_owned());
    }
    if flag("isDelegatedAdmin") {
        status_flags.push("delegated_admin".to_owned());
    }
    let name = user.get("name");
    let given_name = text(name.and_then(|n| n.get("givenName"))).map(str::to_owned);
    let family_name = text(name.and_then(|n| n.get("familyName"))).map(str::to_owned);
    let display_name = text(name.and_then(|n| n.get("fullName")))
        .map(str::to_owned)
        .or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
    let organization = primary_entry(user.get("organizations"));
    let is_admin = match (
        user.get("isAdmin").and_then(Value::as_bool),
        user.get("isDelegatedAdmin").and_then(Value::as_bool),
    ) {
        (None, None) => None,
        (a, d) => Some(a.unwrap_or(false) || d.unwrap_or(false)),
    };
    Some(ProviderUser {
        login: primary.clone().unwrap_or_else(|| external_id.clone()),
        external_id,
        email: primary
            .filter(|p| is_address(p))
            .or_else(|| emails.first().cloned()),
        emails,
        display_name,
        given_name,
        family_name,
        status,
        status_flags,
        department: organization
            .and_then(|o| text(o.get("department")))
            .map(str::to_owned),
        title: organization
            .and_then(|o| text(o.get("title")))
            .map(str::to_owned),
        manager: manager_of(user),
        groups: None,
        mfa_enrolled: user.get("isEnrolledIn2Sv").and_then(Value::as_bool),
        mfa_factors: Vec::new(),
        is_admin,
        created_at: time(user.get("creationTime")),
        last_login_at: time(user.get("lastLoginTime")).filter(|t| t.year() > 1970),
        updated_at: None,
        raw: Some(RAW_COPY.of(user)),
    })
}

/// The entry of a repeated field marked `primary`, else the first.
fn primary_entry(list: Option<&Value>) -> Option<&Value> {
    let list = list?.as_array()?;
    list.iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| list.first())
}

fn manager_of(user: &Value) -> Option<String> {
    user.get("relations")?
        .as_array()?
        .iter()
        .find(|r| text(r.get("type")).is_some_and(|t| t.eq_ignore_ascii_case("manager")))
        .and_then(|r| text(r.get("value")))
        .map(str::to_owned)
}

/// A plausible e-mail address: one `@`, text on both sides.
fn is_address(text: &str) -> bool {
    let mut parts = text.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None)
        if !local.is_empty() && domain.contains('.') && !text.contains(char::is_whitespace))
}

/// The user record for investigations, bounded in size.
const RAW_COPY: RawCopy<'static> = RawCopy {
    dropped: &[],
    limit: MAX_RAW_BYTES,
    kept: &[
        "id",
        "primaryEmail",
        "suspended",
        "archived",
        "orgUnitPath",
        "isAdmin",
    ],
    marker: "_truncated",
};
