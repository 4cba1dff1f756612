//! The server harness every module shares: a real router on an ephemeral port over a temporary
//! store, the `call`/`op` request helpers, tenant and Okta integration setup, and `assert_error`
//! for the error shape.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_engine::Gateway;
use gatehouse_testkit::InProcess;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub(crate) const OPERATOR_KEY: &str = "gh_op_test-operator-key-0123456789";

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) gateway: Arc<Gateway>,
    _daemon: InProcess,
}

/// The daemon as `gatehouse serve` builds it (the same composition root), in this process.
pub(crate) async fn start_with(allow_custom_endpoints: bool, body_limit: usize) -> Server {
    let daemon = InProcess::start(|options| {
        options.operator_key = Some(OPERATOR_KEY.to_owned().into());
        options.allow_custom_endpoints = allow_custom_endpoints;
        options.api.body_limit = body_limit;
        options.api.request_timeout = Duration::from_secs(10);
    })
    .await
    .unwrap();
    Server {
        base: daemon.base_url.clone(),
        http: reqwest::Client::new(),
        gateway: Arc::clone(&daemon.app.gateway),
        _daemon: daemon,
    }
}

pub(crate) async fn start() -> Server {
    start_with(false, 1024 * 1024).await
}

impl Server {
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// The body of an unauthenticated `GET path`, as text (a metrics scrape, a page).
    pub(crate) async fn text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub(crate) async fn op(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, Some(OPERATOR_KEY), body).await
    }

    pub(crate) async fn tenant(&self, id: &str) -> String {
        let (status, body) = self
            .op(
                Method::POST,
                "/v1/tenants",
                Some(json!({"name": id, "id": id})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = self
            .op(Method::POST, &format!("/v1/tenants/{id}/api-keys"), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["key"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn okta(&self, tenant: &str) -> Value {
        let (status, body) = self
            .op(Method::POST, "/v1/integrations", Some(okta_body(tenant)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

pub(crate) fn okta_body(tenant: &str) -> Value {
    json!({"type": "okta", "tenant_id": tenant,
           "credentials": {"domain": "acme.okta.com", "api_token": "00okta-secret-token"},
           "config": {"ingest_users": true, "ingest_system_log": true, "enable_response_actions": true}})
}

pub(crate) fn assert_error(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    field: Option<&str>,
) {
    assert_eq!(status, expected, "{body}");
    assert!(body["error"]["code"].is_string(), "error shape: {body}");
    assert!(body["error"]["message"].is_string(), "error shape: {body}");
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}
