//! SCIM creates and replaces, each with the inventory rows it carries, in one sled transaction;
//! concurrent ones share a transaction.
//!
//! Why batch: sled 0.34 rolls its log buffer before and after every transaction (`pin_log`), and
//! each roll is a `pwrite` plus a waited `sync_file_range` on its IO threads. One transaction per
//! create cost two device round trips on top of the group commit, and measured as the largest
//! share of a create. So one writer thread takes every write queued since its last round and
//! applies them all in one transaction, writes sled's log out itself, then joins the group
//! commit once for the batch; a second thread answers the batch when that round's `fdatasync`
//! is done, while the writer applies the next batch.
//!
//! Why the writer flushes: sled takes a process-wide lock for writing around every transaction
//! and for reading around every read, write and flush, and a flush holds it while it waits on the
//! device. A transaction queued behind the committer's flush made every other reader queue
//! behind the transaction (the lock prefers writers), so the request workers stalled on their
//! token and identity reads for the flush's IO and then the transaction. Flushing on this thread,
//! between its own transactions, leaves nothing to queue.
//! A write is acknowledged only once durable. Each write still checks (version, `userName`)
//! before it writes anything, so one write's refusal leaves the others, and itself, untouched;
//! refusals are answered at once.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use gatehouse_core::model::{Identity, User};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_scim::filter::index_key;
use gatehouse_scim::ResourceKind;
use serde_json::Value;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::{Transactional, Tree};

use super::commit::{failed, Committer, RoundResult};
use super::directory::{IdentityTrees, UserTrees};
use super::keys::{decode, encode};
use super::scim::{kind_part, members, text, version, Ns, ScimWrite, INDEXED};
use super::scim_names::{Holder, Names};
use super::{tx_result, Trees};
use crate::{InventoryRows, StoreError};

type TxError = ConflictableTransactionError<StoreError>;

/// Writes applied in one transaction at most (bounds the time the transaction lock is held).
const MAX_BATCH: usize = 256;

/// The trees a SCIM write touches: its own and the inventory's.
#[derive(Clone)]
pub(super) struct ScimTrees {
    resources: Tree,
    names: Tree,
    index: Tree,
    members: Tree,
    member_of: Tree,
    users: Tree,
    users_by_external: Tree,
    users_by_email: Tree,
    identities: Tree,
    identities_by_email: Tree,
    /// Read only: a name held in a deleted integration is free.
    integrations: Tree,
}

impl ScimTrees {
    pub(super) fn of(t: &Trees) -> Self {
        Self {
            resources: t.scim_resources.clone(),
            names: t.scim_user_names.clone(),
            index: t.scim_index.clone(),
            members: t.scim_members.clone(),
            member_of: t.scim_member_of.clone(),
            users: t.users.clone(),
            users_by_external: t.users_by_external.clone(),
            users_by_email: t.users_by_email.clone(),
            identities: t.identities.clone(),
            identities_by_email: t.identities_by_email.clone(),
            integrations: t.integrations.clone(),
        }
    }

    pub(super) fn tx<T>(&self, f: impl Fn(&Tx<'_>) -> Result<T, TxError>) -> Result<T, StoreError> {
        let trees = (
            &self.resources,
            &self.names,
            &self.index,
            &self.members,
            &self.member_of,
            &self.users,
            &self.users_by_external,
            &self.users_by_email,
            &self.identities,
            &self.identities_by_email,
            &self.integrations,
        );
        tx_result(trees.transaction(|t| {
            let (resources, names, index, members, member_of) = (&t.0, &t.1, &t.2, &t.3, &t.4);
            let (identities, identities_by_email) = (&t.8, &t.9);
            f(&Tx {
                resources,
                names,
                integrations: &t.10,
                index,
                members,
                member_of,
                accounts: UserTrees {
                    users: &t.5,
                    by_external: &t.6,
                    by_email: &t.7,
                },
                identities: IdentityTrees {
                    identities,
                    by_email: identities_by_email,
                },
            })
        }))
    }
}

pub(super) struct Tx<'a> {
    pub resources: &'a TransactionalTree,
    names: &'a TransactionalTree,
    integrations: &'a TransactionalTree,
    index: &'a TransactionalTree,
    members: &'a TransactionalTree,
    member_of: &'a TransactionalTree,
    accounts: UserTrees<'a>,
    identities: IdentityTrees<'a>,
}

/// How a write moves a User's claim on its `userName` (decided before anything is written).
pub(super) struct Rename<'v> {
    release: Option<&'v str>,
    claim: Option<(&'v str, Vec<Holder>)>,
}

impl Tx<'_> {
    fn names(&self) -> Names<'_> {
        Names {
            names: self.names,
            resources: self.resources,
        }
    }

    /// How a User's name claim moves from `old` to `new` (either may be absent), or the
    /// conflict. An unchanged name (case aside) is left alone, so a User whose name a migrated
    /// store lets it share with another integration can still be updated.
    pub(super) fn plan_rename<'v>(
        &self,
        ns: &Ns<'_>,
        id: &str,
        old: Option<&'v Value>,
        new: Option<&'v Value>,
    ) -> Result<Result<Rename<'v>, StoreError>, TxError> {
        let unchanged = Rename {
            release: None,
            claim: None,
        };
        if ns.kind != "User" {
            return Ok(Ok(unchanged));
        }
        let old = old.and_then(|r| text(r, "userName"));
        let new = new.and_then(|r| text(r, "userName"));
        let key = |n: &str| index_key("userName", n);
        if old.map(key) == new.map(key) {
            return Ok(Ok(unchanged));
        }
        let claim = match new {
            Some(name) => match self.names().claimable(
                self.integrations,
                ns.tenant,
                ns.integration,
                id,
                name,
            )? {
                Some(holders) => Some((name, holders)),
                None => return Ok(Err(StoreError::Conflict(format!("userName {name}")))),
            },
            None => None,
        };
        Ok(Ok(Rename {
            release: old,
            claim,
        }))
    }

    pub(super) fn rename(&self, ns: &Ns<'_>, id: &str, plan: Rename<'_>) -> Result<(), TxError> {
        if let Some(old) = plan.release {
            self.names().release(ns.tenant, ns.integration, id, old)?;
        }
        if let Some((name, holders)) = plan.claim {
            self.names().claim(ns.tenant, name, &holders)?;
        }
        Ok(())
    }

    pub(super) fn unindex(&self, ns: &Ns<'_>, id: &str, old: &Value) -> Result<(), TxError> {
        for attr in INDEXED {
            if let Some(v) = text(old, attr) {
                self.index.remove(ns.index(attr, v, id))?;
            }
        }
        for member in members(old) {
            self.members.remove(ns.pair(id, &member))?;
            self.member_of.remove(ns.pair(&member, id))?;
        }
        Ok(())
    }

    fn index(&self, ns: &Ns<'_>, id: &str, new: &Value) -> Result<(), TxError> {
        for attr in INDEXED {
            if let Some(v) = text(new, attr) {
                self.index.insert(ns.index(attr, v, id), &[])?;
            }
        }
        let display = text(new, "displayName").unwrap_or_default();
        for member in members(new) {
            self.members.insert(ns.pair(id, &member), &[])?;
            self.member_of.insert(ns.pair(&member, id), display)?;
        }
        Ok(())
    }

    /// Applies one write: every check first, then every change, so a refused write changes
    /// nothing. The outer error aborts the whole transaction (storage); the inner one is this
    /// write's own answer.
    fn apply(&self, w: &Write) -> Result<Result<ScimWrite, StoreError>, TxError> {
        let ns = Ns {
            tenant: &w.tenant,
            integration: w.integration.as_str(),
            kind: kind_part(w.kind),
        };
        let Some(id) = text(&w.resource, "id") else {
            return Ok(Err(StoreError::Backend(
                "a SCIM resource needs an id".into(),
            )));
        };
        let key = ns.resource(id);
        let stored = self.resources.get(key.as_slice())?;
        let old: Option<Value> = match (&w.expected, stored) {
            (None, Some(_)) => return Ok(Err(StoreError::Conflict(format!("{} {id}", ns.kind)))),
            (None, None) => None,
            (Some(_), None) => return Ok(Ok(ScimWrite::NotFound)),
            (Some(expected), Some(bytes)) => {
                let old: Value = match decode(&bytes) {
                    Ok(old) => old,
                    Err(e) => return Ok(Err(e)),
                };
                if version(&old) != Some(expected.as_str()) {
                    return Ok(Ok(ScimWrite::Stale));
                }
                Some(old)
            }
        };
        let plan = match self.plan_rename(&ns, id, old.as_ref(), Some(&w.resource))? {
            Ok(plan) => plan,
            Err(refused) => return Ok(Err(refused)),
        };
        self.rename(&ns, id, plan)?;
        if let Some(old) = &old {
            self.unindex(&ns, id, old)?;
        }
        self.index(&ns, id, &w.resource)?;
        self.resources.insert(key, w.bytes.as_slice())?;
        // Accounts first: an identity never names an account not yet stored.
        if !w.users.is_empty() {
            self.accounts.put(&w.tenant, &w.users, None)?;
        }
        if !w.identities.is_empty() {
            self.identities.put(&w.identities, None)?;
        }
        Ok(Ok(ScimWrite::Written))
    }
}

/// One create (`expected: None`) or replace (`expected`: the stored version it read), owned so
/// it can travel to the writer thread, its records encoded once (sled may rerun a transaction).
pub(super) struct Write {
    tenant: TenantId,
    integration: IntegrationId,
    kind: ResourceKind,
    resource: Value,
    bytes: Vec<u8>,
    expected: Option<String>,
    users: Vec<(User, Vec<u8>)>,
    identities: Vec<(Identity, Vec<u8>)>,
}

impl Write {
    pub(super) fn new(
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        resource: &Value,
        expected: Option<&str>,
        rows: &InventoryRows,
    ) -> Result<Self, StoreError> {
        let mut users = Vec::with_capacity(rows.users.len());
        for user in &rows.users {
            if &user.tenant_id != tenant {
                return Err(StoreError::Backend(
                    "a user belongs to another tenant than the call's scope".into(),
                ));
            }
            users.push((user.clone(), encode(user)?));
        }
        let mut identities = Vec::with_capacity(rows.identities.len());
        for identity in &rows.identities {
            if &identity.tenant_id != tenant {
                return Err(StoreError::Backend(
                    "an identity belongs to another tenant than the call's scope".into(),
                ));
            }
            identities.push((identity.clone(), encode(identity)?));
        }
        Ok(Self {
            tenant: tenant.clone(),
            integration: integration.clone(),
            kind,
            bytes: encode(resource)?,
            resource: resource.clone(),
            expected: expected.map(str::to_owned),
            users,
            identities,
        })
    }
}

/// A copy of a transaction's failure for each write that shared it.
fn shared(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
        StoreError::NotFound(s) => StoreError::NotFound(s.clone()),
        StoreError::Backend(s) => StoreError::Backend(s.clone()),
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        StoreError::Closed => StoreError::Closed,
        StoreError::Failed(s) => StoreError::Failed(s.clone()),
        StoreError::CursorMoved(s) => StoreError::CursorMoved(s.clone()),
        StoreError::Contended(s) => StoreError::Contended(s.clone()),
    }
}

/// Applies writes in one transaction; one answer per write, in order.
fn apply_all(trees: &ScimTrees, writes: &[&Write]) -> Vec<Result<ScimWrite, StoreError>> {
    let done = trees.tx(|tx| {
        let mut answers = Vec::with_capacity(writes.len());
        for w in writes {
            answers.push(tx.apply(w)?);
        }
        Ok(answers)
    });
    match done {
        Ok(answers) => answers,
        Err(e) => writes.iter().map(|_| Err(shared(&e))).collect(),
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<ScimWrite, StoreError>>;

/// The thread that batches SCIM writes.
pub(super) struct Writer {
    queue: RwLock<Option<Sender<(Write, Reply)>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(super) fn start(
        db: sled::Db,
        trees: ScimTrees,
        committer: Arc<Committer>,
    ) -> Result<Self, StoreError> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("gatehouse-scim-write".into())
            .spawn(move || run(&db, &trees, &committer, &receiver))?;
        Ok(Self {
            queue: RwLock::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Applies `write` (with whatever else is queued) and answers what it found; a write that
    /// was made is durable when this returns.
    pub(super) async fn write(&self, write: Write) -> Result<ScimWrite, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        {
            let queue = self.queue.read().map_err(|_| StoreError::Closed)?;
            let sender = queue.as_ref().ok_or(StoreError::Closed)?;
            sender
                .send((write, reply))
                .map_err(|_| StoreError::Closed)?;
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops taking writes, applies what is queued and joins the thread.
    pub(super) fn stop(&self) {
        if let Ok(mut queue) = self.queue.write() {
            queue.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the SCIM write thread panicked");
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes of one batch that were made, and the commit round that makes them durable.
type Made = (tokio::sync::oneshot::Receiver<RoundResult>, Vec<Reply>);

fn run(db: &sled::Db, trees: &ScimTrees, committer: &Committer, queue: &Receiver<(Write, Reply)>) {
    // Answers each batch once its commit round is done, while this thread applies the next
    // batch: the transaction's CPU overlaps the previous round's flush and fsync.
    let (made, answerer) = mpsc::channel::<Made>();
    let answering = std::thread::Builder::new()
        .name("gatehouse-scim-answer".into())
        .spawn(move || answer(&answerer));
    let answering = match answering {
        Ok(thread) => thread,
        Err(error) => {
            tracing::error!(%error, "the SCIM answer thread did not start");
            return;
        }
    };
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter().take(MAX_BATCH - 1));
        // After a durability failure nothing is applied: a write no one can be told is durable
        // should not become visible either.
        if let Err(refused) = committer.refuse_if_failed() {
            for (_, reply) in batch {
                let _ = reply.send(Err(shared(&refused)));
            }
            continue;
        }
        let writes: Vec<&Write> = batch.iter().map(|(w, _)| w).collect();
        let answers = apply_all(trees, &writes);
        let mut written = Vec::with_capacity(batch.len());
        for ((_, reply), answer) in batch.into_iter().zip(answers) {
            match answer {
                Ok(ScimWrite::Written) => written.push(reply),
                // Nothing was written: nothing to wait for. A caller that gave up waiting (its
                // request was cancelled) is no error.
                refused => {
                    let _ = reply.send(refused);
                }
            }
        }
        if written.is_empty() {
            continue;
        }
        // Written out here, between transactions, the flush's wait on the device holds sled's
        // global lock only against this thread; the round it then joins owes it just the
        // fdatasync, which overlaps the next batch's transaction.
        let written_out = db
            .flush()
            .map_err(|e| committer.fail(format!("flush: {e}")));
        match written_out.and_then(|_| committer.enqueue_written()) {
            Ok(round) => {
                if let Err(mpsc::SendError((_, replies))) = made.send((round, written)) {
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::Closed));
                    }
                }
            }
            Err(e) => {
                for reply in written {
                    let _ = reply.send(Err(shared(&e)));
                }
            }
        }
    }
    drop(made);
    if answering.join().is_err() {
        tracing::error!("the SCIM answer thread panicked");
    }
}

/// Answers made writes once their round is durable (rounds end in the order they were joined).
fn answer(made: &Receiver<Made>) {
    while let Ok((round, replies)) = made.recv() {
        let durable = match round.blocking_recv() {
            Ok(Ok(())) => Ok(ScimWrite::Written),
            Ok(Err(e)) => Err(failed(e)),
            Err(_) => Err(StoreError::Closed),
        };
        for reply in replies {
            let _ = reply.send(match &durable {
                Ok(w) => Ok(*w),
                Err(e) => Err(shared(e)),
            });
        }
    }
}

#[cfg(test)]
impl super::SledStore {
    /// Stores a new resource (its `id` set) and its inventory rows, on this thread (the trait
    /// batches through the writer thread); [`StoreError::Conflict`] when the id or the
    /// `userName` is taken, and then nothing is written.
    pub(super) fn scim_create_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        resource: &Value,
        rows: &InventoryRows,
    ) -> Result<(), StoreError> {
        let write = Write::new(tenant, integration, kind, resource, None, rows)?;
        let answer = apply_all(&self.scim, &[&write]).pop();
        answer.unwrap_or(Err(StoreError::Closed)).map(|_| ())
    }

    /// Replaces a resource if its stored `meta.version` is still `expected`, and writes its
    /// inventory rows with it (only when the resource is written).
    pub(super) fn scim_replace_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        resource: &Value,
        expected: &str,
        rows: &InventoryRows,
    ) -> Result<ScimWrite, StoreError> {
        let write = Write::new(tenant, integration, kind, resource, Some(expected), rows)?;
        let answer = apply_all(&self.scim, &[&write]).pop();
        answer.unwrap_or(Err(StoreError::Closed))
    }
}
