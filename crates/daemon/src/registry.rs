//! The one list of provider registrations. Adding a provider is one line here.

use gatehouse_core::catalog;
use gatehouse_core::provider::ConnectorRegistry;

/// Every provider type this build knows, with its connector where one exists.
pub(crate) fn build() -> ConnectorRegistry {
    let mut registry = ConnectorRegistry::new();
    registry.register(gatehouse_okta::Factory);
    // Types without a connector yet are declared from the catalog so integrations can be
    // registered and validated; their /test and /sync answer 501.
    for descriptor in catalog::builtin() {
        registry.declare(descriptor);
    }
    registry
}
