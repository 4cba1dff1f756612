//! The cursor of a polled event log (sign-ins, login activity, Directory Insights): a watermark
//! every event before which (less an overlap for events that reach the log late) has been read,
//! and the round in progress between its pages. A round re-reads from `watermark − overlap`;
//! the watermark moves, to the newest event the round saw, only when the round ends, so a
//! failure mid-round resumes it and late events within the overlap are read again (the engine
//! stores each event once).

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::provider::ConnectorError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Where a log pull stands; `R` is how the provider continues a round (a next link, a page
/// token, a `search_after`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "R: DeserializeOwned"))]
pub struct LogCursor<R> {
    /// Every event before `watermark − overlap` has been read.
    pub watermark: DateTime<Utc>,
    /// The round in progress: how its next page is asked for.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub round: Option<R>,
    /// The newest event time the round in progress has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<DateTime<Utc>>,
}

impl<R> LogCursor<R> {
    /// A first pull's cursor: nothing read before `watermark`.
    pub fn start(watermark: DateTime<Utc>) -> Self {
        Self {
            watermark,
            round: None,
            newest: None,
        }
    }

    /// Where a round starting from this cursor reads from, re-reading `overlap`.
    pub fn from(&self, overlap: Duration) -> DateTime<Utc> {
        self.watermark - overlap
    }

    /// The cursor after a page that saw `newest` and continues with `next` (`None`: the round
    /// ended, and the watermark moves to the newest event it saw).
    pub fn after_page(&self, newest: Option<DateTime<Utc>>, next: Option<R>) -> Self {
        let newest = self.newest.max(newest);
        match next {
            Some(round) => Self {
                watermark: self.watermark,
                round: Some(round),
                newest,
            },
            None => Self {
                watermark: self.watermark.max(newest.unwrap_or(self.watermark)),
                round: None,
                newest: None,
            },
        }
    }
}

impl<R: Serialize + DeserializeOwned> LogCursor<R> {
    /// The cursor stored after a page; `log` names the log in the error.
    pub fn parse(text: &str, log: &str) -> Result<Self, ConnectorError> {
        serde_json::from_str(text).map_err(|_| {
            ConnectorError::Protocol(format!("the {log} cursor is not this connector's"))
        })
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
