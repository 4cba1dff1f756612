//! Leases on PostgreSQL, shared by every replica. Expiry is judged by the database's clock, so
//! replicas whose clocks disagree still agree on who holds a lease.

use std::time::Duration;

use async_trait::async_trait;

use super::{pg_error, PgStore};
use crate::{LeaseStore, StoreError};

#[async_trait]
impl LeaseStore for PgStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        // One statement: taken when free, expired or already ours; the row lock of the upsert
        // makes two replicas racing for one lease see one winner.
        let row = client
            .query_opt(
                "INSERT INTO leases (name, holder, expires_at)
                 VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
                 ON CONFLICT (name) DO UPDATE
                     SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= now()
                 RETURNING holder",
                &[&name, &holder, &millis],
            )
            .await
            .map_err(pg_error("lease"))?;
        Ok(row.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await
            .map_err(pg_error("lease"))?;
        Ok(())
    }
}
