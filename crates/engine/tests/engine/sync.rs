//! Pulls from the scripted provider: directory pages with failure, resume and incremental
//! cursors, identity correlation across integrations, deletion during a pull, group
//! memberships, and sign-in cursors with dedupe.

use std::collections::VecDeque;
use std::sync::Arc;

use gatehouse_core::model::{Outcome, UserStatus};
use gatehouse_core::records::{DesiredAccount, ProviderGroup};
use gatehouse_engine::sync::{SyncJob, SyncOutcome};
use gatehouse_engine::EngineError;
use gatehouse_store::{PageRequest, SignInFilter};
use serde_json::json;

use super::support::{event, harness, puser};

#[tokio::test]
async fn directory_pull_pages_resumes_after_failure_and_goes_incremental() {
    let h = harness().await;
    {
        let mut s = h.script.lock().unwrap();
        s.user_pages = vec![
            vec![
                puser("00u1", "ann@acme.example", UserStatus::Active),
                puser("00u2", "bob@acme.example", UserStatus::Suspended),
            ],
            vec![puser("00u3", "cat@acme.example", UserStatus::Deprovisioned)],
            vec![puser("00u4", "dan@acme.example", UserStatus::Staged)],
        ];
        s.fail_user_page = Some(2);
    }
    let integration = h.integration(json!({})).await;
    let err = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await;
    assert!(err.is_err(), "the scripted outage fails the pull");
    assert_eq!(
        h.users().await.len(),
        3,
        "the pages before the failure are stored"
    );
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert!(status
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("users pull failed"));
    assert!(status.last_success_at.is_none());
    // Another job succeeding does not hide the failed one.
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Groups)
        .await
        .unwrap();
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("users pull failed"),
        "{status:?}"
    );
    assert!(
        status.jobs["users"].last_error.is_some() && status.jobs["groups"].last_error.is_none()
    );

    // The resumed run starts later; the next incremental pull must still start from when the
    // interrupted run began, since the pages stored before the failure are not read again.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let resumed_at = gatehouse_core::Clock::now(&gatehouse_core::SystemClock);
    let done = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    assert_eq!(
        done,
        SyncOutcome::Done { records: 1 },
        "it resumed at the failed page"
    );
    let calls = h.script.lock().unwrap().users_calls.clone();
    assert_eq!(calls.last().unwrap().1.as_deref(), Some("page-2"));
    assert!(
        calls.iter().all(|(mode, _)| mode == "full"),
        "the first pull is a full one: {calls:?}"
    );
    let users = h.users().await;
    assert_eq!(users.len(), 4);
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert!(status.last_error.is_none() && status.last_success_at.is_some());

    // The next run is incremental, from the start of the last successful pull.
    let ids_before: Vec<_> = users
        .iter()
        .map(|u| (u.external_id.clone(), u.id.clone()))
        .collect();
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    let calls = h.script.lock().unwrap().users_calls.clone();
    let since = calls
        .last()
        .and_then(|(mode, _)| mode.strip_prefix("since "))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("an incremental pull: {calls:?}"));
    assert!(
        since < resumed_at - chrono::Duration::minutes(2),
        "since {since} comes from the interrupted run's start, not the resumed run's ({resumed_at})"
    );
    // Re-pulled accounts keep their Gatehouse ids.
    for (external, id) in ids_before {
        let again = h
            .store
            .find_user_by_external_id(&h.tenant, &integration.id, &external)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, id);
    }
    // A full pull ignores the incremental cursor.
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::FullUsers)
        .await
        .unwrap();
    assert_eq!(
        h.script.lock().unwrap().users_calls.last().unwrap().0,
        "full"
    );
}

#[tokio::test]
async fn identities_join_accounts_by_email_across_integrations() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "Ann@Acme.example", UserStatus::Active)]];
    let first = h.integration(json!({})).await;
    let second = h.integration(json!({})).await;
    h.engine
        .sync
        .run(&h.tenant, &first.id, SyncJob::Users)
        .await
        .unwrap();
    h.script.lock().unwrap().user_pages = vec![vec![puser(
        "xyz",
        "ann@acme.example",
        UserStatus::Suspended,
    )]];
    h.engine
        .sync
        .run(&h.tenant, &second.id, SyncJob::Users)
        .await
        .unwrap();
    let users = h.users().await;
    assert_eq!(users.len(), 2);
    let identity = users[0].identity_id.clone().unwrap();
    assert_eq!(users[1].identity_id.as_ref(), Some(&identity));
    let person = h
        .store
        .get_identity(&h.tenant, &identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.accounts.len(), 2);
    assert_eq!(person.emails, vec!["ann@acme.example".to_owned()]);

    // Deleting an integration takes its accounts out of the inventory and out of the person.
    h.engine
        .gateway
        .delete_integration(&h.tenant, &second.id)
        .await
        .unwrap();
    let users = h.users().await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].integration_id, first.id);
    let person = h
        .store
        .get_identity(&h.tenant, &identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.accounts, vec![users[0].id.clone()]);
}

#[tokio::test]
async fn a_pull_stops_when_its_integration_is_deleted_under_it() {
    let h = harness().await;
    let (arrived, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    {
        let mut script = h.script.lock().unwrap();
        script.user_pages = vec![
            vec![puser("00u1", "ann@acme.example", UserStatus::Active)],
            vec![puser("00u2", "bob@acme.example", UserStatus::Active)],
        ];
        script.hold_user_page = Some((1, Arc::clone(&arrived), Arc::clone(&release)));
    }
    let integration = h.integration(json!({})).await;
    let pull = {
        let engine = Arc::clone(&h.engine);
        let (tenant, id) = (h.tenant.clone(), integration.id.clone());
        tokio::spawn(async move { engine.sync.run(&tenant, &id, SyncJob::Users).await })
    };
    arrived.notified().await;
    // The first page is written while the second is fetched (a pipeline): wait for it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.users().await.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(h.users().await.len(), 1, "the first page is stored");
    h.engine
        .gateway
        .delete_integration(&h.tenant, &integration.id)
        .await
        .unwrap();
    release.notify_one();
    let outcome = pull.await.unwrap();
    assert!(
        matches!(outcome, Err(EngineError::NotFound(_))),
        "{outcome:?}"
    );
    assert!(h.users().await.is_empty(), "no account came back");
    assert!(h
        .store
        .get_sync_status(&h.tenant, &integration.id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn admin_standing_a_pull_could_not_read_is_kept() {
    let h = harness().await;
    let integration = h.integration(json!({})).await;
    for (reported, expected) in [
        (Some(true), true),
        (None, true),
        (Some(false), false),
        (None, false),
    ] {
        let mut user = puser("00u1", "ann@acme.example", UserStatus::Active);
        user.is_admin = reported;
        h.script.lock().unwrap().user_pages = vec![vec![user]];
        h.engine
            .sync
            .run(&h.tenant, &integration.id, SyncJob::FullUsers)
            .await
            .unwrap();
        let users = h.users().await;
        assert_eq!(
            users[0].is_admin, expected,
            "after a pull reporting {reported:?}"
        );
    }
}

#[tokio::test]
async fn directory_pulls_due_together_run_one_after_the_other() {
    let h = harness().await;
    let (arrived, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    {
        let mut script = h.script.lock().unwrap();
        script.user_pages = vec![
            vec![puser("00u1", "ann@acme.example", UserStatus::Active)],
            vec![puser("00u2", "bob@acme.example", UserStatus::Active)],
        ];
        script.hold_user_page = Some((1, Arc::clone(&arrived), Arc::clone(&release)));
    }
    let integration = h.integration(json!({})).await;
    let start = |job| {
        let engine = Arc::clone(&h.engine);
        let (tenant, id) = (h.tenant.clone(), integration.id.clone());
        tokio::spawn(async move { engine.sync.run(&tenant, &id, job).await })
    };
    let full = start(SyncJob::FullUsers);
    arrived.notified().await;
    // The incremental pull is due while the full one is between its pages: were they to run
    // side by side, they would overwrite each other's page cursor.
    let incremental = start(SyncJob::Users);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // A groups pull writes memberships a users pull beside it would write back as it read them.
    let groups = start(SyncJob::Groups);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    release.notify_one();
    for pull in [full, incremental, groups] {
        let outcome = pull.await.unwrap().unwrap();
        assert!(matches!(outcome, SyncOutcome::Done { .. }), "{outcome:?}");
    }
    assert_eq!(
        h.script.lock().unwrap().directory_calls,
        [
            r#"users None"#,
            r#"users Some("page-1")"#,
            r#"users None"#,
            r#"users Some("page-1")"#,
            "groups"
        ],
        "each pull started after the one before it had finished"
    );
}

#[tokio::test]
async fn an_incremental_pull_does_not_replace_the_directory_count() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages = vec![vec![
        puser("00u1", "ann@acme.example", UserStatus::Active),
        puser("00u2", "bob@acme.example", UserStatus::Active),
    ]];
    let integration = h.integration(json!({})).await;
    for job in [SyncJob::FullUsers, SyncJob::Users] {
        h.engine
            .sync
            .run(&h.tenant, &integration.id, job)
            .await
            .unwrap();
        // The next (incremental) pull sees one changed account.
        h.script.lock().unwrap().user_pages = vec![vec![puser(
            "00u1",
            "ann@acme.example",
            UserStatus::Suspended,
        )]];
    }
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert_eq!(status.counts.users, 2, "{status:?}");
    assert_eq!(status.jobs["users"].records, 1, "{status:?}");
}

#[tokio::test]
async fn groups_set_memberships_on_accounts() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages = vec![vec![
        puser("00u1", "ann@acme.example", UserStatus::Active),
        puser("00u2", "bob@acme.example", UserStatus::Active),
    ]];
    let integration = h.integration(json!({})).await;
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    let group = |members: &[&str]| ProviderGroup {
        external_id: "00g1".into(),
        name: "Admins".into(),
        description: None,
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        updated_at: None,
        raw: None,
    };
    h.script.lock().unwrap().groups = vec![group(&["00u1", "00u2"])];
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Groups)
        .await
        .unwrap();
    let groups_of = |users: &[gatehouse_core::model::User], ext: &str| {
        users
            .iter()
            .find(|u| u.external_id == ext)
            .unwrap()
            .groups
            .clone()
    };
    let users = h.users().await;
    assert_eq!(groups_of(&users, "00u1"), vec!["00g1".to_owned()]);
    assert_eq!(groups_of(&users, "00u2"), vec!["00g1".to_owned()]);
    h.script.lock().unwrap().groups = vec![group(&["00u1"])];
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Groups)
        .await
        .unwrap();
    let users = h.users().await;
    assert_eq!(groups_of(&users, "00u1"), vec!["00g1".to_owned()]);
    assert!(
        groups_of(&users, "00u2").is_empty(),
        "removed members lose the group"
    );
    let stored = h
        .store
        .list_groups(&h.tenant, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(stored.len(), 1, "the group keeps its id across pulls");
}

#[tokio::test]
async fn signin_pull_follows_the_cursor_and_dedupes() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    let integration = h.integration(json!({})).await;
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    h.script.lock().unwrap().event_pages = VecDeque::from(vec![
        vec![
            event("e1", "00u1", Outcome::Failure, 1),
            event("e2", "00u1", Outcome::Success, 2),
        ],
        vec![
            event("e2", "00u1", Outcome::Success, 2),
            event("e3", "unknown", Outcome::Failure, 3),
        ],
    ]);
    let done = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();
    assert_eq!(
        done,
        SyncOutcome::Done { records: 3 },
        "e2 twice is stored once"
    );
    let cursors = h.script.lock().unwrap().signin_cursors.clone();
    assert_eq!(
        cursors,
        vec![None, Some("log-1".to_owned()), Some("log-2".to_owned())]
    );
    let signins = h
        .store
        .list_signins(&h.tenant, &SignInFilter::default(), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(signins.len(), 3);
    assert!(
        signins
            .iter()
            .all(|s| s.signal.step == Some(gatehouse_core::model::AuthStep::FirstFactor)),
        "a stored sign-in keeps the signal its connector gave it"
    );
    let ann = h.users().await.remove(0);
    assert_eq!(
        signins
            .iter()
            .filter(|s| s.user_id.as_ref() == Some(&ann.id))
            .count(),
        2
    );
    // The next run starts from the persisted cursor.
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();
    assert_eq!(
        h.script
            .lock()
            .unwrap()
            .signin_cursors
            .last()
            .unwrap()
            .as_deref(),
        Some("log-2")
    );
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert_eq!(status.counts.signins, 3);
}

/// Provisioning hands the connector each person's group names (from the inventory's groups of
/// the source integration; an account deprovisioned at its IdP counts for none) where the
/// connector provisions memberships, and no groups at all where it does not.
#[tokio::test]
async fn provisioning_carries_group_names_where_the_connector_provisions_groups() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages = vec![vec![
        puser("00u1", "ann@acme.example", UserStatus::Active),
        puser("00u2", "bob@acme.example", UserStatus::Active),
        puser("00u3", "cat@acme.example", UserStatus::Deprovisioned),
    ]];
    let source = h.integration(json!({})).await;
    for job in [SyncJob::Users, SyncJob::Groups] {
        if job == SyncJob::Groups {
            let group = |id: &str, name: &str, members: &[&str]| ProviderGroup {
                external_id: id.into(),
                name: name.into(),
                description: None,
                members: members.iter().map(|m| (*m).to_owned()).collect(),
                updated_at: None,
                raw: None,
            };
            h.script.lock().unwrap().groups = vec![
                group("00g1", "Admins", &["00u1", "00u3"]),
                group("00g2", "Everyone", &["00u1", "00u2", "00u3"]),
            ];
        }
        h.engine.sync.run(&h.tenant, &source.id, job).await.unwrap();
    }
    let app = h.integration(json!({"provision": true})).await;
    let groups_by_user = |provisioned: &[DesiredAccount]| {
        let mut seen: Vec<(String, Option<Vec<String>>)> = provisioned
            .iter()
            .map(|d| (d.user_name.clone(), d.groups.clone()))
            .collect();
        seen.sort();
        seen
    };
    h.script.lock().unwrap().provision_groups = true;
    h.engine
        .sync
        .run(&h.tenant, &app.id, SyncJob::Provision)
        .await
        .unwrap();
    let provisioned = std::mem::take(&mut h.script.lock().unwrap().provisioned);
    let names = |n: &[&str]| Some(n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    assert_eq!(
        groups_by_user(&provisioned),
        [
            (
                "ann@acme.example".to_owned(),
                names(&["Admins", "Everyone"])
            ),
            ("bob@acme.example".to_owned(), names(&["Everyone"])),
            ("cat@acme.example".to_owned(), names(&[])),
        ]
    );
    h.script.lock().unwrap().provision_groups = false;
    h.engine
        .sync
        .run(&h.tenant, &app.id, SyncJob::Provision)
        .await
        .unwrap();
    let provisioned = std::mem::take(&mut h.script.lock().unwrap().provisioned);
    assert_eq!(provisioned.len(), 3);
    assert!(provisioned.iter().all(|d| d.groups.is_none()));
}

/// Replicas sharing a store: a scheduled pull whose lease another replica holds waits; when that
/// replica stops renewing (it died), this one takes the lease over and pulls, from the cursor.
#[tokio::test]
async fn a_scheduled_pull_is_taken_over_when_the_lease_holder_dies() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    let integration = h.integration(json!({})).await;
    let lease = format!("pull:{}:{}:directory", h.tenant, integration.id);
    // Another replica holds the lease; it dies 2 s from now (it renews no more).
    assert!(h
        .store
        .acquire_lease(
            &lease,
            "replica-that-dies",
            std::time::Duration::from_secs(2)
        )
        .await
        .unwrap());
    let manual = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    assert_eq!(manual, SyncOutcome::RunningElsewhere);
    assert!(h.script.lock().unwrap().users_calls.is_empty());
    let due = h.engine.gateway.clock().now();
    let started = std::time::Instant::now();
    let scheduled = h
        .engine
        .sync
        .run_due(&h.tenant, &integration.id, SyncJob::Users, due)
        .await
        .unwrap();
    assert_eq!(scheduled, SyncOutcome::Done { records: 1 });
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "not before the dead replica's lease ran out"
    );
    assert_eq!(h.users().await.len(), 1);
}

/// A scheduled pull whose lease another replica holds is not run again once that replica's
/// run of the same tick has succeeded.
#[tokio::test]
async fn a_scheduled_pull_done_by_another_replica_is_not_repeated() {
    let h = harness().await;
    let integration = h.integration(json!({})).await;
    let lease = format!("pull:{}:{}:directory", h.tenant, integration.id);
    let due = h.engine.gateway.clock().now();
    assert!(h
        .store
        .acquire_lease(&lease, "other-replica", std::time::Duration::from_secs(60))
        .await
        .unwrap());
    // The other replica's run of this tick, recorded as it records its own.
    let mut status = h
        .store
        .get_sync_status(&h.tenant, &integration.id)
        .await
        .unwrap()
        .unwrap_or_default();
    let job = status.jobs.entry("users".into()).or_default();
    job.last_run_at = Some(due);
    job.last_success_at = Some(due + chrono::Duration::seconds(1));
    h.store
        .put_sync_status(&h.tenant, &integration.id, &status)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        h.engine
            .sync
            .run_due(&h.tenant, &integration.id, SyncJob::Users, due),
    )
    .await
    .expect("it does not wait for the lease")
    .unwrap();
    assert_eq!(outcome, SyncOutcome::RunningElsewhere);
    assert!(h.script.lock().unwrap().users_calls.is_empty());
}

/// A pull correlates a page while the page before it is still being written: the page must
/// see what that page brings before the store does. Here the page before is not written at all
/// until both are correlated, the worst case of the race. The provider repeats an account
/// across the boundary, gives a second account to a known address, moves an account to a new
/// address, and hands a new account the address that one left.
#[tokio::test]
async fn a_page_correlated_before_the_page_before_is_written_sees_that_page() {
    use gatehouse_core::model::SyncCursor;
    use gatehouse_engine::unwritten::Unwritten;
    use gatehouse_store::{CursorMove, IdentityFilter};

    let h = harness().await;
    let integration = h.integration(json!({})).await;
    let inventory = h.engine.sync.inventory();
    let active = UserStatus::Active;
    let first = inventory
        .prepare_users_page(
            &integration,
            vec![
                puser("u1", "ann@x.example", active),
                puser("u2", "bob@x.example", active),
                puser("u3", "carol@x.example", active),
            ],
            None,
        )
        .await
        .unwrap();
    let first = Arc::new(first);
    let second = inventory
        .prepare_users_page(
            &integration,
            vec![
                puser("u1", "ann@x.example", active),
                puser("u4", "Bob@X.example", active),
                puser("u3", "dave@x.example", active),
            ],
            Some(&Unwritten::new(Arc::clone(&first))),
        )
        .await
        .unwrap();
    // Only ids drawn for an account or a person met for the first time are marked drawn
    // (the store then skips reading what they replace); the unwritten page's are not.
    assert_eq!(first.drawn.users.len(), 3);
    assert_eq!(first.drawn.identities.len(), 3);
    let drawn_accounts: Vec<&str> = second
        .users
        .iter()
        .filter(|u| second.drawn.users.contains(&u.id))
        .map(|u| u.external_id.as_str())
        .collect();
    assert_eq!(drawn_accounts, ["u4"]);
    let drawn_people: Vec<&[String]> = second
        .identities
        .iter()
        .filter(|p| second.drawn.identities.contains(&p.id))
        .map(|p| p.emails.as_slice())
        .collect();
    assert_eq!(drawn_people, [["dave@x.example".to_owned()]]);
    let moving = |from: Option<&str>, to: &str| CursorMove {
        integration: integration.id.clone(),
        name: "users_page".to_owned(),
        from: from.map(str::to_owned),
        to: SyncCursor {
            value: to.to_owned(),
            updated_at: super::support::t(0),
        },
    };
    inventory
        .write_users_page(&h.tenant, &first, &moving(None, "page-1"))
        .await
        .unwrap();
    inventory
        .write_users_page(&h.tenant, &second, &moving(Some("page-1"), "page-2"))
        .await
        .unwrap();
    // The same correlation with the page before written, for the address carol left.
    let third = inventory
        .prepare_users_page(
            &integration,
            vec![puser("u5", "carol@x.example", active)],
            None,
        )
        .await
        .unwrap();
    inventory
        .write_users_page(&h.tenant, &third, &moving(Some("page-2"), ""))
        .await
        .unwrap();

    let users = h.users().await;
    let mut externals: Vec<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
    externals.sort_unstable();
    assert_eq!(
        externals,
        ["u1", "u2", "u3", "u4", "u5"],
        "one account per provider id"
    );
    let people = h
        .store
        .list_identities(
            &h.tenant,
            &IdentityFilter::default(),
            &PageRequest::first(100),
        )
        .await
        .unwrap()
        .items;
    let account = |external: &str| {
        users
            .iter()
            .find(|u| u.external_id == external)
            .map(|u| u.id.clone())
            .unwrap()
    };
    let holding = |email: &str| -> Vec<_> {
        let mut accounts = people
            .iter()
            .filter(|p| p.emails.iter().any(|e| e == email))
            .flat_map(|p| p.accounts.clone())
            .collect::<Vec<_>>();
        accounts.sort();
        accounts
    };
    assert_eq!(people.len(), 4, "one identity per address: {people:?}");
    assert_eq!(holding("ann@x.example"), vec![account("u1")]);
    let mut bob = vec![account("u2"), account("u4")];
    bob.sort();
    assert_eq!(holding("bob@x.example"), bob);
    assert_eq!(holding("dave@x.example"), vec![account("u3")]);
    assert_eq!(holding("carol@x.example"), vec![account("u5")]);
}
