//! What the store and the journal share about durability failures: the process-wide
//! [`FatalSignal`] raised by the first failed flush or fsync, and the [`FaultInjector`] that lets
//! a test make the next sync fail.
//!
//! Why a failed sync is fatal rather than one failed round: after an `fsync`/`fdatasync` error
//! the kernel may already have dropped the dirty pages it could not write (and cleared the
//! error), so a later sync can succeed without the earlier data ever reaching the disk
//! ("fsyncgate"). Every write acknowledged after that would rest on data that may be gone. The
//! only honest answer is to refuse every later commit and let the supervisor restart the daemon,
//! whose recovery then reads back exactly what is on disk.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

/// Raised once, by the first durability failure of any part that shares it; never cleared.
/// Cloning shares the signal.
#[derive(Debug, Clone)]
pub struct FatalSignal(Arc<watch::Sender<Option<Arc<str>>>>);

impl Default for FatalSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl FatalSignal {
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(None)))
    }

    /// Records `reason` unless a failure was recorded already (the first one is the cause;
    /// later ones are its consequences). Returns the reason in force.
    pub fn raise(&self, reason: impl Into<String>) -> Arc<str> {
        let mut reason = Some(reason.into());
        self.0
            .send_if_modified(|current| match (current.as_ref(), reason.take()) {
                (None, Some(reason)) => {
                    tracing::error!(
                        %reason,
                        "durability failure: every later write is refused; restart the daemon"
                    );
                    *current = Some(Arc::from(reason));
                    true
                }
                _ => false,
            });
        self.reason()
            .unwrap_or_else(|| Arc::from("durability failure"))
    }

    /// The first failure, if there was one.
    pub fn reason(&self) -> Option<Arc<str>> {
        self.0.borrow().clone()
    }

    /// Resolves with the reason once a failure is raised.
    pub async fn raised(&self) -> Arc<str> {
        let mut receiver = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let reason = match receiver.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            None => std::future::pending().await,
        }
    }
}

/// Makes the next syncs of the part it is given to fail with an I/O error, as a failing disk
/// would. Always present (a disarmed injector costs one atomic load per commit round) so that
/// tests of the whole daemon can reach it through `AppOptions`; nothing but a test arms it.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector(Arc<Faults>);

#[derive(Debug, Default)]
struct Faults {
    failures: AtomicU32,
    stall_ms: AtomicU64,
}

impl FaultInjector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `count` syncs (flush or fsync) fail.
    pub fn fail_next_syncs(&self, count: u32) {
        self.0.failures.store(count, Ordering::Release);
    }

    /// The next sync hangs for `stall` before it answers (a device or sled flush that stops
    /// answering).
    pub fn stall_next_sync(&self, stall: std::time::Duration) {
        let ms = u64::try_from(stall.as_millis()).unwrap_or(u64::MAX);
        self.0.stall_ms.store(ms, Ordering::Release);
    }

    /// Consumes one armed failure, if any, as the error the sync returns (after an armed
    /// stall, if any).
    pub(crate) fn sync_fault(&self) -> std::io::Result<()> {
        let stall = self.0.stall_ms.swap(0, Ordering::AcqRel);
        if stall > 0 {
            std::thread::sleep(std::time::Duration::from_millis(stall));
        }
        let armed = self
            .0
            .failures
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        match armed {
            Ok(_) => Err(std::io::Error::other(
                "injected fault: the device failed the sync",
            )),
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_kept() {
        let fatal = FatalSignal::new();
        assert!(fatal.reason().is_none());
        assert_eq!(&*fatal.raise("fsync: EIO"), "fsync: EIO");
        assert_eq!(&*fatal.raise("later"), "fsync: EIO");
        assert_eq!(fatal.clone().reason().as_deref(), Some("fsync: EIO"));
    }

    #[tokio::test]
    async fn waiters_see_a_failure_raised_later() {
        let fatal = FatalSignal::new();
        let waiter = tokio::spawn({
            let fatal = fatal.clone();
            async move { fatal.raised().await }
        });
        tokio::task::yield_now().await;
        fatal.raise("flush: EIO");
        assert_eq!(&*waiter.await.unwrap(), "flush: EIO");
    }

    #[test]
    fn an_injector_fails_exactly_the_armed_syncs() {
        let faults = FaultInjector::new();
        assert!(faults.sync_fault().is_ok());
        faults.fail_next_syncs(2);
        assert!(faults.sync_fault().is_err());
        assert!(faults.sync_fault().is_err());
        assert!(faults.sync_fault().is_ok());
    }
}
