//! Upkeep of the Reports API push channel on login activity (`maintain`).
//!
//! * Created with `POST {api}/admin/reports/v1/activity/users/all/applications/login/watch`
//!   (`activities.watch`, scope `admin.reports.audit.readonly`), body `{"id", "type":
//!   "web_hook", "address", "token", "expiration"}`: `id` a fresh UUID-shaped id (Google takes
//!   any unique string of `[A-Za-z0-9-_+/=]`, at most 64 characters), `address` the
//!   integration's push URL, `expiration` in milliseconds since the epoch, [`ASK_LIFETIME`]
//!   from now (the Reports API keeps a channel at most [`MAX_LIFETIME`], six hours, and
//!   answers with the expiration it granted, which is what the state keeps).
//! * Google channels cannot be extended: renewing is creating a new channel and then stopping
//!   the old one (`POST {api}/admin/reports_v1/channels/stop`, `{"id", "resourceId"}`), so no
//!   notification falls between the two. That happens once less than a third of the channel's
//!   life remains (the engine calls hourly, so a six-hour channel is renewed with two hours
//!   to spare), when the push URL changed, or when the channel has expired (Google offers no
//!   call to read a channel back, so "gone" is "past its expiration").
//! * Without a push URL (no `public_base_url`), or with `ingest_signins` off, a channel the
//!   state still names is stopped and the state dropped.
//!
//! **The channel token is the integration's ingest token.** The daemon authenticates a push by
//! the first of [`PUSH_TOKEN_PLACES`](crate::PUSH_TOKEN_PLACES) that holds a token, and
//! `X-Goog-Channel-Token` comes first: a channel token of our own would be taken for a wrong
//! ingest token and every notification refused. So the watch request's `token` is the push
//! URL's own `token` query parameter — Google echoes it in `X-Goog-Channel-Token` and the
//! daemon checks it exactly as it checks the query (the daemon also strips the header before
//! the connector sees the request, so the connector could not check a token of its own).
//!
//! The state the engine keeps between calls is [`ChannelState`] as JSON: the channel's id and
//! `resourceId` (what `channels.stop` needs), its creation and expiration times, and an
//! HMAC-SHA256 fingerprint of the push URL under a fixed label (never the URL or the token,
//! which the URL holds).

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_core::provider::ConnectorError;
use http::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use crate::auth::Scope;
use crate::connector::{parse_json, GoogleConnector};
use crate::errors::error_from_response;
use crate::mapping::text;

/// The longest a Reports API channel lives (Google caps the requested expiration there).
pub const MAX_LIFETIME: Duration = Duration::hours(6);
/// What we ask for: the maximum less five minutes, for clock skew.
pub const ASK_LIFETIME: Duration = Duration::minutes(6 * 60 - 5);
/// The label the push URL's fingerprint is keyed with.
const FINGERPRINT_LABEL: &[u8] = b"gatehouse google push channel address v1";

/// What `maintain` remembers between calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    /// The channel id we chose (`X-Goog-Channel-ID` of its notifications).
    pub id: String,
    /// Google's id of the watched resource (`X-Goog-Resource-ID`), needed to stop the channel.
    pub resource_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// HMAC-SHA256 (base64url) of the push URL the channel delivers to, keyed with a fixed
    /// label.
    pub address_fingerprint: String,
}

impl ChannelState {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What to do with the channel the state names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It serves the current push URL with more than a third of its life left.
    Keep,
    /// No usable channel: create one (nothing to stop).
    Create,
    /// Create a new channel, then stop this one.
    Replace(Why),
}

/// Why a channel is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    AddressChanged,
    Ageing,
}

/// The decision for `previous` at `now`, the push URL's fingerprint being `fingerprint`.
pub fn decide(previous: Option<&ChannelState>, fingerprint: &str, now: DateTime<Utc>) -> Decision {
    let Some(previous) = previous else {
        return Decision::Create;
    };
    if previous.expires_at <= now {
        // Past its expiration Google has dropped it: there is nothing left to stop.
        return Decision::Create;
    }
    if previous.address_fingerprint != fingerprint {
        return Decision::Replace(Why::AddressChanged);
    }
    let life = (previous.expires_at - previous.created_at).max(Duration::zero());
    if (previous.expires_at - now) * 3 < life {
        return Decision::Replace(Why::Ageing);
    }
    Decision::Keep
}

/// The push URL's fingerprint: HMAC-SHA256 under [`FINGERPRINT_LABEL`], base64url.
pub fn fingerprint(url: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(FINGERPRINT_LABEL);
    jsonwebtoken::crypto::sign(url.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
        .unwrap_or_default()
}

/// A fresh channel id shaped like a UUID (the 128 bits of a new ULID).
pub fn new_channel_id(now: DateTime<Utc>) -> String {
    const CROCKFORD: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let ulid = gatehouse_core::ids::generate("", now);
    let bits = ulid.bytes().fold(0u128, |acc, b| {
        let digit = CROCKFORD
            .iter()
            .position(|c| *c == b.to_ascii_lowercase())
            .unwrap_or(0);
        (acc << 5) | digit as u128
    });
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The ingest token the push URL carries (`?token=`): the channel token.
fn channel_token(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Google's `expiration` (milliseconds since the epoch, an int64 sent as a string).
fn expiration(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let ms = match value? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Utc.timestamp_millis_opt(ms).single()
}

/// One round of upkeep; returns the state to keep.
pub(crate) async fn maintain(
    connector: &GoogleConnector,
    state: Option<&str>,
) -> Result<Option<String>, ConnectorError> {
    let previous = state.and_then(ChannelState::parse);
    if state.is_some() && previous.is_none() {
        tracing::warn!("the push channel state is not this connector's; starting afresh");
    }
    // Push carries login activity only: without its pull there is nothing to push either.
    let push_url = connector
        .push_url
        .as_ref()
        .filter(|_| connector.settings.ingest_signins);
    let Some(push_url) = push_url else {
        if let Some(previous) = &previous {
            if previous.expires_at > connector.clock.now() {
                stop(connector, previous).await;
            }
        }
        return Ok(None);
    };
    let address = push_url.expose_secret();
    let print = fingerprint(address);
    let now = connector.clock.now();
    let old = match decide(previous.as_ref(), &print, now) {
        Decision::Keep => return Ok(previous.map(|p| p.to_text())),
        Decision::Create => None,
        Decision::Replace(why) => {
            tracing::info!(reason = ?why, "replacing the login activity push channel");
            previous
        }
    };
    let created = create(connector, address, &print, now).await?;
    if let Some(old) = &old {
        stop(connector, old).await;
    }
    Ok(Some(created.to_text()))
}

/// `…/activity/users/all/applications/login/watch`.
fn watch_url(connector: &GoogleConnector) -> Url {
    connector.endpoint(&[
        "admin",
        "reports",
        "v1",
        "activity",
        "users",
        "all",
        "applications",
        "login",
        "watch",
    ])
}

async fn create(
    connector: &GoogleConnector,
    address: &str,
    print: &str,
    now: DateTime<Utc>,
) -> Result<ChannelState, ConnectorError> {
    let what = "creating the login activity push channel";
    let parsed = Url::parse(address)
        .map_err(|_| ConnectorError::InvalidConfig("the push URL is not a URL".into()))?;
    let token = channel_token(&parsed).ok_or_else(|| {
        ConnectorError::InvalidConfig("the push URL carries no ingest token".into())
    })?;
    let id = new_channel_id(now);
    let body = json!({
        "id": id,
        "type": "web_hook",
        "address": address,
        "token": token,
        "expiration": (now + ASK_LIFETIME).timestamp_millis().to_string(),
    });
    let fetched = connector
        .send(
            &[Scope::AuditReadonly],
            "channels",
            Method::POST,
            &watch_url(connector),
            Some(&body),
        )
        .await?;
    if !fetched.status.is_success() {
        return Err(error_from_response(fetched.status, &fetched.body, what));
    }
    let value = parse_json(&fetched.body, what)?;
    if text(value.get("id")).is_some_and(|got| got != id) {
        return Err(ConnectorError::Protocol(format!(
            "{what}: Google answered with another channel id"
        )));
    }
    let resource_id = text(value.get("resourceId"))
        .ok_or_else(|| ConnectorError::Protocol(format!("{what}: the channel has no resourceId")))?
        .to_owned();
    let expires_at = expiration(value.get("expiration"))
        .unwrap_or(now + ASK_LIFETIME)
        .min(now + MAX_LIFETIME);
    tracing::info!(channel = %id, expires_at = %expires_at, "google login activity push channel created");
    Ok(ChannelState {
        id,
        resource_id,
        created_at: now,
        expires_at,
        address_fingerprint: print.to_owned(),
    })
}

/// Stops a channel; failures only log (it expires within hours anyway).
async fn stop(connector: &GoogleConnector, channel: &ChannelState) {
    let url = connector.endpoint(&["admin", "reports_v1", "channels", "stop"]);
    let body = json!({ "id": channel.id, "resourceId": channel.resource_id });
    match connector
        .send(
            &[Scope::AuditReadonly],
            "channels",
            Method::POST,
            &url,
            Some(&body),
        )
        .await
    {
        Ok(f) if f.status.is_success() || f.status == StatusCode::NOT_FOUND => {
            tracing::info!(channel = %channel.id, "old google push channel stopped");
        }
        Ok(f) => tracing::warn!(
            channel = %channel.id,
            status = f.status.as_u16(),
            "could not stop the old google push channel"
        ),
        Err(err) => {
            tracing::warn!(channel = %channel.id, error = %err, "could not stop the old google push channel")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn state(print: &str) -> ChannelState {
        ChannelState {
            id: "01234567-89ab-cdef-0123-456789abcdef".into(),
            resource_id: "ret08u3rv24htgh289g".into(),
            created_at: at("2024-05-01T10:00:00Z"),
            expires_at: at("2024-05-01T16:00:00Z"),
            address_fingerprint: print.into(),
        }
    }

    #[test]
    fn state_round_trips_without_the_url() {
        let url = "https://gw.example/v1/idp/google_workspace?tenant_id=t&token=secret-ingest";
        let s = state(&fingerprint(url));
        let text = s.to_text();
        assert_eq!(ChannelState::parse(&text).unwrap(), s);
        assert!(!text.contains("secret-ingest") && !text.contains("gw.example"));
        assert!(ChannelState::parse("{\"id\":1}").is_none());
        assert_eq!(fingerprint(url), fingerprint(url));
        assert_ne!(
            fingerprint(url),
            fingerprint(&url.replace("secret", "other"))
        );
        assert_eq!(fingerprint(url).len(), 43);
    }

    #[test]
    fn renewal_decisions() {
        let s = state("fp");
        assert_eq!(
            decide(None, "fp", at("2024-05-01T10:00:00Z")),
            Decision::Create
        );
        assert_eq!(
            decide(Some(&s), "fp", at("2024-05-01T13:00:00Z")),
            Decision::Keep
        );
        // Two hours (a third of six) left is still enough; less is not.
        assert_eq!(
            decide(Some(&s), "fp", at("2024-05-01T14:00:00Z")),
            Decision::Keep
        );
        assert_eq!(
            decide(Some(&s), "fp", at("2024-05-01T14:01:00Z")),
            Decision::Replace(Why::Ageing)
        );
        assert_eq!(
            decide(Some(&s), "other", at("2024-05-01T11:00:00Z")),
            Decision::Replace(Why::AddressChanged)
        );
        assert_eq!(
            decide(Some(&s), "fp", at("2024-05-01T16:00:00Z")),
            Decision::Create
        );
    }

    #[test]
    fn channel_ids_are_uuid_shaped_and_fresh() {
        let now = at("2024-05-01T10:00:00Z");
        let a = new_channel_id(now);
        let b = new_channel_id(now);
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert!(a.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_channel_token_is_the_ingest_token() {
        let url =
            Url::parse("https://gw.example/v1/idp/google_workspace?tenant_id=t&token=abc").unwrap();
        assert_eq!(channel_token(&url).as_deref(), Some("abc"));
        assert!(channel_token(&Url::parse("https://gw.example/x?token=").unwrap()).is_none());
        assert_eq!(
            expiration(Some(&json!("1714579200000"))),
            Some(at("2024-05-01T16:00:00Z"))
        );
        assert_eq!(
            expiration(Some(&json!(1714579200000_i64))),
            Some(at("2024-05-01T16:00:00Z"))
        );
        assert!(expiration(Some(&json!("soon"))).is_none());
    }
}
