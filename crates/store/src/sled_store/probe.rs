//! The write probe behind `/readyz`: a small durable write through the committer, at most once
//! per [`PROBE_INTERVAL`], its answer cached in between.
//!
//! Why a write: reading the size on disk succeeds on a read-only or full disk, so readiness
//! said nothing about whether the next acknowledgement could be honoured. Why bounded: a
//! readiness probe polled every second by several load balancers must not become a write load
//! of its own; one round every few seconds joins whatever commit round is running anyway.

use std::time::{Duration, Instant};

use sled::Tree;

use super::commit::Committer;
use crate::StoreError;

/// How long a probe's answer stands.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// The probe's tree and its last answer.
pub(super) struct Probe {
    tree: Tree,
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Probe {
    pub(super) fn new(tree: Tree) -> Self {
        Self {
            tree,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Writes the probe key durably unless a recent probe answered already.
    pub(super) async fn check(&self, committer: &Committer) -> Result<(), StoreError> {
        // A durability failure is known at once; no write is needed to learn it.
        committer.refuse_if_failed()?;
        // Concurrent callers wait for one probe rather than each writing their own.
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = last.as_ref() {
            if at.elapsed() < PROBE_INTERVAL {
                return answer.clone().map_err(StoreError::Backend);
            }
        }
        let answer = self.write(committer).await;
        *last = Some((
            Instant::now(),
            answer.as_ref().map_err(ToString::to_string).copied(),
        ));
        answer
    }

    async fn write(&self, committer: &Committer) -> Result<(), StoreError> {
        // A counter rather than a constant: a write of the same bytes could be optimised away
        // by a future backend, and the value shows how many probes this store has seen.
        self.tree
            .update_and_fetch("probe", |old| {
                let count = old
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_be_bytes);
                Some(count.wrapping_add(1).to_be_bytes().to_vec())
            })
            .map_err(StoreError::from)?;
        committer.commit().await
    }
}

#[cfg(test)]
impl super::SledStore {
    /// The probe's cached answer, to expire it in a test.
    pub(super) async fn probe_last_for_tests(
        &self,
    ) -> tokio::sync::MutexGuard<'_, Option<(Instant, Result<(), String>)>> {
        self.probe.last.lock().await
    }
}
