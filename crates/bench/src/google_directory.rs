//! Google Workspace directory pull at scale: a full users pull of N accounts (100,000 by
//! default) from the Google simulator through the Directory API's `users.list` in pages of 500
//! (the largest `maxResults` Google allows, which the connector asks for), through the real
//! daemon (stored, correlated into identities), beside the same pages fetched, parsed and mapped
//! by the same connector (`gatehouse_google::Factory`) with no store — the ceiling the store and
//! engine are measured against — with the daemon's peak RSS. Login activity is off
//! (`ingest_signins: false`) and the Workspace has no groups, so the stored run pulls the
//! directory alone. Every call first needs an access token: the service account's JWT-bearer
//! grant is signed (RS256) and verified by the simulator once per token, not per page.

use std::time::Instant;

use gatehouse_testkit::idp_sim::google::{GoogleConfig, GoogleSim};
use serde_json::json;

use crate::pull::DirectoryPull;

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

    DirectoryPull {
        label: "google directory pull",
        rss_label: "the Google directory pull",
        kind: "google_workspace",
        tenant: "ten_bench_google",
        credentials,
        config,
        expected,
    }
    .run(&gatehouse_google::Factory)
    .await
}
