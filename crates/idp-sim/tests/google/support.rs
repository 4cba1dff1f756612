//! Shared helpers for the Google simulator tests: the seeded config, signed
//! assertions, and a client that gets a token and calls the APIs.

use chrono::TimeZone;
use gatehouse_idp_sim::google::{GoogleConfig, GoogleSim, RunningSim, ALL_SCOPES};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/google");

pub(crate) fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn config(users: usize, activities: usize) -> GoogleConfig {
    GoogleConfig {
        users,
        activities,
        seed: 42,
        start_time: Some(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        notification_interval: None,
        ..GoogleConfig::default()
    }
}

pub(crate) struct Api {
    pub(crate) sim: GoogleSim,
    pub(crate) running: RunningSim,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn start(cfg: GoogleConfig) -> Self {
        let sim = GoogleSim::new(cfg);
        let running = sim.spawn("127.0.0.1:0".parse().unwrap()).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut api = Api {
            sim,
            running,
            http,
            token: String::new(),
        };
        let claims = api.claims(&ALL_SCOPES.join(" "));
        api.token = api.fetch_token(&claims).await;
        api
    }

    pub(crate) fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.running.base_url())
        }
    }

    pub(crate) fn token_uri(&self) -> String {
        self.url("/token")
    }

    pub(crate) fn key_file(&self) -> Value {
        self.sim.service_account_json(&self.token_uri())
    }

    /// The claims google-auth would sign, at the sim's "now".
    pub(crate) fn claims(&self, scope: &str) -> Value {
        let now = self.sim.clock().now().timestamp();
        let key = self.key_file();
        json!({
            "iss": key["client_email"],
            "scope": scope,
            "aud": key["token_uri"],
            "iat": now,
            "exp": now + 3600,
            "sub": self.sim.config().admin_email,
        })
    }

    /// Signs `claims` with the key file's key (or `pem`), `kid` = private_key_id.
    pub(crate) fn sign(&self, claims: &Value, pem: Option<&str>) -> String {
        let key = self.key_file();
        let pem = pem
            .unwrap_or(key["private_key"].as_str().unwrap())
            .to_string();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = key["private_key_id"].as_str().map(String::from);
        let enc = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &enc).unwrap()
    }

    pub(crate) async fn token_request(&self, assertion: &str) -> reqwest::Response {
        self.http
            .post(self.token_uri())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion),
            ])
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn fetch_token(&self, claims: &Value) -> String {
        let resp = self.token_request(&self.sign(claims, None)).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        body["access_token"].as_str().unwrap().to_string()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(path, &self.token).await
    }

    pub(crate) async fn get_with(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        req = match body {
            Some(b) => req.json(&b),
            None => req.header("Content-Length", "0"),
        };
        req.send().await.unwrap()
    }
}

/// Asserts Google's error body with `status` and `reason`; returns the body.
pub(crate) async fn google_error(resp: reqwest::Response, status: u16, reason: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], status, "{body}");
    assert_eq!(body["error"]["errors"][0]["reason"], reason, "{body}");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["errors"][0]["domain"].is_string());
    assert!(body["error"]["status"].is_string());
    body
}

/// Every key path of `v` (objects only, arrays' first item), for shape checks.
pub(crate) fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(p.clone());
                keys(x, &p, out);
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                keys(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}
