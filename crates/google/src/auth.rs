//! Access tokens for the Admin SDK: the OAuth 2.0 JWT-bearer grant (RFC 7523) of a service
//! account with domain-wide delegation, as Google's auth libraries build it
//! (google-auth `service_account.py`, `_client.py`):
//!
//! * an RS256 JWT signed with the key file's `private_key`, header `kid` = `private_key_id`
//!   when the key file has one; claims `iss` = `client_email`, `sub` = the admin impersonated,
//!   `aud` = the token URI, `scope` = the space-separated scopes, `iat` = now,
//!   `exp` = now + 3600 (Google's limit is one hour);
//! * `POST {token_uri}` with the form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
//!   and `assertion={jwt}`; the answer carries `access_token` and `expires_in`.
//!
//! Each call asks for only the scopes it needs ([`Scope`]), so a missing grant in domain-wide
//! delegation fails only the feature that needs it; tokens are cached per scope set and renewed
//! a margin before `expires_in` (never assumed to be an hour), and dropped when an API refuses
//! one (401) so the next call gets a new one.
//!
//! The key is parsed once, when the connector is built; neither it, nor the assertion, nor a
//! token reaches a log line or an error (a refusal names only Google's `error` code and its
//! description).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_connect::HttpClient;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::Clock;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::errors::token_refusal;

/// Google's token endpoint, when the key file names none.
pub const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The JWT-bearer grant type (RFC 7523 §2.1).
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The assertion's lifetime: Google accepts at most one hour.
const ASSERTION_SECS: i64 = 3600;
/// The most a token is renewed before it runs out (google-auth renews 3 min 45 s before).
const MAX_MARGIN_SECS: i64 = 300;

/// The OAuth scopes this connector asks for, one feature each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Reading users (`users.list`, `users.get`).
    UserReadonly,
    /// Reading groups and their members.
    GroupReadonly,
    /// Reading audit activity (the login report).
    AuditReadonly,
    /// Changing users (suspend, org unit, `changePasswordAtNextLogin`).
    User,
    /// Signing a user out (`users.signOut`).
    UserSecurity,
    /// Adding a member to a group.
    GroupMember,
}

impl Scope {
    pub fn url(self) -> &'static str {
        match self {
            Self::UserReadonly => "https://www.googleapis.com/auth/admin.directory.user.readonly",
            Self::GroupReadonly => "https://www.googleapis.com/auth/admin.directory.group.readonly",
            Self::AuditReadonly => "https://www.googleapis.com/auth/admin.reports.audit.readonly",
            Self::User => "https://www.googleapis.com/auth/admin.directory.user",
            Self::UserSecurity => "https://www.googleapis.com/auth/admin.directory.user.security",
            Self::GroupMember => "https://www.googleapis.com/auth/admin.directory.group.member",
        }
    }
}

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
    /// Seconds; a number (google-auth also accepts a numeric string).
    expires_in: Option<serde_json::Value>,
}

/// A service account's signing key and the admin it acts as, with its cached tokens.
pub(crate) struct TokenSource {
    token_url: Url,
    client_email: String,
    admin_email: String,
    key: EncodingKey,
    kid: Option<String>,
    current: tokio::sync::Mutex<BTreeMap<Vec<Scope>, Arc<Issued>>>,
}

impl TokenSource {
    /// Reads the PEM key (PKCS#8 `BEGIN PRIVATE KEY`, as Google issues it, or PKCS#1) and
    /// proves it signs; the error never carries key material.
    pub fn new(
        token_url: Url,
        client_email: String,
        admin_email: String,
        private_key: &SecretString,
        kid: Option<String>,
    ) -> Result<Self, ConnectorError> {
        let refused = || {
            ConnectorError::InvalidConfig(
                "credentials.service_account.private_key: cannot sign with it; give the \
                 unencrypted RSA private key from the service account's JSON key file"
                    .into(),
            )
        };
        let key = EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
            .map_err(|_| refused())?;
        jsonwebtoken::crypto::sign(b"gatehouse key check", &key, Algorithm::RS256)
            .map_err(|_| refused())?;
        Ok(Self {
            token_url,
            client_email,
            admin_email,
            key,
            kid: kid.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()),
            current: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    pub fn admin_email(&self) -> &str {
        &self.admin_email
    }

    /// The signed assertion for `scopes` at `now` (exposed to the crate's tests).
    pub(crate) fn assertion(
        &self,
        scopes: &[Scope],
        now: DateTime<Utc>,
    ) -> Result<SecretString, ConnectorError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.kid.clone();
        let iat = now.timestamp();
        let scope: Vec<&str> = scopes.iter().map(|s| s.url()).collect();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "sub": self.admin_email,
            "aud": self.token_url.as_str(),
            "scope": scope.join(" "),
            "iat": iat,
            "exp": iat + ASSERTION_SECS,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|_| ConnectorError::InvalidConfig("signing the JWT assertion failed".into()))
    }

    /// The cached token for `scopes`, or a new one when there is none or it is about to
    /// expire. One token request at a time, so a burst of calls gets one token.
    pub async fn token(
        &self,
        scopes: &[Scope],
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<Arc<Issued>, ConnectorError> {
        let key = normalized(scopes);
        let mut current = self.current.lock().await;
        if let Some(issued) = current.get(&key) {
            if clock.now() < issued.renew_at {
                return Ok(Arc::clone(issued));
            }
        }
        current.remove(&key);
        let issued = Arc::new(self.request(&key, http, clock).await?);
        current.insert(key, Arc::clone(&issued));
        Ok(issued)
    }

    /// Forgets `used` after an API refused it, unless a concurrent call already replaced it.
    pub async fn discard(&self, scopes: &[Scope], used: &Issued) {
        let key = normalized(scopes);
        let mut current = self.current.lock().await;
        if current
            .get(&key)
            .is_some_and(|c| c.token.expose_secret() == used.token.expose_secret())
        {
            current.remove(&key);
        }
    }

    async fn request(
        &self,
        scopes: &[Scope],
        http: &HttpClient,
        clock: &dyn Clock,
    ) -> Result<Issued, ConnectorError> {
        let asked_at = clock.now();
        let assertion = self.assertion(scopes, asked_at)?;
        let body = SecretString::from(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", GRANT_TYPE)
                .append_pair("assertion", assertion.expose_secret())
                .finish(),
        );
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
            tracing::warn!(status = fetched.status.as_u16(), error = %err, "google token request refused");
            return Err(err);
        }
        let answer: TokenAnswer = serde_json::from_slice(&fetched.body).map_err(|_| {
            ConnectorError::Protocol(
                "Google's token endpoint answered without an access_token".into(),
            )
        })?;
        if let Some(kind) = &answer.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(ConnectorError::Protocol(
                    "Google's token endpoint issued a token that is not Bearer".into(),
                ));
            }
        }
        let lifetime = expires_in(answer.expires_in.as_ref()).unwrap_or(3599);
        tracing::debug!(
            lifetime_s = lifetime,
            scopes = scopes.len(),
            "google access token issued"
        );
        Ok(Issued {
            token: answer.access_token,
            renew_at: asked_at + Duration::seconds(lifetime - margin(lifetime)),
        })
    }
}

fn normalized(scopes: &[Scope]) -> Vec<Scope> {
    let mut key = scopes.to_vec();
    key.sort();
    key.dedup();
    key
}

/// `expires_in` as seconds (a number, or a numeric string), when positive.
fn expires_in(value: Option<&serde_json::Value>) -> Option<i64> {
    let value = value?;
    let secs = value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))?;
    (secs > 0).then_some(secs)
}

/// How long before its expiry a token of `lifetime` seconds is renewed.
fn margin(lifetime: i64) -> i64 {
    (lifetime / 10)
        .clamp(1, MAX_MARGIN_SECS)
        .min(lifetime.max(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    const KEY: &str = include_str!("../tests/fixtures/test_key.pem");

    #[test]
    fn the_assertion_carries_google_claims() {
        let source = TokenSource::new(
            Url::parse(TOKEN_URI).unwrap(),
            "gh@proj.iam.gserviceaccount.com".into(),
            "admin@acme.example".into(),
            &SecretString::from(KEY.to_owned()),
            Some("abc123".into()),
        )
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let jwt = source
            .assertion(&[Scope::UserReadonly, Scope::AuditReadonly], now)
            .unwrap();
        let header = jsonwebtoken::decode_header(jwt.expose_secret()).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("abc123"));
        // Read the claims without checking the signature (the public half is not at hand).
        let mut validation = Validation::new(Algorithm::RS256);
        validation.insecure_disable_signature_validation();
        validation.validate_exp = false;
        validation.set_audience(&[TOKEN_URI]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            jwt.expose_secret(),
            &DecodingKey::from_secret(b"unused"),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["iss"], "gh@proj.iam.gserviceaccount.com");
        assert_eq!(claims["sub"], "admin@acme.example");
        assert_eq!(claims["aud"], TOKEN_URI);
        assert_eq!(
            claims["scope"],
            "https://www.googleapis.com/auth/admin.directory.user.readonly \
             https://www.googleapis.com/auth/admin.reports.audit.readonly"
        );
        assert_eq!(claims["iat"], now.timestamp());
        assert_eq!(claims["exp"], now.timestamp() + 3600);
    }

    #[test]
    fn a_bad_key_is_refused_without_showing_it() {
        let err = TokenSource::new(
            Url::parse(TOKEN_URI).unwrap(),
            "a@b.example".into(),
            "c@d.example".into(),
            &SecretString::from(
                "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----".to_owned(),
            ),
            None,
        )
        .err()
        .unwrap();
        assert!(!err.to_string().contains("MIIEsecret"), "{err}");
        assert!(matches!(err, ConnectorError::InvalidConfig(_)));
    }

    #[test]
    fn tokens_are_renewed_before_they_run_out() {
        assert_eq!(margin(3599), 300);
        assert_eq!(margin(600), 60);
        assert_eq!(expires_in(Some(&serde_json::json!("3599"))), Some(3599));
        assert_eq!(expires_in(Some(&serde_json::json!(0))), None);
        assert_eq!(
            normalized(&[Scope::User, Scope::UserReadonly, Scope::User]),
            vec![Scope::UserReadonly, Scope::User]
        );
    }
}
