//! MFA fatigue: ≥ N push denials or timeouts for one account within the window; high severity
//! when a sign-in succeeds after the threshold was reached (the user gave in).
//!
//! Counting: a provider may log one rejection twice (Okta: `user.mfa.okta_verify.deny_push` and
//! an `auth_via_mfa` failure), so per provider session the denials and the failures are counted
//! apart and the larger count is kept. That count only grows as events arrive, and so does the
//! set of "successes after the threshold" (the threshold is reached earlier or at the same time
//! with more events), which keeps the detection independent of arrival order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Severity, SignInEvent};

use super::window::{containing, length, starting_between, union};
use super::View;
use crate::config::mins;
use crate::explain::{human, ts};
use crate::finding::{Finding, Subject};
use crate::kind::Kind;
use crate::signals::{is_success, push_rejection, Rejection};

/// Rejections counted per session, each rejection logged twice counted once.
#[derive(Default)]
struct Tally<'a> {
    per_session: BTreeMap<Option<&'a str>, (usize, usize)>,
    total: usize,
}

impl<'a> Tally<'a> {
    fn add(&mut self, event: &'a SignInEvent) {
        let Some(kind) = push_rejection(event) else {
            return;
        };
        let entry = self
            .per_session
            .entry(event.session_id.as_deref())
            .or_default();
        let before = entry.0.max(entry.1);
        match kind {
            Rejection::Denied => entry.0 += 1,
            Rejection::Failed => entry.1 += 1,
        }
        self.total += entry.0.max(entry.1) - before;
    }
}

fn units(window: &[&SignInEvent]) -> usize {
    let mut tally = Tally::default();
    window.iter().for_each(|e| tally.add(e));
    tally.total
}

/// When the window's count first reached `threshold`.
fn reached_at(window: &[&SignInEvent], threshold: usize) -> Option<DateTime<Utc>> {
    let mut tally = Tally::default();
    window.iter().find_map(|e| {
        tally.add(e);
        (tally.total >= threshold).then_some(e.time)
    })
}

pub(crate) fn fatigue(view: &View<'_>) -> Option<Finding> {
    let config = &view.config.mfa_fatigue;
    let t = view.trigger;
    if !config.enabled {
        return None;
    }
    let user = t.user_id.clone()?;
    let threshold = config.denials as usize;
    let span = mins(config.window_minutes);
    let follow = mins(config.follow_minutes);
    let rejections: Vec<&SignInEvent> = view
        .account
        .iter()
        .copied()
        .filter(|e| push_rejection(e).is_some())
        .collect();
    let successes: Vec<&SignInEvent> = view
        .account
        .iter()
        .copied()
        .filter(|e| is_success(e))
        .collect();
    // Each qualifying window with the successes that follow it.
    let mut bursts: Vec<(&[&SignInEvent], Vec<&SignInEvent>)> = Vec::new();
    if push_rejection(t).is_some() {
        for window in containing(&rejections, t.time, span) {
            let (Some(reached), Some(last)) = (reached_at(window, threshold), window.last()) else {
                continue;
            };
            let after = successes
                .iter()
                .copied()
                .filter(|s| s.time > reached && s.time <= last.time + follow)
                .collect();
            bursts.push((window, after));
        }
    } else if is_success(t) {
        for window in starting_between(&rejections, t.time - span - follow, t.time, span) {
            let (Some(reached), Some(last)) = (reached_at(window, threshold), window.last()) else {
                continue;
            };
            if reached < t.time && t.time <= last.time + follow {
                bursts.push((window, vec![t]));
            }
        }
    }
    if bursts.is_empty() {
        return None;
    }
    let windows: Vec<&[&SignInEvent]> = bursts.iter().map(|(w, _)| *w).collect();
    let denials = union(&windows);
    let followers = union(&[bursts
        .iter()
        .flat_map(|(_, after)| after.iter().copied())
        .collect::<Vec<_>>()
        .as_slice()]);
    let (most, within) = windows
        .iter()
        .map(|w| (units(w), length(w)))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .unwrap_or_default();
    let severity = if followers.is_empty() {
        Severity::Medium
    } else {
        Severity::High
    };
    let then = match followers.first() {
        Some(s) => format!(
            " A sign-in then succeeded at {} ({}), after the denials.",
            ts(s.time),
            s.event_type
        ),
        None => String::new(),
    };
    let explanation = format!(
        "{most} MFA push denials or timeouts for {} within {} ({} rejection events in the burst; threshold: {threshold} within {} min).{then}",
        view.account_label(t),
        human(within),
        denials.len(),
        config.window_minutes,
    );
    let mut events = denials;
    events.extend(followers);
    Finding::over(
        Kind::MfaFatigue,
        severity,
        &Subject::Account(user.clone()),
        Some(user),
        &events,
        explanation,
    )
}
