//! The typed signal of Okta events: every System Log fixture's (checked by `mapping::check_event`
//! for pulls and pushes alike), and the risk crate's fixtures, whose simplified Okta events must
//! carry exactly the signal this connector's classifier gives their Okta parts. The risk
//! detections read only that signal, so this is what ties them to Okta.

use std::path::PathBuf;

use gatehouse_core::model::{EventCategory, Outcome};
use gatehouse_okta::{classify_signal, event_category, SignalInput};
use serde_json::{json, Value};

/// The signal each System Log fixture maps to (`events/<file>.json`, or the event-hook sample).
pub(crate) fn expected_signal(file: &str) -> Value {
    let admin = json!({"id": "00uz9fj5aT69fHVro1d6", "login": "admin@example.com"});
    match file {
        "application.lifecycle.update" => json!({"actor": admin, "app": "Salesforce.com"}),
        "policy.evaluate_sign_on" => json!({
            "step": "not_an_attempt", "policy_decision": "challenge",
        }),
        "policy.lifecycle.update" => json!({
            "actor": admin,
            "privilege_change": {"kind": "mfa_policy_changed", "policy": "MFA Enrollment Policy"},
        }),
        "security.threat.detected" => json!({
            "step": "not_an_attempt", "failure_reason": "other", "anonymizer": "proxy",
        }),
        "system.idp.lifecycle.create" => json!({
            "actor": admin,
            "privilege_change": {"kind": "external_idp_created", "idp": "Example SAML IdP"},
        }),
        "system.push.send_factor_verify_push" => json!({
            "step": "not_an_attempt", "mfa_method": "push",
        }),
        "user.account.privilege.grant" => json!({
            "actor": admin,
            "privilege_change": {"kind": "admin_role_granted", "role": "Super administrator"},
        }),
        "user.authentication.auth_via_mfa.failure" => json!({
            "step": "mfa", "failure_reason": "mfa_failed", "mfa_method": "push",
            "mfa_result": "push_failed", "anonymizer": "proxy",
        }),
        "user.authentication.auth_via_mfa.success" => json!({
            "step": "mfa", "mfa_method": "push", "mfa_result": "success",
        }),
        "user.authentication.sso" => json!({"step": "session", "app": "Salesforce.com"}),
        "user.authentication.verify" => json!({"step": "first_factor", "mfa_method": "email"}),
        "user.lifecycle.suspend" => json!({"actor": admin}),
        "user.mfa.factor.deactivate" => json!({
            "actor": admin, "mfa_method": "push",
            "privilege_change": {"kind": "factor_removed", "factor": "OKTA_VERIFY_PUSH"},
        }),
        "user.mfa.factor.reset_all" => json!({
            "actor": admin, "privilege_change": {"kind": "factors_reset"},
        }),
        "user.mfa.okta_verify.deny_push" => json!({
            "step": "mfa", "failure_reason": "mfa_failed", "mfa_method": "push",
            "mfa_result": "push_denied",
        }),
        "user.risk.detect" => json!({
            "actor": {"id": "0oa1system0principal1", "login": "system@okta.com"},
        }),
        "user.session.start.failure" => json!({
            "step": "first_factor", "failure_reason": "bad_credentials",
        }),
        "user.session.start.risk" | "user.session.start.success" => json!({
            "step": "first_factor", "mfa_method": "push", "app": "Okta Admin Console",
        }),
        "event_hook_delivery" => json!({"step": "first_factor", "app": "Okta Admin Console"}),
        other => panic!("no expected signal for {other}"),
    }
}

fn risk_fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../risk/tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn text<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event.get(key).and_then(Value::as_str)
}

/// The fixture event's Okta parts through the classifier, as JSON.
fn classified(event: &Value) -> Value {
    let event_type = text(event, "event_type").unwrap();
    let category: EventCategory = event
        .get("category")
        .map(|c| serde_json::from_value(c.clone()).unwrap())
        .unwrap_or_default();
    assert_eq!(
        category,
        event_category(event_type),
        "the fixture's category is the one Okta's mapping gives {event_type}"
    );
    let outcome: Outcome = serde_json::from_value(event["outcome"].clone()).unwrap();
    let signal = classify_signal(&SignalInput {
        event_type,
        category,
        outcome,
        reason: text(event, "reason"),
        mfa_factor: text(event, "mfa_factor"),
        is_proxy: event.get("is_proxy").and_then(Value::as_bool),
        event: event.get("raw").unwrap_or(&Value::Null),
    });
    serde_json::to_value(signal).unwrap()
}

#[test]
fn risk_fixtures_carry_the_signal_the_okta_mapping_gives() {
    let files = risk_fixtures();
    assert!(files.len() >= 20, "the risk fixtures were found");
    let mut events = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let scenario: Value = serde_json::from_str(&text).unwrap();
        for event in scenario["events"].as_array().unwrap() {
            let written = event.get("signal").cloned().unwrap_or_else(|| json!({}));
            assert_eq!(
                classified(event),
                written,
                "{}: event {}",
                file.display(),
                event["id"]
            );
            events += 1;
        }
    }
    assert!(events > 200, "{events} events checked");
}
