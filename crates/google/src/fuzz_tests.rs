//! Property tests (docs/SECURITY.md): the Reports API push decoder and the user and login
//! activity mappers given arbitrary bytes and Google's own payloads (the fixtures) with fields
//! removed, retyped or replaced, and arbitrary channel headers: a value or an error, never a
//! panic. In the crate because the decoder is private; `make fuzz` runs them long.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use gatehouse_connect::fuzz::{bytes_around, cases, json, mutated};
use gatehouse_core::records::PushRequest;
use proptest::prelude::*;
use serde_json::Value;

use crate::connector::list_page;
use crate::mapping::activity::map_activity;
use crate::mapping::user::map_user;
use crate::push;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A delivery with the fixture's channel headers, the resource state the activity names.
fn request(headers: &Value, body: Vec<u8>) -> PushRequest {
    PushRequest {
        method: "POST".into(),
        headers: headers
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.to_ascii_lowercase(), v)
            })
            .collect(),
        content_type: Some("application/json".into()),
        body,
        ..PushRequest::default()
    }
}

fn both(request: &PushRequest) {
    let _ = push::screen_push(request);
    let _ = push::decode_push(request);
}

fn activities() -> Vec<Value> {
    let mut all = fixture("login_activities.json")["items"]
        .as_array()
        .cloned()
        .unwrap();
    all.push(fixture("push_activity.json"));
    all
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
    fn any_push_body_is_decoded_or_refused(body in bytes_around(&fixture("push_activity.json"))) {
        both(&request(&fixture("push_activity_headers.json"), body));
    }

    #[test]
    fn a_mutated_push_is_decoded_or_refused(
        body in mutated(fixture("push_activity.json"), 6),
        headers in mutated(fixture("push_activity_headers.json"), 2),
    ) {
        both(&request(&headers, body.to_string().into_bytes()));
    }

    #[test]
    fn any_channel_headers_are_handled(
        method in "(POST|GET|post|)",
        headers in prop::collection::vec(
            ("(x-goog-channel-id|x-goog-resource-state|x-goog-message-number|x-goog-channel-token|\\PC{0,6})",
             "(sync|login_success|login_failure|\\PC{0,40})"), 0..5),
        body in bytes_around(&fixture("push_activity.json")),
    ) {
        let mut request = request(&Value::Null, body);
        request.method = method;
        request.headers = headers;
        both(&request);
    }

    #[test]
    fn a_mutated_user_maps_or_is_skipped(user in prop_oneof![
        mutated(fixture("user.json"), 6),
        one_of(fixture("users_page.json")["users"].as_array().cloned().unwrap(), 6),
    ]) {
        let _ = map_user(&user);
    }

    #[test]
    fn any_json_as_a_user_maps_or_is_skipped(user in json()) {
        let _ = map_user(&user);
    }

    #[test]
    fn a_mutated_activity_maps_or_is_skipped(activity in one_of(activities(), 6)) {
        let _ = map_activity(&activity);
    }

    #[test]
    fn any_json_as_an_activity_maps_or_is_skipped(activity in json()) {
        let _ = map_activity(&activity);
    }

    #[test]
    fn a_mutated_page_envelope_is_read_or_refused(
        page in mutated(fixture("users_page.json"), 6)
    ) {
        envelope(page);
    }

    #[test]
    fn any_json_as_a_page_envelope_is_read_or_refused(page in json()) {
        envelope(page);
    }
}

/// A list envelope read keeps every record of its `users` list (none when Google left it out)
/// and a page token only as non-blank text.
fn envelope(page: Value) {
    match list_page(page.clone(), "users", "fuzz") {
        Ok((items, next)) => {
            let listed = page.get("users").and_then(Value::as_array).cloned();
            assert_eq!(items, listed.unwrap_or_default());
            if let Some(next) = next {
                assert_eq!(
                    page["nextPageToken"].as_str().map(str::trim),
                    Some(next.as_str())
                );
            }
        }
        Err(_) => assert!(!page.is_object() || !page["users"].is_array()),
    }
}
