//! Integrations: creation (validated against the provider descriptor, credentials sealed),
//! reads, patches, deletion with its account clean-up, and ingest/SCIM token rotation.

use std::sync::Arc;

use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::model::{Integration, IntegrationStatus, SyncStatus, TokenKind};
use gatehouse_core::provider::Credentials;
use gatehouse_core::validate::{self, EndpointPolicy};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_store::{Page, PageRequest, StoreError, UserFilter};
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::tokens;
use crate::EngineError;

use super::{Gateway, IntegrationCreated, IntegrationPatch, NewIntegration};

/// A scim integration's declared extension schemas must build into a registry.
fn check_scim_schemas(kind: &str, config: &Map<String, Value>) -> Result<(), EngineError> {
    if kind != "scim" {
        return Ok(());
    }
    crate::scim::registry_for(config)
        .map(|_| ())
        .map_err(|message| EngineError::invalid("config.custom_schemas", message))
}

impl Gateway {
    fn endpoint_policy(&self) -> EndpointPolicy {
        EndpointPolicy {
            allow_custom_endpoints: self.options.allow_custom_endpoints,
        }
    }

    fn descriptor(&self, kind: &str) -> Result<&'static ProviderDescriptor, EngineError> {
        self.registry.descriptor(kind).ok_or_else(|| {
            EngineError::invalid(
                "type",
                format!(
                    "unsupported type; supported: {}",
                    self.registry.type_ids().join(", ")
                ),
            )
        })
    }

    pub async fn create_integration(
        &self,
        new: NewIntegration,
    ) -> Result<IntegrationCreated, EngineError> {
        let descriptor = self.descriptor(&new.kind)?;
        self.tenant(&new.tenant_id).await?;
        validate::validate_credentials(descriptor, &new.credentials, self.endpoint_policy())?;
        validate::validate_config(descriptor, &new.config, self.endpoint_policy())?;
        crate::schedule::check_schedules(&new.config, self.clock.now())?;
        check_scim_schemas(descriptor.id, &new.config)?;
        let now = self.clock.now();
        let id = IntegrationId::generate(now);
        let opened = Credentials::from_object(new.credentials);
        let oauth_client_id_hash = descriptor
            .scim_server
            .then(|| super::scim_clients::client_id_hash(&opened))
            .flatten();
        // Claims are serialized so two creates cannot both take one client id.
        let _claim = match &oauth_client_id_hash {
            Some(_) => Some(self.client_id_claims.lock().await),
            None => None,
        };
        self.check_client_id_free(oauth_client_id_hash.as_deref(), &id)
            .await?;
        let credentials = self.sealer.seal(&opened, id.as_str())?;
        let mut issued = Vec::new();
        let ingest = descriptor
            .push_capable
            .then(|| tokens::mint(TokenKind::Ingest));
        let scim = descriptor
            .scim_server
            .then(|| tokens::mint(TokenKind::Scim));
        for (minted, kind) in [(&ingest, TokenKind::Ingest), (&scim, TokenKind::Scim)] {
            if let Some(minted) = minted {
                issued.push(self.token_record(minted, kind, Some(&new.tenant_id), Some(&id), None));
            }
        }
        let push_token = ingest
            .as_ref()
            .map(|t| self.seal_push_token(&t.secret, &id))
            .transpose()?;
        let integration = Integration {
            id,
            tenant_id: new.tenant_id,
            kind: descriptor.id.to_owned(),
            config: new.config,
            status: IntegrationStatus::Active,
            credentials,
            ingest_token_hash: ingest.as_ref().map(|t| t.hash.clone()),
            scim_token_hash: scim.as_ref().map(|t| t.hash.clone()),
            oauth_client_id_hash,
            push_token,
            created_at: now,
            updated_at: now,
        };
        self.store.create_integration(&integration, &issued).await?;
        tracing::info!(
            tenant_id = %integration.tenant_id,
            integration_id = %integration.id,
            r#type = %integration.kind,
            "integration registered"
        );
        Ok(IntegrationCreated {
            integration,
            ingest_token: ingest.map(|t| t.secret),
            scim_token: scim.map(|t| t.secret),
        })
    }

    pub async fn integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Integration, EngineError> {
        self.store
            .get_integration(tenant, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("integration {id}")))
    }

    /// What the last pulls of an integration did (empty before the first).
    pub async fn sync_status(&self, integration: &Integration) -> Result<SyncStatus, EngineError> {
        Ok(self
            .store
            .get_sync_status(&integration.tenant_id, &integration.id)
            .await?
            .unwrap_or_default())
    }

    pub async fn list_integrations(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Integration>, EngineError> {
        Ok(self.store.list_integrations(tenant, page).await?)
    }

    pub async fn patch_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        patch: IntegrationPatch,
    ) -> Result<Integration, EngineError> {
        let _invalidate = self.forget_ingest_targets();
        let mut integration = self.integration(tenant, id).await?;
        let descriptor = self.descriptor(&integration.kind)?;
        if let Some(config_patch) = patch.config {
            let mut config = integration.config.clone();
            for (key, value) in config_patch {
                if value.is_null() {
                    config.remove(&key);
                } else {
                    config.insert(key, value);
                }
            }
            validate::validate_config(descriptor, &config, self.endpoint_policy())?;
            crate::schedule::check_schedules(&config, self.clock.now())?;
            check_scim_schemas(descriptor.id, &config)?;
            integration.config = config;
        }
        let mut claim = None;
        if let Some(credential_patch) = patch.credentials {
            validate::validate_credential_patch(descriptor, &credential_patch)?;
            let current = self.sealer.open(&integration.credentials, id.as_str())?;
            let merged = current.merged_with(&credential_patch);
            validate::validate_credentials(
                descriptor,
                &merged.to_object_for_validation(),
                self.endpoint_policy(),
            )?;
            if descriptor.scim_server {
                let hash = super::scim_clients::client_id_hash(&merged);
                claim = Some(self.client_id_claims.lock().await);
                self.check_client_id_free(hash.as_deref(), id).await?;
                integration.oauth_client_id_hash = hash;
            }
            integration.credentials = self.sealer.seal(&merged, id.as_str())?;
            tracing::info!(tenant_id = %tenant, integration_id = %id, "integration credentials rotated");
        }
        if let Some(status) = patch.status {
            integration.status = status;
        }
        integration.updated_at = self.clock.now();
        self.store.update_integration(&integration).await?;
        drop(claim);
        Ok(integration)
    }

    pub async fn delete_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<(), EngineError> {
        let _invalidate = self.forget_ingest_targets();
        if !self.store.delete_integration(tenant, id).await? {
            return Err(EngineError::NotFound(format!("integration {id}")));
        }
        let accounts = self.forget_accounts(tenant, id).await?;
        tracing::info!(tenant_id = %tenant, integration_id = %id, accounts, "integration deleted");
        Ok(())
    }

    /// Removes the accounts a deleted integration brought into the inventory (and their place
    /// among their identities' accounts): nothing watches them any more, and an account that
    /// still said `active` would mislead. Sign-ins, detections and actions stay as history.
    async fn forget_accounts(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<usize, EngineError> {
        /// Deletes in flight at once, so they share group-commit rounds.
        const BATCH: usize = 256;
        let filter = UserFilter {
            integration_id: Some(integration.clone()),
            ..UserFilter::default()
        };
        let mut removed = 0;
        loop {
            let page = self
                .store
                .list_users(tenant, &filter, &PageRequest::first(BATCH))
                .await?;
            let mut deletes = tokio::task::JoinSet::new();
            for user in page.items {
                let store = Arc::clone(&self.store);
                let tenant = tenant.clone();
                deletes.spawn(async move { store.delete_user(&tenant, &user.id).await });
            }
            let mut removed_now = 0;
            while let Some(joined) = deletes.join_next().await {
                let existed = joined.map_err(|error| {
                    StoreError::Backend(format!("an account delete did not finish: {error}"))
                })??;
                removed_now += usize::from(existed);
            }
            if removed_now == 0 {
                return Ok(removed);
            }
            removed += removed_now;
        }
    }

    /// Issues a new ingest or SCIM token; the old one stops working in the same write.
    pub async fn rotate_token(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        kind: TokenKind,
    ) -> Result<(Integration, SecretString), EngineError> {
        let _invalidate = self.forget_ingest_targets();
        let integration = self.integration(tenant, id).await?;
        let descriptor = self.descriptor(&integration.kind)?;
        let allowed = match kind {
            TokenKind::Ingest => descriptor.push_capable,
            TokenKind::Scim => descriptor.scim_server,
            TokenKind::Operator | TokenKind::TenantApi => false,
        };
        if !allowed {
            return Err(EngineError::Conflict(format!(
                "a {} integration has no {} token",
                integration.kind,
                if kind == TokenKind::Scim {
                    "SCIM"
                } else {
                    "ingest"
                }
            )));
        }
        let minted = tokens::mint(kind);
        let record = self.token_record(&minted, kind, Some(tenant), Some(id), None);
        let sealed = match kind {
            TokenKind::Ingest => Some(self.seal_push_token(&minted.secret, id)?),
            _ => None,
        };
        let integration = self
            .store
            .rotate_integration_token(tenant, id, &record, sealed.as_ref())
            .await?;
        tracing::info!(tenant_id = %tenant, integration_id = %id, ?kind, "integration token rotated");
        Ok((integration, minted.secret))
    }
}
