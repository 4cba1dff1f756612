//! App-only access tokens for Microsoft Graph: the OAuth 2.0 client credentials grant against
//! `{login}/{tenant}/oauth2/v2.0/token` with `scope={graph resource}/.default` (Microsoft
//! identity platform, "client credentials flow"), cached and renewed a safe margin before the
//! `expires_in` the token service gave (tokens live 60–90 minutes, so never assume an hour),
//! and dropped when Graph refuses one (401 `InvalidAuthenticationToken`) so the next call gets a
//! new one.
//!
//! The request goes through the shared `HttpClient` (retries on 5xx and transport errors,
//! `Retry-After` on 429) rather than the `oauth2` crate, whose reqwest integration would bypass
//! the integration's retry policy, rate-limit bookkeeping and error redaction.
//!
//! The client secret and the access tokens stay in `SecretString`s; nothing here logs either,
//! and a refusal names only the AADSTS code and the OAuth error.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_connect::HttpClient;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::Clock;
use http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::errors::token_refusal;

/// The most a token is renewed before it runs out.
const MAX_MARGIN_SECS: i64 = 300;

/// An access token as issued.
pub(crate) struct Issued {
    pub token: SecretString,
    renew_at: DateTime<Utc>,
}

/// The token endpoint's success answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    #[serde(default)]
    token_type: Option<String>,
    /// Seconds; Microsoft sends a number (older endpoints a string).
    expires_in: Option<serde_json::Value>,
}

/// The client credentials of one app registration, and its cached token.
pub(crate) struct TokenSource {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    current: tokio::sync::Mutex<Option<Arc<Issued>>>,
}

impl TokenSource {
    pub fn new(
        token_url: Url,
        client_id: String,
        client_secret: SecretString,
        scope: String,
    ) -> Self {
        Self {
            token_url,
            client_id,
            client_secret,
            scope,
            current: tokio::sync::Mutex::new(None),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The cached token, or a new one when there is none or it is about to expire. Callers
    /// wait for one token request at a time, so a burst of calls gets one token.
    pub async fn token(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<Arc<Issued>, ConnectorError> {
        let mut current = self.current.lock().await;
        if let Some(issued) = current.as_ref() {
            if clock.now() < issued.renew_at {
                return Ok(Arc::clone(issued));
            }
        }
        *current = None;
        let issued = Arc::new(self.request(http, clock).await?);
        *current = Some(Arc::clone(&issued));
        Ok(issued)
    }

    /// Forgets `used` after Graph refused it, unless a concurrent call already replaced it.
    pub async fn discard(&self, used: &Issued) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == used.token.expose_secret())
        {
            *current = None;
        }
    }

    async fn request(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<Issued, ConnectorError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", &self.scope)
            .append_pair("client_secret", self.client_secret.expose_secret())
            .append_pair("grant_type", "client_credentials")
            .finish();
        let body = SecretString::from(body);
        let asked_at = clock.now();
        let fetched = http
            .send_json("token", self.token_url.as_str(), |client| {
                client
                    .post(self.token_url.clone())
                    .header(http::header::ACCEPT, "application/json")
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.expose_secret().to_owned())
            })
            .await?;
        if fetched.status != StatusCode::OK {
            let err = token_refusal(fetched.status, &fetched.body);
            tracing::warn!(status = fetched.status.as_u16(), error = %err, "entra token request refused");
            return Err(err);
        }
        let answer: TokenAnswer = serde_json::from_slice(&fetched.body).map_err(|_| {
            ConnectorError::Protocol(
                "the Microsoft token service's answer has no access_token".into(),
            )
        })?;
        if let Some(kind) = &answer.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(ConnectorError::Protocol(format!(
                    "the Microsoft token service issued a {} token, not Bearer",
                    kind.chars().take(20).collect::<String>()
                )));
            }
        }
        let lifetime = expires_in(answer.expires_in.as_ref()).unwrap_or(3599);
        let renew_at = asked_at + Duration::seconds(lifetime - margin(lifetime));
        tracing::debug!(lifetime_s = lifetime, "entra access token issued");
        Ok(Issued {
            token: answer.access_token,
            renew_at,
        })
    }
}

/// `expires_in` as seconds (a number, or a numeric string), when positive.
fn expires_in(value: Option<&serde_json::Value>) -> Option<i64> {
    let value = value?;
    let secs = value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))?;
    (secs > 0).then_some(secs)
}

/// How long before its expiry a token of `lifetime` seconds is renewed: five minutes, or a
/// tenth of a short lifetime, so a call never leaves with a token that expires on the way.
pub(crate) fn margin(lifetime: i64) -> i64 {
    (lifetime / 10)
        .clamp(1, MAX_MARGIN_SECS)
        .min(lifetime.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_before_they_run_out() {
        assert_eq!(margin(3599), 300);
        assert_eq!(margin(600), 60);
        assert_eq!(margin(5), 1);
        assert_eq!(expires_in(Some(&serde_json::json!(4853))), Some(4853));
        assert_eq!(expires_in(Some(&serde_json::json!("3599"))), Some(3599));
        assert_eq!(expires_in(Some(&serde_json::json!(-1))), None);
    }
}
