//! The pure mapping of an Okta System Log event (`LogEvent`, as pulled from `/api/v1/logs` or
//! pushed in an event hook's `data.events[]`) to a [`ProviderEvent`].
//!
//! Category: sign-in attempts are `Authentication` — `user.session.start`, the
//! `user.authentication.*` family (`sso`, `auth_via_mfa`, `verify`, `auth_via_IDP`, …; not the
//! logout kinds), the MFA verification kinds `user.mfa.*` (`okta_verify`,
//! `okta_verify.deny_push`, `attempt_bypass`, …; not the factor lifecycle `user.mfa.factor.*`),
//! `system.push.send_factor_verify_push`, `policy.evaluate_sign_on` and
//! `security.threat.detected`. Every other event is kept as an `Audit` event with its raw JSON:
//! the admin and lifecycle kinds Gatehouse cares about (`user.lifecycle.*`,
//! `user.account.privilege.grant`/`revoke`, `user.account.lock`, `user.mfa.factor.deactivate`,
//! `user.mfa.factor.reset_all`, `system.idp.lifecycle.*`, `policy.lifecycle.*`, `policy.rule.*`,
//! `user.risk.*`, …) and anything Okta adds later. Nothing well-formed is skipped; an event
//! without `uuid` (the dedupe key), `eventType` or a parsable `published` time is.
//!
//! Whose event it is: for `Authentication` events the actor (the person signing in), else the
//! `User` target. For `Audit` events the `User` target when there is one — the account that was
//! suspended, granted admin rights or had its factors reset is the subject, not the admin who did
//! it (the admin stays in `raw.actor`) — else the actor when it is a user (an admin changing a
//! policy or an identity provider).
//!
//! Every field is optional in practice: nulls, missing objects, the string `"null"`, numbers
//! sent as strings (`postalCode`, `asNumber`) are all tolerated.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{EventCategory, Outcome, RawEvent, RiskLevel};
use gatehouse_core::records::ProviderEvent;
use serde_json::value::RawValue;
use serde_json::Value;

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

/// The `user.authentication.*` kinds that are not sign-in attempts.
const NOT_SIGN_INS: &[&str] = &[
    "user.authentication.slo",
    "user.authentication.universal_logout",
    "user.authentication.universal_logout.scheduled",
];

/// Maps one System Log event; `None` when it lacks what every stored event needs.
pub fn map_event(event: &Value) -> Option<ProviderEvent> {
    let mut mapped = map_fields(event)?;
    mapped.raw = Some(RawEvent::from(event.clone()));
    Some(mapped)
}

/// [`map_event`] for an event the caller owns: the raw copy is moved, not cloned (the push path
/// handles tens of thousands of events a second).
pub fn map_event_owned(event: Value) -> Option<ProviderEvent> {
    let mut mapped = map_fields(&event)?;
    mapped.raw = Some(RawEvent::from(event));
    Some(mapped)
}

/// [`map_event`] for an event still in the text it arrived in (a pushed delivery): the text is
/// kept as the raw event rather than written again from the parsed tree. `None` also when the
/// text is not a JSON object.
pub fn map_event_text(event: &RawValue) -> Option<ProviderEvent> {
    let parsed: Value = serde_json::from_str(event.get()).ok()?;
    if !parsed.is_object() {
        return None;
    }
    let mut mapped = map_fields(&parsed)?;
    mapped.raw = Some(RawEvent::with_value(event.to_owned(), parsed));
    Some(mapped)
}

fn map_fields(event: &Value) -> Option<ProviderEvent> {
    let provider_event_id = text(event, &["uuid"])?.to_owned();
    let event_type = text(event, &["eventType"])?.to_owned();
    let time = DateTime::parse_from_rfc3339(text(event, &["published"])?)
        .ok()?
        .with_timezone(&Utc);
    let category = category(&event_type);
    let (external_user_id, login) = subject(event, category);
    let (outcome, reason) = outcome(event, &event_type, category);
    let geo = |key: &str| text(event, &["client", "geographicalContext", key]).map(str::to_owned);
    let coordinate = |key: &str| {
        number(event.pointer(&format!("/client/geographicalContext/geolocation/{key}")))
    };
    Some(ProviderEvent {
        provider_event_id,
        time,
        category,
        event_type: event_type.clone(),
        external_user_id,
        login,
        outcome,
        reason,
        ip: ip(event),
        country: geo("country"),
        city: geo("city"),
        latitude: coordinate("lat"),
        longitude: coordinate("lon"),
        asn: number(event.pointer("/securityContext/asNumber"))
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= f64::from(u32::MAX))
            .map(|n| n as u32),
        user_agent: text(event, &["client", "userAgent", "rawUserAgent"]).map(str::to_owned),
        device: text(event, &["client", "device"])
            .or_else(|| text(event, &["device", "name"]))
            .map(str::to_owned),
        mfa_factor: mfa_factor(event, &event_type),
        session_id: text(event, &["authenticationContext", "externalSessionId"])
            .filter(|s| !s.eq_ignore_ascii_case("unknown"))
            .map(str::to_owned),
        is_proxy: event
            .pointer("/securityContext/isProxy")
            .and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        provider_risk: provider_risk(event, &event_type),
        raw: None,
    })
}

/// Whether an event type is a sign-in attempt or an auditable change.
fn category(event_type: &str) -> EventCategory {
    let sign_in = event_type == "user.session.start"
        || (event_type.starts_with("user.authentication.") && !NOT_SIGN_INS.contains(&event_type))
        || (event_type.starts_with("user.mfa.")
            && !event_type.starts_with("user.mfa.factor.")
            && event_type != "user.mfa.promote_enrollment")
        || matches!(
            event_type,
            "system.push.send_factor_verify_push"
                | "policy.evaluate_sign_on"
                | "security.threat.detected"
        );
    if sign_in {
        EventCategory::Authentication
    } else {
        EventCategory::Audit
    }
}

/// `(external id, login)` of the account the event is about (see the module docs).
fn subject(event: &Value, category: EventCategory) -> (Option<String>, Option<String>) {
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

/// `outcome.result` in Gatehouse's three words, and the reason.
///
/// `SUCCESS`/`ALLOW` → success; `FAILURE`/`DENY`/`RATE_LIMIT`/`ABANDONED`/`UNANSWERED` →
/// failure; `CHALLENGE` → challenge. Results that say nothing about success (`SKIPPED`,
/// `UNKNOWN`, `DEFERRED`, `SCHEDULED`, or none) are a challenge (not finished) for sign-ins and a
/// success for audit events. The reason is `outcome.reason`, or the result itself when that is
/// not one of the plain ones. Two kinds are special: a denied Okta Verify push is a failure with
/// the reason `push_denied`, and a push that was sent is a challenge.
fn outcome(event: &Value, event_type: &str, category: EventCategory) -> (Outcome, Option<String>) {
    let result = text(event, &["outcome", "result"])
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    let okta_reason = text(event, &["outcome", "reason"]).map(str::to_owned);
    if event_type == "user.mfa.okta_verify.deny_push" {
        return (Outcome::Failure, Some("push_denied".to_owned()));
    }
    if event_type == "user.mfa.okta_verify.deny_push_upgrade_needed" {
        return (
            Outcome::Failure,
            okta_reason.or_else(|| Some("okta_verify_upgrade_needed".to_owned())),
        );
    }
    let plain = matches!(
        result.as_str(),
        "SUCCESS" | "ALLOW" | "FAILURE" | "DENY" | "CHALLENGE"
    );
    let mapped = match result.as_str() {
        "SUCCESS" | "ALLOW" => Outcome::Success,
        "FAILURE" | "DENY" | "RATE_LIMIT" | "ABANDONED" | "UNANSWERED" => Outcome::Failure,
        "CHALLENGE" => Outcome::Challenge,
        _ => match category {
            EventCategory::Authentication => Outcome::Challenge,
            EventCategory::Audit => Outcome::Success,
        },
    };
    let mapped =
        if event_type == "system.push.send_factor_verify_push" && mapped == Outcome::Success {
            Outcome::Challenge
        } else {
            mapped
        };
    let reason = okta_reason.or_else(|| (!plain && !result.is_empty()).then_some(result));
    (mapped, reason)
}

/// The source IP: `client.ipAddress`, else the first hop of `request.ipChain` (where the spec
/// puts it) or of `client.ipChain` (where the event-hook sample puts it). Only valid addresses.
fn ip(event: &Value) -> Option<String> {
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
fn mfa_factor(event: &Value, event_type: &str) -> Option<String> {
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

/// Okta's own risk verdict, the highest of: `security.threat.detected` (a request from an IP
/// ThreatInsight calls malicious: high), `securityContext.risk.level`, the `risk` entry of
/// `debugContext.debugData` (`{reasons=…, level=HIGH}`), and `threatSuspected: "true"`
/// (ThreatInsight found the request suspicious: medium). `None` when Okta said nothing.
fn provider_risk(event: &Value, event_type: &str) -> Option<RiskLevel> {
    let mut levels = Vec::new();
    if event_type == "security.threat.detected" {
        levels.push(RiskLevel::High);
    }
    if let Some(level) = event
        .pointer("/securityContext/risk/level")
        .and_then(Value::as_str)
        .and_then(level_word)
    {
        levels.push(level);
    }
    match debug_data(event, "risk") {
        Some(Value::String(s)) => levels.extend(parse_risk_level(s)),
        Some(Value::Object(map)) => {
            levels.extend(
                map.get("level")
                    .and_then(Value::as_str)
                    .and_then(level_word),
            );
        }
        _ => {}
    }
    let suspected = match debug_data(event, "threatSuspected") {
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        Some(Value::Bool(b)) => *b,
        _ => false,
    };
    if suspected {
        levels.push(RiskLevel::Medium);
    }
    levels.into_iter().max()
}

/// The `level` of Okta's key-value risk text, e.g. `{reasons=Anomalous Geo-Distance, New Device,
/// level=HIGH}` or `{previousLevel=LOW, level=MEDIUM, detectionName=…}`. Values may contain
/// commas, so a piece starts a new key only when it looks like `word=`.
pub fn parse_risk_level(text: &str) -> Option<RiskLevel> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(',')
        .filter_map(|piece| {
            let (key, value) = piece.split_once('=')?;
            let key = key.trim();
            let is_key =
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (is_key && key.eq_ignore_ascii_case("level")).then(|| value.trim())
        })
        .find_map(level_word)
}

fn level_word(word: &str) -> Option<RiskLevel> {
    match word.trim().to_ascii_uppercase().as_str() {
        "HIGH" => Some(RiskLevel::High),
        "MEDIUM" => Some(RiskLevel::Medium),
        "LOW" => Some(RiskLevel::Low),
        "NONE" => Some(RiskLevel::None),
        _ => None,
    }
}

/// A `debugContext.debugData` entry; Okta documents the keys in either case (`Risk`, `risk`).
fn debug_data<'a>(event: &'a Value, key: &str) -> Option<&'a Value> {
    let data = event.pointer("/debugContext/debugData")?.as_object()?;
    data.get(key).or_else(|| {
        data.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A non-empty string at `path` that is not the literal `"null"` Okta sometimes sends.
fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    current
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("null"))
}

/// A number, or a string holding one.
fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn base(event_type: &str) -> Value {
        json!({
            "uuid": "e-1",
            "published": "2024-08-13T15:58:20.353Z",
            "eventType": event_type,
            "actor": {"id": "00uA", "type": "User", "alternateId": "a@example.com"},
            "outcome": {"result": "SUCCESS", "reason": null}
        })
    }

    #[test]
    fn needs_uuid_type_and_time() {
        assert!(map_event(&base("user.session.start")).is_some());
        for key in ["uuid", "eventType", "published"] {
            let mut event = base("user.session.start");
            event.as_object_mut().unwrap().remove(key);
            assert!(map_event(&event).is_none(), "{key}");
        }
        let mut event = base("user.session.start");
        event["published"] = json!("yesterday");
        assert!(map_event(&event).is_none());
        assert!(map_event(&json!(null)).is_none());
        assert!(map_event(&json!([1, 2])).is_none());
    }

    #[test]
    fn categories() {
        for kind in [
            "user.session.start",
            "user.authentication.sso",
            "user.authentication.auth_via_mfa",
            "user.authentication.verify",
            "user.mfa.okta_verify",
            "user.mfa.okta_verify.deny_push",
            "user.mfa.attempt_bypass",
            "system.push.send_factor_verify_push",
            "policy.evaluate_sign_on",
            "security.threat.detected",
        ] {
            assert_eq!(category(kind), EventCategory::Authentication, "{kind}");
        }
        for kind in [
            "user.session.end",
            "user.authentication.slo",
            "user.mfa.factor.deactivate",
            "user.mfa.factor.reset_all",
            "user.mfa.promote_enrollment",
            "user.lifecycle.suspend",
            "user.account.privilege.grant",
            "system.idp.lifecycle.create",
            "policy.lifecycle.update",
            "application.lifecycle.create",
        ] {
            assert_eq!(category(kind), EventCategory::Audit, "{kind}");
        }
    }

    #[test]
    fn outcomes() {
        let check =
            |kind: &str, result: Value, reason: Value, expected: Outcome, why: Option<&str>| {
                let mut event = base(kind);
                event["outcome"] = json!({"result": result, "reason": reason});
                let mapped = map_event(&event).unwrap();
                assert_eq!(mapped.outcome, expected, "{kind} {event}");
                assert_eq!(mapped.reason.as_deref(), why, "{kind} {event}");
            };
        let s = "user.session.start";
        check(s, json!("SUCCESS"), json!(null), Outcome::Success, None);
        check(
            s,
            json!("FAILURE"),
            json!("INVALID_CREDENTIALS"),
            Outcome::Failure,
            Some("INVALID_CREDENTIALS"),
        );
        check(s, json!("DENY"), json!(null), Outcome::Failure, None);
        check(s, json!("CHALLENGE"), json!(null), Outcome::Challenge, None);
        check(s, json!("ALLOW"), json!(null), Outcome::Success, None);
        check(
            s,
            json!("UNANSWERED"),
            json!(null),
            Outcome::Failure,
            Some("UNANSWERED"),
        );
        check(
            s,
            json!("RATE_LIMIT"),
            json!("Rate limit"),
            Outcome::Failure,
            Some("Rate limit"),
        );
        check(
            s,
            json!("UNKNOWN"),
            json!(null),
            Outcome::Challenge,
            Some("UNKNOWN"),
        );
        check(s, json!(null), json!(null), Outcome::Challenge, None);
        check(s, json!("success"), json!(""), Outcome::Success, None);
        check(
            "user.lifecycle.suspend",
            json!("SKIPPED"),
            json!(null),
            Outcome::Success,
            Some("SKIPPED"),
        );
        check(
            "user.mfa.okta_verify.deny_push",
            json!("SUCCESS"),
            json!(null),
            Outcome::Failure,
            Some("push_denied"),
        );
        check(
            "user.mfa.okta_verify.deny_push",
            json!("FAILURE"),
            json!("INVALID_CREDENTIALS"),
            Outcome::Failure,
            Some("push_denied"),
        );
        check(
            "system.push.send_factor_verify_push",
            json!("SUCCESS"),
            json!(null),
            Outcome::Challenge,
            None,
        );
        check(
            "system.push.send_factor_verify_push",
            json!("FAILURE"),
            json!("x"),
            Outcome::Failure,
            Some("x"),
        );
    }

    #[test]
    fn risk_text_is_parsed_without_confusing_previous_level() {
        assert_eq!(
            parse_risk_level("{reasons=Anomalous Geo-Distance, New Device, New ASN, New IP, New State, New Country, New City, level=HIGH}"),
            Some(RiskLevel::High)
        );
        assert_eq!(
            parse_risk_level("{previousLevel=LOW, level=MEDIUM, detectionName=Session Influenced User Risk, reasons=Associated sessionId is suspected to be hijacked, issuer=OKTA}"),
            Some(RiskLevel::Medium)
        );
        assert_eq!(parse_risk_level("{level=LOW}"), Some(RiskLevel::Low));
        assert_eq!(parse_risk_level("{previousLevel=HIGH}"), None);
        assert_eq!(
            parse_risk_level("{reasons=level=HIGH is a phrase, level=LOW}"),
            Some(RiskLevel::Low)
        );
        assert_eq!(parse_risk_level(""), None);
        assert_eq!(parse_risk_level("garbage"), None);
    }

    #[test]
    fn risk_sources_take_the_highest() {
        let mut event = base("user.session.start");
        assert_eq!(map_event(&event).unwrap().provider_risk, None);
        event["debugContext"] = json!({"debugData": {"threatSuspected": "false"}});
        assert_eq!(map_event(&event).unwrap().provider_risk, None);
        event["debugContext"] = json!({"debugData": {"threatSuspected": "true"}});
        assert_eq!(
            map_event(&event).unwrap().provider_risk,
            Some(RiskLevel::Medium)
        );
        event["debugContext"] = json!({"debugData": {"Risk": "{level=LOW}"}});
        assert_eq!(
            map_event(&event).unwrap().provider_risk,
            Some(RiskLevel::Low)
        );
        event["securityContext"] =
            json!({"risk": {"level": "HIGH", "reasons": ["Anomalous Device"]}});
        assert_eq!(
            map_event(&event).unwrap().provider_risk,
            Some(RiskLevel::High)
        );
        let threat = base("security.threat.detected");
        assert_eq!(
            map_event(&threat).unwrap().provider_risk,
            Some(RiskLevel::High)
        );
    }

    #[test]
    fn tolerates_nulls_and_odd_types() {
        let mut event = base("user.session.start");
        event["client"] = json!({
            "ipAddress": "not-an-ip",
            "device": null,
            "zone": "null",
            "userAgent": null,
            "geographicalContext": {"city": null, "country": "null", "postalCode": 10013,
                "geolocation": {"lat": "40.5", "lon": null}}
        });
        event["securityContext"] = json!({"asNumber": "394089", "isProxy": null});
        event["authenticationContext"] =
            json!({"externalSessionId": "unknown", "credentialType": null});
        event["request"] = json!({"ipChain": [{"ip": "2001:db8::1"}]});
        event["target"] = json!(null);
        event["debugContext"] = json!({"debugData": null});
        let mapped = map_event(&event).unwrap();
        assert_eq!(mapped.ip.as_deref(), Some("2001:db8::1"));
        assert_eq!(mapped.country, None);
        assert_eq!(mapped.city, None);
        assert_eq!(mapped.latitude, Some(40.5));
        assert_eq!(mapped.longitude, None);
        assert_eq!(mapped.asn, Some(394_089));
        assert_eq!(mapped.is_proxy, None);
        assert_eq!(mapped.session_id, None);
        assert_eq!(mapped.user_agent, None);
        assert_eq!(mapped.mfa_factor, None);
        event["securityContext"] = json!({"asNumber": -1});
        assert_eq!(map_event(&event).unwrap().asn, None);
    }

    #[test]
    fn subject_is_the_actor_for_sign_ins_and_the_target_user_for_audits() {
        let mut event = base("user.lifecycle.suspend");
        event["actor"] =
            json!({"id": "00uADMIN", "type": "User", "alternateId": "admin@example.com"});
        event["target"] = json!([
            {"id": "0oaAPP", "type": "AppInstance", "alternateId": "App"},
            {"id": "00uBOB", "type": "User", "alternateId": "bob@example.com"}
        ]);
        let mapped = map_event(&event).unwrap();
        assert_eq!(mapped.category, EventCategory::Audit);
        assert_eq!(mapped.external_user_id.as_deref(), Some("00uBOB"));
        assert_eq!(mapped.login.as_deref(), Some("bob@example.com"));

        event["eventType"] = json!("user.session.start");
        let mapped = map_event(&event).unwrap();
        assert_eq!(mapped.external_user_id.as_deref(), Some("00uADMIN"));

        event["eventType"] = json!("policy.lifecycle.update");
        event["target"] = json!([{"id": "00p1", "type": "PolicyEntity"}]);
        let mapped = map_event(&event).unwrap();
        assert_eq!(mapped.external_user_id.as_deref(), Some("00uADMIN"));

        event["actor"] =
            json!({"id": "unknown", "type": "User", "alternateId": "typo@example.com"});
        event["eventType"] = json!("user.session.start");
        let mapped = map_event(&event).unwrap();
        assert_eq!(mapped.external_user_id, None);
        assert_eq!(mapped.login.as_deref(), Some("typo@example.com"));

        event["actor"] = json!({"id": "0oa1", "type": "PublicClientApp"});
        event["target"] = json!(null);
        let mapped = map_event(&event).unwrap();
        assert_eq!((mapped.external_user_id, mapped.login), (None, None));
    }

    #[test]
    fn mfa_factor_sources() {
        let mut event = base("user.authentication.auth_via_mfa");
        event["authenticationContext"] = json!({"credentialType": "PASSWORD"});
        assert_eq!(map_event(&event).unwrap().mfa_factor, None);
        event["authenticationContext"] = json!({"credentialType": "OTP"});
        assert_eq!(
            map_event(&event).unwrap().mfa_factor.as_deref(),
            Some("OTP")
        );
        event["target"] = json!([{"id": "pfd1", "type": "AuthenticatorEnrollment", "displayName": "Google Authenticator"}]);
        assert_eq!(
            map_event(&event).unwrap().mfa_factor.as_deref(),
            Some("Google Authenticator")
        );
        event["debugContext"] = json!({"debugData": {"factor": "OKTA_VERIFY_PUSH"}});
        assert_eq!(
            map_event(&event).unwrap().mfa_factor.as_deref(),
            Some("OKTA_VERIFY_PUSH")
        );
        let mut password = base("user.session.start");
        password["target"] =
            json!([{"id": "lae1", "type": "AuthenticatorEnrollment", "displayName": "Password"}]);
        assert_eq!(map_event(&password).unwrap().mfa_factor, None);
        let push = base("system.push.send_factor_verify_push");
        assert_eq!(
            map_event(&push).unwrap().mfa_factor.as_deref(),
            Some("OKTA_VERIFY_PUSH")
        );
    }
}
