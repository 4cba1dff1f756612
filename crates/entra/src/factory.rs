//! Building a connector from an integration, the Entra-specific settings, what an operator
//! should know about an integration's config (`notes`), and Graph's validation handshake.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::records::{PushReply, PushRequest};
use gatehouse_core::validate::{self, EndpointPolicy};
use serde_json::{Map, Value};

use crate::config::{Enrichment, EntraConfig, DESCRIPTOR};
use crate::connector::EntraConnector;

/// Registers the Entra ID connector: `registry.register(gatehouse_entra::Factory)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Factory;

/// Said of every integration: sign-in logs are a premium feature.
pub const SIGNINS_NOTE: &str = "sign-in logs need an Entra ID P1 (or P2) licence in the tenant \
    and the AuditLog.Read.All application permission; without them the sign-in pull answers \
    403 and only the directory is kept";
/// Said when `confirm_compromised` is on.
pub const CONFIRM_NOTE: &str = "confirm_compromised needs Entra ID P2 (Identity Protection) and \
    the IdentityRiskyUser.ReadWrite.All application permission";
/// Said when no `public_base_url` is set.
pub const SUBSCRIPTION_NOTE: &str = "public_base_url is not set: Gatehouse does not create the \
    Graph change-notification subscription for users, so changes arrive with the next scheduled \
    pull; to have them pushed, create a subscription (resource users, changeType \
    updated,deleted) whose notificationUrl is this integration's push URL with its ingest token \
    and whose clientState is the integration's client_state";
/// Said when response actions are on without an MFA group.
pub const MFA_GROUP_NOTE: &str = "enforce_mfa needs mfa_group_id: a group that a Conditional \
    Access policy requiring MFA targets";

impl ConnectorFactory for Factory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &DESCRIPTOR
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let connector = EntraConnector::from_context(context, RetryPolicy::default())?;
        Ok(Arc::new(connector))
    }

    fn notes(&self, config: &Map<String, Value>) -> Vec<String> {
        let flag =
            |key: &str, default: bool| config.get(key).and_then(Value::as_bool).unwrap_or(default);
        let mut notes = Vec::new();
        if flag("ingest_signins", true) {
            notes.push(SIGNINS_NOTE.to_owned());
        }
        if flag("confirm_compromised", false) {
            notes.push(CONFIRM_NOTE.to_owned());
        }
        if flag("enable_response_actions", false) && !config.contains_key("mfa_group_id") {
            notes.push(MFA_GROUP_NOTE.to_owned());
        }
        if !config.contains_key("public_base_url") {
            notes.push(SUBSCRIPTION_NOTE.to_owned());
        }
        notes
    }

    /// Graph's validation request (`POST` or `GET` with `?validationToken=`), which arrives
    /// before the subscription exists and may carry no usable ingest token: echoing the token
    /// reveals nothing the request did not hold.
    fn handshake(&self, request: &PushRequest) -> Option<PushReply> {
        crate::push::validation(request)
    }
}

/// The integration's Entra-specific settings, read from its typed config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Share of Graph's limits Gatehouse may use (`rate_limit_share`, default 0.5).
    pub rate_limit_share: f64,
    /// Whether sign-in logs are pulled (`ingest_signins`, default true).
    pub ingest_signins: bool,
    /// How far back the first sign-in pull reaches (`signin_lookback_hours`, default 24).
    pub signin_lookback_hours: i64,
    /// How far each sign-in round re-reads for late arrivals (`signin_overlap_minutes`).
    pub signin_overlap_minutes: i64,
    /// Users pulls read each user's authentication methods (`enrich` holds `auth_methods`).
    pub enrich_auth_methods: bool,
    pub mfa_group_id: Option<String>,
    pub confirm_compromised: bool,
    pub enable_response_actions: bool,
    pub public_base_url: Option<String>,
    pub login_base_url: Option<String>,
    pub graph_base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(EntraConfig::default())
    }
}

impl From<EntraConfig> for Settings {
    fn from(config: EntraConfig) -> Self {
        let trimmed = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Self {
            rate_limit_share: config.pull.rate_limit_share.unwrap_or(0.5),
            ingest_signins: config.ingest_signins.unwrap_or(true),
            signin_lookback_hours: config.signin_lookback_hours.unwrap_or(24),
            signin_overlap_minutes: config
                .signin_overlap_minutes
                .unwrap_or(crate::signins::OVERLAP_MINUTES),
            enrich_auth_methods: config
                .enrich
                .as_ref()
                .is_some_and(|e| e.contains(&Enrichment::AuthMethods)),
            mfa_group_id: trimmed(config.mfa_group_id),
            confirm_compromised: config.confirm_compromised.unwrap_or(false),
            enable_response_actions: config.pull.enable_response_actions.unwrap_or(false),
            public_base_url: trimmed(config.public_base_url),
            login_base_url: trimmed(config.login_base_url),
            graph_base_url: trimmed(config.graph_base_url),
        }
    }
}

impl Settings {
    /// Reads the config through the same typed checks the API applied at registration.
    pub fn from_config(
        config: &Map<String, Value>,
        policy: EndpointPolicy,
    ) -> Result<Self, ConnectorError> {
        validate::parse_typed::<EntraConfig>(config, policy)
            .map(Self::from)
            .map_err(|e| ConnectorError::InvalidConfig(e.within("config").to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn config(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn notes_name_the_licences_and_the_subscription() {
        let notes = Factory.notes(&Map::new());
        assert!(notes.iter().any(|n| n.contains("P1")));
        assert!(notes.iter().any(|n| n.contains("public_base_url")));
        let notes = Factory.notes(&config(json!({
            "ingest_signins": false, "confirm_compromised": true,
            "public_base_url": "https://g.example.com", "mfa_group_id": "x",
            "enable_response_actions": true,
        })));
        assert_eq!(notes, vec![CONFIRM_NOTE.to_owned()]);
        let notes = Factory.notes(&config(json!({"enable_response_actions": true})));
        assert!(notes.contains(&MFA_GROUP_NOTE.to_owned()));
    }

    #[test]
    fn settings_defaults_and_keys() {
        let s = Settings::from_config(&Map::new(), EndpointPolicy::default()).unwrap();
        assert_eq!(s, Settings::default());
        assert!(s.ingest_signins && !s.enrich_auth_methods && !s.confirm_compromised);
        assert_eq!(s.signin_lookback_hours, 24);
        let s = Settings::from_config(
            &config(json!({
                "enrich": ["auth_methods"], "signin_lookback_hours": 72,
                "mfa_group_id": "6b3a3f0e-3c5f-4a37-9d0e-3c1f1e2d4b5a", "confirm_compromised": true,
            })),
            EndpointPolicy::default(),
        )
        .unwrap();
        assert!(s.enrich_auth_methods && s.confirm_compromised);
        assert_eq!(s.signin_lookback_hours, 72);
        assert!(Settings::from_config(
            &config(json!({"enrich": ["factors"]})),
            EndpointPolicy::default()
        )
        .is_err());
    }
}
