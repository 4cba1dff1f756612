//! Access tokens of an OAuth 2.0 service app from the org authorization server
//! (`POST {org}/oauth2/v1/token`): the client credentials grant with a `private_key_jwt` client
//! assertion, DPoP-bound when the app requires it, cached until shortly before it expires.
//!
//! From Okta's guides "Implement OAuth for Okta with a service app" and "Configure OAuth 2.0
//! Demonstrating Proof-of-Possession" (Okta resource server): the assertion's `iss` and `sub` are
//! the client id, `aud` the token URL, `exp` at most an hour ahead; tokens live one hour. Whether
//! an app requires DPoP is the app's setting (new API Services apps require it by default), and
//! nothing in the credentials says which, so the first request goes without a proof and Okta's
//! `invalid_dpop_proof` answer ("The DPoP proof JWT header is missing.") switches the connector
//! to DPoP for good; the `use_dpop_nonce` answer carries the `dpop-nonce` to put in the proof and
//! is retried once. Okta renews that nonce daily and honours an old one for three days, so the
//! last one seen is kept and sent with every later token request.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use gatehouse_connect::HttpClient;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::Clock;
use http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use url::Url;

use super::keys::{random_id, KeyError, ProofKey, Signer};

/// `client_assertion_type` for `private_key_jwt` (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a client assertion is valid: well inside Okta's one-hour limit, long enough for a
/// slow request and its retries.
const ASSERTION_LIFETIME: i64 = 300;
/// The most a token is renewed before its `expires_in` runs out, so that a call never leaves
/// with a token that expires on the way.
const MAX_EARLY_RENEWAL: i64 = 60;

/// An access token as issued.
pub(crate) struct Issued {
    pub token: SecretString,
    /// Issued as `token_type: DPoP` (bound to the proof key).
    pub dpop: bool,
    pub scope: String,
    renew_at: DateTime<Utc>,
}

/// What the token endpoint has taught this connector.
#[derive(Default)]
struct State {
    current: Option<Arc<Issued>>,
    /// The app requires DPoP (learned from Okta's answer).
    dpop: bool,
    /// The last `dpop-nonce` the token endpoint sent.
    nonce: Option<String>,
}

/// One OAuth 2.0 service app (API Services app integration) of the org.
pub(crate) struct ServiceApp {
    pub client_id: String,
    signer: Signer,
    pub scopes: Vec<String>,
    token_url: Url,
    pub proof_key: ProofKey,
    state: tokio::sync::Mutex<State>,
    /// A `dpop-nonce` the Management API asked proofs to carry (RFC 9449 §9; Okta documents
    /// none so far, but honouring one costs nothing).
    pub resource_nonce: Mutex<Option<String>>,
}

impl ServiceApp {
    pub fn new(
        client_id: String,
        signer: Signer,
        scopes: Vec<String>,
        token_url: Url,
    ) -> Result<Self, KeyError> {
        Ok(Self {
            client_id,
            signer,
            scopes,
            token_url,
            proof_key: ProofKey::generate()?,
            state: tokio::sync::Mutex::default(),
            resource_nonce: Mutex::default(),
        })
    }

    /// The cached token, or a new one when there is none or it is about to expire. Callers
    /// wait for one token request at a time, so a burst of calls gets one token.
    pub async fn token(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<Arc<Issued>, ConnectorError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current {
            if clock.now() < current.renew_at {
                return Ok(Arc::clone(current));
            }
        }
        state.current = None;
        let issued = Arc::new(self.request(http, clock, &mut state).await?);
        state.current = Some(Arc::clone(&issued));
        Ok(issued)
    }

    /// Forgets `used` after the API refused it (revoked, expired early, clock skew), unless a
    /// concurrent call already replaced it.
    pub async fn discard(&self, used: &Issued) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == used.token.expose_secret())
        {
            state.current = None;
        }
    }

    async fn request(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
        state: &mut State,
    ) -> Result<Issued, ConnectorError> {
        let scope = self.scopes.join(" ");
        let mut switched_to_dpop = false;
        let mut nonce_retried = false;
        loop {
            let (dpop, nonce) = (state.dpop, state.nonce.clone());
            let failure: Mutex<Option<KeyError>> = Mutex::default();
            let fetched = http
                .send_json("token", self.token_url.as_str(), |client| {
                    let mut request = client
                        .post(self.token_url.clone())
                        .header(http::header::ACCEPT, "application/json")
                        .header(
                            http::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded",
                        );
                    // Signed per attempt: Okta refuses a `jti` it has seen, and a retry after a
                    // lost answer must not look like a replay.
                    let now = clock.now();
                    let signed = self.assertion(now).and_then(|assertion| {
                        let proof = if dpop {
                            Some(self.token_proof(now, nonce.as_deref())?)
                        } else {
                            None
                        };
                        Ok((assertion, proof))
                    });
                    match signed {
                        Ok((assertion, proof)) => {
                            let body = url::form_urlencoded::Serializer::new(String::new())
                                .append_pair("grant_type", "client_credentials")
                                .append_pair("scope", &scope)
                                .append_pair("client_assertion_type", JWT_BEARER)
                                .append_pair("client_assertion", &assertion)
                                .finish();
                            request = request.body(body);
                            if let Some(value) = proof.and_then(|p| sensitive(&p)) {
                                request = request.header("DPoP", value);
                            }
                        }
                        Err(err) => {
                            if let Ok(mut slot) = failure.lock() {
                                *slot = Some(err);
                            }
                        }
                    }
                    request
                })
                .await?;
            if let Some(err) = failure.lock().ok().and_then(|mut slot| slot.take()) {
                return Err(ConnectorError::InvalidConfig(format!(
                    "credentials.private_key {err}"
                )));
            }
            if let Some(fresh) = fetched
                .headers
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                state.nonce = Some(fresh.to_owned());
            }
            if fetched.status.is_success() {
                return self.issued(&fetched.body, clock.now());
            }
            let refusal = OAuthError::parse(&fetched.body);
            match refusal.error.as_str() {
                "use_dpop_nonce" if state.dpop && !nonce_retried && state.nonce.is_some() => {
                    nonce_retried = true;
                }
                "invalid_dpop_proof" if !state.dpop && !switched_to_dpop => {
                    tracing::debug!(
                        client_id = %self.client_id,
                        "the service app requires DPoP; asking again with a proof"
                    );
                    state.dpop = true;
                    switched_to_dpop = true;
                }
                _ => return Err(refusal.into_error(fetched.status, &self.scopes)),
            }
        }
    }

    /// The `private_key_jwt` client assertion (RFC 7523 §3, Okta's claims).
    fn assertion(&self, now: DateTime<Utc>) -> Result<String, KeyError> {
        let mut header = jsonwebtoken::Header::new(self.signer.alg);
        header.kid = self.signer.kid.clone();
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url.as_str(),
            "iat": now.timestamp(),
            "exp": now.timestamp() + ASSERTION_LIFETIME,
            "jti": random_id()?,
        });
        self.signer.sign(header, &claims)
    }

    /// The token request's DPoP proof: `POST` to the token URL, with the server's nonce.
    fn token_proof(&self, now: DateTime<Utc>, nonce: Option<&str>) -> Result<String, KeyError> {
        let mut claims = Map::new();
        claims.insert("htm".into(), json!("POST"));
        claims.insert("htu".into(), json!(super::htu(&self.token_url)));
        claims.insert("iat".into(), json!(now.timestamp()));
        claims.insert("jti".into(), json!(random_id()?));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        self.proof_key.sign(&claims)
    }

    fn issued(&self, body: &[u8], now: DateTime<Utc>) -> Result<Issued, ConnectorError> {
        let answer: Value = serde_json::from_slice(body)
            .map_err(|_| ConnectorError::Protocol("Okta's token answer is not JSON".into()))?;
        let token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ConnectorError::Protocol("Okta's token answer has no access_token".into())
            })?;
        let dpop = answer
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("DPoP"));
        // Okta fixes the lifetime at an hour; a missing `expires_in` is taken as that.
        let lifetime = answer
            .get("expires_in")
            .and_then(Value::as_i64)
            .filter(|s| *s > 0)
            .unwrap_or(3600);
        let early = (lifetime / 10).min(MAX_EARLY_RENEWAL);
        let scope = answer
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        tracing::debug!(
            client_id = %self.client_id,
            expires_in = lifetime,
            scope = %scope,
            dpop,
            "okta access token issued"
        );
        Ok(Issued {
            token: SecretString::from(token.to_owned()),
            dpop,
            scope,
            renew_at: now + Duration::seconds(lifetime - early),
        })
    }
}

/// A header value that is never printed (`Debug` shows `Sensitive`).
pub(crate) fn sensitive(value: &str) -> Option<http::HeaderValue> {
    let mut value = http::HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// An OAuth error answer (RFC 6749 §5.2): `{"error", "error_description"}`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub error: String,
    pub description: Option<String>,
}

impl OAuthError {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(300).collect::<String>())
        };
        Self {
            error: text("error").unwrap_or_default(),
            description: text("error_description"),
        }
    }

    /// The engine's word for a refused token request. Okta's descriptions name what was wrong
    /// (a claim, a scope), never the assertion itself, so they are passed on.
    fn into_error(self, status: StatusCode, scopes: &[String]) -> ConnectorError {
        let said = match (&self.error, &self.description) {
            (e, Some(d)) if !e.is_empty() => format!("{e}: {d}"),
            (e, None) if !e.is_empty() => e.clone(),
            _ => format!("HTTP {}", status.as_u16()),
        };
        let what = "getting an access token for the service app";
        match self.error.as_str() {
            "invalid_client" | "invalid_grant" | "unauthorized_client" => {
                ConnectorError::Unauthorized(format!("{what}: {said}"))
            }
            "invalid_scope" | "access_denied" => ConnectorError::Forbidden(format!(
                "{what}: Okta refused the scopes asked for ({}): {said}; grant them to the \
                 service app (Okta API Scopes tab) or narrow credentials.scopes",
                scopes.join(" ")
            )),
            _ if status == StatusCode::UNAUTHORIZED => {
                ConnectorError::Unauthorized(format!("{what}: {said}"))
            }
            _ if status == StatusCode::FORBIDDEN => {
                ConnectorError::Forbidden(format!("{what}: {said}"))
            }
            _ if status == StatusCode::TOO_MANY_REQUESTS => {
                ConnectorError::RateLimited { retry_after: None }
            }
            _ if status.is_server_error() => ConnectorError::Unavailable(format!("{what}: {said}")),
            _ => ConnectorError::Protocol(format!(
                "{what}: Okta answered {}: {said}",
                status.as_u16()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(body: &str, status: u16) -> ConnectorError {
        OAuthError::parse(body.as_bytes()).into_error(
            StatusCode::from_u16(status).unwrap(),
            &["okta.users.read".into(), "okta.logs.read".into()],
        )
    }

    #[test]
    fn token_errors_map_to_the_engine_words() {
        let bad_key = r#"{"error":"invalid_client","error_description":"The client_assertion signature is invalid."}"#;
        assert!(
            matches!(error(bad_key, 401), ConnectorError::Unauthorized(m) if m.contains("signature is invalid"))
        );
        assert!(matches!(
            error(r#"{"error":"invalid_grant"}"#, 400),
            ConnectorError::Unauthorized(_)
        ));
        let scope = r#"{"error":"invalid_scope","error_description":"The following scopes are not allowed: okta.logs.read"}"#;
        assert!(matches!(error(scope, 400), ConnectorError::Forbidden(m)
            if m.contains("okta.users.read okta.logs.read") && m.contains("not allowed: okta.logs.read")));
        assert!(
            matches!(error("<html>", 400), ConnectorError::Protocol(m) if m.ends_with("HTTP 400"))
        );
        assert!(matches!(error("", 401), ConnectorError::Unauthorized(_)));
    }
}
