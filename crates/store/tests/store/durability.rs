//! Durability: records survive dropping and reopening the store, and hundreds of concurrent
//! writers all commit (through group commit, on sled) and survive a reopen.

use gatehouse_store::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Duration;
use gatehouse_core::model::{SyncCursor, SyncStatus, TokenKind};
use gatehouse_store::{PageRequest, SignInFilter, SignInSubject, SledStore};

use super::support::{conformance, integration, signin, t0, tenant, token, user, Backend};

conformance!(
    signins_cursors_and_sync_status_survive_reopen,
    hundreds_of_concurrent_writers_all_commit_and_survive_reopen,
    records_survive_drop_and_reopen,
);

async fn records_survive_drop_and_reopen(backend: Backend) {
    let a = tenant("ten_persist");
    let int_a = integration(&a.id, 7);
    {
        let store = backend.open().await;
        store.create_tenant(&a).await.unwrap();
        store
            .create_integration(
                &int_a,
                &[token("h-in", TokenKind::Ingest, &a.id, Some(&int_a.id))],
            )
            .await
            .unwrap();
        store
            .upsert_users(&a.id, &[user(&a.id, &int_a.id, 1, "Bob@Example.com")])
            .await
            .unwrap();
    }
    let store = backend.open().await;
    assert_eq!(store.get_tenant(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.get_integration(&a.id, &int_a.id).await.unwrap(),
        Some(int_a.clone())
    );
    assert_eq!(
        store.find_token("h-in").await.unwrap().unwrap().kind,
        TokenKind::Ingest
    );
    let by_email = store
        .find_users_by_email(&a.id, "bob@example.COM")
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    let by_ext = store
        .find_user_by_external_id(&a.id, &int_a.id, "00u1")
        .await
        .unwrap();
    assert_eq!(by_ext.map(|u| u.login), Some("Bob@Example.com".to_owned()));
}

/// Sign-ins (synced or written unsynced and then synced), their index, a pull cursor and a
/// sync status are all there after a restart.
async fn signins_cursors_and_sync_status_survive_reopen(backend: Backend) {
    let a = tenant("ten_reopen");
    let int_a = integration(&a.id, 3);
    let first = signin(&a.id, &int_a.id, "e1", 0);
    let second = signin(&a.id, &int_a.id, "e2", 1);
    let cursor = SyncCursor {
        value: "https://idp.example.com/logs?after=42".into(),
        updated_at: t0(),
    };
    let status = SyncStatus {
        last_run_at: Some(t0()),
        last_success_at: Some(t0()),
        ..Default::default()
    };
    {
        let store = backend.open().await;
        assert_eq!(
            store
                .insert_signins(
                    &a.id,
                    std::slice::from_ref(&first),
                    gatehouse_store::Durability::Now
                )
                .await
                .unwrap(),
            vec![0]
        );
        assert_eq!(
            store
                .insert_signins(
                    &a.id,
                    std::slice::from_ref(&second),
                    gatehouse_store::Durability::Deferred,
                )
                .await
                .unwrap(),
            vec![0]
        );
        store.commit_deferred().await.unwrap();
        store
            .put_cursor(&a.id, &int_a.id, "signins", &cursor)
            .await
            .unwrap();
        store
            .put_sync_status(&a.id, &int_a.id, &status)
            .await
            .unwrap();
        store.close().await.unwrap();
    }
    let store = backend.open().await;
    assert_eq!(
        store.get_signin(&a.id, &first.id).await.unwrap(),
        Some(first)
    );
    let about = store
        .signins_about(
            &a.id,
            SignInSubject::Login("a@example.com"),
            t0(),
            t0() + Duration::hours(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(about.len(), 2);
    assert_eq!(about[1], second);
    assert_eq!(
        store.get_cursor(&a.id, &int_a.id, "signins").await.unwrap(),
        Some(cursor)
    );
    assert_eq!(
        store.get_sync_status(&a.id, &int_a.id).await.unwrap(),
        Some(status)
    );
}

const WRITERS: u32 = 400;

/// `WRITERS` tasks each insert one sign-in at once; all of them land, once each.
async fn write_concurrently(store: Arc<dyn Store>, a: &gatehouse_core::TenantId) {
    let int_a = integration(a, 1);
    let mut tasks = Vec::new();
    for n in 0..WRITERS {
        let store = Arc::clone(&store);
        let (tenant, integration) = (a.clone(), int_a.id.clone());
        tasks.push(tokio::spawn(async move {
            let event = signin(&tenant, &integration, &format!("evt-{n}"), i64::from(n));
            store
                .insert_signins(&tenant, &[event], gatehouse_store::Durability::Now)
                .await
                .map(|fresh| fresh.len())
        }));
    }
    let results = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        futures::future::join_all(tasks),
    )
    .await
    .expect("concurrent writers must not deadlock");
    for r in results {
        assert_eq!(r.unwrap().unwrap(), 1);
    }
}

async fn hundreds_of_concurrent_writers_all_commit_and_survive_reopen(backend: Backend) {
    let a = tenant("ten_load");
    {
        let store = backend.open().await;
        store.create_tenant(&a).await.unwrap();
        write_concurrently(Arc::clone(&store), &a.id).await;
        store.close().await.unwrap();
    }
    let store = backend.open().await;
    let mut seen = 0;
    let mut page = PageRequest::first(150);
    loop {
        let got = store
            .list_signins(&a.id, &SignInFilter::default(), &page)
            .await
            .unwrap();
        seen += got.items.len();
        match got.next_cursor {
            Some(c) => page = PageRequest::new(150, Some(c)),
            None => break,
        }
    }
    assert_eq!(seen, WRITERS as usize);
}

/// Group commit (sled's): the concurrent writers are released in far fewer flushes than there
/// were writers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_releases_concurrent_writers_in_few_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let a = tenant("ten_load");
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    store.create_tenant(&a).await.unwrap();
    write_concurrently(Arc::clone(&store) as Arc<dyn Store>, &a.id).await;
    let stats = store.commit_stats();
    let rounds = stats.rounds.load(Ordering::Relaxed);
    assert_eq!(
        stats.writers.load(Ordering::Relaxed),
        u64::from(WRITERS) + 1
    );
    assert!(
        rounds < u64::from(WRITERS),
        "{rounds} rounds for {WRITERS} writers"
    );
}
