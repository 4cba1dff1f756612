//! Durability failures end to end, in the daemon as `gatehouse serve` builds it: after the first
//! failed sync of the store or the push inbox every write answers 503 with `Retry-After` (none
//! succeeds silently), `/readyz` answers 503 naming the failure, and the daemon's fatal signal,
//! which `gatehouse serve` exits non-zero on, resolves.

use std::time::Duration;

use gatehouse_store::FaultInjector;
use gatehouse_testkit::InProcess;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{okta_body, OPERATOR_KEY};

async fn daemon(inbox: bool) -> (InProcess, FaultInjector, FaultInjector) {
    let (store_faults, inbox_faults) = (FaultInjector::new(), FaultInjector::new());
    let daemon = InProcess::start(|options| {
        options.operator_key = Some(OPERATOR_KEY.to_owned().into());
        options.store_faults = store_faults.clone();
        options.inbox_faults = inbox_faults.clone();
        if inbox {
            options.inbox_max_backlog_bytes = Some(1 << 30);
        }
    })
    .await
    .unwrap();
    (daemon, store_faults, inbox_faults)
}

async fn post(daemon: &InProcess, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", daemon.base_url))
        .bearer_auth(OPERATOR_KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn readyz(daemon: &InProcess) -> (StatusCode, Value) {
    let response = reqwest::get(format!("{}/readyz", daemon.base_url))
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// A 503 that tells the client when to come back.
async fn assert_refused(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().contains_key("retry-after"),
        "{:?}",
        response.headers()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}

async fn fatal_reason(daemon: &InProcess) -> String {
    tokio::time::timeout(Duration::from_secs(5), daemon.app.fatal_error())
        .await
        .expect("the daemon's fatal signal was not raised")
        .to_string()
}

#[tokio::test]
async fn after_a_failed_store_sync_every_write_is_refused_and_the_daemon_must_exit() {
    let (daemon, store_faults, _) = daemon(false).await;
    let created = post(&daemon, "/v1/tenants", json!({"name": "A", "id": "ten_a"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);

    store_faults.fail_next_syncs(1);
    assert_refused(post(&daemon, "/v1/tenants", json!({"name": "B", "id": "ten_b"})).await).await;
    // The disk "works" again: still refused, never acknowledged on top of lost pages.
    assert_refused(post(&daemon, "/v1/tenants", json!({"name": "C", "id": "ten_c"})).await).await;

    let (status, body) = readyz(&daemon).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["store"], "failed", "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("injected fault"),
        "{body}"
    );
    assert!(fatal_reason(&daemon).await.contains("injected fault"));
}

#[tokio::test]
async fn readyz_proves_a_durable_write_and_shows_a_failing_disk() {
    let (daemon, store_faults, _) = daemon(false).await;
    // Nothing else writes: only the probe's own write can find the failing disk.
    store_faults.fail_next_syncs(1);
    let (status, body) = readyz(&daemon).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready", "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("injected fault"),
        "{body}"
    );
    assert!(fatal_reason(&daemon).await.contains("injected fault"));
}

#[tokio::test]
async fn after_a_failed_inbox_sync_every_push_is_refused_and_the_daemon_must_exit() {
    let (daemon, _, inbox_faults) = daemon(true).await;
    assert_eq!(
        post(&daemon, "/v1/tenants", json!({"name": "P", "id": "ten_p"}))
            .await
            .status(),
        StatusCode::CREATED
    );
    let created: Value = post(&daemon, "/v1/integrations", okta_body("ten_p"))
        .await
        .json()
        .await
        .unwrap();
    let token = created["ingest"]["token"].as_str().unwrap().to_owned();
    let push = |uuid: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/idp/okta", daemon.base_url))
            .bearer_auth(&token)
            .json(
                &json!({"eventType": "com.okta.event_hook", "data": {"events": [{
                "uuid": uuid, "eventType": "user.session.start",
                "published": "2024-05-01T10:00:00.000Z"}]}}),
            )
            .send()
    };
    assert_eq!(push("e1").await.unwrap().status(), StatusCode::OK);

    inbox_faults.fail_next_syncs(1);
    assert_refused(push("e2").await.unwrap()).await;
    assert_refused(push("e3").await.unwrap()).await;

    let (status, body) = readyz(&daemon).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("journal"),
        "{body}"
    );
    assert!(fatal_reason(&daemon).await.contains("journal fsync"));
}
