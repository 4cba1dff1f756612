//! A key pair for tests that play a service app: the public JWK to register
//! in [`super::ServiceApp`], signed client assertions, and DPoP proofs. ES256
//! keys are generated on the spot (cheap); RS256 keys come from a PEM the
//! test supplies with its public JWK, since generating RSA keys is slow.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use super::jwt::ath;

/// Why a test key could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("bad key: {0}")]
    Key(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct TestKeyPair {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    public_jwk: Value,
}

impl std::fmt::Debug for TestKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKeyPair")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish()
    }
}

impl TestKeyPair {
    /// A fresh P-256 key (ES256) named `kid`.
    pub fn es256(kid: &str) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Generate)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| KeyError::Generate)?;
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err(KeyError::Generate);
        }
        let public_jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Ok(Self {
            alg: Algorithm::ES256,
            kid: kid.to_string(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public_jwk,
        })
    }

    /// An RS256 key from its PEM private key and the matching public JWK
    /// (whose `kid` names the key).
    pub fn rs256_from_pem(private_pem: &str, public_jwk: Value) -> Result<Self, KeyError> {
        let encoding = EncodingKey::from_rsa_pem(private_pem.as_bytes())
            .map_err(|e| KeyError::Key(e.to_string()))?;
        let kid = public_jwk["kid"].as_str().unwrap_or_default().to_string();
        Ok(Self {
            alg: Algorithm::RS256,
            kid,
            encoding,
            public_jwk,
        })
    }

    /// The public key as a JWK, to register with the app.
    pub fn public_jwk(&self) -> Value {
        self.public_jwk.clone()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` with this key; `header` extras (`typ`, `jwk`…) are set by the caller.
    pub fn sign(&self, mut header: Header, claims: &Value) -> Result<String, KeyError> {
        header.alg = self.alg;
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }

    /// A client assertion for `client_id` at `token_url`, issued `now` and
    /// valid for `lifetime`, with `jti` and the key's `kid`.
    pub fn client_assertion(
        &self,
        client_id: &str,
        token_url: &str,
        now: DateTime<Utc>,
        lifetime: chrono::Duration,
        jti: &str,
    ) -> Result<String, KeyError> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": token_url,
            "iat": now.timestamp(), "exp": (now + lifetime).timestamp(), "jti": jti,
        });
        self.sign(header, &claims)
    }

    /// A DPoP proof for `method` on `url` (query and fragment dropped), with
    /// the server's `nonce` and, for API calls, the access token's `ath`.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        now: DateTime<Utc>,
        jti: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String, KeyError> {
        let jwk: Jwk = serde_json::from_value(self.public_jwk.clone())
            .map_err(|e| KeyError::Key(e.to_string()))?;
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(jwk);
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let mut claims = json!({"htm": method, "htu": htu, "iat": now.timestamp(), "jti": jti});
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = access_token {
            claims["ath"] = json!(ath(t));
        }
        self.sign(header, &claims)
    }
}
