//! Merging and reconciling findings into detections: touching findings join, a bridging finding
//! folds two detections into one, severity is the highest seen, and clearing the last evidence
//! deletes the detection.

use chrono::Duration;
use gatehouse_core::model::{Detection, Severity};
use gatehouse_core::{IntegrationId, SignInId, TenantId, UserId};
use gatehouse_risk::{clear, merge, reconcile, same_incident, Change, Finding, Kind, RiskConfig};

use super::support::t0;

fn finding(kind: Kind, subject: &str, ids: &[&str], from_min: i64, to_min: i64) -> Finding {
    Finding {
        tenant_id: TenantId::parse("ten_test").unwrap(),
        kind,
        severity: Severity::Medium,
        user_id: UserId::parse("usr_jane"),
        integration_id: IntegrationId::parse("int_okta"),
        subject: subject.to_owned(),
        evidence: ids.iter().map(|s| SignInId::parse(s).unwrap()).collect(),
        explanation: "test".into(),
        first_seen: t0() + Duration::minutes(from_min),
        last_seen: t0() + Duration::minutes(to_min),
    }
}

fn put(changes: Vec<Change>) -> Detection {
    match changes.as_slice() {
        [Change::Put(d)] => (**d).clone(),
        other => panic!("expected one put, got {other:?}"),
    }
}

#[test]
fn merge_joins_touching_findings_and_bridges_detections() {
    let config = RiskConfig::default();
    let subject = "account:usr_jane";
    let a = put(reconcile(
        &[],
        &finding(Kind::BruteForce, subject, &["sin_a"], 0, 2),
        None,
        &config,
        t0(),
    ));
    let b = put(reconcile(
        std::slice::from_ref(&a),
        &finding(Kind::BruteForce, subject, &["sin_b"], 20, 22),
        None,
        &config,
        t0(),
    ));
    assert_ne!(a.id, b.id, "18 min apart is a new incident (gap 5 min)");
    // Within 5 min of the first: merged, no write for a repeat.
    let near = finding(Kind::BruteForce, subject, &["sin_a2"], 6, 7);
    assert!(same_incident(&a, &near, &config));
    let grown = merge(&a, &near, &config, t0()).unwrap();
    assert_eq!(grown.evidence.len(), 2);
    assert_eq!(grown.id, a.id);
    assert!(
        merge(&grown, &near, &config, t0()).is_none(),
        "nothing new, nothing to write"
    );
    // Another subject or kind never merges.
    assert!(!same_incident(
        &a,
        &finding(Kind::BruteForce, "account:usr_bob", &["sin_x"], 1, 1),
        &config
    ));
    assert!(!same_incident(
        &a,
        &finding(Kind::MfaFatigue, subject, &["sin_x"], 1, 1),
        &config
    ));
    // A finding spanning the gap folds both into the earlier one and deletes the later.
    let bridge = finding(Kind::BruteForce, subject, &["sin_m"], 5, 17);
    let changes = reconcile(&[a.clone(), b.clone()], &bridge, None, &config, t0());
    assert_eq!(changes.len(), 2, "{changes:?}");
    let Change::Put(merged) = &changes[0] else {
        panic!()
    };
    assert_eq!(merged.id, a.id);
    assert_eq!(merged.evidence.len(), 3);
    assert_eq!(merged.first_seen, a.first_seen);
    assert_eq!(merged.last_seen, b.last_seen);
    assert_eq!(changes[1], Change::Delete(b.id.clone()));
}

#[test]
fn merged_severity_is_the_highest_and_ids_name_the_subject() {
    let config = RiskConfig::default();
    let mut low = finding(Kind::MfaFatigue, "account:usr_jane", &["sin_a"], 0, 1);
    low.severity = Severity::Medium;
    let mut high = finding(Kind::MfaFatigue, "account:usr_jane", &["sin_b"], 2, 3);
    high.severity = Severity::High;
    let d = put(reconcile(&[], &high, None, &config, t0()));
    let d = put(reconcile(&[d], &low, None, &config, t0()));
    assert_eq!(d.severity, Severity::High);
    assert!(gatehouse_risk::is_subject(
        &d,
        Kind::MfaFatigue,
        "account:usr_jane"
    ));
    assert!(!gatehouse_risk::is_subject(
        &d,
        Kind::MfaFatigue,
        "account:usr_bob"
    ));
    assert!(!gatehouse_risk::is_subject(
        &d,
        Kind::BruteForce,
        "account:usr_jane"
    ));
}

#[test]
fn clearing_the_last_evidence_deletes_the_detection() {
    let config = RiskConfig::default();
    let f = finding(Kind::NewCountry, "account:usr_jane", &["sin_a"], 0, 0);
    let d = put(reconcile(&[], &f, None, &config, t0()));
    let cleared = gatehouse_risk::Cleared {
        tenant_id: f.tenant_id.clone(),
        kind: Kind::NewCountry,
        subject: f.subject.clone(),
        event: SignInId::parse("sin_a").unwrap(),
        time: t0(),
    };
    assert_eq!(
        clear(std::slice::from_ref(&d), &cleared, &config, t0()),
        vec![Change::Delete(d.id.clone())]
    );
    let other = gatehouse_risk::Cleared {
        event: SignInId::parse("sin_zz").unwrap(),
        ..cleared
    };
    assert!(clear(&[d], &other, &config, t0()).is_empty());
}
