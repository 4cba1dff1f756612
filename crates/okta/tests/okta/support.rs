//! Shared helpers: the fixtures under `tests/fixtures/`, timestamps, the simulated Okta org
//! (`gatehouse_idp_sim::okta`) loaded with those fixtures, and connectors built against it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::{ConnectorContext, Credentials};
use gatehouse_core::{Clock, IntegrationId, ManualClock, TenantId};
use gatehouse_idp_sim::okta::{EndpointFamily, OktaConfig, OktaSim, RecordedCall, RunningSim};
use gatehouse_okta::OktaConnector;
use serde_json::{json, Map, Value};

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
    context_with(json!({"domain": base, "api_token": token}), config, clock)
}

/// A context with any credential object (a service app's, for one).
pub(crate) fn context_with(
    credentials: Value,
    config: Value,
    clock: Arc<dyn Clock>,
) -> ConnectorContext {
    let credentials: Map<String, Value> = serde_json::from_value(credentials).unwrap();
    ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_test").unwrap(),
        integration_id: IntegrationId::parse("int_test").unwrap(),
        credentials: Credentials::from_object(credentials),
        config: serde_json::from_value(config).unwrap(),
        allow_custom_endpoints: true,
        clock,
        push_url: None,
    }
}

pub(crate) fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(at("2026-01-10T12:00:00Z")))
}

/// The West Coast group of `groups.json` and its members.
pub(crate) const WEST: &str = "00g1emaKYZTWRYYRRTSK";
pub(crate) const WEST_MEMBERS: [&str; 3] = [
    "00ub0oNGTSWTBKOLGLNR",
    "00u118oQYT4TBTemp0g4",
    "00u6suspended0SUSP1d6",
];

/// A simulated Okta org holding the fixtures, served on loopback.
pub(crate) struct Org {
    pub(crate) sim: OktaSim,
    running: RunningSim,
}

impl Org {
    pub(crate) fn base(&self) -> String {
        self.running.base_url()
    }

    /// Every call the org received, oldest first.
    pub(crate) fn calls(&self) -> Vec<RecordedCall> {
        self.sim.calls()
    }

    /// The calls to exactly `path`.
    pub(crate) fn calls_to(&self, path: &str) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.path == path)
            .collect()
    }

    /// Mutating calls as `METHOD path?query`.
    pub(crate) fn mutations(&self) -> Vec<String> {
        self.sim
            .mutations()
            .into_iter()
            .map(|c| match c.query {
                Some(q) => format!("{} {}?{q}", c.method, c.path),
                None => format!("{} {}", c.method, c.path),
            })
            .collect()
    }
}

/// A call's query parameters.
pub(crate) fn query(call: &RecordedCall) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(call.query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The org's configuration: the token, a clock at the manual clock's time, and small pages so
/// a handful of fixtures spans several (users 4 a page, groups and their members 1, the role
/// roster 1, System Log 2).
pub(crate) fn org_config() -> OktaConfig {
    OktaConfig {
        api_token: TOKEN.into(),
        start_time: Some(at("2026-01-10T12:00:00Z")),
        page_caps: BTreeMap::from([
            (EndpointFamily::Users, 4),
            (EndpointFamily::Groups, 1),
            (EndpointFamily::Other, 1),
            (EndpointFamily::Logs, 2),
        ]),
        ..OktaConfig::default()
    }
}

/// The org of [`org_config`].
pub(crate) async fn start_org() -> Org {
    start_org_with(org_config()).await
}

/// An org holding only the fixtures: the service account that owns the token, the users of
/// `users.json` (Isaac with the factors of `factors.json`), the groups of `groups.json` with
/// West Coast's members, no admin roles and an empty System Log.
pub(crate) async fn start_org_with(config: OktaConfig) -> Org {
    let sim = OktaSim::new(config);
    sim.clear_directory();
    let svc = sim.import_user(&fixture("service_account.json")).unwrap();
    assert!(sim.set_token_owner(&svc));
    for user in fixture("users.json").as_array().unwrap() {
        sim.import_user(user).unwrap();
    }
    sim.import_factors("00ub0oNGTSWTBKOLGLNR", &fixture("factors.json"))
        .unwrap();
    for group in fixture("groups.json").as_array().unwrap() {
        sim.import_group(group).unwrap();
    }
    for member in WEST_MEMBERS {
        assert!(sim.import_membership(WEST, member));
    }
    let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
    Org { sim, running }
}

pub(crate) fn connector_with(
    org: &Org,
    config: Value,
    clock: Arc<dyn Clock>,
    attempts: u32,
) -> OktaConnector {
    OktaConnector::from_context(
        context(&org.base(), TOKEN, config, clock),
        fast_policy(attempts),
    )
    .unwrap()
}

pub(crate) fn connector(org: &Org) -> OktaConnector {
    connector_with(org, json!({}), manual_clock(), 4)
}
