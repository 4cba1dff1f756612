//! Sliding time windows over events sorted by time.
//!
//! A window is `[s, s + span]` (both ends inclusive) for a start `s` that is an event's time:
//! any set of events within `span` fits in the window that starts at its first event, so these
//! windows are the only ones worth checking.

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::SignInEvent;

use super::by_time;

/// The windows of length `span` whose start lies in `[from, to]`, one per distinct start time.
pub(crate) fn starting_between<'e, 'a>(
    events: &'e [&'a SignInEvent],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    span: Duration,
) -> Vec<&'e [&'a SignInEvent]> {
    let lo = events.partition_point(|e| e.time < from);
    let mut out = Vec::new();
    for (i, event) in events.iter().enumerate().skip(lo) {
        let start = event.time;
        if start > to {
            break;
        }
        if i > lo && events.get(i - 1).is_some_and(|prev| prev.time == start) {
            continue;
        }
        let end = events.partition_point(|e| e.time <= start + span);
        if let Some(window) = events.get(i..end) {
            out.push(window);
        }
    }
    out
}

/// The windows of length `span` that contain the instant `at`.
pub(crate) fn containing<'e, 'a>(
    events: &'e [&'a SignInEvent],
    at: DateTime<Utc>,
    span: Duration,
) -> Vec<&'e [&'a SignInEvent]> {
    starting_between(events, at - span, at, span)
}

/// Every event of `windows`, sorted, without duplicates.
pub(crate) fn union<'a>(windows: &[&[&'a SignInEvent]]) -> Vec<&'a SignInEvent> {
    let mut events: Vec<&SignInEvent> = windows.iter().flat_map(|w| w.iter().copied()).collect();
    events.sort_by(|a, b| by_time(a, b));
    events.dedup_by(|a, b| a.id == b.id);
    events
}

/// Time from a window's first to its last event.
pub(crate) fn length(window: &[&SignInEvent]) -> Duration {
    match (window.first(), window.last()) {
        (Some(first), Some(last)) => last.time - first.time,
        _ => Duration::zero(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64, id: &str) -> SignInEvent {
        let base = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "id": id, "tenant_id": "ten_1", "integration_id": "int_1", "provider": "idp",
            "provider_event_id": id, "time": base + Duration::minutes(minute),
            "event_type": "sign_in", "outcome": "failure",
            "signal": {"step": "first_factor"},
        }))
        .unwrap()
    }

    #[test]
    fn windows_start_at_distinct_times_and_include_both_ends() {
        let events = [
            at(0, "sin_a"),
            at(0, "sin_b"),
            at(3, "sin_c"),
            at(5, "sin_d"),
            at(9, "sin_e"),
        ];
        let refs: Vec<&SignInEvent> = events.iter().collect();
        let base = events[0].time;
        let ws = containing(&refs, base + Duration::minutes(5), Duration::minutes(5));
        let ids: Vec<Vec<&str>> = ws
            .iter()
            .map(|w| w.iter().map(|e| e.id.as_str()).collect())
            .collect();
        assert_eq!(
            ids,
            vec![
                vec!["sin_a", "sin_b", "sin_c", "sin_d"],
                vec!["sin_c", "sin_d"],
                vec!["sin_d", "sin_e"],
            ]
        );
        assert_eq!(length(ws[0]), Duration::minutes(5));
        assert_eq!(union(&ws).len(), 5);
    }
}
