//! The versioned schema: embedded migrations applied in order at start-up.
//!
//! `gatehouse_schema` records every applied version. Replicas starting at once serialize on a
//! transaction-scoped advisory lock, so each migration runs once. A database that records a
//! version newer than [`SCHEMA_VERSION`] was migrated by a newer gatehouse: this binary refuses
//! to start on it rather than misread its tables.

use tokio_postgres::Client;

use crate::StoreError;

/// (version, name, SQL) in the order they apply. Append only: a released migration never
/// changes.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "tenancy", include_str!("migrations/0001_tenancy.sql")),
    (
        2,
        "directory",
        include_str!("migrations/0002_directory.sql"),
    ),
    (3, "events", include_str!("migrations/0003_events.sql")),
    (4, "response", include_str!("migrations/0004_response.sql")),
    (5, "scim", include_str!("migrations/0005_scim.sql")),
    (6, "leases", include_str!("migrations/0006_leases.sql")),
    (
        7,
        "signin raw",
        include_str!("migrations/0007_signin_raw.sql"),
    ),
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i32 = 7;

/// Any fixed number: the advisory lock that serializes migrations across replicas.
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573; // "gatehous"

pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let fail = |what: &'static str| {
        move |e: tokio_postgres::Error| StoreError::Backend(format!("schema {what}: {e}"))
    };
    let tx = client.transaction().await.map_err(fail("transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(fail("lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gatehouse_schema (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(fail("table"))?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM gatehouse_schema",
            &[],
        )
        .await
        .map_err(fail("version"))?;
    let current: i32 = row.get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the PostgreSQL schema is at version {current}, newer than this gatehouse knows \
             ({SCHEMA_VERSION}): it was migrated by a newer release; run that release or newer"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        tx.batch_execute(sql).await.map_err(|e| {
            StoreError::Backend(format!("schema migration {version} ({name}) failed: {e}"))
        })?;
        tx.execute(
            "INSERT INTO gatehouse_schema (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(fail("record"))?;
        tracing::info!(version, name, "applied PostgreSQL schema migration");
    }
    tx.commit().await.map_err(fail("commit"))?;
    Ok(())
}
