//! Sentences: the canonical explanation of a stored detection, and the formatting helpers the
//! detections use for their own (per-context) explanations.
//!
//! A stored detection's explanation is rebuilt from its merged state only (kind, subject, evidence
//! count, times, severity, config) so it cannot depend on which partial findings were merged in
//! which order; a [`crate::Finding`]'s explanation carries the richer numbers its context showed.

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Severity, SignInEvent};

use crate::config::RiskConfig;
use crate::finding::subject_phrase;
use crate::kind::Kind;

/// The explanation of a stored detection of `kind` about `subject` with `evidence` events seen
/// from `first` to `last`.
pub fn describe(
    kind: Kind,
    subject: &str,
    evidence: usize,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    severity: Severity,
    config: &RiskConfig,
) -> String {
    let who = subject_phrase(subject);
    let n = evidence;
    let plural = |one: &str, many: &str| {
        if n >= crate::merge::EVIDENCE_CAP {
            // The evidence kept is the first and last part of more.
            format!("at least {n} {many}")
        } else if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let when = if first == last {
        format!("at {}", ts(first))
    } else {
        format!("between {} and {}", ts(first), ts(last))
    };
    let title = kind.title();
    match kind {
        Kind::BruteForce => format!(
            "{title}: {} for {who} {when} (at least {} within {} min).",
            plural("failed sign-in", "failed sign-ins"),
            config.brute_force.failures,
            config.brute_force.window_minutes
        ),
        Kind::PasswordSpray => format!(
            "{title}: {} from {who} {when}, against at least {} distinct accounts within {} min.",
            plural("failed sign-in", "failed sign-ins"),
            config.password_spray.accounts,
            config.password_spray.window_minutes
        ),
        Kind::CredentialStuffing => format!(
            "{title}: {} from {who} {when}, against at least {} distinct accounts within {} min.",
            plural("sign-in attempt", "sign-in attempts"),
            config.credential_stuffing.accounts,
            config.credential_stuffing.window_minutes
        ),
        Kind::MfaFatigue => {
            let then = if severity >= Severity::High {
                ", and a sign-in succeeded after the denials"
            } else {
                ""
            };
            format!(
                "{title}: {} for {who} {when} (at least {} MFA push denials or timeouts within {} min){then}.",
                plural("event", "events"),
                config.mfa_fatigue.denials,
                config.mfa_fatigue.window_minutes
            )
        }
        Kind::ImpossibleTravel => format!(
            "{title}: {} for {who} {when} are too far apart to travel between at {} km/h.",
            plural("successful sign-in", "successful sign-ins"),
            config.impossible_travel.max_speed_kmh
        ),
        Kind::NewCountry => format!(
            "{title}: {} for {who} {when} from a country its identity had not signed in from in the previous {} days.",
            plural("successful sign-in", "successful sign-ins"),
            config.new_country.lookback_days
        ),
        Kind::AnonymizingNetwork => format!(
            "{title}: {} for {who} {when} from a proxy, VPN, Tor exit or listed anonymizing network.",
            plural("sign-in event", "sign-in events")
        ),
        Kind::DeprovisionedActivity => format!(
            "{title}: {} by {who} {when}, which is suspended or deprovisioned in the inventory.",
            plural("sign-in attempt", "sign-in attempts")
        ),
        Kind::SessionAnomaly => format!(
            "{title}: {} in {who} {when} came from two countries or networks within {} min.",
            plural("event", "events"),
            config.session_anomaly.window_minutes
        ),
        Kind::ProviderRisk => format!(
            "{title}: {} for {who} {when} rated high risk by the identity provider.",
            plural("event", "events")
        ),
        Kind::DormantAccount => format!(
            "{title}: {} for {who} {when} after at least {} days without one.",
            plural("successful sign-in", "successful sign-ins"),
            config.dormant_account.days
        ),
        Kind::SuccessAfterAttack => format!(
            "{title}: {} for {who} {when}, including a successful sign-in within {} min after a brute force, password spray or credential stuffing.",
            plural("event", "events"),
            config.success_after_attack.window_minutes
        ),
        Kind::PrivilegeChange => format!(
            "{title}: {} for {who} {when} (admin role granted, MFA factors removed, MFA policy weakened or identity provider added).",
            plural("change", "changes")
        ),
    }
}

/// A time as people read it in an alert: `2026-05-01 10:04:10 UTC`.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A duration in the two largest units: `4 min 10 s`, `2 h 5 min`, `3 d 4 h`, `0 s`.
pub(crate) fn human(d: Duration) -> String {
    let total = d.num_seconds().abs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    let parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")];
    let shown: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if shown.is_empty() {
        "0 s".to_owned()
    } else {
        shown.join(" ")
    }
}

/// Where an event came from: `Paris, France (IP 192.0.2.1)`.
pub(crate) fn place(event: &SignInEvent) -> String {
    let area = match (&event.city, &event.country) {
        (Some(city), Some(country)) => format!("{city}, {country}"),
        (None, Some(country)) => country.clone(),
        (Some(city), None) => city.clone(),
        (None, None) => "an unknown place".to_owned(),
    };
    match &event.ip {
        Some(ip) => format!("{area} (IP {ip})"),
        None => area,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::seconds(250)), "4 min 10 s");
        assert_eq!(human(Duration::minutes(125)), "2 h 5 min");
        assert_eq!(human(Duration::hours(3)), "3 h");
        assert_eq!(human(Duration::days(91)), "91 d");
        assert_eq!(human(Duration::zero()), "0 s");
    }

    #[test]
    fn canonical_explanations_carry_the_numbers() {
        let t = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap();
        let config = RiskConfig::default();
        let text = describe(
            Kind::BruteForce,
            "account:usr_1",
            12,
            t,
            t + Duration::minutes(4),
            Severity::Medium,
            &config,
        );
        assert_eq!(
            text,
            "Brute force: 12 failed sign-ins for account usr_1 between 2026-05-01 10:00:00 UTC \
             and 2026-05-01 10:04:00 UTC (at least 10 within 5 min)."
        );
        let one = describe(
            Kind::NewCountry,
            "account:usr_1",
            1,
            t,
            t,
            Severity::Low,
            &config,
        );
        assert!(
            one.contains("1 successful sign-in for account usr_1 at 2026-05-01"),
            "{one}"
        );
        let high = describe(
            Kind::MfaFatigue,
            "account:usr_1",
            4,
            t,
            t,
            Severity::High,
            &config,
        );
        assert!(high.contains("succeeded after the denials"), "{high}");
        for kind in Kind::ALL {
            let text = describe(kind, "ip:192.0.2.1", 2, t, t, Severity::Low, &config);
            assert!(
                text.starts_with(kind.title()) && text.contains("IP 192.0.2.1"),
                "{text}"
            );
        }
    }
}
