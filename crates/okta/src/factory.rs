//! Building a connector from an integration: the base URL under the official-host policy, the
//! `SSWS` API token, and the Okta-specific config keys.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::{self, ProviderDescriptor};
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::records::{PushOutcome, PushRequest};
use serde_json::{Map, Value};

use crate::connector::OktaConnector;

/// Registers the Okta connector: `registry.register(gatehouse_okta::Factory)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Factory;

impl ConnectorFactory for Factory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &catalog::OKTA
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let connector = OktaConnector::from_context(context, RetryPolicy::default())?;
        Ok(Arc::new(connector))
    }

    /// Okta's one-time verification `GET` (`x-okta-verification-challenge`), which may arrive
    /// before the hook's `Authorization` header is known to work: echoing the challenge reveals
    /// nothing, and deliveries still need the ingest token.
    fn handshake(&self, request: &PushRequest) -> Option<PushOutcome> {
        if !request.method.eq_ignore_ascii_case("GET") {
            return None;
        }
        crate::push::decode_push(request).ok()
    }
}

/// What `disable_account` does at Okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisableMode {
    /// `POST /lifecycle/suspend`: the user cannot sign in; app and group assignments are kept.
    #[default]
    Suspend,
    /// `POST /lifecycle/deactivate?sendEmail=false`: destructive, deprovisions the user's apps.
    Deactivate,
}

/// The integration's Okta-specific settings, read from its `config` object.
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rate_limit_share: 0.5,
            system_log_lookback_hours: 24,
            ingest_system_log: true,
            disable_mode: DisableMode::Suspend,
            mfa_group_id: None,
        }
    }
}

impl Settings {
    /// Reads and checks the config keys this connector uses; others are ignored (the API has
    /// validated the object against the descriptor already).
    pub fn from_config(config: &Map<String, Value>) -> Result<Self, ConnectorError> {
        let mut settings = Self::default();
        if let Some(value) = present(config, "rate_limit_share") {
            let share = value
                .as_f64()
                .filter(|s| (0.05..=1.0).contains(s))
                .ok_or_else(|| invalid("rate_limit_share must be a number from 0.05 to 1"))?;
            settings.rate_limit_share = share;
        }
        if let Some(value) = present(config, "system_log_lookback_hours") {
            let hours = value
                .as_i64()
                .filter(|h| (1..=2160).contains(h))
                .ok_or_else(|| {
                    invalid("system_log_lookback_hours must be an integer from 1 to 2160")
                })?;
            settings.system_log_lookback_hours = hours;
        }
        if let Some(value) = present(config, "ingest_system_log") {
            settings.ingest_system_log = value
                .as_bool()
                .ok_or_else(|| invalid("ingest_system_log must be true or false"))?;
        }
        if let Some(value) = present(config, "disable_mode") {
            settings.disable_mode = match value.as_str() {
                Some("suspend") => DisableMode::Suspend,
                Some("deactivate") => DisableMode::Deactivate,
                _ => {
                    return Err(invalid(
                        "disable_mode must be \"suspend\" or \"deactivate\"",
                    ))
                }
            };
        }
        if let Some(value) = present(config, "mfa_group_id") {
            let id = value
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid("mfa_group_id must be a non-empty string"))?;
            settings.mfa_group_id = Some(id.to_owned());
        }
        Ok(settings)
    }
}

fn present<'a>(config: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    config.get(key).filter(|v| !v.is_null())
}

fn invalid(message: &str) -> ConnectorError {
    ConnectorError::InvalidConfig(message.to_owned())
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
        };
        let challenge = vec![("x-okta-verification-challenge".to_owned(), "V1".to_owned())];
        assert_eq!(
            Factory.handshake(&request("GET", challenge.clone())),
            Some(PushOutcome::Respond {
                status: 200,
                body: json!({"verification": "V1"})
            })
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
