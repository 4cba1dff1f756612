//! Discovery: `ServiceProviderConfig`, `Schemas` and `ResourceTypes`, and the SCIM error for a
//! method a discovery endpoint does not allow or a path that does not exist.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_scim_error, start, total, SCIM_JSON};

#[tokio::test]
async fn discovery_documents_and_method_errors() {
    let s = start().await;
    let t = s.tenant("ten_disc", json!({})).await;
    let tok = &t.scim_token;

    let r = s
        .scim(Method::GET, "/ServiceProviderConfig", tok, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], SCIM_JSON);
    assert_eq!(r.body["patch"]["supported"], true);
    assert_eq!(r.body["bulk"]["supported"], true);
    assert!(r.body["bulk"]["maxOperations"].as_u64().unwrap() > 0);
    assert!(r.body["bulk"]["maxPayloadSize"].as_u64().unwrap() > 0);
    assert_eq!(r.body["etag"]["supported"], true);

    let r = s.scim(Method::GET, "/Schemas", tok, None).await;
    assert!(total(&r) >= 3);
    let r = s
        .scim(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            tok,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let r = s.scim(Method::GET, "/Schemas/urn:nope", tok, None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);

    let r = s.scim(Method::GET, "/ResourceTypes", tok, None).await;
    assert_eq!(total(&r), 2);
    let r = s.scim(Method::GET, "/ResourceTypes/Group", tok, None).await;
    assert_eq!(r.body["endpoint"], "/Groups");
    assert!(r.body["meta"]["location"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));

    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
        "/ResourceTypes/User",
    ] {
        let r = s.scim(Method::POST, path, tok, Some(json!({}))).await;
        assert_scim_error(&r, StatusCode::METHOD_NOT_ALLOWED, None);
        let r = s.scim(Method::DELETE, path, tok, None).await;
        assert_scim_error(&r, StatusCode::METHOD_NOT_ALLOWED, None);
    }
    let r = s.scim(Method::GET, "/Nothing", tok, None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
}
