//! Detections over pairs of events: impossible travel (two successes of one account too far apart
//! for the time between them) and session anomaly (one provider session from two countries or
//! networks). Pairs only ever appear as events arrive, and the later event of a pair sees the
//! earlier one, so the union of findings does not depend on arrival order.

use std::collections::BTreeSet;

use gatehouse_core::model::{Severity, SignInEvent};

use super::View;
use crate::config::mins;
use crate::explain::{human, place, ts};
use crate::finding::{common, Finding, Subject};
use crate::geo::{coordinates, haversine_km, in_networks};
use crate::kind::Kind;
use crate::signals::{is_success, provider_anonymizer};

/// Two successes that need more than the configured speed (ignoring short hops, allow-listed
/// networks and anonymizers, whose location says nothing about the user).
pub(crate) fn impossible_travel(view: &View<'_>) -> Option<Finding> {
    let config = &view.config.impossible_travel;
    let t = view.trigger;
    if !config.enabled || !is_success(t) {
        return None;
    }
    let user = t.user_id.clone()?;
    let usable = |e: &SignInEvent| {
        coordinates(e).is_some()
            && !view.allowlisted(e)
            && !in_networks(e, &view.anonymizers)
            && provider_anonymizer(e).is_none()
    };
    if !usable(t) {
        return None;
    }
    let here = coordinates(t)?;
    let mut pairs: Vec<(&SignInEvent, f64, f64)> = Vec::new();
    for other in &view.successes {
        if other.id == t.id || other.user_id.as_ref() != Some(&user) || !usable(other) {
            continue;
        }
        let Some(there) = coordinates(other) else {
            continue;
        };
        let km = haversine_km(here, there);
        if km < config.min_distance_km {
            continue;
        }
        let hours = (other.time - t.time).num_milliseconds().abs() as f64 / 3_600_000.0;
        let speed = if hours == 0.0 {
            f64::INFINITY
        } else {
            km / hours
        };
        if speed > config.max_speed_kmh {
            pairs.push((other, km, speed));
        }
    }
    let (fastest, km, speed) = pairs
        .iter()
        .copied()
        .max_by(|a, b| a.2.total_cmp(&b.2).then_with(|| b.0.id.cmp(&a.0.id)))?;
    let (first, second) = if fastest.time < t.time || (fastest.time == t.time && fastest.id < t.id)
    {
        (fastest, t)
    } else {
        (t, fastest)
    };
    let needed = if speed.is_finite() {
        format!("{speed:.0} km/h")
    } else {
        "being in both places at once".to_owned()
    };
    let more = match pairs.len() {
        1 => String::new(),
        n => format!(" ({n} sign-ins are impossible to reach from this one.)"),
    };
    let explanation = format!(
        "Successful sign-ins for {} from {} at {} and from {} at {}: {km:.0} km apart in {}, which needs {needed} (limit {} km/h).{more}",
        view.account_label(t),
        place(first),
        ts(first.time),
        place(second),
        ts(second.time),
        human(second.time - first.time),
        config.max_speed_kmh,
    );
    let mut events: Vec<&SignInEvent> = pairs.iter().map(|(e, _, _)| *e).collect();
    events.push(t);
    Finding::over(
        Kind::ImpossibleTravel,
        Severity::High,
        &Subject::Account(user.clone()),
        Some(user),
        &events,
        explanation,
    )
}

/// One provider session seen from two countries or two autonomous systems within the window.
pub(crate) fn session_anomaly(view: &View<'_>) -> Option<Finding> {
    let config = &view.config.session_anomaly;
    let t = view.trigger;
    if !config.enabled || view.allowlisted(t) {
        return None;
    }
    let session = t.session_id.clone()?;
    let span = mins(config.window_minutes);
    let differs = |a: &SignInEvent, b: &SignInEvent| {
        let countries = config.countries
            && matches!((&a.country, &b.country), (Some(x), Some(y)) if !x.trim().eq_ignore_ascii_case(y.trim()));
        let asns = config.asns && matches!((a.asn, b.asn), (Some(x), Some(y)) if x != y);
        countries || asns
    };
    let partners: Vec<&SignInEvent> = view
        .session
        .iter()
        .copied()
        .filter(|e| {
            e.id != t.id && (e.time - t.time).abs() <= span && !view.allowlisted(e) && differs(t, e)
        })
        .collect();
    if partners.is_empty() {
        return None;
    }
    let mut events = partners;
    events.push(t);
    let countries: BTreeSet<&str> = events.iter().filter_map(|e| e.country.as_deref()).collect();
    let asns: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e.asn.map(|a| format!("AS{a}")))
        .collect();
    let start = events.iter().map(|e| e.time).min().unwrap_or(t.time);
    let end = events.iter().map(|e| e.time).max().unwrap_or(t.time);
    let explanation = format!(
        "Session {session} was used from {} countr{} ({}) and {} network{} ({}) within {} (window: {} min).",
        countries.len(),
        if countries.len() == 1 { "y" } else { "ies" },
        countries.iter().copied().collect::<Vec<_>>().join(", "),
        asns.len(),
        if asns.len() == 1 { "" } else { "s" },
        asns.iter().cloned().collect::<Vec<_>>().join(", "),
        human(end - start),
        config.window_minutes,
    );
    let user = common(events.iter().map(|e| e.user_id.as_ref()));
    Finding::over(
        Kind::SessionAnomaly,
        Severity::High,
        &Subject::Session(session),
        user,
        &events,
        explanation,
    )
}
