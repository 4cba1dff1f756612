//! Error bodies and rate limits: Okta-shaped error JSON with rate-limit headers
//! for 401, 404, 400 (users and System Log) and 411, Bearer tokens, and 429 once
//! an endpoint family's budget is spent.

use axum::http::StatusCode;
use gatehouse_idp_sim::okta::EndpointFamily;
use serde_json::json;

use crate::support::{config, error_body, Api};

#[tokio::test]
async fn error_bodies_and_rate_limits() {
    let api = Api::start(config(10, 20));

    // 401: missing and wrong token, with rate-limit headers all the same.
    let resp = api.http.get(api.url("/api/v1/users")).send().await.unwrap();
    let body = error_body(resp, 401, "E0000011").await;
    assert_eq!(body["errorSummary"], "Invalid token provided");
    assert_eq!(body["errorCauses"], json!([]));
    let resp = api
        .http
        .get(api.url("/api/v1/users"))
        .header("Authorization", "SSWS nope")
        .send()
        .await
        .unwrap();
    error_body(resp, 401, "E0000011").await;
    // The API token as a Bearer token is one the org never issued: refused.
    let resp = api
        .http
        .get(api.url("/api/v1/logs?limit=1"))
        .header(
            "Authorization",
            format!("Bearer {}", api.sim.config().api_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // 404s.
    let body = error_body(api.get("/api/v1/users/00uNOPE").await, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00uNOPE (User)"
    );
    error_body(api.get("/api/v1/nothing/here").await, 404, "E0000007").await;
    error_body(
        api.post("/api/v1/users/00uNOPE/lifecycle/suspend").await,
        404,
        "E0000007",
    )
    .await;
    error_body(api.delete("/api/v1/logs").await, 405, "E0000022").await;

    // 400s on users.
    error_body(api.get("/api/v1/users?limit=500").await, 400, "E0000001").await;
    error_body(api.get("/api/v1/users?limit=abc").await, 400, "E0000001").await;
    error_body(
        api.get(
            "/api/v1/users?filter=status%20eq%20%22ACTIVE%22&search=status%20eq%20%22ACTIVE%22",
        )
        .await,
        400,
        "E0000033",
    )
    .await;
    error_body(
        api.get("/api/v1/users?filter=status%20eqq%20%22ACTIVE%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    error_body(
        api.get("/api/v1/users?filter=status%20gt%20%22ACTIVE%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    error_body(
        api.get("/api/v1/users?search=status%20ne%20%22ACTIVE%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    error_body(
        api.get("/api/v1/users?filter=lastUpdated%20gt%20%22yesterday%22")
            .await,
        400,
        "E0000030",
    )
    .await;
    // 400s on the System Log.
    let body = error_body(
        api.get("/api/v1/logs?since=2025-05-30T00:00:00.000Z&after=1_1")
            .await,
        400,
        "E0000063",
    )
    .await;
    assert!(!body["errorCauses"].as_array().unwrap().is_empty());
    let body = error_body(
        api.get("/api/v1/logs?filter=eventType%20eqq%20%22x%22")
            .await,
        400,
        "E0000053",
    )
    .await;
    assert!(body["errorSummary"]
        .as_str()
        .unwrap()
        .contains("Unrecognized attribute operator 'eqq'"));
    error_body(
        api.get("/api/v1/logs?filter=debugContext.debugData.url%20co%20%22%2Foauth%2F%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    let body = error_body(api.get("/api/v1/logs?until=garbage").await, 400, "E0000001").await;
    assert_eq!(body["errorCauses"].as_array().unwrap().len(), 2);
    error_body(api.get("/api/v1/logs?limit=1001").await, 400, "E0000001").await;
    error_body(
        api.get("/api/v1/logs?since=2024-01-01T00:00:00.000Z").await,
        400,
        "E0000053",
    )
    .await;
    error_body(
        api.get("/api/v1/logs?sortOrder=SIDEWAYS").await,
        400,
        "E0000001",
    )
    .await;

    // Framework-level rejections still answer Okta's body.
    error_body(api.get("/api/v1/users/%FF%FE").await, 400, "E0000001").await;
    // A POST without Content-Length gets 411, as Okta documents.
    let raw = format!(
        "POST /api/v1/users/{}/lifecycle/unlock HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        api.sim.admin_id(),
        api.running.addr(),
        api.auth()
    );
    let mut tcp = tokio::net::TcpStream::connect(api.running.addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, raw.as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut tcp, &mut answer)
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    // reqwest sends no Content-Length on a POST without a body: a client must set it.
    let unlock = api.url(&format!(
        "/api/v1/users/{}/lifecycle/unlock",
        api.sim.admin_id()
    ));
    let resp = api
        .http
        .post(&unlock)
        .header("Authorization", api.auth())
        .send()
        .await
        .unwrap();
    error_body(resp, 411, "E0000001").await;
    let resp = api
        .http
        .post(&unlock)
        .header("Authorization", api.auth())
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        411,
        "hyper omits Content-Length even for an empty body"
    );
    let resp = api
        .http
        .post(&unlock)
        .header("Authorization", api.auth())
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // 429 once a family's budget is spent; other families are unaffected.
    api.sim.advance_time(chrono::Duration::seconds(61));
    api.sim.set_rate_limit(EndpointFamily::Users, 2);
    let first = api.get("/api/v1/users?limit=1").await;
    assert_eq!(first.headers()["x-rate-limit-limit"], "2");
    assert_eq!(first.headers()["x-rate-limit-remaining"], "1");
    let reset: i64 = first.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        reset > api.sim.clock().now().timestamp()
            && reset <= api.sim.clock().now().timestamp() + 61
    );
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.headers()["x-rate-limit-remaining"],
        "0"
    );
    let limited = api.get("/api/v1/users?limit=1").await;
    assert_eq!(limited.headers()["x-rate-limit-remaining"], "0");
    let body = error_body(limited, 429, "E0000047").await;
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    assert_eq!(
        api.get("/api/v1/logs?limit=1").await.status(),
        StatusCode::OK
    );
    api.sim.advance_time(chrono::Duration::seconds(61));
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );
}
