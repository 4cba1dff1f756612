//! A provider's event or record as received, kept as JSON text and parsed only when something
//! reads it.
//!
//! Every stored sign-in carries its raw event (a kilobyte or more), and the risk engine reads
//! hundreds of stored sign-ins around each new one while looking at the raw event of only a
//! few (MFA pushes, privilege grants). Decoding the text into a `Value` tree for all of them was
//! most of the cost of reading a context; skipping over it is not. Accounts and groups keep
//! their raw copy the same way: a directory pull reads every stored account of a page to
//! compare it with what the provider sent, and nothing on that path looks inside the copy.

use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// Provider JSON kept as text.
#[derive(Clone)]
pub struct RawJson {
    text: Box<RawValue>,
    parsed: OnceLock<Value>,
}

/// The raw provider event of a sign-in.
pub type RawEvent = RawJson;

/// A bounded copy of a provider's account or group record.
pub type RawRecord = RawJson;

impl RawJson {
    /// The JSON from its text as received, kept as it came. The tree a connector parsed to
    /// map an event is not kept with it: nothing on the way to the store reads the raw event,
    /// and a tree is several times the text's size, held for every event queued behind the
    /// acknowledgements (it was the largest part of the daemon's memory under a push burst).
    pub fn from_text(text: Box<RawValue>) -> Self {
        Self {
            text,
            parsed: OnceLock::new(),
        }
    }

    /// `value` written out as text (the tree is not kept).
    pub fn from_value(value: &Value) -> Self {
        // Serializing a `Value` cannot fail (its map keys are strings).
        let text =
            serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned());
        Self::from_text(text)
    }

    /// The JSON as a tree (parsed on first use, then kept).
    pub fn value(&self) -> &Value {
        self.parsed
            .get_or_init(|| serde_json::from_str(self.text.get()).unwrap_or(Value::Null))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.value().get(key)
    }

    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        self.value().pointer(pointer)
    }

    /// The JSON text as it came (or as it was written from a `Value`).
    pub fn text(&self) -> &str {
        self.text.get()
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl PartialEq for RawJson {
    /// Equal texts are equal without parsing either (copies written from a `Value` are
    /// canonical: its maps are sorted); other texts compare as JSON.
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text() || self.value() == other.value()
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            text: Box::<RawValue>::deserialize(deserializer)?,
            parsed: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn raw_events_round_trip_as_text_and_parse_on_demand() {
        let value = serde_json::json!({"uuid": "u1", "target": [{"type": "User"}]});
        let raw = RawEvent::from(value.clone());
        let text = serde_json::to_string(&raw).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
        let back: RawEvent = serde_json::from_str(&text).unwrap();
        assert!(back.parsed.get().is_none(), "not parsed until read");
        assert_eq!(back.get("uuid"), Some(&Value::from("u1")));
        assert_eq!(back.pointer("/target/0/type"), Some(&Value::from("User")));
        assert_eq!(back, raw);
    }
}
