//! Detections that rest on the *absence* of earlier successes: a new country and a dormant
//! account. A late-arriving earlier success can disprove them, so besides judging the trigger
//! they re-judge the successes that come after it (within their lookback) and return a
//! [`Cleared`] verdict for each one that is not (or no longer) evidence. The last event of a
//! success's lookback to arrive judges it with complete history, and its verdict is applied last,
//! so the final state does not depend on arrival order.

use std::collections::BTreeSet;

use chrono::Duration;
use gatehouse_core::model::{Severity, SignInEvent};

use super::{Assessment, View};
use crate::config::days_of;
use crate::explain::{human, place, ts};
use crate::finding::{Cleared, Finding, Subject};
use crate::kind::Kind;
use crate::signals::is_success;

/// Judges the trigger and the later successes it can affect: a finding or a retraction each.
fn rejudge<'a>(
    view: &View<'a>,
    kind: Kind,
    reach: Duration,
    candidates: impl Iterator<Item = &'a SignInEvent>,
    judge: impl Fn(&SignInEvent) -> Option<Finding>,
    out: &mut Assessment,
) {
    let t = view.trigger;
    if !is_success(t) {
        return;
    }
    // The trigger is judged too: on its first evaluation a retraction of it is a no-op (nothing
    // can name an event before it is stored), but an event evaluated again must be able to
    // withdraw its earlier verdict.
    let later = candidates.filter(|e| e.id != t.id && e.time > t.time && e.time <= t.time + reach);
    for later in std::iter::once(t).chain(later) {
        let Some(user) = later.user_id.clone() else {
            continue;
        };
        match judge(later) {
            Some(finding) => out.findings.push(finding),
            None => out.cleared.push(Cleared {
                tenant_id: later.tenant_id.clone(),
                kind,
                subject: Subject::Account(user).to_string(),
                event: later.id.clone(),
                time: later.time,
            }),
        }
    }
}

/// A success from a country the identity did not succeed from in the lookback, once it has
/// enough earlier successes (with a known country) for that to mean something.
pub(crate) fn new_country(view: &View<'_>, out: &mut Assessment) {
    let config = &view.config.new_country;
    if !config.enabled {
        return;
    }
    let lookback = days_of(config.lookback_days);
    let judge = |s: &SignInEvent| -> Option<Finding> {
        let user = s.user_id.clone()?;
        let country = s
            .country
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())?;
        if view.allowlisted(s) {
            return None;
        }
        let prior: Vec<&str> = view
            .successes
            .iter()
            .filter(|e| e.time < s.time && e.time >= s.time - lookback)
            .filter_map(|e| {
                e.country
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
            })
            .collect();
        if prior.len() < config.min_prior_successes as usize
            || prior.iter().any(|c| c.eq_ignore_ascii_case(country))
        {
            return None;
        }
        let seen: BTreeSet<&str> = prior.iter().copied().collect();
        let explanation = format!(
            "{} signed in successfully from {} at {}; the identity's {} successful sign-ins in the previous {} days came only from {}.",
            view.account_label(s),
            place(s),
            ts(s.time),
            prior.len(),
            config.lookback_days,
            seen.into_iter().collect::<Vec<_>>().join(", "),
        );
        Finding::over(
            Kind::NewCountry,
            Severity::Low,
            &Subject::Account(user.clone()),
            Some(user),
            &[s],
            explanation,
        )
    };
    rejudge(
        view,
        Kind::NewCountry,
        lookback,
        view.successes.iter().copied(),
        judge,
        out,
    );
}

/// A success of an account after at least N days without one. The gap is proven by an earlier
/// success (within twice N days), or by the store's complete history and the account's age.
pub(crate) fn dormant_account(view: &View<'_>, out: &mut Assessment) {
    let config = &view.config.dormant_account;
    let t = view.trigger;
    if !config.enabled {
        return;
    }
    let Some(user) = t.user_id.clone() else {
        return;
    };
    let quiet = days_of(config.days);
    let own: Vec<&SignInEvent> = view
        .successes
        .iter()
        .copied()
        .filter(|e| e.user_id.as_ref() == Some(&user))
        .collect();
    let judge = |s: &SignInEvent| -> Option<Finding> {
        if own
            .iter()
            .any(|e| e.time < s.time && e.time > s.time - quiet)
        {
            return None;
        }
        let previous = own
            .iter()
            .copied()
            .filter(|e| e.time <= s.time - quiet && e.time >= s.time - quiet * 2)
            .max_by(|a, b| super::by_time(a, b));
        let reason = match previous {
            Some(p) => format!(
                "its previous successful sign-in was {} earlier, at {}",
                human(s.time - p.time),
                ts(p.time)
            ),
            None => {
                let history = view.history_start.filter(|h| *h <= s.time - quiet)?;
                let created = view
                    .user
                    .and_then(|u| u.created_at)
                    .filter(|c| *c <= s.time - quiet)?;
                format!(
                    "it has no successful sign-in since the store's history began at {} (account created {})",
                    ts(history),
                    ts(created)
                )
            }
        };
        let explanation = format!(
            "{} signed in successfully from {} at {} after at least {} days without a successful sign-in: {reason}.",
            view.account_label(s),
            place(s),
            ts(s.time),
            config.days,
        );
        Finding::over(
            Kind::DormantAccount,
            Severity::Medium,
            &Subject::Account(user.clone()),
            Some(user.clone()),
            &[s],
            explanation,
        )
    };
    rejudge(
        view,
        Kind::DormantAccount,
        quiet * 2,
        own.iter().copied(),
        judge,
        out,
    );
}
