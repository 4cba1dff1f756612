//! The mapping of Graph payloads (fixtures from Microsoft's docs), held to the signal classifier:
//! every documented sign-in case gets the outcome and signal the detections need.

use std::path::PathBuf;

use gatehouse_core::model::{
    Anonymizer, AuthStep, FailureReason, MfaMethod, MfaResult, Outcome, PolicyDecision, RiskLevel,
    UserStatus,
};
use gatehouse_entra::{map_signin, map_user};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

struct Expect {
    outcome: Outcome,
    step: AuthStep,
    failure: Option<FailureReason>,
    mfa_method: Option<MfaMethod>,
    mfa_result: Option<MfaResult>,
    policy: Option<PolicyDecision>,
}

fn check(name: &str, expect: Expect) {
    let event = map_signin(fixture(&format!("signins/{name}.json"))).unwrap();
    assert_eq!(event.outcome, expect.outcome, "{name}: outcome");
    let s = &event.signal;
    assert_eq!(s.step, Some(expect.step), "{name}: step");
    assert_eq!(s.failure_reason, expect.failure, "{name}: failure reason");
    assert_eq!(s.mfa_method, expect.mfa_method, "{name}: mfa method");
    assert_eq!(s.mfa_result, expect.mfa_result, "{name}: mfa result");
    assert_eq!(s.policy_decision, expect.policy, "{name}: policy");
    assert_eq!(s.app.as_deref(), Some("Graph explorer"), "{name}: app");
}

const OK: Expect = Expect {
    outcome: Outcome::Success,
    step: AuthStep::FirstFactor,
    failure: None,
    mfa_method: None,
    mfa_result: None,
    policy: None,
};

#[test]
fn every_documented_sign_in_case_classifies() {
    check("success", OK);
    check(
        "non_interactive",
        Expect {
            step: AuthStep::Session,
            ..OK
        },
    );
    check(
        "bad_password",
        Expect {
            outcome: Outcome::Failure,
            failure: Some(FailureReason::BadCredentials),
            ..OK
        },
    );
    check(
        "locked",
        Expect {
            outcome: Outcome::Failure,
            failure: Some(FailureReason::LockedOut),
            ..OK
        },
    );
    check(
        "disabled_account",
        Expect {
            outcome: Outcome::Failure,
            failure: Some(FailureReason::AccountDisabled),
            ..OK
        },
    );
    check(
        "ca_blocked",
        Expect {
            outcome: Outcome::Failure,
            failure: Some(FailureReason::PolicyDenied),
            policy: Some(PolicyDecision::Deny),
            ..OK
        },
    );
    check(
        "mfa_required",
        Expect {
            outcome: Outcome::Challenge,
            policy: Some(PolicyDecision::Challenge),
            ..OK
        },
    );
    check(
        "mfa_denied",
        Expect {
            outcome: Outcome::Failure,
            step: AuthStep::Mfa,
            failure: Some(FailureReason::MfaFailed),
            mfa_method: Some(MfaMethod::Push),
            mfa_result: Some(MfaResult::PushDenied),
            policy: None,
        },
    );
    check(
        "mfa_timeout",
        Expect {
            outcome: Outcome::Failure,
            step: AuthStep::Mfa,
            failure: Some(FailureReason::MfaFailed),
            mfa_method: Some(MfaMethod::Push),
            mfa_result: Some(MfaResult::PushFailed),
            policy: None,
        },
    );
    check("risky", OK);
}

#[test]
fn the_documented_success_maps_every_field() {
    let e = map_signin(fixture("signins/success.json")).unwrap();
    assert_eq!(e.provider_event_id, "66ea54eb-6301-4ee5-be62-ff5a759b0100");
    assert_eq!(e.time.to_rfc3339(), "2020-03-13T19:15:41.619583300+00:00");
    assert_eq!(
        e.external_user_id.as_deref(),
        Some("26be570a-ae82-4189-b4e2-a37c6808512d")
    );
    assert_eq!(e.login.as_deref(), Some("testaccount1@contoso.com"));
    assert_eq!(e.ip.as_deref(), Some("131.107.159.37"));
    assert_eq!(
        (e.country.as_deref(), e.city.as_deref()),
        (Some("US"), Some("Redmond"))
    );
    assert!(
        (e.latitude.unwrap() - 47.68).abs() < 0.01 && (e.longitude.unwrap() + 122.12).abs() < 0.01
    );
    assert_eq!(e.device.as_deref(), Some("Windows 10 / Edge 80.0.361"));
    assert_eq!(
        e.session_id.as_deref(),
        Some("d79f5bee-5860-4832-928f-3133e22ae912")
    );
    assert_eq!(e.provider_risk, Some(RiskLevel::None));
    assert_eq!(e.reason, None);
    assert!(e.raw.is_some());
}

#[test]
fn failures_keep_the_code_and_reason_and_risk_is_read() {
    let e = map_signin(fixture("signins/bad_password.json")).unwrap();
    assert_eq!(
        e.reason.as_deref(),
        Some("50126: Error validating credentials due to invalid username or password.")
    );
    let risky = map_signin(fixture("signins/risky.json")).unwrap();
    assert_eq!(risky.provider_risk, Some(RiskLevel::High));
    assert_eq!(risky.signal.anonymizer, Some(Anonymizer::AnonymousTunnel));
    assert_eq!(risky.is_proxy, Some(true));
    assert_eq!(risky.country.as_deref(), Some("DE"));
    let mut hidden = fixture("signins/success.json");
    hidden["riskLevelDuringSignIn"] = "hidden".into();
    hidden["riskLevelAggregated"] = "hidden".into();
    assert_eq!(
        map_signin(hidden).unwrap().provider_risk,
        None,
        "hidden without P2 says nothing"
    );
    let mut compromised = fixture("signins/success.json");
    compromised["riskState"] = "confirmedCompromised".into();
    assert_eq!(
        map_signin(compromised).unwrap().provider_risk,
        Some(RiskLevel::High)
    );
}

#[test]
fn beta_mfa_detail_names_the_method() {
    let mut e = fixture("signins/success.json");
    e["authenticationDetails"] = serde_json::json!([
        {"authenticationMethod": "Password", "succeeded": true},
        {"authenticationMethod": "Mobile app notification", "succeeded": true}
    ]);
    let e = map_signin(e).unwrap();
    assert_eq!(e.mfa_factor.as_deref(), Some("Mobile app notification"));
    assert_eq!(e.signal.mfa_method, Some(MfaMethod::Push));
    assert_eq!(e.signal.mfa_result, Some(MfaResult::Success));
}

#[test]
fn users_of_a_delta_page_map() {
    let page = fixture("users_delta_changes.json");
    let users: Vec<_> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| map_user(u).unwrap())
        .collect();
    let grady = &users[0];
    assert_eq!(grady.login, "GradyA@contoso.onmicrosoft.com");
    assert_eq!(
        grady.email.as_deref(),
        Some("GradyA@contoso.onmicrosoft.com")
    );
    assert_eq!(
        grady.emails,
        vec![
            "GradyA@contoso.onmicrosoft.com".to_owned(),
            "grady.archie@example.com".to_owned()
        ]
    );
    assert_eq!(grady.status, UserStatus::Active);
    assert_eq!(
        grady.manager.as_deref(),
        Some("99789584-a1e1-4232-90e5-866170e3d4e7")
    );
    assert_eq!(
        (grady.title.as_deref(), grady.department.as_deref()),
        (Some("Designer"), Some("Design"))
    );
    assert_eq!(grady.display_name.as_deref(), Some("Grady Archie"));
    assert!(grady.created_at.is_some());
    let guest = &users[1];
    assert_eq!(guest.status, UserStatus::Suspended);
    assert_eq!(guest.status_flags, vec!["guest".to_owned()]);
    assert!(
        guest.emails.is_empty() && guest.email.is_none(),
        "an #EXT# UPN is not an address"
    );
    assert_eq!(
        (users[2].status, users[2].status_flags.clone()),
        (
            UserStatus::Deprovisioned,
            vec!["soft_deleted".to_owned(), "tombstone".to_owned()]
        )
    );
    assert_eq!(
        (users[3].status, users[3].status_flags.clone()),
        (
            UserStatus::Deprovisioned,
            vec!["deleted".to_owned(), "tombstone".to_owned()]
        )
    );
    assert!(map_user(&serde_json::json!({"displayName": "no id"})).is_none());
}
