//! SCIM Users and Groups in the sled backend, one namespace per tenant and SCIM integration.
//!
//! Layout (every key starts with the tenant prefix, then the integration id and the resource
//! type name, so no call can reach another tenant's or integration's resources):
//! - `scim_resources`: `… id` → the resource's SCIM JSON, `meta` included;
//! - `scim_user_names`: the uniqueness RFC 7643 asks of `userName`, per tenant (see
//!   [`super::scim_names`]);
//! - `scim_index`: `… attr <index key> id` → empty, for `externalId`, `userName` and `displayName`
//!   equality filters;
//! - `scim_members`: `… group member` → empty (a group's members);
//! - `scim_member_of`: `… member group` → the group's displayName (what a User's `groups` shows).
//!
//! Writes run in one sled transaction over those trees (and the inventory's, for the rows a write
//! carries), so the uniqueness check, the resource and its indexes change together or not at all;
//! creates and replaces are batched across callers ([`super::scim_write`]).
//!
//! Reads stay scoped to one integration: a filter on one integration never yields another's
//! resources, even though their `userName`s share the tenant's namespace.

use gatehouse_core::model::{Identity, User};
use gatehouse_core::{IntegrationId, TenantId, UserId};
use gatehouse_scim::filter::index_key;
use gatehouse_scim::ResourceKind;
use serde_json::Value;
use sled::Transactional;

use super::keys::{self, decode, encode};
use super::tenancy::locator_key;
use super::{abort, tx_result, SledStore};
use crate::{Locatable, StoreError};

/// What a conditional SCIM write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimWrite {
    Written,
    /// No such resource (in this tenant and integration).
    NotFound,
    /// The stored `meta.version` is not the one the caller read: someone wrote in between.
    Stale,
}

/// Attributes with an equality index (besides `id`, which is the primary key).
pub(super) const INDEXED: [&str; 3] = ["userName", "externalId", "displayName"];

pub(super) fn kind_part(kind: ResourceKind) -> &'static str {
    kind.name()
}

pub(super) use crate::shared::{
    scim_members as members, scim_text as text, scim_version as version,
};

/// The keys of one namespace (tenant, integration, resource type).
pub(super) struct Ns<'a> {
    pub tenant: &'a TenantId,
    pub integration: &'a str,
    pub kind: &'static str,
}

impl Ns<'_> {
    pub(super) fn resource(&self, id: &str) -> Vec<u8> {
        keys::scoped(self.tenant, &[self.integration, self.kind, id])
    }

    pub(super) fn index(&self, attr: &str, value: &str, id: &str) -> Vec<u8> {
        keys::scoped(
            self.tenant,
            &[
                self.integration,
                self.kind,
                attr,
                &index_key(attr, value),
                id,
            ],
        )
    }

    fn index_prefix(&self, attr: &str, value: &str) -> Vec<u8> {
        keys::scoped(
            self.tenant,
            &[
                self.integration,
                self.kind,
                attr,
                &index_key(attr, value),
                "",
            ],
        )
    }

    /// Group membership keys are per integration only: members may be Users or Groups.
    pub(super) fn pair(&self, a: &str, b: &str) -> Vec<u8> {
        keys::scoped(self.tenant, &[self.integration, a, b])
    }

    fn pair_prefix(&self, a: &str) -> Vec<u8> {
        keys::scoped(self.tenant, &[self.integration, a, ""])
    }
}

impl SledStore {
    /// Deletes a resource and its index entries, if its version is `expected` (when given).
    pub(super) fn scim_delete_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        id: &str,
        expected: Option<&str>,
    ) -> Result<ScimWrite, StoreError> {
        let ns = Ns {
            tenant,
            integration: integration.as_str(),
            kind: kind_part(kind),
        };
        self.scim.tx(|tx| {
            let key = ns.resource(id);
            let Some(old) = tx.resources.get(key.as_slice())? else {
                return Ok(ScimWrite::NotFound);
            };
            let old: Value = decode(&old).map_err(abort)?;
            if expected.is_some_and(|e| version(&old) != Some(e)) {
                return Ok(ScimWrite::Stale);
            }
            // Giving a name up never conflicts.
            if let Ok(plan) = tx.plan_rename(&ns, id, Some(&old), None)? {
                tx.rename(&ns, id, plan)?;
            }
            tx.unindex(&ns, id, &old)?;
            tx.resources.remove(key)?;
            Ok(ScimWrite::Written)
        })
    }

    pub(super) fn scim_get_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, StoreError> {
        let ns = Ns {
            tenant,
            integration: integration.as_str(),
            kind: kind_part(kind),
        };
        self.trees
            .scim_resources
            .get(ns.resource(id))?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Resources whose `attr` (`id`, `userName`, `externalId` or `displayName`) has the index key
    /// of `value`. Candidates only: the caller evaluates its whole filter on them.
    pub(super) fn scim_find_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        attr: &str,
        value: &str,
    ) -> Result<Vec<Value>, StoreError> {
        if attr == "id" {
            return Ok(self
                .scim_get_now(tenant, integration, kind, value)?
                .into_iter()
                .collect());
        }
        if attr == "userName" && kind == ResourceKind::User {
            // The tenant's name tree answers with one point read; the index needs a scan.
            return self.scim_users_named(tenant, integration, value);
        }
        if !INDEXED.contains(&attr) {
            return Err(StoreError::Backend(format!("{attr} has no SCIM index")));
        }
        let ns = Ns {
            tenant,
            integration: integration.as_str(),
            kind: kind_part(kind),
        };
        let mut out = Vec::new();
        for key in self
            .trees
            .scim_index
            .scan_prefix(ns.index_prefix(attr, value))
            .keys()
        {
            let id = keys::last_part(&key?);
            if let Some(r) = self.scim_get_now(tenant, integration, kind, &id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Up to `limit` resources in id order, after `after` when given: one page of a full scan.
    pub(super) fn scim_scan_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Value>, StoreError> {
        let ns = Ns {
            tenant,
            integration: integration.as_str(),
            kind: kind_part(kind),
        };
        let prefix = ns.resource("");
        let from = match after {
            Some(id) => keys::after(ns.resource(id)),
            None => prefix.clone(),
        };
        let mut out = Vec::new();
        for entry in self.trees.scim_resources.range(from..) {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(decode(&value)?);
        }
        Ok(out)
    }

    /// The groups `member` belongs to, as (group id, displayName).
    pub(super) fn scim_groups_of_now(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        member: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let ns = Ns {
            tenant,
            integration: integration.as_str(),
            kind: "",
        };
        let mut out = Vec::new();
        for entry in self
            .trees
            .scim_member_of
            .scan_prefix(ns.pair_prefix(member))
        {
            let (key, value) = entry?;
            out.push((
                keys::last_part(&key),
                String::from_utf8_lossy(&value).into_owned(),
            ));
        }
        Ok(out)
    }

    /// Removes an inventory user, its indexes and its place in its identity's accounts.
    pub(super) fn delete_user_now(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<bool, StoreError> {
        let trees = (
            &self.trees.users,
            &self.trees.users_by_external,
            &self.trees.users_by_email,
            &self.trees.locator,
            &self.trees.identities,
        );
        tx_result(
            trees.transaction(|(users, by_external, by_email, locator, identities)| {
                let key = keys::scoped(tenant, &[id.as_str()]);
                let Some(old) = users.get(key.as_slice())? else {
                    return Ok(false);
                };
                let old: User = decode(&old).map_err(abort)?;
                by_external.remove(keys::scoped(
                    tenant,
                    &[old.integration_id.as_str(), &old.external_id],
                ))?;
                let mut emails: Vec<String> = old
                    .email
                    .iter()
                    .chain(&old.emails)
                    .map(|e| e.to_lowercase())
                    .collect();
                emails.sort();
                emails.dedup();
                for email in emails {
                    by_email.remove(keys::scoped(tenant, &[&email, id.as_str()]))?;
                }
                if let Some(identity_id) = &old.identity_id {
                    let ikey = keys::scoped(tenant, &[identity_id.as_str()]);
                    if let Some(bytes) = identities.get(ikey.as_slice())? {
                        let mut identity: Identity = decode(&bytes).map_err(abort)?;
                        identity.accounts.retain(|a| a != id);
                        identities.insert(ikey, encode(&identity).map_err(abort)?)?;
                    }
                }
                locator.remove(locator_key(Locatable::User, id.as_str()))?;
                users.remove(key)?;
                Ok(true)
            }),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sled_store::scim_names::integrate;
    use crate::InventoryRows;
    use serde_json::json;

    /// No inventory rows with the write.
    const NONE: InventoryRows = InventoryRows {
        users: Vec::new(),
        identities: Vec::new(),
        drawn: crate::DrawnIds::NONE,
    };

    fn user(id: &str, name: &str, version: &str) -> Value {
        json!({"id": id, "userName": name, "externalId": format!("ext-{id}"),
               "meta": {"version": version}})
    }

    #[test]
    fn user_name_is_unique_per_tenant_case_insensitively_and_reads_stay_scoped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b) = (
            TenantId::parse("ten_a").unwrap(),
            TenantId::parse("ten_b").unwrap(),
        );
        let int = IntegrationId::parse("int_1").unwrap();
        integrate(&store, &a, &int);
        integrate(&store, &b, &int);
        let u = ResourceKind::User;
        store
            .scim_create_now(&a, &int, u, &user("1", "Alice", "v1"), &NONE)
            .unwrap();
        let dup = store.scim_create_now(&a, &int, u, &user("2", "ALICE", "v1"), &NONE);
        assert!(matches!(dup, Err(StoreError::Conflict(_))));
        // Nothing of the refused write remains.
        assert!(store.scim_get_now(&a, &int, u, "2").unwrap().is_none());
        store
            .scim_create_now(&b, &int, u, &user("2", "alice", "v1"), &NONE)
            .unwrap();

        let found = store
            .scim_find_now(&a, &int, u, "userName", "aLiCe")
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], "1");
        let found = store
            .scim_find_now(&a, &int, u, "externalId", "ext-2")
            .unwrap();
        assert!(
            found.is_empty(),
            "tenant b's user is not a candidate in tenant a"
        );
        assert_eq!(store.scim_scan_now(&a, &int, u, None, 10).unwrap().len(), 1);

        // Replace checks the version and moves the unique key.
        let stale = store.scim_replace_now(&a, &int, u, &user("1", "Alicia", "v2"), "v0", &NONE);
        assert_eq!(stale.unwrap(), ScimWrite::Stale);
        let ok = store.scim_replace_now(&a, &int, u, &user("1", "Alicia", "v2"), "v1", &NONE);
        assert_eq!(ok.unwrap(), ScimWrite::Written);
        assert!(store
            .scim_find_now(&a, &int, u, "userName", "alice")
            .unwrap()
            .is_empty());
        store
            .scim_create_now(&a, &int, u, &user("3", "alice", "v1"), &NONE)
            .unwrap();

        assert_eq!(
            store.scim_delete_now(&a, &int, u, "1", None).unwrap(),
            ScimWrite::Written
        );
        assert!(store
            .scim_find_now(&a, &int, u, "userName", "alicia")
            .unwrap()
            .is_empty());
        assert_eq!(
            store.scim_delete_now(&a, &int, u, "1", None).unwrap(),
            ScimWrite::NotFound
        );
    }

    #[test]
    fn memberships_are_indexed_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let t = TenantId::parse("ten_a").unwrap();
        let int = IntegrationId::parse("int_1").unwrap();
        let g = ResourceKind::Group;
        let group = json!({"id": "g1", "displayName": "Admins", "members": [{"value": "u1"}],
                           "meta": {"version": "v1"}});
        store.scim_create_now(&t, &int, g, &group, &NONE).unwrap();
        let of = store.scim_groups_of_now(&t, &int, "u1").unwrap();
        assert_eq!(of, vec![("g1".to_owned(), "Admins".to_owned())]);
        let renamed = json!({"id": "g1", "displayName": "Owners", "members": [{"value": "u2"}],
                             "meta": {"version": "v2"}});
        store
            .scim_replace_now(&t, &int, g, &renamed, "v1", &NONE)
            .unwrap();
        assert!(store.scim_groups_of_now(&t, &int, "u1").unwrap().is_empty());
        assert_eq!(
            store.scim_groups_of_now(&t, &int, "u2").unwrap()[0].1,
            "Owners"
        );
        store
            .scim_delete_now(&t, &int, g, "g1", Some("v2"))
            .unwrap();
        assert!(store.scim_groups_of_now(&t, &int, "u2").unwrap().is_empty());
    }
}
