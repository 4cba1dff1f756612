//! `gatehouse`: the daemon binary. Parses the command line, loads configuration and hands over to
//! the wiring in `serve`, or runs one of the operator commands (health check, config check, key
//! rotation, moving the embedded store to PostgreSQL, the OpenAPI document, backtests).

mod backtest;
mod check;
mod config;
mod healthcheck;
mod keys_cmd;
mod migrate_cmd;
mod serve;
mod startup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// glibc's allocator showed up as a quarter of push-ingest CPU (malloc_consolidate, arena
// contention between the tokio workers); mimalloc removes most of it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc asks for transparent huge pages on its arenas, and where the kernel grants them on
/// request (`madvise`, the common default) every first touch of an arena commits 2 MiB: the
/// idle daemon measured 54 MiB resident with them and 34 MiB without, for no measured gain.
/// Turned off for this process (and what it starts) before anything much is allocated.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        // Only an old kernel or a seccomp policy refuses it; the daemon works either way.
        eprintln!("gatehouse: transparent huge pages stay enabled ({error})");
    }
}

/// Gatehouse: an identity-integration gateway. Connect Okta, Entra ID, Google Workspace,
/// JumpCloud, SCIM and SAML once; keep one user inventory; score sign-in risk; respond at the
/// provider.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: the HTTP API, pulls, push ingest and response actions.
    ///
    /// Settings come from (lowest to highest precedence) built-in defaults, the config file,
    /// GATEHOUSE_<SECTION>_<KEY> environment variables, and these flags. See docs/CONFIGURATION.md.
    Serve(ServeArgs),
    /// Replay a tenant's stored sign-ins through the detections and its response policies (or a
    /// candidate policy) and print what would have fired; nothing runs at any provider.
    ///
    /// Asks the running daemon (`--url`), authenticated with the operator key from
    /// GATEHOUSE_OPERATOR_KEY or `--key`.
    Backtest(backtest::Args),
    /// Exit 0 when the daemon's /readyz answers 200, non-zero otherwise (for container health
    /// checks: the image has no curl).
    Healthcheck(healthcheck::Args),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Master key commands.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Store commands: `gatehouse store migrate --from sled:DIR --to postgres://…` moves the
    /// embedded store to PostgreSQL.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print the OpenAPI document the daemon serves at /v1/openapi.json.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and validate the configuration exactly as `serve` would (including the master key
    /// rules) and print what it resolved, without secrets. Exit 2 on an error.
    ///
    /// Creates nothing: a master key `serve` would generate is reported, not written.
    Check(ServeArgs),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// With the daemon stopped, re-seal every integration's credentials under a new master key.
    ///
    /// The current key comes from the configuration (as `serve` reads it); the new one from
    /// `--new-key-file` or GATEHOUSE_NEW_MASTER_KEY (base64 of 32 bytes). Each record is
    /// rewritten durably; an interrupted run is finished by running it again. Afterwards,
    /// configure the new key in place of the old one.
    Rotate(keys_cmd::RotateArgs),
    /// Write a new random master key to FILE (mode 0600; never over an existing file).
    Generate(keys_cmd::GenerateArgs),
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// With the daemon stopped, copy the embedded store into an empty PostgreSQL database and
    /// check that every count matches.
    ///
    /// `gatehouse store migrate --from sled:DIR --to postgres://…` (or the URL in
    /// GATEHOUSE_STORE) copies every tenant, token hash, API key, integration (its sealed
    /// credentials as they are: keep the same master key), sync status and cursor, user, group,
    /// identity and risk history, sign-in, detection, action, policy and SCIM resource, through
    /// the store's ordinary writes so every index is built; leases are not copied. A target that
    /// already holds tenants or tokens is refused. Then every kind is counted on both sides and
    /// printed as a table; the exit code is 0 only when every count matches. Progress goes to
    /// stderr; the URL is never printed. See docs/MIGRATING.md.
    Migrate(migrate_cmd::MigrateArgs),
}

/// Flags of `gatehouse serve` (and of `gatehouse config check`, which reads the same settings).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// TOML config file (see deploy/gatehouse.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Directory of the embedded store and master.key [default: ./var/gatehouse].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the inventory lives: a `postgres://` URL (libpq form; `?host=/socket/dir` for a
    /// Unix socket) for the PostgreSQL backend, shared by every replica given the same URL.
    /// Absent: the embedded sled store in the data dir. Also `GATEHOUSE_STORE`.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Log format [default: text].
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Healthcheck(args) => healthcheck::run(&args),
        Command::Config(ConfigCommand::Check(args)) => check::run(&args),
        Command::Keys(KeysCommand::Rotate(args)) => keys_cmd::rotate(&args),
        Command::Keys(KeysCommand::Generate(args)) => keys_cmd::generate(&args),
        Command::Store(StoreCommand::Migrate(args)) => migrate_cmd::run(&args),
        Command::Openapi => {
            print!("{}", gatehouse_api::openapi_json());
            ExitCode::SUCCESS
        }
    }
}
