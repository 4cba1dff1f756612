//! A simulator's own clock.
//!
//! A simulated provider is an external system, so it keeps its own notion of
//! "now" instead of using Gatehouse's injected clock: it starts at an anchor
//! (wall time by default, or a fixed instant for reproducible data) and moves
//! forward with a monotonic timer plus any offset a test adds to jump ahead
//! (for example past a rate-limit window or a token's expiry) without
//! sleeping. How a provider writes timestamps stays in its own module.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

/// Cheap-clone handle on the simulated time line.
#[derive(Clone, Debug)]
pub struct SimClock {
    inner: Arc<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    anchor: DateTime<Utc>,
    started: Instant,
    offset_ms: AtomicI64,
}

impl SimClock {
    /// A clock that reads `anchor` at the moment of creation, then advances in real time.
    pub fn starting_at(anchor: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(ClockInner {
                anchor,
                started: Instant::now(),
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// The wall-clock time, read once when a simulator is built without a fixed anchor.
    // The simulator plays the provider's servers, which have their own clock;
    // this is the one place it reads the machine's wall time.
    #[allow(clippy::disallowed_methods)]
    pub fn wall_now() -> DateTime<Utc> {
        Utc::now()
    }

    /// Current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.inner.started.elapsed())
            .unwrap_or_else(|_| chrono::Duration::zero());
        let offset = chrono::Duration::milliseconds(self.inner.offset_ms.load(Ordering::Relaxed));
        self.inner.anchor + elapsed + offset
    }

    /// Current simulated time in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// The instant the clock was anchored at.
    pub fn anchor(&self) -> DateTime<Utc> {
        self.inner.anchor
    }

    /// Jump the simulated time forward (or back, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        self.inner
            .offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn advance_moves_time() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let c = SimClock::starting_at(t);
        c.advance(chrono::Duration::seconds(61));
        assert!(c.now() >= t + chrono::Duration::seconds(61));
    }
}
