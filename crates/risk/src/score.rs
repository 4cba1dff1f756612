//! Per-identity (or per-account) risk: a 0–100 score that fades as detections age, and the
//! escalation of several detections that form one incident.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Detection, Severity};

use crate::config::{mins, RiskConfig};

fn weight(severity: Severity, config: &RiskConfig) -> f64 {
    let s = &config.score;
    match severity {
        Severity::Low => s.low,
        Severity::Medium => s.medium,
        Severity::High => s.high,
        Severity::Critical => s.critical,
    }
}

/// The risk score at `now` of the account or identity `detections` are about.
///
/// Each detection weighs its severity's weight, halved every `score.half_life_hours` since its
/// last evidence (a detection dated after `now` counts in full). Weights combine like independent
/// probabilities, `100 × (1 − Π(1 − wᵢ))`, so more detections always raise the score but it never
/// passes 100. The same detection listed twice counts once.
pub fn risk_score(detections: &[Detection], now: DateTime<Utc>, config: &RiskConfig) -> u8 {
    let mut seen = BTreeSet::new();
    let half_life = config.score.half_life_hours;
    let mut weights: Vec<f64> = detections
        .iter()
        .filter(|d| seen.insert(&d.id))
        .map(|d| {
            let age_hours = (now - d.last_seen).num_seconds().max(0) as f64 / 3600.0;
            weight(d.severity, config).clamp(0.0, 1.0) * 0.5_f64.powf(age_hours / half_life)
        })
        .collect();
    // Floating-point products depend on order; sorting makes the score independent of it.
    weights.sort_by(f64::total_cmp);
    let unharmed = weights.iter().fold(1.0, |acc, w| acc * (1.0 - w));
    let score = ((1.0 - unharmed) * 100.0).round();
    if score.is_nan() {
        return 0;
    }
    score.clamp(0.0, 100.0) as u8
}

fn step_up(severity: Severity) -> Severity {
    match severity {
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// The severity of the incident several detections of one identity form, when it is higher than
/// each detection's own: `escalation.min_kinds` distinct kinds active within
/// `escalation.window_minutes` of each other raise the highest severity one step, and more kinds
/// than that make it critical. Repeats of one kind do not escalate (merging already made them one
/// detection). `None` when nothing escalates.
pub fn escalate(detections: &[Detection], config: &RiskConfig) -> Option<Severity> {
    let window = mins(config.escalation.window_minutes);
    let min_kinds = config.escalation.min_kinds.max(2) as usize;
    let mut best: Option<Severity> = None;
    for anchor in detections {
        let at = anchor.last_seen;
        let group: Vec<&Detection> = detections
            .iter()
            .filter(|d| d.first_seen <= at && d.last_seen >= at - window)
            .collect();
        let kinds: BTreeSet<&str> = group.iter().map(|d| d.kind.as_str()).collect();
        if kinds.len() < min_kinds {
            continue;
        }
        let Some(top) = group.iter().map(|d| d.severity).max() else {
            continue;
        };
        let escalated = if kinds.len() > min_kinds {
            Severity::Critical
        } else {
            step_up(top)
        };
        if escalated > top {
            best = best.max(Some(escalated));
        }
    }
    best
}
