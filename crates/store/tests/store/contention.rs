//! PostgreSQL giving a store call's transaction up to a concurrent one (a deadlock): the store
//! runs the call again, and it goes through.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::model::User;

use crate::support::{integration, tenant, user, Backend};

/// Two transactions lock the same two accounts in opposite orders. The other session waits far
/// longer before it looks for deadlocks, so PostgreSQL aborts the store's transaction; the
/// store's call must come back with both accounts changed, not with an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_postgresql_aborted_for_a_deadlock_runs_again() {
    let backend = Backend::postgres();
    let store = backend.open().await;
    let t = tenant("ten_deadlock");
    store.create_tenant(&t).await.unwrap();
    let int = integration(&t.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    let (first, second) = (
        user(&t.id, &int.id, 1, "a@x.example"),
        user(&t.id, &int.id, 2, "b@x.example"),
    );
    store
        .upsert_users(&t.id, &[first.clone(), second.clone()])
        .await
        .unwrap();

    let other = backend.sql().await;
    let other = Arc::new(other);
    other
        .batch_execute("SET deadlock_timeout = '60s'; BEGIN")
        .await
        .unwrap();
    let lock = "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE";
    other
        .execute(lock, &[&t.id.as_str(), &second.id.as_str()])
        .await
        .unwrap();

    // The store locks its accounts in id order: the first, then it waits for the second.
    let updating = {
        let (store, tenant) = (Arc::clone(&store), t.id.clone());
        let ids = vec![first.id.clone(), second.id.clone()];
        tokio::spawn(async move {
            let change = |u: &mut User| {
                u.department = Some("Contended".into());
                true
            };
            store.update_users(&tenant, &ids, &change).await
        })
    };
    let waiting = "SELECT count(*) FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()";
    let watcher = backend.sql().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let count: i64 = watcher.query_one(waiting, &[]).await.unwrap().get(0);
        if count >= 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Close the cycle: the other session now wants the first account, which the store holds.
    // PostgreSQL aborts the store's transaction (its deadlock check comes first), so this
    // lock is granted.
    let granted = tokio::time::timeout(
        Duration::from_secs(30),
        other.execute(lock, &[&t.id.as_str(), &first.id.as_str()]),
    )
    .await
    .expect("the deadlock was broken on the store's side");
    granted.unwrap();
    other.batch_execute("COMMIT").await.unwrap();

    let changed = tokio::time::timeout(Duration::from_secs(30), updating)
        .await
        .expect("the store's call came back")
        .unwrap()
        .unwrap();
    assert_eq!(changed, 2);
    for id in [&first.id, &second.id] {
        let stored = store.get_user(&t.id, id).await.unwrap().unwrap();
        assert_eq!(stored.department.as_deref(), Some("Contended"));
    }
}
