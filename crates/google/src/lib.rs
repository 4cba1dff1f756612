//! Google Workspace (Admin SDK): what an integration of this type is made of — its typed
//! credentials (the service account's JSON key and the admin it impersonates) and config,
//! validated at registration, and its descriptor.
//!
//! The connector itself (Directory users, Reports login activity, push channels, response
//! actions) is not in this build yet: the daemon declares the type, so integrations can be
//! registered and validated, and their `/test` and `/sync` answer 501 until it lands.

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
}

impl Fields for GoogleConfig {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
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
