//! The door check of one pushed event: that it carries what every stored event needs (a
//! non-empty `uuid`, an `eventType`, an RFC 3339 `published`), read without building a tree or
//! copying a string, everything else skipped unread.
//!
//! Okta always sends those three; a delivery without them is not from Okta or was damaged, and
//! is answered 400 rather than acknowledged and then dropped event by event behind the answer.

use chrono::DateTime;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// One event of a screened delivery: whether it has what the decoder needs.
pub(crate) struct ScreenedEvent {
    pub(crate) complete: bool,
}

/// The event keys the screen checks.
enum EventKey {
    Uuid,
    EventType,
    Published,
    Other,
}

impl<'de> Deserialize<'de> for EventKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = EventKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<EventKey, E> {
                Ok(match key {
                    "uuid" => EventKey::Uuid,
                    "eventType" => EventKey::EventType,
                    "published" => EventKey::Published,
                    _ => EventKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// What a checked value must be.
#[derive(Clone, Copy)]
enum Rule {
    NonEmptyText,
    Rfc3339,
}

/// Whether a value met [`Rule::NonEmptyText`] (a value of any other type is consumed and fails).
struct Text(bool);

/// Whether a value met [`Rule::Rfc3339`].
struct Time(bool);

struct CheckVisitor(Rule);

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<bool, E> {
        // As the decoder reads text: trimmed, and the word null is no value.
        let value = value.trim();
        Ok(match self.0 {
            Rule::NonEmptyText => !value.is_empty() && !value.eq_ignore_ascii_case("null"),
            Rule::Rfc3339 => DateTime::parse_from_rfc3339(value).is_ok(),
        })
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(CheckVisitor(Rule::NonEmptyText))
            .map(Text)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(CheckVisitor(Rule::Rfc3339))
            .map(Time)
    }
}

impl<'de> Deserialize<'de> for ScreenedEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;
        impl<'de> Visitor<'de> for EventVisitor {
            type Value = ScreenedEvent;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScreenedEvent, A::Error> {
                // A repeated key counts as its last value, as the decoder's parse takes it.
                let (mut uuid, mut event_type, mut published) = (false, false, false);
                while let Some(key) = map.next_key::<EventKey>()? {
                    match key {
                        EventKey::Uuid => uuid = map.next_value::<Text>()?.0,
                        EventKey::EventType => {
                            event_type = map.next_value::<Text>()?.0;
                        }
                        EventKey::Published => published = map.next_value::<Time>()?.0,
                        EventKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(ScreenedEvent {
                    complete: uuid && event_type && published,
                })
            }
        }
        deserializer.deserialize_map(EventVisitor)
    }
}
