//! Okta event hooks (`docs/concepts/event-hooks`): the one-time verification `GET` carrying
//! `x-okta-verification-challenge`, answered with `{"verification": "<value>"}`, and the delivery
//! `POST` whose body is `{"eventType": "com.okta.event_hook", …, "data": {"events": [LogEvent…]}}`.
//! The request was already authenticated by its ingest token (the hook's `Authorization` header
//! or the URL's `token`); Okta signs nothing else.

use std::marker::PhantomData;

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest, PushScreen};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::mapping::map_event_text;
use crate::screen::ScreenedEvent;

/// The header of Okta's verification request (names are case-insensitive).
const CHALLENGE_HEADER: &str = "x-okta-verification-challenge";
/// The envelope's `eventType` of every delivery.
const ENVELOPE_TYPE: &str = "com.okta.event_hook";
/// The longest challenge echoed back; Okta's are short random strings.
const MAX_CHALLENGE: usize = 512;

/// Decodes an event-hook request. Error messages describe the shape, never the payload.
pub fn decode_push(request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
    if is_delivery(request)? {
        decode_delivery(&request.body)
    } else {
        verification(request)
    }
}

/// Checks an event-hook request at the door: the verification is answered, a delivery is
/// parsed for its shape only (no event is mapped or copied). It fails exactly where
/// [`decode_push`] fails.
pub fn screen_push(request: &PushRequest) -> Result<PushScreen, ConnectorError> {
    if !is_delivery(request)? {
        return verification(request).map(PushScreen::from);
    }
    let events = envelope::<ScreenedEvent>(&request.body)?;
    if let Some(index) = events.iter().position(|e| !e.complete) {
        return Err(incomplete(index));
    }
    Ok(PushScreen::Accept {
        events: events.len(),
    })
}

/// `true` for a delivery (POST), `false` for the verification (GET).
fn is_delivery(request: &PushRequest) -> Result<bool, ConnectorError> {
    match request.method.to_ascii_uppercase().as_str() {
        "GET" => Ok(false),
        "POST" => Ok(true),
        _ => Err(bad(
            "Okta event hooks send only GET (verification) and POST (delivery)",
        )),
    }
}

fn verification(request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
    let challenge = request
        .header(CHALLENGE_HEADER)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            bad("a GET is only Okta's verification request and must carry x-okta-verification-challenge")
        })?;
    if challenge.len() > MAX_CHALLENGE {
        return Err(bad("the verification challenge is too long"));
    }
    Ok(PushOutcome::Respond(PushReply::json(
        200,
        &json!({ "verification": challenge }),
    )))
}

/// What a screened delivery must look like; everything else in it is skipped unread.
const SHAPE: &str = "the body is not an Okta event-hook delivery (a JSON object whose \
                     eventType is com.okta.event_hook and whose data.events is an array of objects)";

/// The parts of a delivery the screen and the decoder read, with each event as `E`: skipped
/// ([`AnyObject`]) at the door, kept as its text ([`EventText`]) when decoding. Hand-written
/// visitors, not derives: a derived struct would also accept a JSON array and a `null`
/// eventType, and would reject a repeated key that the screen takes the last of.
struct Envelope<E> {
    /// Whether eventType, when present, is the event-hook type.
    event_type: Option<bool>,
    data: Option<Data<E>>,
}

struct Data<E> {
    events: Option<Vec<E>>,
}

struct EnvelopeVisitor<E>(PhantomData<E>);

impl<'de, E: Deserialize<'de>> Visitor<'de> for EnvelopeVisitor<E> {
    type Value = Envelope<E>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event-hook delivery")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<E>, A::Error> {
        let mut envelope = Envelope {
            event_type: None,
            data: None,
        };
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::EventType => {
                    envelope.event_type = Some(map.next_value::<IsEnvelopeType>()?.0);
                }
                Key::Data => envelope.data = Some(map.next_value()?),
                Key::Events | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

struct DataVisitor<E>(PhantomData<E>);

impl<'de, E: Deserialize<'de>> Visitor<'de> for DataVisitor<E> {
    type Value = Data<E>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the delivery's data object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data<E>, A::Error> {
        let mut data = Data { events: None };
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::Events {
                data.events = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(data)
    }
}

/// The object keys the screen looks at, read without allocating.
#[derive(PartialEq)]
enum Key {
    EventType,
    Data,
    Events,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "eventType" => Key::EventType,
                    "data" => Key::Data,
                    "events" => Key::Events,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A string value, compared with the event-hook type without allocating.
struct IsEnvelopeType(bool);

impl<'de> Deserialize<'de> for IsEnvelopeType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl Visitor<'_> for StrVisitor {
            type Value = IsEnvelopeType;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<IsEnvelopeType, E> {
                Ok(IsEnvelopeType(value == ENVELOPE_TYPE))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// An event as the text it arrived in, which must be a JSON object.
struct EventText<'a>(&'a RawValue);

impl<'de> Deserialize<'de> for EventText<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <&RawValue>::deserialize(deserializer)?;
        if text.get().starts_with('{') {
            Ok(EventText(text))
        } else {
            Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Other("a value that is not an object"),
                &"an event object",
            ))
        }
    }
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Envelope<E> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor(PhantomData))
    }
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Data<E> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DataVisitor(PhantomData))
    }
}

/// Reads a delivery's envelope, each event as `E`; the errors are the screen's and the decoder's.
fn envelope<'de, E: Deserialize<'de>>(body: &'de [u8]) -> Result<Vec<E>, ConnectorError> {
    let envelope: Envelope<E> = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => bad(SHAPE),
        _ => not_json(&e),
    })?;
    if envelope.event_type == Some(false) {
        return Err(bad("eventType is not com.okta.event_hook"));
    }
    envelope
        .data
        .and_then(|d| d.events)
        .ok_or_else(|| bad("data.events is missing or not an array"))
}

fn not_json(e: &serde_json::Error) -> ConnectorError {
    bad(&format!(
        "the body is not valid JSON (line {}, column {})",
        e.line(),
        e.column()
    ))
}

fn decode_delivery(body: &[u8]) -> Result<PushOutcome, ConnectorError> {
    let events = envelope::<EventText>(body)?;
    let mut mapped = Vec::with_capacity(events.len());
    for (index, EventText(event)) in events.into_iter().enumerate() {
        mapped.push(map_event_text(event).ok_or_else(|| incomplete(index))?);
    }
    Ok(PushOutcome::Events(mapped))
}

/// An event the decoder could not store: named by its place, never by its contents.
fn incomplete(index: usize) -> ConnectorError {
    bad(&format!(
        "data.events[{index}] lacks a uuid, an eventType or an RFC 3339 published time"
    ))
}

fn bad(message: &str) -> ConnectorError {
    ConnectorError::BadPush(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn request(method: &str, headers: &[(&str, &str)], body: &str) -> PushRequest {
        PushRequest {
            method: method.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
            ..PushRequest::default()
        }
    }

    #[test]
    fn verification_challenge_is_echoed() {
        let got = decode_push(&request(
            "GET",
            &[("X-Okta-Verification-Challenge", "abc123")],
            "",
        ))
        .unwrap();
        assert_eq!(
            got,
            PushOutcome::Respond(PushReply::json(200, &json!({"verification": "abc123"})))
        );
        assert!(matches!(
            decode_push(&request("GET", &[], "")),
            Err(ConnectorError::BadPush(_))
        ));
        let long = "x".repeat(MAX_CHALLENGE + 1);
        assert!(decode_push(&request(
            "GET",
            &[("x-okta-verification-challenge", &long)],
            ""
        ))
        .is_err());
    }

    #[test]
    fn malformed_bodies_are_rejected_without_echoing_them() {
        for body in [
            "not json SECRET-IN-BODY",
            "[1,2]",
            r#"{"eventType":"com.okta.event_hook","data":{}}"#,
            r#"{"eventType":"com.okta.event_hook","data":{"events":{"uuid":"SECRET-IN-BODY"}}}"#,
            r#"{"eventType":"something.else","data":{"events":[]}}"#,
            r#"{"eventType":"com.okta.event_hook","data":{"events":["SECRET-IN-BODY"]}}"#,
        ] {
            let err = decode_push(&request("POST", &[], body)).unwrap_err();
            assert!(matches!(err, ConnectorError::BadPush(_)), "{body}");
            assert!(!err.to_string().contains("SECRET-IN-BODY"), "{err}");
        }
        assert!(decode_push(&request("PUT", &[], "{}")).is_err());
    }

    #[test]
    fn an_event_without_what_storing_needs_fails_the_delivery_at_the_door() {
        let good = r#"{"uuid":"f1d0b993","eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z"}"#;
        let incomplete = [
            r#"{"eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z"}"#,
            r#"{"uuid":7,"eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z"}"#,
            r#"{"uuid":" ","eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z"}"#,
            r#"{"uuid":"null","eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z"}"#,
            r#"{"uuid":"u2","published":"2023-03-26T21:05:32.159Z"}"#,
            r#"{"uuid":"u2","eventType":{"a":[1]},"published":"2023-03-26T21:05:32.159Z"}"#,
            r#"{"uuid":"u2","eventType":"user.session.start"}"#,
            r#"{"uuid":"u2","eventType":"user.session.start","published":"yesterday"}"#,
            r#"{"uuid":"u2","eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z","uuid":null}"#,
        ];
        for event in incomplete {
            let body = format!(
                r#"{{"eventType":"com.okta.event_hook","data":{{"events":[{good},{event}]}}}}"#
            );
            let post = request("POST", &[], &body);
            for err in [
                screen_push(&post).unwrap_err(),
                decode_push(&post).unwrap_err(),
            ] {
                assert!(matches!(err, ConnectorError::BadPush(_)), "{event}");
                assert!(err.to_string().contains("data.events[1]"), "{err}");
            }
        }
    }

    /// The screen runs before the acknowledgement and decoding after it: a delivery the screen
    /// accepts but decoding rejects would be acknowledged and then lost.
    #[test]
    fn the_screen_accepts_exactly_what_decoding_accepts() {
        let event = r#"{"uuid":"u1","eventType":"user.session.start","published":"2023-03-26T21:05:32.159Z"}"#;
        let cases = [
            format!(
                r#"{{"eventType":"com.okta.event_hook","data":{{"events":[{event},{event}]}}}}"#
            ),
            format!(r#"{{"data":{{"events":[{event}]}},"eventTypeVersion":"1.0"}}"#),
            r#"{"eventType":"com.okta.event_hook","data":{"events":[]}}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":[{}],"x":[1,{"y":null}]}}"#
                .into(),
            r#"{"eventType":"com.okta.\u0065vent_hook","data":{"events":[]}}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":[]},"data":{"events":7}}"#
                .into(),
            r#"{"eventType":null,"data":{"events":[]}}"#.into(),
            r#"{"eventType":7,"data":{"events":[]}}"#.into(),
            r#"["com.okta.event_hook",{"events":[]}]"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":null}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":"x"}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":null}}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":[[]]}}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":[null]}}"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":[]}} trailing"#.into(),
            r#"{"eventType":"com.okta.event_hook","data":{"events":["#.into(),
            "".into(),
            "null".into(),
            // A repeated key: both take the last one.
            r#"{"data":{"events":[7]},"data":{"events":[ {"uuid":"a"} ,{}]}}"#.into(),
            r#"{"data":{"events":[{}]},"data":{"events":[7]}}"#.into(),
            // What every stored event needs, with a repeated key taken as its last value.
            r#"{"data":{"events":[{"uuid":"u1","uuid":"","eventType":"x","published":"2023-03-26T21:05:32Z"}]}}"#.into(),
            r#"{"data":{"events":[{"uuid":"","uuid":"u1","eventType":"x","published":"2023-03-26T21:05:32Z"}]}}"#.into(),
            r#"{"data":{"events":[{"uuid":"u1","eventType":"x","published":" 2023-03-26T21:05:32+02:00 "}]}}"#.into(),
            r#"{"data":{"events":[{"uuid":"u1","eventType":"x","published":"2023-03-26 21:05:32Z"}]}}"#.into(),
            r#"{"data":{"events":[{"uuid":"u\u0031","eventType":"Null","published":"2023-03-26T21:05:32Z"}]}}"#.into(),
        ];
        for body in &cases {
            let post = request("POST", &[], body);
            let decoded = decode_push(&post);
            let screened = screen_push(&post);
            match (&decoded, &screened) {
                (Ok(PushOutcome::Events(_)), Ok(PushScreen::Accept { events })) => {
                    let raw: Value = serde_json::from_str(body).unwrap();
                    assert_eq!(*events, raw["data"]["events"].as_array().unwrap().len());
                }
                (Err(_), Err(e)) => assert!(matches!(e, ConnectorError::BadPush(_))),
                _ => panic!("{body}: decode {decoded:?} but screen {screened:?}"),
            }
        }
        let get = request("GET", &[("x-okta-verification-challenge", "c")], "");
        assert_eq!(
            screen_push(&get).unwrap(),
            PushScreen::Respond(PushReply::json(200, &json!({"verification": "c"})))
        );
        assert!(screen_push(&request("PUT", &[], "{}")).is_err());
    }

    #[test]
    fn a_pushed_event_keeps_the_text_it_arrived_in() {
        // Key order, spacing and escapes as Okta sent them; a tree written out again would
        // sort the keys and drop the spaces.
        let event = r#"{"uuid": "e1", "published": "2026-11-20T10:00:00.000Z", "eventType": "user.session.start", "displayMessage": "caf\u00e9", "actor": {"id": "00u1", "type": "User", "alternateId": "a@x.example"}, "outcome": {"result": "SUCCESS"}}"#;
        let body =
            format!(r#"{{"eventType":"com.okta.event_hook","data":{{"events":[ {event} ]}}}}"#);
        let Ok(PushOutcome::Events(events)) = decode_push(&request("POST", &[], &body)) else {
            panic!("the delivery decodes");
        };
        let raw = events[0].raw.as_ref().unwrap();
        assert_eq!(serde_json::to_string(raw).unwrap(), event);
        assert_eq!(raw.get("displayMessage"), Some(&Value::from("café")));
        assert_eq!(events[0].provider_event_id, "e1");
    }

    #[test]
    fn an_empty_delivery_is_no_events() {
        let got = decode_push(&request(
            "POST",
            &[],
            r#"{"eventType":"com.okta.event_hook","data":{"events":[]}}"#,
        ))
        .unwrap();
        assert_eq!(got, PushOutcome::Events(vec![]));
    }
}
