//! The daemon in this process: [`gatehouse_daemon::App`] — the composition root `gatehouse
//! serve` uses — on an ephemeral loopback port over a temporary data directory. For tests that
//! need the daemon's parts (its gateway, engine or store) beside its HTTP API; tests of the
//! binary itself use [`crate::Gatehouse`].

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use gatehouse_daemon::{App, AppOptions};
use gatehouse_engine::secrets::MasterKey;
use secrecy::SecretString;

use crate::TEST_OPERATOR_KEY;

/// A running in-process daemon; stops serving when dropped.
pub struct InProcess {
    pub app: App,
    pub base_url: String,
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    // Dropped after the app: the database outlives the daemon's pool.
    _postgres: Option<gatehouse_pgtest::TempPostgres>,
}

impl InProcess {
    /// Builds the daemon with test defaults (operator key [`TEST_OPERATOR_KEY`], no cron
    /// schedules: tests drive pulls), lets `configure` change any option, and serves it.
    pub async fn start(configure: impl FnOnce(&mut AppOptions)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create the data directory")?;
        let mut options = AppOptions::new(dir.path(), MasterKey::generate());
        options.operator_key = Some(SecretString::from(TEST_OPERATOR_KEY));
        options.engine.schedules = false;
        // GATEHOUSE_TEST_STORE=postgres runs the same tests on a throwaway PostgreSQL.
        let postgres = match std::env::var("GATEHOUSE_TEST_STORE").as_deref() {
            Ok("postgres") => {
                let server = gatehouse_pgtest::TempPostgres::start()?;
                options.store = gatehouse_daemon::StoreBackend::Postgres {
                    url: SecretString::from(server.uri()),
                    // GATEHOUSE_TEST_PG_POOL=1: a call that takes a second connection while
                    // holding one then waits out the pool's timeout and fails.
                    pool_size: std::env::var("GATEHOUSE_TEST_PG_POOL")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(8),
                };
                Some(server)
            }
            _ => None,
        };
        configure(&mut options);
        let app = App::build(options).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = app.router.clone();
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            {
                tracing::warn!(%error, "the in-process daemon stopped serving");
            }
        });
        app.ready.store(true, Ordering::Release);
        Ok(Self {
            app,
            base_url: format!("http://{addr}"),
            addr,
            server,
            _dir: dir,
            _postgres: postgres,
        })
    }

    /// The daemon with `factory` as its only connector and custom endpoints allowed (they
    /// point at a simulator on loopback): what a test of one connector through the engine needs.
    pub async fn with_connector(
        factory: impl gatehouse_core::provider::ConnectorFactory + 'static,
    ) -> anyhow::Result<Self> {
        Self::start(|options| {
            let mut registry = gatehouse_core::provider::ConnectorRegistry::new();
            registry.register(factory);
            options.registry = Some(registry);
            options.allow_custom_endpoints = true;
        })
        .await
    }

    /// Where the daemon keeps its data.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.server.abort();
    }
}
