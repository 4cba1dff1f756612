//! The IdP's signing keys, read from its PEM certificates (several during a rollover). Only the
//! public key is used: SAML trusts a pinned certificate, so its chain and dates are not
//! checked, and a certificate inside the response (`KeyInfo`) is never trusted.

use p256::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use x509_cert::der::{DecodePem as _, Encode as _};
use x509_cert::Certificate;

use crate::SamlError;

/// The shortest RSA modulus accepted.
const MIN_RSA_BITS: usize = 2048;

/// One trusted signing key.
#[derive(Debug, Clone)]
pub enum SigningKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl SigningKey {
    /// The key of one DER certificate.
    pub fn from_der_certificate(der: &[u8]) -> Result<Self, SamlError> {
        use x509_cert::der::Decode as _;
        let cert = Certificate::from_der(der)
            .map_err(|_| SamlError::Config("a certificate is not valid X.509".into()))?;
        Self::from_certificate(&cert)
    }

    fn from_certificate(cert: &Certificate) -> Result<Self, SamlError> {
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|_| SamlError::Config("a certificate's public key cannot be read".into()))?;
        if let Ok(key) = rsa::RsaPublicKey::from_public_key_der(&spki) {
            if key.n().bits() < MIN_RSA_BITS {
                return Err(SamlError::Config(format!(
                    "an RSA certificate key is shorter than {MIN_RSA_BITS} bits"
                )));
            }
            return Ok(Self::Rsa(key));
        }
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) {
            return Ok(Self::P256(key));
        }
        Err(SamlError::Config(
            "a certificate's key is neither RSA nor ECDSA P-256".into(),
        ))
    }
}

/// Every certificate in `pem` (one or several `BEGIN CERTIFICATE` blocks).
pub fn keys_from_pem(pem: &str) -> Result<Vec<SigningKey>, SamlError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut keys = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END) else {
            return Err(SamlError::Config(
                "a PEM certificate has no END line".into(),
            ));
        };
        let block = &rest[start..start + end + END.len()];
        let cert = Certificate::from_pem(block.as_bytes())
            .map_err(|_| SamlError::Config("a PEM certificate is not valid X.509".into()))?;
        keys.push(SigningKey::from_certificate(&cert)?);
        rest = &rest[start + end + END.len()..];
    }
    if keys.is_empty() {
        return Err(SamlError::Config("no PEM certificate given".into()));
    }
    Ok(keys)
}
