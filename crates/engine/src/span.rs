//! Relative time spans such as `30d`, `12h` and `90m`, as the backtest's `since` takes them.
//! Parsed from request bodies and flags, so every step is checked: a multi-byte character or an
//! overflowing number is an error, never a panic.

use chrono::{DateTime, TimeDelta, Utc};

/// Why a span or a `since` value was refused. The messages are safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    #[error("must be like 30d, 12h, 90m or an RFC 3339 time")]
    Shape,
    #[error("is too far back")]
    TooLarge,
}

/// The units a span may end with, and their length in seconds.
pub const UNITS: [(&str, i64); 3] = [("d", 86_400), ("h", 3_600), ("m", 60)];

/// `<digits><unit>` with unit `d`, `h` or `m`.
pub fn parse_span(text: &str) -> Result<TimeDelta, SpanError> {
    let text = text.trim();
    // `find` answers a character boundary, so the split below cannot land inside a character.
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or(SpanError::Shape)?;
    let (digits, unit) = text.split_at(unit_at);
    if digits.is_empty() {
        return Err(SpanError::Shape);
    }
    let seconds_per = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, seconds)| *seconds)
        .ok_or(SpanError::Shape)?;
    // Only ASCII digits are left, so a parse failure can only be an overflow.
    let count: i64 = digits.parse().map_err(|_| SpanError::TooLarge)?;
    count
        .checked_mul(seconds_per)
        .and_then(TimeDelta::try_seconds)
        .ok_or(SpanError::TooLarge)
}

/// A span before `now`, or an RFC 3339 time.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, SpanError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(time.with_timezone(&Utc));
    }
    now.checked_sub_signed(parse_span(text)?)
        .ok_or(SpanError::TooLarge)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn examples() {
        let cases: &[(&str, Result<i64, SpanError>)] = &[
            ("30d", Ok(30 * 86_400)),
            (" 12h ", Ok(12 * 3_600)),
            ("90m", Ok(90 * 60)),
            ("0m", Ok(0)),
            ("1é", Err(SpanError::Shape)),
            ("é", Err(SpanError::Shape)),
            ("1dé", Err(SpanError::Shape)),
            ("d", Err(SpanError::Shape)),
            ("", Err(SpanError::Shape)),
            ("12", Err(SpanError::Shape)),
            ("-1d", Err(SpanError::Shape)),
            ("1 d", Err(SpanError::Shape)),
            // A span chrono can hold; `parse_since` refuses it (before year -262144).
            ("99999999999d", Ok(99_999_999_999 * 86_400)),
            ("99999999999999999999999d", Err(SpanError::TooLarge)),
        ];
        for (text, expected) in cases {
            let got = parse_span(text).map(|d| d.num_seconds());
            assert_eq!(&got, expected, "{text:?}");
        }
    }

    #[test]
    fn since_refuses_what_lies_before_the_calendar() {
        assert_eq!(parse_since("99999999999d", now()), Err(SpanError::TooLarge));
        assert_eq!(
            parse_since("1h", now()).map(|t| t.to_rfc3339()),
            Ok("2024-05-01T11:00:00+00:00".to_owned())
        );
        assert_eq!(
            parse_since("2024-01-01T00:00:00Z", now()).map(|t| t.to_rfc3339()),
            Ok("2024-01-01T00:00:00+00:00".to_owned())
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in any::<String>()) {
            let _ = parse_span(&text);
            let _ = parse_since(&text, now());
        }

        #[test]
        fn never_panics_near_the_grammar(text in "[0-9]{0,25}[dhmé€ 0-9]{0,3}") {
            let _ = parse_since(&text, now());
        }

        #[test]
        fn valid_spans_round_trip(count in 0_i64..=10_000_000, unit in 0_usize..UNITS.len()) {
            let (name, seconds) = UNITS[unit];
            let parsed = parse_span(&format!("{count}{name}"));
            prop_assert_eq!(parsed.map(|d| d.num_seconds()), Ok(count * seconds));
        }
    }
}
