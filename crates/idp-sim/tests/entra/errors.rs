//! Refusals and throttling: 403 for a missing permission, 429 with
//! `Retry-After` from the per-app limiter (and the tighter identity
//! protection bucket), injected faults, and unknown paths.

use std::collections::BTreeSet;
use std::time::Duration;

use gatehouse_idp_sim::entra::{AppRegistration, Fault};
use serde_json::json;

use crate::support::{config, graph_error, Api, EntraConfigExt};

#[tokio::test]
async fn an_app_without_the_permission_gets_403() {
    let reader = AppRegistration {
        client_id: "22222222-0000-0000-0000-000000000002".into(),
        client_secret: "reader-secret".into(),
        display_name: "Reader".into(),
        granted: BTreeSet::from(["User.Read.All".to_string()]),
    };
    let api = Api::start(config(5, 10).with(|c| c.extra_apps = vec![reader.clone()])).await;
    let token = api
        .fetch_token(&reader.client_id, &reader.client_secret)
        .await;
    assert_eq!(api.get_with("/v1.0/users", &token).await.status(), 200);
    let body = graph_error(
        api.get_with("/v1.0/auditLogs/signIns", &token).await,
        403,
        "Authorization_RequestDenied",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let resp = api
        .http
        .patch(api.url(&format!("/v1.0/users/{id}")))
        .bearer_auth(&token)
        .json(&json!({"accountEnabled": false}))
        .send()
        .await
        .unwrap();
    graph_error(resp, 403, "Authorization_RequestDenied").await;
    assert_eq!(api.sim.user(&id).unwrap()["accountEnabled"], true);
}

#[tokio::test]
async fn the_rate_limiter_answers_429_with_retry_after() {
    let api = Api::start(config(5, 0).with(|c| c.rate_limit_per_minute = 3)).await;
    for _ in 0..3 {
        assert_eq!(api.get("/v1.0/users").await.status(), 200);
    }
    let resp = api.get("/v1.0/users").await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry), "{retry}");
    graph_error(resp, 429, "TooManyRequests").await;
    api.sim.advance(Duration::from_secs(retry));
    assert_eq!(api.get("/v1.0/users").await.status(), 200);
}

#[tokio::test]
async fn identity_protection_has_a_tighter_bucket() {
    let api = Api::start(config(5, 0).with(|c| c.identity_protection_per_minute = 1)).await;
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let path = "/v1.0/identityProtection/riskyUsers/confirmCompromised";
    let body = json!({"userIds": [id]});
    assert_eq!(
        api.send(reqwest::Method::POST, path, Some(body.clone()))
            .await
            .status(),
        204
    );
    let resp = api.send(reqwest::Method::POST, path, Some(body)).await;
    assert!(resp.headers().get("retry-after").is_some());
    graph_error(resp, 429, "TooManyRequests").await;
    assert_eq!(api.get("/v1.0/users").await.status(), 200);
}

#[tokio::test]
async fn injected_faults_come_in_graphs_words() {
    let api = Api::start(config(5, 0)).await;
    api.sim.inject_on("/v1.0/users", Fault::burst_429(1));
    api.sim.inject_on("/v1.0/users", Fault::unavailable(1));
    let resp = api.get("/v1.0/users").await;
    assert!(resp.headers().get("retry-after").is_some());
    graph_error(resp, 429, "TooManyRequests").await;
    let resp = api.get("/v1.0/users").await;
    graph_error(resp, 503, "serviceNotAvailable").await;
    assert_eq!(api.get("/v1.0/users").await.status(), 200);
    let calls = api.sim.calls();
    let statuses: Vec<u16> = calls
        .iter()
        .filter(|c| c.path == "/v1.0/users")
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 503, 200]);
}

#[tokio::test]
async fn unknown_paths_get_a_graph_error() {
    let api = Api::start(config(5, 0)).await;
    graph_error(api.get("/v1.0/nonsense").await, 400, "BadRequest").await;
}
