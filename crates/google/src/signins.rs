//! Login activity pull: `GET /admin/reports/v1/activity/users/all/applications/login
//! ?startTime={from}&maxResults=1000&pageToken=…` (`activities.list`: newest first, at most
//! 1,000 per page, `nextPageToken` to continue; scope `admin.reports.audit.readonly`).
//!
//! The Reports API has no change feed, so the report is polled in rounds. A round reads every
//! activity from `watermark − overlap` on, page by page (the round's `startTime` is kept in the
//! cursor, since a page token continues only the query it came from); when it ends, the
//! watermark moves to the newest `id.time` the round saw. Google documents that login events
//! reach the report hours after they happen ("Data retention and lag times"), so the overlap
//! defaults to three hours (`signin_overlap_minutes`); the engine stores each
//! `{time}/{uniqueQualifier}` once, so the re-read costs only bandwidth and quota.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::EventPage;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::auth::Scope;
use gatehouse_connect::watermark::LogCursor;

use crate::connector::{list_page, GoogleConnector};
use crate::mapping::activity::map_activity;

/// Activities per page: the API's maximum.
const PAGE_SIZE: &str = "1000";
/// How far each round re-reads before the watermark unless `signin_overlap_minutes` says
/// otherwise: Google's login report lags by hours.
pub const OVERLAP_MINUTES: i64 = 180;

/// Where the login-activity pull stands: the round continues by page token.
pub type SigninCursor = LogCursor<Round>;

/// A round between its pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    pub from: DateTime<Utc>,
    pub page_token: String,
}

/// What the cursor's error calls this log.
const LOG: &str = "login activity";

/// `…/activity/users/all/applications/login`.
pub(crate) fn activities_url(connector: &GoogleConnector) -> Url {
    connector.endpoint(&[
        "admin",
        "reports",
        "v1",
        "activity",
        "users",
        "all",
        "applications",
        "login",
    ])
}

pub(crate) async fn signins_page(
    connector: &GoogleConnector,
    cursor: Option<&str>,
) -> Result<EventPage, ConnectorError> {
    if !connector.settings.ingest_signins {
        return Err(ConnectorError::Unsupported(
            "login activity pulls (ingest_signins is false)",
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
    let mut url = activities_url(connector);
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair(
                "startTime",
                &from.to_rfc3339_opts(SecondsFormat::Millis, true),
            )
            .append_pair("maxResults", PAGE_SIZE);
        if let Some(round) = &state.round {
            query.append_pair("pageToken", &round.page_token);
        }
    }
    let value = connector
        .get_json(
            &[Scope::AuditReadonly],
            "reports",
            &url,
            "reading the login report",
        )
        .await?;
    let (records, next) = list_page(value, "items", "reading the login report")?;
    let next = match next {
        Some(next) if state.round.as_ref().is_some_and(|r| r.page_token == next) => {
            tracing::warn!("login report page token repeats; ending the round");
            None
        }
        other => other,
    };
    let mut events = Vec::with_capacity(records.len());
    let mut newest: Option<DateTime<Utc>> = None;
    for record in &records {
        let mapped = map_activity(record);
        if mapped.is_empty() && record.get("id").is_none() {
            tracing::warn!("skipping a login activity without an id");
        }
        for event in mapped {
            newest = newest.max(Some(event.time));
            events.push(event);
        }
        // Activities that map to nothing (a logout) still move the watermark.
        if let Some(t) = record
            .get("id")
            .and_then(|i| crate::mapping::time(i.get("time")))
        {
            newest = newest.max(Some(t));
        }
    }
    let after = state.after_page(newest, next.map(|page_token| Round { from, page_token }));
    let caught_up = after.round.is_none();
    tracing::debug!(
        events = events.len(),
        caught_up,
        "google login activity page pulled"
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
        let from = at("2024-05-01T07:00:00Z");
        let round = |page_token: &str| Round {
            from,
            page_token: page_token.into(),
        };
        let mid = start.after_page(Some(at("2024-05-01T10:30:00Z")), Some(round("p2")));
        assert_eq!(mid.watermark, start.watermark);
        assert_eq!(mid.round.as_ref().unwrap().from, from);
        assert_eq!(SigninCursor::parse(&mid.to_text(), LOG).unwrap(), mid);
        let end = mid.after_page(Some(at("2024-05-01T08:00:00Z")), None);
        assert_eq!(end.watermark, at("2024-05-01T10:30:00Z"));
        assert_eq!((end.round, end.newest), (None, None));
        assert_eq!(start.after_page(None, None).watermark, start.watermark);
        assert!(SigninCursor::parse("CAESBgjZ", LOG).is_err());
    }
}
