//! Confirms pushed login events in the Reports API before the engine acts on them: anyone
//! holding the integration's ingest token can push, but only Google writes the login report.
//!
//! A pushed event's id is the pull's, `{id.time}/{id.uniqueQualifier}` (`#n` for an
//! activity's n-th event). For each distinct `id.time`, one `activities.list` of the login
//! application with `startTime`/`endTime` a second either side of it (the API has no
//! `uniqueQualifier` parameter, so the answer is matched on `id.uniqueQualifier` and the event
//! id here, whatever else it holds); the account is the one the report names. The report lags
//! behind the push, so while some asked-for events are missing the lookup is made again after
//! 1 and 2 seconds; what is still missing then counts as unconfirmed. Ids not shaped like the
//! pull's (an RFC 3339 time, a decimal int64 qualifier, which may be negative) are never queried.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use gatehouse_core::provider::{Confirmation, ConfirmedEvent, ConnectorError};

use crate::auth::Scope;
use crate::connector::{list_page, GoogleConnector};
use crate::mapping::activity::map_fields;
use crate::signins::activities_url;

/// Waits between lookups while the report catches up with the push.
const LAG_RETRIES: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
/// At most this many ids are looked up (the engine asks for a handful).
const MAX_IDS: usize = 20;
/// Pages read per time window (a second of one customer's logins fits in one).
const MAX_PAGES: usize = 3;

/// The time and qualifier of a pull-shaped event id.
pub(crate) fn parse_id(id: &str) -> Option<(DateTime<Utc>, &str)> {
    let base = id.split_once('#').map_or(id, |(base, n)| {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            ""
        } else {
            base
        }
    });
    let (time, unique) = base.rsplit_once('/')?;
    // An int64 in decimal: Google's qualifiers may be negative.
    let digits = unique.strip_prefix('-').unwrap_or(unique);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let at = DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc);
    Some((at, unique))
}

pub(crate) async fn confirm_events(
    connector: &GoogleConnector,
    provider_event_ids: &[String],
) -> Result<Confirmation, ConnectorError> {
    let mut wanted: Vec<&str> = provider_event_ids
        .iter()
        .map(String::as_str)
        .filter(|id| parse_id(id).is_some())
        .take(MAX_IDS)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(Confirmation::default());
    }
    let mut times: Vec<DateTime<Utc>> = wanted
        .iter()
        .filter_map(|id| parse_id(id).map(|(t, _)| t))
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut waits = LAG_RETRIES.iter();
    loop {
        let mut confirmed = Vec::new();
        for at in &times {
            lookup(connector, *at, &wanted, &mut confirmed).await?;
        }
        confirmed.sort_by(|a: &ConfirmedEvent, b| a.provider_event_id.cmp(&b.provider_event_id));
        confirmed.dedup_by(|a, b| a.provider_event_id == b.provider_event_id);
        if confirmed.len() >= wanted.len() {
            return Ok(Confirmation { confirmed });
        }
        match waits.next() {
            Some(wait) => tokio::time::sleep(*wait).await,
            None => return Ok(Confirmation { confirmed }),
        }
    }
}

/// The asked-for events among the login activities within a second of `at`.
async fn lookup(
    connector: &GoogleConnector,
    at: DateTime<Utc>,
    wanted: &[&str],
    out: &mut Vec<ConfirmedEvent>,
) -> Result<(), ConnectorError> {
    let what = "confirming pushed events in the login report";
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut page_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = activities_url(connector);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("startTime", &stamp(at - chrono::Duration::seconds(1)))
                .append_pair("endTime", &stamp(at + chrono::Duration::seconds(1)))
                .append_pair("maxResults", "1000");
            if let Some(token) = &page_token {
                query.append_pair("pageToken", token);
            }
        }
        let value = connector
            .get_json(&[Scope::AuditReadonly], "reports", &url, what)
            .await?;
        let (items, next) = list_page(value, "items", what)?;
        for item in &items {
            for event in map_fields(item) {
                if wanted.contains(&event.provider_event_id.as_str()) {
                    out.push(ConfirmedEvent {
                        provider_event_id: event.provider_event_id,
                        external_user_id: event.external_user_id,
                        login: event.login,
                    });
                }
            }
        }
        match next {
            Some(next) if page_token.as_deref() != Some(next.as_str()) => page_token = Some(next),
            _ => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_pull_shaped_ids_are_looked_up() {
        let (at, unique) = parse_id("2019-05-22T20:03:42.047Z/239837479183").unwrap();
        assert_eq!(
            at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "2019-05-22T20:03:42.047Z"
        );
        assert_eq!(unique, "239837479183");
        assert_eq!(
            parse_id("2020-10-02T15:00:00Z/1#2").map(|(_, u)| u),
            Some("1")
        );
        assert_eq!(
            parse_id("2026-12-07T01:28:23.098Z/-2057850679371812955").map(|(_, u)| u),
            Some("-2057850679371812955")
        );
        for bad in [
            "",
            "239837479183",
            "2020-10-02T15:00:00Z/",
            "2020-10-02T15:00:00Z/-",
            "2020-10-02T15:00:00Z/--1",
            "2020-10-02T15:00:00Z/1&filters=x",
            "yesterday/1",
            "2020-10-02T15:00:00Z/1#",
            "2020-10-02T15:00:00Z/1#x",
        ] {
            assert!(parse_id(bad).is_none(), "{bad}");
        }
    }
}
