//! Building a connector from an integration: the base URL under the official-host policy, the
//! `SSWS` API token, and the Okta-specific config keys.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest};
use gatehouse_core::validate::{self, EndpointPolicy};
use serde_json::{Map, Value};

use crate::config::{DisableMode, OktaConfig, DESCRIPTOR};
use crate::connector::OktaConnector;

/// Registers the Okta connector: `registry.register(gatehouse_okta::Factory)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Factory;

impl ConnectorFactory for Factory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &DESCRIPTOR
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let connector = OktaConnector::from_context(context, RetryPolicy::default())?;
        Ok(Arc::new(connector))
    }

    /// Okta's one-time verification `GET` (`x-okta-verification-challenge`), which may arrive
    /// before the hook's `Authorization` header is known to work: echoing the challenge reveals
    /// nothing, and deliveries still need the ingest token.
    fn handshake(&self, request: &PushRequest) -> Option<PushReply> {
        if !request.method.eq_ignore_ascii_case("GET") {
            return None;
        }
        match crate::push::decode_push(request) {
            Ok(PushOutcome::Respond(reply)) => Some(reply),
            _ => None,
        }
    }
}

/// The integration's Okta-specific settings, read from its typed config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Share of each Okta rate limit Gatehouse may use (`rate_limit_share`, default 0.5).
    pub rate_limit_share: f64,
    /// How far back the first System Log pull starts (`system_log_lookback_hours`, default 24).
    pub system_log_lookback_hours: i64,
    /// Whether the System Log is pulled at all (`ingest_system_log`, default true).
    pub ingest_system_log: bool,
    pub disable_mode: DisableMode,
    /// The group `enforce_mfa` adds the user to (`mfa_group_id`), e.g. one targeted by a stricter
    /// authentication policy.
    pub mfa_group_id: Option<String>,
    /// Whether response actions may run (`enable_response_actions`, default false); a service
    /// app then asks for the manage scopes too.
    pub enable_response_actions: bool,
    /// Whether `enforce_mfa` resets the factors of a user who is not suspended, always together
    /// with a password expiry and a session revocation (`enforce_mfa_reset_factors`, default
    /// false).
    pub enforce_mfa_reset_factors: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(OktaConfig::default())
    }
}

impl From<OktaConfig> for Settings {
    fn from(config: OktaConfig) -> Self {
        Self {
            rate_limit_share: config.pull.rate_limit_share.unwrap_or(0.5),
            system_log_lookback_hours: config.system_log_lookback_hours.unwrap_or(24),
            ingest_system_log: config.ingest_system_log.unwrap_or(true),
            disable_mode: config.disable_mode.unwrap_or_default(),
            mfa_group_id: config.mfa_group_id.map(|id| id.trim().to_owned()),
            enable_response_actions: config.pull.enable_response_actions.unwrap_or(false),
            enforce_mfa_reset_factors: config.enforce_mfa_reset_factors.unwrap_or(false),
        }
    }
}

impl Settings {
    /// Reads the config through the same typed checks the API applied at registration.
    pub fn from_config(config: &Map<String, Value>) -> Result<Self, ConnectorError> {
        validate::parse_typed::<OktaConfig>(config, EndpointPolicy::default())
            .map(Self::from)
            .map_err(|e| ConnectorError::InvalidConfig(e.within("config").to_string()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn handshake_answers_only_the_verification_get() {
        let request = |method: &str, headers: Vec<(String, String)>| PushRequest {
            method: method.into(),
            headers,
            body: b"{}".to_vec(),
            ..PushRequest::default()
        };
        let challenge = vec![("x-okta-verification-challenge".to_owned(), "V1".to_owned())];
        assert_eq!(
            Factory.handshake(&request("GET", challenge.clone())),
            Some(PushReply::json(200, &json!({"verification": "V1"})))
        );
        assert_eq!(Factory.handshake(&request("GET", vec![])), None);
        assert_eq!(Factory.handshake(&request("POST", challenge)), None);
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let settings = Settings::from_config(&Map::new()).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.rate_limit_share, 0.5);
        assert_eq!(settings.system_log_lookback_hours, 24);
        assert_eq!(settings.disable_mode, DisableMode::Suspend);
    }

    #[test]
    fn reads_every_key() {
        let settings = Settings::from_config(&config(json!({
            "rate_limit_share": 0.25,
            "system_log_lookback_hours": 72,
            "ingest_system_log": false,
            "disable_mode": "deactivate",
            "mfa_group_id": "00g1emaKYZTWRYYRRTSK",
            "ingest_users": true
        })))
        .unwrap();
        assert_eq!(settings.rate_limit_share, 0.25);
        assert_eq!(settings.system_log_lookback_hours, 72);
        assert!(!settings.ingest_system_log);
        assert_eq!(settings.disable_mode, DisableMode::Deactivate);
        assert_eq!(
            settings.mfa_group_id.as_deref(),
            Some("00g1emaKYZTWRYYRRTSK")
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            json!({"rate_limit_share": 2.0}),
            json!({"rate_limit_share": "half"}),
            json!({"system_log_lookback_hours": 0}),
            json!({"system_log_lookback_hours": 5000}),
            json!({"disable_mode": "delete"}),
            json!({"mfa_group_id": ""}),
            json!({"ingest_system_log": "yes"}),
        ] {
            let err = Settings::from_config(&config(bad.clone())).unwrap_err();
            assert!(
                matches!(err, ConnectorError::InvalidConfig(_)),
                "{bad}: {err}"
            );
        }
    }
}
