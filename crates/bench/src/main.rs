//! `gatehouse-bench`: the benchmark harness behind `make bench`. It measures, in one run on
//! loopback, durable push ingest through the real (release) `gatehouse` binary and, as the HTTP
//! ceiling, a bare axum server that only parses the same bodies and answers 200.

mod ingest;
mod load;
mod response;
mod scim;
mod wrk;

use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        // The bare axum ceiling runs in this process and gets the cores it can use.
        Command::Ingest(args) => multi_thread()?.block_on(ingest::run(args)),
        // The simulator that receives the response runs in this process too.
        Command::Response(args) => multi_thread()?.block_on(response::run(args)),
        // Only the client runs here: one thread, so it takes at most one of the daemon's cores.
        Command::Scim(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(scim::run(args)),
    }
}

fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
