//! The driver of the connector fault matrix (one test per provider and fault): an in-process
//! daemon holding one integration whose connector a test builds itself (so it can shorten the
//! retry policy and the request timeout), pulls run through the engine's real sync runner, the
//! integration's sync status read back over the HTTP API, and the checks every fault test makes
//! (each simulated account stored exactly once, no secret in the status). Provider-neutral: the
//! provider's simulator and connector stay in the connector's own tests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use gatehouse_core::catalog::ProviderDescriptor;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, ConnectorFactory};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_engine::sync::SyncOutcome;
use gatehouse_engine::EngineError;
use gatehouse_engine::NewIntegration;
use gatehouse_store::{PageRequest, UserFilter};
use serde_json::{Map, Value};

use crate::{Api, InProcess, TEST_OPERATOR_KEY};

/// The jobs a test pulls, so a connector's tests need no dependency on the engine.
pub use gatehouse_engine::sync::SyncJob;

/// The longest one pull may take in a fault test: a pull still running then is a hang, which
/// is a failure, not something to wait out.
pub const PULL_BOUND: Duration = Duration::from_secs(20);

type Build = dyn Fn(ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> + Send + Sync;

/// A connector factory that builds through a test's closure: the provider's own connector,
/// with a retry policy and timeout short enough for a test.
pub struct BuildWith {
    descriptor: &'static ProviderDescriptor,
    build: Box<Build>,
}

impl BuildWith {
    pub fn new(
        descriptor: &'static ProviderDescriptor,
        build: impl Fn(ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        Self {
            descriptor,
            build: Box::new(build),
        }
    }
}

impl ConnectorFactory for BuildWith {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        self.descriptor
    }

    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        (self.build)(context)
    }
}

/// An in-process daemon with one tenant and one integration, pulled by hand.
pub struct FaultRig {
    pub daemon: InProcess,
    pub tenant: TenantId,
    pub integration: IntegrationId,
    api: Api,
}

fn object(value: Value) -> anyhow::Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => bail!("expected a JSON object, got {other}"),
    }
}

impl FaultRig {
    /// Starts the daemon with `factory` as the only connector (custom endpoints allowed, so
    /// the integration may point at a loopback simulator) and registers an integration of
    /// `kind` with these credentials and config.
    pub async fn start(
        factory: BuildWith,
        kind: &str,
        credentials: Value,
        config: Value,
    ) -> anyhow::Result<Self> {
        let daemon = InProcess::with_connector(factory).await?;
        let gateway = &daemon.app.gateway;
        let tenant = gateway
            .create_tenant("Fault matrix", Some("ten_faults"))
            .await?
            .id;
        let integration = gateway
            .create_integration(NewIntegration {
                kind: kind.to_owned(),
                tenant_id: tenant.clone(),
                credentials: object(credentials)?,
                config: object(config)?,
            })
            .await
            .context("registering the integration")?
            .integration
            .id;
        let api = Api::new(&daemon.base_url, Some(TEST_OPERATOR_KEY.to_owned()));
        Ok(Self {
            daemon,
            tenant,
            integration,
            api,
        })
    }

    /// Runs `job` through the engine's sync runner, as a schedule or `POST …/sync` would; an
    /// error if it has not ended within [`PULL_BOUND`].
    pub async fn pull(&self, job: SyncJob) -> anyhow::Result<Result<SyncOutcome, EngineError>> {
        let run = self
            .daemon
            .app
            .engine
            .sync
            .run(&self.tenant, &self.integration, job);
        tokio::time::timeout(PULL_BOUND, run)
            .await
            .map_err(|_| anyhow::anyhow!("the {job:?} pull still ran after {PULL_BOUND:?}: hung"))
    }

    /// A pull that must succeed; its record count.
    pub async fn pull_ok(&self, job: SyncJob) -> anyhow::Result<u64> {
        match self.pull(job).await? {
            Ok(SyncOutcome::Done { records }) => Ok(records),
            Ok(other) => bail!("the pull did not run: {other:?}"),
            Err(error) => bail!("the pull failed: {error}"),
        }
    }

    /// A pull that must fail; its error's text.
    pub async fn pull_err(&self, job: SyncJob) -> anyhow::Result<String> {
        match self.pull(job).await? {
            Ok(outcome) => bail!("the pull was expected to fail, it ended {outcome:?}"),
            Err(error) => Ok(error.to_string()),
        }
    }

    /// The integration as `GET /v1/integrations/{id}` shows it.
    pub async fn integration(&self) -> anyhow::Result<Value> {
        let reply = self
            .api
            .get(&format!("/v1/integrations/{}", self.integration))
            .await?;
        if !reply.status.is_success() {
            bail!("GET integration answered {}: {}", reply.status, reply.body);
        }
        Ok(reply.body)
    }

    /// `sync.jobs.<job>` of the integration's status (`Null` when the job never ran).
    pub async fn job_status(&self, job: &str) -> anyhow::Result<Value> {
        Ok(self.integration().await?["sync"]["jobs"][job].clone())
    }

    /// The job's `last_error` (empty when there is none).
    pub async fn last_error(&self, job: &str) -> anyhow::Result<String> {
        Ok(self.job_status(job).await?["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// How many stored accounts of the integration carry each external id.
    pub async fn stored_external_ids(&self) -> anyhow::Result<BTreeMap<String, usize>> {
        let filter = UserFilter {
            integration_id: Some(self.integration.clone()),
            ..UserFilter::default()
        };
        let mut counts = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = self
                .daemon
                .app
                .store
                .list_users(
                    &self.tenant,
                    &filter,
                    &PageRequest::new(PageRequest::MAX_LIMIT, cursor),
                )
                .await?;
            for user in page.items {
                *counts.entry(user.external_id).or_insert(0) += 1;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(counts),
            }
        }
    }

    /// Fails unless the store holds every one of `expected` exactly once, and nothing else.
    pub async fn assert_each_once<S: AsRef<str>>(&self, expected: &[S]) -> anyhow::Result<()> {
        let stored = self.stored_external_ids().await?;
        let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
        if !twice.is_empty() {
            bail!("stored more than once: {twice:?}");
        }
        let missing: Vec<&str> = expected
            .iter()
            .map(AsRef::as_ref)
            .filter(|id| !stored.contains_key(*id))
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} of {} accounts missing: {missing:?}",
                missing.len(),
                expected.len()
            );
        }
        if stored.len() != expected.len() {
            bail!(
                "{} accounts stored, {} simulated",
                stored.len(),
                expected.len()
            );
        }
        Ok(())
    }

    /// The job's status after a successful run: no error left, and the run's record count.
    pub async fn assert_succeeded(&self, job: &str) -> anyhow::Result<u64> {
        let status = self.job_status(job).await?;
        if !status["last_error"].is_null() {
            bail!("last_error still set after a successful run: {status}");
        }
        if !status["last_success_at"].is_string() {
            bail!("no last_success_at: {status}");
        }
        status["records"]
            .as_u64()
            .with_context(|| format!("no record count: {status}"))
    }

    /// The job's `last_error` after a failed run: it must name the fault (any of `names`,
    /// case-insensitive) and none of `secrets`.
    pub async fn assert_failed_with(
        &self,
        job: &str,
        names: &[&str],
        secrets: &[&str],
    ) -> anyhow::Result<String> {
        let error = self.last_error(job).await?;
        let lower = error.to_lowercase();
        if !names.iter().any(|n| lower.contains(&n.to_lowercase())) {
            bail!("last_error names none of {names:?}: {error:?}");
        }
        assert_no_secret(&self.integration().await?.to_string(), secrets)?;
        Ok(error)
    }
}

/// Fails if `text` holds any of `secrets`.
pub fn assert_no_secret(text: &str, secrets: &[&str]) -> anyhow::Result<()> {
    for secret in secrets {
        if !secret.is_empty() && text.contains(secret) {
            bail!("a secret leaked: {text}");
        }
    }
    Ok(())
}

/// Waits until `consumed` says the fault armed before a pull was taken by the provider (its
/// pending count is zero), polling every few milliseconds for at most `within`. A test delays
/// the first request of a pull, waits here, then injects the fault it means for the second
/// request: while the first request sleeps at the provider, the next one can only come after.
pub async fn until_taken(consumed: impl Fn() -> bool, within: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    while !consumed() {
        if tokio::time::Instant::now() >= deadline {
            bail!("the provider took no request within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}
