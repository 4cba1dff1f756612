//! XML-DSig verification of one enveloped signature, as SAML uses it: exactly one `Reference`,
//! which must point (`URI="#id"`) to the element that carries the signature, with the
//! enveloped-signature and exclusive-c14n transforms; SHA-256 digests; RSA-SHA256 or
//! ECDSA-SHA256 over the exclusive canonical `SignedInfo`. Anything else is refused by name
//! (SHA-1 with its own reason). Binding the reference to the signature's parent is what lets
//! the caller use exactly the element whose signature verified.

use base64::Engine as _;
use roxmltree::Node;
use sha2::{Digest as _, Sha256};

use crate::c14n::{self, Options};
use crate::keys::SigningKey;
use crate::SamlError;

pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C14N_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA1_ALGORITHMS: [&str; 5] = [
    "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
];

fn ds<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.has_tag_name((DSIG_NS, name)))
}

fn malformed(what: &str) -> SamlError {
    SamlError::MalformedSignature(what.to_owned())
}

fn algorithm<'a>(node: Node<'a, '_>) -> Result<&'a str, SamlError> {
    let uri = node
        .attribute("Algorithm")
        .ok_or_else(|| malformed("an algorithm element has no Algorithm"))?;
    if SHA1_ALGORITHMS.contains(&uri) {
        return Err(SamlError::Sha1Refused(uri.to_owned()));
    }
    Ok(uri)
}

/// The c14n options an exclusive-c14n algorithm element asks for (its `InclusiveNamespaces`).
fn c14n_options(method: Node<'_, '_>, uri: &str) -> Result<Options, SamlError> {
    let with_comments = match uri {
        EXC_C14N => false,
        EXC_C14N_COMMENTS => true,
        other => return Err(SamlError::UnsupportedAlgorithm(other.to_owned())),
    };
    let inclusive_prefixes = method
        .children()
        .find(|c| c.is_element() && c.has_tag_name((EXC_C14N, "InclusiveNamespaces")))
        .and_then(|n| n.attribute("PrefixList"))
        .map(|list| list.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Options {
        with_comments,
        inclusive_prefixes,
        exclude: None,
    })
}

fn base64_value(node: Node<'_, '_>, what: &str) -> Result<Vec<u8>, SamlError> {
    let text: String = node
        .text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| malformed(&format!("{what} is not base64")))
}

/// Verifies `signature`, a `ds:Signature` child of `signed`, against `keys`.
pub fn verify(
    signed: Node<'_, '_>,
    signature: Node<'_, '_>,
    keys: &[SigningKey],
) -> Result<(), SamlError> {
    let signed_info = ds(signature, "SignedInfo").ok_or_else(|| malformed("no SignedInfo"))?;
    if ds(signature, "Object").is_some() {
        return Err(malformed("ds:Object is not accepted in a SAML signature"));
    }
    let value = ds(signature, "SignatureValue").ok_or_else(|| malformed("no SignatureValue"))?;
    let c14n_method = ds(signed_info, "CanonicalizationMethod")
        .ok_or_else(|| malformed("no CanonicalizationMethod"))?;
    let c14n_uri = algorithm(c14n_method)?;
    let info_options = c14n_options(c14n_method, c14n_uri)?;
    let method = algorithm(
        ds(signed_info, "SignatureMethod").ok_or_else(|| malformed("no SignatureMethod"))?,
    )?;
    if method != RSA_SHA256 && method != ECDSA_SHA256 {
        return Err(SamlError::UnsupportedAlgorithm(method.to_owned()));
    }
    let references: Vec<Node<'_, '_>> = signed_info
        .children()
        .filter(|c| c.is_element() && c.has_tag_name((DSIG_NS, "Reference")))
        .collect();
    let [reference] = references.as_slice() else {
        return Err(malformed(
            "a SAML signature must have exactly one Reference",
        ));
    };
    // The reference must name the signature's own parent, by its ID.
    let id = signed.attribute("ID").ok_or(SamlError::ReferenceMismatch)?;
    match reference.attribute("URI") {
        Some(uri) if uri.strip_prefix('#') == Some(id) => {}
        _ => return Err(SamlError::ReferenceMismatch),
    }
    let mut reference_options = None;
    let mut enveloped = false;
    if let Some(transforms) = ds(*reference, "Transforms") {
        for transform in transforms.children().filter(|c| c.is_element()) {
            if !transform.has_tag_name((DSIG_NS, "Transform")) {
                return Err(malformed("Transforms holds something other than Transform"));
            }
            let uri = algorithm(transform)?;
            if uri == ENVELOPED {
                enveloped = true;
            } else if reference_options.is_none() {
                reference_options = Some(c14n_options(transform, uri)?);
            } else {
                return Err(SamlError::UnsupportedAlgorithm(uri.to_owned()));
            }
        }
    }
    if !enveloped {
        return Err(malformed(
            "the Reference lacks the enveloped-signature transform",
        ));
    }
    let Some(mut reference_options) = reference_options else {
        return Err(malformed(
            "the Reference lacks the exclusive c14n transform",
        ));
    };
    // A same-document reference by ID leaves comments out whatever the transform says.
    reference_options.with_comments = false;
    reference_options.exclude = Some(signature.id());
    let digest_method =
        algorithm(ds(*reference, "DigestMethod").ok_or_else(|| malformed("no DigestMethod"))?)?;
    if digest_method != SHA256 {
        return Err(SamlError::UnsupportedAlgorithm(digest_method.to_owned()));
    }
    let expected_digest = base64_value(
        ds(*reference, "DigestValue").ok_or_else(|| malformed("no DigestValue"))?,
        "DigestValue",
    )?;
    let signature_bytes = base64_value(value, "SignatureValue")?;

    let canonical_info = c14n::canonicalize(signed_info, &info_options);
    if !keys
        .iter()
        .any(|key| verify_with(key, method, canonical_info.as_bytes(), &signature_bytes))
    {
        return Err(SamlError::SignatureInvalid);
    }
    let canonical = c14n::canonicalize(signed, &reference_options);
    let digest = Sha256::digest(canonical.as_bytes());
    if digest.as_slice() != expected_digest.as_slice() {
        return Err(SamlError::DigestMismatch);
    }
    Ok(())
}

fn verify_with(key: &SigningKey, method: &str, message: &[u8], signature: &[u8]) -> bool {
    match (key, method) {
        (SigningKey::Rsa(key), RSA_SHA256) => {
            use rsa::signature::Verifier as _;
            let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone());
            rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|s| verifier.verify(message, &s).is_ok())
        }
        (SigningKey::P256(key), ECDSA_SHA256) => {
            use p256::ecdsa::signature::Verifier as _;
            // XML-DSig carries r || s (RFC 4050); some signers write DER instead.
            let parsed = p256::ecdsa::Signature::from_slice(signature)
                .or_else(|_| p256::ecdsa::Signature::from_der(signature));
            parsed.is_ok_and(|s| key.verify(message, &s).is_ok())
        }
        _ => false,
    }
}
