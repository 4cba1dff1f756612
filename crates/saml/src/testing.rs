//! Test support (feature `test-signer`): builds SAML Responses and signs them with the committed
//! test keys (`tests/fixtures/generate.py` made them; they sign nothing real), so tests of this
//! crate, the API and end to end can make valid and tampered assertions at any time. The
//! signer uses this crate's canonicalization; interoperability is what the signxml fixtures
//! are for.

use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sha2::{Digest as _, Sha256};

use crate::c14n::{self, Options};

/// The test IdP's RSA certificate (PEM) and the key that signs with it.
pub const IDP_RSA_CERT_PEM: &str = include_str!("../tests/fixtures/idp_rsa_cert.pem");
const IDP_RSA_KEY_PEM: &str = include_str!("../tests/fixtures/idp_rsa_key.pem");
/// The test IdP's P-256 certificate (PEM) and its key.
pub const IDP_EC_CERT_PEM: &str = include_str!("../tests/fixtures/idp_ec_cert.pem");
const IDP_EC_KEY_PEM: &str = include_str!("../tests/fixtures/idp_ec_key.pem");
/// A certificate of a key that signs nothing here ("wrong certificate").
pub const OTHER_RSA_CERT_PEM: &str = include_str!("../tests/fixtures/other_rsa_cert.pem");

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// A test signing key.
pub enum TestKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
}

impl TestKey {
    pub fn idp_rsa() -> Result<Self, String> {
        use rsa::pkcs8::DecodePrivateKey as _;
        rsa::RsaPrivateKey::from_pkcs8_pem(IDP_RSA_KEY_PEM)
            .map(|k| Self::Rsa(Box::new(k)))
            .map_err(|e| e.to_string())
    }

    pub fn idp_ec() -> Result<Self, String> {
        use p256::pkcs8::DecodePrivateKey as _;
        p256::ecdsa::SigningKey::from_pkcs8_pem(IDP_EC_KEY_PEM)
            .map(Self::P256)
            .map_err(|e| e.to_string())
    }

    fn default_method(&self) -> &'static str {
        match self {
            Self::Rsa(_) => RSA_SHA256,
            Self::P256(_) => ECDSA_SHA256,
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(key) => {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                rsa::pkcs1v15::SigningKey::<Sha256>::new((**key).clone())
                    .sign(message)
                    .to_vec()
            }
            Self::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
        }
    }
}

/// What to write into a signature other than the usual.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// The Reference URI (default `#` and the signed element's ID).
    pub reference_uri: Option<String>,
    /// The SignatureMethod URI written (the signature itself is always SHA-256).
    pub signature_method: Option<String>,
    /// The DigestMethod URI written.
    pub digest_method: Option<String>,
    /// An `InclusiveNamespaces PrefixList` on the Reference's c14n transform.
    pub inclusive_prefixes: Vec<String>,
}

/// Signs the element whose `ID` is `element_id` with an enveloped signature placed after its
/// Issuer, as SAML places it.
pub fn sign(
    xml: &str,
    element_id: &str,
    key: &TestKey,
    options: &SignOptions,
) -> Result<String, String> {
    const PLACEHOLDER: &str = "SIGNATURE-VALUE-TO-COME";
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let element = doc
        .descendants()
        .find(|n| n.attribute("ID") == Some(element_id))
        .ok_or("no element with that ID")?;
    let canonical = c14n::canonicalize(
        element,
        &Options {
            inclusive_prefixes: options.inclusive_prefixes.clone(),
            ..Options::default()
        },
    );
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(canonical));
    let insert_at = element
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == "Issuer")
        .map(|issuer| issuer.range().end)
        .or_else(|| element.first_child().map(|c| c.range().start))
        .ok_or("the element has no children")?;
    let prefixes = if options.inclusive_prefixes.is_empty() {
        String::new()
    } else {
        format!(
            r#"<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{}"/>"#,
            options.inclusive_prefixes.join(" ")
        )
    };
    let signature = format!(
        concat!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="{uri}"><ds:Transforms>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">{prefixes}</ds:Transform>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="{digest_method}"/>"#,
            r#"<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue>{placeholder}</ds:SignatureValue></ds:Signature>"#
        ),
        method = options
            .signature_method
            .as_deref()
            .unwrap_or(key.default_method()),
        uri = options
            .reference_uri
            .clone()
            .unwrap_or_else(|| format!("#{element_id}")),
        prefixes = prefixes,
        digest_method = options.digest_method.as_deref().unwrap_or(SHA256),
        digest = digest,
        placeholder = PLACEHOLDER,
    );
    let mut text = String::with_capacity(xml.len() + signature.len());
    text.push_str(&xml[..insert_at]);
    text.push_str(&signature);
    text.push_str(&xml[insert_at..]);
    let with_signature = roxmltree::Document::parse(&text).map_err(|e| e.to_string())?;
    let signed_info = with_signature
        .descendants()
        .find(|n| {
            n.tag_name().name() == "SignedInfo"
                && n.parent()
                    .is_some_and(|s| s.descendants().any(|v| v.text() == Some(PLACEHOLDER)))
        })
        .ok_or("the signature was not found again")?;
    let canonical_info = c14n::canonicalize(signed_info, &Options::default());
    let value =
        base64::engine::general_purpose::STANDARD.encode(key.sign(canonical_info.as_bytes()));
    Ok(text.replacen(PLACEHOLDER, &value, 1))
}

/// The parts of a test Response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    pub response_id: String,
    pub assertion_id: String,
    pub issuer: String,
    pub destination: Option<String>,
    pub recipient: String,
    pub audience: String,
    pub name_id: String,
    pub name_id_format: String,
    pub issue_instant: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub attributes: Vec<(String, Vec<String>)>,
}

impl ResponseSpec {
    /// A Response issued at `now` by `issuer` for the SP `audience` at `acs`, about Ada
    /// (e-mail NameID, Okta/JumpCloud-style attribute names), valid for five minutes.
    pub fn new(now: DateTime<Utc>, issuer: &str, audience: &str, acs: &str) -> Self {
        let millis = now.timestamp_millis();
        Self {
            response_id: format!("_r{millis}"),
            assertion_id: format!("_a{millis}"),
            issuer: issuer.to_owned(),
            destination: Some(acs.to_owned()),
            recipient: acs.to_owned(),
            audience: audience.to_owned(),
            name_id: "ada@example.com".into(),
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
            issue_instant: now,
            not_before: now - Duration::seconds(30),
            not_on_or_after: now + Duration::minutes(5),
            attributes: vec![
                ("email".into(), vec!["ada@example.com".into()]),
                ("firstName".into(), vec!["Ada".into()]),
                ("lastName".into(), vec!["Lovelace".into()]),
                ("groups".into(), vec!["engineering".into(), "admins".into()]),
            ],
        }
    }

    /// The unsigned Response. Namespaces are declared once on the Response, so a signed
    /// Assertion's canonical form must bring its inherited declaration along.
    pub fn xml(&self) -> String {
        let t = |time: DateTime<Utc>| time.to_rfc3339_opts(SecondsFormat::Secs, true);
        let destination = self
            .destination
            .as_ref()
            .map(|d| format!(r#" Destination="{}""#, escape(d)))
            .unwrap_or_default();
        let attributes: String = self
            .attributes
            .iter()
            .map(|(name, values)| {
                let values: String = values
                    .iter()
                    .map(|v| format!("<saml:AttributeValue>{}</saml:AttributeValue>", escape(v)))
                    .collect();
                format!(
                    r#"<saml:Attribute Name="{}">{values}</saml:Attribute>"#,
                    escape(name)
                )
            })
            .collect();
        format!(
            concat!(
                r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{rid}" Version="2.0" IssueInstant="{issued}"{destination}>"#,
                "\n  <saml:Issuer>{issuer}</saml:Issuer>",
                "\n  <samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>",
                "\n  <saml:Assertion ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{issued}\">",
                "\n    <saml:Issuer>{issuer}</saml:Issuer>",
                "\n    <saml:Subject><saml:NameID Format=\"{format}\">{name_id}</saml:NameID>",
                "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">",
                "<saml:SubjectConfirmationData NotOnOrAfter=\"{end}\" Recipient=\"{recipient}\"/>",
                "</saml:SubjectConfirmation></saml:Subject>",
                "\n    <saml:Conditions NotBefore=\"{start}\" NotOnOrAfter=\"{end}\">",
                "<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>",
                "\n    <saml:AuthnStatement AuthnInstant=\"{issued}\" SessionIndex=\"{aid}-s\"><saml:AuthnContext>",
                "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>",
                "</saml:AuthnContext></saml:AuthnStatement>",
                "\n    <saml:AttributeStatement>{attributes}</saml:AttributeStatement>",
                "\n  </saml:Assertion>\n</samlp:Response>"
            ),
            rid = escape(&self.response_id),
            aid = escape(&self.assertion_id),
            issued = t(self.issue_instant),
            destination = destination,
            issuer = escape(&self.issuer),
            format = escape(&self.name_id_format),
            name_id = escape(&self.name_id),
            recipient = escape(&self.recipient),
            start = t(self.not_before),
            end = t(self.not_on_or_after),
            audience = escape(&self.audience),
            attributes = attributes,
        )
    }

    /// The Response with its Assertion signed by `key`.
    pub fn signed_assertion(&self, key: &TestKey) -> Result<String, String> {
        sign(
            &self.xml(),
            &self.assertion_id,
            key,
            &SignOptions::default(),
        )
    }
}

/// The form value an IdP would post.
pub fn encode(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
