//! Google Workspace (Admin SDK): what an integration of this type is made of — its typed
//! credentials (the service account's JSON key and the admin it impersonates) and config,
//! validated at registration, and its descriptor — and the connector: access tokens from the
//! service account's JWT-bearer grant (domain-wide delegation), Directory users and groups,
//! the Reports API's login activity (pulled, and pushed through a Reports API watch channel
//! the connector keeps itself when the config names a `public_base_url`), and response
//! actions.
//!
//! It follows Google's documented behaviour (Admin SDK Directory and Reports references, the
//! OAuth 2.0 service-account flow), not any simulator's. The daemon registers it in
//! `crates/daemon/src/registry.rs`.
//!
//! Architecture invariants: every HTTP call goes through `gatehouse_connect::HttpClient`; the
//! private key and the access tokens live in `SecretString`s (the key is parsed once into a
//! signer) and never reach a log line or an error message; each call asks for a token of only
//! the scopes it needs; time comes only from the injected clock; the mapping from Google JSON
//! to Gatehouse records ([`map_user`], [`map_activity`]) is pure.

mod actions;
mod auth;
mod changes;
mod channel;
mod check;
mod confirm;
mod connector;
mod errors;
mod factory;
#[cfg(test)]
mod fuzz_tests;
mod groups;
pub mod mapping;
mod push;
mod signins;
mod users;

pub use auth::{Scope, TOKEN_URI};
pub use channel::{ChannelState, MAX_LIFETIME as CHANNEL_MAX_LIFETIME};
pub use connector::{GoogleConnector, API_BASE};
pub use errors::{error_from_response, token_refusal};
pub use factory::{Factory, Settings};
pub use mapping::activity::map_activity;
pub use mapping::user::map_user;
pub use signins::{SigninCursor, OVERLAP_MINUTES};

use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::TokenPlace;
use gatehouse_core::validate::{is_email, is_endpoint_url, EndpointPolicy, FieldError};
use serde::Deserialize;

/// Google's token endpoints a service account key may name.
pub const TOKEN_URIS: &[&str] = &[
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com/o/oauth2/token",
];

/// Push channels authenticate with the token given when the channel was created
/// (`X-Goog-Channel-Token`); the ingest URL's own places still work.
pub const PUSH_TOKEN_PLACES: &[TokenPlace] = &[
    TokenPlace::Header("x-goog-channel-token"),
    TokenPlace::Authorization,
    TokenPlace::Query("token"),
];

/// The service account's JSON key file, as Google issues it (other keys are kept, unread).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ServiceAccountKey {
    /// Always `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The service account's e-mail, the JWT's issuer.
    pub client_email: String,
    /// The PEM private key that signs the JWT assertion.
    pub private_key: String,
    /// The key's id, sent as the JWT header's `kid`.
    pub private_key_id: Option<String>,
    /// The token endpoint (default `https://oauth2.googleapis.com/token`).
    pub token_uri: Option<String>,
}

/// Credentials of a Google Workspace integration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GoogleCredentials {
    /// The service-account JSON key, as an object.
    pub service_account: ServiceAccountKey,
    /// The admin the service account impersonates (domain-wide delegation).
    #[schema(min_length = 1)]
    pub admin_email: String,
    /// The customer id (default `my_customer`).
    #[schema(min_length = 1)]
    pub customer_id: Option<String>,
}

impl Fields for GoogleCredentials {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
        if !is_email(&self.admin_email) {
            return Err(FieldError::new("admin_email", "must be an e-mail address"));
        }
        let key = &self.service_account;
        if key.kind != "service_account" {
            return Err(FieldError::new(
                "service_account.type",
                "must be \"service_account\"",
            ));
        }
        if !is_email(&key.client_email) {
            return Err(FieldError::new(
                "service_account.client_email",
                "must be an e-mail address",
            ));
        }
        if !(key.private_key.contains("-----BEGIN") && key.private_key.contains("PRIVATE KEY-----"))
        {
            return Err(FieldError::new(
                "service_account.private_key",
                "must be a PEM private key",
            ));
        }
        match key.token_uri.as_deref() {
            None => Ok(()),
            Some(uri) if TOKEN_URIS.contains(&uri) => Ok(()),
            Some(uri) if policy.allow_custom_endpoints && is_endpoint_url(uri) => Ok(()),
            Some(_) => Err(FieldError::new(
                "service_account.token_uri",
                "must be Google's token endpoint (custom endpoints are disabled)",
            )),
        }
    }
}

/// Config of a Google Workspace integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct GoogleConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Pull login audit activities (default true).
    pub ingest_signins: Option<bool>,
    /// Admin SDK base (custom endpoints only).
    #[schema(min_length = 1)]
    pub api_base_url: Option<String>,
    /// How far back the first login-activity pull reaches (hours, default 24).
    #[schema(minimum = 1, maximum = 4320)]
    pub signin_lookback_hours: Option<i64>,
    /// How far each login-activity pull re-reads before its watermark (minutes, default 180):
    /// Google's login reports lag by hours.
    #[schema(minimum = 1, maximum = 4320)]
    pub signin_overlap_minutes: Option<i64>,
    /// `enforce_mfa`: the org unit (path, e.g. `/2SV-enforced`) whose policy enforces 2-Step
    /// Verification; users are moved there.
    #[schema(min_length = 2)]
    pub mfa_org_unit: Option<String>,
    /// `enforce_mfa`: a group (e-mail or id) a 2SV enforcement policy targets; users are added.
    #[schema(min_length = 1)]
    pub mfa_group: Option<String>,
    /// `enforce_mfa` also sets `changePasswordAtNextLogin` (default false).
    pub change_password_at_next_login: Option<bool>,
    /// Public base URL of this gateway (https): the connector keeps a Reports API push channel
    /// on login activity pointed at the integration's push URL under it.
    #[schema(min_length = 1)]
    pub public_base_url: Option<String>,
}

impl Fields for GoogleConfig {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
        if let Some(ou) = &self.mfa_org_unit {
            if !ou.starts_with('/') || ou.trim() == "/" {
                return Err(FieldError::new(
                    "mfa_org_unit",
                    "must be an org unit path below the root, like /2SV-enforced",
                ));
            }
        }
        for (field, value) in [
            ("signin_lookback_hours", self.signin_lookback_hours),
            ("signin_overlap_minutes", self.signin_overlap_minutes),
        ] {
            if value.is_some_and(|v| !(1..=4320).contains(&v)) {
                return Err(FieldError::new(field, "must be between 1 and 4320"));
            }
        }
        match &self.api_base_url {
            Some(url) => policy.check_base_url("api_base_url", url),
            None => Ok(()),
        }
    }
}

/// The Google Workspace integration type.
pub static DESCRIPTOR: ProviderDescriptor = ProviderDescriptor {
    id: "google_workspace",
    display_name: "Google Workspace",
    push_capable: true,
    push_token: PUSH_TOKEN_PLACES,
    scim_server: false,
    signins_flag: Some("ingest_signins"),
    credentials: FieldSet::of::<GoogleCredentials>(),
    config: FieldSet::of::<GoogleConfig>(),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use gatehouse_core::validate::{validate_config, validate_credentials};
    use serde_json::{json, Map, Value};

    use super::*;

    const STRICT: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: false,
    };
    const CUSTOM: EndpointPolicy = EndpointPolicy {
        allow_custom_endpoints: true,
    };

    fn obj(v: Value) -> Map<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn service_account_rules() {
        let mut sa = json!({
            "type": "service_account",
            "project_id": "p",
            "client_email": "gh@proj.iam.gserviceaccount.com",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
            "token_uri": "https://oauth2.googleapis.com/token"
        });
        let creds =
            |sa: &Value| obj(json!({"service_account": sa, "admin_email": "admin@acme.example"}));
        assert_eq!(
            validate_credentials(&DESCRIPTOR, &creds(&sa), STRICT),
            Ok(())
        );
        sa["token_uri"] = json!("http://127.0.0.1:1/token");
        let err = validate_credentials(&DESCRIPTOR, &creds(&sa), STRICT).unwrap_err();
        assert_eq!(err.field, "credentials.service_account.token_uri");
        assert_eq!(
            validate_credentials(&DESCRIPTOR, &creds(&sa), CUSTOM),
            Ok(())
        );
        sa.as_object_mut().unwrap().remove("client_email");
        let err = validate_credentials(&DESCRIPTOR, &creds(&sa), CUSTOM).unwrap_err();
        assert_eq!(err.field, "credentials.service_account.client_email");
        assert_eq!(err.message, "is required");
        let err = validate_credentials(
            &DESCRIPTOR,
            &obj(json!({"service_account": "key text", "admin_email": "a@b.example"})),
            STRICT,
        )
        .unwrap_err();
        assert_eq!(err.field, "credentials.service_account");
    }

    #[test]
    fn base_urls_need_custom_endpoints() {
        let config = obj(json!({"api_base_url": "http://127.0.0.1:9100"}));
        let err = validate_config(&DESCRIPTOR, &config, STRICT).unwrap_err();
        assert_eq!(err.field, "config.api_base_url");
        assert_eq!(validate_config(&DESCRIPTOR, &config, CUSTOM), Ok(()));
    }
}
