//! `gatehouse serve`: builds the daemon from its configuration ([`App`]), serves until SIGTERM or
//! Ctrl-C, then drains requests and makes the store durable before exiting.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context as _;
use gatehouse_api::ApiOptions;
use gatehouse_daemon::keys::KeyError;
use gatehouse_daemon::{App, AppOptions};
use gatehouse_engine::actions::ExecutorPolicy;
use gatehouse_engine::geoip::GeoIp;
use gatehouse_engine::outputs::{OutputConfig, OutputFormat};
use gatehouse_engine::EngineOptions;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::{Config, LogFormat};
use crate::ServeArgs;

pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let config = match crate::startup::config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let background = match background_runtime() {
        Ok(background) => background,
        Err(e) => {
            eprintln!("gatehouse: cannot start the background runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve(config, background.handle().clone()));
    background.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // A missing or unusable master key is a configuration error, like those above.
        Err(e) if e.downcast_ref::<KeyError>().is_some() => {
            tracing::error!(error = format!("{e:#}"), "configuration error");
            say(&format!("gatehouse: configuration error: {e:#}"));
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "gatehouse stopped with an error");
            say(&format!("gatehouse: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// The last word on stderr, if stderr can still take it: on a full disk it cannot, and the
/// exit status must still reach the supervisor (`eprintln!` would panic instead).
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The runtime for work behind acknowledgements (the push inbox's consumer, the detection
/// runner's two stages): a worker per core at a lower CPU priority, so that under a burst the
/// request workers answer first and this work catches up after it. With idle CPU it runs at
/// full speed on every core (one worker held the stored-and-assessed rate to one core).
fn background_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.max(2))
        .max_blocking_threads(4)
        .thread_name("gatehouse-bg")
        .on_thread_start(|| {
            let lower = thread_priority::ThreadPriority::Crossplatform(
                thread_priority::ThreadPriorityValue::try_from(BACKGROUND_PRIORITY)
                    .unwrap_or_default(),
            );
            if let Err(error) = thread_priority::set_current_thread_priority(lower) {
                tracing::debug!(?error, "background thread keeps the normal priority");
            }
        })
        .enable_all()
        .build()
}

/// thread-priority's cross-platform scale (0–99, higher runs first); 0 is `nice 19` on Linux.
/// The lowest: measured on 2 cores, the acknowledgement rate of single-event pushes during a
/// burst was 45 % of the bare HTTP limit at `nice 11` and 50–55 % at `nice 19`; the work still
/// gets every idle cycle.
const BACKGROUND_PRIORITY: u8 = 0;

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        // The cron library announces every job it creates at info; that is noise here.
        tracing_subscriber::EnvFilter::new(format!(
            "{},tokio_cron_scheduler=warn",
            config.log_level
        ))
    });
    // A log line that cannot be written (stderr on a full disk) is dropped: tracing's own
    // report of it would go to the same stderr through `eprintln!`, which panics the task that
    // logged — every request handler — instead of letting the store's 503s and fail-stop work.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(config: Config, background: tokio::runtime::Handle) -> anyhow::Result<()> {
    // Everything that can be wrong with the configuration fails before the port is bound.
    let master_key = config
        .key_source()
        .map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
    let geoip = match &config.geoip_database {
        Some((path, from)) => Some(
            GeoIp::open(path).map_err(|e| anyhow::anyhow!("configuration error: {from}: {e}"))?,
        ),
        None => None,
    };
    let outputs = OutputConfig {
        webhook_url: config.outputs.webhook_url.clone(),
        webhook_secret: config.outputs.webhook_secret.clone(),
        jsonl_path: config.outputs.jsonl_path.clone(),
        format: if config.outputs.ecs {
            OutputFormat::Ecs
        } else {
            OutputFormat::Ocsf
        },
    };
    let mut options = AppOptions::new(&config.data_dir, master_key);
    options.store = config.store.clone();
    options.operator_key = config.operator_key.clone();
    options.allow_custom_endpoints = config.allow_custom_endpoints;
    options.geoip = geoip;
    options.inbox_max_backlog_bytes = Some(config.inbox_max_backlog_bytes);
    options.store_cache_capacity_bytes = config.store_cache_capacity_bytes;
    options.engine = EngineOptions {
        outputs,
        background: Some(background),
        executor: ExecutorPolicy {
            max_concurrent: config.actions_max_concurrent,
            max_retry_after: config.actions_max_retry_after,
            ..ExecutorPolicy::default()
        },
        inbox_tenant_share_percent: config.inbox_tenant_share_percent,
        ..EngineOptions::default()
    };
    options.api = ApiOptions {
        body_limit: config.body_limit_bytes,
        request_timeout: config.request_timeout,
        max_concurrent_requests: config.max_concurrent_requests,
        secure_cookies: config.secure_cookies,
    };
    let app = App::build(options).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    if let Some(operator_key) = &app.generated_operator_key {
        // Shown once, as the API reference promises; only its hash is stored.
        eprintln!(
            "\n  Gatehouse generated the operator API key (shown only now; store it safely):\n\n    {}\n",
            operator_key.expose_secret()
        );
    }
    tracing::info!(
        listen = %listener.local_addr().unwrap_or(config.listen),
        data_dir = %config.data_dir.display(),
        allow_custom_endpoints = config.allow_custom_endpoints,
        "gatehouse is serving"
    );
    let ready = Arc::clone(&app.ready);
    ready.store(true, Ordering::Release);
    let router = app.router.clone();

    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown_ready = Arc::clone(&ready);
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        shutdown_ready.store(false, Ordering::Release);
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = draining_tx.send(());
    });
    let server = tokio::spawn(async move { server.await });
    let shutdown_timeout = config.shutdown_timeout;
    let outcome = tokio::select! {
        result = server => result.context("the server task failed")?.context("the server failed"),
        () = async {
            let _ = draining_rx.await;
            tokio::time::sleep(shutdown_timeout).await;
        } => {
            tracing::warn!(timeout_secs = shutdown_timeout.as_secs(), "requests still in flight at the shutdown timeout; stopping anyway");
            Ok(())
        }
        // No draining: every write would be refused anyway, and the sooner the supervisor
        // restarts the daemon the sooner it acknowledges again. What was acknowledged is on disk.
        error = app.fatal_error() => {
            ready.store(false, Ordering::Release);
            return Err(error);
        }
    };
    app.shutdown().await?;
    tracing::info!("store flushed; goodbye");
    outcome
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
