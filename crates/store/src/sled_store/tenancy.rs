//! Tenants, tokens, API keys and integrations in the sled backend (the synchronous halves; the
//! trait impl adds the durable commit).

use gatehouse_core::model::{ApiKey, Integration, SealedSecret, Tenant, TokenKind, TokenRecord};
use gatehouse_core::{ApiKeyId, IntegrationId, TenantId};
use sled::Transactional;

use super::keys::{self, decode, decode_opt, encode};
use super::{abort, tx_result, SledStore};
use crate::{Locatable, Page, PageRequest, StoreError};

pub(super) fn locator_key(kind: Locatable, id: &str) -> Vec<u8> {
    let tag = match kind {
        Locatable::Integration => "int",
        Locatable::User => "usr",
        Locatable::Identity => "idn",
        Locatable::Detection => "det",
        Locatable::Action => "act",
        Locatable::Policy => "pol",
    };
    format!("{tag}:{id}").into_bytes()
}

impl SledStore {
    pub(super) fn create_tenant_now(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let inserted = self.trees.tenants.compare_and_swap(
            tenant.id.as_str(),
            None as Option<&[u8]>,
            Some(encode(tenant)?),
        )?;
        inserted.map_err(|_| StoreError::Conflict(format!("tenant {}", tenant.id)))
    }

    pub(super) fn get_tenant_now(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        decode_opt(self.trees.tenants.get(id.as_str())?)
    }

    pub(super) fn list_tenants_now(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        let from = match &page.cursor {
            Some(cursor) => keys::after(cursor.as_bytes().to_vec()),
            None => Vec::new(),
        };
        let mut items = Vec::new();
        let mut iter = self.trees.tenants.range(from..);
        for entry in iter.by_ref() {
            let (_, value) = entry?;
            items.push(decode::<Tenant>(&value)?);
            if items.len() == page.limit {
                break;
            }
        }
        let next_cursor = if items.len() == page.limit && iter.next().is_some() {
            items.last().map(|t| t.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub(super) fn update_tenant_now(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let key = tenant.id.as_str();
        if !self.trees.tenants.contains_key(key)? {
            return Err(StoreError::NotFound(format!("tenant {}", tenant.id)));
        }
        self.trees.tenants.insert(key, encode(tenant)?)?;
        Ok(())
    }

    /// Removes data first and the tenant record last, so an interrupted delete can be retried.
    pub(super) fn delete_tenant_now(&self, id: &TenantId) -> Result<bool, StoreError> {
        if !self.trees.tenants.contains_key(id.as_str())? {
            return Ok(false);
        }
        let prefix = keys::tenant_prefix(id);
        let located = [
            (&self.trees.integrations, Locatable::Integration),
            (&self.trees.users, Locatable::User),
            (&self.trees.identities, Locatable::Identity),
            (&self.trees.detections, Locatable::Detection),
            (&self.trees.actions, Locatable::Action),
            (&self.trees.policies, Locatable::Policy),
        ];
        for (tree, kind) in located {
            for key in tree.scan_prefix(&prefix).keys() {
                let key = key?;
                self.trees
                    .locator
                    .remove(locator_key(kind, &keys::last_part(&key)))?;
                if kind == Locatable::Action {
                    self.trees.actions_open.remove(keys::last_part(&key))?;
                }
            }
        }
        for tree in self.trees.tenant_scoped() {
            for key in tree.scan_prefix(&prefix).keys() {
                tree.remove(key?)?;
            }
        }
        for entry in self.trees.tokens.iter() {
            let (key, value) = entry?;
            let token: TokenRecord = decode(&value)?;
            if token.tenant_id.as_ref() == Some(id) {
                self.trees.tokens.remove(key)?;
            }
        }
        self.trees.tenants.remove(id.as_str())?;
        Ok(true)
    }

    pub(super) fn find_token_now(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        decode_opt(self.trees.tokens.get(hash)?)
    }

    pub(super) fn put_token_now(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.trees
            .tokens
            .insert(token.hash.as_str(), encode(token)?)?;
        Ok(())
    }

    pub(super) fn has_token_of_kind_now(&self, kind: TokenKind) -> Result<bool, StoreError> {
        for value in self.trees.tokens.iter().values() {
            if decode::<TokenRecord>(&value?)?.kind == kind {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(super) fn create_api_key_now(
        &self,
        key: &ApiKey,
        token: &TokenRecord,
    ) -> Result<(), StoreError> {
        let record = encode(key)?;
        let token_bytes = encode(token)?;
        let scoped = keys::scoped(&key.tenant_id, &[key.id.as_str()]);
        tx_result(
            (&self.trees.api_keys, &self.trees.tokens).transaction(|(keys_tx, tokens_tx)| {
                keys_tx.insert(scoped.as_slice(), record.as_slice())?;
                tokens_tx.insert(token.hash.as_bytes(), token_bytes.as_slice())?;
                Ok(())
            }),
        )
    }

    pub(super) fn list_api_keys_now(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.trees
            .api_keys
            .scan_prefix(keys::tenant_prefix(tenant))
            .values()
            .map(|v| decode(&v?))
            .collect()
    }

    pub(super) fn delete_api_key_now(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
    ) -> Result<bool, StoreError> {
        let existed = self
            .trees
            .api_keys
            .remove(keys::scoped(tenant, &[id.as_str()]))?
            .is_some();
        for entry in self.trees.tokens.iter() {
            let (key, value) = entry?;
            let token: TokenRecord = decode(&value)?;
            if token.tenant_id.as_ref() == Some(tenant) && token.api_key_id.as_ref() == Some(id) {
                self.trees.tokens.remove(key)?;
            }
        }
        Ok(existed)
    }

    pub(super) fn create_integration_now(
        &self,
        integration: &Integration,
        tokens: &[TokenRecord],
    ) -> Result<(), StoreError> {
        let key = keys::scoped(&integration.tenant_id, &[integration.id.as_str()]);
        let record = encode(integration)?;
        let encoded_tokens = tokens
            .iter()
            .map(|t| Ok((t.hash.clone(), encode(t)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let locator = locator_key(Locatable::Integration, integration.id.as_str());
        tx_result(
            (
                &self.trees.integrations,
                &self.trees.tokens,
                &self.trees.locator,
            )
                .transaction(|(integrations, tokens_tx, locator_tx)| {
                    if integrations.get(key.as_slice())?.is_some() {
                        return Err(abort(StoreError::Conflict(format!(
                            "integration {}",
                            integration.id
                        ))));
                    }
                    integrations.insert(key.as_slice(), record.as_slice())?;
                    for (hash, bytes) in &encoded_tokens {
                        tokens_tx.insert(hash.as_bytes(), bytes.as_slice())?;
                    }
                    locator_tx.insert(locator.as_slice(), integration.tenant_id.as_str())?;
                    Ok(())
                }),
        )
    }

    pub(super) fn get_integration_now(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        decode_opt(
            self.trees
                .integrations
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )
    }

    pub(super) fn all_integrations_now(&self) -> Result<Vec<Integration>, StoreError> {
        self.trees
            .integrations
            .iter()
            .values()
            .map(|v| decode(&v?))
            .collect()
    }

    pub(super) fn update_integration_now(
        &self,
        integration: &Integration,
    ) -> Result<(), StoreError> {
        let key = keys::scoped(&integration.tenant_id, &[integration.id.as_str()]);
        if !self.trees.integrations.contains_key(&key)? {
            return Err(StoreError::NotFound(format!(
                "integration {}",
                integration.id
            )));
        }
        self.trees.integrations.insert(key, encode(integration)?)?;
        Ok(())
    }

    pub(super) fn rotate_integration_token_now(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        new_token: &TokenRecord,
        sealed: Option<&SealedSecret>,
    ) -> Result<Integration, StoreError> {
        let key = keys::scoped(tenant, &[id.as_str()]);
        let token_bytes = encode(new_token)?;
        tx_result((&self.trees.integrations, &self.trees.tokens).transaction(
            |(integrations, tokens_tx)| {
                let Some(bytes) = integrations.get(key.as_slice())? else {
                    return Err(abort(StoreError::NotFound(format!("integration {id}"))));
                };
                let mut integration: Integration = decode(&bytes).map_err(abort)?;
                let slot = match new_token.kind {
                    TokenKind::Ingest => &mut integration.ingest_token_hash,
                    TokenKind::Scim => &mut integration.scim_token_hash,
                    TokenKind::Operator | TokenKind::TenantApi => {
                        return Err(abort(StoreError::Backend(
                            "only ingest and SCIM tokens belong to integrations".into(),
                        )))
                    }
                };
                if let Some(old) = slot.replace(new_token.hash.clone()) {
                    tokens_tx.remove(old.as_bytes())?;
                }
                if new_token.kind == TokenKind::Ingest {
                    integration.push_token = sealed.cloned();
                }
                integration.updated_at = new_token.created_at;
                tokens_tx.insert(new_token.hash.as_bytes(), token_bytes.as_slice())?;
                integrations.insert(key.as_slice(), encode(&integration).map_err(abort)?)?;
                Ok(integration)
            },
        ))
    }

    pub(super) fn delete_integration_now(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<bool, StoreError> {
        let key = keys::scoped(tenant, &[id.as_str()]);
        let locator = locator_key(Locatable::Integration, id.as_str());
        let existed = tx_result(
            (
                &self.trees.integrations,
                &self.trees.tokens,
                &self.trees.locator,
            )
                .transaction(|(integrations, tokens_tx, locator_tx)| {
                    let Some(bytes) = integrations.remove(key.as_slice())? else {
                        return Ok(false);
                    };
                    let integration: Integration = decode(&bytes).map_err(abort)?;
                    for hash in [&integration.ingest_token_hash, &integration.scim_token_hash]
                        .into_iter()
                        .flatten()
                    {
                        tokens_tx.remove(hash.as_bytes())?;
                    }
                    locator_tx.remove(locator.as_slice())?;
                    Ok(true)
                }),
        )?;
        self.trees
            .sync_status
            .remove(keys::scoped(tenant, &[id.as_str()]))?;
        // A scim integration's names, resources and indexes go with it (keys: tenant,
        // integration, …; names: found through the integration's userName index).
        self.release_integration_names(tenant, id.as_str())?;
        let scim_prefix = keys::scoped(tenant, &[id.as_str(), ""]);
        for tree in [
            &self.trees.scim_resources,
            &self.trees.scim_index,
            &self.trees.scim_members,
            &self.trees.scim_member_of,
        ] {
            for key in tree.scan_prefix(&scim_prefix).keys() {
                tree.remove(key?)?;
            }
        }
        for cursor in self
            .trees
            .cursors
            .scan_prefix(keys::scoped(tenant, &[id.as_str(), ""]))
            .keys()
        {
            self.trees.cursors.remove(cursor?)?;
        }
        Ok(existed)
    }

    pub(super) fn locate_now(
        &self,
        kind: Locatable,
        id: &str,
    ) -> Result<Option<TenantId>, StoreError> {
        if let Some(tenant) = self.trees.locator.get(locator_key(kind, id))? {
            return Ok(TenantId::parse(&String::from_utf8_lossy(&tenant)));
        }
        // Accounts and people, the many records, have no locator entry (it was two of a new
        // account's seven writes): their tenant is the one whose tree holds the id. One point
        // read per tenant, for a lookup only the operator key makes.
        let tree = match kind {
            Locatable::User => &self.trees.users,
            Locatable::Identity => &self.trees.identities,
            _ => return Ok(None),
        };
        for key in self.trees.tenants.iter().keys() {
            let key = key?;
            let Some(tenant) = TenantId::parse(&String::from_utf8_lossy(&key)) else {
                continue;
            };
            if tree.contains_key(keys::scoped(&tenant, &[id]))? {
                return Ok(Some(tenant));
            }
        }
        Ok(None)
    }
}
