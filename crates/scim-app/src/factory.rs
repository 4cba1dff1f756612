//! Building a connector from an integration, and the integration's settings.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::validate::{self, EndpointPolicy};
use serde_json::{Map, Value};

use crate::connector::ScimAppConnector;
use crate::{ScimAppConfig, DESCRIPTOR};

/// Registers the SCIM application connector: `registry.register(gatehouse_scim_app::Factory)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Factory;

impl ConnectorFactory for Factory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &DESCRIPTOR
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        let connector = ScimAppConnector::from_context(context, RetryPolicy::default())?;
        Ok(Arc::new(connector))
    }

    fn notes(&self, config: &Map<String, Value>) -> Vec<String> {
        let actions = config
            .get("enable_response_actions")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if actions {
            vec![SESSIONS_NOTE.to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// Said when response actions are on: what deactivating does and does not end.
pub const SESSIONS_NOTE: &str = "disable_account sets active: false in the app over SCIM; \
    whether the app also ends sessions already open is the app's behaviour, which SCIM does \
    not specify";

/// The integration's settings, read from its typed config.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Share of the app's rate limit Gatehouse may use (`rate_limit_share`, default 0.5).
    pub rate_limit_share: f64,
    /// Users per page asked for (`page_size`); `None`: the app's maximum, else 100.
    pub page_size: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(ScimAppConfig::default())
    }
}

impl From<ScimAppConfig> for Settings {
    fn from(config: ScimAppConfig) -> Self {
        Self {
            rate_limit_share: config.pull.rate_limit_share.unwrap_or(0.5),
            page_size: config.page_size.map(|n| n as usize),
        }
    }
}

impl Settings {
    /// Reads the config through the same typed checks the API applied at registration.
    pub fn from_config(
        config: &Map<String, Value>,
        policy: EndpointPolicy,
    ) -> Result<Self, ConnectorError> {
        validate::parse_typed::<ScimAppConfig>(config, policy)
            .map(Self::from)
            .map_err(|e| ConnectorError::InvalidConfig(e.within("config").to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn settings_defaults_and_page_size() {
        let s = Settings::from_config(&Map::new(), EndpointPolicy::default()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.page_size, None);
        let config = serde_json::from_value(json!({"page_size": 50})).unwrap();
        let s = Settings::from_config(&config, EndpointPolicy::default()).unwrap();
        assert_eq!(s.page_size, Some(50));
        let config = serde_json::from_value(json!({"page_size": 0})).unwrap();
        assert!(Settings::from_config(&config, EndpointPolicy::default()).is_err());
    }
}
