//! Okta's timestamps (`YYYY-MM-DDTHH:mm:ss.SSSZ` out, the ISO 8601 forms it
//! accepts in) on top of the common simulated clock.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub use crate::common::clock::SimClock;

/// Okta's timestamp format: `YYYY-MM-DDTHH:mm:ss.SSSZ`.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// [`fmt_ts`] for epoch milliseconds.
pub fn fmt_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => fmt_ts(t),
        None => fmt_ts(DateTime::<Utc>::UNIX_EPOCH),
    }
}

/// Parses the ISO 8601 forms Okta accepts in query strings and filters:
/// full RFC 3339 (`Z` or offset, with or without fractions), or a bare date.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // Okta's own examples sometimes use `+0000` style offsets.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_okta() {
        let t = Utc.with_ymd_and_hms(2024, 8, 13, 15, 58, 20).unwrap();
        assert_eq!(fmt_ts(t), "2024-08-13T15:58:20.000Z");
    }

    #[test]
    fn parses_okta_dates() {
        assert!(parse_ts("2013-06-01T00:00:00.000Z").is_some());
        assert!(parse_ts("2017-09-17T23:59:59+00:00").is_some());
        assert!(parse_ts("2013-01-01T12:00:00.000-0700").is_some());
        assert!(parse_ts("2013-06-01").is_some());
        assert!(parse_ts("yesterday").is_none());
    }
}
