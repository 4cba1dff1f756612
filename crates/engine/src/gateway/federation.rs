//! What the federation endpoints (SAML's ACS and metadata) need from the gateway: the
//! integration an unauthenticated URL names, and its opened credentials. The caller
//! authenticates the request itself (a signature over the assertion), so nothing here trusts
//! the request.

use gatehouse_core::model::Integration;
use gatehouse_core::provider::Credentials;
use gatehouse_core::IntegrationId;
use gatehouse_store::Locatable;

use crate::EngineError;

use super::Gateway;

impl Gateway {
    /// The integration with this id, in whichever tenant holds it, if it is of type `kind`;
    /// `NotFound` otherwise (another type's id answers as if it did not exist).
    pub async fn federation_target(
        &self,
        id: &IntegrationId,
        kind: &str,
    ) -> Result<Integration, EngineError> {
        let not_found = || EngineError::NotFound(format!("{kind} integration {id}"));
        let tenant = self
            .store
            .locate(Locatable::Integration, id.as_str())
            .await?
            .ok_or_else(not_found)?;
        let integration = self.integration(&tenant, id).await?;
        if integration.kind != kind {
            return Err(not_found());
        }
        Ok(integration)
    }

    /// An integration's credentials, opened (kept as a secret; callers read what they need).
    pub fn open_credentials(&self, integration: &Integration) -> Result<Credentials, EngineError> {
        self.sealer
            .open(&integration.credentials, integration.id.as_str())
    }
}
