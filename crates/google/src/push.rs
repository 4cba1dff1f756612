//! Decoding what a Reports API push channel posts (`screen_push`, `decode_push`).
//!
//! Google's push guide: every message is a `POST` to the channel's address with
//! `X-Goog-Channel-ID`, `X-Goog-Channel-Token` (the token the channel was made with — here the
//! ingest token, which the daemon checks and strips before the connector sees the request),
//! `X-Goog-Channel-Expiration`, `X-Goog-Resource-ID`, `X-Goog-Resource-URI`,
//! `X-Goog-Message-Number` and `X-Goog-Resource-State`:
//!
//! * `sync`: the message that opens a channel. Answered 200 with no body; nothing is stored.
//! * otherwise the state is the activity's event name (`login_success`, …) and the body is
//!   that one `Activity` (`kind: admin#reports#activity`). It becomes the events the pull maps
//!   from the same activity ([`map_activity`]), with the same `{id.time}/{id.uniqueQualifier}`
//!   ids, so a pushed event and its later pulled copy are stored once.
//! * a state that is neither `sync` nor an event name of the activity it came with, a missing
//!   channel id or resource state, or a body that is not one login activity: `BadPush`.
//!
//! The connector holds no channel state when it decodes (the engine keeps `maintain`'s state
//! and does not pass it here), so `X-Goog-Channel-ID` is only required, not compared with the
//! channel in force: a push is authenticated by its ingest token alone, as for every provider,
//! and an automatic action resting on pushed events asks `confirm_events` first.

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest, PushScreen};
use serde_json::Value;

use crate::mapping::activity::{map_activity, map_fields};
use crate::mapping::text;

/// What a message is, once its shape is checked.
enum Message {
    Sync,
    Activity(Value),
}

fn bad(why: &str) -> ConnectorError {
    ConnectorError::BadPush(format!("not a Reports API push notification: {why}"))
}

fn header<'a>(request: &'a PushRequest, name: &str) -> Option<&'a str> {
    request
        .header(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn classify(request: &PushRequest) -> Result<Message, ConnectorError> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(bad("Google posts notifications"));
    }
    header(request, "x-goog-channel-id").ok_or_else(|| bad("no X-Goog-Channel-ID"))?;
    let state =
        header(request, "x-goog-resource-state").ok_or_else(|| bad("no X-Goog-Resource-State"))?;
    if state == "sync" {
        return Ok(Message::Sync);
    }
    let body: Value =
        serde_json::from_slice(&request.body).map_err(|_| bad("the body is not JSON"))?;
    if !body.is_object() {
        return Err(bad("the body is not an activity"));
    }
    if text(body.get("kind")).is_some_and(|k| k != "admin#reports#activity") {
        return Err(bad("the body is not an activity"));
    }
    let id = body.get("id");
    if text(id.and_then(|i| i.get("applicationName"))).is_some_and(|a| a != "login") {
        return Err(bad("the activity is not of the login application"));
    }
    if text(id.and_then(|i| i.get("time"))).is_none()
        || id.and_then(|i| i.get("uniqueQualifier")).is_none()
    {
        return Err(bad("the activity has no id"));
    }
    let named = body
        .get("events")
        .and_then(Value::as_array)
        .is_some_and(|events| events.iter().any(|e| text(e.get("name")) == Some(state)));
    if !named {
        return Err(bad(
            "the resource state is neither sync nor the activity's event",
        ));
    }
    Ok(Message::Activity(body))
}

pub(crate) fn decode_push(request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
    match classify(request)? {
        Message::Sync => Ok(PushOutcome::Respond(PushReply::empty(200))),
        Message::Activity(activity) => Ok(PushOutcome::Events(map_activity(&activity))),
    }
}

pub(crate) fn screen_push(request: &PushRequest) -> Result<PushScreen, ConnectorError> {
    match classify(request)? {
        Message::Sync => Ok(PushScreen::Respond(PushReply::empty(200))),
        Message::Activity(activity) => Ok(PushScreen::Accept {
            events: map_fields(&activity).len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use gatehouse_core::model::Outcome;

    use super::*;

    const SYNC_HEADERS: &str = include_str!("../tests/fixtures/push_sync_headers.json");
    const ACTIVITY_HEADERS: &str = include_str!("../tests/fixtures/push_activity_headers.json");
    const ACTIVITY: &str = include_str!("../tests/fixtures/push_activity.json");
    const PULLED: &str = include_str!("../tests/fixtures/login_activities.json");

    fn request(headers: &str, body: &str) -> PushRequest {
        let headers: serde_json::Map<String, Value> = serde_json::from_str(headers).unwrap();
        PushRequest {
            method: "POST".into(),
            query: vec![("tenant_id".into(), "ten_a".into())],
            headers: headers
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
                .collect(),
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    fn without(mut request: PushRequest, name: &str) -> PushRequest {
        request.headers.retain(|(k, _)| k != name);
        request
    }

    fn with_state(mut request: PushRequest, state: &str) -> PushRequest {
        for (k, v) in &mut request.headers {
            if k == "x-goog-resource-state" {
                *v = state.to_owned();
            }
        }
        request
    }

    #[test]
    fn sync_is_answered_and_stores_nothing() {
        let sync = request(SYNC_HEADERS, "");
        let expected = PushReply::empty(200);
        assert_eq!(
            decode_push(&sync).unwrap(),
            PushOutcome::Respond(expected.clone())
        );
        assert_eq!(screen_push(&sync).unwrap(), PushScreen::Respond(expected));
        assert!(decode_push(&request(SYNC_HEADERS, "")).is_ok());
    }

    #[test]
    fn an_activity_becomes_the_pulls_events() {
        let pushed = request(ACTIVITY_HEADERS, ACTIVITY);
        let PushOutcome::Events(events) = decode_push(&pushed).unwrap() else {
            panic!("expected events");
        };
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(
            event.provider_event_id,
            "2019-05-22T20:03:42.047Z/239837479183"
        );
        assert_eq!(event.outcome, Outcome::Success);
        assert_eq!(
            event.external_user_id.as_deref(),
            Some("111220860655841818702")
        );
        assert_eq!(event.login.as_deref(), Some("alice@example.com"));
        assert!(event.raw.is_some());
        assert_eq!(
            screen_push(&pushed).unwrap(),
            PushScreen::Accept { events: 1 }
        );
        // The pull of the same activity yields the same dedupe id.
        let page: Value = serde_json::from_str(PULLED).unwrap();
        let pulled = map_activity(&page["items"][0]);
        assert_eq!(pulled[0].provider_event_id, event.provider_event_id);
    }

    #[test]
    fn what_google_does_not_send_is_a_bad_push() {
        let good = request(ACTIVITY_HEADERS, ACTIVITY);
        let mut get = good.clone();
        get.method = "GET".into();
        let cases = [
            get,
            without(good.clone(), "x-goog-resource-state"),
            without(good.clone(), "x-goog-channel-id"),
            with_state(good.clone(), "exists"),
            with_state(good.clone(), "login_failure"),
            request(ACTIVITY_HEADERS, "not json"),
            request(ACTIVITY_HEADERS, "[]"),
            request(
                ACTIVITY_HEADERS,
                &ACTIVITY.replace("admin#reports#activity", "admin#directory#user"),
            ),
            request(
                ACTIVITY_HEADERS,
                &ACTIVITY.replace(
                    "\"applicationName\": \"login\"",
                    "\"applicationName\": \"admin\"",
                ),
            ),
            request(
                ACTIVITY_HEADERS,
                &ACTIVITY.replace("uniqueQualifier", "qualifier"),
            ),
        ];
        for (i, case) in cases.iter().enumerate() {
            assert!(
                matches!(decode_push(case), Err(ConnectorError::BadPush(_))),
                "case {i}"
            );
            assert!(
                matches!(screen_push(case), Err(ConnectorError::BadPush(_))),
                "case {i}"
            );
        }
    }
}
