//! Directory pull of users through Graph's delta query (`GET /v1.0/users/delta`, docs
//! "user: delta" and "Get incremental changes for users"):
//!
//! * a round starts with `$select` of what the mapping reads (query options may only be given
//!   on the first request; Graph encodes them into the tokens of the links it returns);
//! * every page's `@odata.nextLink` is followed verbatim (it is the page cursor, checked to stay
//!   on this integration's Graph and on `/users/delta`); the last page carries an
//!   `@odata.deltaLink` instead, which is the pass's sync state;
//! * an incremental pull starts from the stored deltaLink and returns only the users changed
//!   since, deletions as `@removed` entries; without one (or in a full pull) a new round starts
//!   and returns every user;
//! * a deltaLink Graph no longer knows (410 Gone, `syncStateNotFound`, `resyncRequired`) is
//!   `SyncStateExpired`, after which the engine runs a full pull.
//!
//! `Prefer: odata.maxpagesize=999` asks for large pages; Graph may cap it lower, and the links
//! carry on either way. The manager comes with the round as `manager@delta` (`manager` in
//! `$select`); a Graph that refuses that selection (400 on the round's first request) is asked
//! again without it. Authentication methods (`enrich: ["auth_methods"]`) cost one call per
//! user and are read only when configured.

use futures::stream::{self, StreamExt};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderUser, PullMode};
use serde_json::Value;
use url::Url;

use crate::connector::{EntraConnector, ODataPage};
use crate::mapping::user::{map_user, summarize_methods};

/// What a round selects; `id` always comes.
pub const SELECT: &str = "id,userPrincipalName,mail,otherMails,displayName,givenName,surname,\
accountEnabled,createdDateTime,userType,jobTitle,department,employeeId";
/// The page size asked for (Graph's directory collections take 1–999).
pub const PREFER_PAGE: &str = "odata.maxpagesize=999";
/// Authentication method lists read at once for one page.
const METHOD_CONCURRENCY: usize = 4;

/// The first request of a new round.
pub(crate) fn round_start(connector: &EntraConnector, with_manager: bool) -> Url {
    let mut url = connector.endpoint(&["users", "delta"]);
    let select = if with_manager {
        format!("{SELECT},manager")
    } else {
        SELECT.to_owned()
    };
    url.query_pairs_mut().append_pair("$select", &select);
    url
}

pub(crate) async fn users_page(
    connector: &EntraConnector,
    mode: PullMode,
    cursor: Option<&str>,
) -> Result<Page<ProviderUser>, ConnectorError> {
    let collection = connector.endpoint(&["users", "delta"]);
    let resume = match (&mode, cursor) {
        (_, Some(_)) | (PullMode::Full, None) => None,
        (PullMode::Changed { .. }, None) => crate::contract::resume_state(&mode),
    };
    let (url, starts_round) = match (cursor, resume) {
        (Some(cursor), _) => (connector.same_graph(cursor, &collection)?, false),
        (None, Some(link)) => (connector.same_graph(link, &collection)?, false),
        (None, None) => (round_start(connector, true), true),
    };
    let headers = [("Prefer", PREFER_PAGE)];
    let value = match connector
        .get_json("users", &url, "reading the users delta", &headers)
        .await
    {
        Err(ConnectorError::Protocol(message)) if starts_round && message.contains(" 400: ") => {
            tracing::warn!(error = %message, "graph refused manager in the users delta $select; pulling without managers");
            let url = round_start(connector, false);
            connector
                .get_json("users", &url, "reading the users delta", &headers)
                .await?
        }
        other => other?,
    };
    let page = ODataPage::from_value(value, "reading the users delta")?;
    if page.next.as_deref() == Some(url.as_str()) {
        return Err(ConnectorError::Protocol(
            "the users delta links back to the page it is on".into(),
        ));
    }
    let mut items: Vec<ProviderUser> = Vec::with_capacity(page.items.len());
    for record in page.items {
        match map_user(&record) {
            Some(user) => items.push(user),
            None => tracing::warn!("skipping a Graph user record without an id"),
        }
    }
    if connector.settings.enrich_auth_methods {
        enrich(connector, &mut items).await?;
    }
    let (next, state) = match (page.next, page.delta) {
        (Some(next), _) => (
            Some(connector.same_graph(&next, &collection)?.to_string()),
            None,
        ),
        (None, Some(delta)) => (
            None,
            Some(connector.same_graph(&delta, &collection)?.to_string()),
        ),
        (None, None) => {
            tracing::warn!("users delta page with neither nextLink nor deltaLink; ending the pass");
            (None, None)
        }
    };
    tracing::debug!(
        users = items.len(),
        more = next.is_some(),
        "entra users page pulled"
    );
    Ok(crate::contract::page(items, next, state))
}

/// Adds each present user's registered authentication methods.
async fn enrich(
    connector: &EntraConnector,
    items: &mut [ProviderUser],
) -> Result<(), ConnectorError> {
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|u| {
            (u.status != gatehouse_core::model::UserStatus::Deprovisioned)
                .then(|| u.external_id.clone())
        })
        .collect();
    let methods: Vec<Result<Option<Vec<Value>>, ConnectorError>> = stream::iter(ids)
        .map(|id| methods_of(connector, id))
        .buffered(METHOD_CONCURRENCY)
        .collect()
        .await;
    for (user, methods) in items.iter_mut().zip(methods) {
        if let Some(methods) = methods? {
            let (enrolled, kinds) = summarize_methods(&methods);
            user.mfa_enrolled = Some(enrolled);
            user.mfa_factors = kinds;
        }
    }
    Ok(())
}

/// `GET /users/{id}/authentication/methods`, or `None` when Graph would not list them for this
/// user; failures that stop the whole pull (credentials, rate limits, outages) are passed on.
async fn methods_of(
    connector: &EntraConnector,
    id: Option<String>,
) -> Result<Option<Vec<Value>>, ConnectorError> {
    let Some(id) = id else { return Ok(None) };
    let url = connector.endpoint(&["users", &id, "authentication", "methods"]);
    match connector
        .get_json(
            "auth-methods",
            &url,
            "listing a user's authentication methods",
            &[],
        )
        .await
    {
        Ok(value) => Ok(value.get("value").and_then(Value::as_array).cloned()),
        Err(
            err @ (ConnectorError::NotFound(_)
            | ConnectorError::Forbidden(_)
            | ConnectorError::Protocol(_)),
        ) => {
            tracing::warn!(user = %id, error = %err, "cannot list authentication methods; MFA state unknown");
            Ok(None)
        }
        Err(err) => Err(err),
    }
}
