//! Bearer tokens: 256 random bits behind a recognisable prefix (`gh_tk_…`), stored only as a
//! SHA-256 hash and compared in constant time. A fast hash is right here: the tokens are random,
//! not passwords, so there is nothing to brute-force.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use gatehouse_core::model::TokenKind;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly minted token: the secret (shown once) and its hash (stored).
pub struct MintedToken {
    pub secret: SecretString,
    pub hash: String,
}

/// Mints a token of `kind`.
pub fn mint(kind: TokenKind) -> MintedToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{}{}", kind.prefix(), B64URL.encode(bytes));
    let hash = hash(&secret);
    MintedToken {
        secret: SecretString::from(secret),
        hash,
    }
}

/// Lower-case hex SHA-256 of a token.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of `bytes` (on every authenticated request, so no per-byte `format!`).
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Whether `presented` hashes to `stored_hash`, in constant time.
pub fn verify(presented: &str, stored_hash: &str) -> bool {
    hash(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// The token's kind by its prefix, if it has one of ours.
pub fn kind_of(token: &SecretString) -> Option<TokenKind> {
    let text = token.expose_secret();
    [
        TokenKind::Scim,
        TokenKind::Operator,
        TokenKind::TenantApi,
        TokenKind::Ingest,
    ]
    .into_iter()
    .find(|kind| text.starts_with(kind.prefix()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_prefixed_random_and_verifiable() {
        let a = mint(TokenKind::TenantApi);
        let b = mint(TokenKind::TenantApi);
        assert!(a.secret.expose_secret().starts_with("gh_tk_"));
        assert!(a.secret.expose_secret().len() >= 6 + 43);
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(verify(a.secret.expose_secret(), &a.hash));
        assert!(!verify(b.secret.expose_secret(), &a.hash));
        assert!(!a.hash.contains(a.secret.expose_secret()));
        // SHA-256("abc"), a published test vector: the hex encoding is exact.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(kind_of(&a.secret), Some(TokenKind::TenantApi));
        assert_eq!(
            kind_of(&mint(TokenKind::Scim).secret),
            Some(TokenKind::Scim)
        );
    }
}
