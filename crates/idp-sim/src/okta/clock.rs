//! The simulator's own clock.
//!
//! The simulated Okta org is an external system, so it keeps its own notion of
//! "now" instead of using Gatehouse's injected clock: it starts at an anchor
//! (wall time by default, or a fixed instant for reproducible data) and moves
//! forward with a monotonic timer plus any offset a test adds to jump ahead
//! (for example past a rate-limit window) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

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

/// Okta's timestamp format: `YYYY-MM-DDTHH:mm:ss.SSSZ`.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// [`fmt_ts`] for epoch milliseconds.
pub fn fmt_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => fmt_ts(t),
        None => fmt_ts(DateTime::<Utc>::UNIX_EPOCH),
    }
}

/// Parses the ISO 8601 forms Okta accepts in query strings and filters:
/// full RFC 3339 (`Z` or offset, with or without fractions), or a bare date.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // Okta's own examples sometimes use `+0000` style offsets.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_okta() {
        let t = Utc.with_ymd_and_hms(2024, 8, 13, 15, 58, 20).unwrap();
        assert_eq!(fmt_ts(t), "2024-08-13T15:58:20.000Z");
    }

    #[test]
    fn parses_okta_dates() {
        assert!(parse_ts("2013-06-01T00:00:00.000Z").is_some());
        assert!(parse_ts("2017-09-17T23:59:59+00:00").is_some());
        assert!(parse_ts("2013-01-01T12:00:00.000-0700").is_some());
        assert!(parse_ts("2013-06-01").is_some());
        assert!(parse_ts("yesterday").is_none());
    }

    #[test]
    fn advance_moves_time() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let c = SimClock::starting_at(t);
        c.advance(chrono::Duration::seconds(61));
        assert!(c.now() >= t + chrono::Duration::seconds(61));
    }
}
