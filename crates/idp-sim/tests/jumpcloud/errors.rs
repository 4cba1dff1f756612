//! 429 from the key's quota, injected faults, and JumpCloud's error bodies.

use std::time::Duration;

use gatehouse_idp_sim::jumpcloud::{Fault, JumpCloudConfig};
use serde_json::json;

use crate::support::{config, jc_error, Api};

#[tokio::test]
async fn quota_gives_429_until_the_window_resets() {
    let api = Api::start(config(3, 0)).await;
    api.sim.set_rate_limit(2);
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
    let resp = api.get("/api/systemusers").await;
    assert!(resp.headers().get("retry-after").is_none());
    jc_error(resp, 429).await;
    let di = api
        .events(&json!({"service": ["all"], "start_time": "2025-05-01T00:00:00Z"}))
        .await;
    assert_eq!(di.status(), 429, "one quota for every host");
    api.sim.advance(Duration::from_secs(61));
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
}

#[tokio::test]
async fn optional_retry_after_and_rate_headers() {
    let api = Api::start(JumpCloudConfig {
        rate_limit_per_minute: 1,
        retry_after: Some(30),
        rate_limit_headers: true,
        ..config(3, 0)
    })
    .await;
    let ok = api.get("/api/systemusers").await;
    assert_eq!(ok.headers()["x-ratelimit-limit"], "1");
    assert_eq!(ok.headers()["x-ratelimit-remaining"], "0");
    let resp = api.get("/api/systemusers").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
}

#[tokio::test]
async fn injected_faults() {
    let api = Api::start(config(3, 0)).await;
    api.sim.inject(Fault::burst_429(1));
    jc_error(api.get("/api/systemusers").await, 429).await;
    api.sim.inject_on("/insights/", Fault::unavailable(1));
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
    let resp = api
        .events(&json!({"service": ["all"], "start_time": "2025-05-01T00:00:00Z"}))
        .await;
    jc_error(resp, 503).await;
    api.sim.inject(Fault::reset(1));
    assert!(api
        .http
        .get(api.url("/api/systemusers"))
        .header("x-api-key", &api.key)
        .send()
        .await
        .is_err());
    api.sim.inject(Fault::server_error(5));
    api.sim.clear_faults();
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
    let statuses: Vec<u16> = api.sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 200, 503, 0, 200]);
}

#[tokio::test]
async fn framework_rejections_get_jumpcloud_bodies() {
    let api = Api::start(config(3, 0)).await;
    let resp = api
        .send(reqwest::Method::DELETE, "/api/v2/usergroups", None)
        .await;
    jc_error(resp, 405).await;
    let resp = api
        .request(reqwest::Method::POST, "/insights/directory/v1/events")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert!(v["message"].is_string());
}
