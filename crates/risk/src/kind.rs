//! The detection kinds, their stored names and their titles.

use serde::{Deserialize, Serialize};

/// What a finding is about; stored in `Detection::kind` as [`Kind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    BruteForce,
    PasswordSpray,
    CredentialStuffing,
    MfaFatigue,
    ImpossibleTravel,
    NewCountry,
    AnonymizingNetwork,
    DeprovisionedActivity,
    SessionAnomaly,
    ProviderRisk,
    DormantAccount,
    SuccessAfterAttack,
    PrivilegeChange,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::BruteForce,
        Kind::PasswordSpray,
        Kind::CredentialStuffing,
        Kind::MfaFatigue,
        Kind::ImpossibleTravel,
        Kind::NewCountry,
        Kind::AnonymizingNetwork,
        Kind::DeprovisionedActivity,
        Kind::SessionAnomaly,
        Kind::ProviderRisk,
        Kind::DormantAccount,
        Kind::SuccessAfterAttack,
        Kind::PrivilegeChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BruteForce => "brute_force",
            Kind::PasswordSpray => "password_spray",
            Kind::CredentialStuffing => "credential_stuffing",
            Kind::MfaFatigue => "mfa_fatigue",
            Kind::ImpossibleTravel => "impossible_travel",
            Kind::NewCountry => "new_country",
            Kind::AnonymizingNetwork => "anonymizing_network",
            Kind::DeprovisionedActivity => "deprovisioned_activity",
            Kind::SessionAnomaly => "session_anomaly",
            Kind::ProviderRisk => "provider_risk",
            Kind::DormantAccount => "dormant_account",
            Kind::SuccessAfterAttack => "success_after_attack",
            Kind::PrivilegeChange => "privilege_change",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A short title for alert outputs (OCSF `finding_info.title`, ECS `rule.description`).
    pub fn title(self) -> &'static str {
        match self {
            Kind::BruteForce => "Brute force",
            Kind::PasswordSpray => "Password spray",
            Kind::CredentialStuffing => "Credential stuffing",
            Kind::MfaFatigue => "MFA fatigue",
            Kind::ImpossibleTravel => "Impossible travel",
            Kind::NewCountry => "Sign-in from a new country",
            Kind::AnonymizingNetwork => "Sign-in from an anonymizing network",
            Kind::DeprovisionedActivity => "Activity of a suspended or deprovisioned account",
            Kind::SessionAnomaly => "Session used from two places",
            Kind::ProviderRisk => "High risk reported by the identity provider",
            Kind::DormantAccount => "Dormant account signed in",
            Kind::SuccessAfterAttack => "Successful sign-in after an attack",
            Kind::PrivilegeChange => "Privilege or MFA change",
        }
    }

    /// The attacks whose targets a later success is checked against (`success_after_attack`).
    pub fn is_attack(self) -> bool {
        matches!(
            self,
            Kind::BruteForce | Kind::PasswordSpray | Kind::CredentialStuffing
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(Kind::parse("nope"), None);
    }
}
