//! The bounded raw copy a connector keeps of each account or group it maps, written out as
//! text straight from the parsed record.
//!
//! Why text: the copy is stored with the account and read back whenever the account is (a
//! re-pull reads every account of a page to compare it), and nothing on those paths looks
//! inside it. A `Value` tree cost a parse on every read and several times the text's memory
//! for every account of a page in flight. Why straight from the record: fields left out of the
//! copy (links, secrets) are skipped while writing, so the record is never cloned to remove
//! them.

use gatehouse_core::model::RawRecord;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// What a connector keeps of a provider record.
#[derive(Debug, Clone, Copy)]
pub struct RawCopy<'a> {
    /// Fields left out, each as its path of object keys (`&["credentials", "password"]`).
    pub dropped: &'a [&'a [&'a str]],
    /// The largest copy kept, in bytes of JSON.
    pub limit: usize,
    /// Past the limit, the top-level fields a summary keeps instead.
    pub kept: &'a [&'a str],
    /// The field a summary sets to `true` to say the rest was left out.
    pub marker: &'a str,
}

impl<'a> RawCopy<'a> {
    /// A copy without the fields at `dropped`, whatever its size.
    pub const fn without(dropped: &'a [&'a [&'a str]]) -> Self {
        Self {
            dropped,
            limit: usize::MAX,
            kept: &[],
            marker: "",
        }
    }

    /// `record` without the dropped fields, or its summary when that takes more than `limit`
    /// bytes. Field order is the record's (sorted, as `Value` keeps it), so an unchanged record
    /// always gives the same text.
    pub fn of(&self, record: &Value) -> RawRecord {
        let whole = Without {
            value: record,
            dropped: self.dropped.to_vec(),
        };
        match serde_json::value::to_raw_value(&whole) {
            Ok(text) if text.get().len() <= self.limit => RawRecord::from_text(text),
            _ => RawRecord::from_value(&self.summary(record)),
        }
    }

    fn summary(&self, record: &Value) -> Value {
        let mut summary = serde_json::Map::new();
        for key in self.kept {
            if let Some(v) = record.get(*key) {
                summary.insert((*key).to_owned(), v.clone());
            }
        }
        summary.insert(self.marker.to_owned(), Value::Bool(true));
        Value::Object(summary)
    }
}

/// A value written without the fields at `dropped` (paths relative to it).
struct Without<'a> {
    value: &'a Value,
    dropped: Vec<&'a [&'a str]>,
}

impl Serialize for Without<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let map = match self.value {
            Value::Object(map) if !self.dropped.is_empty() => map,
            other => return other.serialize(serializer),
        };
        let mut out = serializer.serialize_map(None)?;
        for (key, value) in map {
            if self.dropped.iter().any(|path| path == &[key.as_str()]) {
                continue;
            }
            let deeper: Vec<&[&str]> = self
                .dropped
                .iter()
                .filter(|path| path.len() > 1 && path[0] == key)
                .map(|path| &path[1..])
                .collect();
            if deeper.is_empty() {
                out.serialize_entry(key, value)?;
            } else {
                out.serialize_entry(
                    key,
                    &Without {
                        value,
                        dropped: deeper,
                    },
                )?;
            }
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const COPY: RawCopy<'static> = RawCopy {
        dropped: &[&["_links"], &["credentials", "password"]],
        limit: 200,
        kept: &["id", "status"],
        marker: "_truncated",
    };

    #[test]
    fn dropped_fields_are_left_out_at_any_depth_and_the_rest_is_kept() {
        let record = json!({"id": "u1", "_links": {"self": "x"}, "profile": {"password": "kept: not the path"},
            "credentials": {"password": {"value": "hunter2"}, "provider": {"type": "LOCAL"}}});
        let copy = COPY.of(&record);
        assert_eq!(
            copy.value(),
            &json!({"id": "u1", "profile": {"password": "kept: not the path"},
                "credentials": {"provider": {"type": "LOCAL"}}})
        );
        assert!(!copy.text().contains("hunter2"));
    }

    #[test]
    fn a_record_past_the_limit_keeps_a_summary() {
        let record = json!({"id": "u1", "status": "ACTIVE", "bio": "x".repeat(300)});
        assert_eq!(
            COPY.of(&record).value(),
            &json!({"id": "u1", "status": "ACTIVE", "_truncated": true})
        );
        let under = json!({"id": "u1", "bio": "x".repeat(150)});
        assert_eq!(
            COPY.of(&under).value(),
            &under,
            "a record within the limit is whole"
        );
    }

    fn record() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\é\n]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("_links".to_owned()),
                        Just("credentials".to_owned()),
                        Just("password".to_owned()),
                        "[a-z]{1,3}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The copy written while skipping equals the record cloned, the fields removed, then
        /// written: the text raw copies had before they were written straight from the record.
        #[test]
        fn written_while_skipping_equals_written_after_removing(record in record()) {
            let copy = RawCopy { limit: usize::MAX, ..COPY };
            let mut removed = record.clone();
            if let Value::Object(map) = &mut removed {
                map.remove("_links");
                if let Some(Value::Object(credentials)) = map.get_mut("credentials") {
                    credentials.remove("password");
                }
            }
            let written = copy.of(&record);
            prop_assert_eq!(written.text(), serde_json::to_string(&removed).unwrap());
        }
    }
}
