//! JumpCloud: what an integration of this type is made of — its typed credentials and config,
//! validated at registration, and its descriptor.
//!
//! The connector: `x-api-key` (and `x-org-id`) on every call, to the hosts of the
//! organization's region ([`Region`]: US or EU), system users (`/api/systemusers`, skip paging
//! sorted by `_id`, incremental by comparison), user groups with their members
//! (`/api/v2/usergroups`), Directory Insights events (`POST /insights/directory/v1/events`,
//! `search_after` paging). JumpCloud pushes nothing, so the type has no ingest endpoint.
//!
//! Architecture invariants: every HTTP call goes through `gatehouse_connect::HttpClient`; the
//! API key lives in a `SecretString` sent as a sensitive header and never reaches a log line
//! or an error message; time comes only from the injected clock; the mapping from JumpCloud
//! JSON to Gatehouse records ([`map_user`], [`map_event`]) is pure.

mod actions;
mod changes;
mod check;
mod connector;
mod errors;
mod factory;
mod groups;
pub mod mapping;
mod signins;
mod users;

pub use actions::EXPIRE_NOTE;
pub use connector::{
    Hosts, JumpCloudConnector, CONSOLE_BASE, CONSOLE_BASE_EU, INSIGHTS_BASE, INSIGHTS_BASE_EU,
};
pub use errors::error_from_response;
pub use factory::{Factory, Settings};
pub use groups::GroupsCursor;
pub use mapping::event::map_event;
pub use mapping::group::{map_group, member_id};
pub use mapping::user::map_user;
pub use signins::{SigninCursor, OVERLAP_MINUTES};
pub use users::UsersCursor;

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

/// Which of JumpCloud's data centres holds the organization: each has its own hosts (the
/// specs' `consoleHost` `console` | `console.eu` and Directory Insights' `apiHost` `api` |
/// `api.eu`), and the organization's calls go to its own data centre's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// `console.jumpcloud.com` and `api.jumpcloud.com`.
    #[default]
    Us,
    /// `console.eu.jumpcloud.com` and `api.eu.jumpcloud.com`.
    Eu,
}

/// Config of a JumpCloud integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct JumpCloudConfig {
    #[serde(flatten)]
    #[schema(inline)]
    pub pull: PullConfig,
    /// Pull Directory Insights events (default true).
    pub ingest_signins: Option<bool>,
    /// The organization's data centre: `us` (default) or `eu`; selects the hosts of every
    /// call.
    #[schema(inline)]
    pub region: Option<Region>,
    /// API base (custom endpoints only): serves both the console API (`/api/…`) and
    /// Directory Insights (`/insights/directory/v1/…`); when set it wins over `region`.
    #[schema(min_length = 1)]
    pub base_url: Option<String>,
    /// How far back the first Directory Insights pull reaches (hours, default 24; JumpCloud
    /// keeps 90 days).
    #[schema(minimum = 1, maximum = 2160)]
    pub signin_lookback_hours: Option<i64>,
    /// How far each Directory Insights pull re-reads before its watermark (minutes, default
    /// 10), for events that reach the log late.
    #[schema(minimum = 1, maximum = 1440)]
    pub signin_overlap_minutes: Option<i64>,
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

    fn config(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_unknown_region_is_refused_with_the_regions_it_may_be() {
        let err = validate_config(
            &DESCRIPTOR,
            &config(json!({"region": "apac"})),
            EndpointPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(err.field, "config.region");
        assert_eq!(err.to_string(), "config.region: must be one of: us, eu");
        for region in ["us", "eu"] {
            validate_config(
                &DESCRIPTOR,
                &config(json!({ "region": region })),
                EndpointPolicy::default(),
            )
            .unwrap();
        }
    }

    #[test]
    fn base_url_needs_custom_endpoints() {
        let config: Map<String, Value> =
            serde_json::from_value(json!({"base_url": "http://127.0.0.1:9300"})).unwrap();
        let err = validate_config(&DESCRIPTOR, &config, EndpointPolicy::default()).unwrap_err();
        assert_eq!(err.field, "config.base_url");
    }
}
