//! Tenants and their API keys: CRUD, operator versus tenant authentication, keys shown once and
//! revocable, and a tenant key never reaching another tenant's tenant or integrations.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, okta_body, start};

#[tokio::test]
async fn tenants_crud_and_auth() {
    let s = start().await;
    // generated id
    let (status, body) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"name": "Acme"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let generated = body["id"].as_str().unwrap().to_owned();
    assert!(
        generated.starts_with("ten_") && generated.len() == 30,
        "{generated}"
    );
    assert_eq!(body["name"], "Acme");
    // chosen id, duplicate, invalid
    let (status, _) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "B", "id": "ten_b"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "B", "id": "ten_b"})),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, None);
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "C", "id": "bad/id"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("id"));
    let (status, body) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"name": "  "})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("name"));
    let (status, body) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"id": "ten_x"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("name"));
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "X", "colour": "red"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("colour"));
    // auth failures
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/tenants",
            None,
            Some(json!({"name": "X"})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, None);
    let (status, body) = s
        .call(Method::GET, "/v1/tenants", Some("gh_op_wrong"), None)
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, None);
    let tenant_key = s.tenant("ten_c").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/tenants",
            Some(&tenant_key),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, None);
    // read
    let (status, body) = s.op(Method::GET, "/v1/tenants/ten_b", None).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some("B")));
    let (status, body) = s.op(Method::GET, "/v1/tenants/ten_missing", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s
        .call(Method::GET, "/v1/tenants/ten_b", Some(&tenant_key), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s
        .call(Method::GET, "/v1/tenants/ten_c", Some(&tenant_key), None)
        .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::OK, Some("ten_c"))
    );
    // list: paging for the operator, only its own tenant for a tenant key
    let (status, body) = s.op(Method::GET, "/v1/tenants?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (_, body) = s
        .op(
            Method::GET,
            &format!("/v1/tenants?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["next_cursor"], Value::Null);
    let (_, body) = s
        .call(Method::GET, "/v1/tenants", Some(&tenant_key), None)
        .await;
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["ten_c"]);
    // settings
    let settings = json!({"settings": {"protected_accounts": ["breakglass@acme.example"], "max_auto_disables_per_10m": 20}});
    let (status, body) = s
        .call(
            Method::PATCH,
            "/v1/tenants/ten_c",
            Some(&tenant_key),
            Some(settings),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["max_auto_disables_per_10m"], 20);
    let (status, body) = s
        .op(
            Method::PATCH,
            "/v1/tenants/ten_c",
            Some(json!({"settings": {"bogus": 1}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, None);
    // delete: operator only, and it takes the tenant's keys and integrations with it
    s.okta("ten_c").await;
    let (status, body) = s
        .call(Method::DELETE, "/v1/tenants/ten_c", Some(&tenant_key), None)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = s
        .call(Method::DELETE, "/v1/tenants/ten_b", Some(&tenant_key), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, _) = s.op(Method::DELETE, "/v1/tenants/ten_c", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_c", Some(&tenant_key), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the deleted tenant's key no longer works"
    );
    let (status, _) = s.op(Method::DELETE, "/v1/tenants/ten_c", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_keys_are_shown_once_and_revocable() {
    let s = start().await;
    let key = s.tenant("ten_k").await;
    assert!(key.starts_with("gh_tk_"));
    let (status, body) = s
        .call(Method::GET, "/v1/tenants/ten_k/api-keys", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!body.to_string().contains(&key), "keys are never listed");
    let key_id = listed[0]["id"].as_str().unwrap().to_owned();
    // A second key, then revoke the first: it stops working at once.
    let (_, second) = s
        .call(Method::POST, "/v1/tenants/ten_k/api-keys", Some(&key), None)
        .await;
    let second = second["key"].as_str().unwrap().to_owned();
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/tenants/ten_k/api-keys/{key_id}"),
            Some(&second),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_k", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_k", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tenant_keys_never_reach_another_tenant() {
    let s = start().await;
    let key_a = s.tenant("ten_a").await;
    s.tenant("ten_b").await;
    let b = s.okta("ten_b").await;
    let b_id = b["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/v1/integrations/{b_id}")),
        (Method::PATCH, format!("/v1/integrations/{b_id}")),
        (Method::DELETE, format!("/v1/integrations/{b_id}")),
        (Method::POST, format!("/v1/integrations/{b_id}/test")),
        (Method::POST, format!("/v1/integrations/{b_id}/sync")),
        (
            Method::POST,
            format!("/v1/integrations/{b_id}/ingest-token"),
        ),
        (Method::POST, format!("/v1/integrations/{b_id}/scim-token")),
        (Method::GET, "/v1/integrations?tenant_id=ten_b".to_owned()),
        (Method::GET, "/v1/tenants/ten_b".to_owned()),
        (Method::PATCH, "/v1/tenants/ten_b".to_owned()),
        (Method::POST, "/v1/tenants/ten_b/api-keys".to_owned()),
        (Method::GET, "/v1/tenants/ten_b/api-keys".to_owned()),
    ] {
        let body = (method == Method::PATCH).then(|| json!({}));
        let (status, answer) = s.call(method.clone(), &path, Some(&key_a), body).await;
        assert_error(status, &answer, StatusCode::NOT_FOUND, None);
        assert!(
            !answer.to_string().contains("ten_b\","),
            "{method} {path}: {answer}"
        );
    }
    let (status, answer) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key_a),
            Some(okta_body("ten_b")),
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, None);
    // b's integration is untouched
    let (status, _) = s
        .op(Method::GET, &format!("/v1/integrations/{b_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // An ingest token is no API key.
    let ingest = b["ingest"]["token"].as_str().unwrap();
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_b", Some(ingest), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
