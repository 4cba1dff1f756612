//! What the simulator-backed tests of the new modules share: a Google simulator on loopback
//! with every scope the connector asks for granted (unless a test takes one away), and a
//! connector built on it the way the daemon builds one, with a retry policy short enough for
//! tests.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::{ConnectorContext, Credentials};
use gatehouse_core::{Clock, IntegrationId, SystemClock, TenantId};
use gatehouse_google::{GoogleConnector, Scope};
use gatehouse_idp_sim::google::{GoogleConfig, GoogleSim, RunningSim};
use serde_json::{json, Map, Value};

/// Every scope the connector may ask for, as domain-wide delegation grants them.
pub const CONNECTOR_SCOPES: [Scope; 6] = [
    Scope::UserReadonly,
    Scope::GroupReadonly,
    Scope::AuditReadonly,
    Scope::User,
    Scope::UserSecurity,
    Scope::GroupMember,
];

/// Retries as the daemon's default policy does, with waits a test can afford: a backoff of
/// 100 ms doubling to 1 s (equal jitter: each wait is at least half its ceiling).
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        backoff: Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(5),
    }
}

/// A simulator with `config` (plus the connector's scopes granted) and its base URL.
pub struct Workspace {
    pub sim: GoogleSim,
    pub base: String,
    _running: RunningSim,
}

impl Workspace {
    pub fn start(config: GoogleConfig) -> anyhow::Result<Self> {
        let mut config = config;
        for scope in CONNECTOR_SCOPES {
            config.authorized_scopes.insert(scope.url().to_owned());
        }
        Self::start_exactly(config)
    }

    /// A simulator whose domain-wide delegation grants exactly `config.authorized_scopes`.
    pub fn start_exactly(config: GoogleConfig) -> anyhow::Result<Self> {
        let sim = GoogleSim::new(config);
        let running = sim.spawn(([127, 0, 0, 1], 0).into())?;
        let base = running.base_url().trim_end_matches('/').to_owned();
        Ok(Self {
            sim,
            base,
            _running: running,
        })
    }

    /// The integration's credentials: the sim's key file, impersonating `admin`.
    pub fn credentials(&self, admin: &str) -> Map<String, Value> {
        let key = self
            .sim
            .service_account_json(&format!("{}/token", self.base));
        let mut credentials = Map::new();
        credentials.insert("service_account".into(), key);
        credentials.insert("admin_email".into(), json!(admin));
        credentials
    }

    /// A connector impersonating the sim's admin, with `config` over the API base.
    pub fn connector(&self, config: Value) -> anyhow::Result<GoogleConnector> {
        let admin = self.sim.config().admin_email.clone();
        self.connector_with(self.credentials(&admin), config)
    }

    /// A connector with these credentials and `config` over the API base.
    pub fn connector_with(
        &self,
        credentials: Map<String, Value>,
        config: Value,
    ) -> anyhow::Result<GoogleConnector> {
        let mut full = json!({"api_base_url": self.base});
        if let (Some(full), Value::Object(extra)) = (full.as_object_mut(), config) {
            full.extend(extra);
        }
        let context = ConnectorContext {
            observer: None,
            tenant_id: TenantId::parse("ten_sim").context("tenant id")?,
            integration_id: IntegrationId::generate(SystemClock.now()),
            credentials: Credentials::from_object(credentials),
            config: serde_json::from_value(full)?,
            allow_custom_endpoints: true,
            clock: Arc::new(SystemClock),
            push_url: None,
        };
        Ok(GoogleConnector::from_context(context, quick_retries())?)
    }
}
