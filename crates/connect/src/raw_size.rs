//! How large a provider record is as JSON, without writing it out: connectors keep a bounded
//! copy of each record they map, and serializing every account of a 100,000-user pull only to
//! measure it cost more than the rest of its mapping.

use serde_json::Value;

/// Whether `value` written as JSON takes at most `limit` bytes. The count is an upper bound —
/// every character a string may need escaped counts six bytes, a fractional number its longest
/// form — so a record this accepts always fits; one near the limit with many escapes may be
/// refused although it would have fitted.
pub fn fits_json(value: &Value, limit: usize) -> bool {
    let mut left = limit;
    within(value, &mut left)
}

/// `record` itself when it takes at most `limit` bytes of JSON; otherwise a summary of it: the
/// `kept` fields it has, and `marker: true` saying the rest was left out.
pub fn bounded(record: Value, limit: usize, kept: &[&str], marker: &str) -> Value {
    if fits_json(&record, limit) {
        return record;
    }
    let mut summary = serde_json::Map::new();
    for key in kept {
        if let Some(v) = record.get(*key) {
            summary.insert((*key).to_owned(), v.clone());
        }
    }
    summary.insert(marker.to_owned(), Value::Bool(true));
    Value::Object(summary)
}

/// Takes `value`'s size from `left`; false as soon as it does not fit.
fn within(value: &Value, left: &mut usize) -> bool {
    let take = |left: &mut usize, n: usize| match left.checked_sub(n) {
        Some(rest) => {
            *left = rest;
            true
        }
        None => false,
    };
    match value {
        Value::Null | Value::Bool(true) => take(left, 4),
        Value::Bool(false) => take(left, 5),
        Value::Number(n) => take(left, number_len(n)),
        Value::String(s) => take(left, string_len(s)),
        Value::Array(items) => {
            take(left, 2 + items.len().saturating_sub(1))
                && items.iter().all(|item| within(item, left))
        }
        Value::Object(map) => {
            take(left, 2 + map.len().saturating_sub(1))
                && map
                    .iter()
                    .all(|(k, v)| take(left, string_len(k) + 1) && within(v, left))
        }
    }
}

fn number_len(n: &serde_json::Number) -> usize {
    let digits = |v: u64| v.checked_ilog10().map_or(1, |d| d as usize + 1);
    if let Some(v) = n.as_u64() {
        digits(v)
    } else if let Some(v) = n.as_i64() {
        1 + digits(v.unsigned_abs())
    } else {
        // The longest a finite f64 prints as (sign, 17 digits, point, exponent).
        25
    }
}

fn string_len(s: &str) -> usize {
    let escaped = s
        .bytes()
        .filter(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
        .count();
    2 + s.len() + 5 * escaped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn written(value: &Value) -> usize {
        serde_json::to_vec(value)
            .map(|v| v.len())
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn the_bound_is_exact_for_plain_records_and_never_below_the_written_size() {
        let records = [
            json!({"id": "00u1", "profile": {"login": "a@x.example", "n": 12, "m": -7}, "ok": true, "x": null, "list": [1, "é"], "f": 2.5}),
            json!({"quote": "a\"b\\c\nd\u{1}", "big": u64::MAX, "small": i64::MIN, "f": 1.0e-300}),
            json!([]),
            json!({}),
            json!(""),
        ];
        for record in &records {
            let size = written(record);
            assert!(fits_json(record, size + 200), "{record}");
            // Never says a record fits in fewer bytes than it takes.
            assert!(!fits_json(record, size - 1), "{record}");
        }
        let plain = &json!({"id": "00u1", "profile": {"login": "a@x.example", "n": 12, "m": -7}, "ok": true, "x": null, "list": [1, "é"]});
        assert!(fits_json(plain, written(plain)), "exact for a plain record");
    }
}
