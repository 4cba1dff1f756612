//! Merging and reconciling findings into detections: touching findings join, a bridging finding
//! folds two detections into one, severity is the highest seen, and clearing the last evidence
//! deletes the detection.

use chrono::Duration;
use gatehouse_core::model::{Detection, Severity};
use gatehouse_core::{IntegrationId, SignInId, TenantId, UserId};
use gatehouse_risk::{
    clear, merge, reconcile, same_incident, Change, Finding, Kind, RiskConfig, EVIDENCE_CAP,
};

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

/// A detection on a key that never goes quiet keeps the first and last of its evidence, the
/// same whichever order its findings came in, and says its count is a floor.
#[test]
fn evidence_is_capped_to_its_first_and_last_whatever_the_order() {
    let config = RiskConfig::default();
    let subject = "ip:192.0.2.10";
    let ids: Vec<String> = (0..1_000).map(|i| format!("sin_{i:05}")).collect();
    let grow = |order: Vec<&String>| {
        let mut detection: Option<Detection> = None;
        for (n, id) in order.into_iter().enumerate() {
            let found = finding(Kind::PasswordSpray, subject, &[id.as_str()], 0, 1);
            let existing: Vec<Detection> = detection.iter().cloned().collect();
            let changes = reconcile(&existing, &found, None, &config, t0());
            if let Some(Change::Put(d)) = changes.first() {
                detection = Some((**d).clone());
            }
            assert!(
                detection.as_ref().unwrap().evidence.len() <= EVIDENCE_CAP,
                "after {n}"
            );
        }
        detection.unwrap()
    };
    let forwards = grow(ids.iter().collect());
    let backwards = grow(ids.iter().rev().collect());
    assert_eq!(forwards.evidence, backwards.evidence);
    let kept: Vec<String> = forwards.evidence.iter().map(|id| id.to_string()).collect();
    let half = EVIDENCE_CAP / 2;
    assert_eq!(kept.len(), EVIDENCE_CAP);
    assert_eq!(kept[..half], ids[..half]);
    assert_eq!(kept[half..], ids[ids.len() - half..]);
    assert!(
        forwards
            .explanation
            .contains(&format!("at least {EVIDENCE_CAP}")),
        "{}",
        forwards.explanation
    );
}
