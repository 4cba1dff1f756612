//! The PostgreSQL backend ([`PgStore`]): the store traits over a connection pool, for several
//! gatehouse replicas sharing one database.
//!
//! Every record is kept as its serde JSON in a `doc jsonb` column (the same encoding the sled
//! backend writes), beside the columns its lookups need. Every tenant-owned table has a
//! `tenant_id` column and every query names the tenant in its WHERE clause, so one tenant never
//! reaches another's rows. A call returns once PostgreSQL has committed its transaction, which
//! is durable with the server's default `synchronous_commit`.
//!
//! The schema is versioned ([`schema`]): start-up applies the migrations a database lacks, under
//! an advisory lock so that replicas starting together do it once, and refuses a database whose
//! schema is newer than this binary.

mod cursor_moves;
mod directory;
mod events;
mod export;
mod group_commit;
mod leases;
mod nul;
mod response;
mod retry;
mod schema;
mod scim;
mod tenancy;
mod tls;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use gatehouse_core::model::Policy;
use gatehouse_core::model::{
    Action, ApiKey, Detection, Group, Identity, Integration, RiskPoint, SealedSecret, SignInEvent,
    SyncCursor, SyncStatus, Tenant, TokenKind, TokenRecord, User,
};
use gatehouse_core::{
    ActionId, ApiKeyId, DetectionId, GroupId, IdentityId, IntegrationId, PolicyId, SignInId,
    TenantId, UserId,
};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;

use retry::retrying;

use crate::{
    ActionFilter, CursorMove, DetectionFilter, IdentityFilter, InventoryRows, Locatable, Page,
    PageRequest, ScimWrite, SignInFilter, SignInSubject, StoreError, UserFilter,
};
use crate::{
    DirectoryStore, OperationsStore, ResponseStore, ScimStore, SignInStore, SyncStateStore,
    TenancyStore,
};

pub use schema::SCHEMA_VERSION;

/// How to reach the database.
#[derive(Clone)]
pub struct PgOptions {
    /// A libpq connection string or `postgres://` URL. It may hold a password: never log it.
    pub url: String,
    /// Connections in the pool.
    pub pool_size: usize,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &"<redacted>")
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 16,
        }
    }
}

/// The PostgreSQL store: a connection pool and the schema it was opened with.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    probe: Arc<Mutex<Option<Instant>>>,
    /// Pushed sign-ins of concurrent deliveries, committed together.
    group_commit: group_commit::GroupCommit,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// The longest a call waits for a pooled connection. Waits are normally milliseconds; one this
/// long means every connection is stuck, and failing the call (an error the caller reports or
/// retries) beats queueing every later request behind them for good.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long a successful write probe answers for `/readyz` before it is made again.
const PROBE_INTERVAL: Duration = Duration::from_secs(5);

impl PgStore {
    /// Connects, applies the migrations the database lacks and checks the schema version.
    pub async fn connect(options: &PgOptions) -> Result<Self, StoreError> {
        let prepared = tls::prepare(&options.url);
        // tokio-postgres's parse errors never echo the string, so a password cannot leak here.
        let config = tokio_postgres::Config::from_str(&prepared.url).map_err(|e| {
            StoreError::Backend(format!("the PostgreSQL connection string is invalid: {e}"))
        })?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        // Over Unix sockets there is no TLS (and no hostname to verify): rustls' connector
        // cannot even be made for them.
        let sockets_only = config
            .get_hosts()
            .iter()
            .all(|host| !matches!(host, tokio_postgres::config::Host::Tcp(_)));
        let manager = if sockets_only {
            Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        } else {
            Manager::from_config(
                config,
                tls::connector(prepared.root_cert.as_ref())?,
                manager_config,
            )
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(POOL_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("PostgreSQL pool: {e}")))?;
        let store = Self {
            group_commit: group_commit::GroupCommit::start(pool.clone()),
            pool,
            probe: Arc::new(Mutex::new(None)),
        };
        let mut client = store.client().await?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// One record of `table` (keyed by `id`, with `tenant_id` and `doc`) in the tenant.
    pub(crate) async fn get_doc<T: DeserializeOwned>(
        &self,
        table: &'static str,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT doc FROM {table} WHERE tenant_id = $1 AND id = $2"),
                &[&tenant.as_str(), &id],
            )
            .await
            .map_err(pg_error(table))?;
        row.map(|row| from_doc(row.get(0))).transpose()
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Closed => StoreError::Closed,
            deadpool_postgres::PoolError::Timeout(_) => StoreError::Backend(format!(
                "no PostgreSQL connection came free within {} s",
                POOL_WAIT.as_secs()
            )),
            other => StoreError::Backend(format!("no PostgreSQL connection: {other}")),
        })
    }
}

/// Maps a driver error; a unique violation becomes [`StoreError::Conflict`] naming `what`.
pub(crate) fn pg_error(what: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |err| {
        let code = err.code();
        if code == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict(what.to_string())
        } else if code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || code == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        {
            StoreError::Contended(what.to_string())
        } else {
            StoreError::Backend(format!("PostgreSQL ({what}): {err}"))
        }
    }
}

/// A record's JSON for a `jsonb` parameter.
pub(crate) fn to_doc<T: serde::Serialize>(record: &T) -> Result<serde_json::Value, StoreError> {
    let mut doc = serde_json::to_value(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    nul::scrub(&mut doc);
    Ok(doc)
}

/// A record from its `doc` column.
pub(crate) fn from_doc<T: DeserializeOwned>(doc: serde_json::Value) -> Result<T, StoreError> {
    serde_json::from_value(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Rows to ask for to fill `page`: one more than its limit, to learn whether a next page exists.
pub(crate) fn fetch_limit(page: &PageRequest) -> i64 {
    i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX)
}

/// A page from up to `limit + 1` items read in key order after the request's cursor (the
/// sled backend's paging: the next cursor is the last item's key, set only when more follow).
pub(crate) fn page_of<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    key: impl Fn(&T) -> String,
) -> Page<T> {
    let more = items.len() > page.limit;
    items.truncate(page.limit);
    let next_cursor = if more { items.last().map(key) } else { None };
    Page { items, next_cursor }
}

#[async_trait]
impl OperationsStore for PgStore {
    async fn size_on_disk(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .map_err(pg_error("database size"))?;
        let bytes: i64 = row.get(0);
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        let mut last = self.probe.lock().await;
        if last.is_some_and(|at| at.elapsed() < PROBE_INTERVAL) {
            return Ok(());
        }
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO gatehouse_probe (id, probed_at) VALUES (1, now()) \
                 ON CONFLICT (id) DO UPDATE SET probed_at = now()",
                &[],
            )
            .await
            .map_err(pg_error("write probe"))?;
        *last = Some(Instant::now());
        Ok(())
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.pool.close();
        Ok(())
    }
}
#[async_trait]
impl TenancyStore for PgStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        retrying(|| self.create_tenant_sql(tenant)).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get_tenant_sql(id).await
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        self.list_tenants_sql(page).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        retrying(|| self.update_tenant_sql(tenant)).await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError> {
        retrying(|| self.delete_tenant_sql(id)).await
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.find_token_sql(hash).await
    }

    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        retrying(|| self.put_token_sql(token)).await
    }

    async fn has_token_of_kind(&self, kind: TokenKind) -> Result<bool, StoreError> {
        self.has_token_of_kind_sql(kind).await
    }

    async fn create_api_key(&self, key: &ApiKey, token: &TokenRecord) -> Result<(), StoreError> {
        retrying(|| self.create_api_key_sql(key, token)).await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.list_api_keys_sql(tenant).await
    }

    async fn delete_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> Result<bool, StoreError> {
        retrying(|| self.delete_api_key_sql(tenant, id)).await
    }

    async fn create_integration(
        &self,
        integration: &Integration,
        tokens: &[TokenRecord],
    ) -> Result<(), StoreError> {
        retrying(|| self.create_integration_sql(integration, tokens)).await
    }

    async fn get_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        self.get_integration_sql(tenant, id).await
    }

    async fn list_integrations(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Integration>, StoreError> {
        self.list_integrations_sql(tenant, page).await
    }

    async fn all_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        self.all_integrations_sql().await
    }

    async fn update_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        retrying(|| self.update_integration_sql(integration)).await
    }

    async fn rotate_integration_token(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        new_token: &TokenRecord,
        sealed: Option<&SealedSecret>,
    ) -> Result<Integration, StoreError> {
        retrying(|| self.rotate_integration_token_sql(tenant, id, new_token, sealed)).await
    }

    async fn delete_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<bool, StoreError> {
        retrying(|| self.delete_integration_sql(tenant, id)).await
    }

    async fn locate(&self, kind: Locatable, id: &str) -> Result<Option<TenantId>, StoreError> {
        self.locate_sql(kind, id).await
    }

    async fn list_tokens(&self, page: &PageRequest) -> Result<Page<TokenRecord>, StoreError> {
        self.list_tokens_sql(page).await
    }
}

#[async_trait]
impl DirectoryStore for PgStore {
    async fn upsert_users(&self, tenant: &TenantId, users: &[User]) -> Result<(), StoreError> {
        retrying(|| self.upsert_users_sql(tenant, users)).await
    }

    async fn upsert_users_with_identities(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        retrying(|| self.upsert_users_with_identities_sql(tenant, users, identities)).await
    }

    async fn upsert_users_with_identities_moving(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
        // PostgreSQL's upserts find what they replace themselves.
        _drawn: &crate::DrawnIds,
        cursor: &CursorMove,
    ) -> Result<(), StoreError> {
        retrying(|| self.upsert_users_with_identities_moving_sql(tenant, users, identities, cursor))
            .await
    }

    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_user_sql(tenant, id).await
    }

    async fn update_users(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
        change: &(dyn for<'u> Fn(&'u mut User) -> bool + Send + Sync),
    ) -> Result<usize, StoreError> {
        retrying(|| self.update_users_sql(tenant, ids, change)).await
    }

    async fn get_users(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        self.get_users_sql(tenant, ids).await
    }

    async fn find_user_by_external_id(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        self.find_user_by_external_id_sql(tenant, integration, external_id)
            .await
    }

    async fn find_users_by_external_ids(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_ids: &[String],
    ) -> Result<Vec<Option<User>>, StoreError> {
        self.find_users_by_external_ids_sql(tenant, integration, external_ids)
            .await
    }

    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<User>, StoreError> {
        self.find_users_by_email_sql(tenant, email).await
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.list_users_sql(tenant, filter, page).await
    }

    async fn upsert_groups(&self, tenant: &TenantId, groups: &[Group]) -> Result<(), StoreError> {
        retrying(|| self.upsert_groups_sql(tenant, groups)).await
    }

    async fn delete_groups(&self, tenant: &TenantId, ids: &[GroupId]) -> Result<usize, StoreError> {
        retrying(|| self.delete_groups_sql(tenant, ids)).await
    }

    async fn get_group(
        &self,
        tenant: &TenantId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        self.get_group_sql(tenant, id).await
    }

    async fn list_groups(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Group>, StoreError> {
        self.list_groups_sql(tenant, page).await
    }

    async fn put_identities(&self, identities: &[Identity]) -> Result<(), StoreError> {
        retrying(|| self.put_identities_sql(identities)).await
    }

    async fn get_identity(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Option<Identity>, StoreError> {
        self.get_identity_sql(tenant, id).await
    }

    async fn find_identity_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<Identity>, StoreError> {
        self.find_identity_by_email_sql(tenant, email).await
    }

    async fn find_identities_by_emails(
        &self,
        tenant: &TenantId,
        emails: &[String],
    ) -> Result<Vec<Option<Identity>>, StoreError> {
        self.find_identities_by_emails_sql(tenant, emails).await
    }

    async fn record_identity_risk(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
        score: u8,
        time: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        retrying(|| self.record_identity_risk_sql(tenant, id, score, time)).await
    }

    async fn identity_risk_history(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Vec<RiskPoint>, StoreError> {
        self.identity_risk_history_sql(tenant, id).await
    }

    async fn list_identities(
        &self,
        tenant: &TenantId,
        filter: &IdentityFilter,
        page: &PageRequest,
    ) -> Result<Page<Identity>, StoreError> {
        self.list_identities_sql(tenant, filter, page).await
    }

    async fn delete_user(&self, tenant: &TenantId, id: &UserId) -> Result<bool, StoreError> {
        retrying(|| self.delete_user_sql(tenant, id)).await
    }
}

#[async_trait]
impl SignInStore for PgStore {
    async fn insert_signins(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        // Every write commits: a deferred one is durable at once.
        _durability: crate::Durability,
    ) -> Result<Vec<usize>, StoreError> {
        retrying(|| self.insert_signins_sql(tenant, events)).await
    }

    async fn insert_signins_moving(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        cursor: &CursorMove,
    ) -> Result<Vec<usize>, StoreError> {
        retrying(|| self.insert_signins_moving_sql(tenant, events, cursor)).await
    }

    async fn commit_deferred(&self) -> Result<(), StoreError> {
        // Nothing is deferred: every insert committed before it returned.
        Ok(())
    }

    async fn signins_about(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_about_sql(tenant, subject, from, to, limit)
            .await
    }

    async fn get_signin(
        &self,
        tenant: &TenantId,
        id: &gatehouse_core::SignInId,
    ) -> Result<Option<SignInEvent>, StoreError> {
        self.get_signin_sql(tenant, id).await
    }

    async fn signins_near(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_near_sql(tenant, subject, window, around, each_side)
            .await
    }

    async fn list_signins(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
        page: &PageRequest,
    ) -> Result<Page<SignInEvent>, StoreError> {
        self.list_signins_sql(tenant, filter, page).await
    }
}

#[async_trait]
impl SyncStateStore for PgStore {
    async fn get_cursor(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
    ) -> Result<Option<SyncCursor>, StoreError> {
        self.get_cursor_sql(tenant, integration, name).await
    }

    async fn put_cursor(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
        cursor: &SyncCursor,
    ) -> Result<(), StoreError> {
        retrying(|| self.put_cursor_sql(tenant, integration, name, cursor)).await
    }

    async fn move_cursor(&self, tenant: &TenantId, cursor: &CursorMove) -> Result<(), StoreError> {
        retrying(|| self.move_cursor_sql(tenant, cursor)).await
    }

    async fn get_sync_status(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        self.get_sync_status_sql(tenant, integration).await
    }

    async fn put_sync_status(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        retrying(|| self.put_sync_status_sql(tenant, integration, status)).await
    }

    async fn list_cursors(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Vec<(String, SyncCursor)>, StoreError> {
        self.list_cursors_sql(tenant, integration).await
    }
}

#[async_trait]
impl ResponseStore for PgStore {
    async fn put_detection(&self, detection: &Detection, subject: &str) -> Result<(), StoreError> {
        retrying(|| self.put_detection_sql(detection, subject)).await
    }

    async fn delete_detection(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<bool, StoreError> {
        retrying(|| self.delete_detection_sql(tenant, id)).await
    }

    async fn detections_about(
        &self,
        tenant: &TenantId,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StoreError> {
        self.detections_about_sql(tenant, subject, since).await
    }

    async fn detections_about_each(
        &self,
        tenant: &TenantId,
        subjects: &[String],
        since: DateTime<Utc>,
    ) -> Result<Vec<Vec<Detection>>, StoreError> {
        self.detections_about_each_sql(tenant, subjects, since)
            .await
    }

    async fn get_detection(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<Option<Detection>, StoreError> {
        self.get_detection_sql(tenant, id).await
    }

    async fn list_detections(
        &self,
        tenant: &TenantId,
        filter: &DetectionFilter,
        page: &PageRequest,
    ) -> Result<Page<Detection>, StoreError> {
        self.list_detections_sql(tenant, filter, page).await
    }

    async fn put_action(&self, action: &Action) -> Result<(), StoreError> {
        retrying(|| self.put_action_sql(action)).await
    }

    async fn get_action(
        &self,
        tenant: &TenantId,
        id: &ActionId,
    ) -> Result<Option<Action>, StoreError> {
        self.get_action_sql(tenant, id).await
    }

    async fn create_action(&self, action: &Action) -> Result<Option<Action>, StoreError> {
        retrying(|| self.create_action_sql(action)).await
    }

    async fn find_action_by_key(
        &self,
        tenant: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Action>, StoreError> {
        self.find_action_by_key_sql(tenant, idempotency_key).await
    }

    async fn list_actions(
        &self,
        tenant: &TenantId,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<Action>, StoreError> {
        self.list_actions_sql(tenant, filter, page).await
    }

    async fn open_actions(&self) -> Result<Vec<Action>, StoreError> {
        self.open_actions_sql().await
    }

    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        retrying(|| self.put_policy_sql(policy)).await
    }

    async fn get_policy(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<Option<Policy>, StoreError> {
        self.get_policy_sql(tenant, id).await
    }

    async fn list_policies(&self, tenant: &TenantId) -> Result<Vec<Policy>, StoreError> {
        self.list_policies_sql(tenant).await
    }

    async fn delete_policy(&self, tenant: &TenantId, id: &PolicyId) -> Result<bool, StoreError> {
        retrying(|| self.delete_policy_sql(tenant, id)).await
    }

    async fn list_detection_subjects(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<(String, DetectionId)>, StoreError> {
        self.list_detection_subjects_sql(tenant, page).await
    }
}

#[async_trait]
impl ScimStore for PgStore {
    async fn scim_create(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        rows: &InventoryRows,
    ) -> Result<(), StoreError> {
        retrying(|| self.scim_create_sql(tenant, integration, kind, resource, rows)).await
    }

    async fn scim_replace(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        expected: &str,
        rows: &InventoryRows,
    ) -> Result<ScimWrite, StoreError> {
        retrying(|| self.scim_replace_sql(tenant, integration, kind, resource, expected, rows))
            .await
    }

    async fn scim_delete(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
        expected: Option<&str>,
    ) -> Result<ScimWrite, StoreError> {
        retrying(|| self.scim_delete_sql(tenant, integration, kind, id, expected)).await
    }

    async fn scim_get(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.scim_get_sql(tenant, integration, kind, id).await
    }

    async fn scim_find(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        attr: &str,
        value: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        self.scim_find_sql(tenant, integration, kind, attr, value)
            .await
    }

    async fn scim_scan(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        self.scim_scan_sql(tenant, integration, kind, after, limit)
            .await
    }

    async fn scim_groups_of(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        member: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.scim_groups_of_sql(tenant, integration, member).await
    }
}
