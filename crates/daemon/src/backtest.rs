//! `gatehouse backtest`: asks the running daemon to replay stored history (`POST /v1/backtest`)
//! and prints what would have fired and which actions would have been queued.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

/// Flags of `gatehouse backtest`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The tenant to replay.
    #[arg(long)]
    tenant: String,
    /// How far back: 30d, 12h, 90m or an RFC 3339 time.
    #[arg(long, default_value = "30d")]
    since: String,
    /// A candidate policy (JSON, the body of POST /v1/policies) instead of the tenant's own.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The daemon's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The operator or tenant API key [default: $GATEHOUSE_OPERATOR_KEY].
    #[arg(long, env = "GATEHOUSE_OPERATOR_KEY", hide_env_values = true)]
    key: String,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let runtime = match crate::startup::one_shot_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(backtest(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse backtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn backtest(args: &Args) -> anyhow::Result<()> {
    let mut body = json!({"tenant_id": args.tenant, "since": args.since});
    if let Some(path) = &args.policy {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut policy: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if let Some(object) = policy.as_object_mut() {
            object.remove("tenant_id");
        }
        body["policy"] = policy;
    }
    let response = reqwest::Client::new()
        .post(format!("{}/v1/backtest", args.url.trim_end_matches('/')))
        .bearer_auth(&args.key)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach the daemon at {}", args.url))?;
    let status = response.status();
    let report: Value = response
        .json()
        .await
        .context("the daemon's answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "{status}: {}",
            report["error"]["message"]
                .as_str()
                .unwrap_or("unknown error")
        );
    }
    if args.json {
        println!("{report:#}");
        return Ok(());
    }
    let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
    println!(
        "{} sign-ins of {} from {} to {}",
        report["signins_assessed"], args.tenant, report["since"], report["until"]
    );
    let detections = list("detections");
    println!("\n{} detection(s) would have fired:", detections.len());
    for d in &detections {
        println!(
            "  {:<22} {:<8} {} evidence  {}",
            d["kind"].as_str().unwrap_or(""),
            d["severity"].as_str().unwrap_or(""),
            d["evidence"].as_array().map_or(0, Vec::len),
            d["explanation"].as_str().unwrap_or("")
        );
    }
    let actions = list("actions");
    println!(
        "\n{} action(s) would have been queued (none ran):",
        actions.len()
    );
    for a in &actions {
        println!(
            "  {:<16} user {}  {}  ({})",
            a["action"].as_str().unwrap_or(""),
            a["user_id"].as_str().unwrap_or(""),
            a["status"].as_str().unwrap_or(""),
            a["requested_by"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
