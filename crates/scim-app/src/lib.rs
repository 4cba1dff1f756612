//! SCIM applications (`scim_app`): the SaaS tools a company runs that expose a SCIM 2.0 service
//! provider endpoint (RFC 7643/7644). Gatehouse pulls their `/Users` into the inventory (so an
//! analyst sees which apps each person has an account in) and deactivates or reactivates
//! accounts there (`active: false`/`true`), so a `scope: identity` response cuts access in the
//! apps too, not only at the IdP whose SSO sessions the apps outlive. With `provision: true` it
//! also creates, updates and deactivates in the app the people the tenant's IdPs bring in
//! (`provision.rs`; the engine's provisioning job hands it the desired accounts).
//!
//! Apps implement different parts of SCIM, so the connector reads `/ServiceProviderConfig` and
//! `/Schemas` and adapts: PUT of the whole resource where PATCH is missing (or answers 501),
//! no `filter` where filtering is not offered, the app's `filter.maxResults` as the page size.
//!
//! Architecture invariants: every HTTP call goes through `gatehouse_connect::HttpClient`; the
//! bearer token (or OAuth client secret) lives in a `SecretString`, is sent as a sensitive
//! header and never reaches a log line or an error message; the mapping from a SCIM User to a
//! Gatehouse record ([`map_user`]) is pure.

mod actions;
mod auth;
mod connector;
mod errors;
mod factory;
mod features;
mod groups;
pub mod mapping;
mod provision;
mod users;

pub use connector::ScimAppConnector;
pub use errors::error_from_response;
pub use factory::{Factory, Settings};
pub use features::Features;
pub use groups::{
    external_id_of as managed_group_external_id, MANAGED_PREFIX as MANAGED_GROUP_PREFIX,
};
pub use mapping::map_user;
pub use users::UsersCursor;

use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::records::DEFAULT_TOKEN_PLACES;
use gatehouse_core::validate::{is_endpoint_url, is_internal_url, EndpointPolicy, FieldError};
use serde::Deserialize;

/// Credentials of a SCIM application: its SCIM base URL and either a bearer token or an OAuth
/// 2.0 client (client-credentials grant) where the app offers one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ScimAppCredentials {
    /// The app's SCIM base URL, the part before `/Users` (`https://app.example.com/scim/v2`);
    /// https, or http with custom endpoints allowed.
    #[schema(min_length = 1)]
    pub base_url: String,
    /// The bearer token the app issued for SCIM (`Authorization: Bearer …`).
    #[schema(min_length = 1)]
    pub token: Option<String>,
    /// OAuth 2.0 token endpoint, for apps that issue tokens by client credentials (instead of
    /// `token`).
    #[schema(min_length = 1)]
    pub token_url: Option<String>,
    /// OAuth client id (with `token_url`).
    #[schema(min_length = 1)]
    pub client_id: Option<String>,
    /// OAuth client secret (with `token_url`).
    #[schema(min_length = 1)]
    pub client_secret: Option<String>,
    /// OAuth scope to ask for, if the app wants one.
    #[schema(min_length = 1)]
    pub scope: Option<String>,
}

/// An app URL: https, or any http(s) URL with custom endpoints allowed (simulators, loopback).
fn check_app_url(policy: EndpointPolicy, field: &str, url: &str) -> Result<(), FieldError> {
    let https = url.trim().to_ascii_lowercase().starts_with("https://");
    if !is_endpoint_url(url.trim()) {
        return Err(FieldError::new(
            field,
            "must be an http or https URL with a host and no user info, query or fragment",
        ));
    }
    if !policy.allow_custom_endpoints && is_internal_url(url) {
        // An app URL is the operator's to choose, so it cannot be held to official hosts; it
        // must not reach this machine or an internal network instead (SSRF). Names resolving
        // there are refused when connecting (gatehouse-connect's public-only resolver).
        return Err(FieldError::new(
            field,
            "must not point at a loopback, private, link-local or other internal address \
             (that needs GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS=true)",
        ));
    }
    if https || policy.allow_custom_endpoints {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be https (plain http needs GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS=true)",
        ))
    }
}

impl Fields for ScimAppCredentials {
    fn check(&self, policy: EndpointPolicy) -> Result<(), FieldError> {
        check_app_url(policy, "base_url", &self.base_url)?;
        let client = [&self.token_url, &self.client_id, &self.client_secret];
        let client_given = client.iter().filter(|f| f.is_some()).count();
        match (&self.token, client_given) {
            (Some(_), 0) => Ok(()),
            (Some(_), _) => Err(FieldError::new(
                "token",
                "give either token or token_url, client_id and client_secret, not both",
            )),
            (None, 3) => match &self.token_url {
                Some(url) => check_app_url(policy, "token_url", url),
                None => Ok(()),
            },
            (None, 0) => Err(FieldError::new(
                "token",
                "is required (or token_url, client_id and client_secret)",
            )),
            (None, _) => Err(FieldError::new(
                "token_url",
                "token_url, client_id and client_secret go together",
            )),
        }
    }
}

/// Config of a SCIM application.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ScimAppConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Outbound provisioning: the people the tenant's IdP integrations bring in are created,
    /// updated and deactivated in the app (hourly, and after each requested sync), with their
    /// Gatehouse identity id as `externalId`. Default false. Needs the app's `filter`.
    pub provision: Option<bool>,
    /// Users per `/Users` page (1–1000); default the app's `filter.maxResults`, else 100.
    #[schema(minimum = 1, maximum = 1000)]
    pub page_size: Option<u32>,
}

impl Fields for ScimAppConfig {}

/// The SCIM application integration type.
pub static DESCRIPTOR: ProviderDescriptor = ProviderDescriptor {
    id: "scim_app",
    display_name: "SCIM application",
    push_capable: false,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: false,
    signins_flag: None,
    credentials: FieldSet::of::<ScimAppCredentials>(),
    config: FieldSet::of::<ScimAppConfig>(),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use gatehouse_core::validate::{validate_config, validate_credentials};
    use serde_json::{json, Map, Value};

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    /// SSRF: with custom endpoints off, an app URL (or its token URL) cannot name this machine
    /// or an internal network, https or not; with them on (simulators) it can.
    #[test]
    fn app_urls_cannot_reach_internal_addresses_without_custom_endpoints() {
        let strict = EndpointPolicy::default();
        let custom = EndpointPolicy {
            allow_custom_endpoints: true,
        };
        for url in [
            "https://127.0.0.1/scim/v2",
            "https://[::1]/scim/v2",
            "https://10.1.2.3/scim/v2",
            "https://172.16.0.9/scim/v2",
            "https://192.168.0.10/scim/v2",
            "https://169.254.169.254/latest",
            "https://[fd00::5]/scim/v2",
            "https://localhost/scim/v2",
            "https://2130706433/scim/v2",
        ] {
            let base = object(json!({"base_url": url, "token": "t"}));
            let err = validate_credentials(&DESCRIPTOR, &base, strict).unwrap_err();
            assert_eq!(err.field, "credentials.base_url", "{url}");
            assert!(
                validate_credentials(&DESCRIPTOR, &base, custom).is_ok(),
                "{url}"
            );
            let token_url = object(json!({"base_url": "https://app.example.com/scim/v2",
                "token_url": url, "client_id": "c", "client_secret": "s"}));
            let err = validate_credentials(&DESCRIPTOR, &token_url, strict).unwrap_err();
            assert_eq!(err.field, "credentials.token_url", "{url}");
        }
    }

    #[test]
    fn credentials_need_https_and_one_way_to_authenticate() {
        let strict = EndpointPolicy::default();
        let ok = object(json!({"base_url": "https://app.example.com/scim/v2", "token": "t"}));
        assert!(validate_credentials(&DESCRIPTOR, &ok, strict).is_ok());
        let oauth = object(json!({"base_url": "https://app.example.com/scim/v2",
            "token_url": "https://app.example.com/oauth/token", "client_id": "c",
            "client_secret": "s"}));
        assert!(validate_credentials(&DESCRIPTOR, &oauth, strict).is_ok());
        for (bad, field) in [
            (
                json!({"base_url": "http://app.example.com", "token": "t"}),
                "credentials.base_url",
            ),
            (
                json!({"base_url": "https://app.example.com"}),
                "credentials.token",
            ),
            (
                json!({"base_url": "https://app.example.com", "token": "t", "client_id": "c"}),
                "credentials.token",
            ),
            (
                json!({"base_url": "https://app.example.com", "client_id": "c"}),
                "credentials.token_url",
            ),
        ] {
            let err = validate_credentials(&DESCRIPTOR, &object(bad), strict).unwrap_err();
            assert_eq!(err.field, field);
            assert!(!err.to_string().contains("\"t\""));
        }
        let custom = EndpointPolicy {
            allow_custom_endpoints: true,
        };
        let http = object(json!({"base_url": "http://127.0.0.1:9/scim", "token": "t"}));
        assert!(validate_credentials(&DESCRIPTOR, &http, custom).is_ok());
    }

    #[test]
    fn provisioning_is_a_boolean_setting() {
        let policy = EndpointPolicy::default();
        for ok in [
            json!({"provision": true}),
            json!({"provision": false,
            "enable_response_actions": true}),
        ] {
            assert!(validate_config(&DESCRIPTOR, &object(ok), policy).is_ok());
        }
        let err =
            validate_config(&DESCRIPTOR, &object(json!({"provision": "yes"})), policy).unwrap_err();
        assert_eq!(err.field, "config.provision");
    }
}
