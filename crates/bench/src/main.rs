//! `gatehouse-bench`: the benchmark harness behind `make bench`. It measures, in one run on
//! loopback, durable push ingest through the real (release) `gatehouse` binary and, as the HTTP
//! ceiling, a bare axum server that only parses the same bodies and answers 200; `stores` sets
//! the PostgreSQL store beside sled.

mod directory;
mod entra_directory;
mod google_directory;
mod ingest;
mod jumpcloud_directory;
mod load;
mod pull;
mod rate;
mod response;
mod scim;
mod stores;
mod sustained;
mod wrk;

use clap::{Parser, Subcommand};

// The simulators and the no-store references run in this process: with glibc's allocator,
// `malloc_consolidate` and friends were 40 % of its profile in the directory scenario, so the
// reference measured the allocator, not the work. The daemon uses mimalloc too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "gatehouse-bench", about = "Gatehouse benchmark harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Push ingest: Okta event-hook deliveries of 1 and 50 events, and the bare-server ceiling.
    Ingest(ingest::Args),
    /// Detection to response: from an event-hook POST to the simulator receiving the revocation.
    Response(response::Args),
    /// SCIM: create N users, then GET by id, filtered lookup (userName eq) and PATCH.
    Scim(scim::Args),
    /// Directory pull: N users from the Okta simulator, stored, beside the no-store ceiling.
    Directory(directory::Args),
    /// Entra directory pull: N users from the Entra simulator (users delta), stored, beside the
    /// no-store ceiling.
    EntraDirectory(entra_directory::Args),
    /// Google Workspace directory pull: N users from the Google simulator (users.list in pages
    /// of 500), stored, beside the no-store ceiling.
    GoogleDirectory(google_directory::Args),
    /// JumpCloud directory pull: N system users from the JumpCloud simulator (pages of 100
    /// sorted by `_id`), stored, beside the no-store ceiling.
    JumpcloudDirectory(jumpcloud_directory::Args),
    /// PostgreSQL beside sled in one run: push ingest (1- and 50-event deliveries, acknowledged
    /// and sustained, every acknowledged event counted in the store) and SCIM creates and
    /// filtered lookups, on sled with one daemon, PostgreSQL with one, and PostgreSQL with two
    /// replicas sharing the database.
    Stores(stores::Args),
    /// Sustained push ingest: fixed rates held for a minute each, rising, with attacks mixed in;
    /// the highest rate whose stored-and-assessed backlog stays flat, beside the store alone,
    /// then the same with one hot IP and one hot account.
    Sustained(sustained::Args),
}

/// The daemon's peak resident set after a scenario, as a line of the report.
pub(crate) fn print_peak_rss(daemon: &gatehouse_testkit::Gatehouse, scenario: &str) {
    match daemon.peak_rss_kib() {
        Some(kib) => println!("\ngatehouse peak RSS after {scenario}: {} MiB", kib / 1024),
        None => println!("\ngatehouse peak RSS after {scenario}: unknown (no /proc)"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Ingest(args) => ingest::run(args).await,
        Command::Response(args) => response::run(args).await,
        Command::Scim(args) => scim::run(args).await,
        Command::Directory(args) => directory::run(args).await,
        Command::EntraDirectory(args) => entra_directory::run(args).await,
        Command::GoogleDirectory(args) => google_directory::run(args).await,
        Command::JumpcloudDirectory(args) => jumpcloud_directory::run(args).await,
        Command::Stores(args) => stores::run(args).await,
        Command::Sustained(args) => sustained::run(args).await,
    }
}
