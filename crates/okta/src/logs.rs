//! System Log pull as Okta documents it for polling (`docs/reference/system-log-query`): the
//! first request sets `since` and `sortOrder=ASCENDING` and no `until`, which makes it a polling
//! request whose pages never end: "a `next` link relation header is always present, even if
//! there are no new events". Every later pull follows the persisted `next` link exactly ("Don't
//! transfer data by manually paginating using `since` and `until` … always follow the `next`
//! links"), and an empty page means we are caught up.
//!
//! Cursor format: the absolute `next` URL Okta sent (`https://{org}/api/v1/logs?…&after=…`).

use chrono::{Duration, SecondsFormat};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::EventPage;
use url::Url;

use crate::connector::OktaConnector;
use crate::mapping::map_event_owned;

/// Events per page: the maximum the `limit` parameter takes ("Integer between 0 and 1000").
const PAGE_SIZE: &str = "1000";

/// The first pull's URL: `since` = now − the configured lookback.
pub(crate) fn first_url(connector: &OktaConnector) -> Url {
    let since =
        connector.clock.now() - Duration::hours(connector.settings.system_log_lookback_hours);
    let mut url = connector.endpoint(&["api", "v1", "logs"]);
    url.query_pairs_mut()
        .append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Millis, true))
        .append_pair("sortOrder", "ASCENDING")
        .append_pair("limit", PAGE_SIZE);
    url
}

pub(crate) async fn signins_page(
    connector: &OktaConnector,
    cursor: Option<&str>,
) -> Result<EventPage, ConnectorError> {
    if !connector.settings.ingest_system_log {
        return Err(ConnectorError::Unsupported(
            "System Log pulls (ingest_system_log is false)",
        ));
    }
    let collection = connector.endpoint(&["api", "v1", "logs"]);
    let url = match cursor {
        Some(cursor) => connector.same_org(cursor, collection.path())?,
        None => first_url(connector),
    };
    let (records, next) = connector
        .get_page("logs", &url, "reading the System Log")
        .await?;
    let caught_up = records.is_empty();
    let mut events = Vec::with_capacity(records.len());
    for record in records {
        match map_event_owned(record) {
            Some(event) => events.push(event),
            None => {
                tracing::warn!("skipping a System Log event without uuid, eventType or published")
            }
        }
    }
    let next_cursor = match next {
        Some(next) => Some(String::from(next)),
        None => {
            // Okta promises a `next` link on every polling page; without one, stay where we are
            // so the next pull re-reads this page (the engine's dedupe absorbs the repeat).
            tracing::warn!("okta System Log page without a next link; keeping the cursor");
            Some(url.to_string())
        }
    };
    // Without a new next link, report caught up so the engine does not spin on the same page.
    let caught_up = caught_up || next_cursor.as_deref() == Some(url.as_str());
    tracing::debug!(
        events = events.len(),
        caught_up,
        "okta System Log page pulled"
    );
    Ok(EventPage {
        events,
        next_cursor,
        caught_up,
    })
}
