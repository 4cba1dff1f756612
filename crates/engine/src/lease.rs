//! Pull leases: a scheduled or requested pull of one integration runs on one replica at a time
//! across every gatehouse sharing a store. The lease is renewed while the pull runs and given up
//! when it ends; a replica that dies stops renewing, so another takes the job over within one
//! lease period and resumes from the stored cursor.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_store::Store;

use crate::EngineError;

/// How long a lease outlives its holder's last renewal.
pub const LEASE_PERIOD: Duration = Duration::from_secs(30);

/// This process's name as a lease holder: unique per start, so a restarted replica never
/// mistakes its predecessor's lease for its own.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    format!(
        "{host}:{}:{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

/// A held lease; dropping it stops the renewals and releases it.
pub struct LeaseGuard {
    renewal: tokio::task::JoinHandle<()>,
    release: Option<(Arc<dyn Store>, String, String)>,
}

impl LeaseGuard {
    /// Takes `name` for `holder`, or `None` while it is held — by another replica, or by an
    /// earlier guard of this one (each guard holds under a name of its own: the release of an
    /// earlier guard runs after its drop and must not end a later one's lease).
    pub async fn acquire(
        store: &Arc<dyn Store>,
        name: String,
        holder: &str,
    ) -> Result<Option<Self>, EngineError> {
        let holder = format!("{holder}:{:016x}", rand::random::<u64>());
        let holder = holder.as_str();
        if !store.acquire_lease(&name, holder, LEASE_PERIOD).await? {
            return Ok(None);
        }
        let renewal = {
            let (store, name, holder) = (Arc::clone(store), name.clone(), holder.to_owned());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(LEASE_PERIOD / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match store.acquire_lease(&name, &holder, LEASE_PERIOD).await {
                        Ok(true) => {}
                        // Lost (a pause longer than the lease): another replica may run the
                        // job now; the cursor it reads is the last one this run stored.
                        Ok(false) => {
                            tracing::warn!(lease = %name, "a pull's lease was taken over");
                            return;
                        }
                        Err(error) => tracing::warn!(lease = %name, %error, "lease renewal failed"),
                    }
                }
            })
        };
        Ok(Some(Self {
            renewal,
            release: Some((Arc::clone(store), name, holder.to_owned())),
        }))
    }
}

impl LeaseGuard {
    /// Gives the lease up now (dropping the guard does it later, in a task of its own: the
    /// next run of the same work on this replica would find it still held).
    pub async fn release(mut self) {
        self.renewal.abort();
        if let Some((store, name, holder)) = self.release.take() {
            if let Err(error) = store.release_lease(&name, &holder).await {
                tracing::warn!(lease = %name, %error, "could not release a lease");
            }
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewal.abort();
        if let Some((store, name, holder)) = self.release.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(error) = store.release_lease(&name, &holder).await {
                        tracing::warn!(lease = %name, %error, "could not release a lease");
                    }
                });
            }
        }
    }
}
