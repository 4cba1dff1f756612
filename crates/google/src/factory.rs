//! Building a connector from an integration, the Google-specific settings, and what an
//! operator should know about an integration's config (`notes`).

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::validate::{self, EndpointPolicy};
use serde_json::{Map, Value};

use crate::connector::GoogleConnector;
use crate::{GoogleConfig, DESCRIPTOR};

/// Registers the Google Workspace connector: `registry.register(gatehouse_google::Factory)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Factory;

/// Said of every integration: the scopes domain-wide delegation must grant.
pub const SCOPES_NOTE: &str = "grant the service account's client id, in the Admin console's \
    domain-wide delegation, admin.directory.user.readonly and admin.directory.group.readonly \
    (directory), admin.reports.audit.readonly (login activity), and for response actions \
    admin.directory.user, admin.directory.user.security and admin.directory.group.member";
/// Said when response actions are on without an MFA target.
pub const MFA_TARGET_NOTE: &str = "enforce_mfa needs mfa_org_unit (an org unit whose policy \
    enforces 2-Step Verification) or mfa_group (a group such a policy targets)";

impl ConnectorFactory for Factory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &DESCRIPTOR
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let connector = GoogleConnector::from_context(context, RetryPolicy::default())?;
        Ok(Arc::new(connector))
    }

    fn notes(&self, config: &Map<String, Value>) -> Vec<String> {
        let mut notes = vec![SCOPES_NOTE.to_owned()];
        let actions = config
            .get("enable_response_actions")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if actions && !config.contains_key("mfa_org_unit") && !config.contains_key("mfa_group") {
            notes.push(MFA_TARGET_NOTE.to_owned());
        }
        notes
    }
}

/// The integration's Google-specific settings, read from its typed config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Share of Google's quotas Gatehouse may use (`rate_limit_share`, default 0.5).
    pub rate_limit_share: f64,
    /// Whether login activity is pulled (`ingest_signins`, default true).
    pub ingest_signins: bool,
    /// How far back the first login-activity pull reaches (`signin_lookback_hours`, 24).
    pub signin_lookback_hours: i64,
    /// How far each round re-reads for late activities (`signin_overlap_minutes`, 180).
    pub signin_overlap_minutes: i64,
    pub mfa_org_unit: Option<String>,
    pub mfa_group: Option<String>,
    pub change_password_at_next_login: bool,
    pub api_base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(GoogleConfig::default())
    }
}

impl From<GoogleConfig> for Settings {
    fn from(config: GoogleConfig) -> Self {
        let trimmed = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Self {
            rate_limit_share: config.pull.rate_limit_share.unwrap_or(0.5),
            ingest_signins: config.ingest_signins.unwrap_or(true),
            signin_lookback_hours: config.signin_lookback_hours.unwrap_or(24),
            signin_overlap_minutes: config
                .signin_overlap_minutes
                .unwrap_or(crate::signins::OVERLAP_MINUTES),
            mfa_org_unit: trimmed(config.mfa_org_unit),
            mfa_group: trimmed(config.mfa_group),
            change_password_at_next_login: config.change_password_at_next_login.unwrap_or(false),
            api_base_url: trimmed(config.api_base_url),
        }
    }
}

impl Settings {
    /// Reads the config through the same typed checks the API applied at registration.
    pub fn from_config(
        config: &Map<String, Value>,
        policy: EndpointPolicy,
    ) -> Result<Self, ConnectorError> {
        validate::parse_typed::<GoogleConfig>(config, policy)
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
    fn settings_defaults_and_keys() {
        let s = Settings::from_config(&Map::new(), EndpointPolicy::default()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(
            (s.signin_lookback_hours, s.signin_overlap_minutes),
            (24, 180)
        );
        let s = Settings::from_config(
            &config(json!({"mfa_org_unit": "/2SV", "signin_overlap_minutes": 60})),
            EndpointPolicy::default(),
        )
        .unwrap();
        assert_eq!(s.mfa_org_unit.as_deref(), Some("/2SV"));
        assert_eq!(s.signin_overlap_minutes, 60);
        for bad in [
            json!({"mfa_org_unit": "2SV"}),
            json!({"signin_overlap_minutes": 0}),
        ] {
            assert!(Settings::from_config(&config(bad), EndpointPolicy::default()).is_err());
        }
    }

    #[test]
    fn notes_name_scopes_and_the_mfa_target() {
        assert_eq!(Factory.notes(&Map::new()), vec![SCOPES_NOTE.to_owned()]);
        let notes = Factory.notes(&config(json!({"enable_response_actions": true})));
        assert!(notes.contains(&MFA_TARGET_NOTE.to_owned()));
    }
}
