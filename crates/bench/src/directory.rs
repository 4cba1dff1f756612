//! Directory pull at scale: a full users pull of N accounts (100,000 by default) from the Okta
//! simulator in Okta's page size (200), through the real daemon (stored, correlated into
//! identities), beside the same pages fetched, parsed and mapped by the same connector with no
//! store — the ceiling the store and engine are measured against — with the daemon's peak RSS.
//! Factor enrichment is off (`enrich: ["roles"]`), as a large org would run it: a call per user
//! would measure Okta's per-endpoint rate limits, not Gatehouse.

use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim};
use serde_json::json;

use crate::pull::DirectoryPull;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accounts in the simulated org.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let sim = OktaSim::new(OktaConfig {
        users: args.users,
        events: 0,
        rate_limit_per_minute: 100_000_000,
        call_log_capacity: 1_000,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let expected = sim.user_count();
    let credentials = json!({"domain": running.base_url(), "api_token": sim.config().api_token});
    let config = json!({"enrich": ["roles"], "ingest_system_log": false});

    DirectoryPull {
        label: "directory pull",
        rss_label: "the directory pull",
        kind: "okta",
        tenant: "ten_bench_dir",
        credentials,
        config,
        expected,
    }
    .run(&gatehouse_okta::Factory)
    .await
}
