//! What the contract gives connectors that keep state at their provider: a change token carried
//! from one pass to the next (and a full pull when the provider forgets it), change notices that
//! pull the directory, and upkeep that sees the push URL with the current ingest token.

use std::time::Duration;

use gatehouse_core::model::{TokenKind, UserStatus};
use gatehouse_core::records::PushRequest;
use gatehouse_engine::sync::{SyncJob, SyncOutcome};
use gatehouse_engine::NewIntegration;
use secrecy::ExposeSecret;
use serde_json::json;

use super::support::{harness, puser};

#[tokio::test]
async fn a_change_token_carries_to_the_next_pass_and_a_forgotten_one_means_a_full_pull() {
    let h = harness().await;
    {
        let mut s = h.script.lock().unwrap();
        s.user_pages = vec![
            vec![puser("00u1", "ann@acme.example", UserStatus::Active)],
            vec![puser("00u2", "bob@acme.example", UserStatus::Active)],
        ];
        s.sync_state = Some("delta-1".into());
    }
    let integration = h.integration(json!({})).await;
    let run = || {
        h.engine
            .sync
            .run(&h.tenant, &integration.id, SyncJob::Users)
    };
    run().await.unwrap();
    h.script.lock().unwrap().sync_state = Some("delta-2".into());
    run().await.unwrap();
    let calls = h.script.lock().unwrap().users_calls.clone();
    assert_eq!(
        calls[0],
        ("full".into(), None),
        "the first pull reads everything"
    );
    assert_eq!(
        calls[2],
        ("state delta-1".into(), None),
        "the next pass starts from the token the last one ended with: {calls:?}"
    );
    // The provider forgets the token: the same run falls back to a full pull and keeps the
    // accounts once each.
    h.script.lock().unwrap().forgotten_state = Some("delta-2".into());
    h.script.lock().unwrap().sync_state = Some("delta-3".into());
    let outcome = run().await.unwrap();
    assert_eq!(outcome, SyncOutcome::Done { records: 2 });
    let calls = h.script.lock().unwrap().users_calls.clone();
    let tail: Vec<&str> = calls[4..].iter().map(|(mode, _)| mode.as_str()).collect();
    assert_eq!(tail, ["state delta-2", "full", "full"], "{calls:?}");
    assert_eq!(h.users().await.len(), 2);
    h.script.lock().unwrap().forgotten_state = None;
    run().await.unwrap();
    let calls = h.script.lock().unwrap().users_calls.clone();
    assert_eq!(
        calls[7].0, "state delta-3",
        "the full pull's token is kept: {calls:?}"
    );
}

#[tokio::test]
async fn a_pushed_change_notice_pulls_the_directory() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    let integration = h.integration(json!({})).await;
    let notice = PushRequest {
        method: "POST".into(),
        headers: vec![("x-changed".into(), "00u1".into())],
        body: b"{}".to_vec(),
        ..PushRequest::default()
    };
    for _ in 0..3 {
        h.engine
            .ingest
            .push(&h.tenant, &integration.id, &notice)
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while h.users().await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no pull followed the notice"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pulls = h.script.lock().unwrap().users_calls.len();
    assert_eq!(pulls, 1, "a burst of notices folds into one pull");
    assert!(h.signins().await.is_empty(), "a notice stores no events");
}

#[tokio::test]
async fn upkeep_sees_the_push_url_with_the_current_token_and_keeps_its_state() {
    let h = harness().await;
    h.integration(json!({})).await; // creates the tenant
    let created = h
        .engine
        .gateway
        .create_integration(NewIntegration {
            kind: "scripted".into(),
            tenant_id: h.tenant.clone(),
            credentials: serde_json::from_value(json!({"api_token": "t"})).unwrap(),
            config: serde_json::from_value(
                json!({"public_base_url": "https://gatehouse.acme.example/"}),
            )
            .unwrap(),
        })
        .await
        .unwrap();
    let id = created.integration.id.clone();
    let token = created.ingest_token.unwrap();
    let run = || h.engine.sync.run(&h.tenant, &id, SyncJob::Maintain);
    run().await.unwrap();
    run().await.unwrap();
    let (_, rotated) = h
        .engine
        .gateway
        .rotate_token(&h.tenant, &id, TokenKind::Ingest)
        .await
        .unwrap();
    run().await.unwrap();
    let calls = h.script.lock().unwrap().maintain_calls.clone();
    let url = |token: &str| {
        Some(format!(
            "https://gatehouse.acme.example/v1/idp/scripted?tenant_id=ten_engine&token={token}"
        ))
    };
    assert_eq!(calls[0], (None, url(token.expose_secret())));
    assert_eq!(
        calls[1],
        (Some("upkeep-1".into()), url(token.expose_secret())),
        "the state the last run left is handed back"
    );
    assert_eq!(
        calls[2],
        (Some("upkeep-2".into()), url(rotated.expose_secret())),
        "a rotated token moves the push URL"
    );
    // The sealed token is not part of what the API shows.
    let stored = h.engine.gateway.integration(&h.tenant, &id).await.unwrap();
    let shown = serde_json::to_string(&stored.config).unwrap();
    assert!(!shown.contains(rotated.expose_secret()));
}

#[tokio::test]
async fn a_tombstone_keeps_what_the_inventory_knew_of_the_account() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    let integration = h.integration(json!({})).await;
    let run = || {
        h.engine
            .sync
            .run(&h.tenant, &integration.id, SyncJob::Users)
    };
    run().await.unwrap();
    let before = h.users().await.remove(0);
    let tombstone = gatehouse_core::records::ProviderUser {
        external_id: "00u1".into(),
        login: "00u1".into(),
        email: None,
        emails: vec![],
        display_name: None,
        status: UserStatus::Deprovisioned,
        status_flags: vec![
            "deleted".into(),
            gatehouse_core::records::TOMBSTONE_FLAG.into(),
        ],
        ..puser("00u1", "", UserStatus::Deprovisioned)
    };
    h.script.lock().unwrap().user_pages = vec![vec![tombstone]];
    run().await.unwrap();
    let after = h.users().await.remove(0);
    assert_eq!(after.id, before.id);
    assert_eq!(after.status, UserStatus::Deprovisioned);
    assert_eq!(after.login, "ann@acme.example", "the login survives");
    assert_eq!(after.email.as_deref(), Some("ann@acme.example"));
    assert_eq!(after.identity_id, before.identity_id);
    assert!(after.status_flags.contains(&"deleted".to_owned()));
}

#[tokio::test]
async fn a_complete_full_pull_marks_the_accounts_it_did_not_bring() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages = vec![vec![
        puser("00u1", "ann@acme.example", UserStatus::Active),
        puser("00u2", "bob@acme.example", UserStatus::Active),
    ]];
    let integration = h.integration(json!({})).await;
    let run = |job| h.engine.sync.run(&h.tenant, &integration.id, job);
    run(SyncJob::FullUsers).await.unwrap();
    // Bob was deleted at the provider: an incremental pull says nothing about the unchanged...
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    run(SyncJob::Users).await.unwrap();
    let h = &h;
    let status = |login: &'static str| async move {
        let users = h.users().await;
        let user = users.iter().find(|u| u.login == login).unwrap();
        (user.status, user.status_flags.clone())
    };
    assert_eq!(status("bob@acme.example").await.0, UserStatus::Active);
    // ...a complete full pull does.
    run(SyncJob::FullUsers).await.unwrap();
    let (bob, flags) = status("bob@acme.example").await;
    assert_eq!(bob, UserStatus::Deprovisioned);
    assert!(flags.contains(&gatehouse_engine::inventory::NOT_IN_FULL_PULL.to_owned()));
    assert_eq!(status("ann@acme.example").await.0, UserStatus::Active);
    // A full pull that fails part-way marks nothing.
    h.script.lock().unwrap().user_pages = vec![
        vec![puser("00u3", "cat@acme.example", UserStatus::Active)],
        vec![],
    ];
    h.script.lock().unwrap().fail_user_page = Some(1);
    assert!(run(SyncJob::FullUsers).await.is_err());
    assert_eq!(status("ann@acme.example").await.0, UserStatus::Active);
}
