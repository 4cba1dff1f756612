//! The embedded sled backend: trees per record kind, tenant-prefixed keys, group commit.

mod blobs;
mod commit;
mod cursor_moves;
mod directory;
mod export;
mod keys;
mod leases;
mod pages;
mod probe;
mod scim;
mod scim_names;
mod scim_write;
mod signin_record;
mod tenancy;
mod trait_impl;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatehouse_core::TenantId;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Tree;

pub use commit::CommitStats;
use commit::Committer;
use probe::Probe;
pub use scim::ScimWrite;
use scim_write::{ScimTrees, Writer};

use crate::{FatalSignal, FaultInjector, Page, PageRequest, StoreError};

/// How the sled store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache. sled 0.34's default is 1 GiB, which a large inventory fills (RSS
    /// passed 600 MiB with 100,000 SCIM users); see [`StoreOptions::DEFAULT_CACHE_CAPACITY`].
    pub cache_capacity_bytes: u64,
    /// Raised by the first failed flush or fsync; share it with whatever must stop with it.
    pub fatal: FatalSignal,
    /// Lets a test make the committer's next syncs fail.
    pub faults: FaultInjector,
}

impl StoreOptions {
    /// 32 MiB: the hot set of a request is a tenant's token, integration and the few records
    /// it touches, and cold pages are read back from the OS page cache (which the kernel can
    /// reclaim under pressure, unlike sled's) in microseconds. It keeps the daemon's RSS
    /// predictable on small hosts while holding tens of thousands of records' pages.
    pub const DEFAULT_CACHE_CAPACITY: u64 = 32 * 1024 * 1024;
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_capacity_bytes: Self::DEFAULT_CACHE_CAPACITY,
            fatal: FatalSignal::new(),
            faults: FaultInjector::new(),
        }
    }
}

/// sled's configuration for a store in `dir`.
fn sled_config(dir: &Path, options: &StoreOptions) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_capacity_bytes)
}

/// The sled trees, one per record kind or index.
struct Trees {
    tenants: Tree,
    tokens: Tree,
    locator: Tree,
    api_keys: Tree,
    integrations: Tree,
    cursors: Tree,
    sync_status: Tree,
    users: Tree,
    users_by_external: Tree,
    users_by_email: Tree,
    groups: Tree,
    identities: Tree,
    identities_by_email: Tree,
    /// Each identity's risk score over time (a capped list of points), beside the identity so
    /// that listing identities never reads it.
    risk_history: Tree,
    signins: Tree,
    signins_by_subject: Tree,
    detections: Tree,
    detections_by_subject: Tree,
    policies: Tree,
    actions: Tree,
    actions_by_key: Tree,
    actions_open: Tree,
    scim_resources: Tree,
    scim_user_names: Tree,
    scim_index: Tree,
    scim_members: Tree,
    scim_member_of: Tree,
}

impl Trees {
    /// Trees whose keys all start with a tenant prefix.
    fn tenant_scoped(&self) -> [&Tree; 23] {
        [
            &self.api_keys,
            &self.integrations,
            &self.cursors,
            &self.sync_status,
            &self.users,
            &self.users_by_external,
            &self.users_by_email,
            &self.groups,
            &self.identities,
            &self.identities_by_email,
            &self.risk_history,
            &self.signins,
            &self.signins_by_subject,
            &self.detections,
            &self.detections_by_subject,
            &self.policies,
            &self.actions,
            &self.actions_by_key,
            &self.scim_resources,
            &self.scim_user_names,
            &self.scim_index,
            &self.scim_members,
            &self.scim_member_of,
        ]
    }
}

/// The sled-backed [`crate::Store`].
pub struct SledStore {
    db: sled::Db,
    trees: Trees,
    /// The trees of SCIM writes, for writes made on the caller's thread.
    scim: ScimTrees,
    /// Batches concurrent SCIM writes into one transaction.
    scim_writer: Writer,
    committer: Arc<Committer>,
    probe: Probe,
    leases: leases::Leases,
    fatal: FatalSignal,
    path: PathBuf,
}

impl SledStore {
    /// Opens (or creates) the store in `dir` with the default options. Fails if another
    /// process holds it open.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, StoreOptions::default())
    }

    /// Opens (or creates) the store in `dir`. Fails if another process holds it open.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = sled_config(dir, &options).open()?;
        // sled creates `blobs/` (and its files) without syncing the directory that names them.
        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
        let tree = |name: &str| db.open_tree(name);
        let trees = Trees {
            tenants: tree("tenants")?,
            tokens: tree("tokens")?,
            locator: tree("locator")?,
            api_keys: tree("api_keys")?,
            integrations: tree("integrations")?,
            cursors: tree("cursors")?,
            sync_status: tree("sync_status")?,
            users: tree("users")?,
            users_by_external: tree("users_by_external")?,
            users_by_email: tree("users_by_email")?,
            groups: tree("groups")?,
            identities: tree("identities")?,
            identities_by_email: tree("identities_by_email")?,
            risk_history: tree("risk_history")?,
            signins: tree("signins")?,
            signins_by_subject: tree("signins_by_subject")?,
            detections: tree("detections")?,
            detections_by_subject: tree("detections_by_subject")?,
            policies: tree("policies")?,
            actions: tree("actions")?,
            actions_by_key: tree("actions_by_key")?,
            actions_open: tree("actions_open")?,
            scim_resources: tree("scim_resources")?,
            scim_user_names: tree("scim_user_names")?,
            scim_index: tree("scim_index")?,
            scim_members: tree("scim_members")?,
            scim_member_of: tree("scim_member_of")?,
        };
        scim_names::migrate(&db, &trees.scim_user_names)?;
        // sled writes its log to `db`; fsync on our own descriptor of it makes a flush durable.
        let db_file = OpenOptions::new().read(true).open(dir.join("db"))?;
        let committer = Arc::new(Committer::start(
            db.clone(),
            db_file,
            dir,
            options.fatal.clone(),
            options.faults,
        )?);
        let probe = Probe::new(db.open_tree("health")?);
        let scim = ScimTrees::of(&trees);
        let scim_writer = Writer::start(db.clone(), scim.clone(), Arc::clone(&committer))?;
        Ok(Self {
            db,
            trees,
            scim,
            scim_writer,
            committer,
            probe,
            leases: leases::Leases::default(),
            fatal: options.fatal,
            path: dir.to_owned(),
        })
    }

    /// Raised once a flush or fsync has failed; every later write is refused.
    pub fn fatal(&self) -> FatalSignal {
        self.fatal.clone()
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How well group commit is coalescing writers.
    pub fn commit_stats(&self) -> Arc<CommitStats> {
        Arc::clone(&self.committer.stats)
    }

    async fn durable(&self) -> Result<(), StoreError> {
        self.committer.commit().await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        self.probe.check(&self.committer).await
    }

    /// Reads one page of a tenant's records from `tree`, in key order, keeping those `keep` accepts.
    fn page<T: DeserializeOwned>(
        &self,
        tree: &Tree,
        tenant: &TenantId,
        start: Option<Vec<u8>>,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        self.page_decoded(tree, tenant, start, page, |bytes| keys::decode(bytes), keep)
    }

    /// [`page`](Self::page) over a tree whose records are not plain [`keys::encode`] ones.
    fn page_decoded<T>(
        &self,
        tree: &Tree,
        tenant: &TenantId,
        start: Option<Vec<u8>>,
        page: &PageRequest,
        decode: impl Fn(&[u8]) -> Result<T, StoreError>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let prefix = keys::tenant_prefix(tenant);
        let from = match &page.cursor {
            Some(cursor) => keys::after(keys::scoped(tenant, &[cursor])),
            None => start.unwrap_or_else(|| prefix.clone()),
        };
        let mut items = Vec::new();
        let mut last_key = None;
        for entry in tree.range(from..) {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            let record: T = decode(&value)?;
            if keep(&record) {
                items.push(record);
                if items.len() == page.limit {
                    last_key = Some(key);
                    break;
                }
            }
        }
        let next_cursor = match last_key {
            Some(key) => {
                let more = tree
                    .range(keys::after(key.to_vec())..)
                    .next()
                    .transpose()?
                    .is_some_and(|(k, _)| k.starts_with(&prefix));
                more.then(|| keys::last_part(&key))
            }
            None => None,
        };
        Ok(Page { items, next_cursor })
    }
}

/// Turns a transaction's outcome into a store result.
fn tx_result<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::from(e),
    })
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_capacity_setting_reaches_sled() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            cache_capacity_bytes: 12 * 1024 * 1024,
            ..StoreOptions::default()
        };
        assert_eq!(
            sled_config(dir.path(), &options).cache_capacity,
            12 * 1024 * 1024
        );
        // Not sled's 1 GiB default.
        assert_eq!(
            sled_config(dir.path(), &StoreOptions::default()).cache_capacity,
            32 * 1024 * 1024
        );
    }

    #[tokio::test]
    async fn the_write_probe_fails_on_a_failed_sync_and_writes_at_a_bounded_rate() {
        let dir = tempfile::tempdir().unwrap();
        let faults = FaultInjector::new();
        let store = SledStore::open_with(
            dir.path(),
            StoreOptions {
                faults: faults.clone(),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        store.probe_write().await.unwrap();
        let rounds = || {
            store
                .committer
                .stats
                .rounds
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        let after_first = rounds();
        store.probe_write().await.unwrap();
        assert_eq!(
            rounds(),
            after_first,
            "a second probe within the interval is cached"
        );

        // A failing device: the probe (once its interval is over) writes, and fails.
        *store.probe_last_for_tests().await = None;
        faults.fail_next_syncs(1);
        assert!(matches!(
            store.probe_write().await,
            Err(StoreError::Failed(_))
        ));
        assert!(store.fatal().reason().is_some());
        // From now on it fails at once, cached or not.
        assert!(matches!(
            store.probe_write().await,
            Err(StoreError::Failed(_))
        ));
    }
}
