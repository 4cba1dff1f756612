//! HTTP behaviour against the fake org: building from the catalog descriptor, a wrong token,
//! next links and cursors off the org, rate limits and retried server errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{Connector, ConnectorError, ConnectorFactory};
use gatehouse_core::records::PullMode;
use gatehouse_core::{Clock, SystemClock};
use gatehouse_okta::{Factory, OktaConnector};
use serde_json::json;

use crate::fake::{start_fake, Planned};
use crate::support::{connector, connector_with, context, fast_policy, manual_clock, TOKEN};

#[tokio::test]
async fn factory_builds_from_the_catalog_descriptor() {
    let fake = start_fake().await;
    assert_eq!(Factory.descriptor().id, "okta");
    let built = Factory
        .build(context(fake.base(), TOKEN, json!({}), manual_clock()))
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
    let seen = fake.seen();
    assert_eq!(seen.last().unwrap().path, "/api/v1/users/me");

    let off = Factory
        .build(context(
            fake.base(),
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
            fake.base(),
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
    let mut ctx = context(fake.base(), TOKEN, json!({}), manual_clock());
    ctx.allow_custom_endpoints = false;
    assert!(matches!(
        Factory.build(ctx),
        Err(ConnectorError::InvalidConfig(_))
    ));
    let mut ctx = context("acme.okta.com", TOKEN, json!({}), manual_clock());
    ctx.allow_custom_endpoints = false;
    assert!(Factory.build(ctx).is_ok());
    let ctx = context(fake.base(), "", json!({}), manual_clock());
    assert!(matches!(
        Factory.build(ctx),
        Err(ConnectorError::InvalidConfig(_))
    ));
    let ctx = context(fake.base(), "bad\ntoken", json!({}), manual_clock());
    let err = Factory.build(ctx).err().unwrap();
    assert!(!err.to_string().contains("bad\ntoken"), "{err}");
}

#[tokio::test]
async fn wrong_token_is_unauthorized_without_the_token_in_the_message() {
    let fake = start_fake().await;
    let wrong = "00QCjAl4MlV-WRONG-token-value";
    let connector = OktaConnector::from_context(
        context(fake.base(), wrong, json!({}), manual_clock()),
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
    assert_eq!(fake.seen().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_next_link_or_cursor_off_the_org_is_refused() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    *fake.foreign_next.lock().unwrap() = Some("http://169.254.169.254".into());
    let err = connector
        .users_page(PullMode::Full, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Protocol(_)), "{err}");
    let calls_before = fake.seen().len();

    let port = fake
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
        format!("{}/api/v1/groups?after=1", fake.base()),
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
        fake.seen().len(),
        calls_before,
        "nothing was sent for a forged cursor"
    );
}

#[tokio::test]
async fn rate_limit_429_waits_for_the_reset_then_succeeds() {
    let fake = start_fake().await;
    let connector = connector_with(&fake, json!({}), Arc::new(SystemClock), 4);
    // Okta's reset is in whole epoch seconds: two seconds ahead is at least one second away.
    let reset = SystemClock.now().timestamp() + 2;
    fake.plan(
        1,
        Planned {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: vec![
                ("x-rate-limit-limit", "600".into()),
                ("x-rate-limit-remaining", "0".into()),
                ("x-rate-limit-reset", reset.to_string()),
            ],
            body: json!({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests."}),
        },
    );
    let started = Instant::now();
    let report = connector.check().await.unwrap();
    assert_eq!(
        report.principal.as_deref(),
        Some("gatehouse-svc@example.com")
    );
    assert_eq!(fake.seen().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for X-Rate-Limit-Reset"
    );
    assert!(SystemClock.now().timestamp() >= reset);

    fake.plan(
        10,
        Planned {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: vec![("retry-after", "0".into())],
            body: json!({"errorCode": "E0000047"}),
        },
    );
    let connector = connector_with(&fake, json!({}), Arc::new(SystemClock), 3);
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err}");
    fake.planned.lock().unwrap().clear();
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_unavailable() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let failure = Planned {
        status: StatusCode::SERVICE_UNAVAILABLE,
        headers: vec![],
        body: json!({"errorCode": "E0000009", "errorSummary": "Your last request took too long to complete."}),
    };
    fake.plan(2, failure.clone());
    let page = connector.groups_page(None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        fake.seen()
            .iter()
            .filter(|s| s.path == "/api/v1/groups")
            .count(),
        3,
        "two 503s, then success"
    );

    fake.plan(10, failure);
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err}");
    assert!(err.is_transient());
    fake.planned.lock().unwrap().clear();
}
