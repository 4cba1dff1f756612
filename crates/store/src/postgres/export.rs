//! Enumerations for export (`gatehouse store migrate`) on PostgreSQL: every token, an
//! integration's cursors, a tenant's detection subject index. Each reads in the primary key's
//! order (COLLATE "C": byte order, as the sled backend's keys), a page at a time where a table
//! can be large.

use tokio_postgres::types::ToSql;

use super::*;

/// Separates a detection subject from the detection id in a page cursor (PostgreSQL text holds
/// no NUL, so neither part does).
const CURSOR_SEP: char = '\0';

const SUBJECTS_FIRST: &str = "SELECT s.subject, s.detection_id FROM detection_subjects s \
     JOIN detections d ON d.id = s.detection_id AND d.tenant_id = s.tenant_id \
     WHERE s.tenant_id = $1 AND d.tenant_id = $1 \
     ORDER BY s.subject, s.detection_id LIMIT $2";

const SUBJECTS_AFTER: &str = "SELECT s.subject, s.detection_id FROM detection_subjects s \
     JOIN detections d ON d.id = s.detection_id AND d.tenant_id = s.tenant_id \
     WHERE s.tenant_id = $1 AND d.tenant_id = $1 AND (s.subject, s.detection_id) > ($2, $3) \
     ORDER BY s.subject, s.detection_id LIMIT $4";

impl PgStore {
    pub(super) async fn list_tokens_sql(
        &self,
        page: &PageRequest,
    ) -> Result<Page<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM tokens WHERE $1::text IS NULL OR hash > $1 \
                 ORDER BY hash LIMIT $2",
                &[&page.cursor, &fetch_limit(page)],
            )
            .await
            .map_err(pg_error("tokens"))?;
        let items = rows
            .into_iter()
            .map(|row| from_doc(row.get(0)))
            .collect::<Result<Vec<TokenRecord>, _>>()?;
        Ok(page_of(items, page, |t| t.hash.clone()))
    }

    pub(super) async fn list_cursors_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Vec<(String, SyncCursor)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT name, doc FROM cursors WHERE tenant_id = $1 AND integration_id = $2 \
                 ORDER BY name",
                &[&tenant.as_str(), &integration.as_str()],
            )
            .await
            .map_err(pg_error("sync cursors"))?;
        rows.into_iter()
            .map(|row| Ok((row.get(0), from_doc(row.get(1))?)))
            .collect()
    }

    /// Entries whose detection is gone cannot exist here (the foreign key cascades); the join
    /// also keeps a row of another tenant's detection out, as every read of the index does.
    pub(super) async fn list_detection_subjects_sql(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<(String, DetectionId)>, StoreError> {
        let tenant = tenant.as_str();
        let limit = fetch_limit(page);
        let client = self.client().await?;
        let rows = match page.cursor.as_deref() {
            None => client.query(SUBJECTS_FIRST, &[&tenant, &limit]).await,
            Some(cursor) => {
                let (subject, id) = cursor.rsplit_once(CURSOR_SEP).ok_or_else(|| {
                    StoreError::Backend("not a cursor of detection subjects".into())
                })?;
                let params: [&(dyn ToSql + Sync); 4] = [&tenant, &subject, &id, &limit];
                client.query(SUBJECTS_AFTER, &params).await
            }
        }
        .map_err(pg_error("detection subjects"))?;
        let items = rows
            .into_iter()
            .map(|row| {
                let id: &str = row.get(1);
                let id = DetectionId::parse(id)
                    .ok_or_else(|| StoreError::Corrupt(format!("detection id {id:?}")))?;
                Ok((row.get(0), id))
            })
            .collect::<Result<Vec<(String, DetectionId)>, StoreError>>()?;
        Ok(page_of(items, page, |(subject, id)| {
            format!("{subject}{CURSOR_SEP}{id}")
        }))
    }
}
