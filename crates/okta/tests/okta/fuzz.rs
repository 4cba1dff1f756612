//! Property tests (docs/SECURITY.md): the event-hook decoder and the user and System Log mappers
//! given arbitrary bytes and Okta's own documented payloads (the fixtures) with fields removed,
//! retyped or replaced. Whatever arrives, they answer with a value or an error, never a panic.
//! `make fuzz` runs them long (`PROPTEST_CASES`).

use gatehouse_connect::fuzz::{bytes_around, cases, json, mutated};
use gatehouse_core::records::PushRequest;
use gatehouse_okta::{decode_push, map_event, map_user, screen_push, summarize_factors};
use proptest::prelude::*;
use serde_json::Value;

use crate::support::{fixture, fixtures};

fn post(body: Vec<u8>) -> PushRequest {
    PushRequest {
        method: "POST".into(),
        content_type: Some("application/json".into()),
        body,
        ..PushRequest::default()
    }
}

/// Both doors of a push: the screen before the answer and the decoder behind it.
fn push(request: &PushRequest) {
    let _ = screen_push(request);
    let _ = decode_push(request);
}

fn users() -> Vec<Value> {
    fixture("users.json").as_array().cloned().unwrap()
}

fn events() -> Vec<Value> {
    let mut names: Vec<_> = std::fs::read_dir(fixtures().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
        .iter()
        .map(|name| fixture(&format!("events/{name}")))
        .collect()
}

fn one_of(records: Vec<Value>, mutations: usize) -> impl Strategy<Value = Value> {
    (0..records.len()).prop_flat_map(move |i| mutated(records[i].clone(), mutations))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_push_body_is_decoded_or_refused(body in bytes_around(&fixture("event_hook_delivery.json"))) {
        push(&post(body));
    }

    #[test]
    fn a_mutated_delivery_is_decoded_or_refused(delivery in mutated(fixture("event_hook_delivery.json"), 6)) {
        push(&post(delivery.to_string().into_bytes()));
    }

    #[test]
    fn a_delivery_of_mutated_events_is_decoded_or_refused(
        events in prop::collection::vec(one_of(events(), 4), 0..4),
    ) {
        let mut delivery = fixture("event_hook_delivery.json");
        delivery["data"]["events"] = Value::Array(events);
        push(&post(delivery.to_string().into_bytes()));
    }

    #[test]
    fn any_verification_request_is_answered_or_refused(
        method in "(GET|POST|get|PUT|)",
        challenge in prop::option::of(".{0,600}"),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut request = post(body);
        request.method = method;
        if let Some(challenge) = challenge {
            request.headers.push(("x-okta-verification-challenge".into(), challenge));
        }
        push(&request);
    }

    #[test]
    fn a_mutated_user_maps_or_is_skipped(
        user in one_of(users(), 6),
        factors in prop::option::of(prop::collection::vec(
            prop_oneof![json(), mutated(fixture("factors.json")[0].clone(), 3)], 0..4)),
    ) {
        let _ = map_user(&user, factors.as_deref());
        if let Some(factors) = &factors {
            let _ = summarize_factors(factors);
        }
    }

    #[test]
    fn any_json_as_a_user_maps_or_is_skipped(user in json()) {
        let _ = map_user(&user, None);
    }

    #[test]
    fn a_mutated_event_maps_or_is_skipped(event in one_of(events(), 6)) {
        let _ = map_event(&event);
    }

    #[test]
    fn any_json_as_an_event_maps_or_is_skipped(event in json()) {
        let _ = map_event(&event);
    }
}
