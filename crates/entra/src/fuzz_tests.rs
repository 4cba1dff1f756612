//! Property tests (docs/SECURITY.md): the change-notification decoder and the user and sign-in
//! mappers given arbitrary bytes and Graph's own payloads (the fixtures, and the delivery of
//! Graph's webhook docs) with fields removed, retyped or replaced: a value or an error, never a
//! panic. In the crate because the decoder is private; `make fuzz` runs them long.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use gatehouse_connect::fuzz::{bytes_around, cases, json, mutated};
use gatehouse_core::records::PushRequest;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::connector::ODataPage;
use crate::mapping::signin::map_signin;
use crate::mapping::user::map_user;
use crate::push;

const STATE: &str = "fuzz-client-state-1f3c";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The delivery of Graph's webhook docs (a user changed), and a lifecycle notification.
fn delivery() -> Value {
    json!({"value": [{
        "id": "lsgTZMr9KwAAA",
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "subscriptionExpirationDateTime": "2024-03-20T11:00:00.0000000Z",
        "clientState": STATE,
        "changeType": "updated",
        "resource": "Users/45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": "Users/45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1",
            "id": "45deb0b2-0a5a-4e5a-8d5e-0fb1a0a0f3c1",
            "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
        }
    }, {
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "clientState": STATE,
        "lifecycleEvent": "reauthorizationRequired",
        "resource": "users",
        "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
    }]})
}

fn request(method: &str, query: Vec<(String, String)>, body: Vec<u8>) -> PushRequest {
    PushRequest {
        method: method.into(),
        query,
        content_type: Some("application/json".into()),
        body,
        ..PushRequest::default()
    }
}

fn both(request: &PushRequest) {
    let state = SecretString::from(STATE.to_owned());
    let _ = push::screen(request, &state);
    let _ = push::decode(request, &state);
}

fn users() -> Vec<Value> {
    fixture("users_delta_changes.json")["value"]
        .as_array()
        .cloned()
        .unwrap()
}

fn signins() -> Vec<Value> {
    let dir = format!("{}/tests/fixtures/signins", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| fixture(&format!("signins/{n}")))
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
    fn any_notification_body_is_decoded_or_refused(body in bytes_around(&delivery())) {
        both(&request("POST", Vec::new(), body));
    }

    #[test]
    fn a_mutated_notification_is_decoded_or_refused(delivery in mutated(delivery(), 6)) {
        both(&request("POST", Vec::new(), delivery.to_string().into_bytes()));
    }

    #[test]
    fn any_validation_request_is_answered_or_refused(
        method in "(GET|POST|post|DELETE|)",
        query in prop::collection::vec(
            ("(validationToken|validationtoken|token|\\PC{0,8})", ".{0,300}"), 0..3),
        body in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        both(&request(&method, query, body));
    }

    #[test]
    fn a_mutated_user_maps_or_is_skipped(user in one_of(users(), 6)) {
        let _ = map_user(&user);
    }

    #[test]
    fn any_json_as_a_user_maps_or_is_skipped(user in json()) {
        let _ = map_user(&user);
    }

    #[test]
    fn a_mutated_sign_in_maps_or_is_skipped(signin in one_of(signins(), 6)) {
        let _ = map_signin(signin);
    }

    #[test]
    fn any_json_as_a_sign_in_maps_or_is_skipped(signin in json()) {
        let _ = map_signin(signin);
    }

    #[test]
    fn a_mutated_page_envelope_is_read_or_refused(
        page in mutated(fixture("users_delta_changes.json"), 6)
    ) {
        envelope(page);
    }

    #[test]
    fn any_json_as_a_page_envelope_is_read_or_refused(page in json()) {
        envelope(page);
    }
}

/// A page envelope read keeps every record of its `value` array, and a link only as text.
fn envelope(page: Value) {
    let records = page.get("value").and_then(Value::as_array).cloned();
    match ODataPage::from_value(page.clone(), "fuzz") {
        Ok(read) => {
            assert_eq!(Some(read.items), records);
            for (link, key) in [
                (read.next, "@odata.nextLink"),
                (read.delta, "@odata.deltaLink"),
            ] {
                if let Some(link) = link {
                    assert_eq!(page[key].as_str(), Some(link.as_str()));
                }
            }
        }
        Err(_) => assert!(records.is_none() || !page.is_object()),
    }
}
