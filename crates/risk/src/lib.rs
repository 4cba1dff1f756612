//! Sign-in risk detections for Gatehouse: pure, deterministic logic over sign-in and audit events.
//!
//! Architecture invariant: no I/O, no async, no clock reads. The engine fetches the events around
//! each stored sign-in (how far: [`windows`]), builds a [`Context`], and calls [`assess`]. What
//! comes back is a list of [`Finding`]s (and [`Cleared`] verdicts for the two detections that rest
//! on the *absence* of earlier events); [`reconcile`] and [`clear`] turn them into store changes so
//! one burst is one detection.
//!
//! Determinism: a finding depends only on the set of events in the context, never on the order
//! they arrived in or on the wall clock. Every detection is monotone (more events can only add
//! evidence), each finding's evidence is one connected burst, and merging is a union, so feeding
//! the same events in any order yields the same detections (the integration tests replay shuffled
//! fixtures to prove it). The design is explained in `docs/DETECTIONS.md`.

mod config;
mod context;
mod detect;
mod explain;
mod finding;
mod geo;
mod kind;
mod merge;
pub mod ocsf;
mod score;
pub mod signals;

pub use config::{
    parse_network, BruteForce, CredentialStuffing, DormantAccount, Escalation, ImpossibleTravel,
    MfaFatigue, NewCountry, PasswordSpray, ProviderRisk, RiskConfig, Score, SessionAnomaly,
    SuccessAfterAttack, Toggle,
};
pub use context::{windows, Context, Span, Windows};
pub use detect::{assess, evaluate, Assessment};
pub use explain::describe;
pub use finding::{Cleared, Finding, Subject};
pub use geo::haversine_km;
pub use kind::Kind;
pub use merge::{
    clear, detection_id, is_subject, merge, merge_gap, new_detection, reconcile, same_incident,
    Change, EVIDENCE_CAP,
};
pub use score::{escalate, risk_score};

/// A setting that cannot be used; `field` is its path in the config (`brute_force.failures`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field}[{index}]: {value:?} is not a CIDR or an IP address")]
    InvalidNetwork {
        field: &'static str,
        index: usize,
        value: String,
    },
    #[error("{field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}
