//! What an Entra ID integration is made of: its typed credentials and config (the one source of
//! the catalog entry, the API's validation and the docs), Graph's official hosts, and the
//! descriptor the daemon registers.

use std::fmt;

use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::DEFAULT_TOKEN_PLACES;
use gatehouse_core::validate::{is_endpoint_url, is_guid, is_hostname, EndpointPolicy, FieldError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The token service of Microsoft's global cloud.
pub const LOGIN_BASE: &str = "https://login.microsoftonline.com";
/// Microsoft Graph in the global cloud (also the resource of the `.default` scope).
pub const GRAPH_BASE: &str = "https://graph.microsoft.com";
/// Graph's documented limit on `clientState` ("maximum length of 128 characters").
pub const MAX_CLIENT_STATE: usize = 128;

/// Credentials of an Entra ID integration: an app registration with a client secret.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct EntraCredentials {
    /// The directory (tenant) id: a GUID or a verified domain.
    #[schema(min_length = 1)]
    pub tenant_id: String,
    /// The app registration's application (client) id.
    #[schema(min_length = 1)]
    pub client_id: String,
    /// The app registration's client secret (the secret's value, not its id).
    #[schema(min_length = 1, value_type = String)]
    pub client_secret: SecretString,
    /// The `clientState` Graph change notifications must carry (1–128 characters). Default: one
    /// derived from the client secret (HMAC-SHA256), stable while the secret is.
    #[schema(min_length = 1, max_length = 128, value_type = Option<String>)]
    pub client_state: Option<SecretString>,
}

impl fmt::Debug for EntraCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Fields for EntraCredentials {
    fn check(&self, _policy: EndpointPolicy) -> Result<(), FieldError> {
        let id = self.tenant_id.trim();
        if !(is_guid(id) || is_hostname(id)) {
            return Err(FieldError::new(
                "tenant_id",
                "must be a directory GUID or a verified domain",
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(FieldError::new("client_id", "must not be blank"));
        }
        if let Some(state) = &self.client_state {
            let length = state.expose_secret().chars().count();
            if length == 0 || length > MAX_CLIENT_STATE {
                return Err(FieldError::new(
                    "client_state",
                    "must be 1 to 128 characters",
                ));
            }
        }
        Ok(())
    }
}

/// What a users pull reads besides the user records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enrichment {
    /// Each user's registered authentication methods (`GET /users/{id}/authentication/methods`,
    /// permission `UserAuthenticationMethod.Read.All`): one call per user, so off by default.
    AuthMethods,
}

/// Config of an Entra ID integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EntraConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Pull sign-in logs (default true; they need Entra ID P1).
    pub ingest_signins: Option<bool>,
    /// How far back the first sign-in pull reaches, in hours (default 24; Graph keeps sign-ins
    /// for 30 days).
    #[schema(minimum = 1, maximum = 720)]
    pub signin_lookback_hours: Option<i64>,
    /// How far each sign-in pull re-reads before the newest sign-in it has seen, in minutes,
    /// for sign-ins that reach Graph late (default 30).
    #[schema(minimum = 1, maximum = 240)]
    pub signin_overlap_minutes: Option<i64>,
    /// What users pulls read besides the users pages (default none): `auth_methods`.
    #[schema(inline)]
    pub enrich: Option<Vec<Enrichment>>,
    /// The group enforce_mfa adds the user to; a Conditional Access policy requiring MFA
    /// targets it.
    #[schema(min_length = 1)]
    pub mfa_group_id: Option<String>,
    /// Whether enforce_mfa also confirms the user compromised in Identity Protection (default
    /// false; needs Entra ID P2 and IdentityRiskyUser.ReadWrite.All).
    pub confirm_compromised: Option<bool>,
    /// This Gatehouse's public https base URL: when set, the connector keeps a Graph change
    /// notification subscription for users pointed at this integration's push endpoint.
    #[schema(min_length = 1)]
    pub public_base_url: Option<String>,
    /// Token endpoint base (custom endpoints only).
    #[schema(min_length = 1)]
    pub login_base_url: Option<String>,
    /// Graph base (custom endpoints only).
    #[schema(min_length = 1)]
    pub graph_base_url: Option<String>,
}

impl Fields for EntraConfig {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
        if let Some(url) = &self.login_base_url {
            policy.check_base_url("login_base_url", url)?;
        }
        if let Some(url) = &self.graph_base_url {
            policy.check_base_url("graph_base_url", url)?;
        }
        if let Some(url) = &self.public_base_url {
            let https = url.trim().to_ascii_lowercase().starts_with("https://");
            if !is_endpoint_url(url.trim()) || !(https || policy.allow_custom_endpoints) {
                return Err(FieldError::new(
                    "public_base_url",
                    "must be an https URL with a host and no user info, query or fragment \
                     (http only with custom endpoints)",
                ));
            }
        }
        if let Some(id) = &self.mfa_group_id {
            if !is_guid(id.trim()) {
                return Err(FieldError::new(
                    "mfa_group_id",
                    "must be a group's object id (a GUID)",
                ));
            }
        }
        Ok(())
    }
}

/// The Entra ID integration type.
pub static DESCRIPTOR: ProviderDescriptor = ProviderDescriptor {
    id: "entra",
    display_name: "Microsoft Entra ID",
    push_capable: true,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: false,
    signins_flag: Some("ingest_signins"),
    credentials: FieldSet::of::<EntraCredentials>(),
    config: FieldSet::of::<EntraConfig>(),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use gatehouse_core::validate::{validate_config, validate_credentials};
    use serde_json::{json, Map, Value};

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn directory_id_is_a_guid_or_a_domain() {
        let strict = EndpointPolicy::default();
        let creds = |id: &str| {
            validate_credentials(
                &DESCRIPTOR,
                &obj(json!({"tenant_id": id, "client_id": "c", "client_secret": "s"})),
                strict,
            )
        };
        assert_eq!(creds("72f988bf-86f1-41af-91ab-2d7cd011db47"), Ok(()));
        assert_eq!(creds("contoso.onmicrosoft.com"), Ok(()));
        assert_eq!(
            creds("not a tenant").unwrap_err().field,
            "credentials.tenant_id"
        );
    }

    #[test]
    fn client_state_is_at_most_128_characters() {
        let with = |state: &str| {
            validate_credentials(
                &DESCRIPTOR,
                &obj(
                    json!({"tenant_id": "contoso.com", "client_id": "c", "client_secret": "s", "client_state": state}),
                ),
                EndpointPolicy::default(),
            )
        };
        assert_eq!(with(&"a".repeat(128)), Ok(()));
        assert!(with(&"a".repeat(129)).is_err());
    }

    #[test]
    fn base_urls_need_custom_endpoints() {
        let config = obj(json!({"graph_base_url": "http://127.0.0.1:9100"}));
        let err = validate_config(&DESCRIPTOR, &config, EndpointPolicy::default()).unwrap_err();
        assert_eq!(err.field, "config.graph_base_url");
        let custom = EndpointPolicy {
            allow_custom_endpoints: true,
        };
        assert_eq!(validate_config(&DESCRIPTOR, &config, custom), Ok(()));
    }

    #[test]
    fn the_public_url_is_https_unless_endpoints_are_custom() {
        let strict = EndpointPolicy::default();
        let custom = EndpointPolicy {
            allow_custom_endpoints: true,
        };
        let https = obj(json!({"public_base_url": "https://gatehouse.example.com"}));
        let http = obj(json!({"public_base_url": "http://127.0.0.1:8080"}));
        assert_eq!(validate_config(&DESCRIPTOR, &https, strict), Ok(()));
        assert!(validate_config(&DESCRIPTOR, &http, strict).is_err());
        assert_eq!(validate_config(&DESCRIPTOR, &http, custom), Ok(()));
        let group = obj(json!({"mfa_group_id": "not-a-guid"}));
        assert!(validate_config(&DESCRIPTOR, &group, strict).is_err());
        let lookback = obj(json!({"signin_lookback_hours": 721}));
        assert!(validate_config(&DESCRIPTOR, &lookback, strict).is_err());
        let enrich = obj(json!({"enrich": ["auth_methods"]}));
        assert_eq!(validate_config(&DESCRIPTOR, &enrich, strict), Ok(()));
    }
}
