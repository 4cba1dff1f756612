//! Small tolerant readers for Okta JSON: non-null text, numbers sent as strings, and
//! `debugContext.debugData` entries in either case.

use serde_json::Value;

/// A `debugContext.debugData` entry; Okta documents the keys in either case (`Risk`, `risk`).
pub(super) fn debug_data<'a>(event: &'a Value, key: &str) -> Option<&'a Value> {
    let data = event.pointer("/debugContext/debugData")?.as_object()?;
    data.get(key).or_else(|| {
        data.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A non-empty string at `path` that is not the literal `"null"` Okta sometimes sends.
pub(super) fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    current
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("null"))
}

/// A number, or a string holding one.
pub(super) fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}
