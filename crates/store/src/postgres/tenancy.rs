//! Tenants, tokens, API keys, integrations and the owner of an id, on PostgreSQL.
//!
//! Every query of a tenant-owned table names the tenant, except those whose purpose is to cross
//! tenants: a token found by its hash (the hash is what authenticates), the owner of an id
//! ([`Locatable`]) and the scheduler's list of every integration. Writes that touch several rows
//! are one statement (data-modifying `WITH` clauses) or one transaction, so they land whole or
//! not at all.

use std::collections::HashSet;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::*;

/// Upserts tokens given as parallel arrays ($1 hash, $2 kind, $3 tenant, $4 integration, $5 API
/// key, $6 doc): a stored hash is replaced, as the sled backend's insert does.
const UPSERT_TOKENS: &str =
    "INSERT INTO tokens (hash, kind, tenant_id, integration_id, api_key_id, doc) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) \
     ON CONFLICT (hash) DO UPDATE SET kind = EXCLUDED.kind, tenant_id = EXCLUDED.tenant_id, \
     integration_id = EXCLUDED.integration_id, api_key_id = EXCLUDED.api_key_id, \
     doc = EXCLUDED.doc";

/// Every table holding tenant-owned rows other than `tenants` itself, index tables before the
/// records they point at (so the cascades of their foreign keys find nothing left to do). A
/// table added to a migration with a `tenant_id` column belongs here; the conformance suite's
/// `a_deleted_tenant_takes_everything_it_owns` checks it against the catalog.
const TENANT_TABLES: &[&str] = &[
    "tokens",
    "api_keys",
    "cursors",
    "sync_status",
    "integrations",
    "user_emails",
    "users",
    "groups",
    "identity_emails",
    "identity_risk_history",
    "identities",
    "signin_subjects",
    "signins",
    "detection_subjects",
    "detections",
    "actions",
    "policies",
    "scim_members",
    "scim_resources",
];

/// A token kind as the `kind` column holds it (its serde name).
fn kind_text(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Operator => "operator",
        TokenKind::TenantApi => "tenant_api",
        TokenKind::Ingest => "ingest",
        TokenKind::Scim => "scim",
    }
}

/// Tokens as the parallel arrays [`UPSERT_TOKENS`] binds. A hash given twice is kept once (the
/// last), as consecutive inserts would leave it; one statement may not upsert a row twice.
struct TokenColumns {
    hash: Vec<String>,
    kind: Vec<&'static str>,
    tenant: Vec<Option<String>>,
    integration: Vec<Option<String>>,
    api_key: Vec<Option<String>>,
    doc: Vec<serde_json::Value>,
}

impl TokenColumns {
    fn of(tokens: &[TokenRecord]) -> Result<Self, StoreError> {
        let mut columns = Self {
            hash: Vec::with_capacity(tokens.len()),
            kind: Vec::with_capacity(tokens.len()),
            tenant: Vec::with_capacity(tokens.len()),
            integration: Vec::with_capacity(tokens.len()),
            api_key: Vec::with_capacity(tokens.len()),
            doc: Vec::with_capacity(tokens.len()),
        };
        let mut seen = HashSet::new();
        let last_of_each = tokens.iter().rev().filter(|t| seen.insert(t.hash.as_str()));
        for token in last_of_each {
            columns.hash.push(token.hash.clone());
            columns.kind.push(kind_text(token.kind));
            columns
                .tenant
                .push(token.tenant_id.as_ref().map(|t| t.to_string()));
            columns
                .integration
                .push(token.integration_id.as_ref().map(|i| i.to_string()));
            columns
                .api_key
                .push(token.api_key_id.as_ref().map(|k| k.to_string()));
            columns.doc.push(to_doc(token)?);
        }
        Ok(columns)
    }

    /// The six parameters, in [`UPSERT_TOKENS`]'s order.
    fn params(&self) -> [&(dyn ToSql + Sync); 6] {
        [
            &self.hash,
            &self.kind,
            &self.tenant,
            &self.integration,
            &self.api_key,
            &self.doc,
        ]
    }
}

/// Upserts `tokens` through `client` (a connection or an open transaction).
async fn upsert_tokens(
    client: &impl GenericClient,
    tokens: &[TokenRecord],
) -> Result<(), StoreError> {
    let columns = TokenColumns::of(tokens)?;
    client
        .execute(UPSERT_TOKENS, &columns.params())
        .await
        .map_err(pg_error("token"))?;
    Ok(())
}

/// The table whose rows a [`Locatable`] id names (every one keyed by a globally unique `id`).
fn locatable_table(kind: Locatable) -> &'static str {
    match kind {
        Locatable::Integration => "integrations",
        Locatable::User => "users",
        Locatable::Identity => "identities",
        Locatable::Detection => "detections",
        Locatable::Action => "actions",
        Locatable::Policy => "policies",
    }
}

/// A tenant id read from a `tenant_id` column.
fn tenant_of(text: &str) -> Result<TenantId, StoreError> {
    TenantId::parse(text).ok_or_else(|| StoreError::Corrupt(format!("tenant id {text:?}")))
}

impl PgStore {
    pub(super) async fn create_tenant_sql(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tenants (id, doc) VALUES ($1, $2)",
                &[&tenant.id.as_str(), &to_doc(tenant)?],
            )
            .await
            .map_err(pg_error(&format!("tenant {}", tenant.id)))?;
        Ok(())
    }

    pub(super) async fn get_tenant_sql(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT doc FROM tenants WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(pg_error("tenant"))?;
        row.map(|row| from_doc(row.get(0))).transpose()
    }

    pub(super) async fn list_tenants_sql(
        &self,
        page: &PageRequest,
    ) -> Result<Page<Tenant>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM tenants WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2",
                &[&page.cursor, &fetch_limit(page)],
            )
            .await
            .map_err(pg_error("tenants"))?;
        let items = rows
            .into_iter()
            .map(|row| from_doc(row.get(0)))
            .collect::<Result<Vec<Tenant>, _>>()?;
        Ok(page_of(items, page, |t| t.id.to_string()))
    }

    pub(super) async fn update_tenant_sql(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let client = self.client().await?;
        let updated = client
            .execute(
                "UPDATE tenants SET doc = $2 WHERE id = $1",
                &[&tenant.id.as_str(), &to_doc(tenant)?],
            )
            .await
            .map_err(pg_error("tenant"))?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!("tenant {}", tenant.id)));
        }
        Ok(())
    }

    /// One transaction: the tenant row is locked, every row it owns in every table goes, then
    /// the tenant. An unknown tenant deletes nothing.
    pub(super) async fn delete_tenant_sql(&self, id: &TenantId) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_error("tenant delete"))?;
        let found = tx
            .query_opt(
                "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE",
                &[&id.as_str()],
            )
            .await
            .map_err(pg_error("tenant delete"))?;
        if found.is_none() {
            return Ok(false);
        }
        for table in TENANT_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE tenant_id = $1"),
                &[&id.as_str()],
            )
            .await
            .map_err(pg_error("tenant delete"))?;
        }
        tx.execute("DELETE FROM tenants WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(pg_error("tenant delete"))?;
        tx.commit().await.map_err(pg_error("tenant delete"))?;
        Ok(true)
    }

    pub(super) async fn find_token_sql(
        &self,
        hash: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT doc FROM tokens WHERE hash = $1", &[&hash])
            .await
            .map_err(pg_error("token"))?;
        row.map(|row| from_doc(row.get(0))).transpose()
    }

    pub(super) async fn put_token_sql(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        upsert_tokens(&client, std::slice::from_ref(token)).await
    }

    pub(super) async fn has_token_of_kind_sql(&self, kind: TokenKind) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = $1)",
                &[&kind_text(kind)],
            )
            .await
            .map_err(pg_error("token"))?;
        Ok(row.get(0))
    }

    /// The key and its token in one statement: both or neither.
    pub(super) async fn create_api_key_sql(
        &self,
        key: &ApiKey,
        token: &TokenRecord,
    ) -> Result<(), StoreError> {
        let columns = TokenColumns::of(std::slice::from_ref(token))?;
        let sql = format!(
            "WITH api_key AS (INSERT INTO api_keys (tenant_id, id, doc) VALUES ($7, $8, $9) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET doc = EXCLUDED.doc) {UPSERT_TOKENS}"
        );
        let (tenant, id, doc) = (key.tenant_id.as_str(), key.id.as_str(), to_doc(key)?);
        let mut params = columns.params().to_vec();
        params.extend_from_slice(&[&tenant, &id, &doc]);
        let client = self.client().await?;
        client
            .execute(&sql, &params)
            .await
            .map_err(pg_error("API key"))?;
        Ok(())
    }

    pub(super) async fn list_api_keys_sql(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM api_keys WHERE tenant_id = $1 ORDER BY id",
                &[&tenant.as_str()],
            )
            .await
            .map_err(pg_error("API keys"))?;
        rows.into_iter().map(|row| from_doc(row.get(0))).collect()
    }

    /// The key and the tokens issued for it, in one statement.
    pub(super) async fn delete_api_key_sql(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH api_key AS (DELETE FROM api_keys WHERE tenant_id = $1 AND id = $2 \
                 RETURNING 1), \
                 token AS (DELETE FROM tokens WHERE tenant_id = $1 AND api_key_id = $2) \
                 SELECT count(*) FROM api_key",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(pg_error("API key"))?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    /// The integration and its tokens in one statement: a taken id writes neither.
    pub(super) async fn create_integration_sql(
        &self,
        integration: &Integration,
        tokens: &[TokenRecord],
    ) -> Result<(), StoreError> {
        let columns = TokenColumns::of(tokens)?;
        let sql = format!(
            "WITH integration AS (INSERT INTO integrations (id, tenant_id, doc) \
             VALUES ($7, $8, $9)) {UPSERT_TOKENS}"
        );
        let (id, tenant) = (integration.id.as_str(), integration.tenant_id.as_str());
        let doc = to_doc(integration)?;
        let mut params = columns.params().to_vec();
        params.extend_from_slice(&[&id, &tenant, &doc]);
        let client = self.client().await?;
        client
            .execute(&sql, &params)
            .await
            .map_err(pg_error(&format!("integration {}", integration.id)))?;
        Ok(())
    }

    pub(super) async fn get_integration_sql(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        self.get_doc("integrations", tenant, id.as_str()).await
    }

    pub(super) async fn list_integrations_sql(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Integration>, StoreError> {
        let client = self.client().await?;
        // Ids are never empty, so "after ''" is the first page (and keeps the index range scan).
        let after = page.cursor.as_deref().unwrap_or("");
        let rows = client
            .query(
                "SELECT doc FROM integrations WHERE tenant_id = $1 AND id > $2 \
                 ORDER BY id LIMIT $3",
                &[&tenant.as_str(), &after, &fetch_limit(page)],
            )
            .await
            .map_err(pg_error("integrations"))?;
        let items = rows
            .into_iter()
            .map(|row| from_doc(row.get(0)))
            .collect::<Result<Vec<Integration>, _>>()?;
        Ok(page_of(items, page, |i| i.id.to_string()))
    }

    /// Across tenants (the scheduler's start-up read), in the sled backend's (tenant, id) order.
    pub(super) async fn all_integrations_sql(&self) -> Result<Vec<Integration>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT doc FROM integrations ORDER BY tenant_id, id", &[])
            .await
            .map_err(pg_error("integrations"))?;
        rows.into_iter().map(|row| from_doc(row.get(0))).collect()
    }

    pub(super) async fn update_integration_sql(
        &self,
        integration: &Integration,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let updated = client
            .execute(
                "UPDATE integrations SET doc = $3 WHERE tenant_id = $1 AND id = $2",
                &[
                    &integration.tenant_id.as_str(),
                    &integration.id.as_str(),
                    &to_doc(integration)?,
                ],
            )
            .await
            .map_err(pg_error("integration"))?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!(
                "integration {}",
                integration.id
            )));
        }
        Ok(())
    }

    /// A read-modify-write of the integration under `FOR UPDATE`, its old token deleted and the
    /// new one stored in the same transaction: no moment where both or neither authenticate,
    /// and two rotations at once apply one after the other.
    pub(super) async fn rotate_integration_token_sql(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        new_token: &TokenRecord,
        sealed: Option<&SealedSecret>,
    ) -> Result<Integration, StoreError> {
        let fail = pg_error("token rotation");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(&fail)?;
        let row = tx
            .query_opt(
                "SELECT doc FROM integrations WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(&fail)?
            .ok_or_else(|| StoreError::NotFound(format!("integration {id}")))?;
        let mut integration: Integration = from_doc(row.get(0))?;
        let old = swap_token(&mut integration, new_token, sealed)?;
        if let Some(old) = old {
            tx.execute(
                "DELETE FROM tokens WHERE hash = $1 AND tenant_id = $2",
                &[&old, &tenant.as_str()],
            )
            .await
            .map_err(&fail)?;
        }
        upsert_tokens(&tx, std::slice::from_ref(new_token)).await?;
        tx.execute(
            "UPDATE integrations SET doc = $3 WHERE tenant_id = $1 AND id = $2",
            &[&tenant.as_str(), &id.as_str(), &to_doc(&integration)?],
        )
        .await
        .map_err(&fail)?;
        tx.commit().await.map_err(&fail)?;
        Ok(integration)
    }

    /// The integration, every token issued for it (those its record names and any other naming
    /// it), its cursors, sync status and SCIM resources, in one statement. The rows beside the
    /// record go even when the record is already gone, as in the sled backend.
    pub(super) async fn delete_integration_sql(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH integration AS (DELETE FROM integrations WHERE tenant_id = $1 AND id = $2 \
                   RETURNING doc), \
                 token AS (DELETE FROM tokens WHERE tenant_id = $1 AND (integration_id = $2 \
                   OR hash IN (SELECT doc->>'ingest_token_hash' FROM integration \
                               UNION ALL SELECT doc->>'scim_token_hash' FROM integration))), \
                 cursor AS (DELETE FROM cursors WHERE tenant_id = $1 AND integration_id = $2), \
                 status AS (DELETE FROM sync_status WHERE tenant_id = $1 AND integration_id = $2), \
                 member AS (DELETE FROM scim_members \
                   WHERE tenant_id = $1 AND integration_id = $2), \
                 resource AS (DELETE FROM scim_resources \
                   WHERE tenant_id = $1 AND integration_id = $2) \
                 SELECT count(*) FROM integration",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(pg_error("integration delete"))?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    /// Looks in the table of `kind`: ids there are globally unique, so this is the one read of
    /// a tenant-owned table not scoped by a tenant (finding the tenant is its purpose).
    pub(super) async fn locate_sql(
        &self,
        kind: Locatable,
        id: &str,
    ) -> Result<Option<TenantId>, StoreError> {
        let table = locatable_table(kind);
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT tenant_id FROM {table} WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(pg_error("locate"))?;
        row.map(|row| tenant_of(row.get(0))).transpose()
    }
}

/// Points the integration's slot for `token`'s kind at it (and, for an ingest token, keeps the
/// sealed copy), stamping the change; returns the hash it replaces. Only ingest and SCIM tokens
/// belong to integrations.
fn swap_token(
    integration: &mut Integration,
    token: &TokenRecord,
    sealed: Option<&SealedSecret>,
) -> Result<Option<String>, StoreError> {
    let slot = match token.kind {
        TokenKind::Ingest => &mut integration.ingest_token_hash,
        TokenKind::Scim => &mut integration.scim_token_hash,
        TokenKind::Operator | TokenKind::TenantApi => {
            return Err(StoreError::Backend(
                "only ingest and SCIM tokens belong to integrations".into(),
            ))
        }
    };
    let old = slot.replace(token.hash.clone());
    if token.kind == TokenKind::Ingest {
        integration.push_token = sealed.cloned();
    }
    integration.updated_at = token.created_at;
    Ok(old)
}
