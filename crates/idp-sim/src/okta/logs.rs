//! `GET /api/v1/logs` with Okta's two request kinds.
//!
//! Polling (no `until`, ASCENDING): events in persistence order, `since`
//! bounds persistence time, and a `next` link is ALWAYS present — an empty
//! page means nothing new yet, and events appended later show up when the
//! link is followed. Bounded (`until` given, or DESCENDING): events ordered
//! and bounded by `published`, finite pages. `since` and `after` exclude each
//! other; data older than 90 days is not returned; `since` more than 180 days
//! back is refused.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::clock::{fmt_ms, parse_ts};
use super::dialect::{self, Dialect};
use super::errors::OktaError;
use super::filter::Expr;
use super::http::{add_link, limit, url_with, Params};
use super::ratelimit::EndpointFamily;
use super::routes::{base, page_size};
use super::state::{EventResolver, StoredEvent};
use super::OktaSim;

const PATH: &str = "/api/v1/logs";

/// What to match besides time.
struct Matcher {
    filter: Option<Expr>,
    keywords: Vec<String>,
    oldest_ms: i64,
}

impl Matcher {
    fn hit(&self, e: &StoredEvent) -> bool {
        if e.published_ms < self.oldest_ms {
            return false;
        }
        let mut r = EventResolver::new(e);
        if let Some(f) = &self.filter {
            if !f.matches(&mut |p| r.resolve(p), false) {
                return false;
            }
        }
        if self.keywords.is_empty() {
            return true;
        }
        let v = r.value();
        self.keywords.iter().all(|k| keyword_hit(v, k))
    }
}

/// Okta matches keywords case-insensitively against attribute values, whole
/// or split on spaces and hyphens.
fn keyword_hit(v: &Value, kw: &str) -> bool {
    match v {
        Value::String(s) => {
            let s = s.to_lowercase();
            s == kw
                || s.split_whitespace()
                    .any(|w| w == kw || w.split('-').any(|p| p == kw))
        }
        Value::Number(n) => n.to_string() == kw,
        Value::Array(a) => a.iter().any(|x| keyword_hit(x, kw)),
        Value::Object(m) => m.values().any(|x| keyword_hit(x, kw)),
        _ => false,
    }
}

fn date_param(p: &Params, name: &str) -> Result<Option<DateTime<Utc>>, OktaError> {
    match p.get(name) {
        None | Some("") => Ok(None),
        Some(raw) => parse_ts(raw).map(Some).ok_or_else(|| {
            OktaError::validation(&format!(
                "'{name}': The date format in your query is not recognized. Please enter dates using ISO8601 string format. '{name}': must be a valid date-time or empty."
            ))
            .with_cause(format!("{name}: The date format in your query is not recognized. Please enter dates using ISO8601 string format."))
            .with_cause(format!("{name}: must be a valid date-time or empty."))
        }),
    }
}

fn keywords(p: &Params) -> Result<Vec<String>, OktaError> {
    let words: Vec<String> = p
        .get("q")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    if words.iter().any(|w| w.chars().count() > 40) {
        return Err(OktaError::validation("'q': Freeform search cannot contain items longer than 40 characters. Please shorten the items in your search or use an advanced filter to query by specific fields."));
    }
    if words.len() > 10 {
        return Err(OktaError::validation(
            "'q': Freeform search cannot contain more than 10 items.",
        ));
    }
    Ok(words)
}

fn bad_cursor() -> OktaError {
    OktaError::validation("after").with_cause("after: The cursor is not valid for this query")
}

/// `GET /api/v1/logs`.
pub async fn list_logs(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    let p = Params::parse(raw.as_deref());
    let now = sim.clock().now();
    if p.get("since").is_some() && p.get("after").is_some() {
        return Err(OktaError::bad_combination(
            "since and after are mutually exclusive",
        ));
    }
    let descending = match p.get("sortOrder") {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => {
            return Err(OktaError::validation("sortOrder")
                .with_cause("sortOrder: must be ASCENDING or DESCENDING"))
        }
    };
    let lim = limit(&p, 100, 0, 1000)?;
    let per_page = page_size(&sim, EndpointFamily::Logs, lim);
    let since = date_param(&p, "since")?;
    let until = date_param(&p, "until")?;
    if since.is_some_and(|s| s < now - Duration::days(180)) {
        return Err(OktaError::scim(
            "Invalid parameter: The since parameter is over 180 days prior to the current day.",
        ));
    }
    let matcher = Matcher {
        filter: p
            .get("filter")
            .map(|f| dialect::parse(Dialect::Logs, f))
            .transpose()?,
        keywords: keywords(&p)?,
        oldest_ms: (now - Duration::days(90)).timestamp_millis(),
    };
    let base = base(&sim, &headers);
    let carried = |after: Option<String>, until: Option<String>| {
        vec![
            ("filter", p.get("filter").map(String::from)),
            ("q", p.get("q").map(String::from)),
            ("sortOrder", p.get("sortOrder").map(String::from)),
            ("until", until),
            ("limit", Some(lim.to_string())),
            ("after", after),
        ]
    };
    let self_url = url_with(
        &base,
        PATH,
        &[
            ("since", p.get("since").map(String::from)),
            ("until", p.get("until").map(String::from)),
            ("filter", p.get("filter").map(String::from)),
            ("q", p.get("q").map(String::from)),
            ("sortOrder", p.get("sortOrder").map(String::from)),
            ("limit", Some(lim.to_string())),
            ("after", p.get("after").map(String::from)),
        ],
    );

    let store = sim.store();
    let (items, next) = if until.is_none() && !descending {
        let start = match p.get("after") {
            Some(a) => poll_cursor(a).ok_or_else(bad_cursor)?,
            None => {
                let since_ms = since.unwrap_or(now - Duration::days(7)).timestamp_millis();
                store.events.partition_point(|e| e.persisted_ms < since_ms) as u64
            }
        };
        let (items, last_seq) = poll(&store.events, start, per_page, &matcher);
        let persisted = last_seq
            .checked_sub(1)
            .and_then(|i| store.events.get(i as usize))
            .map_or(now.timestamp_millis(), |e| e.persisted_ms);
        // Polling never ends: the next link is always there.
        (items, Some(format!("{persisted}_{last_seq}")))
    } else {
        let until_ms = until.unwrap_or(now).timestamp_millis();
        let (position, since_ms) = match p.get("after") {
            Some(a) => {
                let (pub_ms, seq, since_ms) = bounded_cursor(a).ok_or_else(bad_cursor)?;
                (Some((pub_ms, seq)), since_ms)
            }
            None => (
                None,
                since.map_or(until_ms - Duration::days(7).num_milliseconds(), |s| {
                    s.timestamp_millis()
                }),
            ),
        };
        bounded(
            &store.events,
            since_ms,
            until_ms,
            position,
            descending,
            per_page,
            &matcher,
        )
    };
    drop(store);
    // A DESCENDING query without `until` is pinned to "now" so later pages keep the same window.
    let next_until = match p.get("until") {
        Some(u) => Some(u.to_string()),
        None if descending => Some(fmt_ms(now.timestamp_millis())),
        None => None,
    };
    let next_url = next.map(|cursor| url_with(&base, PATH, &carried(Some(cursor), next_until)));
    let mut resp = Json(Value::Array(items)).into_response();
    add_link(resp.headers_mut(), &self_url, "self");
    if let Some(n) = next_url {
        add_link(resp.headers_mut(), &n, "next");
    }
    Ok(resp)
}

/// `"{persisted_ms}_{seq}"` → seq.
fn poll_cursor(a: &str) -> Option<u64> {
    let mut parts = a.split('_');
    let (_ms, seq, rest) = (
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<u64>().ok()?,
        parts.next(),
    );
    rest.is_none().then_some(seq)
}

/// `"{published_ms}_{seq}_{since_ms}"`.
fn bounded_cursor(a: &str) -> Option<(i64, u64, i64)> {
    let mut parts = a.split('_');
    let out = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    parts.next().is_none().then_some(out)
}

/// Events after persistence position `start`; returns the page and the last
/// position examined (the next cursor).
fn poll(events: &[StoredEvent], start: u64, lim: usize, m: &Matcher) -> (Vec<Value>, u64) {
    let mut items = Vec::new();
    let mut last = start;
    for e in events.iter().skip(start as usize) {
        if items.len() >= lim {
            break;
        }
        last = e.seq;
        if m.hit(e) {
            items.push(e.value());
        }
    }
    (items, last)
}

fn bounded(
    events: &[StoredEvent],
    since_ms: i64,
    until_ms: i64,
    position: Option<(i64, u64)>,
    descending: bool,
    lim: usize,
    m: &Matcher,
) -> (Vec<Value>, Option<String>) {
    let mut hits: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| e.published_ms >= since_ms && e.published_ms < until_ms)
        .filter(|e| match position {
            Some(pos) if descending => (e.published_ms, e.seq) < pos,
            Some(pos) => (e.published_ms, e.seq) > pos,
            None => true,
        })
        .filter(|e| m.hit(e))
        .collect();
    hits.sort_by_key(|e| (e.published_ms, e.seq));
    if descending {
        hits.reverse();
    }
    let more = hits.len() > lim;
    hits.truncate(lim);
    let next = if more {
        hits.last()
            .map(|e| format!("{}_{}_{}", e.published_ms, e.seq, since_ms))
    } else {
        None
    };
    (hits.into_iter().map(StoredEvent::value).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keywords_split_on_spaces_and_hyphens() {
        let v = json!({"client": {"geographicalContext": {"city": "San Francisco"}}, "transaction": {"id": "XOxBw-2JIRnCFd0gG0GjHAAABjY"}});
        assert!(keyword_hit(&v, "san"));
        assert!(keyword_hit(&v, "francisco"));
        assert!(keyword_hit(&v, "xoxbw"));
        assert!(keyword_hit(&v, "xoxbw-2jirncfd0gg0gjhaaabjy"));
        assert!(!keyword_hit(&v, "fran"));
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(poll_cursor("1627500044869_17"), Some(17));
        assert_eq!(poll_cursor("1627500044869_17_3"), None);
        assert_eq!(bounded_cursor("5_6_7"), Some((5, 6, 7)));
        assert_eq!(bounded_cursor("x"), None);
    }
}
