//! Counters of what the engine did: pulls, provider 429s, actions and detections (output
//! failures are counted by the output sinks themselves). Every label comes from a set fixed
//! when the daemon starts (the pull jobs, the registry's provider types, the action kinds and
//! outcomes, the detection kinds),
//! so a metrics scrape has a bounded number of series whatever the traffic; anything outside a
//! set counts as `other`. Plain atomics: the HTTP layer turns them into Prometheus counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gatehouse_core::model::{ActionKind, ActionStatus};
use gatehouse_core::provider::CallObserver;

/// The pull jobs, as `SyncJob::name` spells them.
pub const PULL_JOBS: [&str; 6] = [
    "users",
    "full_users",
    "groups",
    "signins",
    "maintenance",
    "provision",
];
pub const PULL_OUTCOMES: [&str; 2] = ["success", "failure"];
pub const ACTION_KINDS: [&str; 4] = [
    "disable_account",
    "enable_account",
    "revoke_sessions",
    "enforce_mfa",
];
pub const ACTION_OUTCOMES: [&str; 4] = ["succeeded", "failed", "skipped", "rejected"];
pub const OTHER: &str = "other";
/// Upper bounds (seconds) of the buckets of [`EngineStats::push_latency`]: fine below the
/// one-second mark a sender plans with, coarse above it.
pub const PUSH_LATENCY_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0,
];

fn counters(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

fn bump(slots: &[AtomicU64], index: usize) {
    if let Some(slot) = slots.get(index) {
        slot.fetch_add(1, Ordering::Relaxed);
    }
}

/// The engine's counters. One per daemon, shared through the [`crate::Gateway`].
pub struct EngineStats {
    providers: Vec<&'static str>,
    detection_kinds: Vec<&'static str>,
    pulls: Vec<AtomicU64>,
    rate_limited: Vec<AtomicU64>,
    actions: Vec<AtomicU64>,
    detections: Vec<AtomicU64>,
    /// Sign-ins assessed, pulled and pushed.
    assessed: AtomicU64,
    /// Pushed sign-ins by the bucket of their wait from receipt to assessed (the last
    /// slot is over the largest bound), and the waits' sum in microseconds.
    push_latency: Vec<AtomicU64>,
    push_latency_micros: AtomicU64,
}

/// The wait of pushed sign-ins from the receipt of their delivery to assessed, as a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// `(upper bound in seconds, sign-ins at or under it)`, cumulative, without `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl EngineStats {
    /// Counters for these provider type ids (the registry's) plus `other`.
    pub fn new(providers: Vec<&'static str>) -> Self {
        let detection_kinds: Vec<&'static str> = gatehouse_risk::Kind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect();
        Self {
            pulls: counters(PULL_JOBS.len() * PULL_OUTCOMES.len()),
            rate_limited: counters(providers.len() + 1),
            actions: counters(ACTION_KINDS.len() * ACTION_OUTCOMES.len()),
            detections: counters(detection_kinds.len() + 1),
            assessed: AtomicU64::new(0),
            push_latency: counters(PUSH_LATENCY_BUCKETS.len() + 1),
            push_latency_micros: AtomicU64::new(0),
            providers,
            detection_kinds,
        }
    }

    fn provider_index(&self, provider: &str) -> usize {
        self.providers
            .iter()
            .position(|p| *p == provider)
            .unwrap_or(self.providers.len())
    }

    pub fn pull(&self, job: &str, ok: bool) {
        if let Some(j) = PULL_JOBS.iter().position(|n| *n == job) {
            bump(&self.pulls, j * PULL_OUTCOMES.len() + usize::from(!ok));
        }
    }

    pub fn rate_limited(&self, provider: &str) {
        bump(&self.rate_limited, self.provider_index(provider));
    }

    /// A 429 observer for one provider's connectors.
    pub fn rate_limit_observer(self: &Arc<Self>, provider: &str) -> Arc<dyn CallObserver> {
        Arc::new(RateLimits {
            stats: Arc::clone(self),
            index: self.provider_index(provider),
        })
    }

    /// An action reached a final status.
    pub fn action(&self, kind: ActionKind, status: ActionStatus) {
        let k = match kind {
            ActionKind::DisableAccount => 0,
            ActionKind::EnableAccount => 1,
            ActionKind::RevokeSessions => 2,
            ActionKind::EnforceMfa => 3,
        };
        let o = match status {
            ActionStatus::Succeeded => 0,
            ActionStatus::Failed => 1,
            ActionStatus::Skipped => 2,
            ActionStatus::Rejected => 3,
            _ => return,
        };
        bump(&self.actions, k * ACTION_OUTCOMES.len() + o);
    }

    /// A new detection was stored.
    pub fn detection(&self, kind: &str) {
        let index = self
            .detection_kinds
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(self.detection_kinds.len());
        bump(&self.detections, index);
    }

    /// A sign-in was assessed; `waited` is how long since its delivery was received, for a
    /// pushed one.
    pub fn assessed(&self, waited: Option<std::time::Duration>) {
        self.assessed.fetch_add(1, Ordering::Relaxed);
        let Some(waited) = waited else {
            return;
        };
        let seconds = waited.as_secs_f64();
        let bucket = PUSH_LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(PUSH_LATENCY_BUCKETS.len());
        bump(&self.push_latency, bucket);
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.push_latency_micros
            .fetch_add(micros, Ordering::Relaxed);
    }

    /// Sign-ins assessed so far.
    pub fn assessed_total(&self) -> u64 {
        self.assessed.load(Ordering::Relaxed)
    }

    /// The pushed sign-ins' waits from receipt to assessed.
    pub fn push_latency(&self) -> LatencySnapshot {
        let mut cumulative = 0;
        let buckets = PUSH_LATENCY_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, bound)| {
                cumulative += Self::read(&self.push_latency, i);
                (*bound, cumulative)
            })
            .collect();
        let count = cumulative + Self::read(&self.push_latency, PUSH_LATENCY_BUCKETS.len());
        let micros = self.push_latency_micros.load(Ordering::Relaxed);
        LatencySnapshot {
            buckets,
            count,
            sum_seconds: micros as f64 / 1e6,
        }
    }

    fn read(slots: &[AtomicU64], index: usize) -> u64 {
        slots.get(index).map_or(0, |s| s.load(Ordering::Relaxed))
    }

    /// `(job, outcome, count)` for every pair.
    pub fn pulls(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for (j, job) in PULL_JOBS.iter().enumerate() {
            for (o, outcome) in PULL_OUTCOMES.iter().enumerate() {
                let count = Self::read(&self.pulls, j * PULL_OUTCOMES.len() + o);
                out.push((*job, *outcome, count));
            }
        }
        out
    }

    /// `(provider, count)`, `other` last.
    pub fn rate_limits(&self) -> Vec<(&'static str, u64)> {
        let names = self.providers.iter().copied().chain([OTHER]);
        names
            .enumerate()
            .map(|(i, p)| (p, Self::read(&self.rate_limited, i)))
            .collect()
    }

    /// `(kind, outcome, count)` for every pair.
    pub fn actions(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for (k, kind) in ACTION_KINDS.iter().enumerate() {
            for (o, outcome) in ACTION_OUTCOMES.iter().enumerate() {
                let count = Self::read(&self.actions, k * ACTION_OUTCOMES.len() + o);
                out.push((*kind, *outcome, count));
            }
        }
        out
    }

    /// `(kind, count)`, `other` last.
    pub fn detections(&self) -> Vec<(&'static str, u64)> {
        let names = self.detection_kinds.iter().copied().chain([OTHER]);
        names
            .enumerate()
            .map(|(i, k)| (k, Self::read(&self.detections, i)))
            .collect()
    }
}

struct RateLimits {
    stats: Arc<EngineStats>,
    index: usize,
}

impl CallObserver for RateLimits {
    fn rate_limited(&self) {
        bump(&self.stats.rate_limited, self.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_in_their_sets() {
        let stats = Arc::new(EngineStats::new(vec!["idp_a", "idp_b"]));
        stats.pull("users", true);
        stats.pull("signins", false);
        stats.pull("made-up", true);
        stats.rate_limited("idp_a");
        stats.rate_limited("FOO1");
        stats.rate_limit_observer("idp_b").rate_limited();
        stats.detection("brute_force");
        stats.detection("FOO2");
        stats.action(ActionKind::RevokeSessions, ActionStatus::Succeeded);
        stats.action(ActionKind::RevokeSessions, ActionStatus::Running);
        assert_eq!(stats.pulls().len(), PULL_JOBS.len() * PULL_OUTCOMES.len());
        assert!(stats.pulls().contains(&("users", "success", 1)));
        assert!(stats.pulls().contains(&("signins", "failure", 1)));
        assert_eq!(
            stats.rate_limits(),
            vec![("idp_a", 1), ("idp_b", 1), ("other", 1)]
        );
        assert_eq!(
            stats.detections().len(),
            gatehouse_risk::Kind::ALL.len() + 1
        );
        assert!(stats.detections().contains(&("brute_force", 1)));
        assert!(stats.detections().contains(&("other", 1)));
        assert_eq!(stats.actions().iter().map(|a| a.2).sum::<u64>(), 1);
    }

    #[test]
    fn push_waits_land_in_their_buckets_and_pulled_sign_ins_only_count() {
        use std::time::Duration;
        let stats = EngineStats::new(vec![]);
        stats.assessed(None);
        stats.assessed(Some(Duration::from_millis(3)));
        stats.assessed(Some(Duration::from_millis(10)));
        stats.assessed(Some(Duration::from_millis(600)));
        stats.assessed(Some(Duration::from_secs(900)));
        assert_eq!(stats.assessed_total(), 5);
        let latency = stats.push_latency();
        assert_eq!(latency.count, 4);
        assert_eq!(latency.buckets.len(), PUSH_LATENCY_BUCKETS.len());
        let at = |bound: f64| latency.buckets.iter().find(|b| b.0 == bound).map(|b| b.1);
        assert_eq!(at(0.005), Some(1));
        assert_eq!(at(0.01), Some(2), "a bound is inclusive");
        assert_eq!(at(0.5), Some(2));
        assert_eq!(at(0.75), Some(3));
        assert_eq!(at(300.0), Some(3), "900 s is only in +Inf");
        assert!((latency.sum_seconds - 900.613).abs() < 1e-6);
    }
}
