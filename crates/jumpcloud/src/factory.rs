//! Building a connector from an integration, and the JumpCloud-specific settings.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::validate::{self, EndpointPolicy};
use serde_json::{Map, Value};

use crate::connector::JumpCloudConnector;
use crate::{JumpCloudConfig, Region, DESCRIPTOR};

/// Registers the JumpCloud connector: `registry.register(gatehouse_jumpcloud::Factory)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Factory;

impl ConnectorFactory for Factory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &DESCRIPTOR
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let connector = JumpCloudConnector::from_context(context, RetryPolicy::default())?;
        Ok(Arc::new(connector))
    }

    fn notes(&self, config: &Map<String, Value>) -> Vec<String> {
        let actions = config
            .get("enable_response_actions")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if actions {
            vec![REVOKE_NOTE.to_owned(), ENFORCE_MFA_NOTE.to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// Said when response actions are on: what `revoke_sessions` can do at JumpCloud.
pub const REVOKE_NOTE: &str = "revoke_sessions expires the user's password (JumpCloud has no \
    API to end sessions): sessions already open are not ended; disable_account suspends";

/// Said when response actions are on: when `enforce_mfa` acts.
pub const ENFORCE_MFA_NOTE: &str = "enforce_mfa requires MFA on the User Portal only for users \
    with an enrolled factor or a suspended account, and never resets factors";

/// The integration's JumpCloud-specific settings, read from its typed config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Share of the provider's limits Gatehouse may use (`rate_limit_share`, default 0.5).
    pub rate_limit_share: f64,
    /// Whether Directory Insights events are pulled (`ingest_signins`, default true).
    pub ingest_signins: bool,
    /// How far back the first events pull reaches (`signin_lookback_hours`, 24).
    pub signin_lookback_hours: i64,
    /// How far each round re-reads before its watermark (`signin_overlap_minutes`, 10).
    pub signin_overlap_minutes: i64,
    /// The organization's data centre (`region`, default US): the hosts of every call.
    pub region: Region,
    /// Custom endpoints (`base_url`): one host for every call, whatever the region.
    pub base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(JumpCloudConfig::default())
    }
}

impl From<JumpCloudConfig> for Settings {
    fn from(config: JumpCloudConfig) -> Self {
        Self {
            rate_limit_share: config.pull.rate_limit_share.unwrap_or(0.5),
            ingest_signins: config.ingest_signins.unwrap_or(true),
            signin_lookback_hours: config.signin_lookback_hours.unwrap_or(24),
            signin_overlap_minutes: config
                .signin_overlap_minutes
                .unwrap_or(crate::signins::OVERLAP_MINUTES),
            region: config.region.unwrap_or_default(),
            base_url: config
                .base_url
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        }
    }
}

impl Settings {
    /// Reads the config through the same typed checks the API applied at registration.
    pub fn from_config(
        config: &Map<String, Value>,
        policy: EndpointPolicy,
    ) -> Result<Self, ConnectorError> {
        validate::parse_typed::<JumpCloudConfig>(config, policy)
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
    fn notes_explain_the_actions() {
        assert!(Factory.notes(&Map::new()).is_empty());
        let notes = Factory.notes(&config(json!({"enable_response_actions": true})));
        assert_eq!(notes, [REVOKE_NOTE, ENFORCE_MFA_NOTE]);
    }

    #[test]
    fn settings_defaults_and_keys() {
        let s = Settings::from_config(&Map::new(), EndpointPolicy::default()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(
            (s.signin_lookback_hours, s.signin_overlap_minutes),
            (24, 10)
        );
        let s = Settings::from_config(
            &config(json!({"signin_overlap_minutes": 30, "ingest_signins": false})),
            EndpointPolicy::default(),
        )
        .unwrap();
        assert_eq!((s.signin_overlap_minutes, s.ingest_signins), (30, false));
        assert_eq!(s.region, Region::Us);
        let s = Settings::from_config(&config(json!({"region": "eu"})), EndpointPolicy::default())
            .unwrap();
        assert_eq!(s.region, Region::Eu);
        let err = Settings::from_config(
            &config(json!({"region": "EU-West"})),
            EndpointPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the integration's settings are invalid: config.region: must be one of: us, eu"
        );
        for bad in [
            json!({"signin_overlap_minutes": 0}),
            json!({"signin_lookback_hours": 5000}),
            json!({"base_url": "http://127.0.0.1:1"}),
        ] {
            assert!(Settings::from_config(&config(bad), EndpointPolicy::default()).is_err());
        }
    }
}
