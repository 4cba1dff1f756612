//! The action executor: integration opt-in, retries and recorded transitions, account state
//! reported back to the inventory, dry runs, idempotency keys, resume after a restart, and
//! guards (protected accounts, the disable cap, approvals).

use std::collections::VecDeque;
use std::time::Duration;

use gatehouse_core::model::{ActionKind, ActionStatus, UserStatus};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionReport};
use gatehouse_engine::actions::ActionRequest;
use serde_json::json;

use super::support::{harness, request, with_user};

#[tokio::test]
async fn actions_are_skipped_unless_the_integration_allows_them() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": false})).await;
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(action.status, ActionStatus::Pending);
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Skipped);
    assert!(done
        .result
        .as_deref()
        .unwrap()
        .contains("enable_response_actions"));
    assert!(
        h.script.lock().unwrap().acts.is_empty(),
        "nothing reached the provider"
    );
}

#[tokio::test]
async fn actions_run_retry_and_record_every_transition() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.script.lock().unwrap().act_results = VecDeque::from(vec![
        Err(ConnectorError::Unavailable("503".into())),
        Err(ConnectorError::RateLimited {
            retry_after: Some(Duration::from_millis(30)),
        }),
    ]);
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 3);
    let path: Vec<ActionStatus> = done.history.iter().map(|t| t.to).collect();
    use ActionStatus::{Pending, Running, Succeeded};
    assert_eq!(
        path,
        vec![Pending, Running, Pending, Running, Pending, Running, Succeeded]
    );
    assert_eq!(
        h.script.lock().unwrap().acts,
        vec![(ActionKind::DisableAccount, "00u1".to_owned()); 3]
    );

    // Permanent errors fail at once; transient ones fail after the last attempt.
    h.script.lock().unwrap().act_results =
        VecDeque::from(vec![Err(ConnectorError::Forbidden("E0000006".into()))]);
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!((done.status, done.attempts), (ActionStatus::Failed, 1));
    assert!(done.error.unwrap().contains("E0000006"));
    h.script.lock().unwrap().act_results = (0..3)
        .map(|_| Err(ConnectorError::Unavailable("down".into())))
        .collect();
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!((done.status, done.attempts), (ActionStatus::Failed, 3));
    // Unsupported by the connector.
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::EnableAccount))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Skipped);
}

#[tokio::test]
async fn the_account_state_an_action_reports_reaches_the_inventory_at_once() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let suspended = AccountState {
        status: UserStatus::Suspended,
        status_flags: vec![],
    };
    h.script.lock().unwrap().act_results = VecDeque::from(vec![
        Ok(ActionReport {
            changed: true,
            detail: "suspended".into(),
            account: Some(suspended),
        }),
        // A report without the account's state leaves the inventory as it is.
        Ok(ActionReport {
            changed: true,
            detail: "revoked".into(),
            account: None,
        }),
    ]);
    for kind in [ActionKind::DisableAccount, ActionKind::RevokeSessions] {
        let action = h
            .engine
            .actions
            .request(request(&h, &user, kind))
            .await
            .unwrap();
        let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
        assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
        let stored = h.store.get_user(&h.tenant, &user).await.unwrap().unwrap();
        assert_eq!(stored.status, UserStatus::Suspended, "after {kind:?}");
        assert!(stored.updated_at.is_some());
    }
    let suspended_users = h
        .store
        .list_users(
            &h.tenant,
            &gatehouse_store::UserFilter {
                status: Some(UserStatus::Suspended),
                ..Default::default()
            },
            &gatehouse_store::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(suspended_users.items.len(), 1, "the status filter sees it");
}

#[tokio::test]
async fn dry_runs_and_idempotency_keys() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let mut dry = request(&h, &user, ActionKind::DisableAccount);
    dry.dry_run = true;
    let action = h.engine.actions.request(dry).await.unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Skipped);
    assert!(done
        .result
        .unwrap()
        .starts_with("dry run: would disable the account of ann@acme.example"));
    assert!(h.script.lock().unwrap().acts.is_empty());

    let mut keyed = request(&h, &user, ActionKind::RevokeSessions);
    keyed.idempotency_key = Some("ticket-42".into());
    let first = h.engine.actions.request(keyed.clone()).await.unwrap();
    let second = h.engine.actions.request(keyed).await.unwrap();
    assert_eq!(first.id, second.id);
    h.wait_for(&first.id, |a| a.status.is_final()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        h.script.lock().unwrap().acts.len(),
        1,
        "the keyed action ran once"
    );
}

#[tokio::test]
async fn actions_left_running_by_a_dead_process_run_again() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let template = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    h.wait_for(&template.id, |a| a.status.is_final()).await;
    h.script.lock().unwrap().acts.clear();
    // As a crashed process leaves them: one marked running, one pending and due later.
    let mut running = template.clone();
    running.id = gatehouse_core::ActionId::parse("act_left_running").unwrap();
    running.idempotency_key = "left-running".into();
    running.status = ActionStatus::Running;
    running.attempts = 1;
    running.next_attempt_at = None;
    let mut later = template.clone();
    later.id = gatehouse_core::ActionId::parse("act_left_pending").unwrap();
    later.idempotency_key = "left-pending".into();
    later.status = ActionStatus::Pending;
    later.next_attempt_at =
        Some(h.engine.gateway.clock().now() + chrono::Duration::milliseconds(300));
    h.store.put_action(&running).await.unwrap();
    h.store.put_action(&later).await.unwrap();
    let resumed = h.wait_for(&running.id, |a| a.status.is_final()).await;
    assert_eq!(
        (resumed.status, resumed.attempts),
        (ActionStatus::Succeeded, 2)
    );
    let early = h
        .store
        .get_action(&h.tenant, &later.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(early.status, ActionStatus::Pending, "not before its time");
    let done = h.wait_for(&later.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Succeeded);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        h.script.lock().unwrap().acts.len(),
        2,
        "each ran exactly once"
    );
    assert!(h.store.open_actions().await.unwrap().is_empty());
}

/// Two executors on one store, as two replicas sharing PostgreSQL: every open action runs once
/// at the provider, whichever replica's poll sees it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_on_one_store_run_each_action_once() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let template = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    h.wait_for(&template.id, |a| a.status.is_final()).await;
    h.script.lock().unwrap().acts.clear();
    let second_replica = gatehouse_engine::actions::ActionExecutor::new(
        std::sync::Arc::clone(&h.engine.gateway),
        gatehouse_engine::actions::ExecutorPolicy {
            poll: Duration::from_millis(5),
            ..gatehouse_engine::actions::ExecutorPolicy::default()
        },
    );
    let worker = second_replica.spawn();
    let mut ids = Vec::new();
    for n in 0..12 {
        let mut action = template.clone();
        action.id = gatehouse_core::ActionId::parse(&format!("act_shared_{n:02}")).unwrap();
        action.idempotency_key = format!("shared-{n}");
        action.status = ActionStatus::Pending;
        action.attempts = 0;
        action.next_attempt_at = None;
        action.history.clear();
        h.store.put_action(&action).await.unwrap();
        ids.push(action.id);
    }
    for id in &ids {
        let done = h.wait_for(id, |a| a.status.is_final()).await;
        assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.abort();
    assert_eq!(
        h.script.lock().unwrap().acts.len(),
        ids.len(),
        "each action reached the provider once"
    );
}

#[tokio::test]
async fn guards_protect_accounts_cap_disables_and_wait_for_approval() {
    use gatehouse_core::model::TenantSettings;
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.engine
        .gateway
        .update_tenant(
            &h.tenant,
            None,
            Some(TenantSettings {
                protected_accounts: vec!["ANN@acme.example".into()],
                max_auto_disables_per_10m: Some(1),
                ..TenantSettings::default()
            }),
        )
        .await
        .unwrap();
    let automatic = |kind| ActionRequest {
        automatic: true,
        requested_by: "policy:pol_test".into(),
        ..request(&h, &user, kind)
    };
    // A protected account is never disabled automatically…
    let skipped = h
        .engine
        .actions
        .request(automatic(ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(skipped.status, ActionStatus::Skipped);
    assert!(skipped.history[0].cause.contains("protected account"));
    // …nor does it take any other automatic action (a forged burst must not keep the
    // break-glass admins signed out); a person may still act.
    let manual = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(manual.status, ActionStatus::Pending);
    let revoke = h
        .engine
        .actions
        .request(automatic(ActionKind::RevokeSessions))
        .await
        .unwrap();
    assert_eq!(revoke.status, ActionStatus::Skipped);
    h.wait_for(&manual.id, |a| a.status.is_final()).await;

    // The cap: with the account unprotected, the second automatic disable in 10 minutes waits.
    h.engine
        .gateway
        .update_tenant(
            &h.tenant,
            None,
            Some(TenantSettings {
                protected_accounts: vec![],
                max_auto_disables_per_10m: Some(1),
                ..TenantSettings::default()
            }),
        )
        .await
        .unwrap();
    let first = h
        .engine
        .actions
        .request(automatic(ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(first.status, ActionStatus::Pending);
    let second = h
        .engine
        .actions
        .request(automatic(ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(
        second.status,
        ActionStatus::AwaitingApproval,
        "{:?}",
        second.history
    );
    assert!(second.history[0].cause.contains("cap of 1"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let still = h
        .store
        .get_action(&h.tenant, &second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.status,
        ActionStatus::AwaitingApproval,
        "nothing runs before approval"
    );

    // Approval runs it; rejection ends it; deciding twice is a conflict.
    let before = h.script.lock().unwrap().acts.len();
    h.engine
        .actions
        .decide(&h.tenant, &second.id, true, "operator")
        .await
        .unwrap();
    let done = h.wait_for(&second.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Succeeded);
    assert!(done
        .history
        .iter()
        .any(|t| t.cause == "approved by operator"));
    assert_eq!(h.script.lock().unwrap().acts.len(), before + 1);
    assert!(h
        .engine
        .actions
        .decide(&h.tenant, &second.id, true, "operator")
        .await
        .is_err());
    let mut waiting = request(&h, &user, ActionKind::RevokeSessions);
    waiting.needs_approval = true;
    let waiting = h.engine.actions.request(waiting).await.unwrap();
    assert_eq!(waiting.status, ActionStatus::AwaitingApproval);
    let rejected = h
        .engine
        .actions
        .decide(&h.tenant, &waiting.id, false, "alice")
        .await
        .unwrap();
    assert_eq!(rejected.status, ActionStatus::Rejected);
    assert!(h
        .store
        .open_actions()
        .await
        .unwrap()
        .iter()
        .all(|a| a.id != waiting.id));
}
