//! Okta event hooks (`docs/concepts/event-hooks`): the one-time verification `GET` carrying
//! `x-okta-verification-challenge`, answered with `{"verification": "<value>"}`, and the delivery
//! `POST` whose body is `{"eventType": "com.okta.event_hook", …, "data": {"events": [LogEvent…]}}`.
//! The request was already authenticated by its ingest token (the hook's `Authorization` header
//! or the URL's `token`); Okta signs nothing else.

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{PushOutcome, PushRequest};
use serde_json::{json, Value};

use crate::mapping::map_event_owned;

/// The header of Okta's verification request (names are case-insensitive).
const CHALLENGE_HEADER: &str = "x-okta-verification-challenge";
/// The envelope's `eventType` of every delivery.
const ENVELOPE_TYPE: &str = "com.okta.event_hook";
/// The longest challenge echoed back; Okta's are short random strings.
const MAX_CHALLENGE: usize = 512;

/// Decodes an event-hook request. Error messages describe the shape, never the payload.
pub fn decode_push(request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
    let challenge = request.header(CHALLENGE_HEADER).map(str::trim);
    match request.method.to_ascii_uppercase().as_str() {
        "GET" => {
            let challenge = challenge.filter(|c| !c.is_empty()).ok_or_else(|| {
                bad("a GET is only Okta's verification request and must carry x-okta-verification-challenge")
            })?;
            if challenge.len() > MAX_CHALLENGE {
                return Err(bad("the verification challenge is too long"));
            }
            Ok(PushOutcome::Respond {
                status: 200,
                body: json!({ "verification": challenge }),
            })
        }
        "POST" => decode_delivery(&request.body),
        _ => Err(bad(
            "Okta event hooks send only GET (verification) and POST (delivery)",
        )),
    }
}

fn decode_delivery(body: &[u8]) -> Result<PushOutcome, ConnectorError> {
    let envelope: Value = serde_json::from_slice(body).map_err(|e| {
        bad(&format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(mut envelope) = envelope else {
        return Err(bad("the body is not a JSON object"));
    };
    match envelope.get("eventType") {
        None => {}
        Some(Value::String(kind)) if kind == ENVELOPE_TYPE => {}
        Some(_) => return Err(bad("eventType is not com.okta.event_hook")),
    }
    let events = match envelope
        .get_mut("data")
        .and_then(|d| d.get_mut("events"))
        .map(Value::take)
    {
        Some(Value::Array(events)) => events,
        _ => return Err(bad("data.events is missing or not an array")),
    };
    let mut mapped = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        if !event.is_object() {
            return Err(bad(&format!("data.events[{index}] is not an object")));
        }
        match map_event_owned(event) {
            Some(event) => mapped.push(event),
            None => tracing::warn!(
                index,
                "skipping a pushed Okta event without uuid, eventType or published"
            ),
        }
    }
    Ok(PushOutcome::Events(mapped))
}

fn bad(message: &str) -> ConnectorError {
    ConnectorError::BadPush(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)], body: &str) -> PushRequest {
        PushRequest {
            method: method.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
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
            PushOutcome::Respond {
                status: 200,
                body: json!({"verification": "abc123"})
            }
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
    fn events_without_a_dedupe_key_are_skipped_not_fatal() {
        let body = json!({"eventType": "com.okta.event_hook", "data": {"events": [
            {"eventType": "user.session.start", "published": "2023-03-26T21:05:32.159Z"},
            {"uuid": "f1d0b993-cc19-11ed-a688-db22c99ef6c4", "eventType": "user.session.start",
             "published": "2023-03-26T21:05:32.159Z", "outcome": {"result": "SUCCESS"}}
        ]}});
        let PushOutcome::Events(events) =
            decode_push(&request("POST", &[], &body.to_string())).unwrap()
        else {
            panic!("expected events")
        };
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].provider_event_id,
            "f1d0b993-cc19-11ed-a688-db22c99ef6c4"
        );
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
