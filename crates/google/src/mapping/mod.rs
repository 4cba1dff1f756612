//! Google payloads into Gatehouse records: Directory users ([`user`]) and Reports login
//! activities ([`activity`], with the classifier that fills the provider-neutral
//! [`EventSignal`](gatehouse_core::model::EventSignal)). Pure functions, no I/O.

pub mod activity;
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

/// An RFC 3339 time (Google sends `2024-05-04T19:50:52.000Z`).
pub(crate) fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    text(value)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}
