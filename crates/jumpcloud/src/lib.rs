//! JumpCloud: what an integration of this type is made of — its typed credentials and config,
//! validated at registration, and its descriptor.
//!
//! The connector itself (system users, Directory Insights events, response actions) is not in
//! this build yet: the daemon declares the type, so integrations can be registered and
//! validated, and their `/test` and `/sync` answer 501 until it lands. JumpCloud pushes nothing,
//! so the type has no ingest endpoint.

use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::DEFAULT_TOKEN_PLACES;
use gatehouse_core::validate::{EndpointPolicy, FieldError};
use serde::Deserialize;

/// Credentials of a JumpCloud integration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct JumpCloudCredentials {
    /// An administrator API key (`x-api-key`).
    #[schema(min_length = 1)]
    pub api_key: String,
    /// The organization id (`x-org-id`), for multi-tenant administrators.
    #[schema(min_length = 1)]
    pub org_id: Option<String>,
}

impl Fields for JumpCloudCredentials {}

/// Config of a JumpCloud integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct JumpCloudConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Pull Directory Insights events (default true).
    pub ingest_signins: Option<bool>,
    /// API base (custom endpoints only).
    #[schema(min_length = 1)]
    pub base_url: Option<String>,
}

impl Fields for JumpCloudConfig {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
        match &self.base_url {
            Some(url) => policy.check_base_url("base_url", url),
            None => Ok(()),
        }
    }
}

/// The JumpCloud integration type.
pub static DESCRIPTOR: ProviderDescriptor = ProviderDescriptor {
    id: "jumpcloud",
    display_name: "JumpCloud",
    push_capable: false,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: false,
    signins_flag: Some("ingest_signins"),
    credentials: FieldSet::of::<JumpCloudCredentials>(),
    config: FieldSet::of::<JumpCloudConfig>(),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use gatehouse_core::validate::validate_config;
    use serde_json::{json, Map, Value};

    use super::*;

    #[test]
    fn base_url_needs_custom_endpoints() {
        let config: Map<String, Value> =
            serde_json::from_value(json!({"base_url": "http://127.0.0.1:9300"})).unwrap();
        let err = validate_config(&DESCRIPTOR, &config, EndpointPolicy::default()).unwrap_err();
        assert_eq!(err.field, "config.base_url");
    }
}
