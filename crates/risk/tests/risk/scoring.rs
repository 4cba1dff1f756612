//! Risk scores (severity weights, half-life decay, combined like probabilities) and escalation
//! when several kinds of detection land within the hour.

use chrono::Duration;
use gatehouse_core::model::{Detection, Severity};
use gatehouse_core::{DetectionId, IdentityId, IntegrationId, SignInId, TenantId, UserId};
use gatehouse_risk::{escalate, risk_score, RiskConfig};

use super::support::t0;

fn detection(kind: &str, severity: Severity, first_min: i64, last_min: i64, n: u32) -> Detection {
    Detection {
        id: DetectionId::derive(t0(), &[kind, &n.to_string()]),
        tenant_id: TenantId::parse("ten_test").unwrap(),
        kind: kind.into(),
        severity,
        user_id: UserId::parse("usr_jane"),
        identity_id: IdentityId::parse("idn_jane"),
        integration_id: IntegrationId::parse("int_okta"),
        evidence: vec![SignInId::parse("sin_a").unwrap()],
        explanation: "x".into(),
        first_seen: t0() + Duration::minutes(first_min),
        last_seen: t0() + Duration::minutes(last_min),
        created_at: t0(),
        updated_at: t0(),
    }
}

#[test]
fn risk_score_grows_with_severity_and_decays_by_half_life() {
    let config = RiskConfig::default();
    let now = t0();
    assert_eq!(risk_score(&[], now, &config), 0);
    let high = detection("impossible_travel", Severity::High, 0, 0, 1);
    assert_eq!(risk_score(std::slice::from_ref(&high), now, &config), 50);
    // One half-life later it weighs half; two, a quarter.
    assert_eq!(
        risk_score(
            std::slice::from_ref(&high),
            now + Duration::hours(24),
            &config
        ),
        25
    );
    assert_eq!(
        risk_score(
            std::slice::from_ref(&high),
            now + Duration::hours(48),
            &config
        ),
        13
    );
    let critical = detection("success_after_attack", Severity::Critical, 0, 0, 2);
    assert_eq!(
        risk_score(std::slice::from_ref(&critical), now, &config),
        80
    );
    // Combined like probabilities: 1 - 0.5 × 0.2 = 0.9.
    assert_eq!(
        risk_score(&[high.clone(), critical.clone()], now, &config),
        90
    );
    assert_eq!(
        risk_score(&[critical.clone(), high.clone()], now, &config),
        90
    );
    // The same detection twice counts once; many never pass 100.
    assert_eq!(risk_score(&[high.clone(), high.clone()], now, &config), 50);
    let many: Vec<Detection> = (0..50)
        .map(|n| detection("x", Severity::Critical, 0, 0, 100 + n))
        .collect();
    assert_eq!(risk_score(&many, now, &config), 100);
    // A shorter half-life decays faster.
    let mut fast = config.clone();
    fast.score.half_life_hours = 1.0;
    assert_eq!(
        risk_score(std::slice::from_ref(&high), now + Duration::hours(2), &fast),
        13
    );
}

#[test]
fn several_kinds_in_one_hour_escalate() {
    let config = RiskConfig::default();
    let travel = detection("impossible_travel", Severity::High, 0, 0, 1);
    let country = detection("new_country", Severity::Low, 10, 10, 2);
    let mfa = detection("mfa_fatigue", Severity::Medium, 30, 40, 3);
    assert_eq!(escalate(std::slice::from_ref(&travel), &config), None);
    assert_eq!(
        escalate(&[travel.clone(), country.clone()], &config),
        Some(Severity::Critical)
    );
    assert_eq!(
        escalate(&[country.clone(), mfa.clone()], &config),
        Some(Severity::High)
    );
    assert_eq!(
        escalate(&[country.clone(), mfa.clone(), travel.clone()], &config),
        Some(Severity::Critical)
    );
    // Two hours apart: two incidents, no escalation.
    let late = detection("mfa_fatigue", Severity::Medium, 130, 131, 4);
    assert_eq!(escalate(&[country.clone(), late], &config), None);
    // Repeats of one kind are not several kinds.
    let again = detection("new_country", Severity::Low, 20, 20, 5);
    assert_eq!(escalate(&[country, again], &config), None);
}
