//! The one list of provider registrations. Adding a provider is one line here (and its
//! dependency in Cargo.toml).

use gatehouse_core::catalog;
use gatehouse_core::provider::ConnectorRegistry;

/// Every integration type this build knows, with its connector where one exists.
pub fn build() -> ConnectorRegistry {
    let mut registry = ConnectorRegistry::new();
    registry.register(gatehouse_okta::Factory);
    registry.register(gatehouse_entra::Factory);
    registry.register(gatehouse_google::Factory);
    registry.register(gatehouse_jumpcloud::Factory);
    registry.register(gatehouse_scim_app::Factory);
    // Gatehouse's own types (SCIM, SAML): declared, with no pull connector.
    for descriptor in catalog::gatehouse_types() {
        registry.declare(descriptor);
    }
    registry
}
