//! Entra ID directory pull at scale: a full users pull of N accounts (100,000 by default) from
//! the Entra (Microsoft Graph) simulator through Graph's users delta query in the page size the
//! connector asks for (`Prefer: odata.maxpagesize=999`), through the real daemon (stored,
//! correlated into identities), beside the same pages fetched, parsed and mapped by the same
//! connector (`gatehouse_entra::Factory`) with no store — the ceiling the store and engine are
//! measured against — with the daemon's peak RSS. Sign-ins are off (`ingest_signins: false`)
//! and the tenant has no groups, so the stored run pulls the directory alone.

use std::time::Instant;

use gatehouse_testkit::idp_sim::entra::{EntraConfig, EntraSim};
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
    let sim = EntraSim::new(EntraConfig {
        users: args.users,
        groups: 0,
        signins: 0,
        rate_limit_per_minute: 100_000_000,
        call_log_capacity: 1_000,
        notification_interval: None,
        ..EntraConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let expected = sim.user_ids().len();
    println!(
        "entra simulator: {expected} users built in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let base = running.base_url();
    let credentials = json!({"tenant_id": sim.config().directory_id,
        "client_id": sim.config().client_id, "client_secret": sim.config().client_secret});
    let config = json!({"login_base_url": base, "graph_base_url": base,
        "ingest_signins": false});

    DirectoryPull {
        label: "entra directory pull",
        rss_label: "the Entra directory pull",
        kind: "entra",
        tenant: "ten_bench_entra",
        credentials,
        config,
        expected,
    }
    .run(&gatehouse_entra::Factory)
    .await
}
