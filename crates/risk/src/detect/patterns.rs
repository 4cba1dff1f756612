//! The three attack patterns counted in sliding windows: brute force (failures against one
//! account), password spray (failures from one IP against many accounts) and credential stuffing
//! (attempts from one IP against many accounts).
//!
//! A trigger's finding is the union of every qualifying window that contains the trigger's time.
//! Each such window was complete when its last event arrived, and that event's own evaluation
//! sees it, so the union of findings over any arrival order is the set of events in qualifying
//! windows; and since the windows all contain the trigger, a finding is one connected burst.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Severity, SignInEvent};

use super::window::{containing, length, starting_between, union};
use super::View;
use crate::config::{mins, RiskConfig};
use crate::explain::{human, ts};
use crate::finding::{Finding, Subject};
use crate::kind::Kind;
use crate::signals::{is_attempt, is_failed_attempt, is_success};

/// One windowed pattern: which events count, how they are counted, and the threshold.
pub(crate) struct Pattern {
    pub kind: Kind,
    pub enabled: bool,
    pub span: Duration,
    pub threshold: usize,
    member: fn(&SignInEvent) -> bool,
    count: fn(&[&SignInEvent]) -> usize,
}

impl Pattern {
    pub fn brute_force(config: &RiskConfig) -> Pattern {
        let c = &config.brute_force;
        Pattern {
            kind: Kind::BruteForce,
            enabled: c.enabled,
            span: mins(c.window_minutes),
            threshold: c.failures as usize,
            member: is_failed_attempt,
            count: |window| window.len(),
        }
    }

    pub fn password_spray(config: &RiskConfig) -> Pattern {
        let c = &config.password_spray;
        Pattern {
            kind: Kind::PasswordSpray,
            enabled: c.enabled,
            span: mins(c.window_minutes),
            threshold: c.accounts as usize,
            member: |e| is_failed_attempt(e) && account_key(e).is_some(),
            count: distinct_accounts,
        }
    }

    pub fn credential_stuffing(config: &RiskConfig) -> Pattern {
        let c = &config.credential_stuffing;
        Pattern {
            kind: Kind::CredentialStuffing,
            enabled: c.enabled,
            span: mins(c.window_minutes),
            threshold: c.accounts as usize,
            member: |e| is_attempt(e) && account_key(e).is_some(),
            count: distinct_accounts,
        }
    }

    pub fn members<'a>(&self, events: &[&'a SignInEvent]) -> Vec<&'a SignInEvent> {
        events
            .iter()
            .copied()
            .filter(|e| (self.member)(e))
            .collect()
    }

    pub fn is_member(&self, event: &SignInEvent) -> bool {
        (self.member)(event)
    }

    pub fn count(&self, window: &[&SignInEvent]) -> usize {
        (self.count)(window)
    }

    fn qualifies(&self, window: &[&SignInEvent]) -> bool {
        self.count(window) >= self.threshold
    }

    /// Qualifying windows that contain `at`.
    pub fn around<'e, 'a>(
        &self,
        members: &'e [&'a SignInEvent],
        at: DateTime<Utc>,
    ) -> Vec<&'e [&'a SignInEvent]> {
        containing(members, at, self.span)
            .into_iter()
            .filter(|w| self.qualifies(w))
            .collect()
    }

    /// Qualifying windows whose last event lies in `[from, to]` (the members must already be
    /// cut at `to`): the attacks a success at `to` follows.
    pub fn ending_between<'e, 'a>(
        &self,
        members: &'e [&'a SignInEvent],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<&'e [&'a SignInEvent]> {
        starting_between(members, from - self.span, to, self.span)
            .into_iter()
            .filter(|w| self.qualifies(w) && w.last().is_some_and(|e| e.time >= from))
            .collect()
    }
}

/// Who an attempt was against: the inventory account, else the login or provider id tried.
pub(crate) fn account_key(event: &SignInEvent) -> Option<String> {
    if let Some(user) = &event.user_id {
        return Some(format!("u:{user}"));
    }
    if let Some(login) = &event.login {
        return Some(format!("l:{}", login.trim().to_lowercase()));
    }
    event.external_user_id.as_ref().map(|x| format!("x:{x}"))
}

fn distinct_accounts(window: &[&SignInEvent]) -> usize {
    window
        .iter()
        .filter_map(|e| account_key(e))
        .collect::<BTreeSet<_>>()
        .len()
}

/// The densest window: its count and its length.
fn peak(pattern: &Pattern, windows: &[&[&SignInEvent]]) -> (usize, Duration) {
    windows
        .iter()
        .map(|w| (pattern.count(w), length(w)))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .unwrap_or((0, Duration::zero()))
}

/// ≥ N failed sign-ins for one account within the window.
pub(crate) fn brute_force(view: &View<'_>) -> Option<Finding> {
    let pattern = Pattern::brute_force(view.config);
    let t = view.trigger;
    if !pattern.enabled || !pattern.is_member(t) {
        return None;
    }
    let user = t.user_id.clone()?;
    let members = pattern.members(&view.account);
    let windows = pattern.around(&members, t.time);
    if windows.is_empty() {
        return None;
    }
    let events = union(&windows);
    let (most, within) = peak(&pattern, &windows);
    let ips: BTreeSet<&str> = events.iter().filter_map(|e| e.ip.as_deref()).collect();
    let explanation = format!(
        "{} failed sign-ins for {} from {} source IP{} between {} and {}; {most} of them within {} (threshold: {} within {} min).",
        events.len(),
        view.account_label(t),
        ips.len(),
        if ips.len() == 1 { "" } else { "s" },
        ts(events.first().map_or(t.time, |e| e.time)),
        ts(events.last().map_or(t.time, |e| e.time)),
        human(within),
        pattern.threshold,
        view.config.brute_force.window_minutes,
    );
    Finding::over(
        Kind::BruteForce,
        Severity::Medium,
        &Subject::Account(user.clone()),
        Some(user),
        &events,
        explanation,
    )
}

/// One IP fails against ≥ N distinct accounts within the window.
pub(crate) fn password_spray(view: &View<'_>) -> Option<Finding> {
    let pattern = Pattern::password_spray(view.config);
    ip_pattern(view, &pattern, |events, most, within| {
        format!(
            "{} failed sign-ins from IP {} against {} distinct accounts; {most} distinct accounts within {} (threshold: {} accounts within {} min).",
            events.len(),
            view.trigger.ip.as_deref().unwrap_or_default(),
            distinct_accounts(events),
            human(within),
            pattern.threshold,
            view.config.password_spray.window_minutes,
        )
    })
}

/// One IP tries ≥ N distinct accounts within the window (any outcome).
pub(crate) fn credential_stuffing(view: &View<'_>) -> Option<Finding> {
    let pattern = Pattern::credential_stuffing(view.config);
    ip_pattern(view, &pattern, |events, most, within| {
        let mut tries: BTreeMap<String, usize> = BTreeMap::new();
        for e in events {
            if let Some(key) = account_key(e) {
                *tries.entry(key).or_default() += 1;
            }
        }
        let few = tries.values().filter(|n| **n <= 2).count();
        let successes = events.iter().filter(|e| is_success(e)).count();
        format!(
            "{} sign-in attempts from IP {} against {} distinct accounts ({few} of them tried at most twice, {successes} attempts successful); {most} distinct accounts within {} (threshold: {} accounts within {} min).",
            events.len(),
            view.trigger.ip.as_deref().unwrap_or_default(),
            tries.len(),
            human(within),
            pattern.threshold,
            view.config.credential_stuffing.window_minutes,
        )
    })
}

fn ip_pattern(
    view: &View<'_>,
    pattern: &Pattern,
    explain: impl Fn(&[&SignInEvent], usize, Duration) -> String,
) -> Option<Finding> {
    let t = view.trigger;
    if !pattern.enabled || !pattern.is_member(t) {
        return None;
    }
    let ip = t.ip.clone()?;
    let members = pattern.members(&view.ip);
    let windows = pattern.around(&members, t.time);
    if windows.is_empty() {
        return None;
    }
    let events = union(&windows);
    let (most, within) = peak(pattern, &windows);
    Finding::over(
        pattern.kind,
        Severity::High,
        &Subject::Ip(ip),
        None,
        &events,
        explain(&events, most, within),
    )
}
