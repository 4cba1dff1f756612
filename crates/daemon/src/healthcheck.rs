//! `gatehouse healthcheck`: exit 0 when the daemon's `/readyz` answers 200, 1 otherwise. For
//! container health checks, where the image has no curl.

use std::process::ExitCode;
use std::time::Duration;

/// Flags of `gatehouse healthcheck`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The daemon's base URL (`/readyz` is appended), or the full readiness URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let url = readiness_url(&args.url);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse healthcheck: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let outcome = runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        client.get(&url).send().await.map(|r| r.status())
    });
    match outcome {
        Ok(status) if status == reqwest::StatusCode::OK => {
            println!("ready: {url} answered {status}");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("not ready: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("not ready: {url}: {}", e.without_url());
            ExitCode::FAILURE
        }
    }
}

fn readiness_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/readyz") {
        url.to_owned()
    } else {
        format!("{url}/readyz")
    }
}
