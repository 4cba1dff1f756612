//! The classifier on hand-made Okta parts: table order, push factors, policy types, tunnels,
//! failure classes and factor kinds.

#![allow(clippy::unwrap_used)]

use gatehouse_core::model::{
    Actor, Anonymizer, AuthStep, EventCategory, EventSignal, FailureReason, MfaMethod, MfaResult,
    Outcome, PolicyDecision, PrivilegeChange,
};
use serde_json::{json, Value};

use super::{classify, SignalInput};
use crate::mapping::category;

/// The signal of an event with these parts (the category from the event type, as mapped).
fn check(event_type: &str, outcome: Outcome, factor: Option<&str>, event: &Value) -> EventSignal {
    classify(&SignalInput {
        event_type,
        category: category(event_type),
        outcome,
        reason: None,
        mfa_factor: factor,
        is_proxy: None,
        event,
    })
}

#[test]
fn table_order_puts_specific_rows_first() {
    let deny = check(
        "user.mfa.okta_verify.deny_push",
        Outcome::Failure,
        Some("OKTA_VERIFY_PUSH"),
        &Value::Null,
    );
    assert_eq!(deny.step, Some(AuthStep::Mfa));
    assert_eq!(deny.mfa_result, Some(MfaResult::PushDenied));
    assert_eq!(deny.failure_reason, Some(FailureReason::MfaFailed));
    let other = check(
        "user.mfa.okta_verify.deny_push_upgrade_needed",
        Outcome::Failure,
        Some("OKTA_VERIFY_PUSH"),
        &Value::Null,
    );
    assert_eq!(other.step, Some(AuthStep::Mfa));
    assert_eq!(
        other.mfa_result,
        Some(MfaResult::Failed),
        "a step, not a verification"
    );
    for (event_type, step) in [
        ("user.session.start", Some(AuthStep::FirstFactor)),
        ("user.authentication.verify", Some(AuthStep::FirstFactor)),
        ("user.authentication.sso", Some(AuthStep::Session)),
        ("policy.evaluate_sign_on", Some(AuthStep::NotAnAttempt)),
        ("security.threat.detected", Some(AuthStep::NotAnAttempt)),
        (
            "system.push.send_factor_verify_push",
            Some(AuthStep::NotAnAttempt),
        ),
        ("user.mfa.factor.activate", None),
        ("user.lifecycle.suspend", None),
    ] {
        assert_eq!(
            check(event_type, Outcome::Success, None, &Value::Null).step,
            step,
            "{event_type}"
        );
    }
}

#[test]
fn push_failures_need_a_push_factor() {
    let verify = |factor: Option<&str>, event: &Value, outcome| {
        check("user.authentication.auth_via_mfa", outcome, factor, event).mfa_result
    };
    let none = &Value::Null;
    assert_eq!(
        verify(None, none, Outcome::Failure),
        Some(MfaResult::Failed)
    );
    assert_eq!(
        verify(Some("OKTA_VERIFY_PUSH"), none, Outcome::Failure),
        Some(MfaResult::PushFailed)
    );
    assert_eq!(
        verify(Some("Okta Verify"), none, Outcome::Failure),
        Some(MfaResult::PushFailed)
    );
    let code = json!({"target": [{"detailEntry": {"methodTypeUsed": "Enter a code"}}]});
    assert_eq!(
        verify(Some("Okta Verify"), &code, Outcome::Failure),
        Some(MfaResult::Failed),
        "an Okta Verify code is not a push"
    );
    let push = json!({"target": [{"detailEntry": {"methodTypeUsed": "Get a push notification"}}]});
    assert_eq!(
        verify(Some("Okta Verify"), &push, Outcome::Failure),
        Some(MfaResult::PushFailed)
    );
    assert_eq!(
        verify(Some("Okta Verify"), &push, Outcome::Success),
        Some(MfaResult::Success)
    );
    assert_eq!(verify(Some("Okta Verify"), &push, Outcome::Challenge), None);
}

#[test]
fn factor_names_in_every_dialect_have_a_method() {
    let phone = |used: &str| json!({"target": [{"detailEntry": {"methodTypeUsed": used}}]});
    for (factor, event, method) in [
        ("OKTA_VERIFY_PUSH", Value::Null, MfaMethod::Push),
        ("Okta Verify", phone("Use Okta FastPass"), MfaMethod::Other),
        ("Google Authenticator", Value::Null, MfaMethod::Otp),
        ("token:software:totp", Value::Null, MfaMethod::Otp),
        ("OTP", Value::Null, MfaMethod::Otp),
        ("SMS_FACTOR", Value::Null, MfaMethod::Sms),
        ("Phone", phone("SMS"), MfaMethod::Sms),
        ("Phone", phone("Voice call"), MfaMethod::Voice),
        ("CALL_FACTOR", Value::Null, MfaMethod::Voice),
        ("Email", Value::Null, MfaMethod::Email),
        (
            "Security Key or Biometric",
            Value::Null,
            MfaMethod::Webauthn,
        ),
        ("U2F_FACTOR", Value::Null, MfaMethod::Webauthn),
        ("question", Value::Null, MfaMethod::Other),
    ] {
        let signal = check(
            "user.authentication.auth_via_mfa",
            Outcome::Success,
            Some(factor),
            &event,
        );
        assert_eq!(signal.mfa_method, Some(method), "{factor} {event}");
    }
}

#[test]
fn failures_have_a_class() {
    let failed = |event_type: &str, reason: Option<&str>| {
        classify(&SignalInput {
            event_type,
            category: category(event_type),
            outcome: Outcome::Failure,
            reason,
            mfa_factor: None,
            is_proxy: None,
            event: &Value::Null,
        })
        .failure_reason
    };
    let start = "user.session.start";
    for (reason, class) in [
        (Some("INVALID_CREDENTIALS"), FailureReason::BadCredentials),
        (Some("UNKNOWN_USER"), FailureReason::UnknownUser),
        (Some("LOCKED_OUT"), FailureReason::LockedOut),
        (Some("User suspended"), FailureReason::AccountDisabled),
        (
            Some("PASSWORD_BASED_LOGIN_DISALLOWED"),
            FailureReason::PolicyDenied,
        ),
        (Some("VERIFICATION_ERROR"), FailureReason::Other),
        (None, FailureReason::Other),
    ] {
        assert_eq!(failed(start, reason), Some(class), "{reason:?}");
    }
    assert_eq!(
        failed("policy.evaluate_sign_on", None),
        Some(FailureReason::PolicyDenied)
    );
    assert_eq!(
        failed(
            "user.authentication.auth_via_mfa",
            Some("INVALID_CREDENTIALS")
        ),
        Some(FailureReason::MfaFailed)
    );
    assert_eq!(failed("user.lifecycle.suspend", None), None, "audit events");
    let decision = check(
        "policy.evaluate_sign_on",
        Outcome::Challenge,
        None,
        &Value::Null,
    );
    assert_eq!(decision.policy_decision, Some(PolicyDecision::Challenge));
}

#[test]
fn policy_changes_count_only_for_mfa_policies() {
    let policy = |event: &Value| {
        check("policy.lifecycle.deactivate", Outcome::Success, None, event).privilege_change
    };
    assert_eq!(policy(&json!({})), None, "unknown policy type");
    let passwords = json!({"target": [{"type": "PolicyEntity", "displayName": "Passwords",
        "detailEntry": {"policyType": "PASSWORD"}}]});
    assert_eq!(policy(&passwords), None);
    let mfa = json!({"target": [{"type": "PolicyEntity", "displayName": "MFA",
        "detailEntry": {"policyType": "MFA_ENROLL"}}]});
    assert_eq!(
        policy(&mfa),
        Some(PrivilegeChange::MfaPolicyRemoved {
            policy: Some("MFA".into())
        })
    );
    let rule = json!({"target": [{"type": "PolicyRule", "displayName": "Catch-all",
        "detailEntry": {"policyType": "Okta:SignOn"}}]});
    assert_eq!(
        check("policy.rule.update", Outcome::Success, None, &rule).privilege_change,
        Some(PrivilegeChange::MfaPolicyChanged {
            policy: Some("Catch-all".into())
        })
    );
}

#[test]
fn grants_name_the_role_the_group_and_the_admin() {
    let grant = json!({
        "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com"},
        "debugContext": {"debugData": {"privilegeGranted": "Org administrator"}},
        "target": [{"type": "UserGroup", "displayName": "Helpdesk"}],
    });
    let signal = check("group.privilege.grant", Outcome::Success, None, &grant);
    assert_eq!(
        signal.privilege_change,
        Some(PrivilegeChange::AdminRoleGranted {
            role: Some("Org administrator".into()),
            group: Some("Helpdesk".into())
        })
    );
    assert_eq!(
        signal.actor,
        Some(Actor {
            id: Some("00uadmin".into()),
            login: Some("admin@example.com".into())
        })
    );
    let unknown = json!({"actor": {"id": "unknown", "alternateId": "unknown"}});
    assert_eq!(
        check("user.lifecycle.suspend", Outcome::Success, None, &unknown).actor,
        None
    );
    let removed = check(
        "user.mfa.factor.deactivate",
        Outcome::Success,
        Some("SMS_FACTOR"),
        &json!({}),
    );
    assert_eq!(
        removed.privilege_change,
        Some(PrivilegeChange::FactorRemoved {
            factor: Some("SMS_FACTOR".into())
        })
    );
}

#[test]
fn anonymizer_flags() {
    let flags = |is_proxy: Option<bool>, event: &Value| {
        classify(&SignalInput {
            event_type: "user.session.start",
            category: EventCategory::Authentication,
            outcome: Outcome::Success,
            reason: None,
            mfa_factor: None,
            is_proxy,
            event,
        })
        .anonymizer
    };
    assert_eq!(flags(Some(false), &json!({})), None);
    let vpn = json!({"debugContext": {"debugData": {
        "tunnels": "[{\"anonymous\":true,\"operator\":\"X\",\"type\":\"VPN\"}]"}}});
    assert_eq!(flags(None, &vpn), Some(Anonymizer::AnonymousTunnel));
    let tor = json!({"debugContext": {"debugData": {
        "tunnels": [{"anonymous": false, "type": "TOR"}]}}});
    assert_eq!(flags(None, &tor), Some(Anonymizer::AnonymousTunnel));
    let named = json!({"debugContext": {"debugData": {
        "tunnels": [{"anonymous": false, "type": "VPN", "operator": "Corp"}]}}});
    assert_eq!(flags(None, &named), None);
    assert_eq!(
        flags(Some(true), &tor),
        Some(Anonymizer::Proxy),
        "the proxy flag first"
    );
}
