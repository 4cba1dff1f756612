//! The embedded sled backend: trees per record kind, tenant-prefixed keys, group commit.

mod commit;
mod directory;
mod keys;
mod scim;
mod scim_names;
mod scim_write;
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
pub use scim::ScimWrite;
use scim_write::{ScimTrees, Writer};

use crate::{Page, PageRequest, StoreError};

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
    fn tenant_scoped(&self) -> [&Tree; 22] {
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
    path: PathBuf,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`. Fails if another process holds it open.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = sled::Config::new().path(dir).open()?;
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
        let committer = Arc::new(Committer::start(db.clone(), db_file)?);
        let scim = ScimTrees::of(&trees);
        let scim_writer = Writer::start(db.clone(), scim.clone(), Arc::clone(&committer))?;
        Ok(Self {
            db,
            trees,
            scim,
            scim_writer,
            committer,
            path: dir.to_owned(),
        })
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

    /// Reads one page of a tenant's records from `tree`, in key order, keeping those `keep` accepts.
    fn page<T: DeserializeOwned>(
        &self,
        tree: &Tree,
        tenant: &TenantId,
        start: Option<Vec<u8>>,
        page: &PageRequest,
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
            let record: T = keys::decode(&value)?;
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
