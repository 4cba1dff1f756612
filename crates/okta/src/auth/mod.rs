//! How the connector proves itself to Okta's Management API: an `SSWS` API token, or an OAuth
//! 2.0 service app whose scoped access tokens come from the org authorization server
//! ([`token`]), sent as `Bearer`, or as `DPoP` with a fresh proof per request when the app
//! requires DPoP.
//!
//! Which Okta scope each call Gatehouse makes needs (the `security` block of each operation in
//! Okta's management OpenAPI spec):
//!
//! | scope | calls |
//! |---|---|
//! | `okta.users.read` | `GET /api/v1/users`, `/users/{id}`, `/users/{id}/factors`, `/users/{id}/groups` |
//! | `okta.groups.read` | `GET /api/v1/groups`, `/groups/{id}/users` |
//! | `okta.roles.read` | `GET /api/v1/iam/assignees/users` (who is an admin) |
//! | `okta.logs.read` | `GET /api/v1/logs` |
//! | `okta.users.manage` | `POST /users/{id}/lifecycle/suspend`, `unsuspend`, `unlock`, `deactivate`, `reset_factors`; `DELETE /users/{id}/sessions` |
//! | `okta.groups.manage` | `PUT /api/v1/groups/{groupId}/users/{userId}` (enforce_mfa's group) |
//!
//! Secrets stay in `SecretString`s and sensitive header values; nothing here logs a token, a
//! key, an assertion or a proof.

mod keys;
mod token;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use gatehouse_connect::HttpClient;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::Clock;
use http::{HeaderValue, Method};
use secrecy::ExposeSecret;
use serde_json::{json, Map};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::OktaCredentials;
use crate::factory::Settings;

pub(crate) use keys::{KeyError, Signer};
use token::{sensitive, Issued, ServiceApp};

/// How the connector authenticates.
pub(crate) enum Auth {
    /// `Authorization: SSWS <token>`.
    ApiToken(HeaderValue),
    ServiceApp(Box<ServiceApp>),
}

/// What one request carries: the API token, or the access token it was sent with (so a 401 can
/// discard exactly that one).
pub(crate) enum Presented {
    ApiToken(HeaderValue),
    Access(Arc<Issued>),
}

impl Presented {
    /// The scopes Okta granted the access token (as its token answer said).
    pub fn granted_scope(&self) -> Option<&str> {
        match self {
            Self::Access(issued) => Some(&issued.scope),
            Self::ApiToken(_) => None,
        }
    }
}

impl Auth {
    /// From the typed credentials; `token_url` is on the org's own host.
    pub fn new(
        credentials: &OktaCredentials,
        settings: &Settings,
        token_url: Url,
    ) -> Result<Self, ConnectorError> {
        if let Some(token) = &credentials.api_token {
            let mut value =
                HeaderValue::from_str(&format!("SSWS {}", token.expose_secret().trim())).map_err(
                    |_| {
                        ConnectorError::InvalidConfig(
                    "credentials.api_token contains characters not allowed in an HTTP header"
                        .into(),
                )
                    },
                )?;
            value.set_sensitive(true);
            return Ok(Self::ApiToken(value));
        }
        let (Some(client_id), Some(private_key)) =
            (&credentials.client_id, &credentials.private_key)
        else {
            return Err(ConnectorError::InvalidConfig(
                "credentials: give api_token, or client_id and private_key".into(),
            ));
        };
        let invalid =
            |e: KeyError| ConnectorError::InvalidConfig(format!("credentials.private_key {e}"));
        let signer = private_key
            .signer(credentials.key_id.as_deref())
            .map_err(invalid)?;
        let scopes = credentials
            .scopes
            .clone()
            .unwrap_or_else(|| default_scopes(settings));
        let app = ServiceApp::new(client_id.trim().to_owned(), signer, scopes, token_url)
            .map_err(invalid)?;
        Ok(Self::ServiceApp(Box::new(app)))
    }

    pub fn is_oauth(&self) -> bool {
        matches!(self, Self::ServiceApp(_))
    }

    /// The service app's client id and the scopes it asks for.
    pub fn service_app(&self) -> Option<(&str, &[String])> {
        match self {
            Self::ServiceApp(app) => Some((&app.client_id, &app.scopes)),
            Self::ApiToken(_) => None,
        }
    }

    /// What the next request carries, getting an access token first when needed.
    pub async fn present(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<Presented, ConnectorError> {
        match self {
            Self::ApiToken(value) => Ok(Presented::ApiToken(value.clone())),
            Self::ServiceApp(app) => Ok(Presented::Access(app.token(http, clock).await?)),
        }
    }

    /// Adds `Authorization` (and for a DPoP-bound token, a new `DPoP` proof for this method and
    /// URL) to one attempt of a request.
    pub fn apply(
        &self,
        request: reqwest::RequestBuilder,
        presented: &Presented,
        method: &Method,
        url: &Url,
        now: DateTime<Utc>,
    ) -> reqwest::RequestBuilder {
        match (self, presented) {
            (_, Presented::ApiToken(value)) => {
                request.header(http::header::AUTHORIZATION, value.clone())
            }
            (Self::ServiceApp(app), Presented::Access(issued)) if issued.dpop => {
                let token = issued.token.expose_secret();
                let mut request = request;
                if let Some(value) = sensitive(&format!("DPoP {token}")) {
                    request = request.header(http::header::AUTHORIZATION, value);
                }
                let nonce = app.resource_nonce.lock().ok().and_then(|n| n.clone());
                match resource_proof(app, method, url, now, token, nonce) {
                    Some(proof) => request.header("DPoP", proof),
                    None => {
                        // Okta then answers 401, which surfaces; the key is our own, so this
                        // cannot be the admin's to fix.
                        tracing::warn!("could not sign a DPoP proof");
                        request
                    }
                }
            }
            (_, Presented::Access(issued)) => {
                match sensitive(&format!("Bearer {}", issued.token.expose_secret())) {
                    Some(value) => request.header(http::header::AUTHORIZATION, value),
                    None => request,
                }
            }
        }
    }

    /// After a 401: forgets the access token it answered (so the retry gets a new one), or,
    /// when the API asked for a DPoP nonce, keeps the token and remembers the nonce.
    pub async fn refused(&self, presented: &Presented, headers: &http::HeaderMap) {
        let Self::ServiceApp(app) = self else { return };
        let Presented::Access(issued) = presented else {
            return;
        };
        let asks_nonce = headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("use_dpop_nonce"));
        let nonce = headers
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if asks_nonce && nonce.is_some() {
            if let Ok(mut slot) = app.resource_nonce.lock() {
                *slot = nonce;
            }
            return;
        }
        app.discard(issued).await;
    }
}

/// The scopes asked for when `credentials.scopes` is not given: what the pulls need, and the
/// manage scopes when response actions are enabled. Okta refuses the whole request if one is not
/// granted to the app, so each is asked for only when a call needs it.
pub(crate) fn default_scopes(settings: &Settings) -> Vec<String> {
    let mut scopes = vec!["okta.users.read", "okta.groups.read", "okta.roles.read"];
    // Response actions read the System Log too: they confirm pushed events there first.
    if settings.ingest_system_log || settings.enable_response_actions {
        scopes.push("okta.logs.read");
    }
    if settings.enable_response_actions {
        scopes.push("okta.users.manage");
        if settings.mfa_group_id.is_some() {
            scopes.push("okta.groups.manage");
        }
    }
    scopes.into_iter().map(str::to_owned).collect()
}

/// `htu`: the request URL without query and fragment (RFC 9449 §4.2).
pub(crate) fn htu(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// A DPoP proof for an API call: `htm`, `htu`, `iat`, `jti` and `ath` (base64url SHA-256 of the
/// access token), plus the nonce when the API asked for one.
fn resource_proof(
    app: &ServiceApp,
    method: &Method,
    url: &Url,
    now: DateTime<Utc>,
    token: &str,
    nonce: Option<String>,
) -> Option<HeaderValue> {
    let mut claims = Map::new();
    claims.insert("htm".into(), json!(method.as_str()));
    claims.insert("htu".into(), json!(htu(url)));
    claims.insert("iat".into(), json!(now.timestamp()));
    claims.insert("jti".into(), json!(keys::random_id().ok()?));
    claims.insert(
        "ath".into(),
        json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))),
    );
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let proof = app.proof_key.sign(&claims).ok()?;
    sensitive(&proof)
}
