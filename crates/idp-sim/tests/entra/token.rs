//! The client-credentials token endpoint, its AADSTS errors, and the
//! lifetime and origin checks of the tokens Graph accepts.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::support::{config, graph_error, Api};

const SCOPE: &str = "https://graph.microsoft.com/.default";

async fn sts_error(resp: reqwest::Response, status: u16, error: &str, code: u64) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"][0], code, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with(&format!("AADSTS{code}:")));
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[k].is_string(), "{body} lacks {k}");
    }
    body
}

#[tokio::test]
async fn issues_a_bearer_token_for_the_client_secret() {
    let api = Api::start(config(5, 0)).await;
    let c = api.sim.config().clone();
    let resp = api
        .token_request(&[
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    // The token's roles are the app's consented permissions.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["tid"], c.directory_id.as_str());
    assert!(claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "User.Read.All"));
    assert_eq!(
        api.get_with("/v1.0/organization", token).await.status(),
        200
    );
}

#[tokio::test]
async fn accepts_http_basic_client_authentication() {
    let api = Api::start(config(5, 0)).await;
    let c = api.sim.config().clone();
    let resp = api
        .http
        .post(api.token_url())
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[("scope", SCOPE), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn refuses_bad_credentials_with_aadsts_errors() {
    let api = Api::start(config(5, 0)).await;
    let c = api.sim.config().clone();
    let good = |k: &str| match k {
        "client_id" => c.client_id.clone(),
        "client_secret" => c.client_secret.clone(),
        "scope" => SCOPE.to_string(),
        _ => "client_credentials".to_string(),
    };
    let form = |over: (&str, &str)| -> Vec<(String, String)> {
        ["client_id", "client_secret", "scope", "grant_type"]
            .iter()
            .map(|k| {
                (
                    k.to_string(),
                    if *k == over.0 {
                        over.1.to_string()
                    } else {
                        good(k)
                    },
                )
            })
            .collect()
    };
    let send = |f: Vec<(String, String)>, url: String| {
        let http = api.http.clone();
        async move { http.post(url).form(&f).send().await.unwrap() }
    };
    let url = api.token_url();
    sts_error(
        send(form(("client_secret", "wrong")), url.clone()).await,
        401,
        "invalid_client",
        7000215,
    )
    .await;
    sts_error(
        send(
            form(("client_id", "11111111-2222-3333-4444-555555555555")),
            url.clone(),
        )
        .await,
        400,
        "unauthorized_client",
        700016,
    )
    .await;
    sts_error(
        send(
            form(("scope", "https://graph.microsoft.com/User.Read")),
            url.clone(),
        )
        .await,
        400,
        "invalid_scope",
        70011,
    )
    .await;
    sts_error(
        send(form(("grant_type", "password")), url.clone()).await,
        400,
        "unsupported_grant_type",
        70003,
    )
    .await;
    let other_tenant = api.url("/99999999-0000-0000-0000-000000000000/oauth2/v2.0/token");
    sts_error(
        send(form(("x", "")), other_tenant).await,
        400,
        "invalid_request",
        90002,
    )
    .await;
}

#[tokio::test]
async fn tokens_expire_on_the_sims_clock() {
    let api = Api::start(crate::support::EntraConfigExt::with(config(5, 0), |c| {
        c.token_lifetime = Duration::from_secs(60)
    }))
    .await;
    assert_eq!(api.get("/v1.0/organization").await.status(), 200);
    api.sim.advance(Duration::from_secs(61));
    let resp = api.get("/v1.0/organization").await;
    assert!(resp.headers().get("www-authenticate").is_some());
    let body = graph_error(resp, 401, "InvalidAuthenticationToken").await;
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
    let c = api.sim.config().clone();
    let fresh = api.fetch_token(&c.client_id, &c.client_secret).await;
    assert_eq!(
        api.get_with("/v1.0/organization", &fresh).await.status(),
        200
    );
}

#[tokio::test]
async fn only_tokens_the_sim_issued_are_accepted() {
    let api = Api::start(config(5, 0)).await;
    let resp = api.http.get(api.url("/v1.0/users")).send().await.unwrap();
    let body = graph_error(resp, 401, "InvalidAuthenticationToken").await;
    assert_eq!(body["error"]["message"], "Access token is empty.");
    let forged = {
        let mut parts: Vec<String> = api.token.split('.').map(String::from).collect();
        parts[2] = "AAAA".into();
        parts.join(".")
    };
    graph_error(
        api.get_with("/v1.0/users", &forged).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    graph_error(
        api.get_with("/v1.0/users", "not-a-jwt").await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
}
