//! Request validation in the error shape: a value that does not fit names its field, foreign or
//! forged cursors are a 400, and an oversized body is a 413.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, start, start_with, OPERATOR_KEY};

#[tokio::test]
async fn a_value_that_does_not_fit_is_a_400_naming_its_field() {
    let s = start().await;
    s.tenant("ten_f").await;
    let user = "usr_01HX0000000000000000000000";
    let cases = [
        ("/v1/tenants", json!({"name": 5}), "name"),
        (
            "/v1/integrations",
            json!({"type": "okta", "tenant_id": "ten_f", "credentials": {}, "config": "x"}),
            "config",
        ),
        (
            "/v1/actions",
            json!({"tenant_id": "ten_f", "user_id": user, "action": "nuke_account"}),
            "action",
        ),
        (
            "/v1/actions",
            json!({"tenant_id": "ten_f", "user_id": user, "action": "revoke_sessions", "dry_run": "no"}),
            "dry_run",
        ),
    ];
    for (path, body, field) in cases {
        let (status, answer) = s.op(Method::POST, path, Some(body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, Some(field));
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.contains(" at line "), "{path}: {message}");
    }
    // A syntax error has no field; where serde stopped is what helps.
    let resp = s
        .http
        .post(format!("{}/v1/tenants", s.base))
        .bearer_auth(OPERATOR_KEY)
        .header("content-type", "application/json")
        .body(r#"{"name": "x"} trailing"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], Value::Null, "{body}");
    for query in ["limit=abc", "limit=-1"] {
        let (status, body) = s
            .op(
                Method::GET,
                &format!("/v1/users?tenant_id=ten_f&{query}"),
                None,
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("limit"));
    }
}

#[tokio::test]
async fn a_cursor_the_list_did_not_give_out_is_a_400() {
    let s = start().await;
    for id in ["ten_p1", "ten_p2", "ten_p3"] {
        s.tenant(id).await;
    }
    let (_, body) = s.op(Method::GET, "/v1/tenants?limit=1", None).await;
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (status, _) = s
        .op(
            Method::GET,
            &format!("/v1/tenants?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A cursor of another list, garbage, and the raw id the old cursors were.
    for bad in [
        format!("/v1/users?tenant_id=ten_p1&cursor={cursor}"),
        "/v1/tenants?cursor=garbage".to_owned(),
        "/v1/tenants?cursor=ten_p1".to_owned(),
        "/v1/signins?tenant_id=ten_p1&cursor=zzzz".to_owned(),
        "/v1/actions?tenant_id=ten_p1&cursor=cur_".to_owned(),
        "/v1/detections?tenant_id=ten_p1&cursor=cur_%25%25".to_owned(),
        "/v1/integrations?tenant_id=ten_p1&cursor=x".to_owned(),
    ] {
        let (status, body) = s.op(Method::GET, &bad, None).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("cursor"));
    }
}

#[tokio::test]
async fn body_limit_answers_413_in_the_error_shape() {
    let s = start_with(false, 4096).await;
    let big = json!({"name": "x".repeat(5000)});
    let (status, body) = s.op(Method::POST, "/v1/tenants", Some(big)).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, None);
    let (status, _) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"name": "fits"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// A `since` that once panicked (`split_at` inside "é") or overflowed the calendar answers 400
/// naming the field, and the daemon keeps serving.
#[tokio::test]
async fn backtest_since_is_checked_not_panicking() {
    let s = start().await;
    s.tenant("ten_since").await;
    for since in [
        "1é",
        "é",
        "99999999999d",
        "99999999999999999999999h",
        "",
        "12",
    ] {
        let (status, body) = s
            .op(
                Method::POST,
                "/v1/backtest",
                Some(json!({"tenant_id": "ten_since", "since": since})),
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("since"));
    }
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/backtest",
            Some(json!({"tenant_id": "ten_since", "since": "30d"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
