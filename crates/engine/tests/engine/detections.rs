//! Detections from pulled and pushed sign-ins: dormancy only when the pulled history proves
//! it, and a pushed brute force that becomes a detection and a policy's action.

use std::collections::VecDeque;
use std::time::Duration;

use gatehouse_core::model::{ActionKind, ActionStatus, Outcome, UserStatus};
use gatehouse_core::records::{ProviderEvent, PushRequest};
use gatehouse_core::SystemClock;
use gatehouse_engine::ingest::PushResult;
use gatehouse_engine::sync::SyncJob;
use gatehouse_store::PageRequest;
use serde_json::json;

use super::support::{event, harness, puser, with_user, Harness};

/// An integration whose account 00u1 was created 400 days ago, then a first sign-in pull with
/// that account's only success (a minute ago), assessed by the runner. Returns the account.
async fn first_success_after_a_first_pull(
    h: &Harness,
    reach: Option<chrono::Duration>,
) -> gatehouse_core::UserId {
    let now = gatehouse_core::Clock::now(&SystemClock);
    {
        let mut s = h.script.lock().unwrap();
        let mut ann = puser("00u1", "ann@acme.example", UserStatus::Active);
        ann.created_at = Some(now - chrono::Duration::days(400));
        s.user_pages = vec![vec![ann]];
        s.history_reach = reach;
        s.event_pages = VecDeque::from(vec![vec![ProviderEvent {
            time: now - chrono::Duration::minutes(1),
            ..event(&format!("first-{reach:?}"), "00u1", Outcome::Success, 0)
        }]]);
    }
    let integration = h.integration(json!({})).await;
    for job in [SyncJob::Users, SyncJob::Signins] {
        h.engine
            .sync
            .run(&h.tenant, &integration.id, job)
            .await
            .unwrap();
    }
    h.store
        .find_user_by_external_id(&h.tenant, &integration.id, "00u1")
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_first_success_is_dormant_only_when_the_pulled_history_proves_it() {
    let h = harness().await;
    // Without a known history start, no stored success proves nothing.
    let unknown = first_success_after_a_first_pull(&h, None).await;
    // A pull reaching back only 30 days proves nothing about the 90 days before the success.
    let short = first_success_after_a_first_pull(&h, Some(chrono::Duration::days(30))).await;
    // The first pull reached 100 days back, so the store holds every success of the last 100
    // days: none in 90 days for an account 400 days old is dormancy.
    let proven = first_success_after_a_first_pull(&h, Some(chrono::Duration::days(100))).await;
    let mut dormant = Vec::new();
    for _ in 0..300 {
        dormant = h
            .store
            .list_detections(&h.tenant, &Default::default(), &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|d| d.kind == "dormant_account")
            .filter_map(|d| d.user_id)
            .collect();
        if !dormant.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The runner assesses in order, so the two earlier successes were assessed by now.
    assert_eq!(dormant, [proven]);
    assert!(!dormant.contains(&unknown) && !dormant.contains(&short));
}

#[tokio::test]
async fn a_pushed_brute_force_becomes_a_detection_and_a_policy_action() {
    use gatehouse_core::model::{PolicyMode, PolicyScope, PolicyWhen, Severity};
    use gatehouse_engine::policies::PolicyInput;
    let h = harness().await;
    let (integration, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.engine
        .gateway
        .create_policy(
            &h.tenant,
            PolicyInput {
                name: "contain".into(),
                when: PolicyWhen {
                    kinds: vec!["brute_force".into()],
                    min_severity: Severity::Low,
                    providers: vec![],
                },
                then: vec![ActionKind::RevokeSessions],
                mode: PolicyMode::Auto,
                scope: PolicyScope::Account,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = (0..12).map(|n| format!("bf-{n}")).collect();
    let push = PushRequest {
        method: "POST".into(),
        headers: vec![],
        query: vec![],
        content_type: None,
        body: serde_json::to_vec(&ids).unwrap(),
    };
    let stored = h
        .engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    assert!(matches!(stored, PushResult::Stored { received: 12, .. }));
    let mut detection = None;
    for _ in 0..300 {
        let found = h
            .store
            .list_detections(&h.tenant, &Default::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if let Some(d) = found.into_iter().find(|d| d.kind == "brute_force") {
            detection = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let detection = detection.expect("a brute_force detection");
    assert_eq!(detection.user_id.as_ref(), Some(&user));
    assert!(detection.evidence.len() >= 10, "{detection:?}");
    let mut action = None;
    for _ in 0..300 {
        let actions = h
            .store
            .list_actions(&h.tenant, &Default::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if let Some(a) = actions
            .into_iter()
            .find(|a| a.detection_id.as_ref() == Some(&detection.id) && a.status.is_final())
        {
            action = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let action = action.expect("the policy's action ran");
    assert_eq!(
        (action.action, action.status),
        (ActionKind::RevokeSessions, ActionStatus::Succeeded)
    );
    assert!(action.requested_by.starts_with("policy:"));
    // The same burst redelivered is one detection and no second action.
    h.engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let detections = h
        .store
        .list_detections(&h.tenant, &Default::default(), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        detections
            .iter()
            .filter(|d| d.kind == "brute_force")
            .count(),
        1
    );
    assert_eq!(
        h.script
            .lock()
            .unwrap()
            .acts
            .iter()
            .filter(|(k, _)| *k == ActionKind::RevokeSessions)
            .count(),
        1
    );
    let scored = h.store.get_user(&h.tenant, &user).await.unwrap().unwrap();
    assert!(scored.risk_score > 0, "the account's risk score rose");
    // The rise is a point of the person's risk history, written with their score.
    let person = scored
        .identity_id
        .clone()
        .expect("the account joined an identity");
    let history = h
        .store
        .identity_risk_history(&h.tenant, &person)
        .await
        .unwrap();
    assert_eq!(
        history.last().map(|p| p.score),
        Some(scored.risk_score),
        "{history:?}"
    );
    let identity = h.store.get_identity(&h.tenant, &person).await.unwrap();
    assert_eq!(identity.map(|i| i.risk_score), Some(scored.risk_score));
}
