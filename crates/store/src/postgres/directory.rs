//! Accounts, groups, identities and risk history, on PostgreSQL.
//!
//! Directory pulls write a page of 200–999 accounts at a time, so every batch write sends the
//! whole page as arrays (`UNNEST`) in a few statements inside one transaction, never a round
//! trip per account. The e-mail indexes (`user_emails`, `identity_emails`) move in the same
//! transaction: index rows a record no longer has are deleted, new ones inserted, and rows it
//! keeps are left alone (a re-pull of an unchanged directory rewrites only the records).
//!
//! Rows of one batch are written in id (and e-mail) order, so two writers whose batches overlap
//! lock the rows they share in the same order instead of deadlocking.

use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

use super::*;

/// Rows read per query while a search evaluated here (case-insensitive `q`) skips records.
const SCAN_CHUNK: i64 = 256;

/// Accounts by id; a row of the same id in another tenant is left alone (and the batch fails).
const UPSERT_USERS: &str = "INSERT INTO users (id, tenant_id, integration_id, external_id, doc) \
     SELECT u.id, $1::text, u.integration_id, u.external_id, u.doc \
     FROM UNNEST($2::text[], $3::text[], $4::text[], $5::jsonb[]) \
         AS u(id, integration_id, external_id, doc) \
     ON CONFLICT (id) DO UPDATE SET integration_id = EXCLUDED.integration_id, \
         external_id = EXCLUDED.external_id, doc = EXCLUDED.doc \
     WHERE users.tenant_id = $1";

/// The e-mail index rows of the batch's accounts ($2) that are not among its pairs ($3, $4).
const DROP_USER_EMAILS: &str = "DELETE FROM user_emails \
     WHERE tenant_id = $1 AND user_id = ANY($2::text[]) AND NOT EXISTS ( \
         SELECT 1 FROM UNNEST($3::text[], $4::text[]) AS k(email, user_id) \
         WHERE k.email = user_emails.email AND k.user_id = user_emails.user_id)";

const ADD_USER_EMAILS: &str = "INSERT INTO user_emails (tenant_id, email, user_id) \
     SELECT $1::text, k.email, k.user_id FROM UNNEST($2::text[], $3::text[]) AS k(email, user_id) \
     ON CONFLICT DO NOTHING";

const UPSERT_IDENTITIES: &str = "INSERT INTO identities (id, tenant_id, doc) \
     SELECT i.id, $1::text, i.doc FROM UNNEST($2::text[], $3::jsonb[]) AS i(id, doc) \
     ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc WHERE identities.tenant_id = $1";

/// The e-mails the batch's identities ($2) own but no longer claim ($3, $4).
const DROP_IDENTITY_EMAILS: &str = "DELETE FROM identity_emails \
     WHERE tenant_id = $1 AND identity_id = ANY($2::text[]) AND NOT EXISTS ( \
         SELECT 1 FROM UNNEST($3::text[], $4::text[]) AS k(email, identity_id) \
         WHERE k.email = identity_emails.email AND k.identity_id = identity_emails.identity_id)";

/// Claims e-mails for identities: one identity per e-mail, so a claimed e-mail moves.
const CLAIM_IDENTITY_EMAILS: &str = "INSERT INTO identity_emails (tenant_id, email, identity_id) \
     SELECT $1::text, k.email, k.identity_id \
     FROM UNNEST($2::text[], $3::text[]) AS k(email, identity_id) \
     ON CONFLICT (tenant_id, email) DO UPDATE SET identity_id = EXCLUDED.identity_id \
     WHERE identity_emails.tenant_id = $1 \
         AND identity_emails.identity_id <> EXCLUDED.identity_id";

/// A page of accounts: the exact filters (integration, status, provider, e-mail) in SQL.
const LIST_USERS: &str = "SELECT id, doc FROM users \
     WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) \
         AND ($4::text IS NULL OR integration_id = $4) \
         AND ($5::jsonb IS NULL OR doc -> 'status' = $5) \
         AND ($6::jsonb IS NULL OR doc -> 'provider' = $6) \
         AND ($7::text IS NULL OR EXISTS ( \
             SELECT 1 FROM user_emails e \
             WHERE e.tenant_id = $1 AND e.email = $7 AND e.user_id = users.id)) \
     ORDER BY id LIMIT $3";

const LIST_IDENTITIES: &str = "SELECT id, doc FROM identities \
     WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3";

impl PgStore {
    pub(super) async fn upsert_users_sql(
        &self,
        tenant: &TenantId,
        users: &[User],
    ) -> Result<(), StoreError> {
        let users = checked_users(tenant, users)?;
        if users.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        put_users(&tx, tenant, &users).await?;
        commit(tx).await
    }

    pub(super) async fn upsert_users_with_identities_sql(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        let users = checked_users(tenant, users)?;
        for identity in identities {
            same_tenant(tenant, &identity.tenant_id, "an identity")?;
        }
        if users.is_empty() && identities.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        // Accounts first: an identity never names an account not yet stored.
        put_users(&tx, tenant, &users).await?;
        let people: Vec<&Identity> = identities.iter().collect();
        put_identities_of(&tx, tenant, &people).await?;
        commit(tx).await
    }

    pub(super) async fn upsert_users_with_identities_moving_sql(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
        cursor: &crate::CursorMove,
    ) -> Result<(), StoreError> {
        let users = checked_users(tenant, users)?;
        for identity in identities {
            same_tenant(tenant, &identity.tenant_id, "an identity")?;
        }
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        put_users(&tx, tenant, &users).await?;
        let people: Vec<&Identity> = identities.iter().collect();
        put_identities_of(&tx, tenant, &people).await?;
        super::cursor_moves::move_cursor_in(&tx, tenant, cursor).await?;
        commit(tx).await
    }

    pub(super) async fn get_user_sql(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Option<User>, StoreError> {
        self.get_doc("users", tenant, id.as_str()).await
    }

    /// The accounts are read `FOR UPDATE`, so no other write to them lands between the reads
    /// and the writes of this transaction.
    pub(super) async fn update_users_sql(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
        change: &(dyn for<'u> Fn(&'u mut User) -> bool + Send + Sync),
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let wanted: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        // In id order, as every writer of accounts locks them.
        let rows = tx
            .query(
                "SELECT id, doc FROM users WHERE tenant_id = $1 AND id = ANY($2::text[]) \
                 ORDER BY id FOR UPDATE",
                &[&tenant.as_str(), &wanted],
            )
            .await
            .map_err(pg_error("users"))?;
        let mut stored: BTreeMap<String, User> = BTreeMap::new();
        for row in &rows {
            stored.insert(column(row, 0)?, doc_at(row, 1)?);
        }
        // Each id in the caller's order, as sled applies them; an id named twice sees its
        // first change.
        let mut changed = 0;
        let mut touched = BTreeSet::new();
        for id in &wanted {
            if let Some(user) = stored.get_mut(*id) {
                if change(user) {
                    changed += 1;
                    touched.insert(*id);
                }
            }
        }
        if changed == 0 {
            return Ok(0);
        }
        let written: Vec<&User> = stored
            .iter()
            .filter(|(id, _)| touched.contains(id.as_str()))
            .map(|(_, user)| user)
            .collect();
        for user in &written {
            same_tenant(tenant, &user.tenant_id, "a user")?;
        }
        put_users(&tx, tenant, &written).await?;
        commit(tx).await?;
        Ok(changed)
    }

    pub(super) async fn get_users_sql(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM users WHERE tenant_id = $1 AND id = ANY($2::text[])",
                &[&tenant.as_str(), &ids],
            )
            .await
            .map_err(pg_error("users"))?;
        rows.iter().map(|row| doc_at(row, 0)).collect()
    }

    pub(super) async fn find_user_by_external_id_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT doc FROM users \
                 WHERE tenant_id = $1 AND integration_id = $2 AND external_id = $3 \
                 ORDER BY id LIMIT 1",
                &[
                    &tenant.as_str(),
                    &integration.as_str(),
                    &nul::text(external_id),
                ],
            )
            .await
            .map_err(pg_error("user by external id"))?;
        row.map(|row| doc_at(&row, 0)).transpose()
    }

    /// One query for a page of provider ids; where two accounts claim one id (only possible
    /// from a migrated store), the lowest id answers, as the single lookup does.
    pub(super) async fn find_users_by_external_ids_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_ids: &[String],
    ) -> Result<Vec<Option<User>>, StoreError> {
        if external_ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<String> = external_ids
            .iter()
            .map(|e| nul::text(e).into_owned())
            .collect();
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT DISTINCT ON (external_id) external_id, doc FROM users \
                 WHERE tenant_id = $1 AND integration_id = $2 AND external_id = ANY($3::text[]) \
                 ORDER BY external_id, id",
                &[&tenant.as_str(), &integration.as_str(), &wanted],
            )
            .await
            .map_err(pg_error("users by external id"))?;
        let mut by_external = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let external: String = column(row, 0)?;
            by_external.insert(external, doc_at::<User>(row, 1)?);
        }
        Ok(wanted
            .iter()
            .map(|external| by_external.get(external).cloned())
            .collect())
    }

    pub(super) async fn find_users_by_email_sql(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<User>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT u.doc FROM user_emails e JOIN users u ON u.id = e.user_id \
                 WHERE e.tenant_id = $1 AND e.email = $2 AND u.tenant_id = $1 \
                 ORDER BY e.user_id",
                &[&tenant.as_str(), &nul::text(&email.to_lowercase())],
            )
            .await
            .map_err(pg_error("users by e-mail"))?;
        rows.iter().map(|row| doc_at(row, 0)).collect()
    }

    pub(super) async fn list_users_sql(
        &self,
        tenant: &TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let integration = filter.integration_id.as_ref().map(IntegrationId::as_str);
        let status = filter.status.map(|s| to_doc(&s)).transpose()?;
        let provider = filter.provider.clone().map(serde_json::Value::String);
        let email = filter
            .email
            .as_ref()
            .map(|e| nul::text(&e.to_lowercase()).into_owned());
        let narrowed =
            integration.is_some() || status.is_some() || provider.is_some() || email.is_some();
        let scan = Scan {
            sql: LIST_USERS,
            extra: vec![&integration, &status, &provider, &email],
            table: "users",
            narrowed,
            sifted: filter.q.is_some(),
        };
        let client = self.client().await?;
        filtered_page(&client, &scan, tenant, page, |u| filter.matches(u)).await
    }

    pub(super) async fn delete_groups_sql(
        &self,
        tenant: &TenantId,
        ids: &[GroupId],
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = ids.iter().map(GroupId::as_str).collect();
        let client = self.client().await?;
        let removed = client
            .execute(
                "DELETE FROM groups WHERE tenant_id = $1 AND id = ANY($2::text[])",
                &[&tenant.as_str(), &ids],
            )
            .await
            .map_err(pg_error("groups"))?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }

    pub(super) async fn upsert_groups_sql(
        &self,
        tenant: &TenantId,
        groups: &[Group],
    ) -> Result<(), StoreError> {
        for group in groups {
            same_tenant(tenant, &group.tenant_id, "a group")?;
        }
        let latest = latest_by_id(groups, |g| g.id.as_str());
        if latest.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(latest.len());
        let mut docs = Vec::with_capacity(latest.len());
        for (id, group) in &latest {
            ids.push(*id);
            docs.push(to_doc(*group)?);
        }
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO groups (tenant_id, id, doc) \
                 SELECT $1::text, g.id, g.doc FROM UNNEST($2::text[], $3::jsonb[]) AS g(id, doc) \
                 ON CONFLICT (tenant_id, id) DO UPDATE SET doc = EXCLUDED.doc \
                 WHERE groups.tenant_id = $1",
            )
            .await
            .map_err(pg_error("groups"))?;
        client
            .execute(&statement, &[&tenant.as_str(), &ids, &docs])
            .await
            .map_err(pg_error("groups"))?;
        Ok(())
    }

    pub(super) async fn get_group_sql(
        &self,
        tenant: &TenantId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        self.get_doc("groups", tenant, id.as_str()).await
    }

    pub(super) async fn list_groups_sql(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Group>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM groups WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) \
                 ORDER BY id LIMIT $3",
                &[&tenant.as_str(), &page.cursor, &fetch_limit(page)],
            )
            .await
            .map_err(pg_error("groups"))?;
        let items = rows
            .iter()
            .map(|row| doc_at(row, 0))
            .collect::<Result<Vec<Group>, _>>()?;
        Ok(page_of(items, page, |g| g.id.to_string()))
    }

    /// Identities may belong to several tenants: each tenant's are written by statements
    /// scoped to it, all in one transaction.
    pub(super) async fn put_identities_sql(
        &self,
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        let mut by_tenant: BTreeMap<&str, (&TenantId, Vec<&Identity>)> = BTreeMap::new();
        for identity in identities {
            let tenant = &identity.tenant_id;
            by_tenant
                .entry(tenant.as_str())
                .or_insert_with(|| (tenant, Vec::new()))
                .1
                .push(identity);
        }
        if by_tenant.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        for (tenant, people) in by_tenant.values() {
            put_identities_of(&tx, tenant, people).await?;
        }
        commit(tx).await
    }

    pub(super) async fn get_identity_sql(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Option<Identity>, StoreError> {
        self.get_doc("identities", tenant, id.as_str()).await
    }

    pub(super) async fn find_identity_by_email_sql(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT i.doc FROM identity_emails e JOIN identities i ON i.id = e.identity_id \
                 WHERE e.tenant_id = $1 AND e.email = $2 AND i.tenant_id = $1",
                &[&tenant.as_str(), &nul::text(&email.to_lowercase())],
            )
            .await
            .map_err(pg_error("identity by e-mail"))?;
        row.map(|row| doc_at(&row, 0)).transpose()
    }

    pub(super) async fn find_identities_by_emails_sql(
        &self,
        tenant: &TenantId,
        emails: &[String],
    ) -> Result<Vec<Option<Identity>>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let lowered: Vec<String> = emails
            .iter()
            .map(|e| nul::text(&e.to_lowercase()).into_owned())
            .collect();
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT e.email, i.doc FROM identity_emails e \
                 JOIN identities i ON i.id = e.identity_id \
                 WHERE e.tenant_id = $1 AND e.email = ANY($2::text[]) AND i.tenant_id = $1",
                &[&tenant.as_str(), &lowered],
            )
            .await
            .map_err(pg_error("identities by e-mail"))?;
        let mut by_email = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let email: String = column(row, 0)?;
            by_email.insert(email, doc_at::<Identity>(row, 1)?);
        }
        Ok(lowered
            .iter()
            .map(|email| by_email.get(email).cloned())
            .collect())
    }

    /// The identity is read `FOR UPDATE`: concurrent recorders of one identity take turns, so
    /// the score and the history's last point never disagree.
    pub(super) async fn record_identity_risk_sql(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
        score: u8,
        time: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key: [&(dyn ToSql + Sync); 2] = [&tenant.as_str(), &id.as_str()];
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let row = tx
            .query_opt(
                "SELECT doc FROM identities WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                &key,
            )
            .await
            .map_err(pg_error("identity"))?;
        let Some(row) = row else {
            return Ok(false);
        };
        let mut identity: Identity = doc_at(&row, 0)?;
        if identity.risk_score != score {
            identity.risk_score = score;
            tx.execute(
                "UPDATE identities SET doc = $3 WHERE tenant_id = $1 AND id = $2",
                &[&tenant.as_str(), &id.as_str(), &to_doc(&identity)?],
            )
            .await
            .map_err(pg_error("identity"))?;
        }
        let mut points: Vec<RiskPoint> = tx
            .query_opt(
                "SELECT doc FROM identity_risk_history WHERE tenant_id = $1 AND identity_id = $2",
                &key,
            )
            .await
            .map_err(pg_error("risk history"))?
            .map(|row| doc_at(&row, 0))
            .transpose()?
            .unwrap_or_default();
        if points.last().is_some_and(|p| p.score == score) {
            commit(tx).await?;
            return Ok(false);
        }
        points.push(RiskPoint { time, score });
        let over = points.len().saturating_sub(RiskPoint::HISTORY_CAP);
        points.drain(..over);
        tx.execute(
            "INSERT INTO identity_risk_history (tenant_id, identity_id, doc) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, identity_id) DO UPDATE SET doc = EXCLUDED.doc \
             WHERE identity_risk_history.tenant_id = $1",
            &[&tenant.as_str(), &id.as_str(), &to_doc(&points)?],
        )
        .await
        .map_err(pg_error("risk history"))?;
        commit(tx).await?;
        Ok(true)
    }

    pub(super) async fn identity_risk_history_sql(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Vec<RiskPoint>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT doc FROM identity_risk_history WHERE tenant_id = $1 AND identity_id = $2",
                &[&tenant.as_str(), &id.as_str()],
            )
            .await
            .map_err(pg_error("risk history"))?;
        Ok(row
            .map(|row| doc_at(&row, 0))
            .transpose()?
            .unwrap_or_default())
    }

    pub(super) async fn list_identities_sql(
        &self,
        tenant: &TenantId,
        filter: &IdentityFilter,
        page: &PageRequest,
    ) -> Result<Page<Identity>, StoreError> {
        let scan = Scan {
            sql: LIST_IDENTITIES,
            extra: Vec::new(),
            table: "identities",
            narrowed: false,
            sifted: filter.q.is_some(),
        };
        let client = self.client().await?;
        filtered_page(&client, &scan, tenant, page, |i| filter.matches(i)).await
    }

    /// Removes the account, its e-mail index rows and its place among the accounts of the
    /// identity it names (as sled does: only that identity, every occurrence), atomically.
    pub(super) async fn delete_user_sql(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<bool, StoreError> {
        let key: [&(dyn ToSql + Sync); 2] = [&tenant.as_str(), &id.as_str()];
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        tx.execute(
            "DELETE FROM user_emails WHERE tenant_id = $1 AND user_id = $2",
            &key,
        )
        .await
        .map_err(pg_error("user e-mails"))?;
        let row = tx
            .query_opt(
                "DELETE FROM users WHERE tenant_id = $1 AND id = $2 RETURNING doc",
                &key,
            )
            .await
            .map_err(pg_error("user"))?;
        let Some(row) = row else {
            return Ok(false);
        };
        let old: User = doc_at(&row, 0)?;
        if let Some(identity_id) = &old.identity_id {
            let ikey: [&(dyn ToSql + Sync); 2] = [&tenant.as_str(), &identity_id.as_str()];
            let person = tx
                .query_opt(
                    "SELECT doc FROM identities WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                    &ikey,
                )
                .await
                .map_err(pg_error("identity"))?;
            if let Some(person) = person {
                let mut identity: Identity = doc_at(&person, 0)?;
                let before = identity.accounts.len();
                identity.accounts.retain(|a| a != id);
                if identity.accounts.len() != before {
                    tx.execute(
                        "UPDATE identities SET doc = $3 WHERE tenant_id = $1 AND id = $2",
                        &[&tenant.as_str(), &identity_id.as_str(), &to_doc(&identity)?],
                    )
                    .await
                    .map_err(pg_error("identity"))?;
                }
            }
        }
        commit(tx).await?;
        Ok(true)
    }
}

/// Refuses a record that claims another tenant than the one the call is scoped to (the sled
/// backend's check, with its words).
fn same_tenant(scope: &TenantId, owner: &TenantId, what: &str) -> Result<(), StoreError> {
    if scope == owner {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "{what} belongs to another tenant than the call's scope"
        )))
    }
}

/// The batch's accounts, each checked against the call's tenant.
fn checked_users<'a>(tenant: &TenantId, users: &'a [User]) -> Result<Vec<&'a User>, StoreError> {
    users
        .iter()
        .map(|user| same_tenant(tenant, &user.tenant_id, "a user").map(|()| user))
        .collect()
}

/// The last record of each id in `records`, in id order: a batch naming an id twice ends with
/// its last version, as sled's one-by-one puts do (and one statement may not touch a row twice).
fn latest_by_id<'a, T: 'a>(
    records: impl IntoIterator<Item = &'a T>,
    id: impl Fn(&'a T) -> &'a str,
) -> BTreeMap<&'a str, &'a T> {
    records.into_iter().map(|r| (id(r), r)).collect()
}

/// An account's e-mails, lower-cased: what `user_emails` holds for it.
fn user_emails(user: &User) -> BTreeSet<String> {
    user.email
        .iter()
        .chain(&user.emails)
        .map(|e| nul::text(&e.to_lowercase()).into_owned())
        .collect()
}

async fn begin(client: &mut deadpool_postgres::Object) -> Result<Transaction<'_>, StoreError> {
    client.transaction().await.map_err(pg_error("transaction"))
}

async fn commit(tx: Transaction<'_>) -> Result<(), StoreError> {
    tx.commit().await.map_err(pg_error("commit"))
}

/// Runs a cached statement of the hot path (prepared once per pooled connection).
async fn run(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    what: &str,
) -> Result<u64, StoreError> {
    let statement = tx.prepare_cached(sql).await.map_err(pg_error(what))?;
    tx.execute(&statement, params).await.map_err(pg_error(what))
}

/// Inserts or replaces accounts of `tenant` and moves their e-mail index rows.
pub(super) async fn put_users(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    users: &[&User],
) -> Result<(), StoreError> {
    let latest = latest_by_id(users.iter().copied(), |u| u.id.as_str());
    if latest.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(latest.len());
    let mut integrations = Vec::with_capacity(latest.len());
    let mut externals = Vec::with_capacity(latest.len());
    let mut docs = Vec::with_capacity(latest.len());
    // (e-mail, account) in the index's key order.
    let mut pairs = BTreeSet::new();
    for (id, user) in &latest {
        ids.push(*id);
        integrations.push(user.integration_id.as_str());
        externals.push(nul::text(&user.external_id));
        docs.push(to_doc(*user)?);
        pairs.extend(user_emails(user).into_iter().map(|e| (e, *id)));
    }
    let written = run(
        tx,
        UPSERT_USERS,
        &[&tenant.as_str(), &ids, &integrations, &externals, &docs],
        "users",
    )
    .await?;
    if usize::try_from(written).ok() != Some(ids.len()) {
        return Err(StoreError::Conflict("a user id of another tenant".into()));
    }
    let (emails, owners): (Vec<&str>, Vec<&str>) =
        pairs.iter().map(|(e, id)| (e.as_str(), *id)).unzip();
    run(
        tx,
        DROP_USER_EMAILS,
        &[&tenant.as_str(), &ids, &emails, &owners],
        "user e-mails",
    )
    .await?;
    if !emails.is_empty() {
        run(
            tx,
            ADD_USER_EMAILS,
            &[&tenant.as_str(), &emails, &owners],
            "user e-mails",
        )
        .await?;
    }
    Ok(())
}

/// Inserts or replaces identities of `tenant` and moves their e-mails: each identity claims
/// its e-mails (one taken from another identity moves to it; of two identities of the batch
/// claiming one, the later wins, as with sled's one-by-one puts) and loses those it no longer
/// lists. An e-mail the identity dropped is removed only if it still points at it, so
/// rewriting an identity never takes an e-mail away from the identity that now holds it.
pub(super) async fn put_identities_of(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    people: &[&Identity],
) -> Result<(), StoreError> {
    let latest = latest_by_id(people.iter().copied(), |i| i.id.as_str());
    if latest.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(latest.len());
    let mut docs = Vec::with_capacity(latest.len());
    for (id, identity) in &latest {
        ids.push(*id);
        docs.push(to_doc(*identity)?);
    }
    // Claims in batch order (only each id's last version claims), later ones winning; the map
    // then yields them in the index's key order.
    let mut claims: BTreeMap<String, &str> = BTreeMap::new();
    for identity in people {
        let id = identity.id.as_str();
        if latest
            .get(id)
            .is_some_and(|last| std::ptr::eq(*last, *identity))
        {
            for email in &identity.emails {
                claims.insert(nul::text(&email.to_lowercase()).into_owned(), id);
            }
        }
    }
    let written = run(
        tx,
        UPSERT_IDENTITIES,
        &[&tenant.as_str(), &ids, &docs],
        "identities",
    )
    .await?;
    if usize::try_from(written).ok() != Some(ids.len()) {
        return Err(StoreError::Conflict(
            "an identity id of another tenant".into(),
        ));
    }
    let (emails, owners): (Vec<&str>, Vec<&str>) =
        claims.iter().map(|(e, id)| (e.as_str(), *id)).unzip();
    run(
        tx,
        DROP_IDENTITY_EMAILS,
        &[&tenant.as_str(), &ids, &emails, &owners],
        "identity e-mails",
    )
    .await?;
    if !emails.is_empty() {
        run(
            tx,
            CLAIM_IDENTITY_EMAILS,
            &[&tenant.as_str(), &emails, &owners],
            "identity e-mails",
        )
        .await?;
    }
    Ok(())
}

/// A column of a row, or [`StoreError::Corrupt`] when it is not of the expected type.
fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
}

/// The record in a `doc` column.
fn doc_at<T: DeserializeOwned>(row: &Row, index: usize) -> Result<T, StoreError> {
    from_doc(column(row, index)?)
}

/// A paged read of `(id, doc)` rows of one tenant in id order.
struct Scan<'a> {
    /// The query: `$1` the tenant, `$2` the id to read after (or NULL), `$3` how many rows,
    /// then `extra`.
    sql: &'static str,
    extra: Vec<&'a (dyn ToSql + Sync)>,
    /// The table read, to look past a full page.
    table: &'static str,
    /// Whether `sql` leaves out some of the tenant's rows.
    narrowed: bool,
    /// Whether the page's `keep` may refuse rows `sql` returns (then rows are read in chunks).
    sifted: bool,
}

/// One page of the records `keep` accepts among the rows `scan` reads after the request's
/// cursor. The cursor is sled's: the page's last id when the page is full and any record of
/// the tenant, accepted or not, follows it.
async fn filtered_page<T: DeserializeOwned>(
    client: &impl GenericClient,
    scan: &Scan<'_>,
    tenant: &TenantId,
    page: &PageRequest,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, StoreError> {
    let chunk = if scan.sifted {
        fetch_limit(page).max(SCAN_CHUNK)
    } else {
        fetch_limit(page)
    };
    let tenant_id = tenant.as_str();
    let mut after = page.cursor.clone();
    let mut items = Vec::new();
    loop {
        let rows = {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tenant_id, &after, &chunk];
            params.extend(scan.extra.iter().copied());
            client
                .query(scan.sql, &params)
                .await
                .map_err(pg_error(scan.table))?
        };
        let count = rows.len();
        for (n, row) in rows.iter().enumerate() {
            let id: String = column(row, 0)?;
            let record: T = doc_at(row, 1)?;
            if keep(&record) {
                items.push(record);
                if items.len() == page.limit {
                    let more = n + 1 < count
                        || ((scan.narrowed || i64::try_from(count).ok() == Some(chunk))
                            && any_after(client, scan.table, tenant, &id).await?);
                    return Ok(Page {
                        items,
                        next_cursor: more.then_some(id),
                    });
                }
            }
            after = Some(id);
        }
        if i64::try_from(count).map_or(true, |count| count < chunk) {
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
    }
}

/// Whether the tenant has any row in `table` after the id `after`.
async fn any_after(
    client: &impl GenericClient,
    table: &'static str,
    tenant: &TenantId,
    after: &str,
) -> Result<bool, StoreError> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = $1 AND id > $2)");
    let row = client
        .query_one(sql.as_str(), &[&tenant.as_str(), &after])
        .await
        .map_err(pg_error(table))?;
    column(&row, 0)
}
