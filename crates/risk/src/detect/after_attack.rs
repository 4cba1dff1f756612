//! A successful sign-in for an account, or from an IP, within the window after a brute force,
//! password spray or credential stuffing burst (critical: the attack probably worked).
//!
//! Judged from the events themselves, not only from stored detections, so it does not matter
//! whether the success or the attack arrives first: a success checks the bursts before it, and an
//! attempt re-checks the successes after it. Stored attack detections that name the account or
//! IP (`Context::recent_attacks`) add what the events cannot show, such as a spray from another
//! IP that named this account.

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Severity, SignInEvent};

use super::patterns::Pattern;
use super::View;
use crate::config::mins;
use crate::explain::{place, ts};
use crate::finding::{Finding, Subject};
use crate::kind::Kind;
use crate::signals::{is_attempt, is_success};

pub(crate) fn success_after_attack(view: &View<'_>) -> Vec<Finding> {
    let config = &view.config.success_after_attack;
    let t = view.trigger;
    if !config.enabled {
        return Vec::new();
    }
    let window = mins(config.window_minutes);
    let patterns = [
        Pattern::brute_force(view.config),
        Pattern::password_spray(view.config),
        Pattern::credential_stuffing(view.config),
    ];
    if is_success(t) {
        return judge(view, &patterns, t, true).into_iter().collect();
    }
    if !is_attempt(t) {
        return Vec::new();
    }
    // This attempt may complete a burst that successes stored before it follow.
    let reach = |p: &Pattern| window + p.span;
    let account_reach = reach(&patterns[0]);
    let ip_reach = reach(&patterns[1]).max(reach(&patterns[2]));
    let mut later: Vec<&SignInEvent> = view
        .account
        .iter()
        .copied()
        .filter(|s| is_success(s) && s.time >= t.time && s.time <= t.time + account_reach)
        .chain(
            view.ip
                .iter()
                .copied()
                .filter(|s| is_success(s) && s.time >= t.time && s.time <= t.time + ip_reach),
        )
        .collect();
    later.sort_by(|a, b| super::by_time(a, b));
    later.dedup_by(|a, b| a.id == b.id);
    later
        .into_iter()
        .filter_map(|s| judge(view, &patterns, s, false))
        .collect()
}

/// Whether `success` follows an attack on its account or from its IP, judged on the view's
/// lists where they are that account's and that IP's; `recent` adds the stored detections (only
/// meaningful for the trigger itself, whose account and IP they were fetched for).
fn judge<'a>(
    view: &View<'a>,
    patterns: &[Pattern; 3],
    success: &'a SignInEvent,
    recent: bool,
) -> Option<Finding> {
    let user = success.user_id.clone()?;
    let window = mins(view.config.success_after_attack.window_minutes);
    let from = success.time - window;
    let before = |e: &&SignInEvent| e.time <= success.time && e.id != success.id;
    let mut attack: Vec<&'a SignInEvent> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut check = |pattern: &Pattern, events: &[&'a SignInEvent], target: String| {
        if !pattern.enabled {
            return;
        }
        let members: Vec<&'a SignInEvent> =
            pattern.members(events).into_iter().filter(before).collect();
        let bursts = pattern.ending_between(&members, from, success.time);
        if bursts.is_empty() {
            return;
        }
        let events = bursts.events();
        reasons.push(format!(
            "a {} {target} ({} events, the last at {})",
            pattern.kind.title().to_lowercase(),
            events.len(),
            last_time(&events).map(ts).unwrap_or_default(),
        ));
        attack.extend(events);
    };
    if view.trigger.user_id.as_ref() == Some(&user) {
        check(
            &patterns[0],
            &view.account,
            "against the account".to_owned(),
        );
    }
    if let Some(ip) = success
        .ip
        .as_ref()
        .filter(|ip| view.trigger.ip.as_ref() == Some(*ip))
    {
        check(&patterns[1], &view.ip, format!("from IP {ip}"));
        check(&patterns[2], &view.ip, format!("from IP {ip}"));
    }
    if recent {
        for detection in view.recent_attacks {
            let is_attack = crate::kind::Kind::parse(&detection.kind).is_some_and(Kind::is_attack);
            if is_attack
                && detection.tenant_id == success.tenant_id
                && detection.last_seen <= success.time
                && detection.last_seen >= from
            {
                reasons.push(format!(
                    "the {} detection {} (last seen {})",
                    detection.kind,
                    detection.id,
                    ts(detection.last_seen)
                ));
            }
        }
    }
    if reasons.is_empty() {
        return None;
    }
    let explanation = format!(
        "{} signed in successfully at {} from {}, within {} min after {}.",
        view.account_label(success),
        ts(success.time),
        place(success),
        view.config.success_after_attack.window_minutes,
        reasons.join(" and "),
    );
    attack.push(success);
    Finding::over(
        Kind::SuccessAfterAttack,
        Severity::Critical,
        &Subject::Account(user.clone()),
        Some(user),
        &attack,
        explanation,
    )
}

fn last_time(events: &[&SignInEvent]) -> Option<DateTime<Utc>> {
    events.iter().map(|e| e.time).max()
}
