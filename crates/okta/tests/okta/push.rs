//! Event hook deliveries: Okta's verification challenge, deliveries of mapped events, and
//! malformed requests.

use gatehouse_core::model::{EventCategory, Outcome};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest};
use gatehouse_okta::decode_push;
use serde_json::{json, Value};

use crate::mapping::{check_event, event_expectations, Expect};
use crate::support::fixture;

fn push(method: &str, headers: &[(&str, &str)], body: &[u8]) -> PushRequest {
    PushRequest {
        method: method.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
            .collect(),
        body: body.to_vec(),
        ..PushRequest::default()
    }
}

#[test]
fn push_verification_challenge() {
    let got = decode_push(&push(
        "GET",
        &[("X-Okta-Verification-Challenge", "Z3mRSOe9sA4")],
        b"",
    ))
    .unwrap();
    assert_eq!(
        got,
        PushOutcome::Respond(PushReply::json(
            200,
            &json!({"verification": "Z3mRSOe9sA4"})
        ))
    );
}

#[test]
fn push_delivery_from_okta_docs() {
    let body = fixture("event_hook_delivery.json");
    let got = decode_push(&push(
        "POST",
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    ))
    .unwrap();
    let PushOutcome::Events(events) = got else {
        panic!("expected events")
    };
    assert_eq!(events.len(), 1);
    let raw = &body["data"]["events"][0];
    let expect = Expect {
        category: Some(EventCategory::Authentication),
        user: Some("00uz9fj5aT69fHVro1d6"),
        login: Some("admin@okta.com"),
        outcome: Some(Outcome::Success),
        ip: Some("142.126.158.61"),
        country: Some("Canada"),
        city: Some("Toronto"),
        session: Some("idxyNcxVX2ESsSL0u462548Qg"),
        ..Expect::default()
    };
    check_event("event_hook_delivery", &events[0], raw, &expect);
}

#[test]
fn push_batches_every_mapped_kind() {
    let events: Vec<Value> = event_expectations()
        .iter()
        .map(|(f, _)| fixture(&format!("events/{f}.json")))
        .collect();
    let body = json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
        "eventId": "85b60edb-4263-4e13-993b-818e26201052",
        "data": {"events": events}
    });
    let PushOutcome::Events(mapped) =
        decode_push(&push("POST", &[], body.to_string().as_bytes())).unwrap()
    else {
        panic!("expected events")
    };
    assert_eq!(mapped.len(), event_expectations().len());
    for ((file, expect), (event, raw)) in
        event_expectations().iter().zip(mapped.iter().zip(&events))
    {
        check_event(file, event, raw, expect);
    }
}

#[test]
fn push_malformed_is_bad_push() {
    for (method, body) in [
        (
            "POST",
            &b"{\"eventType\":\"com.okta.event_hook\",\"data\":"[..],
        ),
        ("POST", b"{\"data\":{\"events\":\"nope\"}}"),
        ("POST", b"\"just a string\""),
        ("GET", b""),
        ("DELETE", b""),
    ] {
        let err = decode_push(&push(method, &[], body)).unwrap_err();
        assert!(matches!(err, ConnectorError::BadPush(_)), "{method} {err}");
    }
}
