//! Leases on every backend: one holder at a time, renewal by the holder, takeover after expiry,
//! release; and, on PostgreSQL, the schema's version check.

use std::time::Duration;

use super::support::{conformance, Backend};

conformance!(a_lease_has_one_holder_until_it_expires_or_is_released);

async fn a_lease_has_one_holder_until_it_expires_or_is_released(backend: Backend) {
    let store = backend.open().await;
    let long = Duration::from_secs(60);
    assert!(store
        .acquire_lease("pull:int_1:directory", "replica-a", long)
        .await
        .unwrap());
    assert!(!store
        .acquire_lease("pull:int_1:directory", "replica-b", long)
        .await
        .unwrap());
    // Another lease is independent; the holder renews its own.
    assert!(store
        .acquire_lease("pull:int_2:directory", "replica-b", long)
        .await
        .unwrap());
    assert!(store
        .acquire_lease("pull:int_1:directory", "replica-a", long)
        .await
        .unwrap());
    // Only the holder can release it.
    store
        .release_lease("pull:int_1:directory", "replica-b")
        .await
        .unwrap();
    assert!(!store
        .acquire_lease("pull:int_1:directory", "replica-b", long)
        .await
        .unwrap());
    store
        .release_lease("pull:int_1:directory", "replica-a")
        .await
        .unwrap();
    assert!(store
        .acquire_lease("pull:int_1:directory", "replica-b", long)
        .await
        .unwrap());
    // A holder that stops renewing loses the lease when it expires.
    let short = Duration::from_millis(200);
    assert!(store
        .acquire_lease("pull:int_3:signins", "replica-a", short)
        .await
        .unwrap());
    assert!(!store
        .acquire_lease("pull:int_3:signins", "replica-b", long)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store
        .acquire_lease("pull:int_3:signins", "replica-b", long)
        .await
        .unwrap());
    assert!(!store
        .acquire_lease("pull:int_3:signins", "replica-a", long)
        .await
        .unwrap());
}

conformance!(racing_holders_get_one_lease);

async fn racing_holders_get_one_lease(backend: Backend) {
    let store = backend.open().await;
    let mut racers = Vec::new();
    for n in 0..16 {
        let store = std::sync::Arc::clone(&store);
        racers.push(tokio::spawn(async move {
            store
                .acquire_lease(
                    "pull:int_9:users",
                    &format!("replica-{n}"),
                    Duration::from_secs(60),
                )
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn postgres_refuses_a_schema_newer_than_the_binary() {
    let backend = Backend::postgres();
    drop(backend.open().await);
    let client = backend.sql().await;
    client
        .execute(
            "INSERT INTO gatehouse_schema (version, name) VALUES ($1, 'from the future')",
            &[&(gatehouse_store::SCHEMA_VERSION + 1)],
        )
        .await
        .unwrap();
    let refused =
        gatehouse_store::PgStore::connect(&gatehouse_store::PgOptions::new(backend.pg_url()))
            .await
            .unwrap_err();
    assert!(
        refused.to_string().contains("newer than this gatehouse"),
        "{refused}"
    );
}
