//! Turns provider records into inventory rows: stable Gatehouse ids for provider accounts,
//! identities correlated by e-mail, group memberships on accounts, and sign-ins matched to the
//! accounts they are about.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gatehouse_core::model::{
    EventSource, Group, Identity, Integration, SignInEvent, User, UserStatus,
};
use gatehouse_core::records::{ProviderEvent, ProviderGroup, ProviderUser};
use gatehouse_core::{Clock, GroupId, IdentityId, TenantId, UserId};
use gatehouse_store::{CursorMove, DrawnIds, InventoryRows, Store};

use crate::geoip::GeoIp;
use crate::unwritten::Unwritten;
use crate::EngineError;

/// The status flag of an account a complete full pull did not bring.
pub const NOT_IN_FULL_PULL: &str = "not_in_full_pull";

/// Accounts whose group memberships are rewritten in one store transaction.
const MEMBERSHIP_CHUNK: usize = 500;

/// One lock per tenant, held while a page of accounts is correlated and written: two pulls of
/// one tenant running at once (two integrations) would otherwise each find no identity for a
/// new e-mail and each create one, leaving the person's accounts on two identities.
#[derive(Clone, Default)]
pub struct CorrelationLocks(Arc<std::sync::Mutex<HashMap<TenantId, Arc<TenantLock>>>>);

#[derive(Default)]
struct TenantLock {
    held: Arc<tokio::sync::Mutex<()>>,
    /// Callers waiting for `held`: a pull that could keep the lock from one page to the next
    /// lets go instead when someone waits.
    waiting: AtomicUsize,
}

/// The tenant's correlation lock, held.
pub struct CorrelationGuard {
    lock: Arc<TenantLock>,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl CorrelationGuard {
    /// Whether another caller is waiting for this lock.
    pub fn contended(&self) -> bool {
        self.lock.waiting.load(Ordering::Acquire) > 0
    }
}

impl CorrelationLocks {
    pub(crate) async fn hold(&self, tenant: &TenantId) -> CorrelationGuard {
        let lock = match self.0.lock() {
            Ok(mut locks) => Arc::clone(locks.entry(tenant.clone()).or_default()),
            // A poisoned map still serializes nothing wrongly: use a lock of this call's own.
            Err(_) => Arc::new(TenantLock::default()),
        };
        /// Counts a waiter for as long as it waits, even when its wait is given up.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        lock.waiting.fetch_add(1, Ordering::AcqRel);
        let waiting = Waiting(&lock.waiting);
        let held = Arc::clone(&lock.held).lock_owned().await;
        drop(waiting);
        CorrelationGuard { lock, _held: held }
    }
}

/// Writes pulled and pushed records into the store.
#[derive(Clone)]
pub struct Inventory {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    geoip: Option<Arc<GeoIp>>,
    correlation: CorrelationLocks,
}

impl Inventory {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            geoip: None,
            correlation: CorrelationLocks::default(),
        }
    }

    /// The inventory of a gateway, with its GeoIP database if one is configured, sharing the
    /// gateway's correlation locks with every other inventory of it.
    pub fn for_gateway(gateway: &crate::Gateway) -> Self {
        Self {
            correlation: gateway.correlation_locks().clone(),
            store: Arc::clone(gateway.store()),
            clock: Arc::clone(gateway.clock()),
            geoip: gateway.geoip(),
        }
    }

    /// Stores a page of accounts and their identities in one durable commit. (A pull's pages
    /// go through [`prepare_users_page`](Self::prepare_users_page) and
    /// [`write_users_page`](Self::write_users_page), which move its cursor in the same commit.)
    pub async fn apply_users(
        &self,
        integration: &Integration,
        page: Vec<ProviderUser>,
    ) -> Result<usize, EngineError> {
        let _correlating = self.correlating(&integration.tenant_id).await;
        let rows = self.user_rows(integration, page, false).await?;
        self.store
            .upsert_users_with_identities(&integration.tenant_id, &rows.users, &rows.identities)
            .await?;
        Ok(rows.users.len())
    }

    /// Holds the tenant's correlation lock: whoever correlates accounts and writes them holds
    /// it from the store reads to the write.
    pub(crate) async fn correlating(&self, tenant: &TenantId) -> CorrelationGuard {
        self.correlation.hold(tenant).await
    }

    /// A pull's page of accounts correlated, not written, while the page before it
    /// (`unwritten`) may still be being written. The caller holds the tenant's
    /// [`correlating`](Self::correlating) lock from this call until these rows are written.
    pub async fn prepare_users_page(
        &self,
        integration: &Integration,
        page: Vec<ProviderUser>,
        unwritten: Option<&Unwritten>,
    ) -> Result<InventoryRows, EngineError> {
        self.rows_after(integration, page, false, unwritten).await
    }

    /// Writes a page [`prepare_users_page`](Self::prepare_users_page) correlated, moving the
    /// pull's cursor in the same commit.
    pub async fn write_users_page(
        &self,
        tenant: &TenantId,
        rows: &InventoryRows,
        cursor: &CursorMove,
    ) -> Result<(), EngineError> {
        self.store
            .upsert_users_with_identities_moving(
                tenant,
                &rows.users,
                &rows.identities,
                &rows.drawn,
                cursor,
            )
            .await?;
        Ok(())
    }

    /// The rows [`apply_users`](Self::apply_users) would write, for a caller that writes them
    /// together with records of its own (SCIM: the resource and its account in one commit).
    /// `new`: the caller knows these external ids have no account yet (it just drew them), so
    /// there is nothing to look up.
    pub async fn user_rows(
        &self,
        integration: &Integration,
        page: Vec<ProviderUser>,
        new: bool,
    ) -> Result<InventoryRows, EngineError> {
        self.rows_after(integration, page, new, None).await
    }

    /// [`user_rows`](Self::user_rows) as they will be once `unwritten` (the page before, if it
    /// is still being written) is stored.
    async fn rows_after(
        &self,
        integration: &Integration,
        page: Vec<ProviderUser>,
        new: bool,
        unwritten: Option<&Unwritten>,
    ) -> Result<InventoryRows, EngineError> {
        let tenant = &integration.tenant_id;
        let now = self.clock.now();
        let mut existing = if new {
            vec![None; page.len()]
        } else {
            let external_ids: Vec<String> = page.iter().map(|p| p.external_id.clone()).collect();
            self.store
                .find_users_by_external_ids(tenant, &integration.id, &external_ids)
                .await?
        };
        if let Some(unwritten) = unwritten {
            for (provided, existing) in page.iter().zip(existing.iter_mut()) {
                if let Some(account) = unwritten.account(&integration.id, &provided.external_id) {
                    *existing = Some(account.clone());
                }
            }
        }
        let mut drawn = DrawnIds::default();
        let mut users = Vec::with_capacity(page.len());
        for (provided, existing) in page.into_iter().zip(existing) {
            let first_seen = existing.is_none();
            let user = merge_user(integration, existing, provided, now);
            if first_seen {
                drawn.users.insert(user.id.clone());
            }
            users.push(user);
        }
        let identities = self
            .correlate(tenant, &mut users, unwritten, &mut drawn.identities)
            .await?;
        Ok(InventoryRows {
            users,
            identities,
            drawn,
        })
    }

    /// Joins each account to the identity of its primary e-mail, creating identities as needed.
    /// Returns the identities that changed. The page's people are read in one batched store
    /// read, not one read per account.
    async fn correlate(
        &self,
        tenant: &TenantId,
        users: &mut [User],
        unwritten: Option<&Unwritten>,
        drawn: &mut BTreeSet<IdentityId>,
    ) -> Result<Vec<Identity>, EngineError> {
        let now = self.clock.now();
        let primary = |user: &User| {
            user.email
                .as_ref()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
        };
        let emails: Vec<String> = users
            .iter()
            .filter_map(primary)
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let found = self
            .store
            .find_identities_by_emails(tenant, &emails)
            .await?;
        let known: HashMap<String, Identity> = emails
            .into_iter()
            .zip(found)
            .filter_map(|(email, stored)| {
                let holder = match unwritten {
                    Some(unwritten) => unwritten.holder_of(&email, stored),
                    None => stored,
                };
                Some((email, holder?))
            })
            .collect();
        let mut changed: BTreeMap<IdentityId, Identity> = BTreeMap::new();
        // Which changed identities hold an address: a page of new people would otherwise scan
        // every identity it changed so far for each account (quadratic in the page).
        let mut holders: HashMap<String, BTreeSet<IdentityId>> = HashMap::new();
        for user in users.iter_mut() {
            let Some(email) = primary(user) else {
                continue;
            };
            let changed_holder = holders.get(&email).and_then(|ids| {
                ids.iter()
                    .filter_map(|id| changed.get(id))
                    .find(|i| i.emails.contains(&email))
            });
            let found = match changed_holder {
                Some(identity) => Some(identity.clone()),
                None => known.get(&email).cloned(),
            };
            let mut identity = match found {
                Some(identity) => identity,
                None => {
                    let id = IdentityId::generate(now);
                    drawn.insert(id.clone());
                    Identity {
                        id,
                        tenant_id: user.tenant_id.clone(),
                        emails: vec![email.clone()],
                        display_name: user.display_name.clone(),
                        accounts: Vec::new(),
                        risk_score: 0,
                        created_at: now,
                        updated_at: now,
                    }
                }
            };
            let previous = user.identity_id.replace(identity.id.clone());
            if let Some(previous) = previous.filter(|p| p != &identity.id) {
                // The account's e-mail moved to another person: take it off the old identity.
                let old = match changed.remove(&previous) {
                    Some(old) => Some(old),
                    None => match unwritten.and_then(|u| u.identity(&previous)) {
                        Some(old) => Some(old.clone()),
                        None => self.store.get_identity(&user.tenant_id, &previous).await?,
                    },
                };
                if let Some(mut old) = old {
                    old.accounts.retain(|a| a != &user.id);
                    old.updated_at = now;
                    hold(&mut holders, &old);
                    changed.insert(old.id.clone(), old);
                }
            }
            if !identity.accounts.contains(&user.id) {
                identity.accounts.push(user.id.clone());
                identity.updated_at = now;
                if identity.display_name.is_none() {
                    identity.display_name = user.display_name.clone();
                }
                hold(&mut holders, &identity);
                changed.insert(identity.id.clone(), identity);
            }
        }
        Ok(changed.into_values().collect())
    }

    /// After a complete full pass that began at `started`: the integration's accounts the pass
    /// did not bring (last synced before it began) are gone at the provider — deleted, or out
    /// of what the integration may read. They are kept (their history stays readable) and marked
    /// `deprovisioned` with the flag [`NOT_IN_FULL_PULL`]. Returns how many were marked.
    pub async fn mark_unseen(
        &self,
        integration: &Integration,
        started: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, EngineError> {
        let unseen =
            |synced_at: chrono::DateTime<chrono::Utc>, status: UserStatus, flags: &[String]| {
                synced_at < started
                    && !(status == UserStatus::Deprovisioned
                        && flags.iter().any(|f| f == NOT_IN_FULL_PULL))
            };
        let mut marked = 0;
        let mut page = gatehouse_store::PageRequest::first(1000);
        loop {
            // Marks, not whole accounts: this reads every account of the integration, and
            // decoding each whole (its raw provider copy is most of it) took a sixth of a
            // 100,000-account pull.
            let found = self
                .store
                .list_user_sync_marks(&integration.tenant_id, &integration.id, &page)
                .await?;
            let ids: Vec<UserId> = found
                .items
                .into_iter()
                .filter(|m| unseen(m.synced_at, m.status, &m.status_flags))
                .map(|m| m.id)
                .collect();
            if !ids.is_empty() {
                // Checked again inside the write: a push or a pull that refreshed the account
                // meanwhile wins.
                marked += self
                    .store
                    .update_users(&integration.tenant_id, &ids, &|user: &mut User| {
                        if !unseen(user.synced_at, user.status, &user.status_flags) {
                            return false;
                        }
                        user.status = UserStatus::Deprovisioned;
                        user.status_flags.retain(|f| f != NOT_IN_FULL_PULL);
                        user.status_flags.push(NOT_IN_FULL_PULL.to_owned());
                        true
                    })
                    .await?;
            }
            match found.next_cursor {
                Some(cursor) => page = gatehouse_store::PageRequest::new(1000, Some(cursor)),
                None => return Ok(marked),
            }
        }
    }

    /// Stores a page of groups and brings the member accounts' `groups` up to date.
    pub async fn apply_groups(
        &self,
        integration: &Integration,
        page: Vec<ProviderGroup>,
    ) -> Result<usize, EngineError> {
        let tenant = &integration.tenant_id;
        let now = self.clock.now();
        let mut groups = Vec::with_capacity(page.len());
        // external user id → (group ids to add, group ids to remove)
        let mut membership: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> =
            BTreeMap::new();
        for provided in page {
            let existing = self.find_group(integration, &provided.external_id).await?;
            let old_members: BTreeSet<String> = existing
                .as_ref()
                .map(|g| g.members.iter().cloned().collect())
                .unwrap_or_default();
            let new_members: BTreeSet<String> = provided.members.iter().cloned().collect();
            for member in new_members
                .difference(&old_members)
                .chain(new_members.intersection(&old_members))
            {
                membership
                    .entry(member.clone())
                    .or_default()
                    .0
                    .insert(provided.external_id.clone());
            }
            for member in old_members.difference(&new_members) {
                membership
                    .entry(member.clone())
                    .or_default()
                    .1
                    .insert(provided.external_id.clone());
            }
            groups.push(Group {
                id: existing.map_or_else(|| group_id(integration, &provided.external_id), |g| g.id),
                tenant_id: tenant.clone(),
                integration_id: integration.id.clone(),
                provider: integration.kind.clone(),
                external_id: provided.external_id,
                name: provided.name,
                description: provided.description,
                members: provided.members,
                updated_at: provided.updated_at,
                synced_at: now,
                raw: provided.raw,
            });
        }
        // The accounts are written before the groups: a pull interrupted between the two
        // computes the same differences again.
        self.write_memberships(integration, membership).await?;
        self.store.upsert_groups(tenant, &groups).await?;
        Ok(groups.len())
    }

    /// After a complete groups pass that began at `started`: the integration's groups it did
    /// not list (last synced before it began) are gone at the provider. Their members lose
    /// them, then the groups are removed. Returns how many were removed.
    pub async fn remove_unlisted_groups(
        &self,
        integration: &Integration,
        started: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, EngineError> {
        let tenant = &integration.tenant_id;
        let mut gone = Vec::new();
        let mut page = gatehouse_store::PageRequest::first(1000);
        loop {
            let found = self.store.list_groups(tenant, &page).await?;
            gone.extend(
                found
                    .items
                    .into_iter()
                    .filter(|g| g.integration_id == integration.id && g.synced_at < started),
            );
            match found.next_cursor {
                Some(cursor) => page = gatehouse_store::PageRequest::new(1000, Some(cursor)),
                None => break,
            }
        }
        if gone.is_empty() {
            return Ok(0);
        }
        let mut membership: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> =
            BTreeMap::new();
        for group in &gone {
            for member in &group.members {
                membership
                    .entry(member.clone())
                    .or_default()
                    .1
                    .insert(group.external_id.clone());
            }
        }
        self.write_memberships(integration, membership).await?;
        let ids: Vec<GroupId> = gone.into_iter().map(|g| g.id).collect();
        Ok(self.store.delete_groups(tenant, &ids).await?)
    }

    /// Adds and removes group memberships on the member accounts (by their provider ids).
    /// Only the memberships change, in one atomic read-and-write per chunk of accounts: a
    /// response action that sets an account's status meanwhile keeps its word. Chunks, because
    /// one transaction over every member of an "Everyone" group of a large org holds all of
    /// them in memory at once (gigabytes at 100,000 members).
    async fn write_memberships(
        &self,
        integration: &Integration,
        membership: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    ) -> Result<(), EngineError> {
        let tenant = &integration.tenant_id;
        let mut ids = Vec::new();
        let mut by_external = BTreeMap::new();
        for (external_id, change) in membership {
            let Some(user) = self
                .store
                .find_user_by_external_id(tenant, &integration.id, &external_id)
                .await?
            else {
                continue;
            };
            ids.push(user.id);
            by_external.insert(external_id, change);
        }
        let integration_id = integration.id.clone();
        for chunk in ids.chunks(MEMBERSHIP_CHUNK) {
            self.store
                .update_users(tenant, chunk, &|user: &mut User| {
                    if user.integration_id != integration_id {
                        return false;
                    }
                    let Some((add, remove)) = by_external.get(&user.external_id) else {
                        return false;
                    };
                    let before = user.groups.clone();
                    user.groups.retain(|g| !remove.contains(g));
                    for group in add {
                        if !user.groups.contains(group) {
                            user.groups.push(group.clone());
                        }
                    }
                    user.groups != before
                })
                .await?;
        }
        Ok(())
    }

    async fn find_group(
        &self,
        integration: &Integration,
        external_id: &str,
    ) -> Result<Option<Group>, EngineError> {
        let id = group_id(integration, external_id);
        Ok(self.store.get_group(&integration.tenant_id, &id).await?)
    }

    /// Normalized sign-ins for provider events, matched to inventory accounts where possible;
    /// `source` says whether they were pulled or pushed (what a destructive action trusts).
    pub async fn signins(
        &self,
        integration: &Integration,
        events: Vec<ProviderEvent>,
        source: EventSource,
    ) -> Result<Vec<SignInEvent>, EngineError> {
        let tenant = &integration.tenant_id;
        // The accounts a batch is about, in one store read (a delivery of 50 events about a
        // handful of people made up to 50 lookups).
        let externals: Vec<String> = events
            .iter()
            .filter_map(|e| e.external_user_id.clone())
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let found = self
            .store
            .find_users_by_external_ids(tenant, &integration.id, &externals)
            .await?;
        let by_external: HashMap<String, UserId> = externals
            .into_iter()
            .zip(found)
            .filter_map(|(external, user)| Some((external, user?.id)))
            .collect();
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let mut user = event
                .external_user_id
                .as_ref()
                .and_then(|external| by_external.get(external).cloned());
            if user.is_none() {
                if let Some(login) = &event.login {
                    user = self
                        .store
                        .find_users_by_email(tenant, login)
                        .await?
                        .into_iter()
                        .find(|u| u.integration_id == integration.id)
                        .map(|u| u.id);
                }
            }
            let mut signin =
                event.into_signin(tenant, &integration.id, &integration.kind, user, source);
            if let Some(geoip) = &self.geoip {
                geoip.fill(&mut signin);
            }
            out.push(signin);
        }
        Ok(out)
    }
}

/// Notes the addresses `identity` holds, for [`Inventory::correlate`]'s lookups.
fn hold(holders: &mut HashMap<String, BTreeSet<IdentityId>>, identity: &Identity) {
    for email in &identity.emails {
        holders
            .entry(email.clone())
            .or_default()
            .insert(identity.id.clone());
    }
}

/// Group ids are derived from the integration and the provider's id (hashed, so any provider id
/// fits), so a group keeps its id across pulls without an extra index.
pub(crate) fn group_id(integration: &Integration, external_id: &str) -> GroupId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(integration.id.as_str())
        .chain_update([0u8])
        .chain_update(external_id)
        .finalize();
    let hex = crate::tokens::hex(&digest[..16]);
    GroupId::parse(&format!("grp_{hex}"))
        .unwrap_or_else(|| GroupId::generate(integration.created_at))
}

/// The inventory row for a provider account, keeping Gatehouse's id, identity and risk.
fn merge_user(
    integration: &Integration,
    existing: Option<User>,
    provided: ProviderUser,
    now: chrono::DateTime<chrono::Utc>,
) -> User {
    if provided
        .status_flags
        .iter()
        .any(|flag| flag == gatehouse_core::records::TOMBSTONE_FLAG)
    {
        if let Some(known) = existing {
            return User {
                status: provided.status,
                status_flags: provided.status_flags,
                updated_at: provided.updated_at.or(known.updated_at),
                synced_at: now,
                ..known
            };
        }
    }
    let (id, identity_id, risk_score, groups, is_admin) = match existing {
        Some(user) => (
            user.id,
            user.identity_id,
            user.risk_score,
            user.groups,
            user.is_admin,
        ),
        None => (UserId::generate(now), None, 0, Vec::new(), false),
    };
    User {
        id,
        tenant_id: integration.tenant_id.clone(),
        integration_id: integration.id.clone(),
        provider: integration.kind.clone(),
        external_id: provided.external_id,
        login: provided.login,
        email: provided.email,
        emails: provided.emails,
        display_name: provided.display_name,
        given_name: provided.given_name,
        family_name: provided.family_name,
        status: provided.status,
        status_flags: provided.status_flags,
        department: provided.department,
        title: provided.title,
        manager: provided.manager,
        groups: provided.groups.unwrap_or(groups),
        mfa_enrolled: provided.mfa_enrolled,
        mfa_factors: provided.mfa_factors,
        is_admin: provided.is_admin.unwrap_or(is_admin),
        identity_id,
        risk_score,
        created_at: provided.created_at,
        last_login_at: provided.last_login_at,
        updated_at: provided.updated_at,
        synced_at: now,
        raw: provided.raw,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A pull keeps the lock from one page to the next only while no one waits for it; a
    /// waiter that gives up stops counting.
    #[tokio::test]
    async fn a_held_lock_knows_when_someone_waits_for_it() {
        let locks = CorrelationLocks::default();
        let tenant = TenantId::parse("ten_lock").unwrap_or_else(|| unreachable!());
        let held = locks.hold(&tenant).await;
        assert!(!held.contended());
        let waiter = {
            let (locks, tenant) = (locks.clone(), tenant.clone());
            tokio::spawn(async move { locks.hold(&tenant).await.contended() })
        };
        while !held.contended() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(held);
        assert_eq!(
            waiter.await.ok(),
            Some(false),
            "the waiter got it and no one else waits"
        );

        let held = locks.hold(&tenant).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), locks.hold(&tenant)).await;
        assert!(gave_up.is_err());
        assert!(!held.contended(), "a waiter that gave up no longer counts");
    }
}
