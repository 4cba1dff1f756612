//! Response actions at the app: `disable_account` sets `active: false`, `enable_account`
//! `active: true` (RFC 7643 §4.1.1: `active` is the account's administrative status). Each
//! reads the user first, so a repeat changes nothing and says so.
//!
//! | app supports | call |
//! |---|---|
//! | PATCH | `PATCH /Users/{id}` `{"Operations": [{"op": "replace", "path": "active", "value": false}]}` |
//! | no PATCH (announced, or a PATCH answered 501/405) | `PUT /Users/{id}` with the resource just read, `active` changed and `meta` left out |
//!
//! With ETags, writes carry `If-Match` of the version read; a 412 (the user changed meanwhile)
//! reads it again and retries once, so a PUT never overwrites a change it did not see.
//!
//! The target is the account's SCIM `id` (the pull's external id); an id the app no longer
//! knows, or none, is looked up by `userName` with `filter=userName eq "…"` where the app
//! filters.

use std::sync::atomic::Ordering;

use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionReport, ActionTarget};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::connector::ScimAppConnector;
use crate::errors::error_from_response;
use crate::features::Features;
use crate::mapping::is_active;
use crate::users::list_of;

pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) async fn act(
    connector: &ScimAppConnector,
    action: ActionKind,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    let active = match action {
        ActionKind::DisableAccount => false,
        ActionKind::EnableAccount => true,
        _ => return Err(ConnectorError::Unsupported("this action at a SCIM app")),
    };
    let features = connector.features().await?;
    let mut user = read_user(connector, &features, target).await?;
    let mut retried = false;
    loop {
        if is_active(&user) == active {
            return Ok(ActionReport {
                changed: false,
                detail: format!(
                    "the account was already {}",
                    if active { "active" } else { "deactivated" }
                ),
                account: Some(state(active)),
            });
        }
        let id = user
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ConnectorError::Protocol("the app's user has no id".into()))?
            .to_owned();
        match set_active(connector, &features, &id, &user, active).await? {
            Written::Done(how) => {
                return Ok(ActionReport {
                    changed: true,
                    detail: format!("set active: {active} ({how})"),
                    account: Some(state(active)),
                })
            }
            Written::Stale if !retried => {
                retried = true;
                user = read_by_id(connector, &id).await?;
            }
            Written::Stale => {
                return Err(ConnectorError::Unavailable(
                    "the user kept changing at the app (412 twice); try again".into(),
                ))
            }
        }
    }
}

fn state(active: bool) -> AccountState {
    AccountState {
        status: if active {
            UserStatus::Active
        } else {
            UserStatus::Suspended
        },
        status_flags: Vec::new(),
    }
}

enum Written {
    Done(&'static str),
    /// 412: the version read is no longer the app's.
    Stale,
}

pub(crate) async fn write(
    connector: &ScimAppConnector,
    method: Method,
    id: &str,
    body: &Value,
    version: Option<&str>,
    what: &str,
) -> Result<Result<(), StatusCode>, ConnectorError> {
    let url = connector.url(&["Users", id]);
    let fetched = connector
        .send("user-writes", method, &url, Some(body), version)
        .await?;
    match fetched.status {
        s if s.is_success() => Ok(Ok(())),
        s @ (StatusCode::PRECONDITION_FAILED
        | StatusCode::NOT_IMPLEMENTED
        | StatusCode::METHOD_NOT_ALLOWED) => Ok(Err(s)),
        s => Err(error_from_response(s, &fetched.body, what)),
    }
}

async fn set_active(
    connector: &ScimAppConnector,
    features: &Features,
    id: &str,
    user: &Value,
    active: bool,
) -> Result<Written, ConnectorError> {
    let version = features
        .etag
        .then(|| user.pointer("/meta/version").and_then(Value::as_str))
        .flatten();
    if connector.use_patch(features) {
        let body = json!({"schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": active}]});
        match write(
            connector,
            Method::PATCH,
            id,
            &body,
            version,
            "updating the user",
        )
        .await?
        {
            Ok(()) => return Ok(Written::Done("PATCH replace active")),
            Err(StatusCode::PRECONDITION_FAILED) => return Ok(Written::Stale),
            Err(status) => {
                // The app announced PATCH but does not take it: PUT from now on.
                tracing::info!(
                    status = status.as_u16(),
                    "the app refused PATCH; replacing users with PUT"
                );
                connector.patch_refused.store(true, Ordering::Relaxed);
            }
        }
    }
    let mut body = user.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("meta");
        map.insert("active".into(), Value::Bool(active));
    }
    match write(
        connector,
        Method::PUT,
        id,
        &body,
        version,
        "replacing the user",
    )
    .await?
    {
        Ok(()) => Ok(Written::Done("PUT of the whole user")),
        Err(StatusCode::PRECONDITION_FAILED) => Ok(Written::Stale),
        Err(status) => Err(error_from_response(status, b"", "replacing the user")),
    }
}

pub(crate) async fn read_by_id(
    connector: &ScimAppConnector,
    id: &str,
) -> Result<Value, ConnectorError> {
    let url = connector.url(&["Users", id]);
    connector.get_json("users", &url, "reading the user").await
}

/// The user by SCIM id, else by `userName` where the app filters.
async fn read_user(
    connector: &ScimAppConnector,
    features: &Features,
    target: &ActionTarget,
) -> Result<Value, ConnectorError> {
    let id = target.external_id.trim();
    if !id.is_empty() {
        match read_by_id(connector, id).await {
            Err(ConnectorError::NotFound(_)) if features.filter && !target.login.is_empty() => {}
            other => return other,
        }
    }
    let login = target.login.trim();
    if login.is_empty() || !features.filter {
        return Err(ConnectorError::NotFound(
            "the app does not know the account's SCIM id and cannot be searched by userName".into(),
        ));
    }
    let escaped = login.replace('\\', "\\\\").replace('"', "\\\"");
    let mut url = connector.url(&["Users"]);
    url.query_pairs_mut()
        .append_pair("filter", &format!("userName eq \"{escaped}\""));
    let (found, _) = list_of(
        connector
            .get_json("users", &url, "looking the user up")
            .await?,
        "looking the user up",
    )?;
    // userName is case-insensitive (RFC 7643 §4.1.1); an app that ignored the filter would
    // answer with everyone, so only an exact match counts.
    let mut matching = found.into_iter().filter(|u| {
        u.get("userName")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(login))
    });
    match (matching.next(), matching.next()) {
        (Some(user), None) => Ok(user),
        (None, _) => Err(ConnectorError::NotFound(
            "looking the user up: no user of the app has that userName".into(),
        )),
        (Some(_), Some(_)) => Err(ConnectorError::Protocol(
            "looking the user up: more than one user has that userName".into(),
        )),
    }
}
