//! Fixed-window rate-limit buckets keyed by whatever a provider counts
//! separately (Okta: endpoint families; Graph: per app and tenant…).
//!
//! A window opens with the first request of its bucket and lasts the
//! configured length (not aligned to the wall-clock minute); past the quota
//! requests are refused until it resets. Which buckets exist and which headers
//! announce the quota are the provider's: it classifies requests into keys and
//! writes the [`Quota`] with its own [`RateHeaders`].

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The quota state a response announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// When the window resets, UTC epoch seconds (rounded up).
    pub reset_epoch_s: i64,
}

#[derive(Debug, Clone)]
struct Bucket {
    window_start_ms: i64,
    used: u32,
}

/// Every bucket of one simulated tenant.
#[derive(Debug, Clone)]
pub struct RateLimiter<K> {
    window_ms: i64,
    default_limit: u32,
    limits: BTreeMap<K, u32>,
    buckets: BTreeMap<K, Bucket>,
}

impl<K: Ord + Copy> RateLimiter<K> {
    /// Buckets of `window_ms` with `default_limit` requests each, except those in `limits`.
    pub fn new(window_ms: i64, default_limit: u32, limits: BTreeMap<K, u32>) -> Self {
        Self {
            window_ms: window_ms.max(1),
            default_limit,
            limits,
            buckets: BTreeMap::new(),
        }
    }

    fn limit_of(&self, key: K) -> u32 {
        self.limits.get(&key).copied().unwrap_or(self.default_limit)
    }

    fn bucket(&mut self, key: K, now_ms: i64) -> &mut Bucket {
        let window_ms = self.window_ms;
        let b = self.buckets.entry(key).or_insert(Bucket {
            window_start_ms: now_ms,
            used: 0,
        });
        if now_ms >= b.window_start_ms + window_ms {
            b.window_start_ms = now_ms;
            b.used = 0;
        }
        b
    }

    fn reset_of(window_start_ms: i64, window_ms: i64) -> i64 {
        (window_start_ms + window_ms + 999).div_euclid(1000)
    }

    /// Counts one request; `Err` carries the quota of a refusal.
    pub fn take(&mut self, key: K, now_ms: i64) -> Result<Quota, Quota> {
        let limit = self.limit_of(key);
        let window_ms = self.window_ms;
        let b = self.bucket(key, now_ms);
        let reset_epoch_s = Self::reset_of(b.window_start_ms, window_ms);
        if b.used >= limit {
            return Err(Quota {
                limit,
                remaining: 0,
                reset_epoch_s,
            });
        }
        b.used += 1;
        Ok(Quota {
            limit,
            remaining: limit - b.used,
            reset_epoch_s,
        })
    }

    /// The current quota without counting (for injected refusals).
    pub fn peek(&mut self, key: K, now_ms: i64) -> Quota {
        let limit = self.limit_of(key);
        let window_ms = self.window_ms;
        let b = self.bucket(key, now_ms);
        Quota {
            limit,
            remaining: limit.saturating_sub(b.used),
            reset_epoch_s: Self::reset_of(b.window_start_ms, window_ms),
        }
    }

    /// Changes one bucket's quota at run time.
    pub fn set_limit(&mut self, key: K, limit: u32) {
        self.limits.insert(key, limit);
    }
}

/// The names of the three headers a provider announces its quota with.
#[derive(Debug, Clone, Copy)]
pub struct RateHeaders {
    pub limit: &'static str,
    pub remaining: &'static str,
    pub reset: &'static str,
}

impl RateHeaders {
    /// Sets the three headers on a response.
    pub fn apply(&self, headers: &mut HeaderMap, q: Quota) {
        for (name, value) in [
            (self.limit, HeaderValue::from(q.limit)),
            (self.remaining, HeaderValue::from(q.remaining)),
            (self.reset, HeaderValue::from(q.reset_epoch_s)),
        ] {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.insert(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_resets_after_its_length() {
        let mut r = RateLimiter::new(60_000, 2, BTreeMap::new());
        let t = 1_700_000_000_000;
        assert_eq!(r.take('a', t).unwrap().remaining, 1);
        assert_eq!(r.take('a', t + 1).unwrap().remaining, 0);
        let q = r.take('a', t + 2).unwrap_err();
        assert_eq!(q.reset_epoch_s, 1_700_000_060);
        // Other keys have their own bucket.
        assert!(r.take('b', t + 2).is_ok());
        assert!(r.take('a', t + 60_000).is_ok());
    }

    #[test]
    fn headers_use_the_providers_names() {
        let names = RateHeaders {
            limit: "x-l",
            remaining: "x-r",
            reset: "x-t",
        };
        let mut h = HeaderMap::new();
        names.apply(
            &mut h,
            Quota {
                limit: 5,
                remaining: 4,
                reset_epoch_s: 9,
            },
        );
        assert_eq!(h["x-l"], "5");
        assert_eq!(h["x-r"], "4");
        assert_eq!(h["x-t"], "9");
    }
}
