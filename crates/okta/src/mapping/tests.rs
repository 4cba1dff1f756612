//! Unit tests for the System Log event mapping.

use gatehouse_core::model::{EventCategory, Outcome, RiskLevel};
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
    let check = |kind: &str, result: Value, reason: Value, expected: Outcome, why: Option<&str>| {
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
    event["securityContext"] = json!({"risk": {"level": "HIGH", "reasons": ["Anomalous Device"]}});
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
    event["actor"] = json!({"id": "00uADMIN", "type": "User", "alternateId": "admin@example.com"});
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

    event["actor"] = json!({"id": "unknown", "type": "User", "alternateId": "typo@example.com"});
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
