//! Detection-to-response latency: for each run, an Okta event-hook delivery of 10 failed
//! sign-ins for a fresh account, through the real daemon's detection runner and an automatic
//! `revoke_sessions` policy, until the Okta simulator records `DELETE …/sessions` for that
//! account. Reports p50 and p99 over the runs.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::Gatehouse;
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs (each on its own account).
    #[arg(long, default_value_t = 1000)]
    runs: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let sim = OktaSim::new(OktaConfig {
        users: args.runs * 2 + 20,
        events: 0,
        rate_limit_per_minute: 1_000_000,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await
        .context("starting gatehouse")?;
    let op = daemon.operator()?;
    op.post(
        "/v1/tenants",
        &json!({"name": "Bench", "id": "ten_bench_resp"}),
    )
    .await?;
    // Every run is one automatic action: lift the tenant's default cap on them (it exists to
    // stop a flood of forged detections, which this is not).
    let lifted = op
        .patch(
            "/v1/tenants/ten_bench_resp",
            &json!({"settings": {"max_auto_actions_per_10m": 1_000_000}}),
        )
        .await?;
    if !lifted.status.is_success() {
        bail!("could not lift the tenant's action cap: {:?}", lifted.body);
    }
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": "ten_bench_resp",
            "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
            "config": {"enable_response_actions": true, "ingest_system_log": false}}),
        )
        .await?;
    let id = created.str("/id");
    let hook = format!("{}{}", daemon.base_url, created.str("/ingest/url"));
    op.post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    let expected = sim.user_count();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let users = op.get("/v1/users?tenant_id=ten_bench_resp&limit=1").await?;
        let status = op.get(&format!("/v1/integrations/{id}")).await?;
        if status.body["sync"]["counts"]["users"].as_u64() == Some(expected as u64)
            && users.status.is_success()
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the directory pull did not finish");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    op.post("/v1/policies", &json!({"tenant_id": "ten_bench_resp", "name": "revoke on brute force",
        "when": {"kinds": ["brute_force"]}, "then": ["revoke_sessions"], "mode": "auto", "scope": "account"}))
        .await?;
    let admin = sim.admin_id();
    let accounts: Vec<String> = sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .filter(|u| *u != admin)
        .take(args.runs)
        .collect();
    if accounts.len() < args.runs {
        bail!(
            "only {} active accounts for {} runs",
            accounts.len(),
            args.runs
        );
    }
    let mut latencies = Vec::with_capacity(args.runs);
    for account in &accounts {
        let events: Vec<_> = (0..10)
            .filter_map(|_| {
                sim.make_event(
                    account,
                    "user.session.start",
                    "FAILURE",
                    Some("INVALID_CREDENTIALS"),
                )
            })
            .collect();
        let path = format!("/api/v1/users/{account}/sessions");
        let started = Instant::now();
        let delivery = sim.deliver_event_hook(&hook, "", events).await;
        if !delivery.delivered {
            bail!("delivery failed: {delivery:?}");
        }
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            if sim.mutations().iter().any(|c| c.path == path) {
                latencies.push(started.elapsed());
                break;
            }
            if Instant::now() > give_up {
                bail!("no revocation for {account} within 10 s");
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!("Detection to response, {} runs (each: a 10-failure hook delivery for a fresh account → brute_force → auto revoke_sessions → the simulator's DELETE /sessions).\n", latencies.len());
    println!("| p50 ms | p99 ms | max ms |");
    println!("|---|---|---|");
    println!(
        "| {:.1} | {:.1} | {:.1} |",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    crate::print_peak_rss(&daemon, "detection to response");
    Ok(())
}
