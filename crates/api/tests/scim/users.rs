//! Users end to end: create with a forwarded location, case-insensitive `userName` uniqueness,
//! projection, conditional GET, filters, sorting and paging, `.search`, PUT and DELETE under
//! If-Match, PATCH, and the content types a request may carry.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_scim_error, id, start, total, user, SCIM_JSON};

#[tokio::test]
async fn users_crud_uniqueness_etags_and_content_types() {
    let s = start().await;
    let t = s.tenant("ten_users", json!({})).await;
    let tok = &t.scim_token;

    let r = s
        .scim_with(
            Method::POST,
            "/Users",
            tok,
            Some(user("alice@example.com")),
            &[("host", "gh.example:8443"), ("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let alice = r.body.clone();
    let alice_id = id(&alice);
    let location = format!("https://gh.example:8443/v1/scim/v2/Users/{alice_id}");
    assert_eq!(r.headers["location"], location.as_str());
    assert_eq!(alice["meta"]["location"], location);
    assert_eq!(alice["meta"]["resourceType"], "User");
    assert_eq!(
        r.headers["etag"],
        alice["meta"]["version"].as_str().unwrap()
    );
    assert_eq!(r.headers["content-type"], SCIM_JSON);

    // userName is unique, case-insensitively.
    let r = s
        .scim(Method::POST, "/Users", tok, Some(user("ALICE@example.COM")))
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));

    // Read, with projection and conditional GET.
    let r = s
        .scim(Method::GET, &format!("/Users/{alice_id}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["userName"], "alice@example.com");
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let r = s
        .scim_with(
            Method::GET,
            &format!("/Users/{alice_id}"),
            tok,
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = s
        .scim(
            Method::GET,
            &format!("/Users/{alice_id}?attributes=userName"),
            tok,
            None,
        )
        .await;
    assert_eq!(r.body["userName"], "alice@example.com");
    assert_eq!(r.body["id"], alice_id.as_str());
    assert!(r.body.get("emails").is_none(), "{}", r.body);

    s.create(tok, "Users", user("bob@example.com")).await;
    s.create(tok, "Users", user("carol@example.com")).await;

    // Lists: everything, an indexed equality (case-insensitive), a filter without an index,
    // sorting and paging.
    let r = s.scim(Method::GET, "/Users", tok, None).await;
    assert_eq!(total(&r), 3);
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22BOB@example.com%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["userName"], "bob@example.com");
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=name.givenName%20sw%20%22c%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["userName"], "carol@example.com");
    let r = s
        .scim(
            Method::GET,
            "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 3);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "bob@example.com");
    let r = s
        .scim(Method::GET, "/Users?startIndex=3&count=5", tok, None)
        .await;
    assert_eq!(total(&r), 3);
    assert_eq!(r.body["itemsPerPage"], 1);
    let r = s
        .scim(
            Method::POST,
            "/Users/.search",
            tok,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "emails.value co \"alice\"", "attributes": ["userName"]}),
            ),
        )
        .await;
    assert_eq!(total(&r), 1);
    assert!(r.body["Resources"][0].get("emails").is_none());
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName%20xx%20%22a%22",
            tok,
            None,
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidFilter"));

    // PUT with a stale If-Match is 412; with the current one it replaces.
    let mut put = user("alice@example.com");
    put["displayName"] = json!("Alice A");
    let r = s
        .scim_with(
            Method::PUT,
            &format!("/Users/{alice_id}"),
            tok,
            Some(put.clone()),
            &[("if-match", "W/\"0000\"")],
        )
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let r = s
        .scim_with(
            Method::PUT,
            &format!("/Users/{alice_id}"),
            tok,
            Some(put),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Alice A");
    assert_ne!(r.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(r.body["meta"]["created"], alice["meta"]["created"]);
    // Renaming onto another user's userName is a conflict.
    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{alice_id}"),
            tok,
            Some(user("Bob@Example.com")),
        )
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));

    // PATCH answers 200 with the resource, honouring attributes.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{alice_id}?attributes=title"),
            tok,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "title", "value": "CISO"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["title"], "CISO");
    assert!(r.body.get("userName").is_none());

    // Content types: JSON is accepted, anything else is 415.
    let r = s
        .send(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&format!("Bearer {tok}")),
            "application/json; charset=utf-8",
            Some(user("dave@example.com").to_string()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = s
        .send(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&format!("Bearer {tok}")),
            "text/plain",
            Some(user("erin@example.com").to_string()),
            &[],
        )
        .await;
    assert_scim_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
    let r = s
        .send(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&format!("Bearer {tok}")),
            SCIM_JSON,
            Some("{not json".to_owned()),
            &[],
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let r = s
        .scim(
            Method::POST,
            "/Users",
            tok,
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    // NUL anywhere in a resource, not only in an indexed attribute: a clear 400 on every
    // store (PostgreSQL cannot hold it), nothing written.
    let mut with_nul = user("nul@example.com");
    with_nul["title"] = json!("Chief\u{0}Officer");
    let r = s.scim(Method::POST, "/Users", tok, Some(with_nul)).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22nul@example.com%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 0, "{}", r.body);

    // DELETE with a stale If-Match is 412; then 204, then 404.
    let r = s
        .scim_with(
            Method::DELETE,
            &format!("/Users/{alice_id}"),
            tok,
            None,
            &[("if-match", "W/\"0000\"")],
        )
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let r = s
        .scim(Method::DELETE, &format!("/Users/{alice_id}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Users/{alice_id}"), tok, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    // The userName is free again.
    s.create(tok, "Users", user("alice@example.com")).await;
}
