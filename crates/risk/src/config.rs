//! Per-tenant settings of every detection, with the defaults documented in `docs/DETECTIONS.md`.
//!
//! Every struct is `#[serde(default, deny_unknown_fields)]`: a tenant writes only what it changes,
//! and a misspelt key is an error rather than a silently ignored setting. Durations carry their
//! unit in the key (`window_minutes`, `days`) so a config file reads without a manual.

use chrono::Duration;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Thresholds and switches for every detection of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Trusted egress networks (CIDR or single address): ignored by impossible travel, new
    /// country, session anomaly and anonymizing network (a corporate VPN is not an attacker).
    pub allowlisted_networks: Vec<String>,
    /// Extra networks (CIDR or single address) treated as anonymizing, beside provider flags.
    pub anonymizing_networks: Vec<String>,
    /// How close (in minutes) two single-event findings of one kind and subject must be to count
    /// as one incident (anonymizing network, deprovisioned activity, provider risk, privilege change).
    pub event_merge_minutes: u32,
    pub brute_force: BruteForce,
    pub password_spray: PasswordSpray,
    pub credential_stuffing: CredentialStuffing,
    pub mfa_fatigue: MfaFatigue,
    pub impossible_travel: ImpossibleTravel,
    pub new_country: NewCountry,
    pub anonymizing_network: Toggle,
    pub deprovisioned_activity: Toggle,
    pub session_anomaly: SessionAnomaly,
    pub provider_risk: ProviderRisk,
    pub dormant_account: DormantAccount,
    pub success_after_attack: SuccessAfterAttack,
    pub privilege_change: Toggle,
    pub score: Score,
    pub escalation: Escalation,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            allowlisted_networks: Vec::new(),
            anonymizing_networks: Vec::new(),
            event_merge_minutes: 60,
            brute_force: BruteForce::default(),
            password_spray: PasswordSpray::default(),
            credential_stuffing: CredentialStuffing::default(),
            mfa_fatigue: MfaFatigue::default(),
            impossible_travel: ImpossibleTravel::default(),
            new_country: NewCountry::default(),
            anonymizing_network: Toggle::default(),
            deprovisioned_activity: Toggle::default(),
            session_anomaly: SessionAnomaly::default(),
            provider_risk: ProviderRisk::default(),
            dormant_account: DormantAccount::default(),
            success_after_attack: SuccessAfterAttack::default(),
            privilege_change: Toggle::default(),
            score: Score::default(),
            escalation: Escalation::default(),
        }
    }
}

/// A detection that has nothing to tune but can be switched off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Toggle {
    pub enabled: bool,
}

impl Default for Toggle {
    fn default() -> Self {
        Self { enabled: true }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BruteForce {
    pub enabled: bool,
    /// Failed sign-ins for one account …
    pub failures: u32,
    /// … within this many minutes.
    pub window_minutes: u32,
}

impl Default for BruteForce {
    fn default() -> Self {
        Self {
            enabled: true,
            failures: 10,
            window_minutes: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordSpray {
    pub enabled: bool,
    /// Distinct accounts one source IP fails against …
    pub accounts: u32,
    /// … within this many minutes.
    pub window_minutes: u32,
}

impl Default for PasswordSpray {
    fn default() -> Self {
        Self {
            enabled: true,
            accounts: 10,
            window_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialStuffing {
    pub enabled: bool,
    /// Distinct accounts one source IP tries (any outcome) …
    pub accounts: u32,
    /// … within this many minutes. Accounts tried more than twice still count: excluding them
    /// would let a late event retract a finding (see `docs/DETECTIONS.md`); the explanation
    /// reports how many accounts were tried at most twice.
    pub window_minutes: u32,
}

impl Default for CredentialStuffing {
    fn default() -> Self {
        Self {
            enabled: true,
            accounts: 15,
            window_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaFatigue {
    pub enabled: bool,
    /// MFA push denials or timeouts for one account …
    pub denials: u32,
    /// … within this many minutes.
    pub window_minutes: u32,
    /// A successful sign-in this many minutes after the burst raises the severity to high.
    pub follow_minutes: u32,
}

impl Default for MfaFatigue {
    fn default() -> Self {
        Self {
            enabled: true,
            denials: 3,
            window_minutes: 10,
            follow_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImpossibleTravel {
    pub enabled: bool,
    /// Two successes that need more than this speed are impossible travel.
    pub max_speed_kmh: f64,
    /// Pairs closer than this are ignored (geolocation of an IP is only this precise).
    pub min_distance_km: f64,
}

impl Default for ImpossibleTravel {
    fn default() -> Self {
        Self {
            enabled: true,
            max_speed_kmh: 900.0,
            min_distance_km: 100.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewCountry {
    pub enabled: bool,
    /// A country counts as seen when the identity succeeded from it in this many days before.
    pub lookback_days: u32,
    /// Fire only once the identity has this many successes (with a country) in the lookback.
    pub min_prior_successes: u32,
}

impl Default for NewCountry {
    fn default() -> Self {
        Self {
            enabled: true,
            lookback_days: 90,
            min_prior_successes: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionAnomaly {
    pub enabled: bool,
    /// Two uses of one session within this many minutes …
    pub window_minutes: u32,
    /// … from two different countries …
    pub countries: bool,
    /// … or from two different autonomous systems.
    pub asns: bool,
}

impl Default for SessionAnomaly {
    fn default() -> Self {
        Self {
            enabled: true,
            window_minutes: 60,
            countries: true,
            asns: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderRisk {
    pub enabled: bool,
    /// The lowest provider risk level that fires (`low`, `medium`, `high`).
    pub min_level: gatehouse_core::model::RiskLevel,
}

impl Default for ProviderRisk {
    fn default() -> Self {
        Self {
            enabled: true,
            min_level: gatehouse_core::model::RiskLevel::High,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DormantAccount {
    pub enabled: bool,
    /// A success after at least this many days without one.
    pub days: u32,
}

impl Default for DormantAccount {
    fn default() -> Self {
        Self {
            enabled: true,
            days: 90,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuccessAfterAttack {
    pub enabled: bool,
    /// A success within this many minutes after a brute force, spray or stuffing burst.
    pub window_minutes: u32,
}

impl Default for SuccessAfterAttack {
    fn default() -> Self {
        Self {
            enabled: true,
            window_minutes: 60,
        }
    }
}

/// How detections add up to a 0–100 risk score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Score {
    /// A detection's weight halves every this many hours after its last evidence.
    pub half_life_hours: f64,
    /// The weight (0–1) of one fresh detection of each severity; weights combine like
    /// independent probabilities, so the score approaches but never passes 100.
    pub low: f64,
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for Score {
    fn default() -> Self {
        Self {
            half_life_hours: 24.0,
            low: 0.10,
            medium: 0.25,
            high: 0.50,
            critical: 0.80,
        }
    }
}

/// When several detections of one identity form one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Escalation {
    /// Detections active within this many minutes of each other belong together.
    pub window_minutes: u32,
    /// This many distinct kinds raise the severity one step; one more kind makes it critical.
    pub min_kinds: u32,
}

impl Default for Escalation {
    fn default() -> Self {
        Self {
            window_minutes: 60,
            min_kinds: 2,
        }
    }
}

/// Windows longer than a year would make the engine fetch unbounded history.
const MAX_MINUTES: u32 = 366 * 24 * 60;
const MAX_DAYS: u32 = 3650;

impl RiskConfig {
    /// Checks every setting; the error names the first wrong field by its config path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        networks("allowlisted_networks", &self.allowlisted_networks)?;
        networks("anonymizing_networks", &self.anonymizing_networks)?;
        minutes("event_merge_minutes", self.event_merge_minutes)?;
        count("brute_force.failures", self.brute_force.failures)?;
        minutes(
            "brute_force.window_minutes",
            self.brute_force.window_minutes,
        )?;
        count("password_spray.accounts", self.password_spray.accounts)?;
        minutes(
            "password_spray.window_minutes",
            self.password_spray.window_minutes,
        )?;
        count(
            "credential_stuffing.accounts",
            self.credential_stuffing.accounts,
        )?;
        minutes(
            "credential_stuffing.window_minutes",
            self.credential_stuffing.window_minutes,
        )?;
        count("mfa_fatigue.denials", self.mfa_fatigue.denials)?;
        minutes(
            "mfa_fatigue.window_minutes",
            self.mfa_fatigue.window_minutes,
        )?;
        minutes(
            "mfa_fatigue.follow_minutes",
            self.mfa_fatigue.follow_minutes,
        )?;
        positive(
            "impossible_travel.max_speed_kmh",
            self.impossible_travel.max_speed_kmh,
        )?;
        let min_distance = self.impossible_travel.min_distance_km;
        if !min_distance.is_finite() || min_distance < 0.0 {
            return Err(invalid(
                "impossible_travel.min_distance_km",
                "must be a finite number ≥ 0",
            ));
        }
        days("new_country.lookback_days", self.new_country.lookback_days)?;
        count(
            "new_country.min_prior_successes",
            self.new_country.min_prior_successes,
        )?;
        minutes(
            "session_anomaly.window_minutes",
            self.session_anomaly.window_minutes,
        )?;
        days("dormant_account.days", self.dormant_account.days)?;
        minutes(
            "success_after_attack.window_minutes",
            self.success_after_attack.window_minutes,
        )?;
        positive("score.half_life_hours", self.score.half_life_hours)?;
        for (field, weight) in [
            ("score.low", self.score.low),
            ("score.medium", self.score.medium),
            ("score.high", self.score.high),
            ("score.critical", self.score.critical),
        ] {
            if !(0.0..=1.0).contains(&weight) {
                return Err(invalid(field, "must be between 0 and 1"));
            }
        }
        minutes("escalation.window_minutes", self.escalation.window_minutes)?;
        if self.escalation.min_kinds < 2 {
            return Err(invalid("escalation.min_kinds", "must be at least 2"));
        }
        Ok(())
    }

    /// The allow-listed networks that parse (all of them once [`Self::validate`] passed).
    pub fn allowlist(&self) -> Vec<IpNet> {
        self.allowlisted_networks
            .iter()
            .filter_map(|s| parse_network(s))
            .collect()
    }

    /// The configured anonymizing networks that parse.
    pub fn anonymizers(&self) -> Vec<IpNet> {
        self.anonymizing_networks
            .iter()
            .filter_map(|s| parse_network(s))
            .collect()
    }
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`192.0.2.7`, taken as /32 or /128).
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// `n` minutes as a duration.
pub(crate) fn mins(n: u32) -> Duration {
    Duration::minutes(i64::from(n))
}

/// `n` days as a duration.
pub(crate) fn days_of(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

fn networks(field: &'static str, values: &[String]) -> Result<(), ConfigError> {
    for (index, value) in values.iter().enumerate() {
        if parse_network(value).is_none() {
            return Err(ConfigError::InvalidNetwork {
                field,
                index,
                value: value.clone(),
            });
        }
    }
    Ok(())
}

fn invalid(field: &'static str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid { field, reason }
}

fn count(field: &'static str, value: u32) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(invalid(field, "must be at least 1"));
    }
    Ok(())
}

fn minutes(field: &'static str, value: u32) -> Result<(), ConfigError> {
    if value == 0 || value > MAX_MINUTES {
        return Err(invalid(field, "must be between 1 minute and 366 days"));
    }
    Ok(())
}

fn days(field: &'static str, value: u32) -> Result<(), ConfigError> {
    if value == 0 || value > MAX_DAYS {
        return Err(invalid(field, "must be between 1 and 3650 days"));
    }
    Ok(())
}

fn positive(field: &'static str, value: f64) -> Result<(), ConfigError> {
    if !value.is_finite() || value <= 0.0 {
        return Err(invalid(field, "must be a finite number > 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_documented_table() {
        let config = RiskConfig::default();
        config.validate().unwrap();
        assert_eq!(config.brute_force.failures, 10);
        assert_eq!(config.brute_force.window_minutes, 5);
        assert_eq!(config.password_spray.accounts, 10);
        assert_eq!(config.credential_stuffing.accounts, 15);
        assert_eq!(config.mfa_fatigue.denials, 3);
        assert_eq!(config.impossible_travel.max_speed_kmh, 900.0);
        assert_eq!(config.new_country.min_prior_successes, 5);
        assert_eq!(config.dormant_account.days, 90);
        assert_eq!(config.score.half_life_hours, 24.0);
    }

    #[test]
    fn partial_config_keeps_defaults_and_unknown_keys_are_rejected() {
        let config: RiskConfig = serde_json::from_value(serde_json::json!({
            "allowlisted_networks": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"],
            "brute_force": {"failures": 20}
        }))
        .unwrap();
        assert_eq!(config.brute_force.failures, 20);
        assert_eq!(config.brute_force.window_minutes, 5);
        config.validate().unwrap();
        assert_eq!(config.allowlist().len(), 3);

        let typo = serde_json::from_value::<RiskConfig>(serde_json::json!({
            "brute_force": {"failure": 20}
        }));
        assert!(typo.is_err());
        let top = serde_json::from_value::<RiskConfig>(serde_json::json!({"brute": {}}));
        assert!(top.is_err());
    }

    #[test]
    fn validate_names_the_wrong_field() {
        let mut config = RiskConfig {
            anonymizing_networks: vec!["198.51.100.0/24".into(), "not-a-cidr".into()],
            ..RiskConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::InvalidNetwork {
                field: "anonymizing_networks",
                index: 1,
                value: "not-a-cidr".into()
            })
        );
        config.anonymizing_networks.clear();
        config.brute_force.window_minutes = 0;
        let err = config.validate().unwrap_err();
        assert!(
            err.to_string().contains("brute_force.window_minutes"),
            "{err}"
        );
        config.brute_force.window_minutes = 5;
        config.impossible_travel.max_speed_kmh = f64::NAN;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::Invalid {
                field: "impossible_travel.max_speed_kmh",
                ..
            })
        ));
        config.impossible_travel.max_speed_kmh = 900.0;
        config.escalation.min_kinds = 1;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::Invalid {
                field: "escalation.min_kinds",
                ..
            })
        ));
    }
}
