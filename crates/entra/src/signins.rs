//! Sign-in log pull: `GET /v1.0/auditLogs/signIns?$filter=createdDateTime ge {from}&$top=1000`
//! (docs "List signIns": newest first, at most 1,000 per page, `@odata.nextLink` to follow;
//! needs AuditLog.Read.All and Entra ID P1).
//!
//! Graph offers no change feed for sign-ins (they are not a change-notification resource), so
//! the log is polled in rounds. A round reads every sign-in from `watermark − overlap` on,
//! following `@odata.nextLink` page by page; when it ends, the watermark moves to the newest
//! `createdDateTime` the round saw. The overlap re-reads the last minutes of every round because
//! Graph records sign-ins minutes after they happen; the engine stores each event id once, so
//! the re-read costs only bandwidth.
//!
//! The cursor is this connector's own JSON ([`SigninCursor`]): the watermark, and during a round
//! the next page's link and the newest time seen so far, so a failed page resumes where it
//! stopped.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gatehouse_connect::watermark::LogCursor;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::EventPage;
use url::Url;

use crate::connector::{EntraConnector, ODataPage};
use crate::mapping::signin::map_signin;

/// Events per page: Graph's maximum for sign-ins.
const PAGE_SIZE: &str = "1000";
/// How far each round re-reads before the watermark unless `signin_overlap_minutes` says
/// otherwise. Microsoft gave 5 minutes for 99 % of sign-ins to reach the log; operators report
/// non-interactive sign-ins arriving 15–30 minutes late. A sign-in that arrives later than the
/// overlap behind newer ones is missed, and re-reading costs a page per overlap's worth of
/// sign-ins each round (the engine stores each sign-in once), so the default errs long.
pub const OVERLAP_MINUTES: i64 = 30;

/// Where the sign-in pull stands: the round continues by Graph's next link.
pub type SigninCursor = LogCursor<String>;

/// What the cursor's error calls this log.
const LOG: &str = "sign-in";

pub(crate) fn first_url(connector: &EntraConnector, from: DateTime<Utc>) -> Url {
    let mut url = connector.endpoint(&["auditLogs", "signIns"]);
    url.query_pairs_mut()
        .append_pair(
            "$filter",
            &format!(
                "createdDateTime ge {}",
                from.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        )
        .append_pair("$top", PAGE_SIZE);
    url
}

pub(crate) async fn signins_page(
    connector: &EntraConnector,
    cursor: Option<&str>,
) -> Result<EventPage, ConnectorError> {
    if !connector.settings.ingest_signins {
        return Err(ConnectorError::Unsupported(
            "sign-in log pulls (ingest_signins is false)",
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
    let collection = connector.endpoint(&["auditLogs", "signIns"]);
    let url = match &state.round {
        Some(next) => connector.same_graph(next, &collection)?,
        None => first_url(connector, state.from(overlap)),
    };
    let value = connector
        .get_json("signins", &url, "reading the sign-in log", &[])
        .await?;
    let page = ODataPage::from_value(value, "reading the sign-in log")?;
    let next = match page.next {
        Some(next) if next != url.as_str() => {
            Some(connector.same_graph(&next, &collection)?.to_string())
        }
        Some(_) => {
            tracing::warn!("sign-in page links to itself; ending the round");
            None
        }
        None => None,
    };
    let mut events = Vec::with_capacity(page.items.len());
    for record in page.items {
        match map_signin(record) {
            Some(event) => events.push(event),
            None => tracing::warn!("skipping a sign-in without id or createdDateTime"),
        }
    }
    let newest = events.iter().map(|e| e.time).max();
    let after = state.after_page(newest, next);
    let caught_up = after.round.is_none();
    tracing::debug!(
        events = events.len(),
        caught_up,
        "entra sign-in page pulled"
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
        assert_eq!(
            start.from(Duration::minutes(15)),
            at("2024-05-01T09:45:00Z")
        );
        // Newest first: the first page holds the newest event of the round.
        let mid = start.after_page(
            Some(at("2024-05-01T10:30:00Z")),
            Some("https://g/next".into()),
        );
        assert_eq!(
            mid.watermark, start.watermark,
            "a failed next page re-reads from the same place"
        );
        assert_eq!(mid.round.as_deref(), Some("https://g/next"));
        let text = mid.to_text();
        assert_eq!(SigninCursor::parse(&text, LOG).unwrap(), mid);
        let end = mid.after_page(Some(at("2024-05-01T10:05:00Z")), None);
        assert_eq!(end.watermark, at("2024-05-01T10:30:00Z"));
        assert_eq!((end.round, end.newest), (None, None));
        let empty = start.after_page(None, None);
        assert_eq!(
            empty.watermark, start.watermark,
            "an empty round keeps the watermark"
        );
        assert!(SigninCursor::parse("https://graph.microsoft.com/x", LOG).is_err());
    }
}
