//! JWT pieces shared by the token endpoint and the API check: verifying a
//! signature against a JWK (never trusting the token's own claims for it),
//! RFC 7638 thumbprints, the `ath` hash, and DPoP proof checks (RFC 9449 §4.3).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The asymmetric algorithms Okta lists for client assertions and proofs
/// (ES512 is not offered by the JWT library, so it is refused).
pub fn allowed(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::ES256
            | Algorithm::ES384
    )
}

/// Verifies `token`'s signature with `jwk` and returns its claims; no claim
/// is checked here (the simulator checks times against its own clock).
pub fn verify(token: &str, alg: Algorithm, jwk: &Jwk) -> Result<Value, String> {
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key: {e}"))?;
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|data| data.claims)
        .map_err(|e| format!("signature: {e}"))
}

/// RFC 7638 thumbprint (SHA-256, base64url) of a public JWK.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    let canonical = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) => {
            let crv = serde_json::to_value(&p.curve).ok()?;
            json!({"crv": crv, "kty": "EC", "x": p.x, "y": p.y})
        }
        AlgorithmParameters::RSA(p) => json!({"e": p.e, "kty": "RSA", "n": p.n}),
        _ => return None,
    };
    // serde_json writes object keys sorted and without whitespace, as RFC 7638 asks.
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    Some(URL_SAFE_NO_PAD.encode(digest))
}

/// `ath`: base64url SHA-256 of an access token.
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// What a valid DPoP proof establishes.
#[derive(Debug)]
pub struct Proof {
    pub jkt: String,
    pub jti: String,
    pub claims: Value,
}

/// Checks a DPoP proof's form, signature, method, URL and freshness
/// (`iat` within five minutes of `now_s`); the caller checks `jti` reuse,
/// `nonce` and `ath`.
pub fn dpop_proof(proof: &str, method: &str, url: &str, now_s: i64) -> Result<Proof, String> {
    let header: Header =
        jsonwebtoken::decode_header(proof).map_err(|e| format!("malformed proof: {e}"))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err("the proof's typ is not dpop+jwt".into());
    }
    if !allowed(header.alg) {
        return Err("the proof's alg is not an allowed asymmetric algorithm".into());
    }
    let jwk = header.jwk.ok_or("the proof carries no jwk")?;
    let claims = verify(proof, header.alg, &jwk)?;
    let jkt = thumbprint(&jwk).ok_or("the proof's jwk is not an RSA or EC public key")?;
    if claims["htm"].as_str() != Some(method) {
        return Err(format!("htm does not match {method}"));
    }
    let htu = claims["htu"].as_str().unwrap_or_default();
    if htu.split(['?', '#']).next() != Some(url) {
        return Err(format!("htu does not match {url}"));
    }
    let iat = claims["iat"].as_i64().ok_or("the proof has no iat")?;
    if (iat - now_s).abs() > 300 {
        return Err("the proof's iat is not recent".into());
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or("the proof has no jti")?
        .to_string();
    Ok(Proof { jkt, jti, claims })
}
