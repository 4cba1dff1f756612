//! The inventory store: one async trait ([`Store`]) for everything Gatehouse keeps, and its
//! embedded sled backend ([`SledStore`]) with group commit, and the push inbox's [`journal`]
//! (an append-only log with its own group commit).
//!
//! Architecture invariants: this is the only crate that touches sled. Every tenant-owned record is
//! read and written through a [`TenantId`], and the backend builds every key from it, so one tenant
//! can never reach another's rows by construction. A mutating call returns only once its writes are
//! durable (see docs/DURABILITY.md).

mod durability;
mod error;
pub mod journal;
mod postgres;
mod query;
mod shared;
mod sled_store;

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_core::model::Policy;
use gatehouse_core::model::{
    Action, ApiKey, Detection, Group, Identity, Integration, RiskPoint, SealedSecret, SignInEvent,
    SyncCursor, SyncStatus, Tenant, TokenKind, TokenRecord, User,
};
use gatehouse_core::{
    ActionId, ApiKeyId, DetectionId, GroupId, IdentityId, IntegrationId, PolicyId, SignInId,
    TenantId, UserId,
};

pub use durability::{FatalSignal, FaultInjector};
pub use error::StoreError;
pub use postgres::{PgOptions, PgStore, SCHEMA_VERSION};
pub use query::{
    ActionFilter, DetectionFilter, IdentityFilter, KnownSignIns, Page, PageRequest, SignInFilter,
    UserFilter, UserSyncMark,
};
pub use sled_store::ScimWrite;
pub use sled_store::{SledStore, StoreOptions};

/// Kinds of globally unique ids whose owning tenant the store can look up (the operator key
/// addresses resources by id alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locatable {
    Integration,
    User,
    Identity,
    Detection,
    Action,
    Policy,
}

/// Inventory rows written with a SCIM write, in the same transaction and durable commit: the
/// SCIM User's inventory account and the identities its correlation changed. Empty for Groups.
#[derive(Debug, Clone, Default)]
pub struct InventoryRows {
    pub users: Vec<User>,
    pub identities: Vec<Identity>,
    /// Which of these rows' ids were drawn for them by the call that made the rows.
    pub drawn: DrawnIds,
}

/// When a write must be durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Before the call returns.
    Now,
    /// Visible when the call returns, durable once [`SignInStore::commit_deferred`] returns: for
    /// a caller that keeps its own durable copy of what it wrote until then (the push inbox's
    /// journal), so that many writes share one commit. A backend whose every write commits
    /// (PostgreSQL) treats it as [`Durability::Now`].
    Deferred,
}

/// Ids the caller drew just now for an account or a person it met for the first time:
/// nothing can be stored under them yet, so a backend may write those rows without reading
/// the record they would replace (on sled, a read per row that the first pull of a large
/// directory spent a tenth of its time on). Leaving an id out is always correct; putting in
/// one that is stored is not (its old index entries would be left behind).
#[derive(Debug, Clone, Default)]
pub struct DrawnIds {
    pub users: BTreeSet<UserId>,
    pub identities: BTreeSet<IdentityId>,
}

impl DrawnIds {
    /// No id drawn: every row may replace a stored record.
    pub const NONE: DrawnIds = DrawnIds {
        users: BTreeSet::new(),
        identities: BTreeSet::new(),
    };
}

/// A pull's cursor moving on with the page read at it: written in the same commit as the page,
/// and only while the cursor still holds `from` (`None`: unset or empty). Otherwise the write
/// fails with [`StoreError::CursorMoved`]: another puller moved it.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorMove {
    pub integration: IntegrationId,
    pub name: String,
    pub from: Option<String>,
    pub to: SyncCursor,
}

impl CursorMove {
    /// Whether a stored cursor value is the one this move starts from.
    pub fn starts_at(&self, stored: Option<&str>) -> bool {
        let stored = stored.filter(|v| !v.is_empty());
        let from = self.from.as_deref().filter(|v| !v.is_empty());
        stored == from
    }

    /// What the error names when the cursor moved.
    pub fn describe(&self) -> String {
        format!("{} of integration {}", self.name, self.integration)
    }
}

/// What a group of sign-ins is about, for the risk engine's windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInSubject<'a> {
    /// Matched to an inventory account.
    User(&'a UserId),
    /// Not matched: by the provider login, lower-cased.
    Login(&'a str),
    Ip(&'a str),
    Session(&'a str),
}

/// Everything Gatehouse persists, one trait per aggregate. Implemented by the embedded sled
/// backend ([`SledStore`]) and the PostgreSQL backend ([`PgStore`]); callers hold an
/// `Arc<dyn Store>` and never see which (bring the traits into scope with
/// `use gatehouse_store::prelude::*`).
pub trait Store:
    TenancyStore
    + DirectoryStore
    + SignInStore
    + SyncStateStore
    + ResponseStore
    + ScimStore
    + OperationsStore
    + LeaseStore
{
}

impl<T> Store for T where
    T: TenancyStore
        + DirectoryStore
        + SignInStore
        + SyncStateStore
        + ResponseStore
        + ScimStore
        + OperationsStore
        + LeaseStore
{
}

/// The store traits, for calling their methods on an `Arc<dyn Store>`.
pub mod prelude {
    pub use crate::{
        DirectoryStore, LeaseStore, OperationsStore, ResponseStore, ScimStore, SignInStore, Store,
        SyncStateStore, TenancyStore,
    };
}

/// Tenants, their tokens and API keys, integrations, and which tenant owns an id.
#[async_trait]
pub trait TenancyStore: Send + Sync + 'static {
    /// Fails with [`StoreError::Conflict`] when the id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError>;
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Removes the tenant and every record and token it owns. Returns whether it existed.
    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError>;
    /// Finds who a token hash authenticates; the one lookup not scoped by tenant.
    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Stores a token that belongs to no integration (the operator key).
    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    /// Any stored token of a kind (used to learn whether an operator key exists).
    async fn has_token_of_kind(&self, kind: TokenKind) -> Result<bool, StoreError>;
    async fn create_api_key(&self, key: &ApiKey, token: &TokenRecord) -> Result<(), StoreError>;
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError>;
    /// Deletes the key and its token. Returns whether it existed.
    async fn delete_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> Result<bool, StoreError>;
    /// Stores a new integration together with the tokens issued for it, atomically.
    async fn create_integration(
        &self,
        integration: &Integration,
        tokens: &[TokenRecord],
    ) -> Result<(), StoreError>;
    async fn get_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Option<Integration>, StoreError>;
    async fn list_integrations(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Integration>, StoreError>;
    /// Every integration of every tenant, for the scheduler at start-up.
    async fn all_integrations(&self) -> Result<Vec<Integration>, StoreError>;
    /// Replaces an existing integration record (config, credentials, sync status).
    async fn update_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    /// Swaps an integration's ingest or SCIM token: the old hash stops authenticating in the same
    /// atomic write that stores the new one (and, for an ingest token, `sealed`, the new token
    /// sealed for [`Integration::push_token`]). Returns the updated integration.
    async fn rotate_integration_token(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        new_token: &TokenRecord,
        sealed: Option<&SealedSecret>,
    ) -> Result<Integration, StoreError>;
    /// Deletes the integration, its tokens and cursors. Returns whether it existed.
    async fn delete_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<bool, StoreError>;
    /// The tenant owning a globally unique id, if any.
    async fn locate(&self, kind: Locatable, id: &str) -> Result<Option<TenantId>, StoreError>;
    /// For export (`gatehouse store migrate`): one page of every stored token, of every kind
    /// and tenant, in hash order; the cursor is the last hash of the page.
    async fn list_tokens(&self, page: &PageRequest) -> Result<Page<TokenRecord>, StoreError>;
}

/// The normalized inventory: accounts, groups, identities and their risk history.
#[async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// Inserts or replaces users (keyed by `id`), keeping the external-id and e-mail indexes.
    async fn upsert_users(&self, tenant: &TenantId, users: &[User]) -> Result<(), StoreError>;
    /// [`upsert_users`](Self::upsert_users) and [`put_identities`](Self::put_identities) in one
    /// durable commit (accounts first: an identity never names an account not yet stored).
    async fn upsert_users_with_identities(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
    ) -> Result<(), StoreError>;
    /// [`upsert_users_with_identities`](Self::upsert_users_with_identities) and the pull's
    /// cursor move in one commit (a pull's page and where the pull goes on from).
    async fn upsert_users_with_identities_moving(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
        drawn: &DrawnIds,
        cursor: &CursorMove,
    ) -> Result<(), StoreError>;
    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError>;
    /// Changes accounts atomically: `change` sees each stored record and says whether it
    /// changed it; no other write to those accounts lands between the reads and the writes, so
    /// two writers that each set their own fields (a pull's group memberships, an action's
    /// status) never undo each other. One durable commit; ids not stored are skipped. Returns
    /// how many accounts changed.
    async fn update_users(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
        change: &(dyn for<'u> Fn(&'u mut User) -> bool + Send + Sync),
    ) -> Result<usize, StoreError>;
    /// The stored accounts among `ids`, in no particular order (one read for a page that shows
    /// many accounts; ids not stored are left out).
    async fn get_users(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(user) = self.get_user(tenant, id).await? {
                users.push(user);
            }
        }
        Ok(users)
    }
    async fn find_user_by_external_id(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_id: &str,
    ) -> Result<Option<User>, StoreError>;
    /// [`find_user_by_external_id`](Self::find_user_by_external_id) for a page of provider
    /// ids at once, answered in their order (`None` where no account has that id): a pull's
    /// page makes one call, not one per account.
    async fn find_users_by_external_ids(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_ids: &[String],
    ) -> Result<Vec<Option<User>>, StoreError> {
        let mut found = Vec::with_capacity(external_ids.len());
        for external_id in external_ids {
            found.push(
                self.find_user_by_external_id(tenant, integration, external_id)
                    .await?,
            );
        }
        Ok(found)
    }
    /// Users whose e-mail (any of them, lower-cased) equals `email`.
    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<User>, StoreError>;
    async fn list_users(
        &self,
        tenant: &TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError>;
    /// An integration's accounts as [`UserSyncMark`]s, a page at a time, in the order of
    /// [`list_users`](Self::list_users). A backend that can read the marks without decoding
    /// whole accounts overrides this; the end of every full pull reads them all.
    async fn list_user_sync_marks(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        page: &PageRequest,
    ) -> Result<Page<UserSyncMark>, StoreError> {
        let filter = UserFilter {
            integration_id: Some(integration.clone()),
            ..UserFilter::default()
        };
        let users = self.list_users(tenant, &filter, page).await?;
        Ok(Page {
            items: users.items.into_iter().map(UserSyncMark::from).collect(),
            next_cursor: users.next_cursor,
        })
    }
    async fn upsert_groups(&self, tenant: &TenantId, groups: &[Group]) -> Result<(), StoreError>;
    /// Removes groups (those a complete groups pass no longer lists). One durable commit;
    /// returns how many existed.
    async fn delete_groups(&self, tenant: &TenantId, ids: &[GroupId]) -> Result<usize, StoreError>;
    async fn get_group(&self, tenant: &TenantId, id: &GroupId)
        -> Result<Option<Group>, StoreError>;
    async fn list_groups(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Group>, StoreError>;
    /// Inserts or replaces identities (one durable commit for the batch), keeping the e-mail index.
    async fn put_identities(&self, identities: &[Identity]) -> Result<(), StoreError>;
    async fn put_identity(&self, identity: &Identity) -> Result<(), StoreError> {
        self.put_identities(std::slice::from_ref(identity)).await
    }
    async fn get_identity(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Option<Identity>, StoreError>;
    async fn find_identity_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<Identity>, StoreError>;
    /// [`find_identity_by_email`](Self::find_identity_by_email) for many addresses at once,
    /// answered in their order.
    async fn find_identities_by_emails(
        &self,
        tenant: &TenantId,
        emails: &[String],
    ) -> Result<Vec<Option<Identity>>, StoreError> {
        let mut found = Vec::with_capacity(emails.len());
        for email in emails {
            found.push(self.find_identity_by_email(tenant, email).await?);
        }
        Ok(found)
    }
    /// Sets an identity's stored risk score to `score` and, when that differs from the last
    /// point of its risk history (or the history is empty), appends `{time, score}` to it,
    /// keeping the newest [`RiskPoint::HISTORY_CAP`] points: one durable transaction, so the
    /// score and its history never disagree. Returns whether a point was added; an identity not
    /// stored is left alone (false).
    async fn record_identity_risk(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
        score: u8,
        time: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// An identity's risk score over time, oldest first (empty when it never had one).
    async fn identity_risk_history(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Vec<RiskPoint>, StoreError>;
    /// One page of a tenant's identities in id order, those `filter` accepts (a prefix scan of
    /// the tenant's identities; the cursor is the last identity id of the page).
    async fn list_identities(
        &self,
        tenant: &TenantId,
        filter: &IdentityFilter,
        page: &PageRequest,
    ) -> Result<Page<Identity>, StoreError>;
    /// Removes an inventory user (SCIM deprovisioning with `deprovision: delete`), its indexes
    /// and its place among its identity's accounts. Returns whether it existed.
    async fn delete_user(&self, tenant: &TenantId, id: &UserId) -> Result<bool, StoreError>;
}

/// Sign-in events: deduplicated inserts and the risk engine's windows over them.
#[async_trait]
pub trait SignInStore: Send + Sync + 'static {
    /// Stores events not seen before and returns those that were new; replays and redeliveries
    /// are absorbed here. The dedupe key is the event's id, which callers derive from the
    /// integration and the provider's event id (`SignInId::derive`).
    /// Returns the positions (in `events`) of the events that were new. `durability` says
    /// whether the events must be durable when the call returns.
    async fn insert_signins(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        durability: Durability,
    ) -> Result<Vec<usize>, StoreError>;
    /// [`insert_signins`](Self::insert_signins) and the pull's cursor move in one commit.
    async fn insert_signins_moving(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        cursor: &CursorMove,
    ) -> Result<Vec<usize>, StoreError>;
    /// Makes every write made so far with [`Durability::Deferred`] durable.
    async fn commit_deferred(&self) -> Result<(), StoreError>;
    /// Sign-ins about one subject with `from <= time < to`, oldest first, at most `limit`.
    /// Like [`signins_near`](Self::signins_near), the risk engine's window read: the sign-ins
    /// come without their provider `raw` event, which the windows never read.
    async fn signins_about(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<SignInEvent>, StoreError>;
    /// One stored sign-in by its id.
    async fn get_signin(
        &self,
        tenant: &TenantId,
        id: &gatehouse_core::SignInId,
    ) -> Result<Option<SignInEvent>, StoreError>;
    /// Sign-ins about one subject with `from <= time < to` nearest to the sign-in `around` in
    /// (time, id) order: at most `each_side` before it and `each_side` from it on (itself
    /// included when stored), oldest first. The risk engine's bounded window over a hot key.
    /// This default reads the whole window; a backend should walk its index from `around`.
    async fn signins_near(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        let mut events = self
            .signins_about(tenant, subject, from, to, usize::MAX)
            .await?;
        events.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        let at = events.partition_point(|e| e.id.as_str() < around.as_str());
        let lo = at.saturating_sub(each_side);
        let hi = at.saturating_add(each_side).min(events.len());
        events.truncate(hi);
        events.drain(..lo);
        Ok(events)
    }
    /// [`signins_about`](Self::signins_about), with the events `known` holds taken from it
    /// instead of the store. This default reads them all (a backend whose query costs the same
    /// either way keeps it).
    async fn signins_about_known(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        limit: usize,
        _known: &KnownSignIns,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_about(tenant, subject, from, to, limit).await
    }
    /// [`signins_near`](Self::signins_near), with the events `known` holds taken from it.
    async fn signins_near_known(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
        _known: &KnownSignIns,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_near(tenant, subject, window, around, each_side)
            .await
    }
    async fn list_signins(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
        page: &PageRequest,
    ) -> Result<Page<SignInEvent>, StoreError>;
}

/// Where each pull stands: its cursors and what its last runs did.
#[async_trait]
pub trait SyncStateStore: Send + Sync + 'static {
    async fn get_cursor(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
    ) -> Result<Option<SyncCursor>, StoreError>;
    async fn put_cursor(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
        cursor: &SyncCursor,
    ) -> Result<(), StoreError>;
    /// Moves a pull's cursor if it still holds `cursor.from`.
    async fn move_cursor(&self, tenant: &TenantId, cursor: &CursorMove) -> Result<(), StoreError>;
    /// What the last pulls of an integration did.
    async fn get_sync_status(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<SyncStatus>, StoreError>;
    async fn put_sync_status(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        status: &SyncStatus,
    ) -> Result<(), StoreError>;
    /// For export (`gatehouse store migrate`): every cursor of one integration, as (name,
    /// cursor) in name order.
    async fn list_cursors(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Vec<(String, SyncCursor)>, StoreError>;
}

/// Leases: which replica does a piece of work that must run in one place at a time (a scheduled
/// pull of one integration). A lease is held until it expires unless its holder renews it, so
/// the work moves to another replica within one lease period of its holder's death.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes the lease `name` for `holder` for `ttl`, or renews it when `holder` has it. True
    /// when `holder` holds it on return; false while another holder's lease runs.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up, if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// Detections, response actions and response policies.
#[async_trait]
pub trait ResponseStore: Send + Sync + 'static {
    /// Inserts or replaces a detection, indexed under `subject` (`account:…`, `ip:…`, …).
    async fn put_detection(&self, detection: &Detection, subject: &str) -> Result<(), StoreError>;
    /// Removes a detection (folded into another, or its evidence retracted).
    async fn delete_detection(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<bool, StoreError>;
    /// Detections indexed under `subject` whose last evidence is at or after `since`.
    async fn detections_about(
        &self,
        tenant: &TenantId,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StoreError>;
    /// [`detections_about`](Self::detections_about) for each of `subjects`, in their order
    /// (one read for a page that scores many accounts).
    async fn detections_about_each(
        &self,
        tenant: &TenantId,
        subjects: &[String],
        since: DateTime<Utc>,
    ) -> Result<Vec<Vec<Detection>>, StoreError> {
        let mut found = Vec::with_capacity(subjects.len());
        for subject in subjects {
            found.push(self.detections_about(tenant, subject, since).await?);
        }
        Ok(found)
    }
    async fn get_detection(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<Option<Detection>, StoreError>;
    async fn list_detections(
        &self,
        tenant: &TenantId,
        filter: &DetectionFilter,
        page: &PageRequest,
    ) -> Result<Page<Detection>, StoreError>;
    /// Inserts or replaces an action; non-final actions are also indexed for the executor.
    async fn put_action(&self, action: &Action) -> Result<(), StoreError>;
    async fn get_action(
        &self,
        tenant: &TenantId,
        id: &ActionId,
    ) -> Result<Option<Action>, StoreError>;
    /// Writes a new action unless one with its idempotency key exists, as one transaction:
    /// `Ok(None)` when it was written, `Ok(Some(existing))` when the key was taken (the new
    /// action is not written). Two concurrent requests with one key thus create one action.
    async fn create_action(&self, action: &Action) -> Result<Option<Action>, StoreError>;
    /// An action with this idempotency key, if one was ever queued.
    async fn find_action_by_key(
        &self,
        tenant: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Action>, StoreError>;
    async fn list_actions(
        &self,
        tenant: &TenantId,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<Action>, StoreError>;
    /// Every action not yet final, across tenants: what the executor resumes at start.
    async fn open_actions(&self) -> Result<Vec<Action>, StoreError>;
    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError>;
    async fn get_policy(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<Option<Policy>, StoreError>;
    async fn list_policies(&self, tenant: &TenantId) -> Result<Vec<Policy>, StoreError>;
    async fn delete_policy(&self, tenant: &TenantId, id: &PolicyId) -> Result<bool, StoreError>;
    /// For export (`gatehouse store migrate`): one page of a tenant's detection subject index,
    /// as (subject, detection id) in that order, the entries of stored detections only (what
    /// [`put_detection`](Self::put_detection) was given). The cursor is opaque.
    async fn list_detection_subjects(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<(String, DetectionId)>, StoreError>;
}

/// SCIM Users and Groups of one tenant's SCIM integration, as their SCIM JSON (`meta`
/// included). `userName` is unique per tenant (across its SCIM integrations),
/// case-insensitively; reads stay scoped to one integration. `externalId`, `userName` and
/// `displayName` have equality indexes; group membership is indexed both ways.
#[async_trait]
pub trait ScimStore: Send + Sync + 'static {
    /// Stores a new resource (its `id` set) and `rows`, atomically, in one durable commit.
    /// [`StoreError::Conflict`] when its id, or its `userName` anywhere in the tenant, is taken;
    /// then nothing is written.
    async fn scim_create(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        rows: &InventoryRows,
    ) -> Result<(), StoreError>;
    /// Replaces the resource with `resource`'s id if its stored `meta.version` is `expected`,
    /// and writes `rows` with it (atomically, one durable commit; not when nothing is written).
    /// [`StoreError::Conflict`] when the new `userName` belongs to another User of the tenant.
    async fn scim_replace(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        expected: &str,
        rows: &InventoryRows,
    ) -> Result<ScimWrite, StoreError>;
    /// Deletes a resource (if its version is `expected`, when given) and its index entries.
    async fn scim_delete(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
        expected: Option<&str>,
    ) -> Result<ScimWrite, StoreError>;
    async fn scim_get(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    /// Candidates for `attr eq value` through an index (`attr`: `id`, `userName`, `externalId`
    /// or `displayName`; case-insensitive where the attribute is). The caller still evaluates
    /// its filter on them.
    async fn scim_find(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        attr: &str,
        value: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError>;
    /// One page of a scan in id order: up to `limit` resources after the id `after`.
    async fn scim_scan(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, StoreError>;
    /// The groups a resource is a direct member of, as (group id, group displayName).
    async fn scim_groups_of(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        member: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
}

/// The store's own health and lifecycle.
#[async_trait]
pub trait OperationsStore: Send + Sync + 'static {
    /// Bytes the store occupies on disk.
    async fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Proves the write path works: makes a small write durable, at most once per few seconds
    /// (a cached answer otherwise), and fails at once after a durability failure. For `/readyz`,
    /// so that a read-only or full disk shows as not ready.
    async fn probe_write(&self) -> Result<(), StoreError>;
    /// Makes everything written so far durable and stops the committer; later writes fail.
    async fn close(&self) -> Result<(), StoreError>;
}
