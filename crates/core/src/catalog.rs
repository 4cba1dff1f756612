//! Provider descriptors: for each integration type, which credentials and config keys it takes,
//! whether it receives pushes, and which hosts it may call. The API validates every integration
//! against its descriptor before anything is stored.

/// What kind of value a credential or config field holds, and the rule it must satisfy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind {
    /// A non-empty string.
    String,
    Bool,
    Integer {
        min: i64,
        max: i64,
    },
    Number {
        min: f64,
        max: f64,
    },
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// A JSON object whose values are strings.
    StringMap,
    /// A list of strings.
    StringList,
    /// A list of JSON objects (checked further by the provider's own code).
    ObjectList,
    /// A cron expression (`sec min hour day month weekday`, or the five-field form).
    Cron,
    Email,
    /// An Okta org host: a bare host under one of Okta's domains, or any URL when custom
    /// endpoints are allowed.
    OktaDomain,
    /// A base URL; only accepted when custom endpoints are allowed.
    EndpointUrl,
    /// A PEM certificate.
    PemCertificate,
    /// A Google service-account key file, as an object.
    GoogleServiceAccount,
    /// An Entra directory id: a GUID or a verified domain.
    DirectoryId,
}

/// One credential or config key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub doc: &'static str,
}

const fn required(name: &'static str, kind: FieldKind, doc: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required: true,
        doc,
    }
}

const fn optional(name: &'static str, kind: FieldKind, doc: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required: false,
        doc,
    }
}

/// What an integration of one type is made of.
#[derive(Debug, PartialEq)]
pub struct ProviderDescriptor {
    /// The `type` of `POST /v1/integrations`.
    pub id: &'static str,
    pub display_name: &'static str,
    /// Receives pushed events at `/v1/idp/{id}` and so gets an ingest token.
    pub push_capable: bool,
    /// Is provisioned into over SCIM and so gets a SCIM token.
    pub scim_server: bool,
    pub credentials: &'static [FieldSpec],
    pub config: &'static [FieldSpec],
}

impl ProviderDescriptor {
    pub fn credential(&self, name: &str) -> Option<&FieldSpec> {
        self.credentials.iter().find(|f| f.name == name)
    }

    pub fn config_field(&self, name: &str) -> Option<&FieldSpec> {
        self.config.iter().find(|f| f.name == name)
    }
}

/// Hosts under which an Okta org lives.
pub const OKTA_DOMAINS: &[&str] = &["okta.com", "oktapreview.com", "okta-emea.com"];

const SHARE: FieldKind = FieldKind::Number {
    min: 0.05,
    max: 1.0,
};

macro_rules! pull_config {
    ($($extra:expr),* $(,)?) => {
        &[
            optional("ingest_users", FieldKind::Bool, "pull the directory (default true)"),
            optional("enable_response_actions", FieldKind::Bool, "allow actions at the provider (default false)"),
            optional("users_schedule", FieldKind::Cron, "incremental directory pull schedule"),
            optional("full_sync_schedule", FieldKind::Cron, "full directory pull schedule"),
            optional("signins_schedule", FieldKind::Cron, "sign-in log pull schedule"),
            optional("rate_limit_share", SHARE, "share of the provider's rate limit Gatehouse may use (default 0.5)"),
            $($extra),*
        ]
    };
}

pub static OKTA: ProviderDescriptor = ProviderDescriptor {
    id: "okta",
    display_name: "Okta",
    push_capable: true,
    scim_server: false,
    credentials: &[
        required(
            "domain",
            FieldKind::OktaDomain,
            "the org host, e.g. acme.okta.com",
        ),
        required("api_token", FieldKind::String, "an SSWS API token"),
    ],
    config: pull_config![
        optional(
            "ingest_system_log",
            FieldKind::Bool,
            "pull the System Log (default true)"
        ),
        optional(
            "system_log_lookback_hours",
            FieldKind::Integer { min: 1, max: 2160 },
            "how far back the first System Log pull starts (default 24)"
        ),
        optional(
            "disable_mode",
            FieldKind::Enum(&["suspend", "deactivate"]),
            "what disable_account does (default suspend)"
        ),
        optional(
            "mfa_group_id",
            FieldKind::String,
            "group that enforce_mfa adds the user to"
        ),
    ],
};

pub static ENTRA: ProviderDescriptor = ProviderDescriptor {
    id: "entra",
    display_name: "Microsoft Entra ID",
    push_capable: true,
    scim_server: false,
    credentials: &[
        required(
            "tenant_id",
            FieldKind::DirectoryId,
            "the directory (tenant) id",
        ),
        required(
            "client_id",
            FieldKind::String,
            "the app registration's client id",
        ),
        required(
            "client_secret",
            FieldKind::String,
            "the app registration's client secret",
        ),
    ],
    config: pull_config![
        optional(
            "ingest_signins",
            FieldKind::Bool,
            "pull sign-in logs (default true)"
        ),
        optional(
            "login_base_url",
            FieldKind::EndpointUrl,
            "token endpoint base (custom endpoints only)"
        ),
        optional(
            "graph_base_url",
            FieldKind::EndpointUrl,
            "Graph base (custom endpoints only)"
        ),
    ],
};

pub static GOOGLE_WORKSPACE: ProviderDescriptor = ProviderDescriptor {
    id: "google_workspace",
    display_name: "Google Workspace",
    push_capable: true,
    scim_server: false,
    credentials: &[
        required(
            "service_account",
            FieldKind::GoogleServiceAccount,
            "the service-account JSON key, as an object",
        ),
        required(
            "admin_email",
            FieldKind::Email,
            "the admin the service account impersonates",
        ),
        optional(
            "customer_id",
            FieldKind::String,
            "the customer id (default my_customer)",
        ),
    ],
    config: pull_config![
        optional(
            "ingest_signins",
            FieldKind::Bool,
            "pull login audit activities (default true)"
        ),
        optional(
            "api_base_url",
            FieldKind::EndpointUrl,
            "Admin SDK base (custom endpoints only)"
        ),
    ],
};

pub static JUMPCLOUD: ProviderDescriptor = ProviderDescriptor {
    id: "jumpcloud",
    display_name: "JumpCloud",
    push_capable: false,
    scim_server: false,
    credentials: &[
        required("api_key", FieldKind::String, "an administrator API key"),
        optional(
            "org_id",
            FieldKind::String,
            "the organization id (multi-tenant admins)",
        ),
    ],
    config: pull_config![
        optional(
            "ingest_signins",
            FieldKind::Bool,
            "pull Directory Insights events (default true)"
        ),
        optional(
            "base_url",
            FieldKind::EndpointUrl,
            "API base (custom endpoints only)"
        ),
    ],
};

pub static SAML: ProviderDescriptor = ProviderDescriptor {
    id: "saml",
    display_name: "SAML 2.0 identity provider",
    push_capable: true,
    scim_server: false,
    credentials: &[
        required("idp_entity_id", FieldKind::String, "the IdP's entity id"),
        required(
            "idp_certificate",
            FieldKind::PemCertificate,
            "the IdP's signing certificate (PEM)",
        ),
        required(
            "attribute_mapping",
            FieldKind::StringMap,
            "SAML attribute name per user field",
        ),
    ],
    config: &[
        optional(
            "sp_entity_id",
            FieldKind::String,
            "our entity id as the IdP knows it",
        ),
        optional(
            "max_clock_skew_seconds",
            FieldKind::Integer { min: 0, max: 600 },
            "accepted clock skew (default 180)",
        ),
    ],
};

pub static SCIM: ProviderDescriptor = ProviderDescriptor {
    id: "scim",
    display_name: "SCIM 2.0 provisioning",
    push_capable: false,
    scim_server: true,
    credentials: &[
        optional("oauth_client_id", FieldKind::String, "lets the IdP get short-lived tokens from POST /v1/scim/oauth/token (client credentials)"),
        optional("oauth_client_secret", FieldKind::String, "the client secret for that flow"),
    ],
    config: &[
        optional(
            "deprovision",
            FieldKind::Enum(&["deactivate", "delete"]),
            "what DELETE does (default deactivate: keep the record as deprovisioned)",
        ),
        optional(
            "custom_schemas",
            FieldKind::ObjectList,
            "extension schemas of the tenant's own (RFC 7643 schema objects)",
        ),
    ],
};

/// The integration types of the public API, for types whose connector is not registered yet.
pub fn builtin() -> [&'static ProviderDescriptor; 6] {
    [&OKTA, &ENTRA, &GOOGLE_WORKSPACE, &JUMPCLOUD, &SAML, &SCIM]
}
