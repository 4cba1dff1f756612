//! The connector conformance suite: what every connector must do against its provider's
//! simulator, checked by one function ([`run`]) that each provider crate calls from its tests
//! with its factory and an adapter ([`SimulatedOrg`]) over its simulator.
//!
//! The checks: a full pull with paging (every account once, more than one page); an
//! incremental pull that brings a changed account and not the whole directory; a pull that
//! fails mid-way resumes from the cursor of the last page it returned; 429s honoured (the
//! provider's advertised wait is respected, the pull still succeeds); 5xx retried; an expired
//! or revoked credential reported as `Unauthorized` after a bounded number of calls; a sign-in
//! pull through the engine where events arriving late, and a replayed page, are stored exactly
//! once (for connectors that pull a sign-in log); every action the connector offers is
//! idempotent and reaches the simulator; and no secret appears in any log line written
//! meanwhile, at any level.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use chrono::{DateTime, Utc};
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{
    Connector, ConnectorContext, ConnectorError, ConnectorFactory, Credentials,
};
use gatehouse_core::records::{ActionTarget, PullMode};
use gatehouse_core::{IntegrationId, SystemClock, TenantId};
use gatehouse_engine::sync::SyncJob;
use gatehouse_engine::NewIntegration;
use gatehouse_idp_sim::common::Fault;
use gatehouse_store::{PageRequest, SignInFilter};
use serde_json::{Map, Value};

use crate::InProcess;

/// Which requests a fault is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The account listing of a directory pull.
    Users,
    /// The sign-in (audit) log.
    Signins,
}

/// What the suite needs of a provider's simulator.
pub trait SimulatedOrg: Send + Sync {
    /// The provider's type id (`okta`, …), as registered.
    fn provider(&self) -> &'static str;
    /// Credentials of an integration pointed at the simulator (custom endpoints are allowed).
    fn credentials(&self) -> Map<String, Value>;
    /// Config of that integration (with whatever its actions need, e.g. an MFA group).
    fn config(&self) -> Map<String, Value>;
    /// The simulator's current time.
    fn now(&self) -> DateTime<Utc>;
    /// Every account a full pull must return (external ids, all statuses).
    fn account_ids(&self) -> BTreeSet<String>;
    /// Changes one account at the provider now, as an administrator would.
    fn change_account(&self, external_id: &str);
    /// Appends `count` sign-in events published `age` before now; returns their event ids.
    fn add_signins(&self, count: usize, age: chrono::Duration) -> Vec<String>;
    /// Queues `fault` on the next requests to `endpoint`.
    fn inject(&self, endpoint: Endpoint, fault: Fault);
    /// Removes every queued fault.
    fn clear_faults(&self);
    /// A 429 as the provider sends it (its body, its headers) telling the client to wait `wait`.
    fn rate_limit_fault(&self, wait: Duration) -> Fault;
    /// Makes the integration's credential stop working (expired or revoked).
    fn revoke_credential(&self);
    /// Makes it work again.
    fn restore_credential(&self);
    /// How many requests the simulator has answered so far.
    fn request_count(&self) -> usize;
    /// An active account the action checks may change.
    fn action_target(&self) -> ActionTarget;
    /// The mutating calls the simulator recorded for an account, in order (`POST /…`).
    fn mutations_of(&self, external_id: &str) -> Vec<String>;
    /// Strings that must never reach a log line (tokens, keys, secrets).
    fn secrets(&self) -> Vec<String>;
}

/// Runs every check against `org` with connectors built by `factory`; the first failure is
/// the error, naming the check.
pub async fn run<F>(factory: F, org: &dyn SimulatedOrg) -> anyhow::Result<()>
where
    F: ConnectorFactory + Clone + 'static,
{
    let logs = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let connector = build(&factory, org)?;
    let sync_state = full_pull_pages(&*connector, org)
        .await
        .context("full pull with paging")?;
    incremental_pull(&*connector, org, sync_state)
        .await
        .context("incremental pull")?;
    resume_after_failure(&*connector, org)
        .await
        .context("resume after a failure mid-pull")?;
    rate_limits_honoured(&*connector, org)
        .await
        .context("429 honoured")?;
    server_errors_retried(&*connector, org)
        .await
        .context("5xx retried")?;
    actions_idempotent(&*connector, org)
        .await
        .context("actions")?;
    expired_credential(&*connector, org)
        .await
        .context("expired credential")?;
    // A connector that pulls no sign-in log (an app's SCIM endpoint) has nothing to store.
    if connector.capabilities().signins {
        signins_stored_once(factory, org)
            .await
            .context("sign-ins stored once")?;
    }
    no_secret_logged(&logs, org).context("secrets in logs")?;
    Ok(())
}

fn build<F: ConnectorFactory>(
    factory: &F,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<Arc<dyn Connector>> {
    let tenant = TenantId::parse("ten_conformance").context("tenant id")?;
    let context = ConnectorContext {
        observer: None,
        tenant_id: tenant,
        integration_id: IntegrationId::generate(org.now()),
        credentials: Credentials::from_object(org.credentials()),
        config: org.config(),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: None,
    };
    factory
        .build(context)
        .map_err(|e| anyhow::anyhow!("the factory refused the simulator's integration: {e}"))
}

/// Every page of one pass of a directory pull.
struct Pass {
    /// The external ids in the order they came.
    ids: Vec<String>,
    pages: usize,
    /// The change token the last page returned, for the next incremental pass.
    sync_state: Option<String>,
}

/// Pulls every page of `mode` from `cursor`.
async fn pull_all(
    connector: &dyn Connector,
    mode: PullMode,
    mut cursor: Option<String>,
) -> Result<Pass, ConnectorError> {
    let mut pass = Pass {
        ids: Vec::new(),
        pages: 0,
        sync_state: None,
    };
    loop {
        let page = connector
            .users_page(mode.clone(), cursor.as_deref())
            .await?;
        pass.pages += 1;
        pass.ids
            .extend(page.items.into_iter().map(|u| u.external_id));
        pass.sync_state = page.sync_state.or(pass.sync_state);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(pass),
        }
        if pass.pages > 100_000 {
            return Ok(pass);
        }
    }
}

fn exactly_once(ids: &[String], expected: &BTreeSet<String>) -> anyhow::Result<()> {
    let mut seen = BTreeMap::<&str, usize>::new();
    for id in ids {
        *seen.entry(id).or_default() += 1;
    }
    let twice: Vec<&&str> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    ensure!(
        twice.is_empty(),
        "accounts returned more than once: {twice:?}"
    );
    let got: BTreeSet<String> = seen.keys().map(|id| (*id).to_owned()).collect();
    let missing: Vec<&String> = expected.difference(&got).collect();
    let extra: Vec<&String> = got.difference(expected).collect();
    ensure!(missing.is_empty(), "accounts missing: {missing:?}");
    ensure!(
        extra.is_empty(),
        "accounts the provider does not have: {extra:?}"
    );
    Ok(())
}

/// A full pass; returns its change token for the incremental check.
async fn full_pull_pages(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<Option<String>> {
    let pass = pull_all(connector, PullMode::Full, None).await?;
    ensure!(
        pass.pages > 1,
        "the directory fit one page; the simulator must hold more accounts than a page"
    );
    exactly_once(&pass.ids, &org.account_ids())?;
    Ok(pass.sync_state)
}

/// A change after a full pass, then an incremental pass from that pass's change token (or by
/// time, for providers without one), as the engine runs them.
async fn incremental_pull(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
    sync_state: Option<String>,
) -> anyhow::Result<()> {
    let since = org.now() - chrono::Duration::seconds(1);
    let target = org.action_target().external_id;
    org.change_account(&target);
    let mode = PullMode::Changed { since, sync_state };
    let ids = pull_all(connector, mode, None).await?.ids;
    ensure!(
        ids.contains(&target),
        "the changed account {target} is not in the incremental pull"
    );
    let all = org.account_ids().len();
    ensure!(
        ids.len() < all,
        "the incremental pull returned the whole directory ({all} accounts)"
    );
    Ok(())
}

async fn resume_after_failure(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<()> {
    let first = connector.users_page(PullMode::Full, None).await?;
    let cursor = first.next_cursor.context("the first page has no cursor")?;
    // More failures than any retry policy takes: the pull must stop with a transient error.
    org.inject(Endpoint::Users, Fault::unavailable(50));
    let failed = connector.users_page(PullMode::Full, Some(&cursor)).await;
    org.clear_faults();
    match failed {
        Err(e) if e.is_transient() => {}
        Err(e) => bail!("a provider outage must be a transient error, got: {e}"),
        Ok(_) => bail!("the page succeeded through 50 injected 503s"),
    }
    let rest = pull_all(connector, PullMode::Full, Some(cursor)).await?.ids;
    let mut ids: Vec<String> = first.items.into_iter().map(|u| u.external_id).collect();
    ids.extend(rest);
    exactly_once(&ids, &org.account_ids())
}

async fn rate_limits_honoured(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<()> {
    let wait = Duration::from_secs(2);
    org.inject(Endpoint::Users, org.rate_limit_fault(wait));
    let started = Instant::now();
    let page = connector.users_page(PullMode::Full, None).await;
    let waited = started.elapsed();
    org.clear_faults();
    let page = page.context("one 429 must be waited out, not fail the page")?;
    ensure!(!page.items.is_empty(), "the page after the 429 is empty");
    // A little slack for clock granularity; a client that ignores the wait retries at once.
    ensure!(
        waited + Duration::from_millis(250) >= wait,
        "retried after {waited:?}; the provider asked for {wait:?}"
    );
    Ok(())
}

async fn server_errors_retried(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<()> {
    org.inject(Endpoint::Users, Fault::server_error(2));
    let page = connector.users_page(PullMode::Full, None).await;
    org.clear_faults();
    let page = page.context("two 500s must be retried")?;
    ensure!(!page.items.is_empty(), "the page after the 500s is empty");
    Ok(())
}

async fn expired_credential(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<()> {
    org.revoke_credential();
    let before = org.request_count();
    let result = connector.users_page(PullMode::Full, None).await;
    let calls = org.request_count().saturating_sub(before);
    org.restore_credential();
    match result {
        Err(ConnectorError::Unauthorized(message)) => {
            for secret in org.secrets() {
                ensure!(!message.contains(&secret), "the error names a secret");
            }
        }
        Err(e) => bail!("a dead credential must be Unauthorized, got: {e}"),
        Ok(_) => bail!("the pull succeeded with a revoked credential"),
    }
    // One call, and one more where a fresh token may be fetched and tried: never a retry loop.
    ensure!(
        calls <= 3,
        "{calls} calls with a dead credential (retried as if transient)"
    );
    Ok(())
}

async fn actions_idempotent(
    connector: &dyn Connector,
    org: &dyn SimulatedOrg,
) -> anyhow::Result<()> {
    let target = org.action_target();
    let offered = connector.capabilities().actions;
    // Disable before enable, so both find work to do the first time.
    let order = [
        ActionKind::DisableAccount,
        ActionKind::EnableAccount,
        ActionKind::RevokeSessions,
        ActionKind::EnforceMfa,
    ];
    for action in order.into_iter().filter(|a| offered.contains(a)) {
        let before = org.mutations_of(&target.external_id).len();
        let first = connector
            .act(action, &target)
            .await
            .with_context(|| format!("{action:?}"))?;
        let recorded = org.mutations_of(&target.external_id).len();
        ensure!(
            recorded > before,
            "{action:?} reported {first:?} but the simulator recorded no change"
        );
        let again = connector
            .act(action, &target)
            .await
            .with_context(|| format!("{action:?} a second time"))?;
        let state_change = matches!(
            action,
            ActionKind::DisableAccount | ActionKind::EnableAccount | ActionKind::EnforceMfa
        );
        ensure!(
            !(state_change && again.changed),
            "{action:?} a second time changed the account again ({again:?}): not idempotent"
        );
    }
    Ok(())
}

async fn signins_stored_once<F>(factory: F, org: &dyn SimulatedOrg) -> anyhow::Result<()>
where
    F: ConnectorFactory + Clone + 'static,
{
    let daemon = InProcess::with_connector(factory).await?;
    let gateway = &daemon.app.gateway;
    let tenant = gateway
        .create_tenant("Conformance", Some("ten_conformance"))
        .await?
        .id;
    let integration = gateway
        .create_integration(NewIntegration {
            kind: org.provider().to_owned(),
            tenant_id: tenant.clone(),
            credentials: org.credentials(),
            config: org.config(),
        })
        .await?
        .integration;
    let sync = &daemon.app.engine.sync;
    sync.run(&tenant, &integration.id, SyncJob::Users).await?;
    let mut expected: BTreeSet<String> = BTreeSet::new();
    expected.extend(org.add_signins(5, chrono::Duration::seconds(1)));
    sync.run(&tenant, &integration.id, SyncJob::Signins).await?;
    let replay_from = daemon
        .app
        .store
        .get_cursor(&tenant, &integration.id, "signins")
        .await?
        .context("no sign-in cursor after a pull")?;
    // Events the provider records after the pull with times before it (its log lags).
    expected.extend(org.add_signins(4, chrono::Duration::minutes(3)));
    expected.extend(org.add_signins(3, chrono::Duration::seconds(1)));
    sync.run(&tenant, &integration.id, SyncJob::Signins).await?;
    // A crash between storing a page and saving its cursor replays the page.
    daemon
        .app
        .store
        .put_cursor(&tenant, &integration.id, "signins", &replay_from)
        .await?;
    sync.run(&tenant, &integration.id, SyncJob::Signins).await?;

    let mut stored = BTreeMap::<String, usize>::new();
    let mut cursor = None;
    loop {
        let page = daemon
            .app
            .store
            .list_signins(
                &tenant,
                &SignInFilter::default(),
                &PageRequest::new(1000, cursor),
            )
            .await?;
        for event in page.items {
            *stored.entry(event.provider_event_id).or_default() += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let twice: Vec<&String> = stored
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    ensure!(
        twice.is_empty(),
        "sign-ins stored more than once: {twice:?}"
    );
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    ensure!(missing.is_empty(), "sign-ins never stored: {missing:?}");
    Ok(())
}

fn no_secret_logged(logs: &LogCapture, org: &dyn SimulatedOrg) -> anyhow::Result<()> {
    let text = logs.text();
    ensure!(
        !text.is_empty(),
        "nothing was logged: the capture is not working"
    );
    for secret in org.secrets() {
        ensure!(
            secret.len() < 6 || !text.contains(&secret),
            "a secret of {} chars appears in the logs",
            secret.len()
        );
    }
    Ok(())
}

/// Every log line written while the suite runs.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    fn text(&self) -> String {
        match self.0.lock() {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(poisoned) => String::from_utf8_lossy(&poisoned.into_inner()).into_owned(),
        }
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
