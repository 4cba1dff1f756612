//! The service app's signing key and the connector's DPoP proof key, as `jsonwebtoken` signers.
//!
//! Okta takes client assertions signed with the private half of a key registered on the app
//! (RSA or EC; Gatehouse signs RS256 and ES256). Admins get that key either as a JWK (the Admin
//! Console's "Generate new key" shows one) or as PEM (its "PEM" switch, or `openssl`), so both
//! are read here. `jsonwebtoken` 9 signs only from DER or PEM, so a private JWK is re-encoded as
//! DER first: PKCS#1 for RSA, PKCS#8 for P-256. Every key is tried once when it is read, so a bad
//! key fails at validation, not at the first pull. No error here carries key material.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Map, Value};

/// Why a key cannot sign; the text says what is expected, never what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("must be a private key: a JWK object (RSA, or EC on P-256) or a PEM private key")]
    Unrecognized,
    #[error("is a public key or certificate; give the private key")]
    Public,
    #[error("is a JWK without its private part (`d`); give the private JWK")]
    PublicJwk,
    #[error(
        "is a JWK of an unsupported kind; use an RSA key (RS256) or an EC key on P-256 (ES256)"
    )]
    UnsupportedJwk,
    #[error("names an algorithm other than RS256 or ES256 in its `alg`")]
    UnsupportedAlg,
    #[error("is a JWK with a missing or malformed member `{0}`")]
    JwkMember(&'static str),
    #[error("is an encrypted PEM key; give it unencrypted (openssl pkcs8 -topk8 -nocrypt)")]
    Encrypted,
    #[error("is a SEC1 EC key (BEGIN EC PRIVATE KEY); convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)")]
    Sec1,
    #[error(
        "cannot sign: use an RSA key of at least 2048 bits (RS256) or an EC key on P-256 (ES256)"
    )]
    Unusable,
    #[error("signing failed")]
    Sign,
    #[error("no secure random numbers are available")]
    Random,
}

/// A key that signs JWTs with one algorithm.
pub(crate) struct Signer {
    pub alg: Algorithm,
    key: EncodingKey,
    /// The `kid` for the JWT header.
    pub kid: Option<String>,
}

impl Signer {
    /// Reads a PEM private key or a private JWK (JSON object text); `key_id` overrides the
    /// JWK's own `kid`.
    pub fn from_text(text: &str, key_id: Option<&str>) -> Result<Self, KeyError> {
        let text = text.trim();
        let mut signer = if text.starts_with('{') {
            from_jwk(text)?
        } else if text.contains("-----BEGIN") {
            from_pem(text)?
        } else {
            return Err(KeyError::Unrecognized);
        };
        if let Some(kid) = key_id.map(str::trim).filter(|k| !k.is_empty()) {
            signer.kid = Some(kid.to_owned());
        }
        Ok(signer)
    }

    /// Signs `claims` under `header` (whose `alg` is set to this key's).
    pub fn sign(
        &self,
        mut header: jsonwebtoken::Header,
        claims: &Value,
    ) -> Result<String, KeyError> {
        header.alg = self.alg;
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|_| KeyError::Sign)
    }

    /// Proves the key can sign with its algorithm (ring parses the key only when signing).
    fn probed(self) -> Result<Self, KeyError> {
        jsonwebtoken::crypto::sign(b"gatehouse key check", &self.key, self.alg)
            .map(|_| self)
            .map_err(|_| KeyError::Unusable)
    }
}

fn from_pem(pem: &str) -> Result<Signer, KeyError> {
    let signer = |alg, key| Signer {
        alg,
        key,
        kid: None,
    };
    if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err(KeyError::Encrypted);
    }
    if pem.contains("BEGIN EC PRIVATE KEY") {
        return Err(KeyError::Sec1);
    }
    if pem.contains("PUBLIC KEY") || pem.contains("CERTIFICATE") {
        return Err(KeyError::Public);
    }
    // PKCS#8 holds either kind; the key's own algorithm identifier decides which parse succeeds.
    if let Ok(key) = EncodingKey::from_rsa_pem(pem.as_bytes()) {
        return signer(Algorithm::RS256, key).probed();
    }
    if let Ok(key) = EncodingKey::from_ec_pem(pem.as_bytes()) {
        return signer(Algorithm::ES256, key).probed();
    }
    Err(KeyError::Unrecognized)
}

fn from_jwk(text: &str) -> Result<Signer, KeyError> {
    let Ok(Value::Object(jwk)) = serde_json::from_str::<Value>(text) else {
        return Err(KeyError::Unrecognized);
    };
    let member = |name: &'static str| -> Result<Vec<u8>, KeyError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
            .filter(|v| !v.is_empty())
            .ok_or(KeyError::JwkMember(name))
    };
    if !jwk.contains_key("d") {
        return Err(KeyError::PublicJwk);
    }
    let alg = jwk.get("alg").and_then(Value::as_str);
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let (alg, key) = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => {
            if alg.is_some_and(|a| a != "RS256") {
                return Err(KeyError::UnsupportedAlg);
            }
            let mut body = der_uint(&[0]);
            for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
                body.extend(der_uint(&member(name)?));
            }
            (
                Algorithm::RS256,
                EncodingKey::from_rsa_der(&der(0x30, &body)),
            )
        }
        Some("EC") => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err(KeyError::UnsupportedJwk);
            }
            if alg.is_some_and(|a| a != "ES256") {
                return Err(KeyError::UnsupportedAlg);
            }
            let pkcs8 = p256_pkcs8(
                &fixed32(member("d")?, "d")?,
                &fixed32(member("x")?, "x")?,
                &fixed32(member("y")?, "y")?,
            );
            (Algorithm::ES256, EncodingKey::from_ec_der(&pkcs8))
        }
        _ => return Err(KeyError::UnsupportedJwk),
    };
    Signer { alg, key, kid }.probed()
}

/// A P-256 coordinate or scalar as exactly 32 bytes (left-padded, as JWK may shorten none, but
/// some tools strip leading zeros).
fn fixed32(bytes: Vec<u8>, name: &'static str) -> Result<[u8; 32], KeyError> {
    let bytes = match bytes.iter().position(|b| *b != 0) {
        Some(first) if bytes.len() - first <= 32 => bytes[first..].to_vec(),
        None => Vec::new(),
        _ => return Err(KeyError::JwkMember(name)),
    };
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    Ok(out)
}

/// The PKCS#8 document ring reads for a P-256 key: the id-ecPublicKey/prime256v1 algorithm
/// identifier around an RFC 5915 ECPrivateKey that carries its public point.
fn p256_pkcs8(d: &[u8; 32], x: &[u8; 32], y: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 36] = [
        0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30,
        0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    const PUBLIC: [u8; 6] = [0xa1, 0x44, 0x03, 0x42, 0x00, 0x04];
    let mut out = Vec::with_capacity(138);
    out.extend_from_slice(&PREFIX);
    out.extend_from_slice(d);
    out.extend_from_slice(&PUBLIC);
    out.extend_from_slice(x);
    out.extend_from_slice(y);
    out
}

/// A DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from an unsigned big-endian number (minimal, with a 0 before a high bit).
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der(0x02, &content)
}

/// The connector's own ES256 key for DPoP proofs: generated when the connector is built, never
/// stored, so a DPoP-bound token is useless to anyone who copies it.
pub(crate) struct ProofKey {
    signer: Signer,
    jwk: Jwk,
}

impl ProofKey {
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Random)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| KeyError::Unusable)?;
        // The uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
            return Err(KeyError::Unusable);
        };
        let jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }))
        .map_err(|_| KeyError::Unusable)?;
        let signer = Signer {
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            kid: None,
        };
        Ok(Self { signer, jwk })
    }

    /// A DPoP proof (RFC 9449 §4.2) carrying `claims`, with the public key in its header.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        self.signer.sign(header, &Value::Object(claims.clone()))
    }
}

/// 128 random bits, base64url: a `jti` nobody can guess or repeat.
pub(crate) fn random_id() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(der_uint(&[0]), [0x02, 0x01, 0x00]);
        assert_eq!(der_uint(&[0, 0, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(der_uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der(0x30, &[0; 200])[..3], [0x30, 0x81, 200]);
        assert_eq!(der(0x30, &[0; 300])[..4], [0x30, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn a_generated_proof_key_signs() {
        let key = ProofKey::generate().unwrap();
        let proof = key.sign(&Map::new()).unwrap();
        assert_eq!(proof.split('.').count(), 3);
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert!(header.jwk.is_some());
    }

    #[test]
    fn text_that_is_no_private_key_is_refused_without_echo() {
        for (text, want) in [
            ("hunter2", KeyError::Unrecognized),
            (
                "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
                KeyError::PublicJwk,
            ),
            (
                "{\"kty\":\"oct\",\"k\":\"AQAB\",\"d\":\"x\"}",
                KeyError::UnsupportedJwk,
            ),
            (
                "{\"kty\":\"EC\",\"crv\":\"P-384\",\"d\":\"x\"}",
                KeyError::UnsupportedJwk,
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                KeyError::Public,
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
                KeyError::Sec1,
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                KeyError::Unrecognized,
            ),
        ] {
            let err = Signer::from_text(text, None).err();
            assert_eq!(err, Some(want.clone()), "{text}");
            assert!(!want.to_string().contains("AAAA"));
        }
    }
}
