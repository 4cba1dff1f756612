//! Users, groups, identities, sign-ins, cursors, detections and actions in the sled backend (the
//! synchronous halves; the trait impl adds the durable commit).

use std::borrow::Borrow;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use gatehouse_core::model::Policy;
use gatehouse_core::model::{
    Action, Detection, Group, Identity, RiskPoint, SignInEvent, SyncCursor, SyncStatus, User,
};
use gatehouse_core::{IdentityId, IntegrationId, PolicyId, SignInId, TenantId, UserId};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::IVec;
use sled::Transactional;

use super::keys::{self, decode, decode_opt, encode};
use super::signin_record::{decode_without_raw, encode_signin};
use super::tenancy::locator_key;
use super::{abort, tx_result, SledStore};
use crate::shared::{signin_subjects, subject_key};
use crate::{KnownSignIns, Locatable, SignInSubject, StoreError};

/// The smallest sign-in id at `time`: ids are time-ordered ULIDs (`SignInId::derive`).
fn time_floor(time: DateTime<Utc>) -> String {
    SignInId::derive(time, &[]).as_str()[..SignInId::PREFIX.len() + 10].to_owned()
}

/// Refuses a record that claims another tenant than the one the call is scoped to.
pub(super) fn same_tenant(
    scope: &TenantId,
    owner: &TenantId,
    what: &str,
) -> Result<(), StoreError> {
    if scope == owner {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "{what} belongs to another tenant than the call's scope"
        )))
    }
}

fn user_emails(user: &User) -> Vec<String> {
    lowered_emails(user.email.as_ref(), &user.emails)
}

fn lowered_emails(email: Option<&String>, emails: &[String]) -> Vec<String> {
    let mut emails: Vec<String> = email
        .into_iter()
        .chain(emails)
        .map(|e| e.to_lowercase())
        .collect();
    emails.sort();
    emails.dedup();
    emails
}

/// What a stored account's index entries are made of, read without the rest of its record: a
/// write over an account needs only these of the record it replaces, and decoding the whole
/// record (its raw provider copy is most of it) made a re-pull read every account twice over.
#[derive(serde::Deserialize)]
struct IndexedAs {
    integration_id: IntegrationId,
    external_id: String,
    email: Option<String>,
    #[serde(default)]
    emails: Vec<String>,
}

/// Users with their encoded records, checked against the call's tenant (encoding happens once,
/// outside the transaction, which sled may run more than once).
pub(super) fn prepare_users<'a>(
    tenant: &TenantId,
    users: &'a [User],
) -> Result<Vec<(&'a User, Vec<u8>)>, StoreError> {
    let mut prepared = Vec::with_capacity(users.len());
    for user in users {
        same_tenant(tenant, &user.tenant_id, "a user")?;
        prepared.push((user, encode(user)?));
    }
    Ok(prepared)
}

pub(super) fn prepare_identities(
    identities: &[Identity],
) -> Result<Vec<(&Identity, Vec<u8>)>, StoreError> {
    identities
        .iter()
        .map(|identity| Ok((identity, encode(identity)?)))
        .collect()
}

pub(super) type TxError = ConflictableTransactionError<StoreError>;

/// What an account or identity write needs of a tree: the same writes run inside a
/// transaction, or directly on the trees when a pull's page is written by two threads at once
/// (`pages.rs`).
pub(super) trait Kv {
    fn kv_get(&self, key: &[u8]) -> Result<Option<IVec>, TxError>;
    fn kv_insert(&self, key: &[u8], value: &[u8]) -> Result<(), TxError>;
    fn kv_remove(&self, key: &[u8]) -> Result<(), TxError>;
}

impl Kv for TransactionalTree {
    fn kv_get(&self, key: &[u8]) -> Result<Option<IVec>, TxError> {
        Ok(self.get(key)?)
    }
    fn kv_insert(&self, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.insert(key, value)?;
        Ok(())
    }
    fn kv_remove(&self, key: &[u8]) -> Result<(), TxError> {
        self.remove(key)?;
        Ok(())
    }
}

impl Kv for sled::Tree {
    fn kv_get(&self, key: &[u8]) -> Result<Option<IVec>, TxError> {
        self.get(key).map_err(ConflictableTransactionError::Storage)
    }
    fn kv_insert(&self, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.insert(key, value)
            .map(drop)
            .map_err(ConflictableTransactionError::Storage)
    }
    fn kv_remove(&self, key: &[u8]) -> Result<(), TxError> {
        self.remove(key)
            .map(drop)
            .map_err(ConflictableTransactionError::Storage)
    }
}

/// The trees of inventory accounts (inside a transaction, or the trees themselves).
pub(super) struct UserTrees<'a, T: Kv = TransactionalTree> {
    pub users: &'a T,
    pub by_external: &'a T,
    pub by_email: &'a T,
}

impl<T: Kv> UserTrees<'_, T> {
    /// Inserts or replaces accounts, moving their external-id and e-mail index entries. Index
    /// entries an account already has are left as they are: a re-pull of an unchanged
    /// directory then writes one record per account. Accounts have no locator entry: the
    /// operator's lookup by id alone asks each tenant (`locate_now`), which saves a new
    /// account a write.
    ///
    /// New index entries are written before the record and stale ones removed after it, so a
    /// write cut short outside a transaction leaves at most entries that readers check against
    /// the record and skip, never a record its index cannot find.
    ///
    /// `drawn`: accounts whose ids were drawn for them just now, with nothing to replace.
    pub(super) fn put<U: Borrow<User>>(
        &self,
        tenant: &TenantId,
        prepared: &[(U, Vec<u8>)],
        drawn: Option<&BTreeSet<UserId>>,
    ) -> Result<(), TxError> {
        for (user, bytes) in prepared {
            let user = user.borrow();
            let id = user.id.as_str();
            let key = keys::scoped(tenant, &[id]);
            let emails = user_emails(user);
            let stored = if drawn.is_some_and(|drawn| drawn.contains(&user.id)) {
                None
            } else {
                self.users.kv_get(key.as_slice())?
            };
            let old = match stored {
                Some(old) => Some(decode::<IndexedAs>(&old).map_err(abort)?),
                None => None,
            };
            let (same_external, old_emails) = match &old {
                Some(old) => (
                    old.integration_id == user.integration_id
                        && old.external_id == user.external_id,
                    lowered_emails(old.email.as_ref(), &old.emails),
                ),
                None => (false, Vec::new()),
            };
            if !same_external {
                self.by_external.kv_insert(
                    &keys::scoped(tenant, &[user.integration_id.as_str(), &user.external_id]),
                    id.as_bytes(),
                )?;
            }
            for email in emails.iter().filter(|e| !old_emails.contains(e)) {
                self.by_email
                    .kv_insert(&keys::scoped(tenant, &[email, id]), &[])?;
            }
            self.users.kv_insert(&key, bytes)?;
            if let Some(old) = old.as_ref().filter(|_| !same_external) {
                self.by_external.kv_remove(&keys::scoped(
                    tenant,
                    &[old.integration_id.as_str(), &old.external_id],
                ))?;
            }
            for email in old_emails.iter().filter(|e| !emails.contains(e)) {
                self.by_email
                    .kv_remove(&keys::scoped(tenant, &[email, id]))?;
            }
        }
        Ok(())
    }
}

/// The trees of identities (inside a transaction, or the trees themselves).
pub(super) struct IdentityTrees<'a, T: Kv = TransactionalTree> {
    pub identities: &'a T,
    pub by_email: &'a T,
}

impl<T: Kv> IdentityTrees<'_, T> {
    /// Inserts or replaces identities, moving their e-mail index entries (those an identity
    /// already has are left as they are; like accounts, identities have no locator entry).
    /// Entries before the record, stale ones after it, as for accounts.
    pub(super) fn put<I: Borrow<Identity>>(
        &self,
        prepared: &[(I, Vec<u8>)],
        drawn: Option<&BTreeSet<IdentityId>>,
    ) -> Result<(), TxError> {
        for (identity, bytes) in prepared {
            let identity = identity.borrow();
            let tenant = &identity.tenant_id;
            let id = identity.id.as_str();
            let key = keys::scoped(tenant, &[id]);
            let lowered = |emails: &[String]| -> Vec<String> {
                emails.iter().map(|e| e.to_lowercase()).collect()
            };
            let emails = lowered(&identity.emails);
            let stored = if drawn.is_some_and(|drawn| drawn.contains(&identity.id)) {
                None
            } else {
                self.identities.kv_get(key.as_slice())?
            };
            let old = match stored {
                Some(old) => Some(decode::<Identity>(&old).map_err(abort)?),
                None => None,
            };
            let old_emails = old.as_ref().map_or_else(Vec::new, |o| lowered(&o.emails));
            for email in emails.iter().filter(|e| !old_emails.contains(e)) {
                self.by_email
                    .kv_insert(&keys::scoped(tenant, &[email]), id.as_bytes())?;
            }
            self.identities.kv_insert(&key, bytes)?;
            for email in old_emails.iter().filter(|e| !emails.contains(e)) {
                self.by_email.kv_remove(&keys::scoped(tenant, &[email]))?;
            }
        }
        Ok(())
    }
}

impl SledStore {
    /// Runs `body` in one transaction over the account tree and its indexes.
    fn in_user_trees<T>(
        &self,
        body: impl Fn(&UserTrees<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let trees = (
            &self.trees.users,
            &self.trees.users_by_external,
            &self.trees.users_by_email,
        );
        tx_result(trees.transaction(|(users, by_external, by_email)| {
            body(&UserTrees {
                users,
                by_external,
                by_email,
            })
        }))
    }

    pub(super) fn upsert_users_now(
        &self,
        tenant: &TenantId,
        users: &[User],
    ) -> Result<(), StoreError> {
        let prepared = prepare_users(tenant, users)?;
        self.in_user_trees(|tx| tx.put(tenant, &prepared, None))
    }

    /// Accounts and the identities they joined in one transaction: a directory page is one
    /// atomic write, not one for its accounts and another for its people.
    pub(super) fn upsert_users_with_identities_now(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        if identities.is_empty() {
            return self.upsert_users_now(tenant, users);
        }
        for identity in identities {
            same_tenant(tenant, &identity.tenant_id, "an identity")?;
        }
        let accounts = prepare_users(tenant, users)?;
        let people = prepare_identities(identities)?;
        let trees = (
            &self.trees.users,
            &self.trees.users_by_external,
            &self.trees.users_by_email,
            &self.trees.identities,
            &self.trees.identities_by_email,
        );
        tx_result(trees.transaction(
            |(users, by_external, by_email, identities, identities_by_email)| {
                UserTrees {
                    users,
                    by_external,
                    by_email,
                }
                .put(tenant, &accounts, None)?;
                IdentityTrees {
                    identities,
                    by_email: identities_by_email,
                }
                .put(&people, None)
            },
        ))
    }

    /// Reads, changes and writes accounts in one transaction (sled re-runs `change` on a
    /// conflict, so it always sees the records it writes over).
    pub(super) fn update_users_now<F>(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
        change: &F,
    ) -> Result<usize, StoreError>
    where
        F: for<'u> Fn(&'u mut User) -> bool + ?Sized,
    {
        self.in_user_trees(|tx| {
            let mut changed = 0;
            for id in ids {
                let key = keys::scoped(tenant, &[id.as_str()]);
                let Some(bytes) = tx.users.get(key.as_slice())? else {
                    continue;
                };
                let mut user: User = decode(&bytes).map_err(abort)?;
                if !change(&mut user) {
                    continue;
                }
                let encoded = encode(&user).map_err(abort)?;
                tx.put(tenant, &[(&user, encoded)], None)?;
                changed += 1;
            }
            Ok(changed)
        })
    }

    pub(super) fn get_user_now(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Option<User>, StoreError> {
        decode_opt(self.trees.users.get(keys::scoped(tenant, &[id.as_str()]))?)
    }

    pub(super) fn get_identity_now(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Option<Identity>, StoreError> {
        decode_opt(
            self.trees
                .identities
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )
    }

    pub(super) fn find_user_by_external_id_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let key = keys::scoped(tenant, &[integration.as_str(), external_id]);
        let Some(id) = self.trees.users_by_external.get(key)? else {
            return Ok(None);
        };
        let found: Option<User> = decode_opt(
            self.trees
                .users
                .get(keys::scoped(tenant, &[&String::from_utf8_lossy(&id)]))?,
        )?;
        // An entry left by a write cut short names a record that moved on: checked here.
        Ok(found
            .filter(|user| user.integration_id == *integration && user.external_id == external_id))
    }

    pub(super) fn find_users_by_email_now(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<User>, StoreError> {
        let email = email.to_lowercase();
        let prefix = keys::scoped(tenant, &[&email, ""]);
        let mut users = Vec::new();
        for key in self.trees.users_by_email.scan_prefix(prefix).keys() {
            let id = keys::last_part(&key?);
            if let Some(bytes) = self.trees.users.get(keys::scoped(tenant, &[&id]))? {
                let user: User = decode(&bytes)?;
                // Entries are written before their record and removed after it: check.
                if user_emails(&user).contains(&email) {
                    users.push(user);
                }
            }
        }
        Ok(users)
    }

    pub(super) fn upsert_groups_now(
        &self,
        tenant: &TenantId,
        groups: &[Group],
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for group in groups {
            same_tenant(tenant, &group.tenant_id, "a group")?;
            batch.insert(keys::scoped(tenant, &[group.id.as_str()]), encode(group)?);
        }
        self.trees.groups.apply_batch(batch)?;
        Ok(())
    }

    pub(super) fn put_identities_now(&self, identities: &[Identity]) -> Result<(), StoreError> {
        let prepared = prepare_identities(identities)?;
        let trees = (&self.trees.identities, &self.trees.identities_by_email);
        tx_result(trees.transaction(|(identities, by_email)| {
            let tx = IdentityTrees {
                identities,
                by_email,
            };
            tx.put(&prepared, None)
        }))
    }

    /// The identity's score and its history in one transaction (the score alone changes: no
    /// e-mail index moves).
    pub(super) fn record_identity_risk_now(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
        score: u8,
        time: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = keys::scoped(tenant, &[id.as_str()]);
        let trees = (&self.trees.identities, &self.trees.risk_history);
        tx_result(trees.transaction(|(identities, history)| {
            let Some(bytes) = identities.get(key.as_slice())? else {
                return Ok(false);
            };
            let mut identity: Identity = decode(&bytes).map_err(abort)?;
            if identity.risk_score != score {
                identity.risk_score = score;
                identities.insert(key.as_slice(), encode(&identity).map_err(abort)?)?;
            }
            let mut points: Vec<RiskPoint> = match history.get(key.as_slice())? {
                Some(bytes) => decode(&bytes).map_err(abort)?,
                None => Vec::new(),
            };
            if points.last().is_some_and(|p| p.score == score) {
                return Ok(false);
            }
            points.push(RiskPoint { time, score });
            let over = points.len().saturating_sub(RiskPoint::HISTORY_CAP);
            points.drain(..over);
            history.insert(key.as_slice(), encode(&points).map_err(abort)?)?;
            Ok(true)
        }))
    }

    pub(super) fn identity_risk_history_now(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Vec<RiskPoint>, StoreError> {
        Ok(decode_opt(
            self.trees
                .risk_history
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )?
        .unwrap_or_default())
    }

    pub(super) fn find_identity_by_email_now(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let email = email.to_lowercase();
        let key = keys::scoped(tenant, &[&email]);
        let Some(id) = self.trees.identities_by_email.get(key)? else {
            return Ok(None);
        };
        let indexed: Option<Identity> = decode_opt(
            self.trees
                .identities
                .get(keys::scoped(tenant, &[&String::from_utf8_lossy(&id)]))?,
        )?;
        // Entries are written before their record and removed after it: check.
        Ok(indexed.filter(|identity| identity.emails.iter().any(|e| e.to_lowercase() == email)))
    }

    /// Sign-in ids are derived from the integration and the provider's event id
    /// (`SignInId::derive`), so the record's own key is the dedupe key: one compare-and-swap per
    /// event stores it only if that key is new, atomically and without a cross-tree transaction.
    pub(super) fn insert_signins_now(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
    ) -> Result<Vec<usize>, StoreError> {
        let mut fresh = Vec::new();
        for (index, event) in events.iter().enumerate() {
            same_tenant(tenant, &event.tenant_id, "a sign-in")?;
            let key = keys::scoped(tenant, &[event.id.as_str()]);
            let swapped = self.trees.signins.compare_and_swap(
                key,
                None as Option<&[u8]>,
                Some(encode_signin(event)?),
            )?;
            // The index entries are always those of the record as first stored: a replay or a
            // resent event with other content cannot make them disagree. A duplicate writes
            // them again, since a crash may have come between a record and its entries (the
            // journal or the pull's cursor then brings the event back).
            let stored = match swapped {
                Ok(()) => {
                    fresh.push(index);
                    std::borrow::Cow::Borrowed(event)
                }
                Err(existing) => match existing.current {
                    Some(bytes) => std::borrow::Cow::Owned(decode_without_raw(&bytes)?),
                    None => continue,
                },
            };
            for subject in signin_subjects(&stored) {
                self.trees
                    .signins_by_subject
                    .insert(keys::scoped(tenant, &[&subject, stored.id.as_str()]), &[])?;
            }
        }
        Ok(fresh)
    }

    pub(super) fn signins_about_now(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        limit: usize,
        known: Option<&KnownSignIns>,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        let subject = subject_key(&subject);
        let start = keys::scoped(tenant, &[&subject, &time_floor(from)]);
        let end = keys::scoped(tenant, &[&subject, &time_floor(to)]);
        let mut events = Vec::new();
        for key in self.trees.signins_by_subject.range(start..end).keys() {
            if let Some(event) = self.window_event(tenant, &key?, known)? {
                if event.time >= from && event.time < to {
                    events.push(event);
                }
            }
            if events.len() >= limit {
                break;
            }
        }
        Ok(events)
    }

    /// The sign-in a subject index entry names, without its raw event, which the risk windows
    /// never read (`None` when the record is gone): from `known` when it holds it.
    fn window_event(
        &self,
        tenant: &TenantId,
        key: &[u8],
        known: Option<&KnownSignIns>,
    ) -> Result<Option<SignInEvent>, StoreError> {
        let id = keys::last_part(key);
        if let Some(event) = known.and_then(|k| k.get(tenant, &id)) {
            return Ok(Some(event.clone()));
        }
        match self.trees.signins.get(keys::scoped(tenant, &[&id]))? {
            Some(bytes) => Ok(Some(decode_without_raw(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The sign-ins about one subject with `from <= time < to` nearest to the sign-in `around`
    /// in the index's order (time, then id): at most `each_side` before it and `each_side`
    /// from it on. Two bounded index walks, one backwards, so a subject with a million entries
    /// in the window costs what one with a thousand does.
    pub(super) fn signins_near_now(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
        known: Option<&KnownSignIns>,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        let subject = subject_key(&subject);
        let start = keys::scoped(tenant, &[&subject, &time_floor(from)]);
        let middle = keys::scoped(tenant, &[&subject, around.as_str()]);
        let end = keys::scoped(tenant, &[&subject, &time_floor(to)]);
        if start >= end {
            return Ok(Vec::new());
        }
        let middle = middle.clamp(start.clone(), end.clone());
        let index = &self.trees.signins_by_subject;
        let mut entries = Vec::with_capacity(2 * each_side);
        for key in index
            .range(start..middle.clone())
            .keys()
            .rev()
            .take(each_side)
        {
            entries.push(key?);
        }
        entries.reverse();
        for key in index.range(middle..end).keys().take(each_side) {
            entries.push(key?);
        }
        let mut events = Vec::with_capacity(entries.len());
        for key in entries {
            if let Some(event) = self.window_event(tenant, &key, known)? {
                if event.time >= from && event.time < to {
                    events.push(event);
                }
            }
        }
        Ok(events)
    }

    pub(super) fn put_detection_indexed(
        &self,
        detection: &Detection,
        subject: &str,
    ) -> Result<(), StoreError> {
        self.put_detection_now(detection)?;
        self.trees.detections_by_subject.insert(
            keys::scoped(&detection.tenant_id, &[subject, detection.id.as_str()]),
            &[],
        )?;
        Ok(())
    }

    pub(super) fn detections_about_now(
        &self,
        tenant: &TenantId,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StoreError> {
        let mut found = Vec::new();
        for key in self
            .trees
            .detections_by_subject
            .scan_prefix(keys::scoped(tenant, &[subject, ""]))
            .keys()
        {
            let id = keys::last_part(&key?);
            if let Some(bytes) = self.trees.detections.get(keys::scoped(tenant, &[&id]))? {
                let detection: Detection = decode(&bytes)?;
                if detection.last_seen >= since {
                    found.push(detection);
                }
            }
        }
        Ok(found)
    }

    pub(super) fn put_policy_now(&self, policy: &Policy) -> Result<(), StoreError> {
        let id = policy.id.as_str();
        self.trees
            .policies
            .insert(keys::scoped(&policy.tenant_id, &[id]), encode(policy)?)?;
        self.trees.locator.insert(
            locator_key(Locatable::Policy, id),
            policy.tenant_id.as_str(),
        )?;
        Ok(())
    }

    pub(super) fn list_policies_now(&self, tenant: &TenantId) -> Result<Vec<Policy>, StoreError> {
        self.trees
            .policies
            .scan_prefix(keys::tenant_prefix(tenant))
            .values()
            .map(|v| decode(&v?))
            .collect()
    }

    pub(super) fn delete_policy_now(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<bool, StoreError> {
        self.trees
            .locator
            .remove(locator_key(Locatable::Policy, id.as_str()))?;
        Ok(self
            .trees
            .policies
            .remove(keys::scoped(tenant, &[id.as_str()]))?
            .is_some())
    }

    pub(super) fn get_cursor_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
    ) -> Result<Option<SyncCursor>, StoreError> {
        decode_opt(
            self.trees
                .cursors
                .get(keys::scoped(tenant, &[integration.as_str(), name]))?,
        )
    }

    pub(super) fn put_cursor_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
        cursor: &SyncCursor,
    ) -> Result<(), StoreError> {
        self.trees.cursors.insert(
            keys::scoped(tenant, &[integration.as_str(), name]),
            encode(cursor)?,
        )?;
        Ok(())
    }

    pub(super) fn get_sync_status_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        decode_opt(
            self.trees
                .sync_status
                .get(keys::scoped(tenant, &[integration.as_str()]))?,
        )
    }

    pub(super) fn put_sync_status_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        self.trees.sync_status.insert(
            keys::scoped(tenant, &[integration.as_str()]),
            encode(status)?,
        )?;
        Ok(())
    }

    pub(super) fn put_detection_now(&self, detection: &Detection) -> Result<(), StoreError> {
        let id = detection.id.as_str();
        let key = keys::scoped(&detection.tenant_id, &[id]);
        let bytes = encode(detection)?;
        tx_result((&self.trees.detections, &self.trees.locator).transaction(
            |(detections, locator)| {
                detections.insert(key.as_slice(), bytes.as_slice())?;
                locator.insert(
                    locator_key(Locatable::Detection, id),
                    detection.tenant_id.as_str(),
                )?;
                Ok(())
            },
        ))
    }

    pub(super) fn put_action_now(&self, action: &Action) -> Result<(), StoreError> {
        let tenant = &action.tenant_id;
        let id = action.id.as_str();
        let key = keys::scoped(tenant, &[id]);
        let by_key = keys::scoped(tenant, &[&action.idempotency_key]);
        let bytes = encode(action)?;
        let trees = (
            &self.trees.actions,
            &self.trees.actions_by_key,
            &self.trees.actions_open,
            &self.trees.locator,
        );
        tx_result(trees.transaction(|(actions, by_key_tx, open, locator)| {
            actions.insert(key.as_slice(), bytes.as_slice())?;
            by_key_tx.insert(by_key.as_slice(), id)?;
            if action.status.is_final() {
                open.remove(id)?;
            } else {
                open.insert(id, tenant.as_str())?;
            }
            locator.insert(locator_key(Locatable::Action, id), tenant.as_str())?;
            Ok(())
        }))
    }

    /// [`put_action_now`](Self::put_action_now) for a new action, unless its idempotency key is
    /// taken: the key is read and claimed inside the transaction, so of two racing writers
    /// exactly one claims it (sled retries a transaction whose reads were overtaken).
    pub(super) fn create_action_now(&self, action: &Action) -> Result<Option<Action>, StoreError> {
        let tenant = &action.tenant_id;
        let id = action.id.as_str();
        let key = keys::scoped(tenant, &[id]);
        let by_key = keys::scoped(tenant, &[&action.idempotency_key]);
        let bytes = encode(action)?;
        let trees = (
            &self.trees.actions,
            &self.trees.actions_by_key,
            &self.trees.actions_open,
            &self.trees.locator,
        );
        let taken = tx_result(trees.transaction(|(actions, by_key_tx, open, locator)| {
            if let Some(existing) = by_key_tx.get(by_key.as_slice())? {
                return Ok(Some(existing));
            }
            actions.insert(key.as_slice(), bytes.as_slice())?;
            by_key_tx.insert(by_key.as_slice(), id)?;
            if action.status.is_final() {
                open.remove(id)?;
            } else {
                open.insert(id, tenant.as_str())?;
            }
            locator.insert(locator_key(Locatable::Action, id), tenant.as_str())?;
            Ok(None)
        }))?;
        let Some(existing) = taken else {
            return Ok(None);
        };
        let existing = String::from_utf8_lossy(&existing).into_owned();
        // A claimed key always names a stored action (both are written in one transaction).
        decode_opt(self.trees.actions.get(keys::scoped(tenant, &[&existing]))?)?
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("action {existing} of an idempotency key")))
    }

    pub(super) fn find_action_by_key_now(
        &self,
        tenant: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Action>, StoreError> {
        match self
            .trees
            .actions_by_key
            .get(keys::scoped(tenant, &[idempotency_key]))?
        {
            Some(id) => decode_opt(
                self.trees
                    .actions
                    .get(keys::scoped(tenant, &[&String::from_utf8_lossy(&id)]))?,
            ),
            None => Ok(None),
        }
    }

    pub(super) fn open_actions_now(&self) -> Result<Vec<Action>, StoreError> {
        let mut open = Vec::new();
        for entry in self.trees.actions_open.iter() {
            let (id, tenant) = entry?;
            let Some(tenant) = TenantId::parse(&String::from_utf8_lossy(&tenant)) else {
                continue;
            };
            let key = keys::scoped(&tenant, &[&String::from_utf8_lossy(&id)]);
            if let Some(bytes) = self.trees.actions.get(key)? {
                open.push(decode(&bytes)?);
            }
        }
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::model::Outcome;

    use super::*;

    fn signin(tenant: &TenantId) -> SignInEvent {
        let time = DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut event: SignInEvent = serde_json::from_value(serde_json::json!({
            "id": SignInId::derive(time, &["int_1", "e1"]).as_str(), "tenant_id": tenant.as_str(),
            "integration_id": "int_1", "provider": "idp", "provider_event_id": "e1",
            "time": time, "event_type": "sign_in", "outcome": "failure",
            "login": "a@x.example", "ip": "203.0.113.9",
        }))
        .unwrap();
        event.raw = Some(serde_json::json!({"uuid": "e1"}).into());
        event
    }

    fn window(store: &SledStore, tenant: &TenantId, ip: &str) -> Vec<SignInEvent> {
        let from = DateTime::parse_from_rfc3339("2026-05-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        store
            .signins_about_now(
                tenant,
                SignInSubject::Ip(ip),
                (from, from + chrono::Duration::hours(2)),
                10,
                None,
            )
            .unwrap()
    }

    /// A crash between a record and its index entries leaves the sign-in invisible to the
    /// windows; storing it again (the journal's replay, the pull's retry) writes them, though
    /// the sign-in is not new.
    #[test]
    fn a_duplicate_writes_the_entries_a_crash_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let tenant = TenantId::parse("ten_a").unwrap();
        let event = signin(&tenant);
        store
            .insert_signins_now(&tenant, std::slice::from_ref(&event))
            .unwrap();
        store.trees.signins_by_subject.clear().unwrap();
        assert!(window(&store, &tenant, "203.0.113.9").is_empty());
        let mut resent = event.clone();
        resent.outcome = Outcome::Success;
        assert!(store
            .insert_signins_now(&tenant, &[resent])
            .unwrap()
            .is_empty());
        let found = window(&store, &tenant, "203.0.113.9");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].outcome,
            Outcome::Failure,
            "the first copy's entries"
        );
    }

    /// A window read takes the sign-ins its caller holds from it, reads the rest, and hands
    /// back every sign-in without its raw event either way.
    #[test]
    fn a_window_read_takes_known_sign_ins_from_its_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let tenant = TenantId::parse("ten_a").unwrap();
        let event = signin(&tenant);
        let mut other = signin(&tenant);
        other.provider_event_id = "e2".into();
        other.id = SignInId::derive(other.time, &["int_1", "e2"]);
        store
            .insert_signins_now(&tenant, &[event.clone(), other.clone()])
            .unwrap();
        let mut held = event.clone();
        held.city = Some("held by the caller".into());
        let mut known = KnownSignIns::default();
        known.add(&held);
        let from = event.time - chrono::Duration::hours(1);
        let read = |known: Option<&KnownSignIns>| {
            store
                .signins_about_now(
                    &tenant,
                    SignInSubject::Ip("203.0.113.9"),
                    (from, from + chrono::Duration::hours(2)),
                    10,
                    known,
                )
                .unwrap()
        };
        let city = |events: &[SignInEvent], id: &SignInId| {
            events
                .iter()
                .find(|e| &e.id == id)
                .map(|e| (e.city.clone(), e.raw.is_none()))
        };
        let with = read(Some(&known));
        assert_eq!(
            city(&with, &event.id),
            Some((Some("held by the caller".into()), true))
        );
        assert_eq!(
            city(&with, &other.id),
            Some((None, true)),
            "read from the store"
        );
        assert_eq!(city(&read(None), &event.id), Some((None, true)));
        let near = store
            .signins_near_now(
                &tenant,
                SignInSubject::Ip("203.0.113.9"),
                (from, from + chrono::Duration::hours(2)),
                &event.id,
                5,
                Some(&known),
            )
            .unwrap();
        assert_eq!(
            city(&near, &event.id),
            Some((Some("held by the caller".into()), true))
        );
    }
}
