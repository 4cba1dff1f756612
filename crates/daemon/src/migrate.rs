//! Moving a store to another backend (`gatehouse store migrate`): copy everything one store
//! holds into an empty other, then count every kind of record on both sides.
//!
//! [`copy`] reads the source through the store traits a page at a time ([`BATCH`] records) and
//! writes to the target through the same traits' ordinary writes (`upsert_users`,
//! `insert_signins`, `put_detection`, `scim_create`, …), so every index the target keeps is
//! built as the daemon's own writes build it, and memory stays bounded however large the store.
//! Records are copied as they are: token hashes (never secrets), integrations' sealed
//! credentials (the same master key opens them), timestamps to the nanosecond. Leases are not
//! copied: they belong to running processes.
//!
//! Why this lives in the daemon's library rather than the store crate: the copy is an operator
//! procedure built on the traits (refusing a non-empty target, the embedded store's lock and
//! push inbox, progress and the count table), not a capability of either backend; the store
//! crate's surface grows only by the few enumerations export needs (`list_tokens`,
//! `list_cursors`, `list_detection_subjects`), and the daemon already owns opening backends. It
//! takes two `&dyn Store`, so it runs against any pair (the tests copy sled to sled and sled to
//! PostgreSQL).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::Path;

use gatehouse_core::model::{ApiKey, Identity, Integration, Tenant, TokenKind};
use gatehouse_core::{ApiKeyId, TenantId};
use gatehouse_scim::ResourceKind;
use gatehouse_store::journal::{Journal, JournalOptions};
use gatehouse_store::prelude::*;
use gatehouse_store::{
    ActionFilter, DetectionFilter, IdentityFilter, PageRequest, PgOptions, PgStore, SignInFilter,
    SledStore, Store, StoreError, StoreOptions, UserFilter,
};

/// Records read and written at once.
pub const BATCH: usize = 500;

/// Writes in flight at once where the traits write one record per call (actions, detections,
/// SCIM resources, risk histories): enough to keep a PostgreSQL pool busy.
const CONCURRENCY: usize = 8;

/// A progress line is printed after about this many records of one kind of one tenant.
const PROGRESS_EVERY: u64 = 10_000;

/// Where progress lines go (the command prints them to stderr).
pub type Progress<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// Why a migration stopped. Messages never hold a connection string.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{dir}: no embedded store here (no `db` file); give the daemon's data directory")]
    NoSource { dir: String },
    #[error(
        "{dir}: the embedded store is in use by another process (its lock is held): stop the \
         daemon first"
    )]
    SourceInUse { dir: String },
    #[error("cannot open the embedded store in {dir}: {message}")]
    OpenSource { dir: String, message: String },
    #[error(
        "{dir}: the push inbox holds {bytes} byte(s) of acknowledged pushes that may not be in \
         the store yet: start the daemon on the embedded store with no traffic for a few \
         seconds so that it stores them, stop it, and migrate again"
    )]
    InboxBacklog { dir: String, bytes: u64 },
    #[error("cannot read the push inbox in {dir}: {message}")]
    Inbox { dir: String, message: String },
    #[error("cannot open the PostgreSQL store: {0}")]
    OpenTarget(StoreError),
    #[error(
        "the target already holds {what}: migrate into an empty database (nothing was written)"
    )]
    TargetNotEmpty { what: &'static str },
    #[error("{what}: {source}")]
    Store {
        what: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "{0}; the target now holds a partial copy: drop and recreate its database (or empty \
         it) before migrating again"
    )]
    Partial(Box<MigrateError>),
}

/// Wraps a store error with what was being done.
fn failed(what: impl std::fmt::Display) -> impl FnOnce(StoreError) -> MigrateError {
    let what = what.to_string();
    move |source| MigrateError::Store { what, source }
}

/// How many records of each kind a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tenants: u64,
    /// Every token hash: the operator key, tenant API keys, ingest, SCIM and OAuth tokens.
    pub tokens: u64,
    pub api_keys: u64,
    pub integrations: u64,
    pub sync_statuses: u64,
    pub cursors: u64,
    pub users: u64,
    pub groups: u64,
    pub identities: u64,
    /// Points of identities' risk histories.
    pub risk_points: u64,
    pub signins: u64,
    pub detections: u64,
    /// Entries of the detection subject index (a detection has one or more).
    pub detection_subjects: u64,
    pub actions: u64,
    /// Actions not yet final (what the executor resumes), across tenants.
    pub open_actions: u64,
    pub policies: u64,
    pub scim_users: u64,
    pub scim_groups: u64,
    /// (group, member) pairs of SCIM Groups.
    pub scim_memberships: u64,
}

impl Counts {
    /// Every count with its name, in the table's order.
    pub fn rows(&self) -> [(&'static str, u64); 19] {
        [
            ("tenants", self.tenants),
            ("tokens", self.tokens),
            ("API keys", self.api_keys),
            ("integrations", self.integrations),
            ("sync statuses", self.sync_statuses),
            ("sync cursors", self.cursors),
            ("users", self.users),
            ("groups", self.groups),
            ("identities", self.identities),
            ("risk history points", self.risk_points),
            ("sign-ins", self.signins),
            ("detections", self.detections),
            ("detection subjects", self.detection_subjects),
            ("actions", self.actions),
            ("open actions", self.open_actions),
            ("policies", self.policies),
            ("SCIM users", self.scim_users),
            ("SCIM groups", self.scim_groups),
            ("SCIM memberships", self.scim_memberships),
        ]
    }
}

/// What a migration did: the counts of both sides, and what could not be copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub source: Counts,
    pub target: Counts,
    /// Records left behind, each with why.
    pub warnings: Vec<String>,
}

impl Report {
    /// Whether every count of the target equals the source's.
    pub fn matches(&self) -> bool {
        self.source == self.target
    }

    /// The counts side by side, a differing row marked.
    pub fn table(&self) -> String {
        let mut out = format!("{:<22} {:>12} {:>12}\n", "kind", "source", "target");
        for ((name, source), (_, target)) in self.source.rows().into_iter().zip(self.target.rows())
        {
            let mark = if source == target { "" } else { "  DIFFERS" };
            out.push_str(&format!("{name:<22} {source:>12} {target:>12}{mark}\n"));
        }
        out
    }
}

/// Pages through a list: the next request until the store names no next page.
#[derive(Default)]
struct Pager {
    cursor: Option<String>,
    done: bool,
}

impl Pager {
    fn next(&mut self) -> Option<PageRequest> {
        (!self.done).then(|| PageRequest::new(BATCH, self.cursor.take()))
    }

    fn advance(&mut self, next: Option<String>) {
        self.done = next.is_none();
        self.cursor = next;
    }
}

/// Runs `each` on every item, [`CONCURRENCY`] at a time; the sum of what they return.
async fn each<'a, T, F, Fut>(items: &'a [T], f: F) -> Result<u64, MigrateError>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = Result<u64, MigrateError>>,
{
    let mut total = 0;
    for chunk in items.chunks(CONCURRENCY) {
        let done = futures::future::try_join_all(chunk.iter().map(&f)).await?;
        total += done.into_iter().sum::<u64>();
    }
    Ok(total)
}

/// Counts records of one kind of one tenant as they are copied, with a line now and then.
struct Tally<'a> {
    progress: Progress<'a>,
    tenant: &'a TenantId,
    kind: &'static str,
    done: u64,
    told: u64,
}

impl<'a> Tally<'a> {
    fn new(progress: Progress<'a>, tenant: &'a TenantId, kind: &'static str) -> Self {
        Self {
            progress,
            tenant,
            kind,
            done: 0,
            told: 0,
        }
    }

    fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.done >= self.told + PROGRESS_EVERY {
            self.told = self.done;
            (self.progress)(&format!(
                "  tenant {}: {} {}…",
                self.tenant, self.done, self.kind
            ));
        }
    }
}

/// Refuses a target that holds tenants or tokens: a copy is only checkable into an empty store
/// (and a token there, say the operator key a daemon mints at its first start, would stay valid
/// beside the copied ones).
pub async fn ensure_empty(target: &dyn Store) -> Result<(), MigrateError> {
    let first = PageRequest::first(1);
    let tenants = target
        .list_tenants(&first)
        .await
        .map_err(failed("reading the target's tenants"))?;
    if !tenants.items.is_empty() {
        return Err(MigrateError::TargetNotEmpty { what: "tenants" });
    }
    let tokens = target
        .list_tokens(&first)
        .await
        .map_err(failed("reading the target's tokens"))?;
    if !tokens.items.is_empty() {
        return Err(MigrateError::TargetNotEmpty {
            what: "tokens (a daemon started on it mints an operator key)",
        });
    }
    Ok(())
}

/// Refuses a non-empty target, copies `source` into `target`, and counts both.
pub async fn migrate(
    source: &dyn Store,
    target: &dyn Store,
    progress: Progress<'_>,
) -> Result<Report, MigrateError> {
    ensure_empty(target).await?;
    progress("counting the source store…");
    let expected = count(source).await?;
    progress(&format!(
        "the source holds {} tenant(s), {} user(s), {} sign-in(s); copying…",
        expected.tenants, expected.users, expected.signins
    ));
    let warnings = copy(source, target, progress)
        .await
        .map_err(|e| MigrateError::Partial(Box::new(e)))?;
    progress("counting the target store…");
    let copied = count(target)
        .await
        .map_err(|e| MigrateError::Partial(Box::new(e)))?;
    Ok(Report {
        source: expected,
        target: copied,
        warnings,
    })
}

/// Opens the embedded store in `dir` as a migration's source: it must exist, no daemon may hold
/// it, and its push inbox (if any) must have nothing waiting to be stored.
pub fn open_sled_source(dir: &Path) -> Result<SledStore, MigrateError> {
    let shown = dir.display().to_string();
    if !dir.join("db").is_file() {
        return Err(MigrateError::NoSource { dir: shown });
    }
    // sled lets go of its file lock when the last of its background threads does, a moment
    // after a store (or a daemon) closes: a lock still held is looked at again for a while
    // before the store is called in use.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let store = loop {
        match SledStore::open_with(dir, StoreOptions::default()) {
            Ok(store) => break store,
            Err(e) => {
                let message = e.to_string();
                // sled's words when another process holds the store's file lock.
                if !message.contains("could not acquire lock") {
                    return Err(MigrateError::OpenSource {
                        dir: shown.clone(),
                        message,
                    });
                }
                if std::time::Instant::now() >= deadline {
                    return Err(MigrateError::SourceInUse { dir: shown.clone() });
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };
    let inbox = dir.join("inbox");
    if inbox.is_dir() {
        let inbox_error = |message: String| MigrateError::Inbox {
            dir: inbox.display().to_string(),
            message,
        };
        let journal =
            Journal::open(JournalOptions::new(&inbox)).map_err(|e| inbox_error(e.to_string()))?;
        let backlog = journal.durable_end().saturating_sub(journal.checkpoint());
        journal.close();
        if backlog > 0 {
            return Err(MigrateError::InboxBacklog {
                dir: inbox.display().to_string(),
                bytes: backlog,
            });
        }
    }
    Ok(store)
}

/// What `gatehouse store migrate` runs: the embedded store in `from` into the PostgreSQL
/// database `to` (its schema migrated on connect). Both are closed before it returns.
pub async fn migrate_sled_to_postgres(
    from: &Path,
    to: &PgOptions,
    progress: Progress<'_>,
) -> Result<Report, MigrateError> {
    let source = open_sled_source(from)?;
    progress(&format!("opened the embedded store in {}", from.display()));
    let target = match PgStore::connect(to).await {
        Ok(target) => target,
        Err(e) => {
            let _ = source.close().await;
            return Err(MigrateError::OpenTarget(e));
        }
    };
    progress("connected to PostgreSQL (schema up to date)");
    let result = migrate(&source, &target, progress).await;
    let closed = source.close().await;
    let _ = target.close().await;
    let report = result?;
    closed.map_err(failed("closing the embedded store"))?;
    Ok(report)
}

/// Copies every record of `source` into `target` (which should be empty: see
/// [`ensure_empty`]); returns warnings naming records that could not be copied.
pub async fn copy(
    source: &dyn Store,
    target: &dyn Store,
    progress: Progress<'_>,
) -> Result<Vec<String>, MigrateError> {
    let mut warnings = Vec::new();
    // API keys are written with their tokens (`copy_tokens`); a tenant's keys are few.
    let mut api_keys: HashMap<TenantId, Vec<ApiKey>> = HashMap::new();
    let mut pager = Pager::default();
    let mut tenants = 0u64;
    while let Some(request) = pager.next() {
        let page = source
            .list_tenants(&request)
            .await
            .map_err(failed("reading tenants"))?;
        pager.advance(page.next_cursor);
        for tenant in &page.items {
            tenants += 1;
            progress(&format!("tenant {} ({tenants})", tenant.id));
            copy_tenant(source, target, tenant, progress, &mut warnings).await?;
            let keys = source
                .list_api_keys(&tenant.id)
                .await
                .map_err(failed(format!("reading API keys of tenant {}", tenant.id)))?;
            if !keys.is_empty() {
                api_keys.insert(tenant.id.clone(), keys);
            }
        }
    }
    progress("tokens");
    copy_tokens(source, target, &api_keys, &mut warnings).await?;
    for warning in &warnings {
        progress(&format!("warning: {warning}"));
    }
    Ok(warnings)
}

/// Every token, by its hash: a tenant API key's with its key (`create_api_key`), every other
/// one as it is (`put_token`: the operator key, ingest and SCIM tokens, OAuth access tokens).
async fn copy_tokens(
    source: &dyn Store,
    target: &dyn Store,
    api_keys: &HashMap<TenantId, Vec<ApiKey>>,
    warnings: &mut Vec<String>,
) -> Result<(), MigrateError> {
    let mut written: HashSet<(TenantId, ApiKeyId)> = HashSet::new();
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_tokens(&request)
            .await
            .map_err(failed("reading tokens"))?;
        pager.advance(page.next_cursor);
        for token in &page.items {
            let key = match (&token.kind, &token.tenant_id, &token.api_key_id) {
                (TokenKind::TenantApi, Some(tenant), Some(id)) => api_keys
                    .get(tenant)
                    .and_then(|keys| keys.iter().find(|k| &k.id == id)),
                _ => None,
            };
            match key {
                Some(key) => {
                    target
                        .create_api_key(key, token)
                        .await
                        .map_err(failed(format!("writing API key {}", key.id)))?;
                    written.insert((key.tenant_id.clone(), key.id.clone()));
                }
                None => target
                    .put_token(token)
                    .await
                    .map_err(failed(format!("writing a {:?} token", token.kind)))?,
            }
        }
    }
    for (tenant, keys) in api_keys {
        for key in keys {
            if !written.contains(&(tenant.clone(), key.id.clone())) {
                warnings.push(format!(
                    "API key {} of tenant {tenant} has no token (it could not authenticate): \
                     not copied",
                    key.id
                ));
            }
        }
    }
    Ok(())
}

async fn copy_tenant(
    source: &dyn Store,
    target: &dyn Store,
    tenant: &Tenant,
    progress: Progress<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), MigrateError> {
    let t = &tenant.id;
    target
        .create_tenant(tenant)
        .await
        .map_err(failed(format!("writing tenant {t}")))?;

    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_integrations(t, &request)
            .await
            .map_err(failed(format!("reading integrations of tenant {t}")))?;
        pager.advance(page.next_cursor);
        for integration in &page.items {
            copy_integration(source, target, integration).await?;
        }
    }

    // Accounts before identities: an identity never names an account not yet stored.
    let mut tally = Tally::new(progress, t, "users");
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_users(t, &UserFilter::default(), &request)
            .await
            .map_err(failed(format!("reading users of tenant {t}")))?;
        pager.advance(page.next_cursor);
        target
            .upsert_users(t, &page.items)
            .await
            .map_err(failed(format!("writing users of tenant {t}")))?;
        tally.add(page.items.len());
    }

    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_groups(t, &request)
            .await
            .map_err(failed(format!("reading groups of tenant {t}")))?;
        pager.advance(page.next_cursor);
        target
            .upsert_groups(t, &page.items)
            .await
            .map_err(failed(format!("writing groups of tenant {t}")))?;
    }

    let mut tally = Tally::new(progress, t, "identities");
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_identities(t, &IdentityFilter::default(), &request)
            .await
            .map_err(failed(format!("reading identities of tenant {t}")))?;
        pager.advance(page.next_cursor);
        copy_identities(source, target, t, &page.items).await?;
        tally.add(page.items.len());
    }

    let mut tally = Tally::new(progress, t, "sign-ins");
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_signins(t, &SignInFilter::default(), &request)
            .await
            .map_err(failed(format!("reading sign-ins of tenant {t}")))?;
        pager.advance(page.next_cursor);
        target
            .insert_signins(t, &page.items, gatehouse_store::Durability::Now)
            .await
            .map_err(failed(format!("writing sign-ins of tenant {t}")))?;
        tally.add(page.items.len());
    }

    copy_detections(source, target, t, warnings).await?;

    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_actions(t, &ActionFilter::default(), &request)
            .await
            .map_err(failed(format!("reading actions of tenant {t}")))?;
        pager.advance(page.next_cursor);
        each(&page.items, |action| async move {
            target
                .put_action(action)
                .await
                .map_err(failed(format!("writing action {}", action.id)))?;
            Ok(1)
        })
        .await?;
    }

    let policies = source
        .list_policies(t)
        .await
        .map_err(failed(format!("reading policies of tenant {t}")))?;
    for policy in &policies {
        target
            .put_policy(policy)
            .await
            .map_err(failed(format!("writing policy {}", policy.id)))?;
    }
    Ok(())
}

/// An integration as it is (sealed credentials and token hashes included; the tokens
/// themselves follow with every token), its sync status, cursors and SCIM resources.
async fn copy_integration(
    source: &dyn Store,
    target: &dyn Store,
    integration: &Integration,
) -> Result<(), MigrateError> {
    let (t, id) = (&integration.tenant_id, &integration.id);
    target
        .create_integration(integration, &[])
        .await
        .map_err(failed(format!("writing integration {id}")))?;
    let status = source.get_sync_status(t, id).await.map_err(failed(format!(
        "reading the sync status of integration {id}"
    )))?;
    if let Some(status) = status {
        target
            .put_sync_status(t, id, &status)
            .await
            .map_err(failed(format!(
                "writing the sync status of integration {id}"
            )))?;
    }
    let cursors = source
        .list_cursors(t, id)
        .await
        .map_err(failed(format!("reading the cursors of integration {id}")))?;
    for (name, cursor) in &cursors {
        target
            .put_cursor(t, id, name, cursor)
            .await
            .map_err(failed(format!("writing cursor {name} of integration {id}")))?;
    }
    // The resources alone: their inventory rows are the users and identities copied above.
    // A Group's memberships are indexed from its `members` as it is written.
    let no_rows = gatehouse_store::InventoryRows::default();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let mut after: Option<String> = None;
        loop {
            let resources = source
                .scim_scan(t, id, kind, after.as_deref(), BATCH)
                .await
                .map_err(failed(format!(
                    "reading SCIM {}s of integration {id}",
                    kind.name()
                )))?;
            each(&resources, |resource| {
                let no_rows = &no_rows;
                async move {
                    target
                        .scim_create(t, id, kind, resource, no_rows)
                        .await
                        .map_err(failed(format!(
                            "writing SCIM {} {} of integration {id}",
                            kind.name(),
                            resource.get("id").and_then(|v| v.as_str()).unwrap_or("?")
                        )))?;
                    Ok(1)
                }
            })
            .await?;
            if resources.len() < BATCH {
                break;
            }
            let last = resources
                .last()
                .and_then(|r| r.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            match last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
    }
    Ok(())
}

/// A page of identities, then each one's risk history replayed point by point (the trait's one
/// write of it), then the page again: a replay sets each identity's score to its last point,
/// and the record is restored exactly as it was.
async fn copy_identities(
    source: &dyn Store,
    target: &dyn Store,
    t: &TenantId,
    identities: &[Identity],
) -> Result<(), MigrateError> {
    target
        .put_identities(identities)
        .await
        .map_err(failed(format!("writing identities of tenant {t}")))?;
    let replayed = each(identities, |identity| async move {
        let id = &identity.id;
        let history = source
            .identity_risk_history(t, id)
            .await
            .map_err(failed(format!("reading the risk history of identity {id}")))?;
        for point in &history {
            target
                .record_identity_risk(t, id, point.score, point.time)
                .await
                .map_err(failed(format!("writing the risk history of identity {id}")))?;
        }
        Ok(u64::from(!history.is_empty()))
    })
    .await?;
    if replayed > 0 {
        target
            .put_identities(identities)
            .await
            .map_err(failed(format!("writing identities of tenant {t}")))?;
    }
    Ok(())
}

/// Detections through their subject index: each (subject, detection) entry is one
/// `put_detection`, so a detection indexed under several subjects is written once for each and
/// found under all of them. A detection with no entry cannot be written: it is reported.
async fn copy_detections(
    source: &dyn Store,
    target: &dyn Store,
    t: &TenantId,
    warnings: &mut Vec<String>,
) -> Result<(), MigrateError> {
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_detection_subjects(t, &request)
            .await
            .map_err(failed(format!("reading detection subjects of tenant {t}")))?;
        pager.advance(page.next_cursor);
        each(&page.items, |(subject, id)| async move {
            let detection = source
                .get_detection(t, id)
                .await
                .map_err(failed(format!("reading detection {id}")))?;
            if let Some(detection) = detection {
                target
                    .put_detection(&detection, subject)
                    .await
                    .map_err(failed(format!("writing detection {id}")))?;
            }
            Ok(1)
        })
        .await?;
    }
    // Every detection should be in place now; name any that is not.
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = source
            .list_detections(t, &DetectionFilter::default(), &request)
            .await
            .map_err(failed(format!("reading detections of tenant {t}")))?;
        pager.advance(page.next_cursor);
        let missing = futures::future::try_join_all(page.items.iter().map(|d| async move {
            let there = target
                .get_detection(t, &d.id)
                .await
                .map_err(failed(format!("reading detection {}", d.id)))?;
            Ok::<_, MigrateError>(there.is_none().then(|| d.id.clone()))
        }))
        .await?;
        for id in missing.into_iter().flatten() {
            warnings.push(format!(
                "detection {id} of tenant {t} has no subject index entry: not copied"
            ));
        }
    }
    Ok(())
}

/// Counts every kind of record `store` holds, through the same enumerations the copy reads.
pub async fn count(store: &dyn Store) -> Result<Counts, MigrateError> {
    let mut counts = Counts::default();
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = store
            .list_tokens(&request)
            .await
            .map_err(failed("counting tokens"))?;
        pager.advance(page.next_cursor);
        counts.tokens += page.items.len() as u64;
    }
    counts.open_actions = store
        .open_actions()
        .await
        .map_err(failed("counting open actions"))?
        .len() as u64;
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = store
            .list_tenants(&request)
            .await
            .map_err(failed("counting tenants"))?;
        pager.advance(page.next_cursor);
        for tenant in &page.items {
            counts.tenants += 1;
            count_tenant(store, &tenant.id, &mut counts).await?;
        }
    }
    Ok(counts)
}

/// Reads every page of one list, adding its length to a count.
macro_rules! count_pages {
    ($count:expr, $what:expr, |$request:ident| $list:expr) => {{
        let mut pager = Pager::default();
        while let Some($request) = pager.next() {
            let page = $list.await.map_err(failed($what))?;
            pager.advance(page.next_cursor);
            $count += page.items.len() as u64;
        }
    }};
}

async fn count_tenant(
    store: &dyn Store,
    t: &TenantId,
    counts: &mut Counts,
) -> Result<(), MigrateError> {
    let what = |kind: &str| format!("counting {kind} of tenant {t}");
    counts.api_keys += store
        .list_api_keys(t)
        .await
        .map_err(failed(what("API keys")))?
        .len() as u64;
    counts.policies += store
        .list_policies(t)
        .await
        .map_err(failed(what("policies")))?
        .len() as u64;
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = store
            .list_integrations(t, &request)
            .await
            .map_err(failed(what("integrations")))?;
        pager.advance(page.next_cursor);
        for integration in &page.items {
            counts.integrations += 1;
            count_integration(store, integration, counts).await?;
        }
    }
    count_pages!(counts.users, what("users"), |request| store.list_users(
        t,
        &UserFilter::default(),
        &request
    ));
    count_pages!(counts.groups, what("groups"), |request| store
        .list_groups(t, &request));
    let mut pager = Pager::default();
    while let Some(request) = pager.next() {
        let page = store
            .list_identities(t, &IdentityFilter::default(), &request)
            .await
            .map_err(failed(what("identities")))?;
        pager.advance(page.next_cursor);
        counts.identities += page.items.len() as u64;
        counts.risk_points += each(&page.items, |identity| async move {
            let history = store
                .identity_risk_history(t, &identity.id)
                .await
                .map_err(failed(what("risk history points")))?;
            Ok(history.len() as u64)
        })
        .await?;
    }
    count_pages!(counts.signins, what("sign-ins"), |request| store
        .list_signins(t, &SignInFilter::default(), &request));
    count_pages!(counts.detections, what("detections"), |request| store
        .list_detections(t, &DetectionFilter::default(), &request));
    count_pages!(
        counts.detection_subjects,
        what("detection subjects"),
        |request| store.list_detection_subjects(t, &request)
    );
    count_pages!(counts.actions, what("actions"), |request| store
        .list_actions(t, &ActionFilter::default(), &request));
    Ok(())
}

async fn count_integration(
    store: &dyn Store,
    integration: &Integration,
    counts: &mut Counts,
) -> Result<(), MigrateError> {
    let (t, id) = (&integration.tenant_id, &integration.id);
    let what = |kind: &str| format!("counting {kind} of integration {id}");
    if store
        .get_sync_status(t, id)
        .await
        .map_err(failed(what("the sync status")))?
        .is_some()
    {
        counts.sync_statuses += 1;
    }
    counts.cursors += store
        .list_cursors(t, id)
        .await
        .map_err(failed(what("cursors")))?
        .len() as u64;
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let mut after: Option<String> = None;
        loop {
            let resources = store
                .scim_scan(t, id, kind, after.as_deref(), BATCH)
                .await
                .map_err(failed(what("SCIM resources")))?;
            let n = resources.len() as u64;
            match kind {
                ResourceKind::User => counts.scim_users += n,
                ResourceKind::Group => {
                    counts.scim_groups += n;
                    counts.scim_memberships += resources
                        .iter()
                        .map(|g| scim_members(g) as u64)
                        .sum::<u64>();
                }
            }
            let last = resources
                .last()
                .and_then(|r| r.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            match last {
                Some(last) if resources.len() >= BATCH => after = Some(last),
                _ => break,
            }
        }
    }
    Ok(())
}

/// A SCIM Group's distinct member ids (`members[].value`), as the stores index them.
fn scim_members(group: &serde_json::Value) -> usize {
    let members: HashSet<&str> = group
        .get("members")
        .and_then(|m| m.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m.get("value").and_then(|v| v.as_str()))
                .collect()
        })
        .unwrap_or_default();
    members.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail by panicking

    use super::*;

    #[test]
    fn the_table_marks_a_differing_count() {
        let source = Counts {
            tenants: 2,
            users: 1200,
            ..Counts::default()
        };
        let report = Report {
            source,
            target: Counts {
                users: 1199,
                ..source
            },
            warnings: vec![],
        };
        assert!(!report.matches());
        let table = report.table();
        let users = table.lines().find(|l| l.starts_with("users")).unwrap();
        assert!(users.contains("1200") && users.contains("1199") && users.ends_with("DIFFERS"));
        let tenants = table.lines().find(|l| l.starts_with("tenants")).unwrap();
        assert!(!tenants.contains("DIFFERS"));
        assert_eq!(table.lines().count(), 1 + Counts::default().rows().len());
    }

    #[test]
    fn a_groups_members_are_counted_once_each() {
        let group = serde_json::json!({"id": "g", "members": [
            {"value": "u1"}, {"value": "u2"}, {"value": "u1"}, {"display": "no value"}
        ]});
        assert_eq!(scim_members(&group), 2);
        assert_eq!(scim_members(&serde_json::json!({"id": "g"})), 0);
    }
}
