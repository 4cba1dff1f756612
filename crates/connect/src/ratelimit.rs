//! Provider rate-limit budgets. Providers report their budget in headers (each connector names
//! its provider's, e.g. `X-Rate-Limit-Limit/-Remaining/-Reset`); Gatehouse slows down before the budget is gone,
//! keeping a configurable share for the customer's other apps, which draw on the same limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use http::HeaderMap;

/// Header names a provider uses for its budget.
#[derive(Debug, Clone, Copy)]
pub struct RateHeaders {
    pub limit: &'static str,
    pub remaining: &'static str,
    /// Epoch seconds at which the budget refills.
    pub reset: &'static str,
}

/// The response's `Date` (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
fn server_date(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let text = headers.get(http::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

/// One bucket's budget as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub limit: u64,
    pub remaining: u64,
    pub reset_at: DateTime<Utc>,
}

impl RateState {
    /// Reads the budget from a response's headers. The reset is an epoch time on the
    /// provider's clock; when the response's `Date` says what that clock read, the reset is
    /// moved onto ours (`now` + reset − Date), so a skewed local clock neither hammers the
    /// provider nor sleeps for nothing.
    pub fn from_headers(
        headers: &HeaderMap,
        names: RateHeaders,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let reset = Utc
            .timestamp_opt(i64::try_from(number(names.reset)?).ok()?, 0)
            .single()?;
        let reset_at = match server_date(headers) {
            Some(date) => now + (reset - date),
            None => reset,
        };
        Some(Self {
            limit: number(names.limit)?,
            remaining: number(names.remaining)?,
            reset_at,
        })
    }

    /// How long to wait before the next call, if our share of the budget is spent.
    pub fn wait(&self, share: f64, now: DateTime<Utc>) -> Option<Duration> {
        // Integer arithmetic on purpose: our share is floor(limit · share) calls, at least one.
        let ours = ((self.limit as f64) * share.clamp(0.0, 1.0))
            .floor()
            .max(1.0) as u64;
        let used = self.limit.saturating_sub(self.remaining);
        let spent = used >= ours || self.remaining == 0;
        if !spent {
            return None;
        }
        let wait = (self.reset_at - now).to_std().unwrap_or(Duration::ZERO);
        // A reset already past means the budget refilled; a second of slack absorbs clock skew.
        (wait > Duration::ZERO).then(|| wait + Duration::from_secs(1))
    }
}

/// Budgets per bucket (an endpoint family), shared by every call of one integration.
#[derive(Debug)]
pub struct RateBudget {
    share: f64,
    buckets: Mutex<HashMap<String, RateState>>,
}

impl RateBudget {
    /// `share` is the fraction of each budget Gatehouse may use (default 0.5).
    pub fn new(share: f64) -> Self {
        Self {
            share: share.clamp(0.05, 1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn share(&self) -> f64 {
        self.share
    }

    pub fn observe(&self, bucket: &str, state: RateState) {
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.insert(bucket.to_owned(), state);
        }
    }

    /// The wait before the next call in `bucket`, if any.
    pub fn wait(&self, bucket: &str, now: DateTime<Utc>) -> Option<Duration> {
        let buckets = self.buckets.lock().ok()?;
        buckets.get(bucket)?.wait(self.share, now)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn reads_the_named_headers() {
        const HEADERS: RateHeaders = RateHeaders {
            limit: "x-rate-limit-limit",
            remaining: "x-rate-limit-remaining",
            reset: "x-rate-limit-reset",
        };
        let mut h = HeaderMap::new();
        h.insert("X-Rate-Limit-Limit", HeaderValue::from_static("600"));
        h.insert("X-Rate-Limit-Remaining", HeaderValue::from_static("599"));
        h.insert("X-Rate-Limit-Reset", HeaderValue::from_static("1700000060"));
        let state = RateState::from_headers(&h, HEADERS, at(1_700_000_000)).unwrap();
        assert_eq!((state.limit, state.remaining), (600, 599));
        assert_eq!(state.reset_at, at(1_700_000_060));
        h.remove("X-Rate-Limit-Reset");
        assert!(RateState::from_headers(&h, HEADERS, at(1_700_000_000)).is_none());
    }

    /// The provider's clock runs ten minutes ahead of ours: its reset is 30 s after its own
    /// `Date`, so we wait 30 s, not ten and a half minutes (nor zero when it runs behind).
    #[test]
    fn the_reset_is_read_against_the_provider_s_date() {
        const HEADERS: RateHeaders = RateHeaders {
            limit: "x-rate-limit-limit",
            remaining: "x-rate-limit-remaining",
            reset: "x-rate-limit-reset",
        };
        let ours = at(1_700_000_000);
        let theirs = at(1_700_000_600);
        let mut h = HeaderMap::new();
        h.insert("X-Rate-Limit-Limit", HeaderValue::from_static("600"));
        h.insert("X-Rate-Limit-Remaining", HeaderValue::from_static("0"));
        let reset = (theirs.timestamp() + 30).to_string();
        h.insert("X-Rate-Limit-Reset", HeaderValue::from_str(&reset).unwrap());
        let date = theirs.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert("Date", HeaderValue::from_str(&date).unwrap());
        let state = RateState::from_headers(&h, HEADERS, ours).unwrap();
        assert_eq!(state.reset_at, ours + chrono::Duration::seconds(30));
        assert_eq!(
            state.wait(0.5, ours),
            Some(Duration::from_secs(31)),
            "30 s and the slack"
        );
        let behind = at(1_700_000_000 - 600);
        let date = behind.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert("Date", HeaderValue::from_str(&date).unwrap());
        let reset = (behind.timestamp() + 30).to_string();
        h.insert("X-Rate-Limit-Reset", HeaderValue::from_str(&reset).unwrap());
        let state = RateState::from_headers(&h, HEADERS, ours).unwrap();
        assert_eq!(state.reset_at, ours + chrono::Duration::seconds(30));
    }

    #[test]
    fn slows_down_when_our_share_is_spent() {
        let budget = RateBudget::new(0.5);
        let now = at(1000);
        budget.observe(
            "users",
            RateState {
                limit: 100,
                remaining: 51,
                reset_at: at(1030),
            },
        );
        assert_eq!(budget.wait("users", now), None, "49 used of our 50");
        budget.observe(
            "users",
            RateState {
                limit: 100,
                remaining: 50,
                reset_at: at(1030),
            },
        );
        assert_eq!(budget.wait("users", now), Some(Duration::from_secs(31)));
        assert_eq!(budget.wait("users", at(1031)), None, "the budget refilled");
        assert_eq!(budget.wait("logs", now), None, "buckets are separate");
        let all = RateBudget::new(1.0);
        all.observe(
            "users",
            RateState {
                limit: 100,
                remaining: 1,
                reset_at: at(1030),
            },
        );
        assert_eq!(all.wait("users", now), None);
        all.observe(
            "users",
            RateState {
                limit: 100,
                remaining: 0,
                reset_at: at(1030),
            },
        );
        assert!(all.wait("users", now).is_some());
    }
}
