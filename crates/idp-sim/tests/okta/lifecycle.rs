//! User lifecycle: allowed and refused status transitions, factor resets,
//! sessions, asynchronous deactivation, and the mutations and System Log
//! events the simulator records for them.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gatehouse_idp_sim::okta::UserStatus;
use serde_json::{json, Value};

use crate::support::{assert_rate_headers, config, error_body, Api};

#[tokio::test]
async fn lifecycle_rules_and_recorded_mutations() {
    let mut cfg = config(30, 0);
    cfg.async_deactivate_delay = Duration::from_secs(1);
    let api = Api::start(cfg);
    let active = api.sim.users_with_status(UserStatus::Active);
    let id = active
        .iter()
        .find(|u| **u != api.sim.admin_id())
        .unwrap()
        .clone();

    let resp = api
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_rate_headers(resp.headers());
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("SUSPENDED"));
    let user: Value = api
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(user["_links"].get("unsuspend").is_some());
    assert!(user["_links"].get("suspend").is_none());

    let body = error_body(
        api.post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
            .await,
        400,
        "E0000001",
    )
    .await;
    assert!(body["errorSummary"]
        .as_str()
        .unwrap()
        .starts_with("Api validation failed:"));
    assert!(!body["errorCauses"].as_array().unwrap().is_empty());

    assert_eq!(
        api.post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("ACTIVE"));
    error_body(
        api.post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
            .await,
        400,
        "E0000001",
    )
    .await;

    // reset_factors removes every factor.
    assert_eq!(
        api.post(&format!(
            "/api/v1/users/{}/lifecycle/reset_factors",
            api.sim.admin_id()
        ))
        .await
        .status(),
        StatusCode::OK
    );
    let factors: Vec<Value> = api
        .get(&format!("/api/v1/users/{}/factors", api.sim.admin_id()))
        .await
        .json()
        .await
        .unwrap();
    assert!(factors.is_empty());

    // unlock only from LOCKED_OUT (or ACTIVE); the locked-out user becomes ACTIVE.
    let locked = api.sim.users_with_status(UserStatus::LockedOut)[0].clone();
    let staged = api.sim.users_with_status(UserStatus::Staged)[0].clone();
    assert_eq!(
        api.post(&format!("/api/v1/users/{locked}/lifecycle/unlock"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(api.sim.user_status(&locked).as_deref(), Some("ACTIVE"));
    error_body(
        api.post(&format!("/api/v1/users/{staged}/lifecycle/unlock"))
            .await,
        400,
        "E0000001",
    )
    .await;

    // Sessions: 204, query kept in the record.
    let resp = api
        .delete(&format!("/api/v1/users/{id}/sessions?oauthTokens=true"))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    // deactivate works from any status but DEPROVISIONED; by login too.
    let login = api.sim.user_json(&id).unwrap()["profile"]["login"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.post(&format!("/api/v1/users/{login}/lifecycle/deactivate"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("DEPROVISIONED"));
    // Okta's lifecycle operations document 403 (not 400) for a status they do not allow.
    error_body(
        api.post(&format!("/api/v1/users/{id}/lifecycle/deactivate"))
            .await,
        403,
        "E0000038",
    )
    .await;
    assert_eq!(
        api.post(&format!("/api/v1/users/{staged}/lifecycle/deactivate"))
            .await
            .status(),
        StatusCode::OK
    );

    // Asynchronous deactivation shows transitioningToStatus first.
    let other = api.sim.users_with_status(UserStatus::Suspended)[0].clone();
    let resp = api
        .http
        .post(api.url(&format!("/api/v1/users/{other}/lifecycle/deactivate")))
        .header("Authorization", api.auth())
        .header("Prefer", "respond-async")
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mid: Value = api
        .get(&format!("/api/v1/users/{other}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mid["transitioningToStatus"], "DEPROVISIONED");
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.sim.user_status(&other).as_deref() != Some("DEPROVISIONED") {
        assert!(
            Instant::now() < deadline,
            "asynchronous deactivation never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        api.sim.user_status(&other).as_deref(),
        Some("DEPROVISIONED")
    );

    let calls = api.sim.mutations();
    let suspend = &calls[0];
    assert_eq!(suspend.method, "POST");
    assert_eq!(
        suspend.path,
        format!("/api/v1/users/{id}/lifecycle/suspend")
    );
    assert_eq!(suspend.user_id.as_deref(), Some(id.as_str()));
    assert_eq!(suspend.status, 200);
    assert_eq!(calls[1].status, 400);
    let sessions = calls
        .iter()
        .find(|c| c.path.ends_with("/sessions"))
        .unwrap();
    assert_eq!(sessions.method, "DELETE");
    assert_eq!(sessions.query.as_deref(), Some("oauthTokens=true"));
    let by_login = calls.iter().find(|c| c.path.contains('@')).unwrap();
    assert_eq!(
        by_login.user_id.as_deref(),
        Some(id.as_str()),
        "login resolved to the id"
    );
    assert!(calls.iter().all(|c| c.method != "GET"));

    // Every successful action is in the System Log too.
    let suspends: Vec<Value> = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22user.lifecycle.suspend%22")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspends.len(), 1);
    assert_eq!(suspends[0]["target"][0]["id"], id);
    assert_eq!(suspends[0]["actor"]["id"], api.sim.admin_id());
}
