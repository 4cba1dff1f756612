//! Quotas and faults: 429 rateLimitExceeded, 403 userRateLimitExceeded
//! (no Retry-After), injected 503 and 429, and the window reset.

use std::time::Duration;

use gatehouse_idp_sim::google::{Fault, GoogleSim, QuotaError};

use crate::support::{config, google_error, Api};

const USERS: &str = "/admin/directory/v1/users?customer=my_customer&maxResults=1";

#[tokio::test]
async fn project_quota_answers_429() {
    let api = Api::start(config(5, 0)).await;
    api.sim.set_rate_limit(2);
    assert_eq!(api.get(USERS).await.status(), 200);
    assert_eq!(api.get(USERS).await.status(), 200);
    let resp = api.get(USERS).await;
    assert!(resp.headers().get("retry-after").is_none());
    let body = google_error(resp, 429, "rateLimitExceeded").await;
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Quota exceeded for quota metric"));
    api.sim.advance(Duration::from_secs(61));
    assert_eq!(api.get(USERS).await.status(), 200);
}

#[tokio::test]
async fn user_quota_answers_403() {
    let api = Api::start(config(5, 0)).await;
    api.sim.set_user_rate_limit(1);
    assert_eq!(api.get(USERS).await.status(), 200);
    let resp = api.get(USERS).await;
    assert!(resp.headers().get("retry-after").is_none());
    google_error(resp, 403, "userRateLimitExceeded").await;
}

#[tokio::test]
async fn injected_faults_use_googles_body() {
    let api = Api::start(config(5, 0)).await;
    api.sim.inject(Fault::unavailable(1));
    google_error(api.get(USERS).await, 503, "backendError").await;
    api.sim.inject_on("/admin/reports", Fault::burst_429(1));
    assert_eq!(api.get(USERS).await.status(), 200);
    google_error(
        api.get("/admin/reports/v1/activity/users/all/applications/login")
            .await,
        429,
        "rateLimitExceeded",
    )
    .await;
    assert_eq!(api.sim.calls().last().unwrap().status, 429);
}

#[tokio::test]
async fn quota_faults_answer_googles_429_and_403_bodies() {
    let api = Api::start(config(5, 0)).await;
    api.sim.inject_on(
        "/admin/directory",
        GoogleSim::quota_fault(QuotaError::RateLimit403, 1),
    );
    api.sim.inject_on(
        "/admin/directory",
        GoogleSim::quota_fault(QuotaError::UserRateLimit403, 1),
    );
    api.sim.inject_on(
        "/admin/directory",
        GoogleSim::quota_fault(QuotaError::RateLimit429, 1),
    );
    for (status, reason) in [
        (403, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
        (429, "rateLimitExceeded"),
    ] {
        let resp = api.get(USERS).await;
        assert!(resp.headers().get("retry-after").is_none());
        let body = google_error(resp, status, reason).await;
        assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    }
    assert_eq!(api.get(USERS).await.status(), 200);
}
