//! `gatehouse`: the daemon binary. Parses the command line, loads configuration and hands over to
//! the wiring in `serve`.

mod backtest;
mod config;
mod keys;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// glibc's allocator showed up as a quarter of push-ingest CPU (malloc_consolidate, arena
// contention between the tokio workers); mimalloc removes most of it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
}

/// Flags of `gatehouse serve`.
#[derive(Debug, clap::Args)]
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
    /// Log format [default: text].
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Backtest(args) => backtest::run(&args),
    }
}
