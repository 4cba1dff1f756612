//! Okta's rate limits on the common buckets: one per-minute bucket per
//! endpoint family (a window opens with the first request and lasts 60 s, not
//! aligned to the wall-clock minute); past the quota requests get 429 until it
//! resets. Every response carries `X-Rate-Limit-Limit`,
//! `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (UTC epoch seconds).

use axum::http::Method;
use serde::{Deserialize, Serialize};

use crate::common::ratelimit::{self as common, RateHeaders};

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

/// Okta counts per minute.
pub const WINDOW_MS: i64 = 60_000;

/// The headers Okta announces every quota with.
pub const HEADERS: RateHeaders = RateHeaders {
    limit: "x-rate-limit-limit",
    remaining: "x-rate-limit-remaining",
    reset: "x-rate-limit-reset",
};

/// The org's buckets, one per endpoint family.
pub type RateLimiter = common::RateLimiter<EndpointFamily>;

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
        let mut r = RateLimiter::new(WINDOW_MS, 2, std::collections::BTreeMap::new());
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
