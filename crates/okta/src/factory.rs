//! Building a connector from an integration: the base URL under the official-host policy, the
//! `SSWS` API token, and the Okta-specific config keys.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest};
use gatehouse_core::validate::{self, EndpointPolicy};
use serde_json::{Map, Value};

use crate::config::{DisableMode, Enrichment, OktaConfig, DESCRIPTOR};
use crate::connector::OktaConnector;

/// What `ingest_system_log: false` costs, in the detections' words.
pub const LOG_ONLY_NOTE: &str = "ingest_system_log is false: Okta does not send these events \
    through event hooks, only to the System Log, so the detections that read them cannot fire: \
    Classic Engine push denials (user.mfa.okta_verify.deny_push, system.push.send_factor_verify_push) \
    for mfa_fatigue, ThreatInsight verdicts (security.threat.detected) for provider_risk, and \
    org-wide MFA factor changes (system.mfa.factor.deactivate) for privilege_change. Identity \
    Engine push denials (user.authentication.auth_via_mfa failures) still arrive by hook.";

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
    /// Some events Okta writes only to the System Log: its catalog does not make them
    /// eligible for event hooks, so without the log pull the detections that read them see
    /// nothing.
    fn notes(&self, config: &Map<String, Value>) -> Vec<String> {
        let pulls_log = config
            .get("ingest_system_log")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if pulls_log {
            return Vec::new();
        }
        vec![LOG_ONLY_NOTE.to_owned()]
    }

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
    /// Users pulls read each user's MFA factors (`enrich` holds `factors`, the default).
    pub enrich_factors: bool,
    /// Users pulls read the roster of admin role assignments (`enrich` holds `roles`).
    pub enrich_roles: bool,
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
            enrich_factors: config
                .enrich
                .as_ref()
                .is_none_or(|e| e.contains(&Enrichment::Factors)),
            enrich_roles: config
                .enrich
                .as_ref()
                .is_none_or(|e| e.contains(&Enrichment::Roles)),
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
    fn turning_the_log_off_says_which_detections_go_blind() {
        assert!(Factory.notes(&Map::new()).is_empty());
        let off = config(json!({"ingest_system_log": false}));
        let notes = Factory.notes(&off);
        assert_eq!(notes.len(), 1);
        for named in [
            "mfa_fatigue",
            "provider_risk",
            "user.mfa.okta_verify.deny_push",
        ] {
            assert!(notes[0].contains(named), "{named}");
        }
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
