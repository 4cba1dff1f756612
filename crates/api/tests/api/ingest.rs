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
