//! Authentication: the operator key, bearer-token resolution, the ingest-target cache, OAuth
//! client credentials for SCIM and the token records every issued secret is stored as.

use std::sync::Arc;

use gatehouse_core::model::{Integration, TokenKind, TokenRecord};
use gatehouse_core::{ApiKeyId, IntegrationId, TenantId};
use secrecy::SecretString;
use subtle::ConstantTimeEq;

use crate::tokens::{self, MintedToken};
use crate::EngineError;

use super::{Gateway, Principal};

impl Gateway {
    /// Creates the operator key on first start when none is configured or stored; returns the
    /// secret to show once.
    pub async fn ensure_operator_key(&self) -> Result<Option<SecretString>, EngineError> {
        if self.options.operator_key_hash.is_some()
            || self.store.has_token_of_kind(TokenKind::Operator).await?
        {
            return Ok(None);
        }
        let minted = tokens::mint(TokenKind::Operator);
        self.store
            .put_token(&self.token_record(&minted, TokenKind::Operator, None, None, None))
            .await?;
        Ok(Some(minted.secret))
    }

    /// The integration an ingest token pushes to, if it is one.
    pub async fn ingest_target(
        &self,
        presented: &str,
    ) -> Result<Option<Arc<Integration>>, EngineError> {
        let hash = tokens::hash(presented);
        let now = self.clock.now();
        if let Some(hit) = self.ingest_targets.get(&hash, now) {
            return Ok(Some(hit));
        }
        // Taken before the store is read: a write that lands meanwhile moves it on.
        let generation = self.ingest_targets.generation();
        let Some(Principal::Ingest {
            tenant,
            integration,
        }) = self.authenticate(presented).await?
        else {
            return Ok(None);
        };
        let Some(record) = self.store.get_integration(&tenant, &integration).await? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        self.ingest_targets
            .insert_if_current(hash, Arc::clone(&record), generation, now);
        Ok(Some(record))
    }

    /// Invalidates the ingest-token cache now and once the caller's store write is done.
    pub(super) fn forget_ingest_targets(&self) -> super::ingest_cache::Invalidation<'_> {
        self.ingest_targets.invalidating()
    }

    /// Resolves a bearer token to whom it authenticates.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Principal>, EngineError> {
        if presented.is_empty() || presented.len() > 512 {
            return Ok(None);
        }
        let hash = tokens::hash(presented);
        if let Some(operator) = &self.options.operator_key_hash {
            if bool::from(hash.as_bytes().ct_eq(operator.as_bytes())) {
                return Ok(Some(Principal::Operator));
            }
        }
        let Some(record) = self.store.find_token(&hash).await? else {
            return Ok(None);
        };
        if !tokens::verify(presented, &record.hash) {
            return Ok(None);
        }
        if record.expires_at.is_some_and(|at| at <= self.clock.now()) {
            return Ok(None);
        }
        let principal = match (record.kind, record.tenant_id, record.integration_id) {
            (TokenKind::Operator, _, _) if self.options.operator_key_hash.is_none() => {
                Principal::Operator
            }
            (TokenKind::TenantApi, Some(tenant), _) => Principal::Tenant(tenant),
            (TokenKind::Ingest, Some(tenant), Some(integration)) => Principal::Ingest {
                tenant,
                integration,
            },
            (TokenKind::Scim, Some(tenant), Some(integration)) => Principal::Scim {
                tenant,
                integration,
            },
            _ => return Ok(None),
        };
        Ok(Some(principal))
    }

    pub(super) fn token_record(
        &self,
        minted: &MintedToken,
        kind: TokenKind,
        tenant: Option<&TenantId>,
        integration: Option<&IntegrationId>,
        api_key: Option<&ApiKeyId>,
    ) -> TokenRecord {
        TokenRecord {
            hash: minted.hash.clone(),
            kind,
            tenant_id: tenant.cloned(),
            integration_id: integration.cloned(),
            api_key_id: api_key.cloned(),
            created_at: self.clock.now(),
            expires_at: None,
        }
    }
}
