//! Upkeep of the Graph change-notification subscription for users (`maintain`): created with
//! `POST /v1.0/subscriptions` (`resource: users`, `changeType: updated,deleted`, the push URL
//! with its ingest token as `notificationUrl`, the integration's `clientState`, an
//! `expirationDateTime` within Graph's maximum for directory resources, 41,760 minutes),
//! renewed with `PATCH /v1.0/subscriptions/{id}` once less than [`RENEW_BEFORE_HOURS`] remain,
//! and created again when Graph no longer has it (404) or the push URL changed.
//!
//! Graph validates the `notificationUrl` while it creates the subscription (the validation
//! request the factory's handshake answers), so creation only succeeds once the push endpoint
//! is reachable from Microsoft.
//!
//! The state the engine keeps between calls is [`SubscriptionState`] as JSON: the
//! subscription's id, its expiry, and a SHA-256 fingerprint of the push URL (never the URL,
//! which holds the ingest token).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gatehouse_core::provider::ConnectorError;
use http::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::connector::{parse_json, EntraConnector};
use crate::errors::error_from_response;
use crate::mapping::{text, time};

/// Graph's maximum subscription length for users and groups, in minutes.
pub const MAX_MINUTES: i64 = 41_760;
/// What we ask for: the maximum less an hour, for clock skew.
const ASK_MINUTES: i64 = MAX_MINUTES - 60;
/// Renew once less than this remains (the engine calls hourly, so many chances remain).
pub const RENEW_BEFORE_HOURS: i64 = 72;

/// What `maintain` remembers between calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionState {
    pub id: String,
    pub expires_at: DateTime<Utc>,
    /// SHA-256 (hex) of the notification URL the subscription was made with.
    pub url_sha256: String,
}

impl SubscriptionState {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn fingerprint(url: &str) -> String {
    Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One round of upkeep; returns the state to keep.
pub(crate) async fn maintain(
    connector: &EntraConnector,
    state: Option<&str>,
) -> Result<Option<String>, ConnectorError> {
    let Some(push_url) = &connector.push_url else {
        tracing::debug!("no push URL; the users subscription is the operator's to create");
        return Ok(state.map(str::to_owned));
    };
    let url = push_url.expose_secret();
    let print = fingerprint(url);
    let now = connector.clock.now();
    let previous = state.and_then(SubscriptionState::parse);
    if let Some(previous) = &previous {
        if previous.url_sha256 == print {
            if previous.expires_at - now > Duration::hours(RENEW_BEFORE_HOURS) {
                return Ok(Some(previous.to_text()));
            }
            match renew(connector, previous, now).await? {
                Some(renewed) => return Ok(Some(renewed.to_text())),
                None => {
                    tracing::info!("the users subscription is gone at Graph; creating it again")
                }
            }
        } else {
            remove(connector, &previous.id).await;
        }
    }
    let created = create(connector, url, &print, now).await?;
    Ok(Some(created.to_text()))
}

fn expiry(now: DateTime<Utc>) -> String {
    (now + Duration::minutes(ASK_MINUTES)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn create(
    connector: &EntraConnector,
    url: &str,
    print: &str,
    now: DateTime<Utc>,
) -> Result<SubscriptionState, ConnectorError> {
    let endpoint = connector.endpoint(&["subscriptions"]);
    let body = json!({
        "changeType": "updated,deleted",
        "notificationUrl": url,
        "resource": "users",
        "expirationDateTime": expiry(now),
        "clientState": connector.client_state.expose_secret(),
    });
    let fetched = connector
        .send("subscriptions", Method::POST, &endpoint, Some(&body), &[])
        .await?;
    if !fetched.status.is_success() {
        return Err(error_from_response(
            fetched.status,
            &fetched.body,
            "creating the users subscription",
        ));
    }
    let value = parse_json(&fetched.body, "creating the users subscription")?;
    let id = text(value.get("id"))
        .ok_or_else(|| ConnectorError::Protocol("the created subscription has no id".into()))?;
    let expires_at =
        time(value.get("expirationDateTime")).unwrap_or(now + Duration::minutes(ASK_MINUTES));
    tracing::info!(subscription = id, expires_at = %expires_at, "graph users subscription created");
    Ok(SubscriptionState {
        id: id.to_owned(),
        expires_at,
        url_sha256: print.to_owned(),
    })
}

/// `None` when Graph no longer has the subscription.
async fn renew(
    connector: &EntraConnector,
    previous: &SubscriptionState,
    now: DateTime<Utc>,
) -> Result<Option<SubscriptionState>, ConnectorError> {
    let endpoint = connector.endpoint(&["subscriptions", &previous.id]);
    let body = json!({ "expirationDateTime": expiry(now) });
    let fetched = connector
        .send("subscriptions", Method::PATCH, &endpoint, Some(&body), &[])
        .await?;
    if fetched.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !fetched.status.is_success() {
        return Err(error_from_response(
            fetched.status,
            &fetched.body,
            "renewing the users subscription",
        ));
    }
    let expires_at = parse_json(&fetched.body, "renewing the users subscription")
        .ok()
        .and_then(|v| time(v.get("expirationDateTime")))
        .unwrap_or(now + Duration::minutes(ASK_MINUTES));
    tracing::info!(subscription = %previous.id, expires_at = %expires_at, "graph users subscription renewed");
    Ok(Some(SubscriptionState {
        expires_at,
        ..previous.clone()
    }))
}

/// Deletes a subscription made for an old push URL; failures only log (it expires anyway).
async fn remove(connector: &EntraConnector, id: &str) {
    let endpoint = connector.endpoint(&["subscriptions", id]);
    match connector
        .send("subscriptions", Method::DELETE, &endpoint, None, &[])
        .await
    {
        Ok(f) if f.status.is_success() || f.status == StatusCode::NOT_FOUND => {
            tracing::info!(subscription = id, "old graph users subscription deleted");
        }
        Ok(f) => tracing::warn!(
            subscription = id,
            status = f.status.as_u16(),
            "could not delete the old users subscription"
        ),
        Err(err) => {
            tracing::warn!(subscription = id, error = %err, "could not delete the old users subscription")
        }
    }
}
