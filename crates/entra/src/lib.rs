//! Microsoft Entra ID (Microsoft Graph): what an integration of this type is made of — its
//! typed credentials and config, validated at registration, and its descriptor.
//!
//! The connector itself (users by delta query, sign-in logs, change notifications, response
//! actions) is not in this build yet: the daemon declares the type, so integrations can be
//! registered and validated, and their `/test` and `/sync` answer 501 until it lands.

use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::DEFAULT_TOKEN_PLACES;
use gatehouse_core::validate::{is_guid, is_hostname, EndpointPolicy, FieldError};
use serde::Deserialize;

/// Credentials of an Entra ID integration: an app registration with a client secret.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EntraCredentials {
    /// The directory (tenant) id: a GUID or a verified domain.
    #[schema(min_length = 1)]
    pub tenant_id: String,
    /// The app registration's application (client) id.
    #[schema(min_length = 1)]
    pub client_id: String,
    /// The app registration's client secret.
    #[schema(min_length = 1)]
    pub client_secret: String,
}

impl Fields for EntraCredentials {
    fn check(&self, _policy: EndpointPolicy) -> Result<(), FieldError> {
        let id = self.tenant_id.trim();
        if is_guid(id) || is_hostname(id) {
            Ok(())
        } else {
            Err(FieldError::new(
                "tenant_id",
                "must be a directory GUID or a verified domain",
            ))
        }
    }
}

/// Config of an Entra ID integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EntraConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Pull sign-in logs (default true; they need Entra ID P1).
    pub ingest_signins: Option<bool>,
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
    fn base_urls_need_custom_endpoints() {
        let config = obj(json!({"graph_base_url": "http://127.0.0.1:9100"}));
        let err = validate_config(&DESCRIPTOR, &config, EndpointPolicy::default()).unwrap_err();
        assert_eq!(err.field, "config.graph_base_url");
        let custom = EndpointPolicy {
            allow_custom_endpoints: true,
        };
        assert_eq!(validate_config(&DESCRIPTOR, &config, custom), Ok(()));
    }
}
