//! Runs every detection over one [`Context`] and returns what they found.
//!
//! Each detection reads a [`View`]: the context's lists filtered to what belongs to the trigger,
//! deduplicated by id and sorted by `(time, id)`, so neither the engine's query order nor a
//! duplicate can change a verdict.

mod after_attack;
mod history;
mod mfa;
mod patterns;
mod single;
mod travel;
mod window;

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Detection, SignInEvent, User};
use ipnet::IpNet;

use crate::config::RiskConfig;
use crate::context::Context;
use crate::finding::{Cleared, Finding};
use crate::geo::in_networks;
use crate::signals::is_success;

/// Everything one context yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assessment {
    /// New or grown evidence; merge each with [`crate::reconcile`].
    pub findings: Vec<Finding>,
    /// Events that are no longer evidence (a late earlier event showed a country was not new or
    /// an account not dormant); apply each with [`crate::clear`].
    pub cleared: Vec<Cleared>,
}

/// Every detection over `ctx`: findings and retractions.
pub fn assess(ctx: &Context<'_>) -> Assessment {
    let view = View::new(ctx);
    let mut out = Assessment::default();
    out.findings.extend(patterns::brute_force(&view));
    out.findings.extend(patterns::password_spray(&view));
    out.findings.extend(patterns::credential_stuffing(&view));
    out.findings.extend(mfa::fatigue(&view));
    out.findings.extend(travel::impossible_travel(&view));
    history::new_country(&view, &mut out);
    out.findings.extend(single::anonymizing_network(&view));
    out.findings.extend(single::deprovisioned_activity(&view));
    out.findings.extend(travel::session_anomaly(&view));
    out.findings.extend(single::provider_risk(&view));
    history::dormant_account(&view, &mut out);
    out.findings
        .extend(after_attack::success_after_attack(&view));
    out.findings.extend(single::privilege_change(&view));
    out
}

/// The findings of [`assess`] alone.
pub fn evaluate(ctx: &Context<'_>) -> Vec<Finding> {
    assess(ctx).findings
}

/// A context reduced to what belongs to its trigger.
pub(crate) struct View<'a> {
    pub trigger: &'a SignInEvent,
    /// Same account as the trigger (empty when the trigger has none).
    pub account: Vec<&'a SignInEvent>,
    /// Same source IP as the trigger.
    pub ip: Vec<&'a SignInEvent>,
    /// Same provider session (and integration) as the trigger.
    pub session: Vec<&'a SignInEvent>,
    /// Successful sign-ins of the identity, with the account's own from `account`.
    pub successes: Vec<&'a SignInEvent>,
    /// The trigger account's record, if the context's record is that account's.
    pub user: Option<&'a User>,
    pub recent_attacks: &'a [Detection],
    pub history_start: Option<DateTime<Utc>>,
    pub config: &'a RiskConfig,
    pub allowlist: Vec<IpNet>,
    pub anonymizers: Vec<IpNet>,
}

impl<'a> View<'a> {
    fn new(ctx: &Context<'a>) -> View<'a> {
        let t = ctx.trigger;
        let same_tenant = |e: &SignInEvent| e.tenant_id == t.tenant_id;
        let account = match &t.user_id {
            Some(user) => gather(t, &[ctx.account_events], |e| {
                same_tenant(e) && e.user_id.as_ref() == Some(user)
            }),
            None => Vec::new(),
        };
        let ip = match &t.ip {
            Some(ip) => gather(t, &[ctx.ip_events], |e| {
                same_tenant(e) && e.ip.as_ref() == Some(ip)
            }),
            None => Vec::new(),
        };
        let session = match &t.session_id {
            Some(session) => gather(t, &[ctx.session_events], |e| {
                same_tenant(e)
                    && e.integration_id == t.integration_id
                    && e.session_id.as_ref() == Some(session)
            }),
            None => Vec::new(),
        };
        let successes = gather(t, &[ctx.identity_successes], |e| {
            same_tenant(e) && is_success(e)
        });
        // The account's own successes may only be in `account_events` (no identity yet).
        let successes = merge_sorted(
            successes,
            account.iter().copied().filter(|e| is_success(e)).collect(),
        );
        let user = ctx
            .account
            .filter(|u| Some(&u.id) == t.user_id.as_ref() && u.tenant_id == t.tenant_id);
        View {
            trigger: t,
            account,
            ip,
            session,
            successes,
            user,
            recent_attacks: ctx.recent_attacks,
            history_start: ctx.history_start,
            config: ctx.config,
            allowlist: ctx.config.allowlist(),
            anonymizers: ctx.config.anonymizers(),
        }
    }

    pub fn allowlisted(&self, event: &SignInEvent) -> bool {
        in_networks(event, &self.allowlist)
    }

    /// How explanations name the trigger's account: `usr_… (login)`.
    pub fn account_label(&self, event: &SignInEvent) -> String {
        let Some(id) = &event.user_id else {
            return event
                .login
                .clone()
                .unwrap_or_else(|| "an unknown account".to_owned());
        };
        let login = event
            .login
            .clone()
            .or_else(|| self.user.filter(|u| &u.id == id).map(|u| u.login.clone()));
        match login {
            Some(login) => format!("account {id} ({login})"),
            None => format!("account {id}"),
        }
    }
}

/// The trigger and the lists' events that `keep` accepts, sorted and without duplicate ids.
fn gather<'a>(
    trigger: &'a SignInEvent,
    lists: &[&'a [SignInEvent]],
    keep: impl Fn(&SignInEvent) -> bool,
) -> Vec<&'a SignInEvent> {
    let mut events: Vec<&SignInEvent> = std::iter::once(trigger)
        .chain(lists.iter().flat_map(|list| list.iter()))
        .filter(|e| keep(e))
        .collect();
    events.sort_by(|a, b| by_time(a, b));
    events.dedup_by(|a, b| a.id == b.id);
    events
}

fn merge_sorted<'a>(mut a: Vec<&'a SignInEvent>, b: Vec<&'a SignInEvent>) -> Vec<&'a SignInEvent> {
    a.extend(b);
    a.sort_by(|x, y| by_time(x, y));
    a.dedup_by(|x, y| x.id == y.id);
    a
}

/// The one order every list is in: event time, then id (ids break ties deterministically).
pub(crate) fn by_time(a: &SignInEvent, b: &SignInEvent) -> Ordering {
    a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id))
}
