//! Why an assertion was refused, each reason with a stable code (what the API answers and the
//! failed sign-in records) and a sentence precise enough to fix the IdP's configuration by.
//! No message carries key material or the whole document: at most a value the IdP sent in the
//! clear (an issuer, an audience) or an algorithm URI.

/// A refused SAML response (or an integration whose SAML credentials cannot be used).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error("the SAML response is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("SAMLResponse is missing or is not base64")]
    NotBase64,
    #[error("the SAML response is not UTF-8 text")]
    NotUtf8,
    #[error("XML with a DTD or entity declarations is refused")]
    DtdRefused,
    #[error("the SAML response is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the XML nests deeper than {0} elements")]
    TooDeep(usize),
    #[error("the document is not a SAML 2.0 protocol Response")]
    NotAResponse,
    #[error("the IdP answered with status {0}, not Success")]
    StatusNotSuccess(String),
    #[error("encrypted assertions are not supported: turn off assertion encryption for Gatehouse at the IdP")]
    EncryptedAssertion,
    #[error("a Response must carry exactly one Assertion, as a child of the Response; found {0}")]
    AssertionCount(usize),
    #[error("two elements share the ID {0}")]
    DuplicateId(String),
    #[error("neither the Response nor the Assertion is signed")]
    Unsigned,
    #[error("a Signature is somewhere other than directly inside the Response or the Assertion")]
    SignatureMisplaced,
    #[error("the signature's Reference does not point to the element that carries it")]
    ReferenceMismatch,
    #[error("SHA-1 is refused ({0}); configure the IdP to sign with SHA-256")]
    Sha1Refused(String),
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("the signature is malformed: {0}")]
    MalformedSignature(String),
    #[error("the signature does not verify against any configured IdP certificate")]
    SignatureInvalid,
    #[error("the digest does not match: the signed element was changed after it was signed")]
    DigestMismatch,
    #[error("the issuer {0:?} is not the configured IdP entity id")]
    IssuerMismatch(String),
    #[error("the assertion is not meant for this service provider (audience {0:?})")]
    AudienceMismatch(String),
    #[error("the Response's Destination {0:?} is not this integration's ACS URL")]
    DestinationMismatch(String),
    #[error(
        "no bearer SubjectConfirmation names this integration's ACS URL as Recipient (found {0:?})"
    )]
    RecipientMismatch(String),
    #[error("the assertion is not valid before {0}")]
    NotYetValid(String),
    #[error("the assertion expired at {0}")]
    Expired(String),
    #[error("the assertion has no bearer SubjectConfirmation")]
    NoBearerConfirmation,
    #[error("the response answers an AuthnRequest (InResponseTo); Gatehouse sends none and accepts IdP-initiated responses only")]
    Solicited,
    #[error("the {0} is missing")]
    Missing(&'static str),
    #[error("{0} is not a valid xs:dateTime")]
    BadTime(&'static str),
    #[error("this assertion ID was seen before (replay)")]
    Replayed,
    #[error("the integration's SAML credentials cannot be used: {0}")]
    Config(String),
}

impl SamlError {
    /// The stable code of this reason (`saml_expired`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "saml_too_large",
            Self::NotBase64 => "saml_not_base64",
            Self::NotUtf8 => "saml_not_utf8",
            Self::DtdRefused => "saml_dtd_refused",
            Self::Malformed(_) => "saml_malformed_xml",
            Self::TooDeep(_) => "saml_too_deep",
            Self::NotAResponse => "saml_not_a_response",
            Self::StatusNotSuccess(_) => "saml_status_not_success",
            Self::EncryptedAssertion => "saml_encrypted_assertion_unsupported",
            Self::AssertionCount(_) => "saml_assertion_count",
            Self::DuplicateId(_) => "saml_duplicate_id",
            Self::Unsigned => "saml_unsigned",
            Self::SignatureMisplaced => "saml_signature_misplaced",
            Self::ReferenceMismatch => "saml_reference_mismatch",
            Self::Sha1Refused(_) => "saml_sha1_refused",
            Self::UnsupportedAlgorithm(_) => "saml_unsupported_algorithm",
            Self::MalformedSignature(_) => "saml_malformed_signature",
            Self::SignatureInvalid => "saml_signature_invalid",
            Self::DigestMismatch => "saml_digest_mismatch",
            Self::IssuerMismatch(_) => "saml_issuer_mismatch",
            Self::AudienceMismatch(_) => "saml_audience_mismatch",
            Self::DestinationMismatch(_) => "saml_destination_mismatch",
            Self::RecipientMismatch(_) => "saml_recipient_mismatch",
            Self::NotYetValid(_) => "saml_not_yet_valid",
            Self::Expired(_) => "saml_expired",
            Self::NoBearerConfirmation => "saml_no_bearer_confirmation",
            Self::Solicited => "saml_solicited_response",
            Self::Missing(_) => "saml_missing_element",
            Self::BadTime(_) => "saml_bad_time",
            Self::Replayed => "saml_replayed",
            Self::Config(_) => "saml_integration_misconfigured",
        }
    }
}
