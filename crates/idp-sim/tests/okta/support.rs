//! Shared helpers for the Okta simulator tests: the seeded config, fixture
//! loading, an authenticated HTTP client against a spawned simulator, and
//! assertions on Link headers, rate-limit headers and error bodies.

use axum::http::HeaderMap;
use chrono::TimeZone;
use gatehouse_idp_sim::okta::{OktaConfig, OktaSim, RunningSim};
use serde_json::Value;

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/okta");

pub(crate) fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn config(users: usize, events: usize) -> OktaConfig {
    OktaConfig {
        users,
        events,
        seed: 42,
        start_time: Some(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        ..OktaConfig::default()
    }
}

pub(crate) struct Api {
    pub(crate) sim: OktaSim,
    pub(crate) running: RunningSim,
    pub(crate) http: reqwest::Client,
}

impl Api {
    pub(crate) fn start(cfg: OktaConfig) -> Self {
        let sim = OktaSim::new(cfg);
        let running = sim.spawn("127.0.0.1:0".parse().unwrap()).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Api { sim, running, http }
    }

    pub(crate) fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.running.base_url())
        }
    }

    pub(crate) fn auth(&self) -> String {
        format!("SSWS {}", self.sim.config().api_token)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("Authorization", self.auth())
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("Authorization", self.auth())
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .header("Authorization", self.auth())
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn put(&self, path: &str) -> reqwest::Response {
        self.http
            .put(self.url(path))
            .header("Authorization", self.auth())
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap()
    }
}

/// (url, rel) of every `link` header.
pub(crate) fn links(h: &HeaderMap) -> Vec<(String, String)> {
    h.get_all("link")
        .iter()
        .map(|v| {
            let v = v.to_str().unwrap();
            let (url, rel) = v.split_once(">; rel=\"").unwrap();
            (
                url.trim_start_matches('<').to_string(),
                rel.trim_end_matches('"').to_string(),
            )
        })
        .collect()
}

pub(crate) fn next_link(h: &HeaderMap) -> Option<String> {
    links(h)
        .into_iter()
        .find(|(_, r)| r == "next")
        .map(|(u, _)| u)
}

pub(crate) fn assert_keys(v: &Value, kind: &str) {
    let shapes = fixture("shapes.json");
    for k in shapes[kind].as_array().unwrap() {
        let k = k.as_str().unwrap();
        assert!(v.get(k).is_some(), "{kind} lacks {k}: {v}");
    }
}

pub(crate) fn assert_rate_headers(h: &HeaderMap) {
    for name in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        let v = h.get(name).unwrap_or_else(|| panic!("missing {name}"));
        v.to_str().unwrap().parse::<i64>().unwrap();
    }
}

pub(crate) async fn error_body(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert_rate_headers(resp.headers());
    let body: Value = resp.json().await.unwrap();
    assert_keys(&body, "error");
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code);
    body
}
