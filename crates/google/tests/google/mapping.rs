//! The pure mapping, on JSON shaped as Google's documentation shows it (`tests/fixtures`).

use gatehouse_core::model::{
    AuthStep, EventCategory, FailureReason, MfaMethod, MfaResult, Outcome, RiskLevel, UserStatus,
};
use gatehouse_google::{map_activity, map_user};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_documented_user() {
    let user = map_user(&fixture("user.json")).unwrap();
    assert_eq!(user.external_id, "111220860655841818702");
    assert_eq!(user.login, "alice@example.com");
    assert_eq!(
        user.emails,
        vec!["alice@example.com", "alice.smith@example.com"]
    );
    assert_eq!(user.status, UserStatus::Active);
    assert_eq!(user.mfa_enrolled, Some(true));
    assert_eq!(user.is_admin, Some(false));
    assert_eq!(user.manager.as_deref(), Some("bob@example.com"));
    assert_eq!(user.department.as_deref(), Some("Finance"));
    assert_eq!(user.title.as_deref(), Some("Analyst"));
    assert_eq!(user.display_name.as_deref(), Some("Alice Smith"));
    assert!(user.last_login_at.is_some());
}

#[test]
fn suspended_archived_admins_and_never_logged_in() {
    let page = fixture("users_page.json");
    let users: Vec<_> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| map_user(u).unwrap())
        .collect();
    let carol = &users[0];
    assert_eq!(carol.status, UserStatus::Suspended);
    assert_eq!(carol.is_admin, Some(true));
    assert_eq!(carol.last_login_at, None, "1970 means never");
    assert!(carol.status_flags.contains(&"suspension:admin".to_owned()));
    assert!(carol.status_flags.contains(&"2sv_enforced".to_owned()));
    let dave = &users[1];
    assert_eq!(dave.status, UserStatus::Suspended);
    assert!(dave.status_flags.contains(&"archived".to_owned()));
    assert_eq!(
        dave.is_admin,
        Some(true),
        "a delegated admin holds an admin role"
    );
}

#[test]
fn login_activities_of_each_kind() {
    let list = fixture("login_activities.json");
    let events: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(map_activity)
        .collect();
    assert_eq!(events.len(), 6, "the logout is not a sign-in");
    let success = &events[0];
    assert_eq!(
        success.provider_event_id,
        "2019-05-22T20:03:42.047Z/239837479183"
    );
    assert_eq!(success.outcome, Outcome::Success);
    assert_eq!(
        success.external_user_id.as_deref(),
        Some("111220860655841818702")
    );
    assert_eq!(success.login.as_deref(), Some("alice@example.com"));
    assert_eq!(success.ip.as_deref(), Some("81.2.69.144"));
    assert_eq!(success.asn, Some(20712));
    assert_eq!(success.mfa_factor.as_deref(), Some("security_key"));
    assert_eq!(success.signal.mfa_method, Some(MfaMethod::Webauthn));
    assert_eq!(success.signal.step, Some(AuthStep::FirstFactor));
    assert_eq!(success.provider_risk, None);
    assert!(success.raw.is_some());

    let failure = &events[1];
    assert_eq!(failure.outcome, Outcome::Failure);
    assert_eq!(
        failure.signal.failure_reason,
        Some(FailureReason::BadCredentials)
    );
    assert_eq!(
        failure.reason.as_deref(),
        Some("login_failure_invalid_password")
    );

    let challenge = &events[2];
    assert_eq!(challenge.signal.step, Some(AuthStep::Mfa));
    assert_eq!(challenge.signal.mfa_result, Some(MfaResult::Failed));
    assert_eq!(challenge.signal.mfa_method, Some(MfaMethod::Push));
    assert_eq!(challenge.outcome, Outcome::Failure);

    let verification = &events[3];
    assert_eq!(verification.signal.mfa_result, Some(MfaResult::Success));
    assert_eq!(verification.signal.mfa_method, Some(MfaMethod::Sms));

    let suspicious = &events[4];
    assert_eq!(suspicious.provider_risk, Some(RiskLevel::High));
    assert_eq!(suspicious.signal.step, Some(AuthStep::NotAnAttempt));

    let disabled = &events[5];
    assert_eq!(
        disabled.signal.failure_reason,
        Some(FailureReason::AccountDisabled)
    );
    assert_eq!(disabled.provider_risk, Some(RiskLevel::High));
    assert_eq!(disabled.category, EventCategory::Authentication);
}
