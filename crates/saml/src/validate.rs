//! The rules a SAML Response must pass before its assertion is used, in the order that gives
//! the most precise reason: the document's shape (one Assertion, no encrypted parts, unique
//! IDs, signatures only where SAML puts them), the signatures (every one present must verify,
//! and at least one must cover the Assertion), then the Web SSO profile's checks: Issuer,
//! Destination, bearer SubjectConfirmation with our ACS as Recipient, the validity window with
//! the allowed clock skew, and the Audience. Only values read from the verified Assertion
//! element reach the result, so a second, unsigned assertion elsewhere cannot be the one used.

use chrono::{DateTime, Duration, Utc};
use roxmltree::{Document, Node};

use crate::dsig::{self, DSIG_NS};
use crate::keys::SigningKey;
use crate::{intake, SamlError};

pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// The longest subject recorded with a refusal (it is unverified input).
const MAX_SUBJECT_CHARS: usize = 256;

/// Where this integration's assertion consumer service is, as far as Gatehouse knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcsUrl {
    /// The full URL (the integration names its public base URL): compared exactly.
    Exact(String),
    /// Only the path is known (`/v1/idp/saml/{id}/acs`): a URL matches when its path is this.
    Path(String),
}

impl AcsUrl {
    pub fn matches(&self, url: &str) -> bool {
        match self {
            Self::Exact(expected) => url == expected,
            Self::Path(path) => url_path(url) == Some(path.as_str()),
        }
    }
}

/// The path of an absolute URL (`https://host/p?q` → `/p`).
fn url_path(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let path = &rest[rest.find('/')?..];
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

/// Gatehouse as the service provider of one integration.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    pub entity_id: String,
    pub acs: AcsUrl,
    pub max_clock_skew: Duration,
}

/// The identity provider whose assertions one integration trusts.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    pub entity_id: String,
    pub keys: Vec<SigningKey>,
}

/// One SAML attribute with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<String>,
}

/// A verified assertion: everything here was read from the signed Assertion element.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// The assertion's ID: the replay key.
    pub id: String,
    pub issuer: String,
    pub issue_instant: DateTime<Utc>,
    /// When the assertion stops being usable (the earliest of its limits): how long its ID
    /// must be remembered.
    pub not_on_or_after: DateTime<Utc>,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub authn_instant: Option<DateTime<Utc>>,
    pub attributes: Vec<Attribute>,
}

impl Assertion {
    /// The values of an attribute, by name.
    pub fn values(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.values.as_slice())
    }
}

/// A refused response, with its subject when the refusal came after the signature verified
/// (an authentic assertion that is expired, replayed, for another audience…). A response whose
/// signature did not verify names nobody: anyone can post one naming any subject, and a failed
/// sign-in recorded on that word would let them trigger detections (and responses) on any
/// account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: SamlError,
    pub subject: Option<String>,
}

impl From<SamlError> for Refusal {
    fn from(error: SamlError) -> Self {
        Self {
            error,
            subject: None,
        }
    }
}

/// Validates the base64 `SAMLResponse` of an HTTP-POST binding.
pub fn validate_post(
    saml_response: &str,
    idp: &IdentityProvider,
    sp: &ServiceProvider,
    now: DateTime<Utc>,
) -> Result<Assertion, Refusal> {
    let xml = intake::decode_post(saml_response)?;
    validate_xml(&xml, idp, sp, now)
}

/// Validates a SAML Response document.
pub fn validate_xml(
    xml: &str,
    idp: &IdentityProvider,
    sp: &ServiceProvider,
    now: DateTime<Utc>,
) -> Result<Assertion, Refusal> {
    let doc = intake::parse(xml)?;
    let (response, assertion) = verified_parts(&doc, idp)?;
    profile_checks(response, assertion, idp, sp, now).map_err(|error| Refusal {
        error,
        subject: signed_subject(assertion),
    })
}

/// The NameID of an assertion whose signature verified.
fn signed_subject(assertion: Node<'_, '_>) -> Option<String> {
    let name_id = saml(assertion, "Subject").and_then(|s| saml(s, "NameID"))?;
    let text = text_of(name_id);
    (!text.is_empty()).then(|| text.chars().take(MAX_SUBJECT_CHARS).collect())
}

fn saml<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.has_tag_name((SAML_NS, name)))
}

fn saml_all<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.has_tag_name((SAML_NS, name)))
}

/// All the text inside an element. Not `Node::text`, which stops at the first comment: c14n
/// without comments signs `ad<!---->min@x.evil` as `admin@x.evil`, so reading only the first
/// text node would let a signed `admin@x.evil` pass as `ad` (the comment-truncation attack).
fn text_of(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

fn time(node: Node<'_, '_>, attribute: &'static str) -> Result<Option<DateTime<Utc>>, SamlError> {
    node.attribute(attribute)
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| SamlError::BadTime(attribute))
        })
        .transpose()
}

/// The Response and its one Assertion, once their shape is sound and every signature present
/// verified against the IdP's keys.
fn verified_parts<'a, 'i>(
    doc: &'a Document<'i>,
    idp: &IdentityProvider,
) -> Result<(Node<'a, 'i>, Node<'a, 'i>), SamlError> {
    let response = doc.root_element();
    if !response.has_tag_name((SAMLP_NS, "Response"))
        || response.attribute("Version") != Some("2.0")
    {
        return Err(SamlError::NotAResponse);
    }
    let status = response
        .children()
        .find(|c| c.has_tag_name((SAMLP_NS, "Status")))
        .and_then(|s| {
            s.children()
                .find(|c| c.has_tag_name((SAMLP_NS, "StatusCode")))
        })
        .and_then(|c| c.attribute("Value"))
        .ok_or(SamlError::Missing("Response Status"))?;
    if status != SUCCESS {
        return Err(SamlError::StatusNotSuccess(status.to_owned()));
    }

    // Shape: nothing encrypted, one Assertion right under the Response, unique IDs.
    if doc.descendants().any(|n| {
        n.has_tag_name((SAML_NS, "EncryptedAssertion"))
            || n.has_tag_name((SAML_NS, "EncryptedID"))
            || n.has_tag_name((SAML_NS, "EncryptedAttribute"))
    }) {
        return Err(SamlError::EncryptedAssertion);
    }
    let assertions: Vec<Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name((SAML_NS, "Assertion")))
        .collect();
    let assertion = match assertions.as_slice() {
        [one] if one.parent_element() == Some(response) => *one,
        all => return Err(SamlError::AssertionCount(all.len())),
    };
    let mut ids: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("ID"))
        .collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(SamlError::DuplicateId(pair[0].chars().take(64).collect()));
    }

    // Signatures: only directly inside the Response or the Assertion, at most one each.
    let signatures: Vec<Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name((DSIG_NS, "Signature")))
        .collect();
    let mut response_signature = None;
    let mut assertion_signature = None;
    for signature in signatures {
        let slot = match signature.parent_element() {
            Some(p) if p == response => &mut response_signature,
            Some(p) if p == assertion => &mut assertion_signature,
            _ => return Err(SamlError::SignatureMisplaced),
        };
        if slot.replace(signature).is_some() {
            return Err(SamlError::SignatureMisplaced);
        }
    }
    if response_signature.is_none() && assertion_signature.is_none() {
        return Err(SamlError::Unsigned);
    }
    // Every signature present must verify: a bad one is never outvoted by a good one.
    if let Some(signature) = response_signature {
        dsig::verify(response, signature, &idp.keys)?;
    }
    if let Some(signature) = assertion_signature {
        dsig::verify(assertion, signature, &idp.keys)?;
    }
    Ok((response, assertion))
}

/// The Web SSO profile's rules, on a verified Response and Assertion.
fn profile_checks(
    response: Node<'_, '_>,
    assertion: Node<'_, '_>,
    idp: &IdentityProvider,
    sp: &ServiceProvider,
    now: DateTime<Utc>,
) -> Result<Assertion, SamlError> {
    if response.attribute("InResponseTo").is_some() {
        return Err(SamlError::Solicited);
    }
    if let Some(destination) = response.attribute("Destination") {
        if !sp.acs.matches(destination) {
            return Err(SamlError::DestinationMismatch(clip(destination)));
        }
    }
    if let Some(issuer) = saml(response, "Issuer") {
        let issuer = text_of(issuer);
        if issuer != idp.entity_id {
            return Err(SamlError::IssuerMismatch(clip(&issuer)));
        }
    }
    let issuer = saml(assertion, "Issuer")
        .map(text_of)
        .ok_or(SamlError::Missing("Assertion Issuer"))?;
    if issuer != idp.entity_id {
        return Err(SamlError::IssuerMismatch(clip(&issuer)));
    }
    let id = assertion
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SamlError::Missing("Assertion ID"))?
        .to_owned();
    let issue_instant =
        time(assertion, "IssueInstant")?.ok_or(SamlError::Missing("Assertion IssueInstant"))?;
    let skew = sp.max_clock_skew;

    let subject = saml(assertion, "Subject").ok_or(SamlError::Missing("Subject"))?;
    let name_id_node = saml(subject, "NameID").ok_or(SamlError::Missing("Subject NameID"))?;
    let name_id = text_of(name_id_node);
    if name_id.is_empty() {
        return Err(SamlError::Missing("Subject NameID"));
    }
    let confirmation_ends = confirm_bearer(subject, sp, now)?;

    let conditions = saml(assertion, "Conditions").ok_or(SamlError::Missing("Conditions"))?;
    if let Some(not_before) = time(conditions, "NotBefore")? {
        if now + skew < not_before {
            return Err(SamlError::NotYetValid(not_before.to_rfc3339()));
        }
    }
    let conditions_end = time(conditions, "NotOnOrAfter")?;
    if let Some(end) = conditions_end {
        if now - skew >= end {
            return Err(SamlError::Expired(end.to_rfc3339()));
        }
    }
    let restrictions: Vec<Node<'_, '_>> = saml_all(conditions, "AudienceRestriction").collect();
    if restrictions.is_empty() {
        return Err(SamlError::Missing("AudienceRestriction"));
    }
    for restriction in restrictions {
        let audiences: Vec<String> = saml_all(restriction, "Audience").map(text_of).collect();
        if !audiences.iter().any(|a| a == &sp.entity_id) {
            return Err(SamlError::AudienceMismatch(clip(&audiences.join(" "))));
        }
    }

    let authn = saml(assertion, "AuthnStatement");
    let session_index = authn
        .and_then(|a| a.attribute("SessionIndex"))
        .map(str::to_owned);
    let authn_instant = match authn {
        Some(a) => time(a, "AuthnInstant")?,
        None => None,
    };
    let attributes = saml_all(assertion, "AttributeStatement")
        .flat_map(|statement| saml_all(statement, "Attribute"))
        .filter_map(|attribute| {
            let name = attribute.attribute("Name")?.to_owned();
            let values = saml_all(attribute, "AttributeValue")
                .map(text_of)
                .filter(|v| !v.is_empty())
                .collect();
            Some(Attribute { name, values })
        })
        .collect();
    let not_on_or_after = match conditions_end {
        Some(end) => end.min(confirmation_ends),
        None => confirmation_ends,
    };
    Ok(Assertion {
        id,
        issuer,
        issue_instant,
        not_on_or_after,
        name_id,
        name_id_format: name_id_node.attribute("Format").map(str::to_owned),
        session_index,
        authn_instant,
        attributes,
    })
}

/// Checks the bearer SubjectConfirmations; returns when the accepted one expires.
fn confirm_bearer(
    subject: Node<'_, '_>,
    sp: &ServiceProvider,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SamlError> {
    let mut first_error = None;
    for confirmation in saml_all(subject, "SubjectConfirmation") {
        if confirmation.attribute("Method") != Some(BEARER) {
            continue;
        }
        let checked = (|| {
            let data = saml(confirmation, "SubjectConfirmationData")
                .ok_or(SamlError::Missing("SubjectConfirmationData"))?;
            if data.attribute("InResponseTo").is_some() {
                return Err(SamlError::Solicited);
            }
            let recipient = data.attribute("Recipient").unwrap_or_default();
            if !sp.acs.matches(recipient) {
                return Err(SamlError::RecipientMismatch(clip(recipient)));
            }
            let end = time(data, "NotOnOrAfter")?
                .ok_or(SamlError::Missing("SubjectConfirmationData NotOnOrAfter"))?;
            if now - sp.max_clock_skew >= end {
                return Err(SamlError::Expired(end.to_rfc3339()));
            }
            if let Some(start) = time(data, "NotBefore")? {
                if now + sp.max_clock_skew < start {
                    return Err(SamlError::NotYetValid(start.to_rfc3339()));
                }
            }
            Ok(end)
        })();
        match checked {
            Ok(end) => return Ok(end),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or(SamlError::NoBearerConfirmation))
}

/// A value from the document, shortened for an error message.
fn clip(value: &str) -> String {
    value.chars().take(200).collect()
}
