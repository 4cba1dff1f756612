//! How each call is authenticated: the app's static bearer token, or an OAuth 2.0 access token
//! from the app's token endpoint by the client-credentials grant (RFC 6749 §4.4, the client
//! authenticated with HTTP Basic as §2.3.1 says), kept until shortly before it expires and
//! fetched again when the app answers 401. Tokens and the client secret stay in secret types
//! and sensitive header values.

use std::sync::Mutex;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use gatehouse_connect::HttpClient;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::Clock;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

/// How long before its stated expiry a cached token is replaced.
const EARLY: i64 = 60;

/// An OAuth client of the app.
pub(crate) struct Client {
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scope: Option<String>,
    cached: Mutex<Option<(HeaderValue, DateTime<Utc>)>>,
}

pub(crate) enum Auth {
    Bearer(HeaderValue),
    Client(Box<Client>),
}

/// `Bearer {token}` as a sensitive header value.
pub(crate) fn bearer(token: &SecretString) -> Result<HeaderValue, ConnectorError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret().trim()))
        .map_err(|_| {
            ConnectorError::InvalidConfig(
                "the token holds characters not allowed in a header".into(),
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Client {
    pub fn new(
        token_url: Url,
        client_id: String,
        client_secret: SecretString,
        scope: Option<String>,
    ) -> Self {
        Self {
            token_url,
            client_id,
            client_secret,
            scope,
            cached: Mutex::new(None),
        }
    }

    fn basic(&self) -> Result<HeaderValue, ConnectorError> {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.expose_secret())
        );
        let mut value = HeaderValue::from_str(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
        .map_err(|_| ConnectorError::InvalidConfig("the OAuth client cannot be encoded".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    async fn fetch(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<HeaderValue, ConnectorError> {
        let basic = self.basic()?;
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let fetched = http
            .send("token", self.token_url.as_str(), |client| {
                client
                    .post(self.token_url.clone())
                    .header(http::header::AUTHORIZATION, basic.clone())
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .header(http::header::ACCEPT, "application/json")
                    .body(body.clone())
            })
            .await?;
        let answer: Value = serde_json::from_slice(&fetched.body).unwrap_or(Value::Null);
        if !fetched.status.is_success() {
            // RFC 6749 §5.2: `error` names why; its description is the server's text.
            let error = answer
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error code");
            return Err(ConnectorError::Unauthorized(format!(
                "the app's token endpoint refused the OAuth client ({}: {error})",
                fetched.status.as_u16()
            )));
        }
        let token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ConnectorError::Protocol("the token endpoint's answer has no access_token".into())
            })?;
        let header = bearer(&SecretString::from(token.to_owned()))?;
        let lifetime = answer
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(300)
            .max(EARLY + 1);
        let until = clock.now() + Duration::seconds(lifetime - EARLY);
        if let Ok(mut slot) = self.cached.lock() {
            *slot = Some((header.clone(), until));
        }
        Ok(header)
    }
}

impl Auth {
    /// The `Authorization` value for the next call.
    pub async fn header(
        &self,
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<HeaderValue, ConnectorError> {
        match self {
            Self::Bearer(value) => Ok(value.clone()),
            Self::Client(client) => {
                let cached = client
                    .cached
                    .lock()
                    .ok()
                    .and_then(|slot| slot.clone())
                    .filter(|(_, until)| *until > clock.now());
                match cached {
                    Some((value, _)) => Ok(value),
                    None => client.fetch(http, clock).await,
                }
            }
        }
    }

    /// Drops a token the app refused; true when a fresh one may be fetched (OAuth).
    pub fn forget(&self) -> bool {
        match self {
            Self::Bearer(_) => false,
            Self::Client(client) => {
                if let Ok(mut slot) = client.cached.lock() {
                    *slot = None;
                }
                true
            }
        }
    }
}
