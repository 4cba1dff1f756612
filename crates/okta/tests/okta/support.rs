//! Shared helpers: the fixtures under `tests/fixtures/`, timestamps, and connectors built
//! against the fake Okta org.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::{ConnectorContext, Credentials};
use gatehouse_core::{Clock, IntegrationId, ManualClock, TenantId};
use gatehouse_okta::OktaConnector;
use serde_json::{json, Map, Value};

use crate::fake::Fake;

pub(crate) const TOKEN: &str = "00QCjAl4MlV-test-token-SECRET";

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub(crate) fn fixture(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(3),
    }
}

pub(crate) fn context(
    base: &str,
    token: &str,
    config: Value,
    clock: Arc<dyn Clock>,
) -> ConnectorContext {
    let credentials: Map<String, Value> =
        serde_json::from_value(json!({"domain": base, "api_token": token})).unwrap();
    ConnectorContext {
        tenant_id: TenantId::parse("ten_test").unwrap(),
        integration_id: IntegrationId::parse("int_test").unwrap(),
        credentials: Credentials::from_object(credentials),
        config: serde_json::from_value(config).unwrap(),
        allow_custom_endpoints: true,
        clock,
    }
}

pub(crate) fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(at("2026-01-10T12:00:00Z")))
}

pub(crate) fn connector_with(
    fake: &Fake,
    config: Value,
    clock: Arc<dyn Clock>,
    attempts: u32,
) -> OktaConnector {
    OktaConnector::from_context(
        context(fake.base(), TOKEN, config, clock),
        fast_policy(attempts),
    )
    .unwrap()
}

pub(crate) fn connector(fake: &Fake) -> OktaConnector {
    connector_with(fake, json!({}), manual_clock(), 4)
}
