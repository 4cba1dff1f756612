//! OAuth 2.0 service apps: the token endpoint's checks of the client
//! assertion (signature, `aud`, `exp`, `jti`), scopes, DPoP with its nonce,
//! and the Management API taking only tokens the org issued, within their
//! scopes and lifetime. SSWS keeps working beside them.

use chrono::Duration;
use gatehouse_idp_sim::okta::oauth::{ServiceApp, TestKeyPair, JWT_BEARER};
use gatehouse_idp_sim::okta::OktaConfig;
use serde_json::Value;

use crate::support::{config, fixture, Api};

const CLIENT: &str = "0oa1gatehouseSVC1d7";

fn rsa_key() -> TestKeyPair {
    let f = fixture("rs256_test_key.json");
    TestKeyPair::rs256_from_pem(f["private_pem"].as_str().unwrap(), f["public_jwk"].clone())
        .unwrap()
}

/// An org with one service app holding `key`, granted users and groups reads.
fn org(key: &TestKeyPair, dpop: bool, lifetime: Duration) -> Api {
    let mut app = ServiceApp::new(
        CLIENT,
        key.public_jwk(),
        &["okta.users.read", "okta.groups.read"],
    );
    app.require_dpop = dpop;
    app.token_lifetime = lifetime;
    Api::start(OktaConfig {
        service_apps: vec![app],
        ..config(12, 20)
    })
}

impl Api {
    fn token_url(&self) -> String {
        format!("{}/oauth2/v1/token", self.running.base_url())
    }

    fn assertion(&self, key: &TestKeyPair, jti: &str) -> String {
        let now = self.sim.clock().now();
        key.client_assertion(CLIENT, &self.token_url(), now, Duration::minutes(5), jti)
            .unwrap()
    }

    async fn token_request(
        &self,
        assertion: &str,
        scope: &str,
        dpop: Option<String>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ];
        let mut req = self.http.post(self.token_url()).form(&form);
        if let Some(p) = dpop {
            req = req.header("DPoP", p);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap())
    }

    async fn call(
        &self,
        path: &str,
        authorization: &str,
        dpop: Option<String>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .get(self.url(path))
            .header("Authorization", authorization);
        if let Some(p) = dpop {
            req = req.header("DPoP", p);
        }
        req.send().await.unwrap()
    }
}

fn assert_oauth_error(got: &(u16, reqwest::header::HeaderMap, Value), status: u16, error: &str) {
    assert_eq!(
        (got.0, got.2["error"].as_str()),
        (status, Some(error)),
        "{:?}",
        got.2
    );
    assert!(got.2["error_description"].is_string(), "{:?}", got.2);
}

#[tokio::test]
async fn a_good_assertion_gets_a_scoped_bearer_token_the_api_accepts() {
    for key in [rsa_key(), TestKeyPair::es256("sim-test-ec-1").unwrap()] {
        let api = org(&key, false, Duration::hours(1));
        let got = api
            .token_request(&api.assertion(&key, "jti-1"), "okta.users.read", None)
            .await;
        assert_eq!(got.0, 200, "{:?}", got.2);
        assert_eq!(got.2["token_type"], "Bearer");
        assert_eq!(got.2["expires_in"], 3600);
        assert_eq!(got.2["scope"], "okta.users.read");
        assert_eq!(got.1["cache-control"], "no-cache, no-store");
        let token = got.2["access_token"].as_str().unwrap();
        let users = api
            .call("/api/v1/users?limit=2", &format!("Bearer {token}"), None)
            .await;
        assert_eq!(users.status(), 200);
        // The API token works as before.
        assert_eq!(api.get("/api/v1/users?limit=2").await.status(), 200);

        let requests = api.sim.token_requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].client_id.as_deref(), Some(CLIENT));
        assert_eq!((requests[0].status, requests[0].dpop), (200, false));
        assert_eq!(requests[0].scopes, ["okta.users.read"]);
        let calls = api.sim.calls();
        assert_eq!(calls[0].path, "/oauth2/v1/token");
        assert!(
            api.sim.mutations().is_empty(),
            "a token request mutates nothing"
        );
    }
}

#[tokio::test]
async fn the_assertion_must_be_signed_by_the_registered_key_for_this_endpoint() {
    let key = rsa_key();
    let api = org(&key, false, Duration::hours(1));
    // Another key claiming the registered key's id.
    let impostor = TestKeyPair::es256("sim-test-rsa-1").unwrap();
    let got = api
        .token_request(&api.assertion(&impostor, "a"), "okta.users.read", None)
        .await;
    assert_oauth_error(&got, 401, "invalid_client");

    let now = api.sim.clock().now();
    let elsewhere = key
        .client_assertion(
            CLIENT,
            "https://other.okta.com/oauth2/v1/token",
            now,
            Duration::minutes(5),
            "b",
        )
        .unwrap();
    let got = api.token_request(&elsewhere, "okta.users.read", None).await;
    assert_oauth_error(&got, 401, "invalid_client");
    assert!(got.2["error_description"].as_str().unwrap().contains("aud"));

    let unknown = TestKeyPair::es256("sim-test-rsa-1").unwrap();
    let stranger = unknown
        .client_assertion(
            "0oaSomeoneElse000000",
            &api.token_url(),
            now,
            Duration::minutes(5),
            "c",
        )
        .unwrap();
    let got = api.token_request(&stranger, "okta.users.read", None).await;
    assert_oauth_error(&got, 401, "invalid_client");
}

#[tokio::test]
async fn an_expired_or_too_long_lived_or_replayed_assertion_is_refused() {
    let key = rsa_key();
    let api = org(&key, false, Duration::hours(1));
    let now = api.sim.clock().now();
    let url = api.token_url();
    let expired = key
        .client_assertion(
            CLIENT,
            &url,
            now - Duration::minutes(10),
            Duration::minutes(5),
            "old",
        )
        .unwrap();
    assert_oauth_error(
        &api.token_request(&expired, "okta.users.read", None).await,
        401,
        "invalid_client",
    );
    let too_long = key
        .client_assertion(CLIENT, &url, now, Duration::hours(2), "long")
        .unwrap();
    assert_oauth_error(
        &api.token_request(&too_long, "okta.users.read", None).await,
        401,
        "invalid_client",
    );

    let once = api.assertion(&key, "once");
    assert_eq!(
        api.token_request(&once, "okta.users.read", None).await.0,
        200
    );
    let again = api.token_request(&once, "okta.users.read", None).await;
    assert_oauth_error(&again, 401, "invalid_client");
    assert!(again.2["error_description"]
        .as_str()
        .unwrap()
        .contains("already been used"));
}

#[tokio::test]
async fn scopes_bound_what_a_token_may_do() {
    let key = rsa_key();
    let api = org(&key, false, Duration::hours(1));
    let got = api
        .token_request(
            &api.assertion(&key, "s1"),
            "okta.users.read okta.logs.read",
            None,
        )
        .await;
    assert_oauth_error(&got, 400, "invalid_scope");
    assert!(got.2["error_description"]
        .as_str()
        .unwrap()
        .contains("okta.logs.read"));

    let got = api
        .token_request(&api.assertion(&key, "s2"), "okta.users.read", None)
        .await;
    let bearer = format!("Bearer {}", got.2["access_token"].as_str().unwrap());
    for path in ["/api/v1/logs", "/api/v1/groups"] {
        let resp = api.call(path, &bearer, None).await;
        assert_eq!(resp.status(), 403, "{path}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!("resource=\"{path}\"")),
            "{challenge}"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000006");
    }
    assert_eq!(api.call("/api/v1/users", &bearer, None).await.status(), 200);
}

#[tokio::test]
async fn expired_and_unknown_tokens_answer_401() {
    let key = rsa_key();
    let api = org(&key, false, Duration::seconds(60));
    let got = api
        .token_request(&api.assertion(&key, "e1"), "okta.users.read", None)
        .await;
    assert_eq!(got.2["expires_in"], 60);
    let bearer = format!("Bearer {}", got.2["access_token"].as_str().unwrap());
    assert_eq!(api.call("/api/v1/users", &bearer, None).await.status(), 200);
    api.sim.advance_time(Duration::seconds(61));
    for authorization in [bearer.as_str(), "Bearer eyJnever.issued.here"] {
        let resp = api.call("/api/v1/users", authorization, None).await;
        assert_eq!(resp.status(), 401, "{authorization}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000011");
    }
}

#[tokio::test]
async fn dpop_apps_go_through_the_nonce_and_prove_the_key_on_every_call() {
    let key = rsa_key();
    let api = org(&key, true, Duration::hours(1));
    let proof_key = TestKeyPair::es256("dpop-key").unwrap();
    let now = || api.sim.clock().now();
    let url = api.token_url();

    // Without a proof, then without the nonce.
    let got = api
        .token_request(&api.assertion(&key, "d0"), "okta.users.read", None)
        .await;
    assert_oauth_error(&got, 400, "invalid_dpop_proof");
    let proof = proof_key
        .dpop_proof("POST", &url, now(), "p1", None, None)
        .unwrap();
    let got = api
        .token_request(&api.assertion(&key, "d1"), "okta.users.read", Some(proof))
        .await;
    assert_oauth_error(&got, 400, "use_dpop_nonce");
    let nonce = got.1["dpop-nonce"].to_str().unwrap().to_string();
    assert_eq!(nonce, api.sim.dpop_nonce());

    let proof = proof_key
        .dpop_proof("POST", &url, now(), "p2", Some(&nonce), None)
        .unwrap();
    let got = api
        .token_request(&api.assertion(&key, "d2"), "okta.users.read", Some(proof))
        .await;
    assert_eq!(got.0, 200, "{:?}", got.2);
    assert_eq!(got.2["token_type"], "DPoP");
    let token = got.2["access_token"].as_str().unwrap().to_string();
    let dpop = format!("DPoP {token}");
    let users = format!("{}/api/v1/users", api.running.base_url());

    let proof = proof_key
        .dpop_proof("GET", &users, now(), "c1", None, Some(&token))
        .unwrap();
    assert_eq!(
        api.call("/api/v1/users?limit=1", &dpop, Some(proof.clone()))
            .await
            .status(),
        200
    );
    // A proof is good once; without `ath`, from another key, or as a Bearer token: refused.
    assert_eq!(
        api.call("/api/v1/users?limit=1", &dpop, Some(proof))
            .await
            .status(),
        401
    );
    let no_ath = proof_key
        .dpop_proof("GET", &users, now(), "c2", None, None)
        .unwrap();
    assert_eq!(
        api.call("/api/v1/users", &dpop, Some(no_ath))
            .await
            .status(),
        401
    );
    let other = TestKeyPair::es256("other").unwrap();
    let foreign = other
        .dpop_proof("GET", &users, now(), "c3", None, Some(&token))
        .unwrap();
    assert_eq!(
        api.call("/api/v1/users", &dpop, Some(foreign))
            .await
            .status(),
        401
    );
    let wrong_method = proof_key
        .dpop_proof("POST", &users, now(), "c4", None, Some(&token))
        .unwrap();
    assert_eq!(
        api.call("/api/v1/users", &dpop, Some(wrong_method))
            .await
            .status(),
        401
    );
    assert_eq!(
        api.call("/api/v1/users", &format!("Bearer {token}"), None)
            .await
            .status(),
        401
    );

    let requests = api.sim.token_requests();
    let errors: Vec<Option<&str>> = requests.iter().map(|r| r.error.as_deref()).collect();
    assert_eq!(
        errors,
        [Some("invalid_dpop_proof"), Some("use_dpop_nonce"), None]
    );
}
