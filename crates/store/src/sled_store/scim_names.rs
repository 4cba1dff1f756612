//! `userName` uniqueness for SCIM Users: one name per tenant, across all its SCIM integrations,
//! case-insensitively (RFC 7643 §4.1.1 asks it of the service provider, and a tenant is one
//! provider no matter how many SCIM integrations feed it).
//!
//! Layout: `scim_user_names`: `tenant 0x00 <lower-cased userName>` → the holders, as JSON
//! `[[integration, id], …]`. A point key per tenant and name is what a sled transaction can
//! check and claim atomically (transactions cannot scan). There is normally one holder; more
//! only for names that two integrations of a tenant already shared when a store written by an
//! earlier version (uniqueness per integration, tree `scim_unique`) was migrated: those keep
//! working, and nobody else can take the name.
//!
//! A holder whose resource or integration is gone (a crash between deleting an integration and
//! its names, or a write that raced that deletion) does not block the name: claims check that the
//! holder still exists.

use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_scim::filter::index_key;
use gatehouse_scim::ResourceKind;
use serde_json::Value;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::keys::{self, decode, encode, SEP};
use super::{abort, tx_result, SledStore};
use crate::StoreError;

type TxError = ConflictableTransactionError<StoreError>;

/// The tree of the layout before this one: `tenant, integration, "User", name` → id.
const OLD_TREE: &str = "scim_unique";

/// (integration id, resource id)
pub(super) type Holder = (String, String);

pub(super) fn name_key(tenant: &TenantId, user_name: &str) -> Vec<u8> {
    keys::scoped(tenant, &[&index_key("userName", user_name)])
}

fn user_key(tenant: &TenantId, integration: &str, id: &str) -> Vec<u8> {
    keys::scoped(tenant, &[integration, "User", id])
}

fn holders_of(bytes: Option<sled::IVec>) -> Result<Vec<Holder>, StoreError> {
    bytes.map_or_else(|| Ok(Vec::new()), |b| decode(&b))
}

/// The name trees a claim or a release works on, inside a SCIM transaction.
pub(super) struct Names<'a> {
    pub names: &'a TransactionalTree,
    pub resources: &'a TransactionalTree,
}

impl Names<'_> {
    /// Whether (integration, id) may take `user_name`: the holders to store if so (the live
    /// ones, which can only be itself, and itself), `None` when another live User of the tenant
    /// holds it. A holder is live while its resource and its integration (in `integrations`)
    /// exist, so a write that raced its integration's deletion blocks no name. Reads only, so a
    /// caller can check everything before it writes anything.
    pub(super) fn claimable(
        &self,
        integrations: &TransactionalTree,
        tenant: &TenantId,
        integration: &str,
        id: &str,
        user_name: &str,
    ) -> Result<Option<Vec<Holder>>, TxError> {
        let key = name_key(tenant, user_name);
        let holders = holders_of(self.names.get(key.as_slice())?).map_err(abort)?;
        let me = (integration.to_owned(), id.to_owned());
        for holder in holders {
            if holder == me {
                continue;
            }
            let live = self
                .resources
                .get(user_key(tenant, &holder.0, &holder.1))?
                .is_some()
                && integrations
                    .get(keys::scoped(tenant, &[&holder.0]))?
                    .is_some();
            if live {
                return Ok(None);
            }
        }
        Ok(Some(vec![me]))
    }

    /// Stores what [`Self::claimable`] allowed.
    pub(super) fn claim(
        &self,
        tenant: &TenantId,
        user_name: &str,
        holders: &[Holder],
    ) -> Result<(), TxError> {
        self.names.insert(
            name_key(tenant, user_name),
            encode(&holders).map_err(abort)?.as_slice(),
        )?;
        Ok(())
    }

    /// Gives `user_name` up for (integration, id).
    pub(super) fn release(
        &self,
        tenant: &TenantId,
        integration: &str,
        id: &str,
        user_name: &str,
    ) -> Result<(), TxError> {
        let key = name_key(tenant, user_name);
        let mut holders = holders_of(self.names.get(key.as_slice())?).map_err(abort)?;
        holders.retain(|(i, r)| i != integration || r != id);
        if holders.is_empty() {
            self.names.remove(key)?;
        } else {
            self.names
                .insert(key, encode(&holders).map_err(abort)?.as_slice())?;
        }
        Ok(())
    }
}

impl SledStore {
    /// The integration's Users named `user_name` (case-insensitively): at most one, or the few
    /// a migrated store let share a name. Another integration's holder is not this caller's to
    /// see, and a holder whose resource is gone is skipped.
    pub(super) fn scim_users_named(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        user_name: &str,
    ) -> Result<Vec<Value>, StoreError> {
        let holders = holders_of(
            self.trees
                .scim_user_names
                .get(name_key(tenant, user_name))?,
        )?;
        let mut out = Vec::new();
        for (holder, id) in holders {
            if holder != integration.as_str() {
                continue;
            }
            if let Some(user) = self.scim_get_now(tenant, integration, ResourceKind::User, &id)? {
                out.push(user);
            }
        }
        Ok(out)
    }

    /// Releases every name an integration's Users hold (the integration is being deleted). Its
    /// `userName` index says which: `tenant, integration, "User", "userName", name, id`.
    pub(super) fn release_integration_names(
        &self,
        tenant: &TenantId,
        integration: &str,
    ) -> Result<(), StoreError> {
        let prefix = keys::scoped(tenant, &[integration, "User", "userName", ""]);
        for key in self.trees.scim_index.scan_prefix(&prefix).keys() {
            let key = key?;
            let rest = &key[prefix.len()..];
            let Some(split) = rest.iter().rposition(|b| *b == SEP) else {
                continue;
            };
            let name = String::from_utf8_lossy(&rest[..split]).into_owned();
            let id = String::from_utf8_lossy(&rest[split + 1..]).into_owned();
            tx_result(
                (&self.trees.scim_user_names, &self.trees.scim_resources).transaction(
                    |(names, resources)| {
                        Names { names, resources }.release(tenant, integration, &id, &name)
                    },
                ),
            )?;
        }
        Ok(())
    }
}

/// Moves names from the per-integration layout (tree `scim_unique`) into `scim_user_names`, then
/// drops the old tree. Runs at open, before anything else writes. Safe to repeat after a crash:
/// a holder already present is not added twice, and the old tree goes only once all are in.
pub(super) fn migrate(db: &sled::Db, names: &sled::Tree) -> Result<(), StoreError> {
    if !db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == OLD_TREE.as_bytes())
    {
        return Ok(());
    }
    let old = db.open_tree(OLD_TREE)?;
    let (mut moved, mut shared) = (0usize, 0usize);
    for entry in old.iter() {
        let (key, id) = entry?;
        // tenant, integration, kind, name: names hold no NUL (the engine refuses them).
        let parts: Vec<&[u8]> = key.splitn(4, |b| *b == SEP).collect();
        let [tenant, integration, kind, name] = parts[..] else {
            continue;
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let Some(tenant) = TenantId::parse(&text(tenant)) else {
            continue;
        };
        if kind != b"User" {
            continue;
        }
        let key = keys::scoped(&tenant, &[&text(name)]);
        let mut holders = holders_of(names.get(&key)?)?;
        let holder = (text(integration), text(&id));
        if !holders.contains(&holder) {
            if !holders.is_empty() {
                shared += 1;
            }
            holders.push(holder);
            names.insert(key, encode(&holders)?)?;
        }
        moved += 1;
    }
    // The new entries are on disk before the old ones go.
    db.flush()?;
    db.drop_tree(OLD_TREE)?;
    db.flush()?;
    tracing::info!(
        moved,
        shared,
        "SCIM userName index migrated to one namespace per tenant"
    );
    if shared > 0 {
        tracing::warn!(
            shared,
            "userNames already shared by SCIM integrations of one tenant keep all their holders"
        );
    }
    Ok(())
}

/// Stores a scim integration record (test setup): a name held in an integration that does not
/// exist blocks nobody.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) fn integrate(store: &SledStore, tenant: &TenantId, id: &IntegrationId) {
    let record: gatehouse_core::model::Integration = serde_json::from_value(serde_json::json!({
        "id": id.as_str(), "tenant_id": tenant.as_str(), "type": "scim", "config": {},
        "status": "active", "credentials": {"key_id": "k", "sealed": "s"},
        "created_at": "2026-11-23T00:00:00Z", "updated_at": "2026-11-23T00:00:00Z"}))
    .unwrap();
    store.create_integration_now(&record, &[]).unwrap();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::InventoryRows;
    use std::sync::Arc;

    /// No inventory rows with the write.
    const NONE: InventoryRows = InventoryRows {
        users: Vec::new(),
        identities: Vec::new(),
        drawn: crate::DrawnIds::NONE,
    };

    use serde_json::json;

    use super::*;
    use crate::sled_store::ScimWrite;

    const U: ResourceKind = ResourceKind::User;

    fn user(id: &str, name: &str, version: &str) -> Value {
        json!({"id": id, "userName": name, "meta": {"version": version}})
    }

    fn ids() -> (TenantId, TenantId, IntegrationId, IntegrationId) {
        (
            TenantId::parse("ten_a").unwrap(),
            TenantId::parse("ten_b").unwrap(),
            IntegrationId::parse("int_1").unwrap(),
            IntegrationId::parse("int_2").unwrap(),
        )
    }

    fn conflict(r: Result<impl std::fmt::Debug, StoreError>) -> bool {
        matches!(r, Err(StoreError::Conflict(_)))
    }

    #[test]
    fn user_name_is_unique_across_a_tenants_scim_integrations() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b, one, two) = ids();
        for (t, i) in [(&a, &one), (&a, &two), (&b, &two)] {
            integrate(&store, t, i);
        }
        store
            .scim_create_now(&a, &one, U, &user("1", "Alice", "v1"), &NONE)
            .unwrap();
        // Another integration of the same tenant, another case: taken.
        assert!(conflict(store.scim_create_now(
            &a,
            &two,
            U,
            &user("2", "ALICE", "v1"),
            &NONE
        )));
        assert!(store.scim_get_now(&a, &two, U, "2").unwrap().is_none());
        // Another tenant: free.
        store
            .scim_create_now(&b, &two, U, &user("2", "alice", "v1"), &NONE)
            .unwrap();
        // Reads stay per integration: integration two of tenant a sees no alice.
        assert!(store
            .scim_find_now(&a, &two, U, "userName", "alice")
            .unwrap()
            .is_empty());
        // A rename onto the name is refused too, and leaves the User as it was.
        store
            .scim_create_now(&a, &two, U, &user("3", "bob", "v1"), &NONE)
            .unwrap();
        assert!(conflict(store.scim_replace_now(
            &a,
            &two,
            U,
            &user("3", "aLiCe", "v2"),
            "v1",
            &NONE
        )));
        assert_eq!(
            store.scim_get_now(&a, &two, U, "3").unwrap().unwrap()["userName"],
            "bob"
        );
        // Changing only the case of one's own name is no conflict.
        let ok = store.scim_replace_now(&a, &one, U, &user("1", "ALICE", "v2"), "v1", &NONE);
        assert_eq!(ok.unwrap(), ScimWrite::Written);
        // Deleting the holder frees the name for the tenant's other integrations.
        store.scim_delete_now(&a, &one, U, "1", None).unwrap();
        let ok = store.scim_replace_now(&a, &two, U, &user("3", "alice", "v2"), "v1", &NONE);
        assert_eq!(ok.unwrap(), ScimWrite::Written);
        // And bob, given up by the rename, is free again.
        store
            .scim_create_now(&a, &one, U, &user("4", "Bob", "v1"), &NONE)
            .unwrap();
    }

    #[test]
    fn deleting_an_integration_frees_its_user_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, _, one, two) = ids();
        integrate(&store, &a, &one);
        integrate(&store, &a, &two);
        store
            .scim_create_now(&a, &one, U, &user("1", "alice", "v1"), &NONE)
            .unwrap();
        store.delete_integration_now(&a, &one).unwrap();
        assert!(store.trees.scim_user_names.is_empty());
        store
            .scim_create_now(&a, &two, U, &user("2", "Alice", "v1"), &NONE)
            .unwrap();
    }

    #[test]
    fn a_holder_whose_resource_or_integration_is_gone_does_not_block_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, _, one, two) = ids();
        integrate(&store, &a, &one);
        integrate(&store, &a, &two);
        store
            .scim_create_now(&a, &one, U, &user("1", "alice", "v1"), &NONE)
            .unwrap();
        store
            .scim_create_now(&a, &one, U, &user("2", "bob", "v1"), &NONE)
            .unwrap();
        // As after a crash between removing an integration's resources and its names.
        store
            .trees
            .scim_resources
            .remove(user_key(&a, one.as_str(), "1"))
            .unwrap();
        store
            .scim_create_now(&a, &two, U, &user("3", "alice", "v1"), &NONE)
            .unwrap();
        // As after a write that raced its integration's deletion: the integration is gone.
        store
            .trees
            .integrations
            .remove(keys::scoped(&a, &[one.as_str()]))
            .unwrap();
        store
            .scim_create_now(&a, &two, U, &user("4", "Bob", "v1"), &NONE)
            .unwrap();
    }

    #[test]
    fn concurrent_creates_of_one_user_name_admit_exactly_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let tenant = TenantId::parse("ten_a").unwrap();
        for i in 0..4 {
            integrate(
                &store,
                &tenant,
                &IntegrationId::parse(&format!("int_{i}")).unwrap(),
            );
        }
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let (store, tenant) = (Arc::clone(&store), tenant.clone());
                std::thread::spawn(move || {
                    let integration = IntegrationId::parse(&format!("int_{}", i % 4)).unwrap();
                    let name = if i % 2 == 0 { "Carol" } else { "CAROL" };
                    store.scim_create_now(
                        &tenant,
                        &integration,
                        U,
                        &user(&i.to_string(), name, "v1"),
                        &NONE,
                    )
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_)))));
    }

    /// sled's IO threads can hold the file lock for a moment after the last handle is gone.
    fn reopen(dir: &std::path::Path) -> SledStore {
        for _ in 0..100 {
            if let Ok(store) = SledStore::open(dir) {
                return store;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        SledStore::open(dir).unwrap()
    }

    /// A store written with the per-integration layout (tree `scim_unique`), where two
    /// integrations of a tenant share a name.
    #[test]
    fn a_store_with_the_per_integration_index_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, one, two) = ids();
        let three = IntegrationId::parse("int_3").unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            for (t, i) in [(&a, &one), (&a, &two), (&a, &three), (&b, &one), (&b, &two)] {
                integrate(&store, t, i);
            }
            let old = store.db.open_tree(OLD_TREE).unwrap();
            for (tenant, integration, id, name) in [
                (&a, &one, "1", "Alice"),
                (&a, &two, "2", "ALICE"),
                (&a, &two, "3", "bob"),
                (&b, &one, "4", "dave"),
            ] {
                store
                    .scim_create_now(tenant, integration, U, &user(id, name, "v1"), &NONE)
                    .unwrap();
                // The old layout had no tenant-wide names: forget them as each User is written.
                store.trees.scim_user_names.clear().unwrap();
                let key = keys::scoped(
                    tenant,
                    &[integration.as_str(), "User", &name.to_lowercase()],
                );
                old.insert(key, id).unwrap();
            }
            store.db.flush().unwrap();
        }
        let store = reopen(dir.path());
        assert!(!store
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == OLD_TREE.as_bytes()));
        // Names are now the tenant's: nobody else can take them, in any integration.
        assert!(conflict(store.scim_create_now(
            &a,
            &three,
            U,
            &user("5", "BOB", "v1"),
            &NONE
        )));
        assert!(conflict(store.scim_create_now(
            &a,
            &three,
            U,
            &user("5", "alice", "v1"),
            &NONE
        )));
        // Lookups by name find each integration's own holder of a shared name, and only that.
        for (integration, id) in [(&one, "1"), (&two, "2")] {
            let found = store
                .scim_find_now(&a, integration, U, "userName", "aLIce")
                .unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0]["id"], id);
        }
        assert!(store
            .scim_find_now(&a, &three, U, "userName", "alice")
            .unwrap()
            .is_empty());
        // The two Users that shared a name keep working.
        let ok = store.scim_replace_now(&a, &two, U, &user("2", "Alice", "v2"), "v1", &NONE);
        assert_eq!(ok.unwrap(), ScimWrite::Written);
        store.scim_delete_now(&a, &one, U, "1", None).unwrap();
        assert!(conflict(store.scim_create_now(
            &a,
            &three,
            U,
            &user("5", "alice", "v1"),
            &NONE
        )));
        store.scim_delete_now(&a, &two, U, "2", None).unwrap();
        store
            .scim_create_now(&a, &three, U, &user("5", "alice", "v1"), &NONE)
            .unwrap();
        // Tenant b's names moved into tenant b's namespace.
        assert!(conflict(store.scim_create_now(
            &b,
            &two,
            U,
            &user("6", "Dave", "v1"),
            &NONE
        )));
        store
            .scim_create_now(&a, &two, U, &user("6", "Dave", "v1"), &NONE)
            .unwrap();
    }
}
