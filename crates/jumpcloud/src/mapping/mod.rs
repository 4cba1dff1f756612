//! JumpCloud payloads into Gatehouse records: system users ([`user`]), user groups
//! ([`group`]) and Directory Insights events ([`event`], with the classifier that fills the
//! provider-neutral [`EventSignal`](gatehouse_core::model::EventSignal)). Pure functions, no I/O.

pub mod event;
pub mod group;
pub mod user;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A non-empty, trimmed string.
pub(crate) fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An RFC 3339 time (JumpCloud sends `2022-04-04T15:56:05.382Z`).
pub(crate) fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    text(value)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}
