//! Response policies: CRUD, validation and tenant isolation, plus the approval route and the
//! detections list answering in their shapes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, start};

#[tokio::test]
async fn policies_crud_validation_and_isolation() {
    let s = start().await;
    let key_a = s.tenant("ten_pa").await;
    let key_b = s.tenant("ten_pb").await;
    let body = json!({"name": "contain account takeover",
        "when": {"kinds": ["brute_force", "mfa_fatigue"], "min_severity": "medium", "providers": ["okta"]},
        "then": ["revoke_sessions", "disable_account"], "mode": "auto", "scope": "account"});
    let (status, created) = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&key_a),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("pol_"));
    assert_eq!(created["mode"], "auto");
    assert_eq!(created["when"]["min_severity"], "medium");
    for (patch, field) in [
        (json!({"when": {"kinds": ["sneezing"]}}), "when.kinds"),
        (
            json!({"when": {"providers": ["myspace"]}}),
            "when.providers",
        ),
        (json!({"then": []}), "then"),
        (json!({"name": ""}), "name"),
    ] {
        let mut bad = body.clone();
        for (k, v) in patch.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let (status, answer) = s
            .call(Method::POST, "/v1/policies", Some(&key_a), Some(bad))
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, Some(field));
    }
    let mut bad = body.clone();
    bad["mode"] = json!("yolo");
    let (status, answer) = s
        .call(Method::POST, "/v1/policies", Some(&key_a), Some(bad))
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, None);

    let (status, list) = s
        .call(Method::GET, "/v1/policies", Some(&key_a), None)
        .await;
    assert_eq!(
        (status, list["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (_, list) = s
        .call(Method::GET, "/v1/policies", Some(&key_b), None)
        .await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/policies/{id}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, got) = s.op(Method::GET, &format!("/v1/policies/{id}"), None).await;
    assert_eq!(
        (status, got["tenant_id"].as_str()),
        (StatusCode::OK, Some("ten_pa"))
    );

    let mut replaced = body.clone();
    replaced["mode"] = json!("approval");
    replaced["scope"] = json!("identity");
    let (status, got) = s
        .call(
            Method::PUT,
            &format!("/v1/policies/{id}"),
            Some(&key_a),
            Some(replaced.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        (got["mode"].as_str(), got["scope"].as_str()),
        (Some("approval"), Some("identity"))
    );
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/v1/policies/{id}"),
            Some(&key_b),
            Some(replaced),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/policies/{id}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/policies/{id}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/policies/{id}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Approval routes: unknown → 404; detections list answers in the list shape.
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/actions/act_nope/approve",
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = s
        .call(
            Method::GET,
            "/v1/detections?severity=high",
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(
        (status, list["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/detections?since=never",
            Some(&key_a),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("since"));
}
