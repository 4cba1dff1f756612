//! Detections looked up by subject and time, and policies stored, scoped and located per tenant.

use chrono::Duration;
use gatehouse_core::TenantId;
use gatehouse_store::{Locatable, SledStore, Store};

use super::support::{t0, tenant};

#[tokio::test]
async fn detections_by_subject_and_policies() {
    use gatehouse_core::model::{
        ActionKind, Detection, Policy, PolicyMode, PolicyScope, PolicyWhen, Severity,
    };
    use gatehouse_core::{DetectionId, PolicyId};
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_det");
    let detection = |id: &str, minute: i64| Detection {
        id: DetectionId::parse(id).unwrap(),
        tenant_id: a.id.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: vec![],
        explanation: "x".into(),
        first_seen: t0() + Duration::minutes(minute),
        last_seen: t0() + Duration::minutes(minute + 1),
        created_at: t0(),
        updated_at: t0(),
    };
    store
        .put_detection(&detection("det_1", 0), "account:usr_1")
        .await
        .unwrap();
    store
        .put_detection(&detection("det_2", 60), "account:usr_1")
        .await
        .unwrap();
    store
        .put_detection(&detection("det_3", 60), "ip:203.0.113.9")
        .await
        .unwrap();
    let found = store
        .detections_about(&a.id, "account:usr_1", t0() + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["det_2"]
    );
    assert_eq!(
        store
            .detections_about(&a.id, "account:usr_1", t0())
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.locate(Locatable::Detection, "det_3").await.unwrap(),
        Some(a.id.clone())
    );

    let policy = Policy {
        id: PolicyId::parse("pol_1").unwrap(),
        tenant_id: a.id.clone(),
        name: "contain".into(),
        when: PolicyWhen {
            kinds: vec!["brute_force".into()],
            min_severity: Severity::Medium,
            providers: vec![],
        },
        then: vec![ActionKind::RevokeSessions],
        mode: PolicyMode::Auto,
        scope: PolicyScope::Account,
        enabled: true,
        created_at: t0(),
        updated_at: t0(),
    };
    store.put_policy(&policy).await.unwrap();
    assert_eq!(
        store.list_policies(&a.id).await.unwrap(),
        vec![policy.clone()]
    );
    assert!(store
        .get_policy(&TenantId::parse("ten_x").unwrap(), &policy.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.locate(Locatable::Policy, "pol_1").await.unwrap(),
        Some(a.id.clone())
    );
    assert!(policy.matches("brute_force", Severity::High, Some("okta")));
    assert!(!policy.matches("brute_force", Severity::Low, Some("okta")));
    assert!(!policy.matches("mfa_fatigue", Severity::High, Some("okta")));
    assert!(store.delete_policy(&a.id, &policy.id).await.unwrap());
    assert!(store.list_policies(&a.id).await.unwrap().is_empty());
}
