//! Provider descriptors: for each integration type, what its credentials and config are made of,
//! whether it receives pushes, and which config flag switches its sign-in pull.
//!
//! A provider crate declares its credentials and config as typed structs (`Deserialize` for the
//! values, `utoipa::ToSchema` for the names, documentation, ranges and required keys) and builds
//! its descriptor with [`FieldSet::of`]. The API validates every integration through the
//! descriptor ([`crate::validate`]), serves the same schemas as the catalog, and the docs are
//! checked against them: the struct is the one source of truth. Only the Gatehouse-side types
//! (`scim`, `saml`) are described here; every provider's descriptor lives in its own crate.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::records::{TokenPlace, DEFAULT_TOKEN_PLACES};
use crate::validate::{self, EndpointPolicy, FieldError};

/// A typed credential or config object of one integration type.
pub trait Fields: serde::de::DeserializeOwned + utoipa::PartialSchema {
    /// Rules that neither the value types nor the schema state: the hosts a provider lives on,
    /// the endpoint policy. Errors name the field relative to the object (`domain`).
    fn check(&self, _policy: EndpointPolicy) -> Result<(), FieldError> {
        Ok(())
    }
}

/// The checks and the JSON Schema of one typed object, as plain function pointers so that a
/// descriptor can be a `static`.
#[derive(Clone, Copy)]
pub struct FieldSet {
    check: fn(&Map<String, Value>, EndpointPolicy) -> Result<(), FieldError>,
    schema: fn() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
}

impl FieldSet {
    /// The field set of a typed object.
    pub const fn of<T: Fields>() -> Self {
        Self {
            check: validate::check_typed::<T>,
            schema: <T as utoipa::PartialSchema>::schema,
        }
    }

    /// Validates a whole object; errors name fields relative to it.
    pub fn check(
        &self,
        object: &Map<String, Value>,
        policy: EndpointPolicy,
    ) -> Result<(), FieldError> {
        (self.check)(object, policy)
    }

    /// The object's JSON Schema (names, documentation, types, ranges, required keys).
    pub fn schema(&self) -> Value {
        serde_json::to_value((self.schema)()).unwrap_or(Value::Null)
    }

    /// The object's top-level keys with their schemas, and which are required.
    pub fn properties(&self) -> validate::Properties {
        validate::Properties::of(&self.schema())
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.properties().names()).finish()
    }
}

/// What an integration of one type is made of.
#[derive(Debug)]
pub struct ProviderDescriptor {
    /// The `type` of `POST /v1/integrations`.
    pub id: &'static str,
    pub display_name: &'static str,
    /// Receives pushed events at `/v1/idp/{id}` and so gets an ingest token.
    pub push_capable: bool,
    /// Where a pushed request carries the ingest token, tried in order.
    pub push_token: &'static [TokenPlace],
    /// Is provisioned into over SCIM and so gets a SCIM token.
    pub scim_server: bool,
    /// The boolean config key that turns the sign-in log pull off (`ingest_signins`; a provider
    /// may keep its own word for its log); `None` when the type has no sign-in pull.
    pub signins_flag: Option<&'static str>,
    pub credentials: FieldSet,
    pub config: FieldSet,
}

/// The config every pulled provider shares; a provider's config flattens it beside its own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct PullConfig {
    /// Pull the directory (default true).
    pub ingest_users: Option<bool>,
    /// Allow response actions at the provider (default false).
    pub enable_response_actions: Option<bool>,
    /// Incremental directory pull schedule: cron, seconds first, or the five-field form
    /// (default hourly, `0 0 * * * *`).
    #[schema(min_length = 1)]
    pub users_schedule: Option<String>,
    /// Full directory pull schedule (default daily, `0 30 3 * * *`).
    #[schema(min_length = 1)]
    pub full_sync_schedule: Option<String>,
    /// Sign-in log pull schedule (default every minute, `0 * * * * *`).
    #[schema(min_length = 1)]
    pub signins_schedule: Option<String>,
    /// Share of the provider's rate limit Gatehouse may use (default 0.5); the rest stays for
    /// the customer's other apps, which draw on the same limits.
    #[schema(minimum = 0.05, maximum = 1.0)]
    pub rate_limit_share: Option<f64>,
}

/// The config keys whose values are cron schedules, with the engine's defaults.
pub const SCHEDULE_KEYS: [&str; 3] = ["users_schedule", "full_sync_schedule", "signins_schedule"];

/// Credentials of a `scim` integration (an IdP provisions into Gatehouse).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ScimCredentials {
    /// Lets the IdP get short-lived tokens from `POST /v1/scim/oauth/token` (client
    /// credentials).
    #[schema(min_length = 1)]
    pub oauth_client_id: Option<String>,
    /// The client secret for that flow.
    #[schema(min_length = 1)]
    pub oauth_client_secret: Option<String>,
}

impl Fields for ScimCredentials {}

/// What `DELETE /Users/{id}` does to a provisioned user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScimDeprovision {
    /// Keep the record as deprovisioned (the default).
    Deactivate,
    Delete,
}

/// Config of a `scim` integration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ScimConfig {
    /// What DELETE does (default deactivate: keep the record as deprovisioned).
    #[schema(inline)]
    pub deprovision: Option<ScimDeprovision>,
    /// Extension schemas of the tenant's own (RFC 7643 schema objects).
    #[schema(value_type = Option<Vec<Object>>)]
    pub custom_schemas: Option<Vec<Map<String, Value>>>,
}

impl Fields for ScimConfig {}

pub static SCIM: ProviderDescriptor = ProviderDescriptor {
    id: "scim",
    display_name: "SCIM 2.0 provisioning",
    push_capable: false,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: true,
    signins_flag: None,
    credentials: FieldSet::of::<ScimCredentials>(),
    config: FieldSet::of::<ScimConfig>(),
};

/// The inventory user fields a `saml` integration's `attribute_mapping` may name.
pub const SAML_USER_FIELDS: [&str; 9] = [
    "email",
    "login",
    "display_name",
    "given_name",
    "family_name",
    "groups",
    "department",
    "title",
    "manager",
];

/// One PEM certificate, or several (a signing-key rollover: the old and the new).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PemCertificates {
    One(String),
    Many(Vec<String>),
}

impl PemCertificates {
    /// Every PEM text given.
    pub fn pems(&self) -> Vec<&str> {
        match self {
            Self::One(pem) => vec![pem.as_str()],
            Self::Many(pems) => pems.iter().map(String::as_str).collect(),
        }
    }
}

/// Credentials of a `saml` integration: the identity provider whose assertions are trusted,
/// given as `idp_entity_id` with `idp_certificate`, or as the IdP's `idp_metadata_xml` (from
/// which both are read; certificates given beside it are trusted as well).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SamlCredentials {
    /// The IdP's entity id (the Issuer of its assertions); read from the metadata when absent.
    #[schema(min_length = 1)]
    pub idp_entity_id: Option<String>,
    /// The IdP's signing certificate (PEM), or a list of them during a key rollover.
    #[schema(inline)]
    pub idp_certificate: Option<PemCertificates>,
    /// The IdP's SAML metadata XML (an `EntityDescriptor`): its entity id and signing
    /// certificates are read from it.
    #[schema(min_length = 1)]
    pub idp_metadata_xml: Option<String>,
    /// SAML attribute name per user field (`email`, `login`, `display_name`, `given_name`,
    /// `family_name`, `groups`, `department`, `title`, `manager`); a field not named keeps the
    /// default names (Entra ID, Okta, Google, JumpCloud).
    pub attribute_mapping: Option<BTreeMap<String, String>>,
}

impl Fields for SamlCredentials {
    fn check(&self, _policy: EndpointPolicy) -> Result<(), FieldError> {
        let is_pem = |pem: &str| {
            pem.contains("-----BEGIN CERTIFICATE-----") && pem.contains("-----END CERTIFICATE-----")
        };
        match &self.idp_certificate {
            Some(certs) if certs.pems().is_empty() || !certs.pems().into_iter().all(is_pem) => {
                return Err(FieldError::new(
                    "idp_certificate",
                    "must be a PEM certificate (-----BEGIN CERTIFICATE-----) or a list of them",
                ));
            }
            _ => {}
        }
        if let Some(xml) = &self.idp_metadata_xml {
            if !xml.contains("EntityDescriptor") {
                return Err(FieldError::new(
                    "idp_metadata_xml",
                    "must be SAML metadata XML (an EntityDescriptor)",
                ));
            }
        } else {
            if self.idp_entity_id.is_none() {
                return Err(FieldError::new(
                    "idp_entity_id",
                    "is required unless idp_metadata_xml is given",
                ));
            }
            if self.idp_certificate.is_none() {
                return Err(FieldError::new(
                    "idp_certificate",
                    "is required unless idp_metadata_xml is given",
                ));
            }
        }
        if let Some(mapping) = &self.attribute_mapping {
            if let Some(field) = mapping
                .keys()
                .find(|k| !SAML_USER_FIELDS.contains(&k.as_str()))
            {
                return Err(FieldError::new(
                    "attribute_mapping",
                    format!(
                        "names an unknown user field {field:?} (known: {})",
                        SAML_USER_FIELDS.join(", ")
                    ),
                ));
            }
            if mapping.values().any(|v| v.trim().is_empty()) {
                return Err(FieldError::new(
                    "attribute_mapping",
                    "maps a field to an empty attribute name",
                ));
            }
        }
        Ok(())
    }
}

/// Config of a `saml` integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SamlConfig {
    /// Our entity id as the IdP knows it: the Audience assertions must name (default
    /// `urn:gatehouse:saml:{integration_id}`).
    #[schema(min_length = 1)]
    pub sp_entity_id: Option<String>,
    /// Accepted clock skew in seconds (default 180).
    #[schema(minimum = 0, maximum = 600)]
    pub max_clock_skew_seconds: Option<i64>,
    /// Where IdPs and browsers reach Gatehouse (`https://gatehouse.example.com`): the ACS URL
    /// in the metadata, and what Destination and Recipient must equal exactly. Without it the
    /// metadata uses the request's host and only the ACS path is compared.
    #[schema(min_length = 1)]
    pub public_base_url: Option<String>,
}

impl Fields for SamlConfig {
    fn check(&self, _policy: EndpointPolicy) -> Result<(), FieldError> {
        if let Some(url) = &self.public_base_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(FieldError::new("public_base_url", "must be an http(s) URL"));
            }
        }
        Ok(())
    }
}

pub static SAML: ProviderDescriptor = ProviderDescriptor {
    id: "saml",
    display_name: "SAML 2.0 identity provider",
    // Assertions arrive at the integration's own ACS URL, authenticated by the IdP's signature,
    // not at `/v1/idp/{type}` with an ingest token.
    push_capable: false,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: false,
    signins_flag: None,
    credentials: FieldSet::of::<SamlCredentials>(),
    config: FieldSet::of::<SamlConfig>(),
};

/// The Gatehouse-side integration types (not providers): every build has them.
pub fn gatehouse_types() -> [&'static ProviderDescriptor; 2] {
    [&SAML, &SCIM]
}
