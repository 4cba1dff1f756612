//! Exponential backoff with full jitter, and reading `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use rand::Rng;

/// Delays between attempts: `base · factor^attempt`, capped, with full jitter so many clients
/// retrying at once do not stampede the provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(200),
            max: Duration::from_secs(30),
            factor: 2.0,
        }
    }
}

impl Backoff {
    /// The cap for `attempt` (0-based), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = self.factor.powi(i32::try_from(attempt).unwrap_or(i32::MAX));
        let secs = (self.base.as_secs_f64() * exp).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// A random delay in `[ceiling/2, ceiling]` ("equal jitter": never zero, never above the cap).
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt).as_secs_f64();
        Duration::from_secs_f64(rng.gen_range(ceiling / 2.0..=ceiling.max(f64::MIN_POSITIVE)))
    }
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date, relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
            factor: 2.0,
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(2));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 0..12 {
            let d = b.delay(attempt, &mut rng);
            assert!(
                d <= b.ceiling(attempt) && d >= b.ceiling(attempt) / 2,
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_static("Thu, 01 Jan 2026 00:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }
}
