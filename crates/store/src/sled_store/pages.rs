//! A pull's pages on the embedded store, over both cores: the page's lookups and its writes
//! are split between two threads.
//!
//! Why: a directory page touches accounts and people spread over the whole key space, so
//! most of its reads and writes miss sled's page cache, and each miss is CPU — a read from
//! the log and a node decoded — on whichever thread asked. One thread then bounds a pull at
//! what one core can page in. sled's reads and plain inserts run in parallel; its
//! transactions (and batches) take a lock that excludes every other writer, so the page is
//! written with plain inserts, in an order that needs no transaction: index entries before
//! their record, stale entries after it (readers check an entry against its record), and the
//! pull's cursor only after both threads are done. A page cut short by a crash is written
//! again whole by the resumed pull.

use gatehouse_core::model::{Identity, User};
use gatehouse_core::{IntegrationId, TenantId};
use sled::transaction::ConflictableTransactionError;

use super::directory::{
    prepare_identities, prepare_users, same_tenant, IdentityTrees, TxError, UserTrees,
};
use super::SledStore;
use crate::{CursorMove, DrawnIds, StoreError};

/// Below this many items one thread does the work: a second thread costs more than it saves.
const PARALLEL_FROM: usize = 64;

/// `work` over `items` on two threads when there are enough of them, answers in their order.
fn on_two_threads<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&[T]) -> Result<Vec<R>, StoreError> + Sync,
) -> Result<Vec<R>, StoreError> {
    if items.len() < PARALLEL_FROM {
        return work(items);
    }
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| work(second));
        let mut answers = work(first)?;
        let rest = other
            .join()
            .map_err(|_| StoreError::Backend("a page thread panicked".into()))??;
        answers.extend(rest);
        Ok(answers)
    })
}

fn untx(error: TxError) -> StoreError {
    match error {
        ConflictableTransactionError::Abort(e) => e,
        ConflictableTransactionError::Storage(e) => StoreError::from(e),
        // Only transactions conflict; these writes run outside one.
        ConflictableTransactionError::Conflict => {
            StoreError::Backend("a write outside a transaction reported a conflict".into())
        }
    }
}

impl SledStore {
    pub(super) fn find_users_by_external_ids_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_ids: &[String],
    ) -> Result<Vec<Option<User>>, StoreError> {
        on_two_threads(external_ids, |part| {
            part.iter()
                .map(|external| self.find_user_by_external_id_now(tenant, integration, external))
                .collect()
        })
    }

    pub(super) fn find_identities_by_emails_now(
        &self,
        tenant: &TenantId,
        emails: &[String],
    ) -> Result<Vec<Option<Identity>>, StoreError> {
        on_two_threads(emails, |part| {
            part.iter()
                .map(|email| self.find_identity_by_email_now(tenant, email))
                .collect()
        })
    }

    /// A pull's page: its accounts and the identities they joined, written by two threads,
    /// then the cursor moved (after every record of the page, so sled's in-order recovery never
    /// has the cursor without its page).
    pub(super) fn write_page_now(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
        drawn: &DrawnIds,
        cursor: &CursorMove,
    ) -> Result<(), StoreError> {
        for identity in identities {
            same_tenant(tenant, &identity.tenant_id, "an identity")?;
        }
        let accounts = UserTrees {
            users: &self.trees.users,
            by_external: &self.trees.users_by_external,
            by_email: &self.trees.users_by_email,
        };
        let people = IdentityTrees {
            identities: &self.trees.identities,
            by_email: &self.trees.identities_by_email,
        };
        on_two_threads(users, |part| {
            let prepared = prepare_users(tenant, part)?;
            accounts
                .put(tenant, &prepared, Some(&drawn.users))
                .map_err(untx)?;
            Ok(Vec::<()>::new())
        })?;
        on_two_threads(identities, |part| {
            let prepared = prepare_identities(part)?;
            people
                .put(&prepared, Some(&drawn.identities))
                .map_err(untx)?;
            Ok(Vec::<()>::new())
        })?;
        self.move_cursor_now(tenant, cursor)
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::model::UserStatus;

    use super::*;
    use crate::sled_store::keys;

    fn account(tenant: &TenantId, integration: &IntegrationId, email: &str) -> User {
        User {
            id: gatehouse_core::UserId::parse("usr_chosen").unwrap(),
            tenant_id: tenant.clone(),
            integration_id: integration.clone(),
            provider: "idp".into(),
            external_id: "ext-1".into(),
            login: email.into(),
            email: Some(email.into()),
            emails: vec![],
            display_name: None,
            given_name: None,
            family_name: None,
            status: UserStatus::Active,
            status_flags: vec![],
            department: None,
            title: None,
            manager: None,
            groups: vec![],
            mfa_enrolled: None,
            mfa_factors: vec![],
            is_admin: false,
            identity_id: None,
            risk_score: 0,
            created_at: None,
            last_login_at: None,
            updated_at: None,
            synced_at: chrono::DateTime::UNIX_EPOCH,
            raw: None,
        }
    }

    /// What a page cut short outside a transaction can leave: index entries written before a
    /// record that never came, or not yet removed after the record moved on. Readers check each
    /// entry against its record.
    #[test]
    fn entries_a_cut_short_page_left_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let tenant = TenantId::parse("ten_a").unwrap();
        let integration = IntegrationId::parse("int_1").unwrap();
        let stored = account(&tenant, &integration, "now@x.example");
        store
            .upsert_users_with_identities_now(&tenant, std::slice::from_ref(&stored), &[])
            .unwrap();
        let id = stored.id.as_str();
        let trees = &store.trees;
        trees
            .users_by_email
            .insert(keys::scoped(&tenant, &["before@x.example", id]), &[])
            .unwrap();
        trees
            .users_by_external
            .insert(keys::scoped(&tenant, &["int_1", "ext-old"]), id)
            .unwrap();
        trees
            .identities_by_email
            .insert(keys::scoped(&tenant, &["before@x.example"]), "idn_gone")
            .unwrap();
        assert!(store
            .find_users_by_email_now(&tenant, "before@x.example")
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .find_users_by_email_now(&tenant, "NOW@x.example")
                .unwrap()
                .len(),
            1
        );
        assert!(store
            .find_user_by_external_id_now(&tenant, &integration, "ext-old")
            .unwrap()
            .is_none());
        assert!(store
            .find_identity_by_email_now(&tenant, "before@x.example")
            .unwrap()
            .is_none());
        assert!(store
            .find_user_by_external_id_now(&tenant, &integration, "ext-1")
            .unwrap()
            .is_some());
    }
}
