//! Per-minute rate-limit buckets, one per endpoint family, the way Okta counts
//! them: a window opens with the first request and lasts 60 s (not aligned to
//! the wall-clock minute); past the quota requests get 429 until it resets.
//! Every response carries `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and
//! `X-Rate-Limit-Reset` (UTC epoch seconds).

use std::collections::BTreeMap;

use axum::http::Method;
use serde::{Deserialize, Serialize};

/// Groups of endpoints that share one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointFamily {
    /// `GET /api/v1/users…` (list, get, groups, factors, roles).
    Users,
    /// `/api/v1/groups…` reads and membership changes.
    Groups,
    /// `GET /api/v1/logs`.
    Logs,
    /// Lifecycle operations, session revocation, factor removal.
    Lifecycle,
    /// Anything else (e.g. `/api/v1/iam/assignees/users`).
    Other,
}

impl EndpointFamily {
    /// Classifies a request.
    pub fn of(method: &Method, path: &str) -> Self {
        if path.starts_with("/api/v1/logs") {
            return EndpointFamily::Logs;
        }
        if path.starts_with("/api/v1/groups") {
            return EndpointFamily::Groups;
        }
        if let Some(rest) = path.strip_prefix("/api/v1/users") {
            let mutating = method != Method::GET && method != Method::HEAD;
            if rest.contains("/lifecycle/")
                || rest.ends_with("/sessions")
                || (mutating && rest.contains("/factors/"))
            {
                return EndpointFamily::Lifecycle;
            }
            return EndpointFamily::Users;
        }
        EndpointFamily::Other
    }
}

/// The three header values for a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    pub reset_epoch_s: i64,
}

#[derive(Debug, Clone)]
struct Bucket {
    window_start_ms: i64,
    used: u32,
}

/// All buckets of the org.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    default_limit: u32,
    limits: BTreeMap<EndpointFamily, u32>,
    buckets: BTreeMap<EndpointFamily, Bucket>,
}

const WINDOW_MS: i64 = 60_000;

impl RateLimiter {
    pub fn new(default_limit: u32, limits: BTreeMap<EndpointFamily, u32>) -> Self {
        Self {
            default_limit,
            limits,
            buckets: BTreeMap::new(),
        }
    }

    fn limit_of(&self, family: EndpointFamily) -> u32 {
        self.limits
            .get(&family)
            .copied()
            .unwrap_or(self.default_limit)
    }

    fn bucket(&mut self, family: EndpointFamily, now_ms: i64) -> &mut Bucket {
        let b = self.buckets.entry(family).or_insert(Bucket {
            window_start_ms: now_ms,
            used: 0,
        });
        if now_ms >= b.window_start_ms + WINDOW_MS {
            b.window_start_ms = now_ms;
            b.used = 0;
        }
        b
    }

    /// Counts one request; `Err` carries the headers of a 429.
    pub fn take(&mut self, family: EndpointFamily, now_ms: i64) -> Result<Quota, Quota> {
        let limit = self.limit_of(family);
        let b = self.bucket(family, now_ms);
        let reset_epoch_s = (b.window_start_ms + WINDOW_MS + 999).div_euclid(1000);
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

    /// The current headers without counting (for injected 429 bursts).
    pub fn peek(&mut self, family: EndpointFamily, now_ms: i64) -> Quota {
        let limit = self.limit_of(family);
        let b = self.bucket(family, now_ms);
        Quota {
            limit,
            remaining: limit.saturating_sub(b.used),
            reset_epoch_s: (b.window_start_ms + WINDOW_MS + 999).div_euclid(1000),
        }
    }

    /// Changes a family's quota at run time.
    pub fn set_limit(&mut self, family: EndpointFamily, limit: u32) {
        self.limits.insert(family, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths() {
        assert_eq!(
            EndpointFamily::of(&Method::GET, "/api/v1/users"),
            EndpointFamily::Users
        );
        assert_eq!(
            EndpointFamily::of(&Method::GET, "/api/v1/users/x/factors"),
            EndpointFamily::Users
        );
        assert_eq!(
            EndpointFamily::of(&Method::POST, "/api/v1/users/x/lifecycle/suspend"),
            EndpointFamily::Lifecycle
        );
        assert_eq!(
            EndpointFamily::of(&Method::DELETE, "/api/v1/users/x/sessions"),
            EndpointFamily::Lifecycle
        );
        assert_eq!(
            EndpointFamily::of(&Method::GET, "/api/v1/logs"),
            EndpointFamily::Logs
        );
        assert_eq!(
            EndpointFamily::of(&Method::PUT, "/api/v1/groups/g/users/u"),
            EndpointFamily::Groups
        );
        // Role reads: a user's roles count as a users read, the assignees
        // list falls in the catch-all bucket.
        assert_eq!(
            EndpointFamily::of(&Method::GET, "/api/v1/users/x/roles"),
            EndpointFamily::Users
        );
        assert_eq!(
            EndpointFamily::of(&Method::GET, "/api/v1/iam/assignees/users"),
            EndpointFamily::Other
        );
    }

    #[test]
    fn window_resets_after_a_minute() {
        let mut r = RateLimiter::new(2, BTreeMap::new());
        let t = 1_700_000_000_000;
        assert_eq!(r.take(EndpointFamily::Users, t).unwrap().remaining, 1);
        assert_eq!(r.take(EndpointFamily::Users, t + 1).unwrap().remaining, 0);
        let q = r.take(EndpointFamily::Users, t + 2).unwrap_err();
        assert_eq!(q.reset_epoch_s, 1_700_000_060);
        // Other families have their own bucket.
        assert!(r.take(EndpointFamily::Logs, t + 2).is_ok());
        assert!(r.take(EndpointFamily::Users, t + 60_000).is_ok());
    }
}
