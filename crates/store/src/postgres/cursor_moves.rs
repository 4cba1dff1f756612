//! A pull's page and its cursor move in one PostgreSQL transaction: the cursor row is locked,
//! checked against the value the page was read at, and moved; if another puller (a replica that
//! took the pull's lease over) moved it first, the transaction is rolled back with the page.

use deadpool_postgres::Transaction;
use gatehouse_core::model::SyncCursor;
use gatehouse_core::TenantId;

use super::{from_doc, pg_error, to_doc, PgStore};
use crate::{CursorMove, StoreError};

/// Moves the cursor inside `tx`, or fails with [`StoreError::CursorMoved`].
pub(super) async fn move_cursor_in(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    cursor: &CursorMove,
) -> Result<(), StoreError> {
    let key: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&tenant.as_str(), &cursor.integration.as_str(), &cursor.name];
    let row = tx
        .query_opt(
            "SELECT doc FROM cursors WHERE tenant_id = $1 AND integration_id = $2 AND name = $3 \
             FOR UPDATE",
            &key,
        )
        .await
        .map_err(pg_error("sync cursor"))?;
    let moved = || StoreError::CursorMoved(cursor.describe());
    let doc = to_doc(&cursor.to)?;
    match row {
        Some(row) => {
            let stored: SyncCursor = from_doc(row.get(0))?;
            if !cursor.starts_at(Some(&stored.value)) {
                return Err(moved());
            }
            tx.execute(
                "UPDATE cursors SET doc = $4 \
                 WHERE tenant_id = $1 AND integration_id = $2 AND name = $3",
                &[key[0], key[1], key[2], &doc],
            )
            .await
            .map_err(pg_error("sync cursor"))?;
        }
        None => {
            if !cursor.starts_at(None) {
                return Err(moved());
            }
            // Two first pages racing: the row lock cannot help before the row exists, the
            // primary key does.
            let inserted = tx
                .execute(
                    "INSERT INTO cursors (tenant_id, integration_id, name, doc) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[key[0], key[1], key[2], &doc],
                )
                .await
                .map_err(pg_error("sync cursor"))?;
            if inserted != 1 {
                return Err(moved());
            }
        }
    }
    Ok(())
}

impl PgStore {
    pub(super) async fn move_cursor_sql(
        &self,
        tenant: &TenantId,
        cursor: &CursorMove,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_error("transaction"))?;
        move_cursor_in(&tx, tenant, cursor).await?;
        tx.commit().await.map_err(pg_error("commit"))
    }
}
