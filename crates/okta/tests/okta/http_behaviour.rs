//! HTTP behaviour against the simulated org: building from the catalog descriptor, a wrong
//! token, next links and cursors off the org, rate limits and retried server errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{Connector, ConnectorError, ConnectorFactory};
use gatehouse_core::records::PullMode;
use gatehouse_core::SystemClock;
use gatehouse_idp_sim::okta::{CannedResponse, Fault, OktaConfig, OktaError};
use gatehouse_okta::{Factory, OktaConnector};
use serde_json::json;

use crate::support::{
    connector, connector_with, context, fast_policy, manual_clock, org_config, start_org,
    start_org_with, TOKEN,
};

#[tokio::test]
async fn factory_builds_from_the_catalog_descriptor() {
    let org = start_org().await;
    assert_eq!(Factory.descriptor().id, "okta");
    let built = Factory
        .build(context(&org.base(), TOKEN, json!({}), manual_clock()))
        .unwrap();
    let caps = built.capabilities();
    assert!(caps.users && caps.groups && caps.signins && caps.push);
    assert_eq!(
        caps.actions,
        vec![
            ActionKind::DisableAccount,
            ActionKind::EnableAccount,
            ActionKind::RevokeSessions,
            ActionKind::EnforceMfa
        ]
    );
    let report = built.check().await.unwrap();
    assert_eq!(
        report.principal.as_deref(),
        Some("gatehouse-svc@example.com")
    );
    assert_eq!(org.calls().last().unwrap().path, "/api/v1/users/me");

    let off = Factory
        .build(context(
            &org.base(),
            TOKEN,
            json!({"ingest_system_log": false}),
            manual_clock(),
        ))
        .unwrap();
    assert!(
        !off.capabilities().signins,
        "ingest_system_log: false turns the log pull off"
    );
    // Where a first System Log pull starts is where the pulled history is complete from.
    assert_eq!(off.signin_history_reach(), None);
    assert_eq!(
        built.signin_history_reach(),
        Some(chrono::Duration::hours(24))
    );
    let week = Factory
        .build(context(
            &org.base(),
            TOKEN,
            json!({"system_log_lookback_hours": 168}),
            manual_clock(),
        ))
        .unwrap();
    assert_eq!(
        week.signin_history_reach(),
        Some(chrono::Duration::hours(168))
    );

    // Outside custom endpoints only Okta's hosts are accepted (no SSRF through `domain`).
    let mut ctx = context(&org.base(), TOKEN, json!({}), manual_clock());
    ctx.allow_custom_endpoints = false;
    assert!(matches!(
        Factory.build(ctx),
        Err(ConnectorError::InvalidConfig(_))
    ));
    let mut ctx = context("acme.okta.com", TOKEN, json!({}), manual_clock());
    ctx.allow_custom_endpoints = false;
    assert!(Factory.build(ctx).is_ok());
    let ctx = context(&org.base(), "", json!({}), manual_clock());
    assert!(matches!(
        Factory.build(ctx),
        Err(ConnectorError::InvalidConfig(_))
    ));
    let ctx = context(&org.base(), "bad\ntoken", json!({}), manual_clock());
    let err = Factory.build(ctx).err().unwrap();
    assert!(!err.to_string().contains("bad\ntoken"), "{err}");
}

#[tokio::test]
async fn wrong_token_is_unauthorized_without_the_token_in_the_message() {
    let org = start_org().await;
    let wrong = "00QCjAl4MlV-WRONG-token-value";
    let connector = OktaConnector::from_context(
        context(&org.base(), wrong, json!({}), manual_clock()),
        fast_policy(4),
    )
    .unwrap();
    let err = connector.check().await.unwrap_err();
    let ConnectorError::Unauthorized(message) = &err else {
        panic!("expected Unauthorized, got {err}")
    };
    assert!(
        message.contains("E0000011") && message.contains("Invalid token provided"),
        "{message}"
    );
    assert!(
        !err.to_string().contains(wrong) && !err.to_string().contains("WRONG"),
        "{err}"
    );
    assert!(!format!("{err:?}").contains("WRONG"), "{err:?}");
    assert!(
        !format!("{connector:?}").contains("WRONG"),
        "Debug hides the token"
    );
    let calls = org.calls();
    assert_eq!(calls.len(), 1, "a 401 is not retried");
    assert_eq!(calls[0].status, 401);
}

#[tokio::test]
async fn a_next_link_or_cursor_off_the_org_is_refused() {
    // The org names another host in its links (as behind a misconfigured proxy, or a hostile one).
    let org = start_org_with(OktaConfig {
        public_base_url: Some("http://169.254.169.254".into()),
        ..org_config()
    })
    .await;
    let connector = connector(&org);
    let err = connector
        .users_page(PullMode::Full, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Protocol(_)), "{err}");
    let lists = org.calls_to("/api/v1/users");
    assert_eq!(lists.len(), 1, "the foreign next link was not followed");
    assert!(
        lists[0]
            .link
            .iter()
            .any(|l| l.starts_with("<http://169.254.169.254/api/v1/users?")),
        "{:?}",
        lists[0].link
    );
    let calls_before = org.calls().len();

    let port = org
        .base()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    for forged in [
        "http://169.254.169.254/api/v1/users?after=1".to_owned(),
        format!(
            "http://127.0.0.1:{}/api/v1/users?after=1",
            port.wrapping_add(1)
        ),
        format!("https://127.0.0.1:{port}/api/v1/users?after=1"),
        format!("http://user:pw@127.0.0.1:{port}/api/v1/users?after=1"),
        format!("{}/api/v1/groups?after=1", org.base()),
        "not a url".to_owned(),
    ] {
        let err = connector
            .users_page(PullMode::Full, Some(&forged))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Protocol(_)),
            "{forged}: {err}"
        );
        let err = connector.signins_page(Some(&forged)).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Protocol(_)),
            "{forged}: {err}"
        );
    }
    assert_eq!(
        org.calls().len(),
        calls_before,
        "nothing was sent for a forged cursor"
    );
}

#[tokio::test]
async fn rate_limit_429_waits_for_the_reset_then_succeeds() {
    let org = start_org().await;
    let connector = connector_with(&org, json!({}), Arc::new(SystemClock), 4);
    // The reset is on Okta's clock, which answers in `Date` too: the org's simulated clock is
    // months behind ours here, and the wait must still be the two seconds Okta means, not
    // zero (reset read against our clock) nor the policy's cap.
    let reset = org.sim.clock().now().timestamp() + 2;
    // Okta's 429, with a reset nearer than the simulated minute's so the test stays short.
    let too_many = CannedResponse::json(429, &OktaError::rate_limited().body())
        .header("x-rate-limit-limit", "600")
        .header("x-rate-limit-remaining", "0")
        .header("x-rate-limit-reset", reset.to_string());
    org.sim.inject(Fault::respond(too_many, 1));
    let started = Instant::now();
    let report = connector.check().await.unwrap();
    assert_eq!(
        report.principal.as_deref(),
        Some("gatehouse-svc@example.com")
    );
    let statuses: Vec<u16> = org.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 200]);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_millis(2900),
        "waited {waited:?} for X-Rate-Limit-Reset minus Date"
    );

    let retry_now =
        CannedResponse::json(429, &OktaError::rate_limited().body()).header("retry-after", "0");
    org.sim.inject(Fault::respond(retry_now, 10));
    let connector = connector_with(&org, json!({}), Arc::new(SystemClock), 3);
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err}");
    assert_eq!(org.sim.pending_faults(), 7, "three attempts");
    org.sim.clear_faults();
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_unavailable() {
    let org = start_org().await;
    let connector = connector(&org);
    org.sim.inject(Fault::unavailable(2));
    let page = connector.groups_page(None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let statuses: Vec<u16> = org
        .calls_to("/api/v1/groups")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200], "two 503s, then success");

    org.sim.inject(Fault::unavailable(10));
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err}");
    assert!(err.is_transient());
    org.sim.clear_faults();
}
