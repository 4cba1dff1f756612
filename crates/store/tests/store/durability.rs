//! Durability: records survive dropping and reopening the store, and hundreds of concurrent
//! writers all commit through group commit and survive a reopen.

use gatehouse_store::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use gatehouse_core::model::TokenKind;
use gatehouse_store::{PageRequest, SignInFilter, SledStore};

use super::support::{integration, signin, tenant, token, user};

#[tokio::test]
async fn records_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = tenant("ten_persist");
    let int_a = integration(&a.id, 7);
    {
        let store = SledStore::open(dir.path()).unwrap();
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
    let store = SledStore::open(dir.path()).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_concurrent_writers_all_commit_and_survive_reopen() {
    const WRITERS: u32 = 400;
    let dir = tempfile::tempdir().unwrap();
    let a = tenant("ten_load");
    let int_a = integration(&a.id, 1);
    let rounds;
    {
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        store.create_tenant(&a).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..WRITERS {
            let store = Arc::clone(&store);
            let (tenant, integration) = (a.id.clone(), int_a.id.clone());
            tasks.push(tokio::spawn(async move {
                let event = signin(&tenant, &integration, &format!("evt-{n}"), i64::from(n));
                store
                    .insert_signins(&tenant, &[event])
                    .await
                    .map(|fresh| fresh.len())
            }));
        }
        let results = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            futures::future::join_all(tasks),
        )
        .await
        .expect("group commit must not deadlock");
        for r in results {
            assert_eq!(r.unwrap().unwrap(), 1);
        }
        let stats = store.commit_stats();
        rounds = stats.rounds.load(Ordering::Relaxed);
        assert_eq!(
            stats.writers.load(Ordering::Relaxed),
            u64::from(WRITERS) + 1
        );
        store.close().await.unwrap();
    }
    // Writers were released in far fewer flushes than there were writers.
    assert!(
        rounds < u64::from(WRITERS),
        "{rounds} rounds for {WRITERS} writers"
    );
    let store = SledStore::open(dir.path()).unwrap();
    let mut seen = 0;
    let mut page = PageRequest::first(1000);
    loop {
        let got = store
            .list_signins(&a.id, &SignInFilter::default(), &page)
            .await
            .unwrap();
        seen += got.items.len();
        match got.next_cursor {
            Some(c) => page = PageRequest::new(1000, Some(c)),
            None => break,
        }
    }
    assert_eq!(seen, WRITERS as usize);
}
