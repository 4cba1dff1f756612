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
