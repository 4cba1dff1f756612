//! Detections, actions and response policies, on PostgreSQL.
//!
//! Ids are globally unique (the operator key locates them), so a record is keyed by `id` and a
//! write that would move an id to another tenant is refused as a conflict rather than applied.
//! Lists read in id order and page like the sled backend: a full page carries the last id as
//! its cursor when any record of the tenant follows it, whether or not it passes the filter.

use tokio_postgres::types::ToSql;

use super::*;

/// A filtered list's narrowing of one table: SQL conditions from `$4` on (the same tests as the
/// filter, or looser) and their parameters. `$1` is the tenant, `$2` the id to read after, `$3`
/// how many rows to read at once.
struct Narrowing<'a> {
    table: &'static str,
    conditions: &'static str,
    params: &'a [&'a (dyn ToSql + Sync)],
}

/// A filter value as it appears in a record's JSON, to compare with `doc->'field'`; `None`
/// when the filter does not test that field.
fn json_of<T: serde::Serialize>(
    value: Option<&T>,
) -> Result<Option<serde_json::Value>, StoreError> {
    value.map(to_doc).transpose()
}

/// The action that holds an idempotency key, read on `client`.
async fn action_by_key(
    client: &impl deadpool_postgres::GenericClient,
    tenant: &TenantId,
    idempotency_key: &str,
) -> Result<Option<Action>, StoreError> {
    let row = client
        .query_opt(
            "SELECT doc FROM actions WHERE tenant_id = $1 AND idempotency_key = $2",
            &[&tenant.as_str(), &idempotency_key],
        )
        .await
        .map_err(pg_error("action"))?;
    row.map(|row| from_doc(row.get(0))).transpose()
}

impl PgStore {
    /// One page of a tenant's records of `narrowing.table` in id order that `keep` accepts.
    /// Rows are read in chunks of a page plus one after the cursor, narrowed in SQL and judged
    /// by `keep` in Rust, until the page is full or the rows run out.
    async fn filtered_page<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        narrowing: &Narrowing<'_>,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let Narrowing {
            table,
            conditions,
            params,
        } = narrowing;
        let sql = format!(
            "SELECT id, doc FROM {table} WHERE tenant_id = $1 AND id > $2 AND {conditions} \
             ORDER BY id LIMIT $3"
        );
        let chunk = fetch_limit(page);
        let tenant = tenant.as_str();
        let client = self.client().await?;
        // Ids are never empty: reading after "" starts at the tenant's first record.
        let mut after = page.cursor.clone().unwrap_or_default();
        let mut items = Vec::new();
        loop {
            let mut all: Vec<&(dyn ToSql + Sync)> = vec![&tenant, &after, &chunk];
            all.extend_from_slice(params);
            let rows = client.query(&sql, &all).await.map_err(pg_error(table))?;
            let read = rows.len();
            for row in rows {
                if items.len() == page.limit {
                    // A record follows the full page.
                    return Ok(Page {
                        items,
                        next_cursor: Some(after),
                    });
                }
                let record: T = from_doc(row.get(1))?;
                after = row.get(0);
                if keep(&record) {
                    items.push(record);
                }
            }
            if i64::try_from(read).unwrap_or(i64::MAX) < chunk || items.len() == page.limit {
                break;
            }
        }
        // `after` is the last item's id when the page is full.
        let next_cursor = if items.len() == page.limit {
            let more = client
                .query_one(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = $1 AND id > $2)"
                    ),
                    &[&tenant, &after],
                )
                .await
                .map_err(pg_error(table))?;
            more.get::<_, bool>(0).then_some(after)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The detection and its subject index entry in one statement. Writing an id another tenant
    /// holds is a conflict; a detection indexed under several subjects keeps them all.
    pub(super) async fn put_detection_sql(
        &self,
        detection: &Detection,
        subject: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH detection AS (INSERT INTO detections (id, tenant_id, last_seen, doc) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen, \
                   doc = EXCLUDED.doc WHERE detections.tenant_id = EXCLUDED.tenant_id \
                   RETURNING id), \
                 subject AS (INSERT INTO detection_subjects (tenant_id, subject, detection_id) \
                   SELECT $2, $5, id FROM detection ON CONFLICT DO NOTHING) \
                 SELECT count(*) FROM detection",
                &[
                    &detection.id.as_str(),
                    &detection.tenant_id.as_str(),
                    &detection.last_seen,
                    &to_doc(detection)?,
                    &subject,
                ],
            )
            .await
            .map_err(pg_error("detection"))?;
        if row.get::<_, i64>(0) == 0 {
            return Err(StoreError::Conflict(format!("detection {}", detection.id)));
        }
        Ok(())
    }

    /// Its subject index entries go with it (the foreign key cascades).
    pub(super) async fn delete_detection_sql(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM detections WHERE tenant_id = $1 AND id = $2",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(pg_error("detection"))?;
        Ok(deleted > 0)
    }

    /// In detection id order, like the sled backend's index scan. The `last_seen` column holds
    /// microseconds while the record may hold nanoseconds: SQL narrows (truncation keeps every
    /// match), the record's own time decides.
    pub(super) async fn detections_about_sql(
        &self,
        tenant: &TenantId,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT d.doc FROM detection_subjects s \
                 JOIN detections d ON d.id = s.detection_id AND d.tenant_id = s.tenant_id \
                 WHERE s.tenant_id = $1 AND s.subject = $2 AND d.last_seen >= $3 \
                 ORDER BY s.detection_id",
                &[&tenant.as_str(), &subject, &since],
            )
            .await
            .map_err(pg_error("detections"))?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let detection: Detection = from_doc(row.get(0))?;
            if detection.last_seen >= since {
                found.push(detection);
            }
        }
        Ok(found)
    }

    pub(super) async fn detections_about_each_sql(
        &self,
        tenant: &TenantId,
        subjects: &[String],
        since: DateTime<Utc>,
    ) -> Result<Vec<Vec<Detection>>, StoreError> {
        let mut found: Vec<Vec<Detection>> = vec![Vec::new(); subjects.len()];
        if subjects.is_empty() {
            return Ok(found);
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT s.subject, d.doc FROM detection_subjects s \
                 JOIN detections d ON d.id = s.detection_id AND d.tenant_id = s.tenant_id \
                 WHERE s.tenant_id = $1 AND s.subject = ANY($2::text[]) AND d.last_seen >= $3 \
                 ORDER BY s.subject, s.detection_id",
                &[&tenant.as_str(), &subjects, &since],
            )
            .await
            .map_err(pg_error("detections"))?;
        let position: std::collections::HashMap<&str, Vec<usize>> = subjects
            .iter()
            .enumerate()
            .fold(std::collections::HashMap::new(), |mut at, (i, s)| {
                at.entry(s.as_str()).or_insert_with(Vec::new).push(i);
                at
            });
        for row in rows {
            let subject: &str = row.get(0);
            let detection: Detection = from_doc(row.get(1))?;
            if detection.last_seen < since {
                continue;
            }
            for &i in position.get(subject).into_iter().flatten() {
                found[i].push(detection.clone());
            }
        }
        Ok(found)
    }

    pub(super) async fn get_detection_sql(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<Option<Detection>, StoreError> {
        self.get_doc("detections", tenant, id.as_str()).await
    }

    pub(super) async fn list_detections_sql(
        &self,
        tenant: &TenantId,
        filter: &DetectionFilter,
        page: &PageRequest,
    ) -> Result<Page<Detection>, StoreError> {
        let user = json_of(filter.user_id.as_ref())?;
        let kind = json_of(filter.kind.as_ref())?;
        let severity = json_of(filter.severity.as_ref())?;
        let narrowing = Narrowing {
            table: "detections",
            conditions: "($4::jsonb IS NULL OR doc->'user_id' = $4) \
                 AND ($5::jsonb IS NULL OR doc->'kind' = $5) \
                 AND ($6::jsonb IS NULL OR doc->'severity' = $6) \
                 AND ($7::timestamptz IS NULL OR last_seen >= $7)",
            params: &[&user, &kind, &severity, &filter.since],
        };
        self.filtered_page(tenant, &narrowing, page, |d| filter.matches(d))
            .await
    }

    /// Inserts or replaces the action, its idempotency key and whether the executor still
    /// has work on it, in one statement. A key another action of the tenant holds, or an id
    /// another tenant holds, is a conflict.
    pub(super) async fn put_action_sql(&self, action: &Action) -> Result<(), StoreError> {
        let client = self.client().await?;
        let written = client
            .execute(
                "INSERT INTO actions (id, tenant_id, idempotency_key, open, doc) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key, \
                 open = EXCLUDED.open, doc = EXCLUDED.doc \
                 WHERE actions.tenant_id = EXCLUDED.tenant_id",
                &[
                    &action.id.as_str(),
                    &action.tenant_id.as_str(),
                    &action.idempotency_key,
                    &!action.status.is_final(),
                    &to_doc(action)?,
                ],
            )
            .await
            .map_err(pg_error(&format!("action {}", action.id)))?;
        if written == 0 {
            return Err(StoreError::Conflict(format!("action {}", action.id)));
        }
        Ok(())
    }

    pub(super) async fn get_action_sql(
        &self,
        tenant: &TenantId,
        id: &ActionId,
    ) -> Result<Option<Action>, StoreError> {
        self.get_doc("actions", tenant, id.as_str()).await
    }

    /// One conditional insert claims the key: of two requests racing with one key, PostgreSQL
    /// makes the second wait for the first's commit and then skip its insert. The loser then
    /// reads the winner (a statement of its own, whose snapshot sees that commit).
    pub(super) async fn create_action_sql(
        &self,
        action: &Action,
    ) -> Result<Option<Action>, StoreError> {
        let client = self.client().await?;
        let written = client
            .execute(
                "INSERT INTO actions (id, tenant_id, idempotency_key, open, doc) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
                &[
                    &action.id.as_str(),
                    &action.tenant_id.as_str(),
                    &action.idempotency_key,
                    &!action.status.is_final(),
                    &to_doc(action)?,
                ],
            )
            .await
            .map_err(pg_error(&format!("action {}", action.id)))?;
        if written == 1 {
            return Ok(None);
        }
        // Read on the same connection: taking a second one from the pool while holding this
        // one starved the pool when more requests than connections raced for one key.
        // Actions are only deleted with their tenant, so a claimed key names a stored action.
        action_by_key(&client, &action.tenant_id, &action.idempotency_key)
            .await?
            .map(Some)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the action holding the idempotency key of action {}",
                    action.id
                ))
            })
    }

    pub(super) async fn find_action_by_key_sql(
        &self,
        tenant: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Action>, StoreError> {
        action_by_key(&self.client().await?, tenant, idempotency_key).await
    }

    pub(super) async fn list_actions_sql(
        &self,
        tenant: &TenantId,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<Action>, StoreError> {
        let status = json_of(filter.status.as_ref())?;
        let user = json_of(filter.user_id.as_ref())?;
        let narrowing = Narrowing {
            table: "actions",
            conditions: "($4::jsonb IS NULL OR doc->'status' = $4) \
                 AND ($5::jsonb IS NULL OR doc->'user_id' = $5)",
            params: &[&status, &user],
        };
        self.filtered_page(tenant, &narrowing, page, |a| filter.matches(a))
            .await
    }

    /// Across tenants (what the executor resumes at start), in action id order as the sled
    /// backend's index of open actions; the partial index `actions_open` holds just these.
    pub(super) async fn open_actions_sql(&self) -> Result<Vec<Action>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT doc FROM actions WHERE open ORDER BY id", &[])
            .await
            .map_err(pg_error("open actions"))?;
        rows.into_iter().map(|row| from_doc(row.get(0))).collect()
    }

    /// Inserts or replaces the policy; an id another tenant holds is a conflict.
    pub(super) async fn put_policy_sql(&self, policy: &Policy) -> Result<(), StoreError> {
        let client = self.client().await?;
        let written = client
            .execute(
                "INSERT INTO policies (id, tenant_id, doc) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc \
                 WHERE policies.tenant_id = EXCLUDED.tenant_id",
                &[
                    &policy.id.as_str(),
                    &policy.tenant_id.as_str(),
                    &to_doc(policy)?,
                ],
            )
            .await
            .map_err(pg_error("policy"))?;
        if written == 0 {
            return Err(StoreError::Conflict(format!("policy {}", policy.id)));
        }
        Ok(())
    }

    pub(super) async fn get_policy_sql(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<Option<Policy>, StoreError> {
        self.get_doc("policies", tenant, id.as_str()).await
    }

    pub(super) async fn list_policies_sql(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<Policy>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM policies WHERE tenant_id = $1 ORDER BY id",
                &[&tenant.as_str()],
            )
            .await
            .map_err(pg_error("policies"))?;
        rows.into_iter().map(|row| from_doc(row.get(0))).collect()
    }

    pub(super) async fn delete_policy_sql(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM policies WHERE tenant_id = $1 AND id = $2",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(pg_error("policy"))?;
        Ok(deleted > 0)
    }
}
