//! SAML 2.0 service-provider logic for Gatehouse's `saml` integrations, as pure code (no I/O):
//! an IdP posts a signed Response to the integration's ACS URL, and this crate decides whether
//! to believe it and what account it describes.
//!
//! - [`intake`]: base64 and size limits, DTD and entity refusal, node and depth limits.
//! - [`c14n`]: exclusive XML canonicalization, as much as XML-DSig in SAML needs.
//! - [`dsig`]: enveloped XML-DSig verification (RSA-SHA256, ECDSA-SHA256; SHA-1 refused).
//! - [`validate`]: the Web SSO profile's rules, signature-wrapping defenses included.
//! - [`mapping`]: attributes to an inventory account, with defaults for the common IdPs.
//! - [`metadata`]: reading IdP metadata, writing Gatehouse's SP metadata.
//!
//! Replays are refused by the caller, which remembers assertion IDs in the store.
//! RustCrypto does the cryptography, so nothing here needs a C library.

pub mod c14n;
pub mod dsig;
mod error;
pub mod intake;
pub mod keys;
pub mod mapping;
pub mod metadata;
#[cfg(feature = "test-signer")]
pub mod testing;
pub mod validate;

use gatehouse_core::catalog::{SamlConfig, SamlCredentials};

pub use error::SamlError;
pub use keys::SigningKey;
pub use mapping::AttributeMapping;
pub use validate::{AcsUrl, Assertion, Attribute, IdentityProvider, Refusal, ServiceProvider};

/// The clock skew allowed when an integration names none.
pub const DEFAULT_CLOCK_SKEW_SECONDS: i64 = 180;

/// The ACS path of an integration.
pub fn acs_path(integration_id: &str) -> String {
    format!("/v1/idp/saml/{integration_id}/acs")
}

/// The SP entity id of an integration that names none.
pub fn default_sp_entity_id(integration_id: &str) -> String {
    format!("urn:gatehouse:saml:{integration_id}")
}

/// One `saml` integration, ready to validate: its IdP, Gatehouse as its SP, its mapping.
#[derive(Debug, Clone)]
pub struct SamlIntegration {
    pub idp: IdentityProvider,
    pub sp: ServiceProvider,
    pub mapping: AttributeMapping,
}

impl SamlIntegration {
    /// From an integration's (decrypted) credentials and config.
    pub fn new(
        integration_id: &str,
        credentials: &SamlCredentials,
        config: &SamlConfig,
    ) -> Result<Self, SamlError> {
        let mut keys = Vec::new();
        let mut entity_id = credentials.idp_entity_id.clone();
        if let Some(xml) = &credentials.idp_metadata_xml {
            let metadata = metadata::read_idp_metadata(xml)?;
            entity_id.get_or_insert(metadata.entity_id);
            keys.extend(metadata.keys);
        }
        if let Some(certs) = &credentials.idp_certificate {
            for pem in certs.pems() {
                keys.extend(keys::keys_from_pem(pem)?);
            }
        }
        let entity_id =
            entity_id.ok_or_else(|| SamlError::Config("no IdP entity id is configured".into()))?;
        if keys.is_empty() {
            return Err(SamlError::Config("no IdP certificate is configured".into()));
        }
        let acs = match &config.public_base_url {
            Some(base) => AcsUrl::Exact(format!(
                "{}{}",
                base.trim_end_matches('/'),
                acs_path(integration_id)
            )),
            None => AcsUrl::Path(acs_path(integration_id)),
        };
        let skew = config
            .max_clock_skew_seconds
            .unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS)
            .clamp(0, 600);
        Ok(Self {
            idp: IdentityProvider { entity_id, keys },
            sp: ServiceProvider {
                entity_id: config
                    .sp_entity_id
                    .clone()
                    .unwrap_or_else(|| default_sp_entity_id(integration_id)),
                acs,
                max_clock_skew: chrono::Duration::seconds(skew),
            },
            mapping: AttributeMapping::new(credentials.attribute_mapping.as_ref()),
        })
    }

    /// Validates the base64 `SAMLResponse` of an HTTP-POST binding at `now`.
    pub fn validate_post(
        &self,
        saml_response: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Assertion, Refusal> {
        validate::validate_post(saml_response, &self.idp, &self.sp, now)
    }
}
