//! PostgreSQL's `text` and `jsonb` cannot hold U+0000, and providers and pushers can send it
//! (in a user agent, an external id, a name). A record with one used to fail its whole write —
//! a pushed delivery answered with an error, again on every retry. Such a character is stored
//! as U+FFFD (the replacement character) in every document and text column, and looked up the
//! same way, so a lookup finds what the write stored. The sled backend keeps it as sent.

use std::borrow::Cow;

use serde_json::Value;

const NUL: char = '\u{0}';
const REPLACEMENT: &str = "\u{FFFD}";

/// `text` as PostgreSQL can store it.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    if text.contains(NUL) {
        Cow::Owned(text.replace(NUL, REPLACEMENT))
    } else {
        Cow::Borrowed(text)
    }
}

/// Every string and object key of `value` as PostgreSQL can store it.
pub(crate) fn scrub(value: &mut Value) {
    match value {
        Value::String(s) => {
            if s.contains(NUL) {
                *s = s.replace(NUL, REPLACEMENT);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => {
            let named: Vec<String> = map.keys().filter(|k| k.contains(NUL)).cloned().collect();
            for key in named {
                if let Some(inner) = map.remove(&key) {
                    map.insert(key.replace(NUL, REPLACEMENT), inner);
                }
            }
            map.values_mut().for_each(scrub);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_becomes_the_replacement_character_everywhere_and_nothing_else_changes() {
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
        assert_eq!(text("a\u{0}b\u{0}"), "a\u{FFFD}b\u{FFFD}");
        let mut doc = json!({"ua": "bad\u{0}agent", "k\u{0}": [1, "x\u{0}", {"n": null}]});
        scrub(&mut doc);
        assert_eq!(
            doc,
            json!({"ua": "bad\u{FFFD}agent", "k\u{FFFD}": [1, "x\u{FFFD}", {"n": null}]})
        );
    }
}
