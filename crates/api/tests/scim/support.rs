//! The server harness every module shares: a real router on an ephemeral port over a temporary
//! store, the SCIM and management request helpers, tenant setup with a SCIM integration, the
//! `tests/fixtures/scim` loader, resource builders and `assert_scim_error` for the error shape.

use std::time::Duration;

use gatehouse_testkit::InProcess;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub(crate) const OPERATOR_KEY: &str = "gh_op_test-operator-key-0123456789";
pub(crate) const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub(crate) struct Server {
    pub(crate) base: String,
    http: reqwest::Client,
    _daemon: InProcess,
}

pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

/// A tenant with an API key and one SCIM integration.
pub(crate) struct Tenant {
    pub(crate) api_key: String,
    pub(crate) scim_token: String,
}

/// The daemon as `gatehouse serve` builds it (the same composition root), in this process.
pub(crate) async fn start() -> Server {
    let daemon = InProcess::start(|options| {
        options.operator_key = Some(OPERATOR_KEY.to_owned().into());
        options.api.request_timeout = Duration::from_secs(10);
    })
    .await
    .unwrap();
    Server {
        base: daemon.base_url.clone(),
        http: reqwest::Client::new(),
        _daemon: daemon,
    }
}

/// A fixture under tests/fixtures/scim with `{{NAME}}` placeholders filled in.
pub(crate) fn fixture(name: &str, vars: &[(&str, &str)]) -> Value {
    let path = format!("{}/tests/fixtures/scim/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (k, v) in vars {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    serde_json::from_str(&text).unwrap()
}

impl Server {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        content_type: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        if let Some(body) = body {
            req = req.header("content-type", content_type).body(body);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A SCIM call with the bearer scheme and `application/scim+json`.
    pub(crate) async fn scim(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Resp {
        self.scim_with(method, path, token, body, &[]).await
    }

    pub(crate) async fn scim_with(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let auth = format!("Bearer {token}");
        let path = format!("/v1/scim/v2{path}");
        self.send(
            method,
            &path,
            Some(&auth),
            SCIM_JSON,
            body.map(|b| b.to_string()),
            extra,
        )
        .await
    }

    pub(crate) async fn api(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> Resp {
        let auth = format!("Bearer {key}");
        self.send(
            method,
            path,
            Some(&auth),
            "application/json",
            body.map(|b| b.to_string()),
            &[],
        )
        .await
    }

    pub(crate) async fn tenant(&self, id: &str, config: Value) -> Tenant {
        let r = self
            .api(
                Method::POST,
                "/v1/tenants",
                OPERATOR_KEY,
                Some(json!({"name": id, "id": id})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = self
            .api(
                Method::POST,
                &format!("/v1/tenants/{id}/api-keys"),
                OPERATOR_KEY,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let api_key = r.body["key"].as_str().unwrap().to_owned();
        let r = self
            .api(
                Method::POST,
                "/v1/integrations",
                OPERATOR_KEY,
                Some(json!({"type": "scim", "tenant_id": id, "credentials": {}, "config": config})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["scim"]["base_url"], "/v1/scim/v2");
        let scim_token = r.body["scim"]["token"].as_str().unwrap().to_owned();
        assert!(scim_token.starts_with("gh_scim_"));
        Tenant {
            api_key,
            scim_token,
        }
    }

    pub(crate) async fn create(&self, token: &str, kind: &str, body: Value) -> Value {
        let r = self
            .scim(Method::POST, &format!("/{kind}"), token, Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    pub(crate) async fn inventory_user(&self, t: &Tenant, external_id: &str) -> Option<Value> {
        let r = self
            .api(Method::GET, "/v1/users?provider=scim", &t.api_key, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["external_id"] == external_id)
            .cloned()
    }
}

pub(crate) fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
           "name": {"givenName": name.split('@').next().unwrap(), "familyName": "Tester"},
           "emails": [{"value": name, "type": "work", "primary": true}]})
}

pub(crate) fn group(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
           "members": members})
}

pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub(crate) fn assert_scim_error(r: &Resp, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], SCIM_JSON);
    assert_eq!(r.body["schemas"], json!([ERROR_SCHEMA]), "{}", r.body);
    assert_eq!(r.body["status"], json!(status.as_u16().to_string()));
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{}", r.body);
    }
}

pub(crate) fn total(r: &Resp) -> u64 {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["totalResults"].as_u64().unwrap()
}
