//! Directory pull of users: `GET /api/v1/users` paged by `Link`, each user's MFA factors from
//! `GET /api/v1/users/{id}/factors`, admin standing from the roster of role assignments
//! (`roles`), and the pure mapping of an Okta user to a [`ProviderUser`].

use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, StreamExt};
use gatehouse_connect::raw_size::RawCopy;
use gatehouse_core::model::UserStatus;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderUser, PullMode};
use serde_json::Value;

use crate::connector::OktaConnector;
use crate::roles;

/// Users per page; Okta's default and maximum for `GET /api/v1/users`.
const PAGE_SIZE: &str = "200";
/// Factor lists fetched at once for one page.
const FACTOR_CONCURRENCY: usize = 4;
/// The largest raw copy kept per user (serialized bytes); larger records keep a summary.
const MAX_RAW_BYTES: usize = 32 * 1024;

/// Every status of Okta's `UserStatus` enum (management spec, `components.schemas.UserStatus`).
///
/// A full pull must include `DEPROVISIONED` users, which the plain list omits: the `listUsers`
/// description says "This operation omits users that have a status of `DEPROVISIONED` in the
/// response. To return all users, use a filter or search query instead", and the `filter`
/// parameter notes "Returned users include those with the `DEPROVISIONED` status". We use
/// `filter` (an `or` over every status, the documented `filterByStatus` form) rather than
/// `search`, because the spec says `search` results come "from an eventually consistent
/// datasource and may not reflect the latest information", and a full pull is the reconciliation
/// that must not miss recent changes. `ACTIVATING` is a short-lived transitional state that
/// cannot be filtered on; such a user is picked up by the next incremental pull, because
/// activation updates `lastUpdated`.
const ALL_STATUSES: &[&str] = &[
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
];

/// The `filter` of a full pull: every status, `DEPROVISIONED` included.
pub(crate) fn full_filter() -> String {
    ALL_STATUSES
        .iter()
        .map(|s| format!("status eq \"{s}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The `filter` of an incremental pull (`lastUpdated` allows `gt`, and a filter includes
/// `DEPROVISIONED` users, so deactivations are seen).
pub(crate) fn changed_filter(since: DateTime<Utc>) -> String {
    format!(
        "lastUpdated gt \"{}\"",
        since.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

pub(crate) async fn users_page(
    connector: &OktaConnector,
    mode: PullMode,
    cursor: Option<&str>,
) -> Result<Page<ProviderUser>, ConnectorError> {
    let collection = connector.endpoint(&["api", "v1", "users"]);
    // A cursor is the `next` link of the previous page and already carries the filter.
    let url = match cursor {
        Some(cursor) => connector.same_org(cursor, collection.path())?,
        None => {
            let filter = match mode {
                PullMode::Full => full_filter(),
                PullMode::Changed { since, .. } => changed_filter(since),
            };
            let mut url = collection;
            url.query_pairs_mut()
                .append_pair("filter", &filter)
                .append_pair("limit", PAGE_SIZE);
            url
        }
    };
    let roster = if connector.settings.enrich_roles {
        connector
            .roster
            .for_page(connector, cursor.is_none())
            .await?
    } else {
        roles::PullRoster::unknown()
    };
    let (records, next) = connector.get_page("users", &url, "listing users").await?;
    // A `next` link back to the page just read would have the engine read it for ever (and
    // store it each time); the pull fails instead and resumes here once Okta answers sanely.
    if next.as_ref() == Some(&url) {
        return Err(ConnectorError::Protocol(
            "listing users: Okta's next link repeats the page just read".into(),
        ));
    }
    // Owned ids, so the buffered futures borrow nothing but the connector.
    let ids: Vec<Option<String>> = records
        .iter()
        .map(|u| u.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let enrich_factors = connector.settings.enrich_factors;
    let factors: Vec<Result<Option<Vec<Value>>, ConnectorError>> = stream::iter(ids)
        .map(|id| factors_of(connector, id.filter(|_| enrich_factors)))
        .buffered(FACTOR_CONCURRENCY)
        .collect()
        .await;
    let mut items = Vec::with_capacity(records.len());
    for (record, factors) in records.iter().zip(factors) {
        let factors = factors?;
        match map_user(record, factors.as_deref()) {
            Some(user) => items.push(user),
            None => tracing::warn!("skipping an Okta user record without an id"),
        }
    }
    if matches!(mode, PullMode::Changed { .. }) {
        // A role grant or removal leaves `lastUpdated` alone: those users come along here.
        let on_page: Vec<String> = items.iter().map(|u| u.external_id.clone()).collect();
        let on_page: Vec<&str> = on_page.iter().map(String::as_str).collect();
        for id in roles::missing_from_page(&roster.changed, &on_page) {
            let Some(record) = roles::user_record(connector, &id).await? else {
                continue;
            };
            let factors = factors_of(connector, Some(id).filter(|_| enrich_factors)).await?;
            if let Some(user) = map_user(&record, factors.as_deref()) {
                items.push(user);
            }
        }
    }
    for user in &mut items {
        user.is_admin = roster.is_admin(&user.external_id);
    }
    if next.is_none() && connector.settings.enrich_roles {
        connector.roster.settle().await;
    }
    tracing::debug!(
        users = items.len(),
        more = next.is_some(),
        "okta users page pulled"
    );
    Ok(Page::new(items, next.map(String::from)))
}

/// A user's factors, or `None` when Okta would not list them for this user (not found, not
/// allowed, or refused for its status); failures that stop the whole pull (credentials, rate
/// limits, outages) are passed on.
async fn factors_of(
    connector: &OktaConnector,
    id: Option<String>,
) -> Result<Option<Vec<Value>>, ConnectorError> {
    let Some(id) = id else {
        return Ok(None);
    };
    let id = id.as_str();
    let url = connector.endpoint(&["api", "v1", "users", id, "factors"]);
    match connector
        .get_json("user-factors", &url, "listing a user's factors")
        .await
    {
        Ok((Value::Array(factors), _)) => Ok(Some(factors)),
        Ok(_) => {
            tracing::warn!(
                user = id,
                "okta factor list is not an array; MFA state unknown"
            );
            Ok(None)
        }
        Err(
            err @ (ConnectorError::NotFound(_)
            | ConnectorError::Forbidden(_)
            | ConnectorError::Protocol(_)),
        ) => {
            tracing::warn!(user = id, error = %err, "cannot list okta factors; MFA state unknown");
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// Okta's status in Gatehouse's words, with the nuance that was folded away kept as flags:
/// `ACTIVE`, `PROVISIONED` (activation pending), `RECOVERY` (password reset in progress) and
/// `PASSWORD_EXPIRED` are accounts that exist and can come back into use, so they are `Active`
/// with the flags `provisioned`, `recovery` and `password_expired`. `LOCKED_OUT` is `Locked`,
/// `SUSPENDED` `Suspended`, `DEPROVISIONED` `Deprovisioned`, `STAGED` `Staged`. The transitional
/// `ACTIVATING` is still `Staged` (flag `activating`). An unknown status is treated as `Active`
/// with the flag `okta_status:<STATUS>`, so that an account Okta may let sign in is never hidden.
pub fn map_status(status: &str) -> (UserStatus, Vec<String>) {
    let flag = |f: &str| vec![f.to_owned()];
    match status.trim().to_ascii_uppercase().as_str() {
        "ACTIVE" => (UserStatus::Active, Vec::new()),
        "PROVISIONED" => (UserStatus::Active, flag("provisioned")),
        "RECOVERY" => (UserStatus::Active, flag("recovery")),
        "PASSWORD_EXPIRED" => (UserStatus::Active, flag("password_expired")),
        "LOCKED_OUT" => (UserStatus::Locked, Vec::new()),
        "SUSPENDED" => (UserStatus::Suspended, Vec::new()),
        "DEPROVISIONED" => (UserStatus::Deprovisioned, Vec::new()),
        "STAGED" => (UserStatus::Staged, Vec::new()),
        "ACTIVATING" => (UserStatus::Staged, flag("activating")),
        other => {
            tracing::warn!(
                status = other,
                "unknown okta user status; treating as active"
            );
            (UserStatus::Active, vec![format!("okta_status:{other}")])
        }
    }
}

/// `(mfa_enrolled, mfa_factors)` from a user's factor list: enrolled when any factor is
/// `ACTIVE`; the factor types (`push`, `sms`, `token:software:totp`, …) of the `ACTIVE` factors,
/// in Okta's order without repeats. Factors still `PENDING_ACTIVATION` (or otherwise not active)
/// cannot be used to sign in, so they are not listed.
pub fn summarize_factors(factors: &[Value]) -> (bool, Vec<String>) {
    let mut types: Vec<String> = Vec::new();
    for factor in factors {
        let active = factor
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("ACTIVE"));
        if !active {
            continue;
        }
        if let Some(kind) = factor.get("factorType").and_then(Value::as_str) {
            if !types.iter().any(|t| t == kind) {
                types.push(kind.to_owned());
            }
        }
    }
    let enrolled = factors.iter().any(|f| {
        f.get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("ACTIVE"))
    });
    (enrolled, types)
}

/// An Okta user (as `listUsers` returns it) as a [`ProviderUser`]; `factors` is the user's
/// factor list when it could be read (`None`: MFA state unknown). `None` without an `id`.
///
/// `manager` is `profile.managerId` (an Okta user id, so it can be resolved) and otherwise
/// `profile.manager` (Okta documents it as the manager's display name). `emails` holds
/// `profile.email` and `profile.secondEmail`. `raw` is the record without `_links` and
/// `_embedded` and without the recovery question, bounded in size.
pub fn map_user(user: &Value, factors: Option<&[Value]>) -> Option<ProviderUser> {
    let external_id = text(user.get("id"))?.to_owned();
    let profile = user.get("profile").unwrap_or(&Value::Null);
    let field = |name: &str| text(profile.get(name)).map(str::to_owned);
    let login = field("login").unwrap_or_else(|| external_id.clone());
    let email = field("email");
    let mut emails: Vec<String> = Vec::new();
    for address in [field("email"), field("secondEmail")].into_iter().flatten() {
        if !emails.iter().any(|e| e.eq_ignore_ascii_case(&address)) {
            emails.push(address);
        }
    }
    let given_name = field("firstName");
    let family_name = field("lastName");
    let display_name = field("displayName").or_else(|| {
        let joined = [given_name.as_deref(), family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    let (status, mut status_flags) = map_status(text(user.get("status")).unwrap_or("UNKNOWN"));
    if let Some(target) = text(user.get("transitioningToStatus")) {
        status_flags.push(format!("transitioning_to_{}", target.to_ascii_lowercase()));
    }
    let (mfa_enrolled, mfa_factors) = match factors {
        Some(factors) => {
            let (enrolled, types) = summarize_factors(factors);
            (Some(enrolled), types)
        }
        None => (None, Vec::new()),
    };
    Some(ProviderUser {
        external_id,
        login,
        email,
        emails,
        display_name,
        given_name,
        family_name,
        status,
        status_flags,
        department: field("department"),
        title: field("title"),
        manager: field("managerId").or_else(|| field("manager")),
        groups: None,
        mfa_enrolled,
        mfa_factors,
        // Okta keeps admin roles apart from the user record: the pull sets this from the roster
        // of role assignments (`roles`).
        is_admin: None,
        created_at: time(user.get("created")),
        last_login_at: time(user.get("lastLogin")),
        updated_at: time(user.get("lastUpdated")),
        raw: Some(RAW_COPY.of(user)),
    })
}

/// A non-empty string.
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

/// The user record for investigations: links and embedded objects dropped, the recovery
/// question and password removed, and a summary instead when a huge custom profile would bloat
/// the store.
const RAW_COPY: RawCopy<'static> = RawCopy {
    dropped: &[
        &["_links"],
        &["_embedded"],
        &["credentials", "recovery_question"],
        &["credentials", "password"],
    ],
    limit: MAX_RAW_BYTES,
    kept: &[
        "id",
        "status",
        "created",
        "activated",
        "statusChanged",
        "lastLogin",
        "lastUpdated",
        "passwordChanged",
        "transitioningToStatus",
    ],
    marker: "truncated",
};

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_okta_status_maps() {
        let cases = [
            ("ACTIVE", UserStatus::Active, vec![]),
            ("PROVISIONED", UserStatus::Active, vec!["provisioned"]),
            ("RECOVERY", UserStatus::Active, vec!["recovery"]),
            (
                "PASSWORD_EXPIRED",
                UserStatus::Active,
                vec!["password_expired"],
            ),
            ("LOCKED_OUT", UserStatus::Locked, vec![]),
            ("SUSPENDED", UserStatus::Suspended, vec![]),
            ("DEPROVISIONED", UserStatus::Deprovisioned, vec![]),
            ("STAGED", UserStatus::Staged, vec![]),
            ("ACTIVATING", UserStatus::Staged, vec!["activating"]),
            (
                "SOMETHING_NEW",
                UserStatus::Active,
                vec!["okta_status:SOMETHING_NEW"],
            ),
        ];
        for (okta, status, flags) in cases {
            assert_eq!(
                map_status(okta),
                (status, flags.iter().map(|f| f.to_string()).collect()),
                "{okta}"
            );
        }
    }

    #[test]
    fn filters_cover_every_status_and_use_millisecond_utc() {
        let filter = full_filter();
        for status in ALL_STATUSES {
            assert!(
                filter.contains(&format!("status eq \"{status}\"")),
                "{status}"
            );
        }
        assert!(filter.contains("DEPROVISIONED"));
        let since = DateTime::parse_from_rfc3339("2026-01-09T08:07:06.5+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            changed_filter(since),
            "lastUpdated gt \"2026-01-09T06:07:06.500Z\""
        );
    }

    #[test]
    fn factor_summary_counts_only_active_factors() {
        let factors = vec![
            json!({"factorType": "push", "status": "ACTIVE"}),
            json!({"factorType": "sms", "status": "PENDING_ACTIVATION"}),
            json!({"factorType": "push", "status": "ACTIVE"}),
            json!({"factorType": "webauthn", "status": "ACTIVE"}),
        ];
        assert_eq!(
            summarize_factors(&factors),
            (true, vec!["push".to_owned(), "webauthn".to_owned()])
        );
        let pending = vec![json!({"factorType": "sms", "status": "PENDING_ACTIVATION"})];
        assert_eq!(summarize_factors(&pending), (false, vec![]));
        assert_eq!(summarize_factors(&[]), (false, vec![]));
    }

    #[test]
    fn tolerates_a_sparse_record() {
        let user = map_user(
            &json!({"id": "00u1", "status": null, "profile": null}),
            None,
        )
        .unwrap();
        assert_eq!(user.login, "00u1");
        assert_eq!(user.status, UserStatus::Active);
        assert_eq!(user.mfa_enrolled, None);
        assert!(map_user(&json!({"status": "ACTIVE"}), None).is_none());
    }

    #[test]
    fn raw_is_bounded() {
        let huge = "x".repeat(MAX_RAW_BYTES);
        let user = json!({"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@b.c", "bio": huge},
            "_links": {"self": {"href": "https://acme.okta.com/api/v1/users/00u1"}}});
        let mapped = map_user(&user, None).unwrap();
        let raw = mapped.raw.unwrap().value().clone();
        assert_eq!(raw["truncated"], json!(true));
        assert_eq!(raw["id"], json!("00u1"));
        assert!(raw.get("profile").is_none());
    }
}
