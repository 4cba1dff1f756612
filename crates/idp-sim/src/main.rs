//! `gatehouse-idp-sim`: runs a provider simulator standalone, one subcommand
//! per provider, and prints where it listens and the credential to use.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use gatehouse_idp_sim::entra::{EntraConfig, EntraSim};
use gatehouse_idp_sim::google::{GoogleConfig, GoogleSim};
use gatehouse_idp_sim::jumpcloud::{JumpCloudConfig, JumpCloudSim};
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
    /// Microsoft Entra ID: token endpoint and Microsoft Graph (users, delta,
    /// groups, sign-ins, account actions, change notifications).
    Entra(EntraArgs),
    /// Google Workspace: service-account token endpoint (JWT bearer with
    /// domain-wide delegation), Admin SDK Directory (users, groups) and
    /// Reports (login activities with lag, watch channels).
    Google(GoogleArgs),
    /// JumpCloud: v1 system users (list, get, PUT, resetmfa, expire,
    /// unlock), v2 user groups and Directory Insights events (with lag and
    /// search_after paging), behind x-api-key.
    Jumpcloud(JumpCloudArgs),
}

#[derive(clap::Args, Debug)]
struct JumpCloudArgs {
    /// Users to generate.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// User groups to generate.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Directory Insights events to generate.
    #[arg(long, default_value_t = 5000)]
    events: usize,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9004")]
    listen: SocketAddr,
    /// Seed of the generated organization.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// API key to accept in x-api-key.
    #[arg(long = "api-key")]
    api_key: Option<String>,
    /// The key is a multi-tenant admin's (x-org-id required).
    #[arg(long = "multi-tenant")]
    multi_tenant: bool,
    /// Per-minute quota of the key (429 past it).
    #[arg(long = "rate-limit")]
    rate_limit: Option<u32>,
    /// Seconds before an event shows in Directory Insights.
    #[arg(long = "event-lag")]
    event_lag: Option<u64>,
}

#[derive(clap::Args, Debug)]
struct GoogleArgs {
    /// Users to generate (the admin included).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Groups to generate.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Login activities to generate.
    #[arg(long, default_value_t = 5000)]
    activities: usize,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9003")]
    listen: SocketAddr,
    /// Seed of the generated Workspace.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Project-wide per-minute quota (429 past it).
    #[arg(long = "rate-limit")]
    rate_limit: Option<u32>,
    /// Seconds before a login activity shows in the Reports API.
    #[arg(long = "reporting-lag")]
    reporting_lag: Option<u64>,
}

#[derive(clap::Args, Debug)]
struct EntraArgs {
    /// Users to generate.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Groups to generate.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Sign-in events to generate.
    #[arg(long, default_value_t = 5000)]
    signins: usize,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9002")]
    listen: SocketAddr,
    /// Seed of the generated tenant.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Client secret to accept.
    #[arg(long)]
    secret: Option<String>,
    /// Per-app per-minute quota of Graph calls.
    #[arg(long = "rate-limit")]
    rate_limit: Option<u32>,
    /// Tenant without an Entra ID P1/P2 licence (sign-in logs refused).
    #[arg(long)]
    no_premium: bool,
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
        Provider::Entra(args) => run_entra(args).await,
        Provider::Google(args) => run_google(args).await,
        Provider::Jumpcloud(args) => run_jumpcloud(args).await,
    }
}

async fn run_entra(args: EntraArgs) -> anyhow::Result<()> {
    let defaults = EntraConfig::default();
    let config = EntraConfig {
        seed: args.seed,
        users: args.users,
        groups: args.groups,
        signins: args.signins,
        client_secret: args.secret.unwrap_or(defaults.client_secret.clone()),
        rate_limit_per_minute: args.rate_limit.unwrap_or(defaults.rate_limit_per_minute),
        premium: !args.no_premium,
        ..defaults
    };
    let sim = EntraSim::new(config);
    let running = sim.spawn(args.listen)?;
    let c = sim.config();
    println!("entra simulator listening on {}", running.base_url());
    println!("login and graph base URL: {}", running.base_url());
    println!(
        "tenant: {}  client_id: {}  client_secret: {}",
        c.directory_id, c.client_id, c.client_secret
    );
    println!(
        "try: curl -d 'client_id={}&client_secret={}&scope=https://graph.microsoft.com/.default&grant_type=client_credentials' {}/{}/oauth2/v2.0/token",
        c.client_id, c.client_secret, running.base_url(), c.directory_id
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}

async fn run_jumpcloud(args: JumpCloudArgs) -> anyhow::Result<()> {
    let defaults = JumpCloudConfig::default();
    let config = JumpCloudConfig {
        seed: args.seed,
        users: args.users,
        groups: args.groups,
        events: args.events,
        api_key: args.api_key.unwrap_or(defaults.api_key.clone()),
        multi_tenant_key: args.multi_tenant,
        rate_limit_per_minute: args.rate_limit.unwrap_or(defaults.rate_limit_per_minute),
        event_lag: args
            .event_lag
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.event_lag),
        ..defaults
    };
    let sim = JumpCloudSim::new(config);
    let running = sim.spawn(args.listen)?;
    let c = sim.config();
    println!("jumpcloud simulator listening on {}", running.base_url());
    println!("x-api-key: {}  organization: {}", c.api_key, c.org_id);
    println!(
        "try: curl -H 'x-api-key: {}' '{}/api/systemusers?limit=2'",
        c.api_key,
        running.base_url()
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}

async fn run_google(args: GoogleArgs) -> anyhow::Result<()> {
    let defaults = GoogleConfig::default();
    let config = GoogleConfig {
        seed: args.seed,
        users: args.users,
        groups: args.groups,
        activities: args.activities,
        rate_limit_per_minute: args.rate_limit.unwrap_or(defaults.rate_limit_per_minute),
        reporting_lag: args
            .reporting_lag
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.reporting_lag),
        ..defaults
    };
    let sim = GoogleSim::new(config);
    let running = sim.spawn(args.listen)?;
    let token_uri = format!("{}/token", running.base_url());
    println!("google simulator listening on {}", running.base_url());
    println!("admin to impersonate (sub): {}", sim.config().admin_email);
    println!("service account key file:");
    println!("{:#}", sim.service_account_json(&token_uri));
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
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
