//! `gatehouse config check`: loads and validates the configuration exactly as `serve` does,
//! master key rules included, and prints what it resolved. Secrets are reported as set or unset,
//! never shown. Nothing is created: a key `serve` would generate is reported instead.

use std::path::Path;
use std::process::ExitCode;

use gatehouse_daemon::keys::{self as key_rules, KeySource};
use gatehouse_engine::geoip::GeoIp;

use crate::config::{Config, LogFormat, MASTER_KEY_NAMES};
use crate::ServeArgs;

pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let config = match crate::startup::config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match crate::startup::one_shot_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(check(&config)) {
        Ok(report) => {
            print!("{report}");
            println!("configuration OK");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse: configuration error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn check(config: &Config) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{key:<34} {value}\n"));
    line("server.listen", config.listen.to_string());
    line("store.data_dir", config.data_dir.display().to_string());
    line(
        "server.body_limit_bytes",
        config.body_limit_bytes.to_string(),
    );
    line(
        "server.request_timeout_secs",
        config.request_timeout.as_secs().to_string(),
    );
    line(
        "server.shutdown_timeout_secs",
        config.shutdown_timeout.as_secs().to_string(),
    );
    line(
        "ingest.inbox_max_backlog_mb",
        (config.inbox_max_backlog_bytes >> 20).to_string(),
    );
    let format = match config.log_format {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    line("log.format", format.to_owned());
    line("log.level", config.log_level.clone());
    line(
        "security.operator_key",
        match config.operator_key {
            Some(_) => "set".to_owned(),
            None => "unset (a stored key is used, or the first start generates one)".to_owned(),
        },
    );
    line("security.master_key", master_key(config).await?);
    line(
        "security.allow_custom_endpoints",
        config.allow_custom_endpoints.to_string(),
    );
    let geoip = match &config.geoip_database {
        Some((path, from)) => {
            GeoIp::open(path).map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
            path.display().to_string()
        }
        None => "unset".to_owned(),
    };
    line("geoip.database", geoip);
    let outputs = &config.outputs;
    line(
        "outputs.webhook_url",
        outputs
            .webhook_url
            .as_deref()
            .map_or_else(|| "unset".to_owned(), origin),
    );
    line(
        "outputs.webhook_secret",
        if outputs.webhook_secret.is_some() {
            "set"
        } else {
            "unset"
        }
        .to_owned(),
    );
    if let Some(parent) = outputs.jsonl_path.as_deref().and_then(Path::parent) {
        // `serve` opens the file for appending at start; its directory must already exist.
        if !parent.as_os_str().is_empty() && !parent.is_dir() {
            anyhow::bail!(
                "outputs.jsonl_path: the directory {} does not exist",
                parent.display()
            );
        }
    }
    line(
        "outputs.jsonl_path",
        outputs
            .jsonl_path
            .as_ref()
            .map_or_else(|| "unset".to_owned(), |p| p.display().to_string()),
    );
    line(
        "outputs.format",
        if outputs.ecs { "ecs" } else { "ocsf" }.to_owned(),
    );
    Ok(out)
}

/// Where the key comes from and its public id, after the same rules `serve` applies.
async fn master_key(config: &Config) -> anyhow::Result<String> {
    let path = match config.key_source()? {
        KeySource::Configured(key) => {
            return Ok(format!("from {MASTER_KEY_NAMES} (key id {})", key.key_id()));
        }
        KeySource::File(path) => path,
    };
    let mut shown = match key_rules::read_key_file(&path)? {
        Some(key) => format!("{} (key id {})", path.display(), key.key_id()),
        None => {
            // A fresh data directory holds nothing sealed; opening the store would create one.
            let postgres = matches!(
                config.store,
                gatehouse_daemon::StoreBackend::Postgres { .. }
            );
            if postgres || config.data_dir.exists() {
                let store = gatehouse_daemon::open_store(
                    &config.store,
                    &config.data_dir,
                    Default::default(),
                )
                .await?;
                let refused = key_rules::refuse_if_sealed(&path, store.as_ref()).await;
                store.close().await?;
                refused?;
            }
            format!(
                "{} does not exist; `serve` will create it (back it up)",
                path.display()
            )
        }
    };
    if inside(&path, &config.data_dir) {
        shown.push_str(
            "\n  note: the key file is inside the data directory, so a copy of the data is enough \
             to open the credentials; keep it elsewhere (security.master_key_file)",
        );
    }
    Ok(shown)
}

fn inside(path: &Path, dir: &Path) -> bool {
    let canonical = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    path.parent()
        .is_some_and(|parent| canonical(parent).starts_with(canonical(dir)))
}

/// Scheme, host and port only: a webhook URL's path or query may carry a token.
fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => format!(
            "{}://{}{} (path not shown)",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "set".to_owned(),
    }
}
