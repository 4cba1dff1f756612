//! The onboarding service: tenants, API keys, integrations and the tokens that authenticate
//! callers. The API is a thin HTTP skin over this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::model::{
    ApiKey, Integration, IntegrationStatus, SyncStatus, Tenant, TenantSettings, TokenKind,
    TokenRecord,
};
use gatehouse_core::provider::{
    CheckReport, Connector, ConnectorContext, ConnectorRegistry, Credentials,
};
use gatehouse_core::validate::{self, EndpointPolicy};
use gatehouse_core::{ApiKeyId, Clock, IntegrationId, TenantId};
use gatehouse_store::{Page, PageRequest, Store, StoreError, UserFilter};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::secrets::Sealer;
use crate::tokens::{self, MintedToken};
use crate::EngineError;

/// Who a presented token authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator: every tenant.
    Operator,
    /// A tenant API key.
    Tenant(TenantId),
    /// An integration's push-ingest token.
    Ingest {
        tenant: TenantId,
        integration: IntegrationId,
    },
    /// An integration's SCIM token.
    Scim {
        tenant: TenantId,
        integration: IntegrationId,
    },
}

/// Deployment choices the gateway enforces.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    pub allow_custom_endpoints: bool,
    /// Hash of the operator key given in the environment; when set it is the only operator key.
    pub operator_key_hash: Option<String>,
}

/// A new integration as submitted.
#[derive(Debug)]
pub struct NewIntegration {
    pub kind: String,
    pub tenant_id: TenantId,
    pub credentials: Map<String, Value>,
    pub config: Map<String, Value>,
}

/// A change to an integration: credential rotation, config changes (a `null` removes a key),
/// enabling or disabling it.
#[derive(Debug, Default)]
pub struct IntegrationPatch {
    pub credentials: Option<Map<String, Value>>,
    pub config: Option<Map<String, Value>>,
    pub status: Option<IntegrationStatus>,
}

/// A stored integration and the tokens issued for it, shown to the caller once.
pub struct IntegrationCreated {
    pub integration: Integration,
    pub ingest_token: Option<SecretString>,
    pub scim_token: Option<SecretString>,
}

/// A built connector and the integration version (`updated_at`) it was built from.
type CachedConnector = (DateTime<Utc>, Arc<dyn Connector>);

/// A scim integration's declared extension schemas must build into a registry.
fn check_scim_schemas(kind: &str, config: &Map<String, Value>) -> Result<(), EngineError> {
    if kind != "scim" {
        return Ok(());
    }
    crate::scim::registry_for(config)
        .map(|_| ())
        .map_err(|message| EngineError::invalid("config.custom_schemas", message))
}

/// Onboarding and authentication over the store.
pub struct Gateway {
    store: Arc<dyn Store>,
    registry: Arc<ConnectorRegistry>,
    sealer: Sealer,
    clock: Arc<dyn Clock>,
    options: GatewayOptions,
    /// Built connectors by integration, valid while the integration's `updated_at` is unchanged:
    /// building one opens the sealed credentials and sets up an HTTP client.
    connectors: Mutex<HashMap<IntegrationId, CachedConnector>>,
    /// Ingest token hash → its integration, so a push costs no store reads. Cleared by every
    /// write that could change the answer (rotation, integration or tenant changes); this
    /// process is the store's only writer, so that is sound.
    ingest_targets: Mutex<HashMap<String, Arc<Integration>>>,
    geoip: Option<Arc<crate::geoip::GeoIp>>,
}

/// Past this many cached ingest targets the cache starts over (a bound, not an LRU).
const MAX_INGEST_TARGETS: usize = 10_000;

const MAX_NAME_LEN: usize = 200;

impl Gateway {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<ConnectorRegistry>,
        sealer: Sealer,
        clock: Arc<dyn Clock>,
        options: GatewayOptions,
    ) -> Self {
        Self {
            store,
            registry,
            sealer,
            clock,
            options,
            connectors: Mutex::new(HashMap::new()),
            ingest_targets: Mutex::new(HashMap::new()),
            geoip: None,
        }
    }

    /// Adds a GeoIP database that fills in geolocation providers leave out.
    pub fn with_geoip(mut self, geoip: crate::geoip::GeoIp) -> Self {
        self.geoip = Some(Arc::new(geoip));
        self
    }

    pub fn geoip(&self) -> Option<Arc<crate::geoip::GeoIp>> {
        self.geoip.clone()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn registry_handle(&self) -> Arc<ConnectorRegistry> {
        Arc::clone(&self.registry)
    }

    pub fn registry(&self) -> &ConnectorRegistry {
        &self.registry
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn endpoint_policy(&self) -> EndpointPolicy {
        EndpointPolicy {
            allow_custom_endpoints: self.options.allow_custom_endpoints,
        }
    }

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
        if let Ok(cache) = self.ingest_targets.lock() {
            if let Some(hit) = cache.get(&hash) {
                return Ok(Some(Arc::clone(hit)));
            }
        }
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
        if let Ok(mut cache) = self.ingest_targets.lock() {
            if cache.len() >= MAX_INGEST_TARGETS {
                cache.clear();
            }
            cache.insert(hash, Arc::clone(&record));
        }
        Ok(Some(record))
    }

    fn forget_ingest_targets(&self) {
        if let Ok(mut cache) = self.ingest_targets.lock() {
            cache.clear();
        }
    }

    /// OAuth 2.0 client credentials for a scim integration (RFC 6749 §4.4): a short-lived SCIM
    /// bearer token for the integration whose `oauth_client_id` and `oauth_client_secret` match.
    /// `None` when they do not (the caller answers `invalid_client`).
    pub async fn scim_access_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Option<(SecretString, i64)>, EngineError> {
        const LIFETIME_SECS: i64 = 3600;
        if client_id.is_empty() || client_secret.is_empty() {
            return Ok(None);
        }
        for integration in self.store.all_integrations().await? {
            if integration.kind != "scim" || integration.status != IntegrationStatus::Active {
                continue;
            }
            let credentials = self
                .sealer
                .open(&integration.credentials, integration.id.as_str())?;
            let id_matches = credentials.secret("oauth_client_id").is_some_and(|id| {
                bool::from(id.expose_secret().as_bytes().ct_eq(client_id.as_bytes()))
            });
            if !id_matches {
                continue;
            }
            let secret_matches = credentials
                .secret("oauth_client_secret")
                .is_some_and(|secret| {
                    bool::from(
                        secret
                            .expose_secret()
                            .as_bytes()
                            .ct_eq(client_secret.as_bytes()),
                    )
                });
            if !secret_matches {
                return Ok(None);
            }
            let minted = tokens::mint(TokenKind::Scim);
            let mut record = self.token_record(
                &minted,
                TokenKind::Scim,
                Some(&integration.tenant_id),
                Some(&integration.id),
                None,
            );
            record.expires_at = Some(self.clock.now() + chrono::Duration::seconds(LIFETIME_SECS));
            self.store.put_token(&record).await?;
            tracing::info!(tenant_id = %integration.tenant_id, integration_id = %integration.id, "SCIM access token issued");
            return Ok(Some((minted.secret, LIFETIME_SECS)));
        }
        Ok(None)
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

    fn token_record(
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

    // --- tenants -------------------------------------------------------------------------------

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
        self.forget_ingest_targets();
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

    // --- integrations --------------------------------------------------------------------------

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
        check_scim_schemas(descriptor.id, &new.config)?;
        let now = self.clock.now();
        let id = IntegrationId::generate(now);
        let credentials = self
            .sealer
            .seal(&Credentials::from_object(new.credentials), id.as_str())?;
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
        let integration = Integration {
            id,
            tenant_id: new.tenant_id,
            kind: descriptor.id.to_owned(),
            config: new.config,
            status: IntegrationStatus::Active,
            credentials,
            ingest_token_hash: ingest.as_ref().map(|t| t.hash.clone()),
            scim_token_hash: scim.as_ref().map(|t| t.hash.clone()),
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
        self.forget_ingest_targets();
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
            check_scim_schemas(descriptor.id, &config)?;
            integration.config = config;
        }
        if let Some(credential_patch) = patch.credentials {
            validate::validate_credential_patch(
                descriptor,
                &credential_patch,
                self.endpoint_policy(),
            )?;
            let current = self.sealer.open(&integration.credentials, id.as_str())?;
            let merged = current.merged_with(&credential_patch);
            validate::validate_credentials(
                descriptor,
                &merged.to_object_for_validation(),
                self.endpoint_policy(),
            )?;
            integration.credentials = self.sealer.seal(&merged, id.as_str())?;
            tracing::info!(tenant_id = %tenant, integration_id = %id, "integration credentials rotated");
        }
        if let Some(status) = patch.status {
            integration.status = status;
        }
        integration.updated_at = self.clock.now();
        self.store.update_integration(&integration).await?;
        Ok(integration)
    }

    pub async fn delete_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<(), EngineError> {
        self.forget_ingest_targets();
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
        self.forget_ingest_targets();
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
        let integration = self
            .store
            .rotate_integration_token(tenant, id, &record)
            .await?;
        tracing::info!(tenant_id = %tenant, integration_id = %id, ?kind, "integration token rotated");
        Ok((integration, minted.secret))
    }

    fn connector_context(
        &self,
        integration: &Integration,
    ) -> Result<ConnectorContext, EngineError> {
        Ok(ConnectorContext {
            tenant_id: integration.tenant_id.clone(),
            integration_id: integration.id.clone(),
            credentials: self
                .sealer
                .open(&integration.credentials, integration.id.as_str())?,
            config: integration.config.clone(),
            allow_custom_endpoints: self.options.allow_custom_endpoints,
            clock: Arc::clone(&self.clock),
        })
    }

    pub(crate) fn not_implemented(kind: &str, what: &str) -> EngineError {
        EngineError::NotImplemented(format!(
            "{what} is not available for {kind} integrations yet: its connector is not part of this build"
        ))
    }

    /// The connector for an integration, built once per version of the integration.
    pub fn connector(
        &self,
        integration: &Integration,
        what: &str,
    ) -> Result<Arc<dyn Connector>, EngineError> {
        if let Ok(cache) = self.connectors.lock() {
            if let Some((version, connector)) = cache.get(&integration.id) {
                if *version == integration.updated_at {
                    return Ok(Arc::clone(connector));
                }
            }
        }
        let factory = self
            .registry
            .factory(&integration.kind)
            .ok_or_else(|| Self::not_implemented(&integration.kind, what))?;
        let connector = factory.build(self.connector_context(integration)?)?;
        if let Ok(mut cache) = self.connectors.lock() {
            cache.insert(
                integration.id.clone(),
                (integration.updated_at, Arc::clone(&connector)),
            );
        }
        Ok(connector)
    }

    /// Whether this build has a connector for the integration's type.
    pub fn has_connector(&self, kind: &str) -> bool {
        self.registry.factory(kind).is_some()
    }

    /// Runs the provider check for an integration.
    pub async fn test_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<CheckReport, EngineError> {
        let integration = self.integration(tenant, id).await?;
        let connector = self.connector(&integration, "the provider check")?;
        Ok(connector.check().await?)
    }

    /// Exposes a one-time secret for the response that shows it.
    pub fn reveal(secret: &SecretString) -> &str {
        secret.expose_secret()
    }
}
