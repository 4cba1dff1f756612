//! What the directory-pull scenarios share: the same full pull through a provider's connector
//! with no store (the ceiling), then through the real daemon (stored, correlated into
//! identities), reported as users/s side by side with the daemon's peak RSS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use gatehouse_core::provider::{ConnectorContext, ConnectorFactory, Credentials};
use gatehouse_core::records::PullMode;
use gatehouse_core::{IntegrationId, SystemClock, TenantId};
use gatehouse_testkit::Gatehouse;
use serde_json::{json, Map, Value};

/// One provider's directory-pull scenario.
pub struct DirectoryPull<'a> {
    /// How the output names it (`directory pull`, `entra directory pull`, …).
    pub label: &'a str,
    /// How the RSS line names it (`the directory pull`, …).
    pub rss_label: &'a str,
    /// The integration type.
    pub kind: &'a str,
    /// The tenant the scenario creates.
    pub tenant: &'a str,
    pub credentials: Value,
    pub config: Value,
    /// Accounts a full pull must bring.
    pub expected: usize,
}

impl DirectoryPull<'_> {
    /// Both pulls, printed.
    pub async fn run(&self, factory: &dyn ConnectorFactory) -> anyhow::Result<()> {
        let (reference, pages) = self.without_store(factory).await?;
        let expected = self.expected;
        println!(
            "{}, no store (fetch + parse + map, {pages} pages): {expected} users in {:.2} s = {:.0} users/s",
            self.label,
            reference.as_secs_f64(),
            expected as f64 / reference.as_secs_f64()
        );
        self.through_the_daemon(reference).await
    }

    /// Every page of a full pull through the connector itself, mapped and dropped.
    async fn without_store(
        &self,
        factory: &dyn ConnectorFactory,
    ) -> anyhow::Result<(Duration, usize)> {
        let as_map = |v: &Value| -> anyhow::Result<Map<String, Value>> {
            serde_json::from_value(v.clone()).context("a JSON object")
        };
        let context = ConnectorContext {
            tenant_id: TenantId::parse(self.tenant).context("tenant id")?,
            integration_id: IntegrationId::parse(&format!("int_{}", self.tenant))
                .context("integration id")?,
            credentials: Credentials::from_object(as_map(&self.credentials)?),
            config: as_map(&self.config)?,
            allow_custom_endpoints: true,
            clock: Arc::new(SystemClock),
            push_url: None,
            observer: None,
        };
        let connector = factory.build(context).map_err(|e| anyhow::anyhow!("{e}"))?;
        let started = Instant::now();
        let mut cursor: Option<String> = None;
        let (mut users, mut pages) = (0, 0);
        loop {
            let page = connector
                .users_page(PullMode::Full, cursor.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            users += page.items.len();
            pages += 1;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if users != self.expected {
            bail!("the no-store pull read {users} users of {}", self.expected);
        }
        Ok((started.elapsed(), pages))
    }

    /// A second full pull of the same, unchanged directory (`/sync?full=true`): the daily job
    /// of a steady org, where every account is read again and little has changed.
    async fn again_unchanged(
        &self,
        op: &gatehouse_testkit::Api,
        id: &str,
        reference: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        op.post_empty(&format!("/v1/integrations/{id}/sync?full=true"))
            .await?;
        let deadline = started + Duration::from_secs(1800);
        loop {
            let status = op.get(&format!("/v1/integrations/{id}")).await?;
            let job = &status.body["sync"]["jobs"]["full_users"];
            if job["last_success_at"].is_string() {
                if job["records"].as_u64() != Some(self.expected as u64) {
                    bail!("the second full pull stored {} users", job["records"]);
                }
                break;
            }
            if let Some(error) = job["last_error"].as_str() {
                bail!("the second full pull failed: {error}");
            }
            if Instant::now() > deadline {
                bail!("the second full pull did not finish in 30 minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = started.elapsed();
        println!(
            "{}, gatehouse, again unchanged (full pull): {} users in {:.2} s = {:.0} users/s ({:.0} % of the no-store ceiling)",
            self.label,
            self.expected,
            took.as_secs_f64(),
            self.expected as f64 / took.as_secs_f64(),
            100.0 * reference.as_secs_f64() / took.as_secs_f64()
        );
        Ok(())
    }

    /// The same pull asked of the daemon (`/sync`), timed until its users count is complete.
    async fn through_the_daemon(&self, reference: Duration) -> anyhow::Result<()> {
        let daemon = Gatehouse::builder()
            .allow_custom_endpoints()
            .start()
            .await
            .context("starting gatehouse")?;
        let op = daemon.operator()?;
        op.post("/v1/tenants", &json!({"name": "Bench", "id": self.tenant}))
            .await?;
        let created = op
            .post(
                "/v1/integrations",
                &json!({"type": self.kind, "tenant_id": self.tenant,
                        "credentials": self.credentials, "config": self.config}),
            )
            .await?;
        if !created.status.is_success() {
            bail!("creating the integration: {:?}", created.body);
        }
        let id = created.str("/id");
        let idle_rss = daemon.peak_rss_kib();
        let started = Instant::now();
        op.post_empty(&format!("/v1/integrations/{id}/sync"))
            .await?;
        let deadline = started + Duration::from_secs(1800);
        loop {
            let status = op.get(&format!("/v1/integrations/{id}")).await?;
            if status.body["sync"]["counts"]["users"].as_u64() == Some(self.expected as u64) {
                break;
            }
            if let Some(error) = status.body["sync"]["last_error"].as_str() {
                bail!("the pull failed: {error}");
            }
            if Instant::now() > deadline {
                bail!("the directory pull did not finish in 30 minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = started.elapsed();
        println!(
            "{}, gatehouse (stored): {} users in {:.2} s = {:.0} users/s ({:.0} % of the no-store ceiling)",
            self.label,
            self.expected,
            took.as_secs_f64(),
            self.expected as f64 / took.as_secs_f64(),
            100.0 * reference.as_secs_f64() / took.as_secs_f64()
        );
        self.again_unchanged(&op, &id, reference).await?;
        println!(
            "gatehouse peak RSS: idle {} MiB",
            idle_rss.map_or("?".into(), |k| (k / 1024).to_string()),
        );
        crate::print_peak_rss(&daemon, self.rss_label);
        Ok(())
    }
}
