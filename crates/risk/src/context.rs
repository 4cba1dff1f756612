//! What the engine hands to [`crate::assess`] for one stored event, and how much of the store
//! that must be ([`windows`]).

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Detection, SignInEvent, User};

use crate::config::{days_of, mins, RiskConfig};
use crate::geo::MAX_DISTANCE_KM;

/// The events around one trigger event. Lists may come in any order and may or may not contain
/// the trigger; events that do not belong (another account in `account_events`, …) are ignored,
/// so a loose query is safe, but a list cut shorter than [`windows`] says loses findings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The event just stored.
    pub trigger: &'a SignInEvent,
    /// Events (any category and outcome) of the trigger's account (`user_id`), in
    /// [`Windows::account_events`] around the trigger's time: before *and* after it, since events
    /// arrive out of order.
    pub account_events: &'a [SignInEvent],
    /// Events from the trigger's source IP, of any account, in [`Windows::ip_events`].
    pub ip_events: &'a [SignInEvent],
    /// Events with the trigger's provider session id (same integration), in
    /// [`Windows::session_events`].
    pub session_events: &'a [SignInEvent],
    /// Successful sign-ins of every account of the trigger account's identity (just the account's
    /// own when it has no identity), in [`Windows::identity_successes`].
    pub identity_successes: &'a [SignInEvent],
    /// The trigger account's inventory record (status, creation time, identity).
    pub account: Option<&'a User>,
    /// Stored `brute_force`, `password_spray` and `credential_stuffing` detections that name the
    /// trigger's account or IP (as subject or in their evidence) and whose `last_seen` is within
    /// [`Windows::recent_attacks`] before the trigger.
    pub recent_attacks: &'a [Detection],
    /// Since when the store holds the integration's complete sign-in history (the start of the
    /// first pull), if known: lets `dormant_account` fire for an account with no success at all
    /// in the store.
    pub history_start: Option<DateTime<Utc>>,
    pub config: &'a RiskConfig,
}

/// How far before and after a trigger's time a list must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub before: Duration,
    pub after: Duration,
}

impl Span {
    fn both(d: Duration) -> Span {
        Span {
            before: d,
            after: d,
        }
    }

    /// The inclusive time range `[at - before, at + after]` to fetch.
    pub fn around(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (at - self.before, at + self.after)
    }
}

/// How much history each list of a [`Context`] needs, derived from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub account_events: Span,
    pub ip_events: Span,
    pub session_events: Span,
    pub identity_successes: Span,
    /// Attack detections whose `last_seen` is at most this long before the trigger.
    pub recent_attacks: Duration,
}

/// The windows the engine must fetch for `config`.
///
/// Each list reaches as far *after* the trigger as before it: when the trigger arrives late, the
/// detection that it completes may be judged on events stored before it but later in time.
pub fn windows(config: &RiskConfig) -> Windows {
    let on = |enabled: bool, d: Duration| if enabled { d } else { Duration::zero() };
    let brute = mins(config.brute_force.window_minutes);
    let spray = mins(config.password_spray.window_minutes);
    let stuffing = mins(config.credential_stuffing.window_minutes);
    let after_attack = on(
        config.success_after_attack.enabled,
        mins(config.success_after_attack.window_minutes),
    );
    let mfa = &config.mfa_fatigue;
    let account = [
        on(config.brute_force.enabled, brute),
        on(
            mfa.enabled,
            mins(mfa.window_minutes) + mins(mfa.follow_minutes),
        ),
        after_attack + on(config.success_after_attack.enabled, brute),
    ];
    let ip = [
        on(config.password_spray.enabled, spray),
        on(config.credential_stuffing.enabled, stuffing),
        after_attack + on(config.success_after_attack.enabled, spray.max(stuffing)),
    ];
    let identity = [
        on(config.impossible_travel.enabled, travel_horizon(config)),
        on(
            config.new_country.enabled,
            days_of(config.new_country.lookback_days),
        ),
        on(
            config.dormant_account.enabled,
            days_of(config.dormant_account.days) * 2,
        ),
    ];
    let max = |ds: &[Duration]| ds.iter().copied().max().unwrap_or_else(Duration::zero);
    Windows {
        account_events: Span::both(max(&account)),
        ip_events: Span::both(max(&ip)),
        session_events: Span::both(on(
            config.session_anomaly.enabled,
            mins(config.session_anomaly.window_minutes),
        )),
        identity_successes: Span::both(max(&identity)),
        recent_attacks: after_attack,
    }
}

/// The longest time apart two successes can be and still need more than the configured speed:
/// half the Earth's circumference at that speed (capped at a year for absurd speeds).
pub(crate) fn travel_horizon(config: &RiskConfig) -> Duration {
    let hours = MAX_DISTANCE_KM / config.impossible_travel.max_speed_kmh;
    let year = Duration::days(366);
    if !hours.is_finite() || hours * 3600.0 >= year.num_seconds() as f64 {
        return year;
    }
    Duration::seconds((hours * 3600.0).ceil() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_windows() {
        let w = windows(&RiskConfig::default());
        assert_eq!(w.account_events.before, Duration::minutes(65));
        assert_eq!(w.account_events.after, Duration::minutes(65));
        assert_eq!(w.ip_events.before, Duration::minutes(70));
        assert_eq!(w.session_events.before, Duration::minutes(60));
        assert_eq!(w.identity_successes.before, Duration::days(180));
        assert_eq!(w.recent_attacks, Duration::minutes(60));
        // 20,015 km at 900 km/h is a little over 22 h.
        let horizon = travel_horizon(&RiskConfig::default());
        assert!(horizon > Duration::hours(22) && horizon < Duration::hours(23));
    }

    #[test]
    fn disabled_detections_need_no_history() {
        let mut config = RiskConfig::default();
        config.dormant_account.enabled = false;
        config.new_country.enabled = false;
        let w = windows(&config);
        assert_eq!(w.identity_successes.before, travel_horizon(&config));
        config.session_anomaly.enabled = false;
        assert_eq!(windows(&config).session_events.before, Duration::zero());
    }
}
