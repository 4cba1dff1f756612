//! Property tests (docs/SECURITY.md): the ACS entry point given arbitrary `SAMLResponse` text,
//! arbitrary base64, and real signed responses (the fixtures signed by signxml, and one signed
//! now by the test signer) with bytes cut, spliced or flipped and attributes/elements
//! duplicated: every one is an assertion or a refusal, never a panic. `make fuzz` runs it long.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use base64::Engine as _;
use chrono::{DateTime, Utc};
use gatehouse_core::catalog::{PemCertificates, SamlConfig, SamlCredentials};
use gatehouse_saml::testing::{self, ResponseSpec, TestKey};
use gatehouse_saml::SamlIntegration;
use proptest::prelude::*;

const ACS: &str = "https://gatehouse.example/v1/idp/saml/int_fixture/acs";
const SP: &str = "urn:gatehouse:saml:int_fixture";
const IDP: &str = "https://idp.example/saml";

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

/// The fixtures' clock: a minute after they were issued.
fn now() -> DateTime<Utc> {
    "2026-05-01T12:01:00Z".parse().unwrap()
}

fn integration() -> SamlIntegration {
    let credentials = SamlCredentials {
        idp_entity_id: Some(IDP.into()),
        idp_certificate: Some(PemCertificates::Many(vec![
            testing::IDP_RSA_CERT_PEM.into(),
            testing::IDP_EC_CERT_PEM.into(),
        ])),
        idp_metadata_xml: None,
        attribute_mapping: None,
    };
    let config = SamlConfig {
        public_base_url: Some("https://gatehouse.example/".into()),
        ..SamlConfig::default()
    };
    SamlIntegration::new("int_fixture", &credentials, &config).unwrap()
}

/// Signed responses to start from: the signxml fixtures and one of our test signer's.
fn documents() -> Vec<String> {
    let mut all: Vec<String> = [
        "signxml_rsa_response.xml",
        "signxml_rsa_assertion.xml",
        "signxml_ecdsa_assertion.xml",
        "signxml_okta.xml",
        "signxml_entra.xml",
        "signxml_rsa_sha1.xml",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect();
    let spec = ResponseSpec::new(now(), IDP, SP, ACS);
    all.push(spec.signed_assertion(&TestKey::idp_rsa().unwrap()).unwrap());
    all
}

/// One change to a document's bytes.
#[derive(Debug, Clone)]
enum Edit {
    /// Cut `len` bytes at `at` and put `with` there.
    Splice(usize, usize, Vec<u8>),
    /// Flip one bit.
    Flip(usize, u8),
    /// Repeat a slice right after itself (a duplicated attribute, element or ID).
    Repeat(usize, usize),
    /// Insert markup SAML parsers trip on.
    Insert(usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (
            any::<usize>(),
            0..64usize,
            prop::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(at, len, with)| Edit::Splice(at, len, with)),
        (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        (any::<usize>(), 1..400usize).prop_map(|(at, len)| Edit::Repeat(at, len)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "<!--x-->",
                "<!DOCTYPE r [<!ENTITY e \"e\">]>",
                "&e;",
                "<![CDATA[x]]>",
                "<?pi x?>",
                "xmlns:saml=\"urn:x\" ",
                "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>",
                "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>",
                "ID=\"dup\" ",
                "\u{0}",
                "&#x0;",
                "\u{feff}",
            ])
        )
            .prop_map(|(at, text)| Edit::Insert(at, text)),
    ]
}

fn apply(doc: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = doc.as_bytes().to_vec();
    for e in edits {
        let n = bytes.len();
        match e {
            Edit::Splice(at, len, with) => {
                let at = at % (n + 1);
                let end = (at + len).min(n);
                bytes.splice(at..end, with.iter().copied());
            }
            Edit::Flip(at, bit) => {
                if n > 0 {
                    bytes[at % n] ^= 1 << bit;
                }
            }
            Edit::Repeat(at, len) => {
                let at = at % (n + 1);
                let end = (at + len).min(n);
                let copy = bytes[at..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Insert(at, text) => {
                let at = at % (n + 1);
                bytes.splice(at..at, text.bytes());
            }
        }
    }
    bytes
}

/// The ACS check of `bytes` as the browser would post them, base64-encoded.
fn post(bytes: &[u8]) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let _ = integration().validate_post(&encoded, now());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_saml_response_text_is_refused_or_accepted(text in "\\PC{0,300}") {
        let _ = integration().validate_post(&text, now());
    }

    #[test]
    fn any_decoded_bytes_are_refused_or_accepted(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        post(&bytes);
    }

    #[test]
    fn a_mutated_signed_response_is_refused_or_accepted(
        doc in prop::sample::select(documents()),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        post(&apply(&doc, &edits));
    }
}
