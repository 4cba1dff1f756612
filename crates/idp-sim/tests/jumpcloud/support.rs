//! Shared helpers for the JumpCloud simulator tests: the seeded config and a
//! client that sends `x-api-key` (and `x-org-id` when asked).

use chrono::TimeZone;
use gatehouse_idp_sim::jumpcloud::{JumpCloudConfig, JumpCloudSim, RunningSim};
use serde_json::Value;

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jumpcloud");

pub(crate) fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn start_time() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

pub(crate) fn config(users: usize, events: usize) -> JumpCloudConfig {
    JumpCloudConfig {
        users,
        events,
        seed: 42,
        start_time: Some(start_time()),
        ..JumpCloudConfig::default()
    }
}

pub(crate) struct Api {
    pub(crate) sim: JumpCloudSim,
    pub(crate) running: RunningSim,
    pub(crate) http: reqwest::Client,
    pub(crate) key: String,
    pub(crate) org: Option<String>,
}

impl Api {
    pub(crate) async fn start(cfg: JumpCloudConfig) -> Self {
        let sim = JumpCloudSim::new(cfg);
        let running = sim.spawn("127.0.0.1:0".parse().unwrap()).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let key = sim.config().api_key.clone();
        Api {
            sim,
            running,
            http,
            key,
            org: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, self.url(path))
            .header("x-api-key", &self.key)
            .header("Accept", "application/json");
        if let Some(o) = &self.org {
            r = r.header("x-org-id", o);
        }
        r
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
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
        let mut r = self.request(method, path);
        r = match body {
            Some(b) => r.json(&b),
            None => r.header("Content-Length", "0"),
        };
        r.send().await.unwrap()
    }

    /// `POST /insights/directory/v1/events` with `body`.
    pub(crate) async fn events(&self, body: &Value) -> reqwest::Response {
        self.send(
            reqwest::Method::POST,
            "/insights/directory/v1/events",
            Some(body.clone()),
        )
        .await
    }
}

/// Asserts JumpCloud's `Error` body (`code`, `message`, `status`) with `status`.
pub(crate) async fn jc_error(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], status, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert!(body["status"].is_string(), "{body}");
    body
}

/// Every key path of a JSON value (`a.b`, arrays as `a[]`).
pub(crate) fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
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
            for x in a.iter().take(1) {
                keys(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}
