//! Running a simulator's router on a port: binds synchronously (so the caller
//! learns the port at once), serves on the current tokio runtime with the
//! resettable listener of [`super::conn`] (so connection-reset faults work),
//! and stops when the handle is dropped. Provider-neutral: a provider module
//! hands over its finished `axum::Router`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::conn::{ConnHandle, SimListener};

/// A simulator being served; dropping it stops the server.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// `http://IP:PORT` of the server.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown closes idle keep-alive connections; the task ends by itself.
    }
}

/// Binds `addr` and serves `router` on the current tokio runtime; `name`
/// labels the log line if serving stops with an error.
pub fn spawn(
    router: axum::Router,
    addr: SocketAddr,
    name: &'static str,
) -> std::io::Result<RunningSim> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let handle = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    let listener = {
        let _guard = handle.enter();
        tokio::net::TcpListener::from_std(std_listener)?
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let app = router.into_make_service_with_connect_info::<ConnHandle>();
    let task = handle.spawn(async move {
        let served = axum::serve(SimListener::new(listener), app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(simulator = name, error = %e, "simulator stopped with an error");
        }
    });
    Ok(RunningSim {
        addr,
        stop: Some(stop_tx),
        task: Some(task),
    })
}
