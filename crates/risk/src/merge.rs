//! Turning findings into stored detections: one incident per `(kind, subject)` burst.
//!
//! A finding joins an existing detection when both are of the same kind, tenant and subject and
//! their `[first_seen, last_seen]` spans overlap or come within the kind's [`merge_gap`]. Every
//! finding's evidence is one burst whose consecutive events are at most that gap apart, so the
//! detections end up as the gap-connected clusters of all evidence, whatever the arrival order.
//! A finding can bridge two detections that were apart; [`reconcile`] then folds them into one
//! and asks for the other to be deleted.
//!
//! `Detection` has no subject field, so the subject is carried in the detection id: the random
//! part of the id is derived from `(kind, subject)` ([`detection_id`]) and [`is_subject`] checks it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Detection, Severity};
use gatehouse_core::{DetectionId, IdentityId, IntegrationId, SignInId, UserId};

use crate::config::{mins, RiskConfig};
use crate::context::travel_horizon;
use crate::explain::describe;
use crate::finding::{Cleared, Finding};
use crate::kind::Kind;

/// A store write the engine must make.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert or replace this detection.
    Put(Box<Detection>),
    /// Remove this detection: folded into another, or its last evidence was retracted.
    Delete(DetectionId),
}

/// Most sign-in ids a detection keeps as evidence: the first and the last half of it. A
/// detection on a key that never goes quiet (a large office's NAT, whose daily mistyped
/// passwords from many accounts are a spray by the rule) otherwise grows with every event, and
/// every later event that reads or rewrites it costs more than the one before. The first and
/// last ids of a union are the first and last of the parts' first and last, so capping keeps
/// the result independent of the order findings arrive in.
pub const EVIDENCE_CAP: usize = 200;

/// Sorted, deduplicated `evidence` cut to its first and last [`EVIDENCE_CAP`] / 2.
fn capped(mut evidence: Vec<SignInId>) -> Vec<SignInId> {
    if evidence.len() > EVIDENCE_CAP {
        let half = EVIDENCE_CAP / 2;
        let end = evidence.len() - half;
        evidence.drain(half..end);
    }
    evidence
}

const SEED: &str = "gatehouse-risk";
/// `det_` and the ULID's 10 time characters come before the 16 that carry the key.
const KEY_START: usize = 4 + 10;

/// The id of a new detection of `kind` about `subject` first seen at `first_seen`: its time part
/// orders detections, its random part names `(kind, subject)`.
pub fn detection_id(kind: Kind, subject: &str, first_seen: DateTime<Utc>) -> DetectionId {
    DetectionId::derive(first_seen, &[SEED, kind.as_str(), subject])
}

fn key(id: &str) -> Option<&str> {
    (id.len() == KEY_START + 16)
        .then(|| id.get(KEY_START..))
        .flatten()
}

/// Whether a stored detection is of `kind` about `subject`.
pub fn is_subject(detection: &Detection, kind: Kind, subject: &str) -> bool {
    let wanted = detection_id(kind, subject, DateTime::UNIX_EPOCH);
    detection.kind == kind.as_str()
        && key(detection.id.as_str()).is_some_and(|k| Some(k) == key(wanted.as_str()))
}

/// How far apart two findings of `kind` may be and still be one incident: the detection's own
/// window, which bounds the gaps inside any one finding.
pub fn merge_gap(kind: Kind, config: &RiskConfig) -> Duration {
    match kind {
        Kind::BruteForce => mins(config.brute_force.window_minutes),
        Kind::PasswordSpray => mins(config.password_spray.window_minutes),
        Kind::CredentialStuffing => mins(config.credential_stuffing.window_minutes),
        Kind::MfaFatigue => mins(
            config
                .mfa_fatigue
                .window_minutes
                .max(config.mfa_fatigue.follow_minutes),
        ),
        Kind::ImpossibleTravel => travel_horizon(config),
        Kind::SessionAnomaly => mins(config.session_anomaly.window_minutes),
        Kind::SuccessAfterAttack => mins(config.success_after_attack.window_minutes),
        // One detection per event: a retraction then removes exactly one detection.
        Kind::NewCountry | Kind::DormantAccount => Duration::zero(),
        Kind::AnonymizingNetwork
        | Kind::DeprovisionedActivity
        | Kind::ProviderRisk
        | Kind::PrivilegeChange => mins(config.event_merge_minutes),
    }
}

fn touches(
    a: (DateTime<Utc>, DateTime<Utc>),
    b: (DateTime<Utc>, DateTime<Utc>),
    gap: Duration,
) -> bool {
    a.0 <= b.1 + gap && b.0 <= a.1 + gap
}

/// Whether `finding` belongs to the incident `existing` records.
pub fn same_incident(existing: &Detection, finding: &Finding, config: &RiskConfig) -> bool {
    existing.tenant_id == finding.tenant_id
        && is_subject(existing, finding.kind, &finding.subject)
        && touches(
            (existing.first_seen, existing.last_seen),
            (finding.first_seen, finding.last_seen),
            merge_gap(finding.kind, config),
        )
}

/// The merged state of one incident.
#[derive(PartialEq)]
struct State {
    severity: Severity,
    user_id: Option<UserId>,
    identity_id: Option<IdentityId>,
    integration_id: Option<IntegrationId>,
    evidence: Vec<SignInId>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

impl State {
    fn of(d: &Detection) -> State {
        State {
            severity: d.severity,
            user_id: d.user_id.clone(),
            identity_id: d.identity_id.clone(),
            integration_id: d.integration_id.clone(),
            evidence: d.evidence.clone(),
            first_seen: d.first_seen,
            last_seen: d.last_seen,
        }
    }

    /// Union of evidence, highest severity, widest span; an id both share or none.
    fn join(self, other: State) -> State {
        let evidence: BTreeSet<SignInId> =
            self.evidence.into_iter().chain(other.evidence).collect();
        State {
            severity: self.severity.max(other.severity),
            user_id: self.user_id.filter(|u| other.user_id.as_ref() == Some(u)),
            identity_id: self.identity_id.or(other.identity_id),
            integration_id: self
                .integration_id
                .filter(|i| other.integration_id.as_ref() == Some(i)),
            evidence: capped(evidence.into_iter().collect()),
            first_seen: self.first_seen.min(other.first_seen),
            last_seen: self.last_seen.max(other.last_seen),
        }
    }

    fn into_detection(
        self,
        base: &Detection,
        kind: Kind,
        subject: &str,
        config: &RiskConfig,
        now: DateTime<Utc>,
    ) -> Detection {
        Detection {
            explanation: describe(
                kind,
                subject,
                self.evidence.len(),
                self.first_seen,
                self.last_seen,
                self.severity,
                config,
            ),
            id: base.id.clone(),
            tenant_id: base.tenant_id.clone(),
            kind: kind.as_str().to_owned(),
            severity: self.severity,
            user_id: self.user_id,
            identity_id: self.identity_id,
            integration_id: self.integration_id,
            evidence: self.evidence,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            created_at: base.created_at,
            updated_at: now,
        }
    }
}

fn finding_state(finding: &Finding, identity_id: Option<&IdentityId>) -> State {
    let mut evidence = finding.evidence.clone();
    evidence.sort();
    evidence.dedup();
    let evidence = capped(evidence);
    State {
        severity: finding.severity,
        user_id: finding.user_id.clone(),
        identity_id: identity_id.cloned(),
        integration_id: finding.integration_id.clone(),
        evidence,
        first_seen: finding.first_seen,
        last_seen: finding.last_seen,
    }
}

/// A new detection for a finding that joins no existing one. `identity_id` is the identity of
/// `finding.user_id` in the inventory (the engine looks it up).
pub fn new_detection(
    finding: &Finding,
    identity_id: Option<&IdentityId>,
    config: &RiskConfig,
    now: DateTime<Utc>,
) -> Detection {
    let state = finding_state(finding, identity_id);
    let base = Detection {
        id: detection_id(finding.kind, &finding.subject, finding.first_seen),
        tenant_id: finding.tenant_id.clone(),
        kind: finding.kind.as_str().to_owned(),
        severity: finding.severity,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: Vec::new(),
        explanation: String::new(),
        first_seen: finding.first_seen,
        last_seen: finding.last_seen,
        created_at: now,
        updated_at: now,
    };
    state.into_detection(&base, finding.kind, &finding.subject, config, now)
}

/// `existing` grown by `finding` (call when [`same_incident`] holds), or `None` when the finding
/// adds nothing, so a replayed event writes nothing.
pub fn merge(
    existing: &Detection,
    finding: &Finding,
    config: &RiskConfig,
    now: DateTime<Utc>,
) -> Option<Detection> {
    let before = State::of(existing);
    let after = State::of(existing).join(finding_state(finding, existing.identity_id.as_ref()));
    (after != before)
        .then(|| after.into_detection(existing, finding.kind, &finding.subject, config, now))
}

/// The store changes that record `finding` among `existing` detections (the engine may pass any
/// superset of the candidates, e.g. the tenant's detections of that kind near the finding's time).
pub fn reconcile(
    existing: &[Detection],
    finding: &Finding,
    identity_id: Option<&IdentityId>,
    config: &RiskConfig,
    now: DateTime<Utc>,
) -> Vec<Change> {
    let mut matches: Vec<&Detection> = existing
        .iter()
        .filter(|d| same_incident(d, finding, config))
        .collect();
    matches.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.id.cmp(&b.id))
    });
    matches.dedup_by(|a, b| a.id == b.id);
    let Some((survivor, absorbed)) = matches.split_first() else {
        return vec![Change::Put(Box::new(new_detection(
            finding,
            identity_id,
            config,
            now,
        )))];
    };
    let before = State::of(survivor);
    let mut state = State::of(survivor);
    for other in absorbed {
        state = state.join(State::of(other));
    }
    state = state.join(finding_state(finding, identity_id));
    let mut changes = Vec::new();
    if state != before || !absorbed.is_empty() {
        changes.push(Change::Put(Box::new(state.into_detection(
            survivor,
            finding.kind,
            &finding.subject,
            config,
            now,
        ))));
    }
    changes.extend(absorbed.iter().map(|d| Change::Delete(d.id.clone())));
    changes
}

/// The store changes that withdraw `cleared.event` from the detections of its kind and subject:
/// a detection left without evidence is deleted.
pub fn clear(
    existing: &[Detection],
    cleared: &Cleared,
    config: &RiskConfig,
    now: DateTime<Utc>,
) -> Vec<Change> {
    let mut seen = BTreeSet::new();
    existing
        .iter()
        .filter(|d| {
            d.tenant_id == cleared.tenant_id
                && is_subject(d, cleared.kind, &cleared.subject)
                && d.evidence.contains(&cleared.event)
                && seen.insert(d.id.clone())
        })
        .map(|d| {
            let evidence: Vec<SignInId> = d
                .evidence
                .iter()
                .filter(|id| **id != cleared.event)
                .cloned()
                .collect();
            if evidence.is_empty() {
                return Change::Delete(d.id.clone());
            }
            let state = State {
                evidence,
                ..State::of(d)
            };
            Change::Put(Box::new(state.into_detection(
                d,
                cleared.kind,
                &cleared.subject,
                config,
                now,
            )))
        })
        .collect()
}
