//! Directory Insights pull: `POST /insights/directory/v1/events` with `{"service": [...],
//! "start_time": from, "limit": 1000, "sort": "ASC", "search_after": [...]}`.
//!
//! Directory Insights has no change feed, so it is polled in rounds. A round asks for every
//! event from `watermark − overlap` on, oldest first; each answer carries `X-Search_after`,
//! which continues the identical query ("repeat the identical query adding `search_after`";
//! the round's `start_time` is kept in the cursor for that). A round ends with an answer of
//! fewer than `limit` events; the watermark then moves to the newest `timestamp` the round saw.
//! Events reach the log late, so each round re-reads `signin_overlap_minutes` (default 10)
//! before the watermark; the engine stores each event `id` once, and a page never holds one
//! id twice.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gatehouse_connect::watermark::LogCursor;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::EventPage;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::connector::JumpCloudConnector;
use crate::mapping::event::map_event;
use crate::mapping::{text, time};

/// Events per answer: the documented default (the maximum is 10,000).
pub const PAGE_SIZE: usize = 1000;
/// How far each round re-reads before the watermark unless `signin_overlap_minutes` says
/// otherwise.
pub const OVERLAP_MINUTES: i64 = 10;
/// The services whose events carry sign-ins: the User and Admin Portals and directory changes
/// (`directory`), SAML applications (`sso`), RADIUS and LDAP.
pub const SERVICES: &[&str] = &["directory", "sso", "radius", "ldap"];

/// Where the Directory Insights pull stands: the round continues by `search_after`.
pub type SigninCursor = LogCursor<Round>;

/// A round between its pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    pub from: DateTime<Utc>,
    pub search_after: Value,
}

/// What the cursor's error calls this log.
const LOG: &str = "Directory Insights";

/// The body of an events query.
pub(crate) fn query(from: DateTime<Utc>, limit: usize, search_after: Option<&Value>) -> Value {
    let mut body = json!({
        "service": SERVICES,
        "start_time": from.to_rfc3339_opts(SecondsFormat::Millis, true),
        "limit": limit,
        "sort": "ASC",
    });
    if let (Some(after), Some(map)) = (search_after, body.as_object_mut()) {
        map.insert("search_after".into(), after.clone());
    }
    body
}

/// One Directory Insights answer: its events, and where the round goes on from.
#[derive(Debug)]
pub(crate) struct Answer {
    pub records: Vec<Value>,
    /// For a full page, its `X-Search_after`: a non-empty JSON array other than the one
    /// this query continued from. `None` ends the round.
    pub next: Option<Value>,
}

/// Reads an answer (`value`, a JSON list or `null`) and its `X-Search_after` header. A full
/// page without a usable header, or one repeating `previous`, ends the round rather than
/// reading the same page for ever.
pub(crate) fn answer(
    value: Value,
    search_after: Option<&str>,
    previous: Option<&Value>,
    page_size: usize,
) -> Result<Answer, ConnectorError> {
    let records = match value {
        Value::Array(records) => records,
        Value::Null => Vec::new(),
        _ => {
            return Err(ConnectorError::Protocol(
                "reading Directory Insights events: the answer is not a list".into(),
            ))
        }
    };
    if records.len() < page_size {
        return Ok(Answer {
            records,
            next: None,
        });
    }
    let header = search_after
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()));
    let next = match header {
        Some(after) if previous == Some(&after) => {
            tracing::warn!("Directory Insights search_after repeats; ending the round");
            None
        }
        Some(after) => Some(after),
        None => {
            tracing::warn!(
                "a full Directory Insights page came without X-Search_after; ending the round"
            );
            None
        }
    };
    Ok(Answer { records, next })
}

pub(crate) async fn signins_page(
    connector: &JumpCloudConnector,
    cursor: Option<&str>,
) -> Result<EventPage, ConnectorError> {
    if !connector.settings.ingest_signins {
        return Err(ConnectorError::Unsupported(
            "Directory Insights pulls (ingest_signins is false)",
        ));
    }
    let overlap = Duration::minutes(connector.settings.signin_overlap_minutes);
    let state = match cursor {
        Some(text) => SigninCursor::parse(text, LOG)?,
        None => SigninCursor::start(
            connector.clock.now() - Duration::hours(connector.settings.signin_lookback_hours)
                + overlap,
        ),
    };
    let from = state.round.as_ref().map_or(state.from(overlap), |r| r.from);
    let body = query(
        from,
        PAGE_SIZE,
        state.round.as_ref().map(|r| &r.search_after),
    );
    let url = connector.insights(&["events"]);
    let (value, headers) = connector
        .call_json(
            "insights",
            Method::POST,
            &url,
            Some(&body),
            "reading Directory Insights events",
        )
        .await?;
    let header = headers.get("x-search_after").and_then(|v| v.to_str().ok());
    let previous = state.round.as_ref().map(|r| &r.search_after);
    let Answer { records, next } = answer(value, header, previous, PAGE_SIZE)?;
    let mut events = Vec::with_capacity(records.len());
    let mut seen = HashSet::new();
    let mut newest: Option<DateTime<Utc>> = None;
    for record in &records {
        // Events that map to nothing still move the watermark.
        newest = newest.max(time(record.get("timestamp")));
        let Some(id) = text(record.get("id")) else {
            tracing::warn!("skipping a Directory Insights event without an id");
            continue;
        };
        if !seen.insert(id.to_owned()) {
            continue;
        }
        if let Some(event) = map_event(record) {
            events.push(event);
        }
    }
    let after = state.after_page(
        newest,
        next.map(|search_after| Round { from, search_after }),
    );
    let caught_up = after.round.is_none();
    tracing::debug!(
        read = records.len(),
        events = events.len(),
        caught_up,
        "jumpcloud Directory Insights page pulled"
    );
    Ok(EventPage {
        events,
        next_cursor: Some(after.to_text()),
        caught_up,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_round_moves_the_watermark_only_when_it_ends() {
        let start = SigninCursor::start(at("2024-05-01T10:00:00Z"));
        let from = at("2024-05-01T09:50:00Z");
        let after = json!([1576181718000_i64, "DZrPyW8BNsa9iKWoOm7h"]);
        let round = Round {
            from,
            search_after: after.clone(),
        };
        let mid = start.after_page(Some(at("2024-05-01T10:30:00Z")), Some(round));
        assert_eq!(mid.watermark, start.watermark);
        assert_eq!(mid.round.as_ref().unwrap().search_after, after);
        assert_eq!(SigninCursor::parse(&mid.to_text(), LOG).unwrap(), mid);
        let end = mid.after_page(Some(at("2024-05-01T10:05:00Z")), None);
        assert_eq!(end.watermark, at("2024-05-01T10:30:00Z"));
        assert_eq!((end.round, end.newest), (None, None));
        assert!(SigninCursor::parse("[1,2]", LOG).is_err());
    }

    #[test]
    fn a_full_answer_goes_on_from_its_header_unless_it_repeats() {
        let page = || json!([{"id": "a"}, {"id": "b"}]);
        let next = answer(page(), Some(r#"[2, "b"]"#), None, 2).unwrap();
        assert_eq!((next.records.len(), next.next), (2, Some(json!([2, "b"]))));
        let repeated = answer(page(), Some(r#"[2, "b"]"#), Some(&json!([2, "b"])), 2).unwrap();
        assert_eq!(repeated.next, None);
        assert_eq!(answer(page(), Some("[]"), None, 2).unwrap().next, None);
        assert_eq!(
            answer(page(), Some(r#"[2, "b"]"#), None, 3).unwrap().next,
            None
        );
        assert!(answer(Value::Null, None, None, 2)
            .unwrap()
            .records
            .is_empty());
        assert!(answer(json!({"results": []}), None, None, 2).is_err());
    }

    /// Any header text, and a JSON array or text that parses to one.
    fn header() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(None),
            any::<String>().prop_map(Some),
            gatehouse_connect::fuzz::json().prop_map(|v| Some(v.to_string())),
        ]
    }

    proptest::proptest! {
        #![proptest_config(gatehouse_connect::fuzz::config(64))]

        /// An answer keeps every event of its list or is refused (only when it is neither a
        /// list nor `null`); a round goes on only from a full page, with a non-empty array
        /// that is not the one it came from.
        #[test]
        fn any_insights_answer_is_read_or_refused(
            value in gatehouse_connect::fuzz::json(),
            header in header(),
            previous in proptest::option::of(gatehouse_connect::fuzz::json()),
            page_size in 0usize..4,
        ) {
            match answer(value.clone(), header.as_deref(), previous.as_ref(), page_size) {
                Ok(read) => {
                    let listed = value.as_array().cloned().unwrap_or_default();
                    proptest::prop_assert!(value.is_array() || value.is_null());
                    proptest::prop_assert_eq!(&read.records, &listed);
                    if let Some(next) = &read.next {
                        proptest::prop_assert!(listed.len() >= page_size);
                        proptest::prop_assert!(next.as_array().is_some_and(|a| !a.is_empty()));
                        proptest::prop_assert!(previous.as_ref() != Some(next));
                        let sent: Option<Value> =
                            header.as_deref().and_then(|h| serde_json::from_str(h).ok());
                        proptest::prop_assert_eq!(sent.as_ref(), Some(next));
                    }
                }
                Err(_) => proptest::prop_assert!(!(value.is_array() || value.is_null())),
            }
        }
    }

    #[test]
    fn the_query_continues_with_search_after() {
        let from = at("2024-05-01T09:50:00Z");
        let body = query(from, 1000, None);
        assert_eq!(body["start_time"], "2024-05-01T09:50:00.000Z");
        assert_eq!(body["sort"], "ASC");
        assert_eq!(body["limit"], 1000);
        assert!(body.get("search_after").is_none());
        let body = query(from, 1000, Some(&json!([1, "x"])));
        assert_eq!(body["search_after"], json!([1, "x"]));
    }
}
