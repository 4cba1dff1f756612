//! JumpCloud directory pull at scale: a full pull of N system users (100,000 by default) from
//! the JumpCloud simulator through `GET /api/systemusers` in pages of 100 (the limit JumpCloud
//! documents for its v1 lists, which the connector asks for) sorted by `_id`, through the real
//! daemon (stored, compared with the last pass, correlated into identities), beside the same
//! pages fetched, parsed and mapped by the same connector (`gatehouse_jumpcloud::Factory`) with
//! no store — the ceiling the store and engine are measured against — with the daemon's peak
//! RSS. Directory Insights is off (`ingest_signins: false`) and the organization has no groups,
//! so the stored run pulls the directory alone. At 100 per page this is a thousand round trips
//! per pass, each re-reading the connector's overlap of 10 records: the page size, not
//! Gatehouse, sets much of the pace, as it does against JumpCloud.

use std::time::Instant;

use gatehouse_testkit::idp_sim::jumpcloud::{JumpCloudConfig, JumpCloudSim};
use serde_json::json;

use crate::pull::DirectoryPull;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// System users in the simulated organization.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let built = Instant::now();
    let sim = JumpCloudSim::new(JumpCloudConfig {
        users: args.users,
        groups: 0,
        events: 0,
        rate_limit_per_minute: 100_000_000,
        call_log_capacity: 1_000,
        ..JumpCloudConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let expected = sim.user_ids().len();
    println!(
        "jumpcloud simulator: {expected} users built in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let credentials = json!({"api_key": sim.config().api_key});
    let config = json!({"base_url": running.base_url(), "ingest_signins": false});

    DirectoryPull {
        label: "jumpcloud directory pull",
        rss_label: "the JumpCloud directory pull",
        kind: "jumpcloud",
        tenant: "ten_bench_jumpcloud",
        credentials,
        config,
        expected,
    }
    .run(&gatehouse_jumpcloud::Factory)
    .await
}
