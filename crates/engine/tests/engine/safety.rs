//! Automatic response must not become an attacker's tool: protected accounts take no automatic
//! action, a tenant-wide cap ends the excess `capped`, destructive actions resting only on pushed
//! events wait for the provider's log to confirm one, idempotency keys hold under concurrent
//! requests, and the executor bounds its concurrency and the retry-after it honours.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::model::{
    ActionKind, ActionStatus, PolicyMode, PolicyScope, PolicyWhen, Severity, TenantSettings,
};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::PushRequest;
use gatehouse_engine::actions::ActionRequest;
use gatehouse_engine::policies::PolicyInput;
use gatehouse_store::{ActionFilter, PageRequest};
use serde_json::json;

use super::support::{harness, request, with_user, Harness};

fn automatic(h: &Harness, user: &gatehouse_core::UserId, kind: ActionKind) -> ActionRequest {
    ActionRequest {
        automatic: true,
        requested_by: "policy:pol_test".into(),
        ..request(h, user, kind)
    }
}

async fn settings(h: &Harness, settings: TenantSettings) {
    h.engine
        .gateway
        .update_tenant(&h.tenant, None, Some(settings))
        .await
        .unwrap();
}

#[tokio::test]
async fn protected_accounts_take_no_automatic_action_of_any_kind() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    settings(
        &h,
        TenantSettings {
            protected_accounts: vec!["Ann@Acme.Example".into()],
            ..TenantSettings::default()
        },
    )
    .await;
    for kind in [
        ActionKind::DisableAccount,
        ActionKind::EnforceMfa,
        ActionKind::RevokeSessions,
    ] {
        let action = h
            .engine
            .actions
            .request(automatic(&h, &user, kind))
            .await
            .unwrap();
        assert_eq!(action.status, ActionStatus::Skipped, "{kind:?}");
        assert!(action.history[0].cause.contains("protected account"));
    }
    let manual = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::EnforceMfa))
        .await
        .unwrap();
    assert_eq!(
        manual.status,
        ActionStatus::Pending,
        "a person may still act"
    );
}

#[tokio::test]
async fn automatic_actions_past_the_tenant_cap_end_capped() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    settings(
        &h,
        TenantSettings {
            max_auto_actions_per_10m: Some(2),
            ..TenantSettings::default()
        },
    )
    .await;
    let kinds = [ActionKind::RevokeSessions, ActionKind::EnforceMfa];
    for kind in kinds {
        let action = h
            .engine
            .actions
            .request(automatic(&h, &user, kind))
            .await
            .unwrap();
        assert_eq!(action.status, ActionStatus::Pending);
    }
    let capped = h
        .engine
        .actions
        .request(automatic(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    assert_eq!(capped.status, ActionStatus::Capped, "{:?}", capped.history);
    assert!(capped.history[0].cause.contains("cap of 2"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let acts = h.script.lock().unwrap().acts.len();
    assert_eq!(acts, 2, "the capped action never ran");
    // People are not capped.
    let manual = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    assert_eq!(manual.status, ActionStatus::Pending);
}

#[tokio::test]
async fn every_tenant_has_a_default_cap() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let mut statuses = Vec::new();
    for n in 0..51 {
        let action = h
            .engine
            .actions
            .request(ActionRequest {
                idempotency_key: Some(format!("k{n}")),
                ..automatic(&h, &user, ActionKind::RevokeSessions)
            })
            .await
            .unwrap();
        statuses.push(action.status);
        // Each runs before the next is asked for: one still queued would make the next a
        // repeat (skipped), not a count toward the cap.
        if !action.status.is_final() {
            h.wait_for(&action.id, |a| a.status.is_final()).await;
        }
    }
    assert!(statuses[..50]
        .iter()
        .all(|s| *s != ActionStatus::Capped && *s != ActionStatus::Skipped));
    assert_eq!(statuses[50], ActionStatus::Capped);
}

/// A tenant with a policy that disables on brute force, and a pushed burst of 12 failures.
async fn pushed_burst(
    h: &Harness,
    confirmable: Option<Vec<String>>,
) -> gatehouse_core::model::Action {
    let (integration, user) = with_user(h, json!({"enable_response_actions": true})).await;
    h.script.lock().unwrap().confirmable = confirmable;
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
                then: vec![ActionKind::DisableAccount],
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
        body: serde_json::to_vec(&ids).unwrap(),
        ..PushRequest::default()
    };
    h.engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    for _ in 0..500 {
        let actions = h
            .store
            .list_actions(&h.tenant, &ActionFilter::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if let Some(action) = actions.into_iter().find(|a| a.status.is_final()) {
            assert_eq!(action.user_id, user);
            return action;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no action reached a final state");
}

#[tokio::test]
async fn a_forged_pushed_burst_is_a_detection_but_disables_nothing() {
    let h = harness().await;
    let action = pushed_burst(&h, Some(vec![])).await;
    assert_eq!(
        action.status,
        ActionStatus::Unconfirmed,
        "{:?}",
        action.history
    );
    assert!(action.confirmation.is_none());
    let last = action
        .history
        .last()
        .map(|t| t.cause.clone())
        .unwrap_or_default();
    assert!(last.contains("pushed events"), "{last}");
    let s = h.script.lock().unwrap();
    assert!(
        s.acts.is_empty(),
        "nothing ran at the provider: {:?}",
        s.acts
    );
    assert_eq!(s.confirm_calls.len(), 1);
    assert!(s.confirm_calls[0].iter().all(|id| id.starts_with("bf-")));
}

#[tokio::test]
async fn a_connector_that_cannot_confirm_disables_nothing_on_pushed_events() {
    let h = harness().await;
    let action = pushed_burst(&h, None).await;
    assert_eq!(
        action.status,
        ActionStatus::Unconfirmed,
        "{:?}",
        action.history
    );
    assert!(h.script.lock().unwrap().acts.is_empty());
}

#[tokio::test]
async fn a_confirmed_pushed_burst_is_contained_and_the_confirmation_recorded() {
    let h = harness().await;
    // The provider's log has every event of the burst: which of them the executor looks up
    // (at most ten, the account's newest first) depends on the order the burst was assessed
    // in, so the test does not pin one.
    let logged: Vec<String> = (0..12).map(|n| format!("bf-{n}")).collect();
    let action = pushed_burst(&h, Some(logged.clone())).await;
    assert_eq!(
        action.status,
        ActionStatus::Succeeded,
        "{:?}",
        action.history
    );
    let confirmation = action.confirmation.expect("the confirmation is recorded");
    assert!(
        logged.contains(&confirmation.provider_event_id),
        "{confirmation:?}"
    );
    assert_eq!(
        h.script.lock().unwrap().acts,
        vec![(ActionKind::DisableAccount, "00u1".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_idempotency_key_make_one_action() {
    let h = Arc::new(harness().await);
    let (_, user) = with_user(&h, json!({"enable_response_actions": false})).await;
    for round in 0..40 {
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let h = Arc::clone(&h);
            let user = user.clone();
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                h.engine
                    .actions
                    .request(ActionRequest {
                        idempotency_key: Some(format!("same-{round}")),
                        ..request(&h, &user, ActionKind::RevokeSessions)
                    })
                    .await
                    .unwrap()
                    .id
                    .to_string()
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1, "round {round}: {ids:?}");
    }
    let all = h
        .store
        .list_actions(
            &h.tenant,
            &ActionFilter::default(),
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 40, "one action per key");
}

#[tokio::test]
async fn the_executor_runs_a_bounded_number_of_actions_at_once() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.script.lock().unwrap().act_delay = Some(Duration::from_millis(100));
    let mut ids = Vec::new();
    for _ in 0..20 {
        let action = h
            .engine
            .actions
            .request(request(&h, &user, ActionKind::RevokeSessions))
            .await
            .unwrap();
        ids.push(action.id);
    }
    for id in &ids {
        h.wait_for(id, |a| a.status.is_final()).await;
    }
    let s = h.script.lock().unwrap();
    assert_eq!(s.acts.len(), 20);
    assert!(
        (1..=8).contains(&s.max_acts_in_flight),
        "at most the default of 8 at once, saw {}",
        s.max_acts_in_flight
    );
}

#[tokio::test]
async fn a_provider_retry_after_of_a_day_does_not_park_the_action_for_a_day() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.script
        .lock()
        .unwrap()
        .act_results
        .push_back(Err(ConnectorError::RateLimited {
            retry_after: Some(Duration::from_secs(86_400)),
        }));
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    let retrying = h
        .wait_for(&action.id, |a| a.attempts >= 1 && a.error.is_some())
        .await;
    let next = retrying.next_attempt_at.expect("a retry is scheduled");
    let wait = next - retrying.updated_at;
    assert!(
        wait <= chrono::Duration::seconds(300),
        "the wait is capped at 5 minutes, got {wait}"
    );
}

#[tokio::test]
async fn an_automatic_action_already_queued_for_the_account_is_not_repeated() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.script.lock().unwrap().act_delay = Some(Duration::from_millis(300));
    // Two detections of one attack: two requests with their own keys, moments apart.
    let first = h
        .engine
        .actions
        .request(ActionRequest {
            idempotency_key: Some("pol:det_brute_force".into()),
            ..automatic(&h, &user, ActionKind::RevokeSessions)
        })
        .await
        .unwrap();
    let second = h
        .engine
        .actions
        .request(ActionRequest {
            idempotency_key: Some("pol:det_success_after_attack".into()),
            ..automatic(&h, &user, ActionKind::RevokeSessions)
        })
        .await
        .unwrap();
    assert_eq!(second.status, ActionStatus::Skipped, "{:?}", second.history);
    assert!(second.history[0].cause.contains(&format!(
        "already queued or running for ann@acme.example (action {})",
        first.id
    )));
    // Another kind for the same account still runs.
    let disable = h
        .engine
        .actions
        .request(automatic(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(disable.status, ActionStatus::Pending);
    h.wait_for(&first.id, |a| a.status == ActionStatus::Succeeded)
        .await;
    // Once it has run, new evidence gets a new revocation.
    let later = h
        .engine
        .actions
        .request(ActionRequest {
            idempotency_key: Some("pol:det_later".into()),
            ..automatic(&h, &user, ActionKind::RevokeSessions)
        })
        .await
        .unwrap();
    assert_eq!(later.status, ActionStatus::Pending, "{:?}", later.history);
}
