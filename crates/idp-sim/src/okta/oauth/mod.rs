//! OAuth 2.0 service apps of the simulated org: the org authorization
//! server's `POST /oauth2/v1/token` (client credentials with a
//! `private_key_jwt` client assertion, optionally DPoP-bound) and the
//! Management API's acceptance of the access tokens it issued (`Bearer`, or
//! `DPoP` with a fresh proof), each limited to its scopes and lifetime.
//!
//! Written from Okta's documentation:
//! - "Implement OAuth for Okta with a service app",
//!   <https://developer.okta.com/docs/guides/oauth-for-okta/get-access-token-using-service-app/>
//!   (okta/okta-developer-docs `docs/guides/implement-oauth-for-okta-serviceapp/main/index.md`):
//!   client credentials is the only grant for Okta scopes; `private_key_jwt` the only client
//!   authentication; assertion `alg` RS256/384/512 or ES256/384/512 in the header, `iss` = `sub`
//!   = client id, `aud` = `https://{org}/oauth2/v1/token`, `exp` at most an hour ahead, `jti`
//!   optional and used against replay; form fields `grant_type`, `scope`,
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
//!   `client_assertion`; answer `{"token_type":"Bearer","expires_in":3600,"access_token",
//!   "scope"}`; requested scopes must be in the app's grants.
//! - "Configure OAuth 2.0 Demonstrating Proof-of-Possession",
//!   <https://developer.okta.com/docs/guides/dpop/main/> (`docs/guides/dpop/main/index.md`
//!   and its `oktaresourceserver/` snippets): proof header `typ: dpop+jwt`, asymmetric `alg`,
//!   `jwk`; claims `htm`, `htu`, `iat`, `jti`; a first token request without a nonce gets
//!   400 `{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce
//!   in DPoP proof."}` with a `dpop-nonce` header; the answer's `token_type` is `DPoP`; API
//!   calls send `Authorization: DPoP <token>` and a new proof with `ath` (base64url SHA-256 of
//!   the token), which Okta checks against the token's key; the `nonce` is not required there.
//! - Okta support, "insufficient_scope Error when Making a Request to an OAuth or Management
//!   Endpoint" <https://support.okta.com/help/s/article/insufficient-scope-error-when-making-a-request-to-an-oauth-or-management-endpoint>:
//!   403 with `www-authenticate: Bearer authorization_uri=…, realm=…, scope="…",
//!   error="insufficient_scope", error_description="The access token provided does not contain
//!   the required scopes.", resource="/api/v1/…"`.
//! - Okta support, "Okta Client Assertion Error: Invalid Key ID"
//!   <https://support.okta.com/help/s/article/okta-client-assertion-error-invalid-key-id>:
//!   `{"error":"invalid_client","error_description":"The client_assertion JWT kid is invalid."}`.
//! - RFC 9449 (DPoP) for the proof checks and the JWK thumbprint binding (RFC 7638); RFC 6749
//!   §5.2 for the statuses of token errors (`invalid_client` 401, the others 400).
//!
//! Not found in Okta's text, so the simulator's own choice: the wording of most
//! `error_description`s; the 401 body for an expired or unknown access token (Okta's
//! E0000011 "Invalid token provided" with `www-authenticate: Bearer error="invalid_token"`);
//! that `okta.*.manage` also allows the matching reads; the answer to a bad proof on an API call
//! (401, `www-authenticate: DPoP error="invalid_dpop_proof"`).

mod jwt;
mod resource;
mod testkey;
mod token;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use resource::required_scopes;
pub use testkey::{KeyError, TestKeyPair};

pub(crate) use resource::{check, Verdict};
pub(crate) use token::issue;

use super::OktaSim;

/// The value of `client_assertion_type` Okta requires.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The path of the org authorization server's token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/v1/token";

/// An API Services app registered in the org.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceApp {
    /// The app's `client_id` (`0oa…`).
    pub client_id: String,
    /// Its public keys as JWKs (`kty` RSA or EC), as in the app's JWKS.
    pub keys: Vec<Value>,
    /// The Okta scopes granted to the app (`okta.users.read`…).
    pub scopes: Vec<String>,
    /// Whether the app requires DPoP-bound tokens.
    pub require_dpop: bool,
    /// How long its access tokens live (Okta: fixed at one hour).
    pub token_lifetime: chrono::Duration,
}

impl ServiceApp {
    /// An app with one public key and the given grants, Bearer tokens of one hour.
    pub fn new(client_id: &str, key: Value, scopes: &[&str]) -> Self {
        Self {
            client_id: client_id.to_string(),
            keys: vec![key],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            require_dpop: false,
            token_lifetime: chrono::Duration::hours(1),
        }
    }
}

/// A token request as the simulator saw it (for tests to assert on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The client the assertion named, if it could be read.
    pub client_id: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Whether a `DPoP` proof came with it.
    pub dpop: bool,
    /// HTTP status answered.
    pub status: u16,
    /// The OAuth `error` answered, if any.
    pub error: Option<String>,
    /// Simulated time of the request, Okta format.
    pub at: String,
}

/// An access token the org issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub scopes: Vec<String>,
    pub expires_ms: i64,
    /// Thumbprint of the DPoP key the token is bound to.
    pub jkt: Option<String>,
}

/// Tokens, used assertion and proof ids, and the DPoP nonce.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    pub tokens: HashMap<String, Issued>,
    /// `jti` → when it stops mattering (epoch ms); assertions and proofs alike.
    pub seen_jti: HashMap<String, i64>,
    pub nonce: String,
    pub requests: Vec<TokenRequest>,
}

impl OAuthState {
    /// Remembers a `jti` until `until_ms`; false if it was already used.
    pub fn first_use(&mut self, jti: &str, until_ms: i64, now_ms: i64) -> bool {
        self.seen_jti.retain(|_, until| *until > now_ms);
        if self.seen_jti.contains_key(jti) {
            return false;
        }
        self.seen_jti.insert(jti.to_string(), until_ms);
        true
    }
}

impl OktaSim {
    /// Every request to `/oauth2/v1/token`, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.oauth().requests.clone()
    }

    /// The `dpop-nonce` the token endpoint currently asks proofs to carry.
    pub fn dpop_nonce(&self) -> String {
        self.oauth().nonce.clone()
    }
}
