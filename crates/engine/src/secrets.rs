//! Credentials at rest: sealed with ChaCha20-Poly1305 under the master key, a fresh random nonce
//! per record, the record's owner bound in as associated data so a sealed blob copied onto another
//! integration does not open.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use gatehouse_core::model::SealedSecret;
use gatehouse_core::provider::Credentials;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

use crate::EngineError;

const NONCE_LEN: usize = 12;

/// The 32-byte key that seals credentials. Never printed.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Parses the base64 form used by `GATEHOUSE_MASTER_KEY` and `master.key`.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| "is not valid base64".to_owned())?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must decode to exactly 32 bytes".to_owned())?;
        Ok(Self::from_bytes(array))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        Self::from_bytes(key.into())
    }

    /// The base64 form, for writing `master.key`.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(B64.encode(self.0.expose_secret()))
    }

    /// A short public fingerprint, so a record sealed under another key is recognised as such.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.expose_secret());
        crate::tokens::hex(&digest[..4])
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(id {})", self.key_id())
    }
}

/// Seals and opens credentials.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    key_id: String,
}

impl Sealer {
    pub fn new(key: &MasterKey) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key.0.expose_secret())),
            key_id: key.key_id(),
        }
    }

    /// Encrypts credentials; `owner` (the integration id) is authenticated with them.
    pub fn seal(
        &self,
        credentials: &Credentials,
        owner: &str,
    ) -> Result<SealedSecret, EngineError> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: credentials.expose_json().as_bytes(),
            aad: owner.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| EngineError::Crypto("encryption failed".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(SealedSecret {
            key_id: self.key_id.clone(),
            sealed: B64.encode(sealed),
        })
    }

    /// Decrypts credentials sealed for `owner`.
    pub fn open(&self, sealed: &SealedSecret, owner: &str) -> Result<Credentials, EngineError> {
        if sealed.key_id != self.key_id {
            return Err(EngineError::Crypto(format!(
                "sealed under master key {} but the configured key is {}",
                sealed.key_id, self.key_id
            )));
        }
        let bytes = B64
            .decode(&sealed.sealed)
            .map_err(|_| EngineError::Crypto("sealed record is not base64".into()))?;
        if bytes.len() < NONCE_LEN {
            return Err(EngineError::Crypto("sealed record is truncated".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| EngineError::Crypto("authentication failed".into()))?;
        let text = String::from_utf8(plain)
            .map_err(|_| EngineError::Crypto("sealed record is not UTF-8".into()))?;
        Ok(Credentials::from_json_text(SecretString::from(text)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn creds() -> Credentials {
        Credentials::from_object(
            serde_json::from_value(json!({"domain": "a.idp.example", "api_token": "00abcSECRET"}))
                .unwrap(),
        )
    }

    #[test]
    fn seal_round_trips_and_hides_plaintext() {
        let sealer = Sealer::new(&MasterKey::generate());
        let sealed = sealer.seal(&creds(), "int_1").unwrap();
        assert!(!sealed.sealed.contains("SECRET"));
        let raw = B64.decode(&sealed.sealed).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("SECRET"));
        let opened = sealer.open(&sealed, "int_1").unwrap();
        assert_eq!(
            opened.secret("api_token").unwrap().expose_secret(),
            "00abcSECRET"
        );
    }

    #[test]
    fn nonces_differ_per_record() {
        let sealer = Sealer::new(&MasterKey::generate());
        let a = sealer.seal(&creds(), "int_1").unwrap();
        let b = sealer.seal(&creds(), "int_1").unwrap();
        assert_ne!(a.sealed, b.sealed);
    }

    #[test]
    fn wrong_owner_or_key_or_tampering_fails() {
        let key = MasterKey::generate();
        let sealer = Sealer::new(&key);
        let sealed = sealer.seal(&creds(), "int_1").unwrap();
        assert!(sealer.open(&sealed, "int_2").is_err());
        assert!(Sealer::new(&MasterKey::generate())
            .open(&sealed, "int_1")
            .is_err());
        let mut bytes = B64.decode(&sealed.sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = SealedSecret {
            key_id: sealed.key_id.clone(),
            sealed: B64.encode(bytes),
        };
        assert!(sealer.open(&tampered, "int_1").is_err());
    }

    #[test]
    fn master_key_base64_round_trip() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(key.to_base64().expose_secret()).unwrap();
        assert_eq!(key.key_id(), again.key_id());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
