//! `gatehouse-idp-sim`: runs a provider simulator standalone, one subcommand
//! per provider, and prints where it listens and the credential to use.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use gatehouse_idp_sim::okta::{OktaConfig, OktaSim};

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse-idp-sim",
    about = "Identity-provider API simulators for Gatehouse"
)]
struct Cli {
    #[command(subcommand)]
    provider: Provider,
}

#[derive(Subcommand, Debug)]
enum Provider {
    /// Okta Management API (users, groups, factors, System Log, lifecycle).
    Okta(OktaArgs),
}

#[derive(clap::Args, Debug)]
struct OktaArgs {
    /// Users to generate (the token's admin included).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// System Log events to generate.
    #[arg(long, default_value_t = 5000)]
    events: usize,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// API token to accept (SSWS or Bearer).
    #[arg(long)]
    token: Option<String>,
    /// Seed of the generated org.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Per-minute quota of each endpoint family.
    #[arg(long = "rate-limit")]
    rate_limit: Option<u32>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match Cli::parse().provider {
        Provider::Okta(args) => run_okta(args).await,
    }
}

async fn run_okta(args: OktaArgs) -> anyhow::Result<()> {
    let defaults = OktaConfig::default();
    let config = OktaConfig {
        seed: args.seed,
        users: args.users,
        events: args.events,
        api_token: args.token.unwrap_or(defaults.api_token.clone()),
        rate_limit_per_minute: args.rate_limit.unwrap_or(defaults.rate_limit_per_minute),
        ..defaults
    };
    let sim = OktaSim::new(config);
    let running = sim.spawn(args.listen)?;
    println!("okta simulator listening on {}", running.base_url());
    println!("token: {}", sim.config().api_token);
    println!(
        "try: curl -H 'Authorization: SSWS {}' {}/api/v1/users?limit=2",
        sim.config().api_token,
        running.base_url()
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}
