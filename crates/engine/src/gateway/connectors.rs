//! Connectors: the context a connector is built from, the per-version connector cache and
//! the provider check.

use std::sync::Arc;

use gatehouse_core::model::Integration;
use gatehouse_core::provider::{CheckReport, Connector, ConnectorContext};
use gatehouse_core::{IntegrationId, TenantId};

use crate::EngineError;

use super::Gateway;

impl Gateway {
    fn connector_context(
        &self,
        integration: &Integration,
    ) -> Result<ConnectorContext, EngineError> {
        Ok(ConnectorContext {
            observer: Some(self.stats.rate_limit_observer(&integration.kind)),
            tenant_id: integration.tenant_id.clone(),
            integration_id: integration.id.clone(),
            credentials: self
                .sealer
                .open(&integration.credentials, integration.id.as_str())?,
            config: integration.config.clone(),
            allow_custom_endpoints: self.options.allow_custom_endpoints,
            clock: Arc::clone(&self.clock),
            push_url: self.push_url(integration)?,
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
}
