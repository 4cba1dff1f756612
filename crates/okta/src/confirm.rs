//! Confirms pushed events in the System Log before the engine acts on them: anyone holding the
//! integration's ingest token can push an event hook, but only Okta writes its System Log.
//!
//! One bounded query (`docs/reference/system-log-query`): `GET /api/v1/logs` with
//! `filter=uuid eq "…" or uuid eq "…"`, `since` a week back and `sortOrder=DESCENDING` (a bounded
//! request: `since` bounds `published`, `until` defaults to Okta's now, pages end). Okta writes an
//! event hook's events to the System Log too, but the log can lag a push by a few seconds, so an
//! answer that holds none of the events is asked again after 1, 2 and 4 seconds; then the
//! events count as unconfirmed. Ids that are not shaped like Okta's (letters, digits, `-`, `_`)
//! are never put in the filter: a forged id must not be able to widen the query.

use std::time::Duration;

use chrono::SecondsFormat;
use gatehouse_core::provider::{Confirmation, ConfirmedEvent, ConnectorError};

use crate::connector::OktaConnector;
use crate::mapping::map_event_owned;

/// How far back the events may be: an automatic action runs minutes after its burst, and one
/// that waited for approval longer than this is confirmed by the person approving it anyway.
const SINCE_DAYS: i64 = 7;

/// Waits between lookups while Okta's log catches up with its pushes.
const LAG_RETRIES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// At most this many ids in one filter (the engine asks for a handful).
const MAX_IDS: usize = 20;

/// Whether `id` can be an Okta event uuid and is safe inside a filter's quotes.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `uuid eq "a" or uuid eq "b"`.
fn filter(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("uuid eq \"{id}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

pub(crate) async fn confirm_events(
    connector: &OktaConnector,
    provider_event_ids: &[String],
) -> Result<Confirmation, ConnectorError> {
    let ids: Vec<&str> = provider_event_ids
        .iter()
        .map(String::as_str)
        .filter(|id| plausible_id(id))
        .take(MAX_IDS)
        .collect();
    if ids.is_empty() {
        return Ok(Confirmation::default());
    }
    let since = connector.clock.now() - chrono::Duration::days(SINCE_DAYS);
    let mut url = connector.endpoint(&["api", "v1", "logs"]);
    url.query_pairs_mut()
        .append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Millis, true))
        .append_pair("filter", &filter(&ids))
        .append_pair("sortOrder", "DESCENDING")
        .append_pair("limit", &ids.len().to_string());
    let mut waits = LAG_RETRIES.iter();
    loop {
        let (records, _) = connector
            .get_page("logs", &url, "confirming pushed events in the System Log")
            .await?;
        let confirmed: Vec<ConfirmedEvent> = records
            .into_iter()
            .filter_map(map_event_owned)
            // Okta answered the filter; keep only what was asked, whatever it sent.
            .filter(|e| ids.contains(&e.provider_event_id.as_str()))
            .map(|e| ConfirmedEvent {
                provider_event_id: e.provider_event_id,
                external_user_id: e.external_user_id,
                login: e.login,
            })
            .collect();
        if !confirmed.is_empty() {
            return Ok(Confirmation { confirmed });
        }
        match waits.next() {
            Some(wait) => tokio::time::sleep(*wait).await,
            None => return Ok(Confirmation::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_okta_shaped_ids_reach_the_filter() {
        assert!(plausible_id("5c4f0b2e-1d7c-11ef-9c1a-0b1e2f3a4b5c"));
        assert!(plausible_id("XOxBw-2JIRnCFd0gG0GjHAAABjY"));
        assert!(!plausible_id(""));
        assert!(!plausible_id("x\" or eventType eq \"user.session.start"));
        assert!(!plausible_id(&"a".repeat(65)));
        assert_eq!(filter(&["a", "b"]), "uuid eq \"a\" or uuid eq \"b\"");
    }
}
