//! Shared helpers for the Entra simulator tests: the seeded config, fixture
//! loading, a client that gets a token and calls Graph against a spawned sim.

use chrono::TimeZone;
use gatehouse_idp_sim::entra::{EntraConfig, EntraSim, RunningSim};
use serde_json::Value;

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/entra");

pub(crate) fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn config(users: usize, signins: usize) -> EntraConfig {
    EntraConfig {
        users,
        signins,
        seed: 42,
        start_time: Some(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        notification_interval: None,
        ..EntraConfig::default()
    }
}

pub(crate) struct Api {
    pub(crate) sim: EntraSim,
    pub(crate) running: RunningSim,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn start(cfg: EntraConfig) -> Self {
        let sim = EntraSim::new(cfg);
        let running = sim.spawn("127.0.0.1:0".parse().unwrap()).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut api = Api {
            sim,
            running,
            http,
            token: String::new(),
        };
        let (id, secret) = (
            api.sim.config().client_id.clone(),
            api.sim.config().client_secret.clone(),
        );
        api.token = api.fetch_token(&id, &secret).await;
        api
    }

    pub(crate) fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.running.base_url())
        }
    }

    pub(crate) fn token_url(&self) -> String {
        self.url(&format!(
            "/{}/oauth2/v2.0/token",
            self.sim.config().directory_id
        ))
    }

    pub(crate) async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.token_url())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn fetch_token(&self, client_id: &str, secret: &str) -> String {
        let resp = self
            .token_request(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
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

/// Asserts a Graph error body with `code` and `status`; returns the body.
pub(crate) async fn graph_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert!(resp.headers().get("request-id").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string());
    let inner = &body["error"]["innerError"];
    for k in ["date", "request-id", "client-request-id"] {
        assert!(inner[k].is_string(), "innerError lacks {k}: {body}");
    }
    body
}

/// Follows `@odata.nextLink` to the end; returns every item and the last page.
pub(crate) async fn collect(api: &Api, first: &str) -> (Vec<Value>, Value) {
    let mut items = Vec::new();
    let mut url = first.to_string();
    loop {
        let page = api.get_json(&url).await;
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => return (items, page),
        }
    }
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

/// Builds a config by editing one.
pub(crate) trait EntraConfigExt {
    fn with(self, f: impl FnOnce(&mut EntraConfig)) -> EntraConfig;
}

impl EntraConfigExt for EntraConfig {
    fn with(mut self, f: impl FnOnce(&mut EntraConfig)) -> EntraConfig {
        f(&mut self);
        self
    }
}
