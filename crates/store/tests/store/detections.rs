//! Detections looked up by subject and time, and policies stored, scoped and located per tenant.

use chrono::Duration;
use gatehouse_core::TenantId;
use gatehouse_store::prelude::*;
use gatehouse_store::{Locatable, SledStore};

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

/// An action for `key`, as the executor writes a new one.
fn action(tenant: &TenantId, id: &str, key: &str) -> gatehouse_core::model::Action {
    use gatehouse_core::model::{Action, ActionKind, ActionStatus};
    Action {
        id: gatehouse_core::ActionId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        user_id: gatehouse_core::UserId::parse("usr_1").unwrap(),
        integration_id: gatehouse_core::IntegrationId::parse("int_1").unwrap(),
        action: ActionKind::RevokeSessions,
        status: ActionStatus::Pending,
        dry_run: false,
        reason: None,
        requested_by: "test".into(),
        detection_id: None,
        idempotency_key: key.into(),
        attempts: 0,
        error: None,
        result: None,
        next_attempt_at: None,
        history: vec![],
        confirmation: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_is_claimed_once_however_many_race_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SledStore::open(dir.path()).unwrap());
    let a = tenant("ten_idem").id;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = Vec::new();
    for n in 0..16 {
        let (store, barrier, a) = (store.clone(), barrier.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .create_action(&action(&a, &format!("act_{n}"), "key:same"))
                .await
                .unwrap()
        }));
    }
    let mut written = 0;
    let mut existing = std::collections::BTreeSet::new();
    for task in tasks {
        match task.await.unwrap() {
            None => written += 1,
            Some(found) => {
                existing.insert(found.id.to_string());
            }
        }
    }
    assert_eq!(written, 1, "exactly one writer claims the key");
    assert_eq!(existing.len(), 1, "every other writer gets that one action");
    let claimed = store
        .find_action_by_key(&a, "key:same")
        .await
        .unwrap()
        .unwrap();
    assert!(existing.contains(&claimed.id.to_string()));
    assert_eq!(
        store.open_actions().await.unwrap().len(),
        1,
        "the losers wrote nothing"
    );
    // Another tenant's key of the same name is its own.
    let b = tenant("ten_idem_b").id;
    assert!(store
        .create_action(&action(&b, "act_b", "key:same"))
        .await
        .unwrap()
        .is_none());
}
