//! Injected faults: 429 bursts, 5xx answers, delays, connection resets,
//! truncated bodies, path-scoped faults, and how faulted mutations are recorded.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gatehouse_idp_sim::okta::{Fault, Truncation, UserStatus};
use serde_json::Value;

use crate::support::{config, error_body, Api};

#[tokio::test]
async fn injected_faults() {
    let api = Api::start(config(10, 10));

    api.sim.inject(Fault::burst_429(2));
    for _ in 0..2 {
        let resp = api.get("/api/v1/users?limit=1").await;
        assert_eq!(resp.headers()["x-rate-limit-remaining"], "0");
        error_body(resp, 429, "E0000047").await;
    }
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );

    api.sim.inject(Fault::server_error(1));
    api.sim.inject(Fault::unavailable(1));
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status().as_u16(),
        500
    );
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status().as_u16(),
        503
    );
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );

    api.sim.inject(Fault::delay(Duration::from_millis(300), 1));
    let started = Instant::now();
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A reset gives the client no response at all.
    api.sim.inject(Fault::reset(1));
    let err = api
        .http
        .get(api.url("/api/v1/users?limit=1"))
        .header("Authorization", api.auth())
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );

    // Truncated bodies: cut JSON, and a Content-Length longer than what is sent.
    api.sim.inject(Fault::truncate(Truncation::CutJson, 1));
    let resp = api.get("/api/v1/users?limit=2").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    api.sim
        .inject(Fault::truncate(Truncation::ContentLengthTooLong, 1));
    let resp = api.get("/api/v1/users?limit=2").await;
    assert!(resp.bytes().await.is_err());

    // Faults can be scoped to a path.
    api.sim.inject_on("/api/v1/logs", Fault::server_error(1));
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );
    assert_eq!(api.get("/api/v1/logs?limit=1").await.status().as_u16(), 500);
    assert_eq!(api.sim.pending_faults(), 0);

    // Faulted mutating calls are recorded with what was answered.
    api.sim.inject(Fault::server_error(1));
    let id = api.sim.users_with_status(UserStatus::Suspended)[0].clone();
    assert_eq!(
        api.post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
            .await
            .status()
            .as_u16(),
        500
    );
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("SUSPENDED"));
    assert_eq!(api.sim.mutations().last().unwrap().status, 500);
}
