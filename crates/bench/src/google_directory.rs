//! Google Workspace directory pull at scale: a full users pull of N accounts (100,000 by
//! default) from the Google simulator through the Directory API's `users.list` in pages of 500
//! (the largest `maxResults` Google allows, which the connector asks for), through the real
//! daemon (stored, correlated into identities), beside the same pages fetched, parsed and mapped
//! by the same connector (`gatehouse_google::Factory`) with no store — the ceiling the store and
//! engine are measured against — with the daemon's peak RSS. Login activity is off
//! (`ingest_signins: false`) and the Workspace has no groups, so the stored run pulls the
//! directory alone. Every call first needs an access token: the service account's JWT-bearer
//! grant is signed (RS256) and verified by the simulator once per token, not per page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use gatehouse_core::provider::{ConnectorContext, ConnectorFactory as _, Credentials};
use gatehouse_core::records::PullMode;
use gatehouse_core::{IntegrationId, SystemClock, TenantId};
use gatehouse_testkit::idp_sim::google::{GoogleConfig, GoogleSim};
use gatehouse_testkit::Gatehouse;
use serde_json::{json, Map, Value};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accounts in the simulated tenant.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let built = Instant::now();
    let sim = GoogleSim::new(GoogleConfig {
        users: args.users,
        groups: 0,
        activities: 0,
        rate_limit_per_minute: 100_000_000,
        user_rate_limit_per_minute: 100_000_000,
        call_log_capacity: 1_000,
        notification_interval: None,
        ..GoogleConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let expected = sim.user_ids().len();
    println!(
        "google simulator: {expected} users built in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let base = running.base_url();
    let credentials = json!({
        "service_account": sim.service_account_json(&format!("{base}/token")),
        "admin_email": sim.config().admin_email,
    });
    let config = json!({"api_base_url": base, "ingest_signins": false});

    let (reference, pages) = without_store(&credentials, &config, expected).await?;
    println!(
        "google directory pull, no store (fetch + parse + map, {pages} pages): {expected} users in {:.2} s = {:.0} users/s",
        reference.as_secs_f64(),
        expected as f64 / reference.as_secs_f64()
    );

    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await
        .context("starting gatehouse")?;
    let op = daemon.operator()?;
    op.post(
        "/v1/tenants",
        &json!({"name": "Bench", "id": "ten_bench_google"}),
    )
    .await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "google_workspace", "tenant_id": "ten_bench_google",
                    "credentials": credentials, "config": config}),
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
        if status.body["sync"]["counts"]["users"].as_u64() == Some(expected as u64) {
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
        "google directory pull, gatehouse (stored): {expected} users in {:.2} s = {:.0} users/s ({:.0} % of the no-store ceiling)",
        took.as_secs_f64(),
        expected as f64 / took.as_secs_f64(),
        100.0 * reference.as_secs_f64() / took.as_secs_f64()
    );
    println!(
        "gatehouse peak RSS: idle {} MiB",
        idle_rss.map_or("?".into(), |k| (k / 1024).to_string()),
    );
    crate::print_peak_rss(&daemon, "the Google directory pull");
    Ok(())
}

/// Every page of a full `users.list` pass through the Google connector itself, mapped and dropped.
async fn without_store(
    credentials: &Value,
    config: &Value,
    expected: usize,
) -> anyhow::Result<(Duration, usize)> {
    let as_map = |v: &Value| -> anyhow::Result<Map<String, Value>> {
        serde_json::from_value(v.clone()).context("a JSON object")
    };
    let context = ConnectorContext {
        tenant_id: TenantId::parse("ten_bench_google").context("tenant id")?,
        integration_id: IntegrationId::parse("int_bench_google").context("integration id")?,
        credentials: Credentials::from_object(as_map(credentials)?),
        config: as_map(config)?,
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: None,
        observer: None,
    };
    let connector = gatehouse_google::Factory
        .build(context)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
    if users != expected {
        bail!("the no-store pull read {users} users of {expected}");
    }
    Ok((started.elapsed(), pages))
}
