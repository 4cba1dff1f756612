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
}
