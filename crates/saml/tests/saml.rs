#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SAML service provider against responses signed by an independent implementation
//! (signxml, fixtures made by `fixtures/generate.py`) and by our test signer, and a tampered
//! variant for every rule: each must fail with its own reason.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::catalog::{PemCertificates, SamlConfig, SamlCredentials};
use gatehouse_saml::c14n::{self, Options};
use gatehouse_saml::testing::{self, ResponseSpec, SignOptions, TestKey};
use gatehouse_saml::{metadata, validate, SamlError, SamlIntegration};

const ACS: &str = "https://gatehouse.example/v1/idp/saml/int_fixture/acs";
const SP: &str = "urn:gatehouse:saml:int_fixture";
const IDP: &str = "https://idp.example/saml";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixtures' clock: a minute after they were issued.
fn fixture_now() -> DateTime<Utc> {
    "2026-05-01T12:01:00Z".parse().unwrap()
}

fn integration_with(
    certs: PemCertificates,
    mapping: Option<BTreeMap<String, String>>,
) -> SamlIntegration {
    let credentials = SamlCredentials {
        idp_entity_id: Some(IDP.into()),
        idp_certificate: Some(certs),
        idp_metadata_xml: None,
        attribute_mapping: mapping,
    };
    let config = SamlConfig {
        public_base_url: Some("https://gatehouse.example/".into()),
        ..SamlConfig::default()
    };
    SamlIntegration::new("int_fixture", &credentials, &config).unwrap()
}

fn integration() -> SamlIntegration {
    integration_with(
        PemCertificates::Many(vec![
            testing::IDP_RSA_CERT_PEM.into(),
            testing::IDP_EC_CERT_PEM.into(),
        ]),
        None,
    )
}

fn check(xml: &str, now: DateTime<Utc>) -> Result<gatehouse_saml::Assertion, SamlError> {
    integration()
        .validate_post(&testing::encode(xml), now)
        .map_err(|r| r.error)
}

fn refusal(xml: &str, now: DateTime<Utc>) -> SamlError {
    check(xml, now).expect_err("must be refused")
}

fn rsa() -> TestKey {
    TestKey::idp_rsa().unwrap()
}

/// A response made now by our signer, for rules that need fresh times.
fn spec(now: DateTime<Utc>) -> ResponseSpec {
    ResponseSpec::new(now, IDP, SP, ACS)
}

// --- canonicalization against libxml2's (through lxml) ------------------------------------

fn first_element<'a, 'i>(doc: &'a roxmltree::Document<'i>, local: &str) -> roxmltree::Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.tag_name().name() == local)
        .unwrap()
}

#[test]
fn exclusive_c14n_matches_libxml2() {
    let okta = fixture("signxml_okta.xml");
    let doc = roxmltree::Document::parse(&okta).unwrap();
    let assertion = first_element(&doc, "Assertion");
    let with_comments = Options {
        with_comments: true,
        ..Options::default()
    };
    assert_eq!(
        c14n::canonicalize(assertion, &with_comments),
        fixture("c14n_okta_assertion.xml")
    );
    let xs = Options {
        with_comments: true,
        inclusive_prefixes: vec!["xs".into()],
        exclude: None,
    };
    assert_eq!(
        c14n::canonicalize(assertion, &xs),
        fixture("c14n_okta_assertion_xs.xml")
    );
    assert_eq!(
        c14n::canonicalize(first_element(&doc, "Subject"), &with_comments),
        fixture("c14n_okta_subject.xml")
    );
    let tricky = fixture("c14n_tricky_input.xml");
    let doc = roxmltree::Document::parse(&tricky).unwrap();
    assert_eq!(
        c14n::canonicalize(first_element(&doc, "child"), &with_comments),
        fixture("c14n_tricky_child.xml")
    );
}

// --- interoperability: signed by signxml ----------------------------------------------------

#[test]
fn signxml_rsa_sha256_assertion_signature_verifies() {
    let assertion = check(&fixture("signxml_rsa_assertion.xml"), fixture_now()).unwrap();
    assert_eq!(assertion.id, "_a1");
    assert_eq!(assertion.name_id, "ada@example.com");
    assert_eq!(assertion.issuer, IDP);
    assert_eq!(
        assertion.not_on_or_after,
        "2026-05-01T12:05:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn signxml_ecdsa_sha256_assertion_signature_verifies() {
    let assertion = check(&fixture("signxml_ecdsa_assertion.xml"), fixture_now()).unwrap();
    assert_eq!(assertion.id, "_a2");
}

#[test]
fn signxml_response_signature_covers_the_assertion() {
    let assertion = check(&fixture("signxml_rsa_response.xml"), fixture_now()).unwrap();
    assert_eq!(assertion.id, "_a3");
}

#[test]
fn our_signer_round_trips_with_rsa_and_ecdsa() {
    let now = fixture_now();
    check(&spec(now).signed_assertion(&rsa()).unwrap(), now).unwrap();
    let ec = spec(now)
        .signed_assertion(&TestKey::idp_ec().unwrap())
        .unwrap();
    check(&ec, now).unwrap();
    // An inclusive prefix list on the reference is honoured.
    let s = spec(now);
    let xml = testing::sign(
        &s.xml(),
        &s.assertion_id,
        &rsa(),
        &SignOptions {
            inclusive_prefixes: vec!["samlp".into()],
            ..SignOptions::default()
        },
    )
    .unwrap();
    check(&xml, now).unwrap();
}

// --- real-world shapes with the default mapping ---------------------------------------------

#[test]
fn entra_id_assertion_maps_with_the_default_mapping() {
    let saml = integration();
    let assertion = saml
        .validate_post(
            &testing::encode(&fixture("signxml_entra.xml")),
            fixture_now(),
        )
        .unwrap();
    let user = saml.mapping.user(&assertion);
    assert_eq!(user.external_id, "grace.hopper@contoso.example");
    assert_eq!(user.email.as_deref(), Some("grace.hopper@contoso.example"));
    assert_eq!(user.login, "grace.hopper@contoso.example");
    assert_eq!(user.given_name.as_deref(), Some("Grace"));
    assert_eq!(user.family_name.as_deref(), Some("Hopper"));
    assert_eq!(user.display_name.as_deref(), Some("Grace Hopper"));
    assert_eq!(
        user.groups,
        Some(vec![
            "5f6a7b8c-1111-2222-3333-444455556666".to_owned(),
            "9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff".to_owned()
        ])
    );
}

#[test]
fn okta_assertion_maps_with_the_default_mapping() {
    let saml = integration();
    let assertion = saml
        .validate_post(
            &testing::encode(&fixture("signxml_okta.xml")),
            fixture_now(),
        )
        .unwrap();
    assert_eq!(
        assertion.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
    );
    let user = saml.mapping.user(&assertion);
    assert_eq!(user.external_id, "kjohnson@example.org");
    assert_eq!(user.email.as_deref(), Some("katherine.johnson@example.org"));
    assert_eq!(user.login, "kjohnson@example.org");
    assert_eq!(user.given_name.as_deref(), Some("Katherine"));
    assert_eq!(user.family_name.as_deref(), Some("Johnson"));
    assert_eq!(user.display_name.as_deref(), Some("Katherine Johnson"));
    assert_eq!(user.groups, Some(vec!["Everyone".into(), "NASA".into()]));
}

#[test]
fn a_configured_mapping_replaces_the_default_of_the_fields_it_names() {
    let mapping = BTreeMap::from([("email".to_owned(), "login".to_owned())]);
    let saml = integration_with(
        PemCertificates::One(testing::IDP_RSA_CERT_PEM.into()),
        Some(mapping),
    );
    let assertion = saml
        .validate_post(
            &testing::encode(&fixture("signxml_okta.xml")),
            fixture_now(),
        )
        .unwrap();
    let user = saml.mapping.user(&assertion);
    assert_eq!(user.email.as_deref(), Some("kjohnson@example.org"));
    assert_eq!(
        user.given_name.as_deref(),
        Some("Katherine"),
        "defaults stay"
    );
}

// --- tampered variants: each rule refuses ----------------------------------------------------

#[test]
fn an_altered_attribute_breaks_the_digest() {
    let xml = fixture("signxml_rsa_assertion.xml").replace(">Lovelace<", ">Byron<");
    assert_eq!(refusal(&xml, fixture_now()), SamlError::DigestMismatch);
    let xml = fixture("signxml_rsa_response.xml").replace(">engineering<", ">payroll<");
    assert_eq!(refusal(&xml, fixture_now()), SamlError::DigestMismatch);
}

#[test]
fn a_signature_by_another_certificate_is_refused() {
    let saml = integration_with(
        PemCertificates::One(testing::OTHER_RSA_CERT_PEM.into()),
        None,
    );
    let refused = saml
        .validate_post(
            &testing::encode(&fixture("signxml_rsa_assertion.xml")),
            fixture_now(),
        )
        .unwrap_err();
    assert_eq!(refused.error, SamlError::SignatureInvalid);
    // Unverified: it names nobody, or anyone could record failures against any account.
    assert_eq!(refused.subject, None);
}

#[test]
fn certificate_rollover_trusts_every_listed_certificate() {
    let saml = integration_with(
        PemCertificates::Many(vec![
            testing::OTHER_RSA_CERT_PEM.into(),
            testing::IDP_RSA_CERT_PEM.into(),
        ]),
        None,
    );
    saml.validate_post(
        &testing::encode(&fixture("signxml_rsa_assertion.xml")),
        fixture_now(),
    )
    .unwrap();
}

#[test]
fn expired_and_not_yet_valid_assertions_are_refused_with_skew() {
    // The signxml fixture outside its window (valid 11:59–12:05, skew 3 minutes).
    let xml = fixture("signxml_rsa_assertion.xml");
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    check(&xml, at("2026-05-01T12:07:59Z")).unwrap();
    assert!(matches!(
        refusal(&xml, at("2026-05-01T12:08:00Z")),
        SamlError::Expired(_)
    ));
    check(&xml, at("2026-05-01T11:56:00Z")).unwrap();
    assert!(matches!(
        refusal(&xml, at("2026-05-01T11:55:59Z")),
        SamlError::NotYetValid(_)
    ));
    // Signed that way: an expired assertion and one from the future.
    let now = fixture_now();
    let mut expired = spec(now - Duration::minutes(20));
    expired.not_on_or_after = now - Duration::minutes(10);
    let xml = expired.signed_assertion(&rsa()).unwrap();
    assert!(matches!(refusal(&xml, now), SamlError::Expired(_)));
    let mut early = spec(now);
    early.not_before = now + Duration::minutes(10);
    let xml = early.signed_assertion(&rsa()).unwrap();
    assert!(matches!(refusal(&xml, now), SamlError::NotYetValid(_)));
}

/// A refusal names its subject only when the signature verified: an authentic but expired
/// assertion is a failed sign-in of its subject; an unsigned or forged one, naming whoever its
/// author chose, names nobody (or anyone could pile failures onto any account).
#[test]
fn only_an_authentic_refused_assertion_names_its_subject() {
    let xml = fixture("signxml_rsa_assertion.xml");
    let late = "2026-05-01T12:30:00Z".parse::<DateTime<Utc>>().unwrap();
    let expired = integration()
        .validate_post(&testing::encode(&xml), late)
        .unwrap_err();
    assert!(
        matches!(expired.error, SamlError::Expired(_)),
        "{:?}",
        expired.error
    );
    assert_eq!(expired.subject.as_deref(), Some("ada@example.com"));

    let now = fixture_now();
    let unsigned = spec(now).xml();
    let forged = integration()
        .validate_post(&testing::encode(&unsigned), now)
        .unwrap_err();
    assert_eq!(forged.error, SamlError::Unsigned);
    assert_eq!(forged.subject, None);
}

#[test]
fn wrong_audience_recipient_destination_and_issuer_are_refused() {
    let now = fixture_now();
    let mut s = spec(now);
    s.audience = "https://another-sp.example".into();
    assert_eq!(
        refusal(&s.signed_assertion(&rsa()).unwrap(), now),
        SamlError::AudienceMismatch("https://another-sp.example".into())
    );
    let mut s = spec(now);
    s.recipient = "https://another-sp.example/acs".into();
    assert_eq!(
        refusal(&s.signed_assertion(&rsa()).unwrap(), now),
        SamlError::RecipientMismatch("https://another-sp.example/acs".into())
    );
    let mut s = spec(now);
    s.destination = Some("https://gatehouse.example/v1/idp/saml/int_other/acs".into());
    assert!(matches!(
        refusal(&s.signed_assertion(&rsa()).unwrap(), now),
        SamlError::DestinationMismatch(_)
    ));
    let mut s = spec(now);
    s.issuer = "https://evil.example".into();
    assert_eq!(
        refusal(&s.signed_assertion(&rsa()).unwrap(), now),
        SamlError::IssuerMismatch("https://evil.example".into())
    );
}

#[test]
fn without_a_public_base_url_the_acs_path_is_compared() {
    let credentials = SamlCredentials {
        idp_entity_id: Some(IDP.into()),
        idp_certificate: Some(PemCertificates::One(testing::IDP_RSA_CERT_PEM.into())),
        idp_metadata_xml: None,
        attribute_mapping: None,
    };
    let saml = SamlIntegration::new("int_fixture", &credentials, &SamlConfig::default()).unwrap();
    let now = fixture_now();
    let mut s = spec(now);
    s.destination = Some("http://127.0.0.1:8080/v1/idp/saml/int_fixture/acs".into());
    s.recipient = "http://127.0.0.1:8080/v1/idp/saml/int_fixture/acs".into();
    saml.validate_post(&testing::encode(&s.signed_assertion(&rsa()).unwrap()), now)
        .unwrap();
    s.recipient = "http://127.0.0.1:8080/v1/idp/saml/int_other/acs".into();
    let refused = saml
        .validate_post(&testing::encode(&s.signed_assertion(&rsa()).unwrap()), now)
        .unwrap_err();
    assert!(matches!(refused.error, SamlError::RecipientMismatch(_)));
}

#[test]
fn an_unsigned_response_is_refused() {
    let now = fixture_now();
    assert_eq!(refusal(&spec(now).xml(), now), SamlError::Unsigned);
    // Stripping the signature from a signed fixture too.
    let xml = fixture("signxml_rsa_assertion.xml");
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let stripped = format!("{}{}", &xml[..start], &xml[end..]);
    assert_eq!(refusal(&stripped, fixture_now()), SamlError::Unsigned);
}

/// The signed Assertion element of a document, as text.
fn assertion_text(xml: &str) -> &str {
    let start = xml.find("<saml2:Assertion").unwrap();
    let end = xml.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    &xml[start..end]
}

#[test]
fn wrapping_a_second_unsigned_assertion_is_refused() {
    let xml = fixture("signxml_rsa_assertion.xml");
    let signed = assertion_text(&xml);
    // An attacker's assertion before the signed one, and the signed one kept for its signature.
    let evil = signed
        .replace("ID=\"_a1\"", "ID=\"_evil\"")
        .replace("ada@example.com", "mallory@example.com");
    let evil_start = evil.find("<ds:Signature").unwrap();
    let evil_end = evil.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let evil = format!("{}{}", &evil[..evil_start], &evil[evil_end..]);
    let wrapped = xml.replacen(signed, &format!("{evil}{signed}"), 1);
    assert_eq!(
        refusal(&wrapped, fixture_now()),
        SamlError::AssertionCount(2)
    );
    // The signed one hidden inside the attacker's (in its Subject's extensions), not beside it.
    let hidden = xml.replacen(
        signed,
        &evil.replacen("</saml2:Subject>", &format!("{signed}</saml2:Subject>"), 1),
        1,
    );
    assert_eq!(
        refusal(&hidden, fixture_now()),
        SamlError::AssertionCount(2)
    );
}

#[test]
fn wrapping_with_a_moved_signature_is_refused() {
    let xml = fixture("signxml_rsa_assertion.xml");
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &xml[start..end];
    let without = format!("{}{}", &xml[..start], &xml[end..]);
    // Onto the Response (whose ID it does not reference).
    let on_response =
        without.replacen("<saml2p:Status>", &format!("{signature}<saml2p:Status>"), 1);
    assert_eq!(
        refusal(&on_response, fixture_now()),
        SamlError::ReferenceMismatch
    );
    // Deeper inside the Assertion.
    let deeper = without.replacen(
        "</saml2:Subject>",
        &format!("{signature}</saml2:Subject>"),
        1,
    );
    assert_eq!(
        refusal(&deeper, fixture_now()),
        SamlError::SignatureMisplaced
    );
}

#[test]
fn wrapping_with_a_reference_to_another_element_is_refused() {
    let now = fixture_now();
    let s = spec(now);
    // A valid signature over the Response's ID, placed in the Assertion.
    let mut options = SignOptions {
        reference_uri: Some(format!("#{}", s.response_id)),
        ..SignOptions::default()
    };
    let xml = testing::sign(&s.xml(), &s.assertion_id, &rsa(), &options).unwrap();
    assert_eq!(refusal(&xml, now), SamlError::ReferenceMismatch);
    // And a fixture whose reference was edited to point elsewhere.
    let xml = fixture("signxml_rsa_assertion.xml").replace("URI=\"#_a1\"", "URI=\"#_resp_a1\"");
    assert_eq!(refusal(&xml, fixture_now()), SamlError::ReferenceMismatch);
    // An empty reference (the whole document) is not the element either.
    options.reference_uri = Some(String::new());
    let xml = testing::sign(&s.xml(), &s.assertion_id, &rsa(), &options).unwrap();
    assert_eq!(refusal(&xml, now), SamlError::ReferenceMismatch);
}

#[test]
fn duplicate_ids_are_refused() {
    let xml = fixture("signxml_rsa_assertion.xml").replace(
        "<saml2:Subject>",
        "<saml2:Subject><saml2:BaseID ID=\"_a1\"/>",
    );
    assert_eq!(
        refusal(&xml, fixture_now()),
        SamlError::DuplicateId("_a1".into())
    );
}

#[test]
fn dtds_and_entity_expansion_are_refused() {
    let xml = fixture("signxml_rsa_assertion.xml");
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        xml.replacen(">Lovelace<", ">&b;<", 1)
    );
    assert_eq!(refusal(&laughs, fixture_now()), SamlError::DtdRefused);
    let xxe = format!(
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        xml.replacen(">Lovelace<", ">&x;<", 1)
    );
    assert_eq!(refusal(&xxe, fixture_now()), SamlError::DtdRefused);
}

#[test]
fn sha1_is_refused() {
    // signxml's real SHA-1 signature and digest.
    assert!(matches!(
        refusal(&fixture("signxml_rsa_sha1.xml"), fixture_now()),
        SamlError::Sha1Refused(_)
    ));
    // A SHA-1 digest under an SHA-256 signature too.
    let now = fixture_now();
    let s = spec(now);
    let options = SignOptions {
        digest_method: Some(testing::SHA1.into()),
        ..SignOptions::default()
    };
    let xml = testing::sign(&s.xml(), &s.assertion_id, &rsa(), &options).unwrap();
    assert!(matches!(refusal(&xml, now), SamlError::Sha1Refused(_)));
}

#[test]
fn encrypted_assertions_are_refused_clearly() {
    let now = fixture_now();
    let xml = spec(now).xml();
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let encrypted = format!(
        "{}<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/></saml:EncryptedAssertion>{}",
        &xml[..start],
        &xml[end..]
    );
    let error = refusal(&encrypted, now);
    assert_eq!(error, SamlError::EncryptedAssertion);
    assert!(error.to_string().contains("turn off assertion encryption"));
}

#[test]
fn error_statuses_and_solicited_responses_are_refused() {
    let now = fixture_now();
    let xml = spec(now)
        .signed_assertion(&rsa())
        .unwrap()
        .replace("status:Success", "status:Requester");
    assert!(matches!(refusal(&xml, now), SamlError::StatusNotSuccess(_)));
    let s = spec(now);
    let xml = s.xml().replacen(
        "Version=\"2.0\"",
        "Version=\"2.0\" InResponseTo=\"_req1\"",
        1,
    );
    let xml = testing::sign(&xml, &s.assertion_id, &rsa(), &SignOptions::default()).unwrap();
    assert_eq!(refusal(&xml, now), SamlError::Solicited);
}

#[test]
fn errors_never_carry_key_material() {
    let bad = SamlCredentials {
        idp_entity_id: Some(IDP.into()),
        idp_certificate: Some(PemCertificates::One(
            "-----BEGIN CERTIFICATE-----\nMIIsecretish\n-----END CERTIFICATE-----".into(),
        )),
        idp_metadata_xml: None,
        attribute_mapping: None,
    };
    let error = SamlIntegration::new("int_x", &bad, &SamlConfig::default()).unwrap_err();
    assert_eq!(error.code(), "saml_integration_misconfigured");
    assert!(!error.to_string().contains("MIIsecretish"));
}

// --- metadata -----------------------------------------------------------------------------

#[test]
fn idp_metadata_gives_the_entity_id_and_certificates() {
    let der_b64: String = testing::IDP_RSA_CERT_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let xml = format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{other}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
{der_b64}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
        other = testing::OTHER_RSA_CERT_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    );
    let read = metadata::read_idp_metadata(&xml).unwrap();
    assert_eq!(read.entity_id, IDP);
    assert_eq!(read.keys.len(), 1, "encryption keys are not signing keys");
    let credentials = SamlCredentials {
        idp_entity_id: None,
        idp_certificate: None,
        idp_metadata_xml: Some(xml),
        attribute_mapping: None,
    };
    let config = SamlConfig {
        public_base_url: Some("https://gatehouse.example".into()),
        ..SamlConfig::default()
    };
    let saml = SamlIntegration::new("int_fixture", &credentials, &config).unwrap();
    saml.validate_post(
        &testing::encode(&fixture("signxml_rsa_assertion.xml")),
        fixture_now(),
    )
    .unwrap();
    // Metadata with a DTD is refused like a response.
    let dtd = "<!DOCTYPE x []><md:EntityDescriptor/>";
    assert!(metadata::read_idp_metadata(dtd).is_err());
}

#[test]
fn sp_metadata_names_the_entity_id_and_acs() {
    let xml = metadata::sp_metadata(SP, ACS);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("entityID"), Some(SP));
    let acs = first_element(&doc, "AssertionConsumerService");
    assert_eq!(acs.attribute("Location"), Some(ACS));
    assert_eq!(
        acs.attribute("Binding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
    let _ = validate::SAML_NS;
}

#[test]
fn a_response_and_assertion_both_signed_verify_and_a_bad_outer_one_is_not_outvoted() {
    let now = fixture_now();
    let s = spec(now);
    let inner = s.signed_assertion(&rsa()).unwrap();
    let both = testing::sign(&inner, &s.response_id, &rsa(), &SignOptions::default()).unwrap();
    check(&both, now).unwrap();
    // The outer signature by a key the integration does not trust: refused, although the
    // assertion's own signature is good.
    let ec_outer = testing::sign(
        &inner,
        &s.response_id,
        &TestKey::idp_ec().unwrap(),
        &SignOptions::default(),
    )
    .unwrap();
    let rsa_only = integration_with(PemCertificates::One(testing::IDP_RSA_CERT_PEM.into()), None);
    let refused = rsa_only
        .validate_post(&testing::encode(&ec_outer), now)
        .unwrap_err();
    assert_eq!(refused.error, SamlError::SignatureInvalid);
}

#[test]
fn a_comment_inside_a_signed_value_does_not_truncate_it() {
    let now = fixture_now();
    let mut s = spec(now);
    s.name_id = "admin@example.com.evil.example".into();
    s.attributes = vec![(
        "email".into(),
        vec!["admin@example.com.evil.example".into()],
    )];
    let signed = s.signed_assertion(&rsa()).unwrap();
    // Comments are outside the signed form, so the signature still verifies: what is read must
    // be the whole signed value, not the text before the comment.
    let commented = signed.replace(
        "admin@example.com.evil.example",
        "admin@example.com<!---->.evil.example",
    );
    let saml = integration();
    let assertion = saml
        .validate_post(&testing::encode(&commented), now)
        .unwrap();
    assert_eq!(assertion.name_id, "admin@example.com.evil.example");
    let user = saml.mapping.user(&assertion);
    assert_eq!(
        user.email.as_deref(),
        Some("admin@example.com.evil.example")
    );
}
