//! Group commit of pushed sign-ins on PostgreSQL: concurrent deliveries share transactions
//! (far fewer transactions than deliveries), every delivery is answered with its own new
//! events once committed, and one delivery PostgreSQL cannot store fails alone.

use std::sync::Arc;

use gatehouse_store::StoreError;

use super::support::{integration, signin, tenant, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_share_transactions_and_a_bad_one_fails_alone() {
    let backend = Backend::postgres();
    let store = backend.open().await;
    let t = tenant("ten_group");
    store.create_tenant(&t).await.unwrap();
    let int = integration(&t.id, 1);
    let client = backend.sql().await;
    let xid = || async {
        let row = client
            .query_one("SELECT txid_current()::bigint", &[])
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    let before = xid().await;
    let deliveries = 300;
    let mut sent = Vec::new();
    for n in 0..deliveries {
        let store = Arc::clone(&store);
        let mut event = signin(&t.id, &int.id, &format!("e{n}"), n);
        if n == 150 {
            // Before PostgreSQL's range of timestamps (4713 BC): this delivery cannot be stored.
            event.time = chrono::DateTime::from_timestamp(-300_000_000_000, 0).unwrap();
        }
        if n == 151 {
            // jsonb and text cannot hold a NUL character: stored as U+FFFD, not refused.
            event.user_agent = Some("bad\u{0}agent".into());
            event.session_id = Some("session\u{0}".into());
        }
        let tenant = t.id.clone();
        sent.push(tokio::spawn(async move {
            store
                .insert_signins(
                    &tenant,
                    &[event.clone(), event],
                    gatehouse_store::Durability::Now,
                )
                .await
        }));
    }
    let mut failed = 0;
    for (n, delivery) in sent.into_iter().enumerate() {
        match delivery.await.unwrap() {
            Ok(fresh) => assert_eq!(fresh, [0], "delivery {n}: its event is new once"),
            Err(StoreError::Backend(_)) if n == 150 => failed += 1,
            Err(other) => panic!("delivery {n}: {other:?}"),
        }
    }
    // Each transaction that wrote took one transaction id (one more: the read of it).
    let used = xid().await - before - 1;
    assert_eq!(failed, 1, "the unstorable delivery failed, alone");
    // Groups, and the halves of the one that failed: a few dozen at most, not one each.
    assert!(
        used < deliveries / 4,
        "{used} transactions for {deliveries} deliveries"
    );
    for n in [0, 149, 151, 299] {
        let id = signin(&t.id, &int.id, &format!("e{n}"), n).id;
        assert!(
            store.get_signin(&t.id, &id).await.unwrap().is_some(),
            "e{n}"
        );
    }
    let with_nul = signin(&t.id, &int.id, "e151", 151).id;
    let stored = store.get_signin(&t.id, &with_nul).await.unwrap().unwrap();
    assert_eq!(stored.user_agent.as_deref(), Some("bad\u{FFFD}agent"));
    let bad = signin(&t.id, &int.id, "e150", 150).id;
    assert!(store.get_signin(&t.id, &bad).await.unwrap().is_none());
}
