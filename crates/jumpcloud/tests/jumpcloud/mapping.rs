use gatehouse_core::model::{AuthStep, FailureReason, MfaMethod, MfaResult, Outcome};
use gatehouse_jumpcloud::map_event;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_user_portal_failure_is_a_password_guess_with_place_and_agent() {
    let e = map_event(&fixture("user_login_failure.json")).unwrap();
    assert_eq!(e.provider_event_id, "63c264c6c1bd55c1b7e901a4");
    assert_eq!(
        e.external_user_id.as_deref(),
        Some("5c86b7149fdce00001d38014")
    );
    assert_eq!(e.login.as_deref(), Some("alice.smith"));
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.reason.as_deref(), Some("authentication failed"));
    assert_eq!(e.signal.step, Some(AuthStep::FirstFactor));
    assert_eq!(e.signal.failure_reason, Some(FailureReason::BadCredentials));
    assert_eq!(e.ip.as_deref(), Some("81.2.69.144"));
    assert_eq!(e.country.as_deref(), Some("AU"));
    assert_eq!(e.city.as_deref(), Some("Queensland"));
    assert_eq!((e.latitude, e.longitude), (Some(-27.658), Some(152.8915)));
    assert_eq!(e.user_agent.as_deref(), Some("Chrome 109.0 (Mac OS X)"));
    assert_eq!(e.device.as_deref(), Some("Mac"));
    assert_eq!(e.mfa_factor, None);
    assert!(e.raw.is_some());
}

#[test]
fn a_failed_second_factor_after_the_password_is_an_mfa_failure() {
    let e = map_event(&fixture("user_login_mfa_failure.json")).unwrap();
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.signal.step, Some(AuthStep::Mfa));
    assert_eq!(e.signal.failure_reason, Some(FailureReason::MfaFailed));
    assert_eq!(e.signal.mfa_result, Some(MfaResult::Failed));
    assert_eq!(e.signal.mfa_method, Some(MfaMethod::Otp));
    assert_eq!(e.mfa_factor.as_deref(), Some("totp"));
}

#[test]
fn an_admin_portal_success_names_the_admin() {
    let e = map_event(&fixture("admin_login_success.json")).unwrap();
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(
        e.external_user_id.as_deref(),
        Some("5ce434e77128503e528e747c")
    );
    assert_eq!(e.login.as_deref(), Some("jane.doe@gmail.com"));
    assert_eq!(e.country.as_deref(), Some("US"));
    assert_eq!(e.device, None, "`Other` is no device");
    assert_eq!(e.user_agent.as_deref(), Some("Chrome 81.0 (Mac OS X)"));
}

#[test]
fn sso_outcome_comes_from_the_token() {
    let e = map_event(&fixture("sso_auth.json")).unwrap();
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.signal.step, Some(AuthStep::Session));
    assert_eq!(e.signal.app.as_deref(), Some("Slack"));
    assert_eq!(e.signal.failure_reason, Some(FailureReason::PolicyDenied));
    assert_eq!(e.country.as_deref(), Some("GB"));
}

#[test]
fn radius_and_ldap_use_the_username() {
    let e = map_event(&fixture("radius_auth.json")).unwrap();
    assert_eq!(e.login.as_deref(), Some("bob.jones"));
    assert_eq!(e.external_user_id, None);
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.signal.failure_reason, Some(FailureReason::BadCredentials));
    let e = map_event(&fixture("ldap_bind.json")).unwrap();
    assert_eq!(e.login.as_deref(), Some("bob.jones"));
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.signal.step, Some(AuthStep::FirstFactor));
}

#[test]
fn other_events_map_to_nothing() {
    assert!(map_event(&fixture("user_update.json")).is_none());
}

#[test]
fn a_user_group_keeps_its_user_members_only() {
    let connections = fixture("usergroup_members.json");
    let members: Vec<String> = connections
        .as_array()
        .unwrap()
        .iter()
        .filter_map(gatehouse_jumpcloud::member_id)
        .map(str::to_owned)
        .collect();
    assert_eq!(
        members,
        ["5c86b7149fdce00001d38014", "5c86b7149fdce00001d38015"]
    );
    let group = gatehouse_jumpcloud::map_group(&fixture("usergroup.json"), members).unwrap();
    assert_eq!(group.external_id, "5f1e7ab2b544065a3f4b1c2d");
    assert_eq!(group.name, "Finance Admins");
    assert_eq!(
        group.description.as_deref(),
        Some("Administrators of the finance applications")
    );
    assert_eq!(group.members.len(), 2);
    assert_eq!(group.updated_at, None);
    assert_eq!(group.raw.unwrap().value()["membershipMethod"], "STATIC");

    let unnamed =
        gatehouse_jumpcloud::map_group(&serde_json::json!({"id": "g1", "description": ""}), vec![])
            .unwrap();
    assert_eq!((unnamed.name.as_str(), unnamed.description), ("g1", None));
    assert!(gatehouse_jumpcloud::map_group(&serde_json::json!({"name": "x"}), vec![]).is_none());
}
