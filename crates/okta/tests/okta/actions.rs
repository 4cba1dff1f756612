//! Response actions against the simulated org: disable and enable, deactivate mode, revoking
//! sessions and enforcing MFA, each done once and a no-op when already done.

use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::{Connector, ConnectorError};
use gatehouse_core::records::ActionTarget;
use gatehouse_idp_sim::okta::{CannedResponse, Fault, UserStatus as OktaStatus};
use serde_json::json;

use crate::support::{connector, connector_with, fixture, manual_clock, start_org};

fn target(id: &str) -> ActionTarget {
    ActionTarget {
        external_id: id.into(),
        login: String::new(),
    }
}

const ALICE: &str = "00u118oQYT4TBTemp0g4";

/// The account status an action reports, if any.
fn report_status(report: &gatehouse_core::records::ActionReport) -> Option<UserStatus> {
    report.account.as_ref().map(|a| a.status)
}

#[tokio::test]
async fn disable_suspends_once_and_enable_unsuspends_once() {
    let org = start_org().await;
    let connector = connector(&org);
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    assert_eq!(report_status(&report), Some(UserStatus::Suspended));
    let again = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!again.changed, "already suspended is a no-op: {again:?}");
    assert_eq!(report_status(&again), Some(UserStatus::Suspended));
    assert_eq!(
        org.mutations(),
        vec![format!("POST /api/v1/users/{ALICE}/lifecycle/suspend")]
    );

    let enabled = connector
        .act(ActionKind::EnableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(enabled.changed);
    assert_eq!(report_status(&enabled), Some(UserStatus::Active));
    let again = connector
        .act(ActionKind::EnableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!again.changed, "already active is a no-op");
    assert_eq!(
        org.mutations(),
        vec![
            format!("POST /api/v1/users/{ALICE}/lifecycle/suspend"),
            format!("POST /api/v1/users/{ALICE}/lifecycle/unsuspend"),
        ]
    );

    // A deactivated user cannot be suspended and cannot sign in: nothing to do.
    let report = connector
        .act(ActionKind::DisableAccount, &target("00u7deprovisioned01d6"))
        .await
        .unwrap();
    assert!(!report.changed);
    assert_eq!(report_status(&report), Some(UserStatus::Deprovisioned));
    // A locked-out user is enabled by unlocking.
    let report = connector
        .act(ActionKind::EnableAccount, &target("00u3m5wrdPjJYUFb81d6"))
        .await
        .unwrap();
    assert!(report.changed);
    assert_eq!(
        org.mutations().last().unwrap(),
        "POST /api/v1/users/00u3m5wrdPjJYUFb81d6/lifecycle/unlock"
    );
}

#[tokio::test]
async fn an_invalid_transition_is_a_no_op_when_the_status_confirms_it() {
    let org = start_org().await;
    let connector = connector(&org);
    // A race: our read (answered from the plan) says ACTIVE, but the user is suspended by the
    // time we POST, so Okta answers 400 E0000001; the re-read confirms SUSPENDED.
    let active = org.sim.user_json(ALICE).unwrap();
    assert!(org.sim.set_user_status(ALICE, OktaStatus::Suspended));
    org.sim.inject_on(
        &format!("/api/v1/users/{ALICE}"),
        Fault::respond(CannedResponse::json(200, &active), 1),
    );
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!report.changed, "{report:?}");
    assert_eq!(
        org.mutations(),
        vec![format!("POST /api/v1/users/{ALICE}/lifecycle/suspend")]
    );

    // A refusal the status does not explain is reported, with Okta's code.
    assert!(org.sim.set_user_status(ALICE, OktaStatus::Staged));
    let err = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Forbidden(m) if m.contains("E0000001")),
        "{err}"
    );
    // Okta suspends only ACTIVE users: the error says what would contain this one.
    assert!(
        err.to_string().contains("disable_mode: deactivate"),
        "{err}"
    );
}

/// Okta answers a lifecycle operation on a deactivated user with 403 E0000038, a status
/// refusal: the connector re-reads the user as it does after a 400, instead of failing the
/// action as if it lacked permission.
#[tokio::test]
async fn a_wrong_status_403_is_re_read_like_a_400() {
    let org = start_org().await;
    let connector = connector(&org);
    // Our read says ACTIVE; the user was deactivated before the POST.
    let active = org.sim.user_json(ALICE).unwrap();
    assert!(org.sim.set_user_status(ALICE, OktaStatus::Deprovisioned));
    org.sim.inject_on(
        &format!("/api/v1/users/{ALICE}"),
        Fault::respond(CannedResponse::json(200, &active), 1),
    );
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!report.changed, "{report:?}");
    assert_eq!(report_status(&report), Some(UserStatus::Deprovisioned));
    let suspend = org
        .calls_to(&format!("/api/v1/users/{ALICE}/lifecycle/suspend"))
        .pop()
        .unwrap();
    assert_eq!(suspend.status, 403, "the simulator answers as Okta does");
}

#[tokio::test]
async fn deactivate_mode_deactivates_without_email_once() {
    let org = start_org().await;
    let connector = connector_with(
        &org,
        json!({"disable_mode": "deactivate"}),
        manual_clock(),
        4,
    );
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(report.changed);
    let again = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!again.changed);
    let transitioning = connector
        .act(ActionKind::DisableAccount, &target("00u8transitioning01d6"))
        .await
        .unwrap();
    assert!(
        !transitioning.changed,
        "a deactivation in progress is not repeated"
    );
    assert_eq!(
        org.mutations(),
        vec![format!(
            "POST /api/v1/users/{ALICE}/lifecycle/deactivate?sendEmail=false"
        )]
    );
    let err = connector
        .act(ActionKind::EnableAccount, &target(ALICE))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err}");
}

#[tokio::test]
async fn revoke_sessions_deletes_sessions_and_tokens() {
    let org = start_org().await;
    let connector = connector(&org);
    let report = connector
        .act(ActionKind::RevokeSessions, &target(ALICE))
        .await
        .unwrap();
    assert!(report.changed);
    assert_eq!(
        org.mutations(),
        vec![format!(
            "DELETE /api/v1/users/{ALICE}/sessions?oauthTokens=true&forgetDevices=true"
        )]
    );
    // Without an external id the login finds the user, and the id it has is used.
    let by_login = ActionTarget {
        external_id: String::new(),
        login: "alice.smith@example.com".into(),
    };
    assert!(
        connector
            .act(ActionKind::RevokeSessions, &by_login)
            .await
            .unwrap()
            .changed
    );
    assert_eq!(
        org.mutations().last().unwrap(),
        &format!("DELETE /api/v1/users/{ALICE}/sessions?oauthTokens=true&forgetDevices=true")
    );
    let err = connector
        .act(ActionKind::RevokeSessions, &target("00unknown"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err}");
    let err = connector
        .act(ActionKind::DisableAccount, &target("00unknown"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::NotFound(m) if m.contains("E0000007")),
        "{err}"
    );
}

#[tokio::test]
async fn enforce_mfa_leaves_an_active_users_factors_alone_and_joins_the_group_once() {
    let org = start_org().await;
    let group = org.sim.import_group(&fixture("mfa_group.json")).unwrap();
    let connector = connector_with(&org, json!({"mfa_group_id": group}), manual_clock(), 4);
    let isaac = "00ub0oNGTSWTBKOLGLNR";
    let report = connector
        .act(ActionKind::EnforceMfa, &target(isaac))
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    // Resetting an active user's factors would let whoever holds the password enrol their own.
    assert_eq!(
        org.mutations(),
        vec![format!("PUT /api/v1/groups/{group}/users/{isaac}")]
    );
    assert!(
        report.detail.contains("left the") && report.detail.contains("enforce_mfa_reset_factors"),
        "{report:?}"
    );
    let again = connector
        .act(ActionKind::EnforceMfa, &target(isaac))
        .await
        .unwrap();
    assert!(!again.changed, "already a member: {again:?}");
    assert_eq!(org.mutations().len(), 1, "nothing more was sent");

    // Without a group and with no factors, nothing happens.
    let plain = connector_with(&org, json!({}), manual_clock(), 4);
    let report = plain
        .act(ActionKind::EnforceMfa, &target(ALICE))
        .await
        .unwrap();
    assert!(!report.changed);
    assert_eq!(org.mutations().len(), 1);
}

#[tokio::test]
async fn enforce_mfa_resets_factors_only_after_expiring_the_password_and_revoking_sessions() {
    let org = start_org().await;
    let connector = connector_with(
        &org,
        json!({"enforce_mfa_reset_factors": true}),
        manual_clock(),
        4,
    );
    let isaac = "00ub0oNGTSWTBKOLGLNR";
    let report = connector
        .act(ActionKind::EnforceMfa, &target(isaac))
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    assert_eq!(
        org.mutations(),
        vec![
            format!("POST /api/v1/users/{isaac}/lifecycle/expire_password"),
            format!("DELETE /api/v1/users/{isaac}/sessions?oauthTokens=true&forgetDevices=true"),
            format!("POST /api/v1/users/{isaac}/lifecycle/reset_factors"),
        ]
    );
    assert_eq!(
        org.sim.user_status(isaac).as_deref(),
        Some("PASSWORD_EXPIRED")
    );
}

#[tokio::test]
async fn enforce_mfa_resets_a_suspended_users_factors() {
    let org = start_org().await;
    let connector = connector(&org);
    let isaac = "00ub0oNGTSWTBKOLGLNR";
    assert!(org.sim.set_user_status(isaac, OktaStatus::Suspended));
    let report = connector
        .act(ActionKind::EnforceMfa, &target(isaac))
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    assert_eq!(
        org.mutations(),
        vec![format!(
            "POST /api/v1/users/{isaac}/lifecycle/reset_factors"
        )]
    );
    assert_eq!(org.sim.user_status(isaac).as_deref(), Some("SUSPENDED"));
}

#[tokio::test]
async fn pushed_events_are_confirmed_only_when_the_system_log_has_them() {
    let org = start_org().await;
    let connector = connector(&org);
    let isaac = "00ub0oNGTSWTBKOLGLNR";
    let real = org
        .sim
        .make_event(
            isaac,
            "user.session.start",
            "FAILURE",
            Some("INVALID_CREDENTIALS"),
        )
        .unwrap();
    let logged = org.sim.append_events([real]);
    let forged = org
        .sim
        .make_event(
            isaac,
            "user.session.start",
            "FAILURE",
            Some("INVALID_CREDENTIALS"),
        )
        .unwrap();
    let forged_id = forged["uuid"].as_str().unwrap().to_owned();
    let answer = connector
        .confirm_events(&[forged_id.clone(), logged[0].clone()])
        .await
        .unwrap();
    assert_eq!(answer.confirmed.len(), 1, "{answer:?}");
    assert_eq!(answer.confirmed[0].provider_event_id, logged[0]);
    assert_eq!(answer.confirmed[0].external_user_id.as_deref(), Some(isaac));
    let log_query = org
        .sim
        .calls()
        .into_iter()
        .rfind(|c| c.path == "/api/v1/logs")
        .and_then(|c| c.query)
        .unwrap_or_default();
    assert!(
        log_query.contains("filter=uuid") && log_query.contains("since="),
        "{log_query}"
    );

    // An event Okta never logged is not confirmed (after the bounded retries for log lag), and
    // an id that tries to widen the filter never reaches it.
    let injected = format!("{forged_id}\" or eventType eq \"user.session.start");
    let answer = connector
        .confirm_events(&[forged_id, injected])
        .await
        .unwrap();
    assert!(answer.confirmed.is_empty(), "{answer:?}");
}
