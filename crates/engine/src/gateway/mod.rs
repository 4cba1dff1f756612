//! The onboarding service: tenants, API keys, integrations and the tokens that authenticate
//! callers. The API is a thin HTTP skin over this.
//!
//! The service is split by concern: `tenants` (tenants and their API keys),
//! `integrations` (integration CRUD, deletion and token rotation),
//! `connectors` (building and checking provider connectors) and
//! `auth` (bearer-token authentication, ingest targets, SCIM access tokens) and `push_url` (the
//! push URL a connector registers at its provider).

mod auth;
mod connectors;
mod federation;
mod ingest_cache;
mod push_url;
mod scim_clients;

pub use push_url::{reseal_push_token, PUBLIC_BASE_URL};

pub use scim_clients::ClientRefusal;
mod integrations;
mod tenants;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use gatehouse_core::model::{Integration, IntegrationStatus};
use gatehouse_core::provider::{Connector, ConnectorRegistry};
use gatehouse_core::{Clock, IntegrationId, TenantId};
use gatehouse_store::Store;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::secrets::Sealer;

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
    ingest_targets: ingest_cache::IngestTargets,
    /// Failed SCIM OAuth client authentications, per client id.
    scim_client_failures: scim_clients::FailureLimiter,
    /// Held while an integration claims a SCIM OAuth client id (check, then write).
    client_id_claims: tokio::sync::Mutex<()>,
    geoip: Option<Arc<crate::geoip::GeoIp>>,
    stats: Arc<crate::stats::EngineStats>,
    correlation: crate::inventory::CorrelationLocks,
}

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
            sealer,
            clock,
            options,
            connectors: Mutex::new(HashMap::new()),
            ingest_targets: ingest_cache::IngestTargets::default(),
            scim_client_failures: scim_clients::FailureLimiter::default(),
            client_id_claims: tokio::sync::Mutex::new(()),
            geoip: None,
            stats: Arc::new(crate::stats::EngineStats::new(registry.type_ids())),
            correlation: crate::inventory::CorrelationLocks::default(),
            registry,
        }
    }

    /// The per-tenant locks every inventory of this gateway correlates accounts under.
    pub fn correlation_locks(&self) -> &crate::inventory::CorrelationLocks {
        &self.correlation
    }

    /// What the engine counted (pulls, 429s, actions, detections, output failures).
    pub fn stats(&self) -> &Arc<crate::stats::EngineStats> {
        &self.stats
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

    /// What the integration's provider says an operator should know about its config.
    pub fn integration_notes(&self, integration: &Integration) -> Vec<String> {
        self.registry
            .factory(&integration.kind)
            .map(|factory| factory.notes(&integration.config))
            .unwrap_or_default()
    }

    pub fn registry(&self) -> &ConnectorRegistry {
        &self.registry
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Exposes a one-time secret for the response that shows it.
    pub fn reveal(secret: &SecretString) -> &str {
        secret.expose_secret()
    }
}
