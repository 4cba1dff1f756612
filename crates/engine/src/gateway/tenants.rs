//! Tenants and their API keys.

use gatehouse_core::model::{ApiKey, Tenant, TenantSettings, TokenKind};
use gatehouse_core::{ApiKeyId, TenantId};
use gatehouse_store::{Page, PageRequest};
use secrecy::SecretString;

use crate::tokens;
use crate::EngineError;

use super::Gateway;

const MAX_NAME_LEN: usize = 200;

impl Gateway {
    pub async fn create_tenant(&self, name: &str, id: Option<&str>) -> Result<Tenant, EngineError> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(EngineError::invalid(
                "name",
                format!("must be 1 to {MAX_NAME_LEN} characters"),
            ));
        }
        let now = self.clock.now();
        let id = match id {
            Some(id) => TenantId::parse(id).ok_or_else(|| {
                EngineError::invalid("id", "must be 1 to 64 of A-Z, a-z, 0-9, _ and -")
            })?,
            None => TenantId::generate(now),
        };
        let tenant = Tenant {
            id,
            name: name.to_owned(),
            settings: TenantSettings::default(),
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_tenant(&tenant)
            .await
            .map_err(|e| match e {
                gatehouse_store::StoreError::Conflict(_) => {
                    EngineError::Conflict(format!("tenant {} already exists", tenant.id))
                }
                other => other.into(),
            })?;
        tracing::info!(tenant_id = %tenant.id, "tenant created");
        Ok(tenant)
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Tenant, EngineError> {
        self.store
            .get_tenant(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {id}")))
    }

    pub async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, EngineError> {
        Ok(self.store.list_tenants(page).await?)
    }

    pub async fn update_tenant(
        &self,
        id: &TenantId,
        name: Option<&str>,
        settings: Option<TenantSettings>,
    ) -> Result<Tenant, EngineError> {
        let mut tenant = self.tenant(id).await?;
        if let Some(name) = name {
            let name = name.trim();
            if name.is_empty() || name.len() > MAX_NAME_LEN {
                return Err(EngineError::invalid(
                    "name",
                    format!("must be 1 to {MAX_NAME_LEN} characters"),
                ));
            }
            tenant.name = name.to_owned();
        }
        if let Some(settings) = settings {
            tenant.settings = settings;
            // Refuse risk settings the detection runner could not use.
            crate::detect::risk_config(&tenant)?;
        }
        tenant.updated_at = self.clock.now();
        self.store.update_tenant(&tenant).await?;
        Ok(tenant)
    }

    pub async fn delete_tenant(&self, id: &TenantId) -> Result<(), EngineError> {
        let _invalidate = self.forget_ingest_targets();
        if self.store.delete_tenant(id).await? {
            tracing::info!(tenant_id = %id, "tenant deleted with all its data");
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("tenant {id}")))
        }
    }

    pub async fn create_api_key(
        &self,
        tenant: &TenantId,
    ) -> Result<(ApiKey, SecretString), EngineError> {
        self.tenant(tenant).await?;
        let now = self.clock.now();
        let key = ApiKey {
            id: ApiKeyId::generate(now),
            tenant_id: tenant.clone(),
            created_at: now,
        };
        let minted = tokens::mint(TokenKind::TenantApi);
        let record = self.token_record(
            &minted,
            TokenKind::TenantApi,
            Some(tenant),
            None,
            Some(&key.id),
        );
        self.store.create_api_key(&key, &record).await?;
        tracing::info!(tenant_id = %tenant, api_key_id = %key.id, "tenant API key issued");
        Ok((key, minted.secret))
    }

    pub async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, EngineError> {
        self.tenant(tenant).await?;
        Ok(self.store.list_api_keys(tenant).await?)
    }

    pub async fn delete_api_key(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
    ) -> Result<(), EngineError> {
        if self.store.delete_api_key(tenant, id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("API key {id}")))
        }
    }
}
