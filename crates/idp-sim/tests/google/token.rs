//! The token endpoint: a good assertion, each refusal, scope enforcement on
//! the APIs, and token expiry on the sim's clock.

use std::time::Duration;

use gatehouse_idp_sim::google::{SCOPE_REPORTS_AUDIT, SCOPE_USER_READONLY};
use serde_json::{json, Value};

use crate::support::{config, google_error, Api, FIXTURES};

const USERS: &str = "/admin/directory/v1/users?customer=my_customer";

async fn refused(api: &Api, assertion: &str, status: u16, error: &str, text: &str) {
    let resp = api.token_request(assertion).await;
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(text),
        "{body}"
    );
}

#[tokio::test]
async fn good_assertion_gets_a_bearer_token() {
    let api = Api::start(config(5, 0)).await;
    let resp = api
        .token_request(&api.sign(&api.claims(SCOPE_USER_READONLY), None))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    let key = api.key_file();
    assert_eq!(key["type"], "service_account");
    assert!(key["private_key"]
        .as_str()
        .unwrap()
        .contains("BEGIN PRIVATE KEY"));
}

#[tokio::test]
async fn each_bad_assertion_is_refused_with_googles_words() {
    let api = Api::start(config(5, 0)).await;
    let claims = api.claims(SCOPE_USER_READONLY);
    let other = std::fs::read_to_string(format!("{FIXTURES}/other_private_key.pem")).unwrap();
    refused(
        &api,
        &api.sign(&claims, Some(&other)),
        400,
        "invalid_grant",
        "Invalid JWT Signature.",
    )
    .await;

    let mut c = claims.clone();
    c["aud"] = json!("https://example.org/token");
    refused(
        &api,
        &api.sign(&c, None),
        400,
        "invalid_grant",
        "Invalid JWT: Failed audience check",
    )
    .await;

    let mut c = claims.clone();
    let now = api.sim.clock().now().timestamp();
    c["iat"] = json!(now - 7200);
    c["exp"] = json!(now - 3600);
    refused(
        &api,
        &api.sign(&c, None),
        400,
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes)",
    )
    .await;

    let mut c = claims.clone();
    c["exp"] = json!(now + 7200);
    refused(
        &api,
        &api.sign(&c, None),
        400,
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token",
    )
    .await;

    let mut c = claims.clone();
    c["sub"] = json!("nobody@example.com");
    refused(
        &api,
        &api.sign(&c, None),
        400,
        "invalid_grant",
        "Invalid email or User ID",
    )
    .await;

    let mut c = claims.clone();
    c["iss"] = json!("someone@else.iam.gserviceaccount.com");
    refused(
        &api,
        &api.sign(&c, None),
        400,
        "invalid_grant",
        "Invalid grant: account not found",
    )
    .await;

    let mut c = claims.clone();
    c["scope"] = json!("https://www.googleapis.com/auth/cloud-platform");
    refused(&api, &api.sign(&c, None), 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.").await;

    let resp = api
        .http
        .post(api.token_uri())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn scopes_are_enforced_and_tokens_expire() {
    let api = Api::start(config(5, 0)).await;
    let reports_only = api.fetch_token(&api.claims(SCOPE_REPORTS_AUDIT)).await;
    let resp = api.get_with(USERS, &reports_only).await;
    let body = google_error(resp, 403, "insufficientPermissions").await;
    assert_eq!(
        body["error"]["message"],
        "Request had insufficient authentication scopes."
    );
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");

    let resp = api.get_with(USERS, "ya29.unknown").await;
    let body = google_error(resp, 401, "authError").await;
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");

    assert_eq!(api.get(USERS).await.status(), 200);
    api.sim.advance(Duration::from_secs(3600));
    google_error(api.get(USERS).await, 401, "authError").await;
}

#[tokio::test]
async fn a_non_admin_subject_is_not_authorized() {
    let api = Api::start(config(5, 0)).await;
    let mut c = api.claims(SCOPE_USER_READONLY);
    let plain = api.sim.user_ids()[1].clone();
    c["sub"] = json!(api.sim.user(&plain).unwrap()["primaryEmail"]);
    let t = api.fetch_token(&c).await;
    google_error(api.get_with(USERS, &t).await, 403, "forbidden").await;
}
