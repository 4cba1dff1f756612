//! Who the event is about (actor or `User` target), the source IP of the request and the MFA
//! factor used.

use std::net::IpAddr;

use gatehouse_core::model::EventCategory;
use serde_json::Value;

use super::json::{debug_data, text};

/// Credential types that prove only the first factor (or federation); not an MFA factor.
const NOT_MFA_CREDENTIALS: &[&str] = &[
    "PASSWORD",
    "ASSERTION",
    "JWT",
    "IWA",
    "OAUTH 2.0",
    "OKTA_CLIENT_SESSION",
    "PRE_SHARED_SYMMETRIC_KEY",
];
/// `(external id, login)` of the account the event is about (see the `mapping` module docs).
pub(super) fn subject(event: &Value, category: EventCategory) -> (Option<String>, Option<String>) {
    let actor = event.get("actor").filter(|a| is_user(a));
    let target = event
        .get("target")
        .and_then(Value::as_array)
        .and_then(|targets| targets.iter().find(|t| is_user(t)));
    let chosen = match category {
        EventCategory::Authentication => actor.or(target),
        EventCategory::Audit => target.or(actor),
    };
    let Some(who) = chosen else {
        return (None, None);
    };
    let known = |key: &str| {
        text(who, &[key])
            .filter(|s| !s.eq_ignore_ascii_case("unknown"))
            .map(str::to_owned)
    };
    (known("id"), known("alternateId"))
}

fn is_user(entity: &Value) -> bool {
    entity
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("User"))
}
/// The source IP: `client.ipAddress`, else the first hop of `request.ipChain` (where the spec
/// puts it) or of `client.ipChain` (where the event-hook sample puts it). Only valid addresses.
pub(super) fn ip(event: &Value) -> Option<String> {
    let candidates = [
        text(event, &["client", "ipAddress"]),
        event
            .pointer("/request/ipChain/0/ip")
            .and_then(Value::as_str),
        event
            .pointer("/client/ipChain/0/ip")
            .and_then(Value::as_str),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string())
}

/// The MFA factor used: `debugContext.debugData.factor` (Classic: `OKTA_VERIFY_PUSH`, …), else
/// the `AuthenticatorEnrollment` target's name (Identity Engine: `Okta Verify`, …), else
/// `authenticationContext.credentialType` when it is a second factor (`OTP`, `SMS`, `EMAIL`, …),
/// else `OKTA_VERIFY_PUSH` for the push kinds. Passwords and federation assertions are not MFA.
pub(super) fn mfa_factor(event: &Value, event_type: &str) -> Option<String> {
    if let Some(factor) = debug_data(event, "factor").and_then(Value::as_str) {
        let factor = factor.trim();
        if !factor.is_empty() && !factor.eq_ignore_ascii_case("null") {
            return Some(factor.to_owned());
        }
    }
    let enrollment = event
        .get("target")
        .and_then(Value::as_array)
        .and_then(|targets| {
            targets.iter().find(|t| {
                t.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k == "AuthenticatorEnrollment")
            })
        })
        .and_then(|t| text(t, &["displayName"]))
        .filter(|name| !name.eq_ignore_ascii_case("password"));
    if let Some(name) = enrollment {
        return Some(name.to_owned());
    }
    let credential = text(event, &["authenticationContext", "credentialType"])
        .filter(|c| !NOT_MFA_CREDENTIALS.contains(&c.to_ascii_uppercase().as_str()));
    if let Some(credential) = credential {
        return Some(credential.to_owned());
    }
    let push = event_type == "system.push.send_factor_verify_push"
        || event_type.starts_with("user.mfa.okta_verify.deny_push");
    push.then(|| "OKTA_VERIFY_PUSH".to_owned())
}
