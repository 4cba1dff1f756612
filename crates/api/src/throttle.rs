//! Bad-token throttling for the management API: after [`MAX_FAILURES`] invalid API keys from
//! one client address within [`WINDOW`], every management request from that address answers
//! 429 with `Retry-After` until the window ends, so API keys cannot be guessed at line rate.
//!
//! The address is the TCP peer (IPv6 by its /64, which one host usually owns whole); behind a
//! reverse proxy every client shares the proxy's address, so put the throttle there instead.
//! Push-ingest and SCIM tokens are not throttled this way: identity providers push from shared
//! egress addresses, and one tenant's misconfigured integration must not block another's pushes
//! (their tokens are 256-bit random, beyond guessing). The SCIM OAuth token endpoint throttles
//! per client id instead.
//!
//! The map is bounded ([`MAX_TRACKED`] addresses): expired windows are dropped when it fills,
//! and an address that finds it still full is not tracked (throttling fails open rather than
//! growing without bound).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Invalid API keys one address may send per window.
pub const MAX_FAILURES: u32 = 20;
/// The counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at once.
pub const MAX_TRACKED: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed-authentication counts per client address.
#[derive(Debug, Default)]
pub struct AuthThrottle {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64 (IPv4-mapped as IPv4).
fn bucket(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl AuthThrottle {
    /// `Err(seconds)` when `addr` is throttled at `now`: how long until its window ends.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), u64> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(&bucket(addr)) {
            Some(w) if w.failures >= MAX_FAILURES => {
                let elapsed = now.saturating_duration_since(w.started);
                if elapsed < WINDOW {
                    Err((WINDOW - elapsed).as_secs().max(1))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts one invalid key from `addr` at `now`.
    pub fn record_failure(&self, addr: IpAddr, now: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let key = bucket(addr);
        if !windows.contains_key(&key) && windows.len() >= MAX_TRACKED {
            windows.retain(|_, w| now.saturating_duration_since(w.started) < WINDOW);
            if windows.len() >= MAX_TRACKED {
                return;
            }
        }
        let window = windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.saturating_duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.windows.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn throttles_after_the_limit_until_the_window_ends() {
        let t = AuthThrottle::default();
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(t.check(a, start), Ok(()));
            t.record_failure(a, start);
        }
        assert_eq!(t.check(a, start), Err(WINDOW.as_secs()));
        assert_eq!(
            t.check(b, start),
            Ok(()),
            "another address is not throttled"
        );
        let later = start + Duration::from_secs(45);
        assert_eq!(t.check(a, later), Err(15));
        let after = start + WINDOW;
        assert_eq!(t.check(a, after), Ok(()));
        t.record_failure(a, after);
        assert_eq!(
            t.check(a, after),
            Ok(()),
            "a new window starts counting at 1"
        );
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_v4_as_v4() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES {
            let addr: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            t.record_failure(addr, now);
        }
        assert!(t.check("2001:db8:1:2::ffff".parse().unwrap(), now).is_err());
        assert!(t.check("2001:db8:1:3::1".parse().unwrap(), now).is_ok());
        for _ in 0..MAX_FAILURES {
            t.record_failure("::ffff:198.51.100.1".parse().unwrap(), now);
        }
        assert!(t.check("198.51.100.1".parse().unwrap(), now).is_err());
    }

    #[test]
    fn the_map_stays_bounded() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 100) {
            t.record_failure(IpAddr::from(i.to_be_bytes()), now);
        }
        assert_eq!(t.tracked(), MAX_TRACKED);
        // Once the windows expire, new addresses are tracked again.
        let later = now + WINDOW;
        t.record_failure("192.0.2.1".parse().unwrap(), later);
        assert_eq!(t.tracked(), 1);
    }
}
