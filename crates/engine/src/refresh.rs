//! Directory pulls asked for by pushes: a provider that notifies changes without saying what
//! changed (Graph's change notifications) gets an incremental users pull soon after, in the
//! background. Requests for one integration that arrive while its pull waits or runs fold into
//! one more pull after it, so a burst of notifications costs at most two pulls.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_core::{IntegrationId, TenantId};
use tokio::sync::mpsc;

use crate::sync::{SyncJob, SyncOutcome, SyncRunner};

/// How long a request waits before its pull starts: notifications come in bursts.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a request waits for a pull of the same integration that is already running.
const BUSY_RETRY: Duration = Duration::from_secs(5);

type Key = (TenantId, IntegrationId);

/// The handle pushes use to ask for a pull.
#[derive(Clone)]
pub struct DirectoryRefresh {
    requests: mpsc::UnboundedSender<Key>,
    waiting: Arc<Mutex<HashSet<Key>>>,
}

impl DirectoryRefresh {
    /// Starts the worker that runs the requested pulls through `runner`.
    pub fn spawn(runner: Arc<SyncRunner>, runtime: &tokio::runtime::Handle) -> Self {
        Self::spawn_with(runner, runtime, SETTLE)
    }

    fn spawn_with(
        runner: Arc<SyncRunner>,
        runtime: &tokio::runtime::Handle,
        settle: Duration,
    ) -> Self {
        let (requests, mut incoming) = mpsc::unbounded_channel::<Key>();
        let handle = Self {
            requests,
            waiting: Arc::default(),
        };
        let worker = handle.clone();
        runtime.spawn(async move {
            while let Some(key) = incoming.recv().await {
                let (runner, worker) = (Arc::clone(&runner), worker.clone());
                tokio::spawn(async move { worker.pull(&runner, key, settle).await });
            }
        });
        handle
    }

    async fn pull(&self, runner: &SyncRunner, key: Key, settle: Duration) {
        tokio::time::sleep(settle).await;
        // From here on a new request means a change this pull may miss: it queues again.
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(&key);
        }
        let (tenant, id) = &key;
        match runner.run(tenant, id, SyncJob::Users).await {
            Ok(SyncOutcome::AlreadyRunning | SyncOutcome::RunningElsewhere) => {
                tokio::time::sleep(BUSY_RETRY).await;
                self.request(tenant, id);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                tenant_id = %tenant, integration_id = %id, %error,
                "pull after a change notification failed"
            ),
        }
    }

    /// Asks for an incremental users pull of the integration.
    pub fn request(&self, tenant: &TenantId, id: &IntegrationId) {
        let key = (tenant.clone(), id.clone());
        let fresh = self
            .waiting
            .lock()
            .is_ok_and(|mut waiting| waiting.insert(key.clone()));
        if fresh {
            let _ = self.requests.send(key);
        }
    }
}
