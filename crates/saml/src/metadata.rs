//! SAML metadata both ways: reading an IdP's (its entity id and signing certificates, for an
//! integration configured with `idp_metadata_xml`) and writing Gatehouse's SP metadata for an
//! IdP administrator to import. Metadata goes through the same safe intake as responses.

use base64::Engine as _;

use crate::dsig::DSIG_NS;
use crate::keys::SigningKey;
use crate::{intake, SamlError};

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

/// What an IdP's metadata says Gatehouse needs.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub keys: Vec<SigningKey>,
}

/// Reads the first IdP (`IDPSSODescriptor`) in an `EntityDescriptor` or `EntitiesDescriptor`.
pub fn read_idp_metadata(xml: &str) -> Result<IdpMetadata, SamlError> {
    let config = |e: SamlError| SamlError::Config(format!("idp_metadata_xml: {e}"));
    let doc = intake::parse(xml).map_err(config)?;
    let entity = doc
        .descendants()
        .filter(|n| n.has_tag_name((MD_NS, "EntityDescriptor")))
        .find(|n| {
            n.children()
                .any(|c| c.has_tag_name((MD_NS, "IDPSSODescriptor")))
        })
        .ok_or_else(|| {
            SamlError::Config(
                "idp_metadata_xml has no EntityDescriptor with an IDPSSODescriptor".into(),
            )
        })?;
    let entity_id = entity
        .attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| SamlError::Config("idp_metadata_xml has no entityID".into()))?
        .to_owned();
    let mut keys = Vec::new();
    for descriptor in entity
        .children()
        .filter(|c| c.has_tag_name((MD_NS, "IDPSSODescriptor")))
    {
        for key in descriptor
            .children()
            .filter(|c| c.has_tag_name((MD_NS, "KeyDescriptor")))
            .filter(|k| k.attribute("use").is_none_or(|u| u == "signing"))
        {
            for cert in key
                .descendants()
                .filter(|n| n.has_tag_name((DSIG_NS, "X509Certificate")))
            {
                let text: String = cert
                    .text()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .map_err(|_| {
                        SamlError::Config("idp_metadata_xml: a certificate is not base64".into())
                    })?;
                keys.push(SigningKey::from_der_certificate(&der)?);
            }
        }
    }
    if keys.is_empty() {
        return Err(SamlError::Config(
            "idp_metadata_xml names no signing certificate".into(),
        ));
    }
    Ok(IdpMetadata { entity_id, keys })
}

/// Gatehouse's SP metadata for one integration.
pub fn sp_metadata(entity_id: &str, acs_url: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD_NS}" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
        entity = escape(entity_id),
        acs = escape(acs_url),
    )
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
