//! How the sled backend lays out a stored sign-in: the normalized fields first, the provider's
//! raw event after them, each encoded on its own.
//!
//! The risk engine reads a dozen stored sign-ins around every new one and never looks at their
//! raw events, which are most of a record's bytes. With the raw event inline, each of those
//! reads decompressed the whole record and scanned the raw event's text to find its end; with
//! it behind the normalized fields, a window read decodes only the first part
//! ([`decode_without_raw`]). Records written before this layout (one JSON document, raw event
//! inline) are still read.

use gatehouse_core::model::{RawEvent, SignInEvent};

use super::keys::{decode, encode, pack};
use crate::StoreError;

/// The first byte of a split record, followed by the length of the normalized part (u32, little
/// endian), that part, then the raw event (empty when the sign-in has none). Each part is JSON
/// text as [`pack`] stores it. Neither JSON nor [`encode`]'s compressed form starts with
/// this byte, so older records are told apart by it.
const SPLIT_MARK: u8 = 0x05;

/// A sign-in as stored.
pub(crate) fn encode_signin(event: &SignInEvent) -> Result<Vec<u8>, StoreError> {
    let Some(raw) = &event.raw else {
        return split(&encode(event)?, &[]);
    };
    let whole = serde_json::to_vec(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // The raw event is the last field written: the normalized part is the document up to it,
    // closed. Cutting the text spares copying the event without it; if the field order ever
    // changes, the cut is not made and the record is stored whole (still readable).
    let field = br#","raw":"#;
    let raw_text = raw.text().as_bytes();
    let suffix_len = field.len() + raw_text.len() + 1;
    let Some(cut) = whole.len().checked_sub(suffix_len) else {
        return encode(event);
    };
    let (head, tail) = whole.split_at(cut);
    if !(tail.starts_with(field)
        && tail[field.len()..].starts_with(raw_text)
        && tail.ends_with(b"}"))
    {
        return encode(event);
    }
    let mut normalized = Vec::with_capacity(head.len() + 1);
    normalized.extend_from_slice(head);
    normalized.push(b'}');
    split(&pack(normalized), &pack(raw_text.to_vec()))
}

/// A stored sign-in with its raw event.
pub(crate) fn decode_signin(bytes: &[u8]) -> Result<SignInEvent, StoreError> {
    match parts(bytes)? {
        Some((normalized, raw)) => {
            let mut event: SignInEvent = decode(normalized)?;
            event.raw = if raw.is_empty() {
                None
            } else {
                Some(decode::<RawEvent>(raw)?)
            };
            Ok(event)
        }
        None => decode(bytes),
    }
}

/// A stored sign-in without its raw event (what the risk windows read).
pub(crate) fn decode_without_raw(bytes: &[u8]) -> Result<SignInEvent, StoreError> {
    let mut event: SignInEvent = match parts(bytes)? {
        Some((normalized, _)) => decode(normalized)?,
        None => decode(bytes)?,
    };
    event.raw = None;
    Ok(event)
}

fn split(normalized: &[u8], raw: &[u8]) -> Result<Vec<u8>, StoreError> {
    let length = u32::try_from(normalized.len())
        .map_err(|_| StoreError::Corrupt("a sign-in's fields past 4 GiB".into()))?;
    let mut record = Vec::with_capacity(5 + normalized.len() + raw.len());
    record.push(SPLIT_MARK);
    record.extend_from_slice(&length.to_le_bytes());
    record.extend_from_slice(normalized);
    record.extend_from_slice(raw);
    Ok(record)
}

/// A split record's normalized part and raw part.
type Parts<'a> = (&'a [u8], &'a [u8]);

/// The two parts of a split record; `None` for a record stored whole.
fn parts(bytes: &[u8]) -> Result<Option<Parts<'_>>, StoreError> {
    let [SPLIT_MARK, l0, l1, l2, l3, rest @ ..] = bytes else {
        return Ok(None);
    };
    let length = u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize;
    if length > rest.len() {
        return Err(StoreError::Corrupt(format!(
            "a sign-in record claims {length} bytes of fields in {}",
            rest.len()
        )));
    }
    Ok(Some(rest.split_at(length)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn event(raw: Option<serde_json::Value>) -> SignInEvent {
        let mut event: SignInEvent = serde_json::from_value(serde_json::json!({
            "id": "sin_01", "tenant_id": "ten_1", "integration_id": "int_1",
            "provider": "idp", "provider_event_id": "e1", "time": "2026-05-01T10:00:00Z",
            "event_type": "sign_in", "outcome": "failure", "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0 \"quoted\" \u{e9}", "login": "user@example.com",
        }))
        .unwrap();
        event.raw = raw.map(RawEvent::from);
        event
    }

    fn big_raw() -> serde_json::Value {
        serde_json::json!({
            "uuid": "e1", "raw": {"raw": "}"}, "displayMessage": "x".repeat(2_000),
            "client": {"ipAddress": "203.0.113.9"},
        })
    }

    #[test]
    fn a_sign_in_is_stored_split_and_reads_back_whole_or_without_its_raw_event() {
        for raw in [None, Some(serde_json::json!({})), Some(big_raw())] {
            let event = event(raw);
            let bytes = encode_signin(&event).unwrap();
            assert_eq!(bytes[0], SPLIT_MARK, "{event:?}");
            assert_eq!(decode_signin(&bytes).unwrap(), event);
            let mut bare = event.clone();
            bare.raw = None;
            assert_eq!(decode_without_raw(&bytes).unwrap(), bare);
        }
    }

    /// The normalized part is decoded without touching the raw event: a record whose raw part
    /// is garbage still gives its fields to a window read, and fails a whole read.
    #[test]
    fn a_window_read_does_not_decode_the_raw_event() {
        let event = event(Some(big_raw()));
        let mut bytes = encode_signin(&event).unwrap();
        let (normalized, _) = parts(&bytes).unwrap().unwrap();
        let raw_at = 5 + normalized.len();
        bytes.truncate(raw_at);
        bytes.extend_from_slice(b"{not json");
        assert_eq!(decode_without_raw(&bytes).unwrap().ip, event.ip);
        assert!(decode_signin(&bytes).is_err());
    }

    #[test]
    fn records_stored_whole_before_the_split_are_read() {
        let event = event(Some(big_raw()));
        let whole = encode(&event).unwrap();
        assert_eq!(decode_signin(&whole).unwrap(), event);
        assert!(decode_without_raw(&whole).unwrap().raw.is_none());
    }

    #[test]
    fn a_record_claiming_more_than_it_holds_is_corrupt() {
        let bytes = [SPLIT_MARK, 200, 0, 0, 0, b'{', b'}'];
        assert!(matches!(decode_signin(&bytes), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            decode_without_raw(&bytes),
            Err(StoreError::Corrupt(_))
        ));
    }
}
