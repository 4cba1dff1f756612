//! The push ingest endpoints: which tokens open them, and that a rotated token fails at once.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{start, OPERATOR_KEY};

#[tokio::test]
async fn push_ingest_authenticates_its_token() {
    let s = start().await;
    s.tenant("ten_push").await;
    let created = s.okta("ten_push").await;
    let token = created["ingest"]["token"].as_str().unwrap().to_owned();
    let url = created["ingest"]["url"].as_str().unwrap().to_owned();
    let post = |path: String, auth: Option<String>| {
        let mut req = s
            .http
            .post(format!("{}{path}", s.base))
            .json(&json!({"eventType": "com.okta.event_hook", "data": {"events": []}}));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req.send()
    };
    let status = |r: reqwest::Response| r.status();
    // Authenticated (URL token, Bearer header, or the bare header value Okta sends): an empty
    // delivery is acknowledged.
    assert_eq!(
        status(post(url.clone(), None).await.unwrap()),
        StatusCode::OK
    );
    assert_eq!(
        status(
            post("/v1/idp/okta".into(), Some(format!("Bearer {token}")))
                .await
                .unwrap()
        ),
        StatusCode::OK
    );
    assert_eq!(
        status(
            post("/v1/idp/okta".into(), Some(token.clone()))
                .await
                .unwrap()
        ),
        StatusCode::OK
    );
    // Not authenticated.
    assert_eq!(
        status(post("/v1/idp/okta".into(), None).await.unwrap()),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            post("/v1/idp/okta?token=gh_in_forged".into(), None)
                .await
                .unwrap()
        ),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            post(
                format!("/v1/idp/okta?tenant_id=ten_other&token={token}"),
                None
            )
            .await
            .unwrap()
        ),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            post(
                "/v1/idp/okta".into(),
                Some(format!("Bearer {OPERATOR_KEY}"))
            )
            .await
            .unwrap()
        ),
        StatusCode::UNAUTHORIZED
    );
    // The token of an okta integration opens no other provider's endpoint.
    assert_eq!(
        status(
            post(format!("/v1/idp/entra?token={token}"), None)
                .await
                .unwrap()
        ),
        StatusCode::NOT_FOUND
    );
    // After rotation the old token fails at once.
    let id = created["id"].as_str().unwrap();
    let (_, rotated) = s
        .op(
            Method::POST,
            &format!("/v1/integrations/{id}/ingest-token"),
            None,
        )
        .await;
    assert_eq!(
        status(post(url, None).await.unwrap()),
        StatusCode::UNAUTHORIZED
    );
    let new_url = rotated["ingest"]["url"].as_str().unwrap().to_owned();
    assert_eq!(status(post(new_url, None).await.unwrap()), StatusCode::OK);
}

/// A disabled integration stops ingesting on the very next push, a deleted one's token stops
/// working at once, and pushes racing a rotation never bring the old token back.
#[tokio::test]
async fn disabled_deleted_and_rotated_fail_on_the_next_push() {
    let s = start().await;
    s.tenant("ten_dis").await;
    let created = s.okta("ten_dis").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let url = created["ingest"]["url"].as_str().unwrap().to_owned();
    let push = |url: String| {
        s.http
            .post(format!("{}{url}", s.base))
            .json(&json!({"eventType": "com.okta.event_hook", "data": {"events": []}}))
            .send()
    };
    assert_eq!(push(url.clone()).await.unwrap().status(), StatusCode::OK);
    let (status, _) = s
        .op(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        push(url.clone()).await.unwrap().status(),
        StatusCode::CONFLICT
    );
    s.op(
        Method::PATCH,
        &format!("/v1/integrations/{id}"),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(push(url.clone()).await.unwrap().status(), StatusCode::OK);

    // Rotations with pushes of the old token in flight: after each rotation answers, the
    // old token is refused.
    let mut current = url;
    let rotate_path = format!("/v1/integrations/{id}/ingest-token");
    for _ in 0..20 {
        let racing: Vec<_> = (0..8).map(|_| push(current.clone())).collect();
        let rotate = s.op(Method::POST, &rotate_path, None);
        let (_, (status, rotated)) = tokio::join!(futures::future::join_all(racing), rotate);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            push(current.clone()).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "the old token works after its rotation"
        );
        current = rotated["ingest"]["url"].as_str().unwrap().to_owned();
    }

    let (status, _) = s
        .op(Method::DELETE, &format!("/v1/integrations/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        push(current).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A push is authenticated before its body is read: a stranger's oversized body is refused
/// for its token (401), never read; the integration's own oversized body meets the limit (413).
#[tokio::test]
async fn the_token_is_checked_before_the_body_is_read() {
    let s = start().await;
    s.tenant("ten_door").await;
    let created = s.okta("ten_door").await;
    let token = created["ingest"]["token"].as_str().unwrap().to_owned();
    let big = vec![b' '; 2 * 1024 * 1024];
    let send = |auth: String| {
        s.http
            .post(format!("{}/v1/idp/okta", s.base))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
    };
    assert_eq!(
        send("Bearer gh_in_forged".into()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(format!("Bearer {token}")).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// Past the daemon's limit of requests in flight, a request is shed at once with 503 and
/// Retry-After; health checks still answer.
#[tokio::test]
async fn requests_past_the_limit_are_shed_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let daemon = gatehouse_testkit::InProcess::start(|options| {
        options.operator_key = Some(OPERATOR_KEY.to_owned().into());
        options.api.max_concurrent_requests = 1;
    })
    .await
    .unwrap();
    // One request that holds its place: headers sent, the body still coming.
    let mut slow = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    let head = format!(
        "POST /v1/tenants HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {OPERATOR_KEY}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"name\":"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let http = reqwest::Client::new();
    let shed = http
        .get(format!("{}/v1/tenants", daemon.base_url))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()["retry-after"], "1");
    let health = http
        .get(format!("{}/healthz", daemon.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    drop(slow);
    let mut answered = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        answered = http
            .get(format!("{}/v1/tenants", daemon.base_url))
            .bearer_auth(OPERATOR_KEY)
            .send()
            .await
            .unwrap()
            .status();
        if answered == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(answered, StatusCode::OK, "the slot is given back");
}

/// Every pushed sign-in's wait from the receipt of its delivery to its assessment is counted in
/// a histogram (what a sender plans with), and every assessed sign-in in a counter.
#[tokio::test]
async fn the_wait_from_receipt_to_assessed_is_measured() {
    let s = start().await;
    s.tenant("ten_wait").await;
    let created = s.okta("ten_wait").await;
    let url = created["ingest"]["url"].as_str().unwrap().to_owned();
    let delivery = include_str!("../fixtures/okta/event_hook_three_signins.json");
    let pushed = s
        .http
        .post(format!("{}{url}", s.base))
        .header("content-type", "application/json")
        .body(delivery)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::OK);
    let value = |text: &str, series: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let text = loop {
        let text = s.text("/metrics").await;
        if value(&text, "gatehouse_push_assessed_seconds_count ") == Some(3.0) {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "three pushed sign-ins were not assessed: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(value(&text, "gatehouse_signins_assessed_total "), Some(3.0));
    assert_eq!(
        value(
            &text,
            r#"gatehouse_push_assessed_seconds_bucket{le="+Inf"} "#
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &text,
            r#"gatehouse_push_assessed_seconds_bucket{le="300.0"} "#
        ),
        Some(3.0),
        "{text}"
    );
    assert!(value(&text, "gatehouse_push_assessed_seconds_sum ").is_some_and(|s| s > 0.0));
}
