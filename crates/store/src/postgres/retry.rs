//! A store call run again when PostgreSQL gave its transaction up to a concurrent one.
//!
//! Under READ COMMITTED, two transactions that lock the same rows in different orders deadlock,
//! and PostgreSQL aborts one of them (SQLSTATE 40P01; 40001 is a serialization failure). The
//! aborted one wrote nothing, so the whole call can run again, and since the other one went
//! through, the next try usually does too. Every writer here takes its rows in key order, which
//! makes this rare, but a caller's own order (an action's account update against a pull's page
//! on another replica) still can meet it.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::StoreError;

/// Tries before a call answers [`StoreError::Contended`].
pub(crate) const ATTEMPTS: u32 = 5;

/// Runs `call` until it answers anything but [`StoreError::Contended`], at most
/// [`ATTEMPTS`] times, waiting a little longer before each try.
pub(crate) async fn retrying<T, F, Fut>(mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(StoreError::Contended(what)) if attempt < ATTEMPTS => {
                let wait = backoff(attempt);
                tracing::debug!(
                    %what, attempt, wait_ms = wait.as_millis() as u64,
                    "PostgreSQL gave the call up to a concurrent one: trying it again"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            answer => return answer,
        }
    }
}

/// 10, 20, 40, 80 ms, each with up to half again at random, so that the two sides of a
/// deadlock do not try again in step.
fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.saturating_sub(1).min(6);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_contended_call_runs_again_until_it_goes_through() {
        let tries = AtomicU32::new(0);
        let answer = retrying(|| async {
            if tries.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(StoreError::Contended("users".into()))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(answer.unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn it_gives_up_after_its_attempts_and_never_retries_other_errors() {
        let tries = AtomicU32::new(0);
        let answer: Result<(), _> = retrying(|| async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Contended("users".into()))
        })
        .await;
        assert!(matches!(answer, Err(StoreError::Contended(_))));
        assert_eq!(tries.load(Ordering::SeqCst), ATTEMPTS);

        let tries = AtomicU32::new(0);
        let answer: Result<(), _> = retrying(|| async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Conflict("a key".into()))
        })
        .await;
        assert!(matches!(answer, Err(StoreError::Conflict(_))));
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn waits_grow_and_stay_bounded() {
        for attempt in 1..10 {
            let wait = backoff(attempt);
            let base = 10u64 << (attempt - 1).min(6);
            assert!(wait >= Duration::from_millis(base), "{attempt}: {wait:?}");
            assert!(
                wait <= Duration::from_millis(base + base / 2),
                "{attempt}: {wait:?}"
            );
        }
    }
}
