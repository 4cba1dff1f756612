//! SCIM integrations as the management API sets them up: OAuth client credentials issuing
//! short-lived tokens, and custom extension schemas per integration. The SCIM protocol itself is
//! the separate `scim` test target.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, start};

#[tokio::test]
async fn scim_oauth_client_credentials_issue_short_lived_tokens() {
    let s = start().await;
    s.tenant("ten_oauth").await;
    let (status, created) = s
        .op(Method::POST, "/v1/integrations", Some(json!({"type": "scim", "tenant_id": "ten_oauth",
            "credentials": {"oauth_client_id": "entra-client", "oauth_client_secret": "s3cret-value"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(!created.to_string().contains("s3cret-value"));
    let form = |pairs: &[(&str, &str)]| {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.http
            .post(format!("{}/v1/scim/oauth/token", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
    };
    let resp = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "entra-client"),
        ("client_secret", "s3cret-value"),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gh_scim_"));
    let users = s
        .http
        .get(format!("{}/v1/scim/v2/Users", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        users.status(),
        StatusCode::OK,
        "the access token works for SCIM"
    );
    // HTTP Basic client authentication works too.
    let basic = s
        .http
        .post(format!("{}/v1/scim/oauth/token", s.base))
        .basic_auth("entra-client", Some("s3cret-value"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    // Refusals in RFC 6749's shape.
    for (pairs, status, error) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "entra-client"),
                ("client_secret", "wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "s3cret-value"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "entra-client"),
                ("client_secret", "s3cret-value"),
            ],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
    ] {
        let resp = form(&pairs).send().await.unwrap();
        assert_eq!(resp.status(), status, "{pairs:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], error, "{pairs:?}");
    }
    // The token is not an API key.
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_oauth", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scim_custom_extension_schemas_per_integration() {
    let s = start().await;
    s.tenant("ten_ext").await;
    const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let schemas = json!([{"id": ACME, "name": "AcmeUser", "attributes": [
        {"name": "badgeNumber", "type": "string", "multiValued": false, "required": false,
         "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"}]}]);
    let (status, body) = s
        .op(Method::POST, "/v1/integrations", Some(json!({"type": "scim", "tenant_id": "ten_ext",
            "config": {"custom_schemas": [{"id": ACME, "attributes": [{"name": "x", "type": "no-such-type"}]}]}})))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("config.custom_schemas"),
    );
    let (status, created) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "scim", "tenant_id": "ten_ext",
            "config": {"custom_schemas": schemas}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["scim"]["token"].as_str().unwrap().to_owned();
    let scim = |method: Method, path: &str, body: Option<Value>| {
        let mut req = s
            .http
            .request(method, format!("{}/v1/scim/v2{path}", s.base))
            .bearer_auth(&token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        req.send()
    };
    let served: Value = scim(Method::GET, "/Schemas", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        served.to_string().contains(ACME),
        "the extension is served: {served}"
    );
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
        "userName": "badge@acme.example", ACME: {"badgeNumber": "B-1701", "profileField_floor": "7"}});
    let resp = scim(Method::POST, "/Users", Some(user)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created[ACME]["badgeNumber"], "B-1701");
    assert_eq!(
        created[ACME]["profileField_floor"], "7",
        "undeclared attributes of a declared extension are kept"
    );
    let id = created["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": format!("{ACME}:badgeNumber"), "value": "B-2000"}]});
    let patched: Value = scim(Method::PATCH, &format!("/Users/{id}"), Some(patch))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched[ACME]["badgeNumber"], "B-2000", "{patched}");
}
