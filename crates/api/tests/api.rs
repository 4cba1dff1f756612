//! The management API over real HTTP on an ephemeral port: every tenant and integration route,
//! validation, authentication and isolation, limits, rotation and the operations endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_api::{ApiOptions, AppState, Metrics};
use gatehouse_core::provider::ConnectorRegistry;
use gatehouse_core::{catalog, SystemClock};
use gatehouse_engine::secrets::{MasterKey, Sealer};
use gatehouse_engine::{tokens, Engine, EngineOptions, Gateway, GatewayOptions, Principal};
use gatehouse_store::SledStore;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const OPERATOR_KEY: &str = "gh_op_test-operator-key-0123456789";

struct Server {
    base: String,
    http: reqwest::Client,
    gateway: Arc<Gateway>,
    _dir: tempfile::TempDir,
}

async fn start_with(allow_custom_endpoints: bool, body_limit: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let mut registry = ConnectorRegistry::new();
    for d in catalog::builtin() {
        registry.declare(d);
    }
    let gateway = Arc::new(Gateway::new(
        store,
        Arc::new(registry),
        Sealer::new(&MasterKey::generate()),
        Arc::new(SystemClock),
        GatewayOptions {
            allow_custom_endpoints,
            operator_key_hash: Some(tokens::hash(OPERATOR_KEY)),
        },
    ));
    let options = EngineOptions {
        schedules: false,
        ..EngineOptions::default()
    };
    let engine = Engine::start(Arc::clone(&gateway), options).await.unwrap();
    let state = AppState {
        gateway: Arc::clone(&gateway),
        engine,
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(true)),
    };
    let options = ApiOptions {
        body_limit,
        request_timeout: Duration::from_secs(10),
    };
    let app = gatehouse_api::router(state, &options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum_serve(listener, app).await });
    Server {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        gateway,
        _dir: dir,
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    let _ = axum::serve(listener, app).await;
}

async fn start() -> Server {
    start_with(false, 1024 * 1024).await
}

impl Server {
    async fn call(
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

    async fn op(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(OPERATOR_KEY), body).await
    }

    async fn tenant(&self, id: &str) -> String {
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

    async fn okta(&self, tenant: &str) -> Value {
        let (status, body) = self
            .op(Method::POST, "/v1/integrations", Some(okta_body(tenant)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

fn okta_body(tenant: &str) -> Value {
    json!({"type": "okta", "tenant_id": tenant,
           "credentials": {"domain": "acme.okta.com", "api_token": "00okta-secret-token"},
           "config": {"ingest_users": true, "ingest_system_log": true, "enable_response_actions": true}})
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, field: Option<&str>) {
    assert_eq!(status, expected, "{body}");
    assert!(body["error"]["code"].is_string(), "error shape: {body}");
    assert!(body["error"]["message"].is_string(), "error shape: {body}");
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn a_value_that_does_not_fit_is_a_400_naming_its_field() {
    let s = start().await;
    s.tenant("ten_f").await;
    let user = "usr_01HX0000000000000000000000";
    let cases = [
        ("/v1/tenants", json!({"name": 5}), "name"),
        (
            "/v1/integrations",
            json!({"type": "okta", "tenant_id": "ten_f", "credentials": {}, "config": "x"}),
            "config",
        ),
        (
            "/v1/actions",
            json!({"tenant_id": "ten_f", "user_id": user, "action": "nuke_account"}),
            "action",
        ),
        (
            "/v1/actions",
            json!({"tenant_id": "ten_f", "user_id": user, "action": "revoke_sessions", "dry_run": "no"}),
            "dry_run",
        ),
    ];
    for (path, body, field) in cases {
        let (status, answer) = s.op(Method::POST, path, Some(body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, Some(field));
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.contains(" at line "), "{path}: {message}");
    }
    // A syntax error has no field; where serde stopped is what helps.
    let resp = s
        .http
        .post(format!("{}/v1/tenants", s.base))
        .bearer_auth(OPERATOR_KEY)
        .header("content-type", "application/json")
        .body(r#"{"name": "x"} trailing"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], Value::Null, "{body}");
    for query in ["limit=abc", "limit=-1"] {
        let (status, body) = s
            .op(
                Method::GET,
                &format!("/v1/users?tenant_id=ten_f&{query}"),
                None,
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("limit"));
    }
}

#[tokio::test]
async fn a_cursor_the_list_did_not_give_out_is_a_400() {
    let s = start().await;
    for id in ["ten_p1", "ten_p2", "ten_p3"] {
        s.tenant(id).await;
    }
    let (_, body) = s.op(Method::GET, "/v1/tenants?limit=1", None).await;
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (status, _) = s
        .op(
            Method::GET,
            &format!("/v1/tenants?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A cursor of another list, garbage, and the raw id the old cursors were.
    for bad in [
        format!("/v1/users?tenant_id=ten_p1&cursor={cursor}"),
        "/v1/tenants?cursor=garbage".to_owned(),
        "/v1/tenants?cursor=ten_p1".to_owned(),
        "/v1/signins?tenant_id=ten_p1&cursor=zzzz".to_owned(),
        "/v1/actions?tenant_id=ten_p1&cursor=cur_".to_owned(),
        "/v1/detections?tenant_id=ten_p1&cursor=cur_%25%25".to_owned(),
        "/v1/integrations?tenant_id=ten_p1&cursor=x".to_owned(),
    ] {
        let (status, body) = s.op(Method::GET, &bad, None).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("cursor"));
    }
}

#[tokio::test]
async fn tenants_crud_and_auth() {
    let s = start().await;
    // generated id
    let (status, body) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"name": "Acme"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let generated = body["id"].as_str().unwrap().to_owned();
    assert!(
        generated.starts_with("ten_") && generated.len() == 30,
        "{generated}"
    );
    assert_eq!(body["name"], "Acme");
    // chosen id, duplicate, invalid
    let (status, _) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "B", "id": "ten_b"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "B", "id": "ten_b"})),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, None);
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "C", "id": "bad/id"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("id"));
    let (status, body) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"name": "  "})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("name"));
    let (status, body) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"id": "ten_x"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("name"));
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "X", "colour": "red"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("colour"));
    // auth failures
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/tenants",
            None,
            Some(json!({"name": "X"})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, None);
    let (status, body) = s
        .call(Method::GET, "/v1/tenants", Some("gh_op_wrong"), None)
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, None);
    let tenant_key = s.tenant("ten_c").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/tenants",
            Some(&tenant_key),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, None);
    // read
    let (status, body) = s.op(Method::GET, "/v1/tenants/ten_b", None).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some("B")));
    let (status, body) = s.op(Method::GET, "/v1/tenants/ten_missing", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s
        .call(Method::GET, "/v1/tenants/ten_b", Some(&tenant_key), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s
        .call(Method::GET, "/v1/tenants/ten_c", Some(&tenant_key), None)
        .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::OK, Some("ten_c"))
    );
    // list: paging for the operator, only its own tenant for a tenant key
    let (status, body) = s.op(Method::GET, "/v1/tenants?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (_, body) = s
        .op(
            Method::GET,
            &format!("/v1/tenants?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["next_cursor"], Value::Null);
    let (_, body) = s
        .call(Method::GET, "/v1/tenants", Some(&tenant_key), None)
        .await;
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["ten_c"]);
    // settings
    let settings = json!({"settings": {"protected_accounts": ["breakglass@acme.example"], "max_auto_disables_per_10m": 20}});
    let (status, body) = s
        .call(
            Method::PATCH,
            "/v1/tenants/ten_c",
            Some(&tenant_key),
            Some(settings),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["max_auto_disables_per_10m"], 20);
    let (status, body) = s
        .op(
            Method::PATCH,
            "/v1/tenants/ten_c",
            Some(json!({"settings": {"bogus": 1}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, None);
    // delete: operator only, and it takes the tenant's keys and integrations with it
    s.okta("ten_c").await;
    let (status, body) = s
        .call(Method::DELETE, "/v1/tenants/ten_c", Some(&tenant_key), None)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = s
        .call(Method::DELETE, "/v1/tenants/ten_b", Some(&tenant_key), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, _) = s.op(Method::DELETE, "/v1/tenants/ten_c", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_c", Some(&tenant_key), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the deleted tenant's key no longer works"
    );
    let (status, _) = s.op(Method::DELETE, "/v1/tenants/ten_c", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_keys_are_shown_once_and_revocable() {
    let s = start().await;
    let key = s.tenant("ten_k").await;
    assert!(key.starts_with("gh_tk_"));
    let (status, body) = s
        .call(Method::GET, "/v1/tenants/ten_k/api-keys", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!body.to_string().contains(&key), "keys are never listed");
    let key_id = listed[0]["id"].as_str().unwrap().to_owned();
    // A second key, then revoke the first: it stops working at once.
    let (_, second) = s
        .call(Method::POST, "/v1/tenants/ten_k/api-keys", Some(&key), None)
        .await;
    let second = second["key"].as_str().unwrap().to_owned();
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/tenants/ten_k/api-keys/{key_id}"),
            Some(&second),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_k", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_k", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn integration_create_shows_tokens_once_and_never_credentials() {
    let s = start().await;
    let key = s.tenant("ten_i").await;
    let body = s.okta("ten_i").await;
    assert!(body["id"].as_str().unwrap().starts_with("int_"));
    assert_eq!(body["type"], "okta");
    assert_eq!(body["tenant_id"], "ten_i");
    assert_eq!(body["status"], "active");
    assert!(body["created_at"].is_string());
    assert_eq!(body["config"]["enable_response_actions"], true);
    let token = body["ingest"]["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gh_in_"));
    assert_eq!(
        body["ingest"]["url"],
        format!("/v1/idp/okta?tenant_id=ten_i&token={token}")
    );
    assert!(body.get("credentials").is_none());
    assert!(!body.to_string().contains("00okta-secret-token"));
    let id = body["id"].as_str().unwrap().to_owned();
    let principal = s.gateway.authenticate(&token).await.unwrap();
    assert!(matches!(principal, Some(Principal::Ingest { .. })));

    // GET never shows the token or credentials again
    let (status, got) = s
        .call(
            Method::GET,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(got["ingest"].get("token").is_none());
    assert!(!got.to_string().contains(&token));
    assert!(!got.to_string().contains("00okta-secret-token"));
    assert_eq!(got["sync"]["last_run_at"], Value::Null);

    // scim gets a SCIM token and no ingest; jumpcloud gets neither
    let (status, scim) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "scim", "tenant_id": "ten_i"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{scim}");
    assert!(scim["scim"]["token"]
        .as_str()
        .unwrap()
        .starts_with("gh_scim_"));
    assert_eq!(scim["scim"]["base_url"], "/v1/scim/v2");
    assert!(scim.get("ingest").is_none());
    let (status, jc) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key),
            Some(json!({"type": "jumpcloud", "credentials": {"api_key": "jc-secret"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{jc}");
    assert_eq!(
        jc["tenant_id"], "ten_i",
        "a tenant key defaults to its own tenant"
    );
    assert!(jc.get("ingest").is_none() && jc.get("scim").is_none());

    // list
    let (status, list) = s
        .call(Method::GET, "/v1/integrations", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let (status, list) = s
        .op(
            Method::GET,
            "/v1/integrations?tenant_id=ten_i&limit=2",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(list["next_cursor"].is_string());
    let (status, body) = s.op(Method::GET, "/v1/integrations", None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("tenant_id"));
}

#[tokio::test]
async fn integration_validation_per_type() {
    let s = start().await;
    s.tenant("ten_v").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "okta", "credentials": {"domain": "acme.okta.com"}}),
            "credentials.api_token",
        ),
        (
            json!({"type": "okta", "credentials": {"api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "evil.example.com", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "okta.com.evil.io", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "http://127.0.0.1:9001", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t", "extra": 1}}),
            "credentials.extra",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"ingest_userz": true}}),
            "config.ingest_userz",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"ingest_users": "yes"}}),
            "config.ingest_users",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"disable_mode": "delete"}}),
            "config.disable_mode",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"users_schedule": "hourly"}}),
            "config.users_schedule",
        ),
        (
            json!({"type": "entra", "credentials": {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "c"}}),
            "credentials.client_secret",
        ),
        (
            json!({"type": "entra", "credentials": {"tenant_id": "not a guid!", "client_id": "c", "client_secret": "s"}}),
            "credentials.tenant_id",
        ),
        (
            json!({"type": "entra", "credentials": {"tenant_id": "contoso.onmicrosoft.com", "client_id": "c", "client_secret": "s"}, "config": {"graph_base_url": "http://127.0.0.1:1"}}),
            "config.graph_base_url",
        ),
        (
            json!({"type": "google_workspace", "credentials": {"admin_email": "a@acme.example"}}),
            "credentials.service_account",
        ),
        (
            json!({"type": "google_workspace", "credentials": {"service_account": "{}", "admin_email": "a@acme.example"}}),
            "credentials.service_account",
        ),
        (
            json!({"type": "google_workspace", "credentials": {"service_account": {"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"}, "admin_email": "not-an-email"}}),
            "credentials.admin_email",
        ),
        (
            json!({"type": "jumpcloud", "credentials": {}}),
            "credentials.api_key",
        ),
        (
            json!({"type": "jumpcloud", "credentials": {"api_key": "k"}, "config": {"base_url": "http://127.0.0.1:1"}}),
            "config.base_url",
        ),
        (
            json!({"type": "saml", "credentials": {"idp_entity_id": "e", "idp_certificate": "nope", "attribute_mapping": {}}}),
            "credentials.idp_certificate",
        ),
        (
            json!({"type": "saml", "credentials": {"idp_entity_id": "e", "idp_certificate": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----"}}),
            "credentials.attribute_mapping",
        ),
        (
            json!({"type": "scim", "config": {"deprovision": "shred"}}),
            "config.deprovision",
        ),
        (
            json!({"type": "scim", "credentials": {"token": "x"}}),
            "credentials.token",
        ),
    ];
    for (mut body, field) in cases {
        body["tenant_id"] = json!("ten_v");
        let (status, answer) = s
            .op(Method::POST, "/v1/integrations", Some(body.clone()))
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, Some(field));
        // No error message echoes a submitted secret.
        assert!(
            !answer.to_string().contains("\"t\"")
                && !answer.to_string().contains("client_secret\":\"s")
        );
    }
    // Unknown type lists the supported ones.
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "ldap", "tenant_id": "ten_v"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("type"));
    let message = body["error"]["message"].as_str().unwrap();
    for t in [
        "okta",
        "entra",
        "google_workspace",
        "jumpcloud",
        "saml",
        "scim",
    ] {
        assert!(message.contains(t), "{message}");
    }
    // Unknown top-level field, wrong JSON, wrong content type.
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "scim", "tenant_id": "ten_v", "x": 1})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("x"));
    let resp = s
        .http
        .post(format!("{}/v1/integrations", s.base))
        .bearer_auth(OPERATOR_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = s
        .http
        .post(format!("{}/v1/integrations", s.base))
        .bearer_auth(OPERATOR_KEY)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    // Missing tenant.
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(okta_body("ten_nope")),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    // Valid ones of every type.
    let pem = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
    let valid = [
        json!({"type": "entra", "credentials": {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "c", "client_secret": "s"}}),
        json!({"type": "google_workspace", "credentials": {"service_account": {"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----"}, "admin_email": "admin@acme.example"}}),
        json!({"type": "saml", "credentials": {"idp_entity_id": "https://idp.example/e", "idp_certificate": pem, "attribute_mapping": {"email": "mail"}}}),
        json!({"type": "okta", "credentials": {"domain": "acme.oktapreview.com", "api_token": "t"}, "config": {"users_schedule": "0 0 * * * *", "disable_mode": "deactivate", "rate_limit_share": 0.3}}),
    ];
    for mut body in valid {
        body["tenant_id"] = json!("ten_v");
        let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
}

#[tokio::test]
async fn custom_endpoints_only_when_allowed() {
    let s = start_with(true, 1024 * 1024).await;
    s.tenant("ten_sim").await;
    let body = json!({"type": "okta", "tenant_id": "ten_sim", "credentials": {"domain": "http://127.0.0.1:9001", "api_token": "t"}});
    let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let body = json!({"type": "jumpcloud", "tenant_id": "ten_sim", "credentials": {"api_key": "k"}, "config": {"base_url": "http://127.0.0.1:9004"}});
    let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let body = json!({"type": "okta", "tenant_id": "ten_sim", "credentials": {"domain": "file:///etc/passwd", "api_token": "t"}});
    let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("credentials.domain"),
    );
}

#[tokio::test]
async fn tenant_keys_never_reach_another_tenant() {
    let s = start().await;
    let key_a = s.tenant("ten_a").await;
    s.tenant("ten_b").await;
    let b = s.okta("ten_b").await;
    let b_id = b["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/v1/integrations/{b_id}")),
        (Method::PATCH, format!("/v1/integrations/{b_id}")),
        (Method::DELETE, format!("/v1/integrations/{b_id}")),
        (Method::POST, format!("/v1/integrations/{b_id}/test")),
        (Method::POST, format!("/v1/integrations/{b_id}/sync")),
        (
            Method::POST,
            format!("/v1/integrations/{b_id}/ingest-token"),
        ),
        (Method::POST, format!("/v1/integrations/{b_id}/scim-token")),
        (Method::GET, "/v1/integrations?tenant_id=ten_b".to_owned()),
        (Method::GET, "/v1/tenants/ten_b".to_owned()),
        (Method::PATCH, "/v1/tenants/ten_b".to_owned()),
        (Method::POST, "/v1/tenants/ten_b/api-keys".to_owned()),
        (Method::GET, "/v1/tenants/ten_b/api-keys".to_owned()),
    ] {
        let body = (method == Method::PATCH).then(|| json!({}));
        let (status, answer) = s.call(method.clone(), &path, Some(&key_a), body).await;
        assert_error(status, &answer, StatusCode::NOT_FOUND, None);
        assert!(
            !answer.to_string().contains("ten_b\","),
            "{method} {path}: {answer}"
        );
    }
    let (status, answer) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key_a),
            Some(okta_body("ten_b")),
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, None);
    // b's integration is untouched
    let (status, _) = s
        .op(Method::GET, &format!("/v1/integrations/{b_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // An ingest token is no API key.
    let ingest = b["ingest"]["token"].as_str().unwrap();
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_b", Some(ingest), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn patch_delete_test_sync_and_rotation() {
    let s = start().await;
    let key = s.tenant("ten_p").await;
    let created = s.okta("ten_p").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let old_token = created["ingest"]["token"].as_str().unwrap().to_owned();
    // config change: set and remove keys, invalid values refused
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"config": {"disable_mode": "deactivate", "ingest_system_log": null}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["disable_mode"], "deactivate");
    assert!(body["config"].get("ingest_system_log").is_none());
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"config": {"nope": 1}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("config.nope"));
    // credential rotation: validated, never echoed
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"credentials": {"domain": "evil.example"}})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("credentials.domain"),
    );
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"credentials": {"api_token": "00rotated-secret"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains("00rotated-secret"));
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"credentials": {"api_token": null}})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("credentials.api_token"),
    );
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("disabled"))
    );
    // /test and /sync: 501 with a clear message while no connector is registered
    for action in ["test", "sync"] {
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/v1/integrations/{id}/{action}"),
                Some(&key),
                None,
            )
            .await;
        assert_error(status, &body, StatusCode::NOT_IMPLEMENTED, None);
        assert!(
            body["error"]["message"].as_str().unwrap().contains("okta"),
            "{body}"
        );
    }
    // ingest token rotation: the old one fails at once, the new one works
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/integrations/{id}/ingest-token"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_token = body["ingest"]["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, old_token);
    assert!(s.gateway.authenticate(&old_token).await.unwrap().is_none());
    assert!(matches!(
        s.gateway.authenticate(&new_token).await.unwrap(),
        Some(Principal::Ingest { .. })
    ));
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/integrations/{id}/scim-token"),
            Some(&key),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, None);
    // scim token rotation
    let (_, scim) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key),
            Some(json!({"type": "scim"})),
        )
        .await;
    let scim_id = scim["id"].as_str().unwrap();
    let old_scim = scim["scim"]["token"].as_str().unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/integrations/{scim_id}/scim-token"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_scim = body["scim"]["token"].as_str().unwrap();
    assert!(s.gateway.authenticate(old_scim).await.unwrap().is_none());
    assert!(matches!(
        s.gateway.authenticate(new_scim).await.unwrap(),
        Some(Principal::Scim { .. })
    ));
    // delete: the integration and its token are gone
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(s.gateway.authenticate(&new_token).await.unwrap().is_none());
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(Method::GET, "/v1/integrations/not-an-id!", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn body_limit_answers_413_in_the_error_shape() {
    let s = start_with(false, 4096).await;
    let big = json!({"name": "x".repeat(5000)});
    let (status, body) = s.op(Method::POST, "/v1/tenants", Some(big)).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, None);
    let (status, _) = s
        .op(Method::POST, "/v1/tenants", Some(json!({"name": "fits"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn operations_endpoints() {
    let s = start().await;
    s.tenant("ten_ops").await;
    let (status, body) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    let resp = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(
            r#"gatehouse_http_requests_total{route="/v1/tenants",method="POST",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("gatehouse_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("gatehouse_store_size_bytes "), "{text}");
    assert!(
        text.contains("gatehouse_risk_unassessed_signins 0"),
        "{text}"
    );
    let (status, doc) = s.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/tenants",
        "/v1/tenants/{id}",
        "/v1/tenants/{id}/api-keys",
        "/v1/integrations",
        "/v1/integrations/{id}",
        "/v1/integrations/{id}/test",
        "/v1/integrations/{id}/sync",
        "/v1/integrations/{id}/ingest-token",
        "/v1/integrations/{id}/scim-token",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/scim/v2/Users",
        "/v1/scim/v2/Groups/{id}",
        "/v1/scim/v2/Bulk",
        "/v1/scim/oauth/token",
        "/v1/policies",
        "/v1/detections",
        "/v1/actions/{id}/approve",
        "/v1/backtest",
        "/v1/users",
        "/v1/signins",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    // request ids: generated, or propagated from the caller
    let resp = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    let resp = s
        .http
        .get(format!("{}/healthz", s.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    // unknown routes and methods answer in the error shape
    let (status, body) = s.call(Method::GET, "/v1/nope", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s.op(Method::PUT, "/v1/tenants", None).await;
    assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, None);
}

#[tokio::test]
async fn push_ingest_authenticates_its_token() {
    let s = start().await;
    s.tenant("ten_push").await;
    let created = s.okta("ten_push").await;
    let token = created["ingest"]["token"].as_str().unwrap().to_owned();
    let url = created["ingest"]["url"].as_str().unwrap().to_owned();
    let post = |path: String, auth: Option<String>| {
        let mut req = s
            .http
            .post(format!("{}{path}", s.base))
            .json(&json!({"data": {"events": []}}));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req.send()
    };
    let status = |r: reqwest::Response| r.status();
    // Authenticated (URL token, Bearer header, or the bare header value Okta sends): the decoder
    // for okta lands with its connector, until then 501.
    assert_eq!(
        status(post(url.clone(), None).await.unwrap()),
        StatusCode::NOT_IMPLEMENTED
    );
    assert_eq!(
        status(
            post("/v1/idp/okta".into(), Some(format!("Bearer {token}")))
                .await
                .unwrap()
        ),
        StatusCode::NOT_IMPLEMENTED
    );
    assert_eq!(
        status(
            post("/v1/idp/okta".into(), Some(token.clone()))
                .await
                .unwrap()
        ),
        StatusCode::NOT_IMPLEMENTED
    );
    // Not authenticated.
    assert_eq!(
        status(post("/v1/idp/okta".into(), None).await.unwrap()),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            post("/v1/idp/okta?token=gh_in_forged".into(), None)
                .await
                .unwrap()
        ),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            post(
                format!("/v1/idp/okta?tenant_id=ten_other&token={token}"),
                None
            )
            .await
            .unwrap()
        ),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            post(
                "/v1/idp/okta".into(),
                Some(format!("Bearer {OPERATOR_KEY}"))
            )
            .await
            .unwrap()
        ),
        StatusCode::UNAUTHORIZED
    );
    // The token of an okta integration opens no other provider's endpoint.
    assert_eq!(
        status(
            post(format!("/v1/idp/entra?token={token}"), None)
                .await
                .unwrap()
        ),
        StatusCode::NOT_FOUND
    );
    // After rotation the old token fails at once.
    let id = created["id"].as_str().unwrap();
    let (_, rotated) = s
        .op(
            Method::POST,
            &format!("/v1/integrations/{id}/ingest-token"),
            None,
        )
        .await;
    assert_eq!(
        status(post(url, None).await.unwrap()),
        StatusCode::UNAUTHORIZED
    );
    let new_url = rotated["ingest"]["url"].as_str().unwrap().to_owned();
    assert_eq!(
        status(post(new_url, None).await.unwrap()),
        StatusCode::NOT_IMPLEMENTED
    );
}

mod inventory {
    use super::*;
    use chrono::{TimeZone, Utc};
    use gatehouse_core::model::{Identity, Outcome, SignInEvent, User, UserStatus};
    use gatehouse_core::{IdentityId, IntegrationId, SignInId, TenantId, UserId};

    fn user(tenant: &str, integration: &str, n: u32, status: UserStatus) -> User {
        User {
            id: UserId::parse(&format!("usr_{tenant}_{n}")).unwrap(),
            tenant_id: TenantId::parse(tenant).unwrap(),
            integration_id: IntegrationId::parse(integration).unwrap(),
            provider: "okta".into(),
            external_id: format!("00u{n}"),
            login: format!("user{n}@{tenant}.example"),
            email: Some(format!("user{n}@{tenant}.example")),
            emails: vec![],
            display_name: Some(format!("User Number{n}")),
            given_name: None,
            family_name: None,
            status,
            status_flags: vec![],
            department: None,
            title: None,
            manager: None,
            groups: vec![],
            mfa_enrolled: Some(n.is_multiple_of(2)),
            mfa_factors: vec![],
            is_admin: false,
            identity_id: Some(IdentityId::parse(&format!("idn_{tenant}_{n}")).unwrap()),
            risk_score: 0,
            created_at: None,
            last_login_at: None,
            updated_at: None,
            synced_at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
            raw: Some(json!({"id": format!("00u{n}")})),
        }
    }

    fn signin(u: &User, event: &str, minute: i64, outcome: Outcome) -> SignInEvent {
        let time = Utc.timestamp_opt(1_780_000_000 + minute * 60, 0).unwrap();
        SignInEvent {
            id: SignInId::derive(time, &[u.integration_id.as_str(), event]),
            tenant_id: u.tenant_id.clone(),
            integration_id: u.integration_id.clone(),
            provider: "okta".into(),
            provider_event_id: event.into(),
            time,
            category: Default::default(),
            event_type: "user.session.start".into(),
            user_id: Some(u.id.clone()),
            external_user_id: Some(u.external_id.clone()),
            login: Some(u.login.clone()),
            outcome,
            reason: None,
            ip: Some("203.0.113.5".into()),
            country: Some("Ireland".into()),
            city: Some("Dublin".into()),
            latitude: None,
            longitude: None,
            asn: None,
            user_agent: Some("curl".into()),
            device: None,
            mfa_factor: None,
            session_id: Some("idx1".into()),
            is_proxy: None,
            provider_risk: None,
            raw: Some(json!({"uuid": event}).into()),
        }
    }

    /// Two tenants with accounts, an identity and sign-ins written straight into the store.
    async fn seeded() -> (Server, String, String, Vec<User>) {
        let s = start().await;
        let key_a = s.tenant("ten_a").await;
        let key_b = s.tenant("ten_b").await;
        let int_a = s.okta("ten_a").await["id"].as_str().unwrap().to_owned();
        let int_b = s.okta("ten_b").await["id"].as_str().unwrap().to_owned();
        let store = s.gateway.store();
        let statuses = [
            UserStatus::Active,
            UserStatus::Suspended,
            UserStatus::Deprovisioned,
            UserStatus::Active,
        ];
        let users_a: Vec<User> = (0..4)
            .map(|n| user("ten_a", &int_a, n, statuses[n as usize]))
            .collect();
        store
            .upsert_users(&users_a[0].tenant_id, &users_a)
            .await
            .unwrap();
        let users_b = vec![user("ten_b", &int_b, 0, UserStatus::Active)];
        store
            .upsert_users(&users_b[0].tenant_id, &users_b)
            .await
            .unwrap();
        store
            .put_identity(&Identity {
                id: users_a[0].identity_id.clone().unwrap(),
                tenant_id: users_a[0].tenant_id.clone(),
                emails: vec![users_a[0].email.clone().unwrap()],
                display_name: None,
                accounts: vec![users_a[0].id.clone()],
                risk_score: 0,
                created_at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
                updated_at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
            })
            .await
            .unwrap();
        let events = vec![
            signin(&users_a[0], "e1", 0, Outcome::Failure),
            signin(&users_a[0], "e2", 10, Outcome::Success),
            signin(&users_a[1], "e3", 20, Outcome::Failure),
        ];
        store
            .insert_signins(&users_a[0].tenant_id, &events)
            .await
            .unwrap();
        store
            .insert_signins(
                &users_b[0].tenant_id,
                &[signin(&users_b[0], "eb", 5, Outcome::Success)],
            )
            .await
            .unwrap();
        (s, key_a, key_b, users_a)
    }

    #[tokio::test]
    async fn users_list_filters_page_and_stay_in_their_tenant() {
        let (s, key_a, key_b, users) = seeded().await;
        let (status, body) = s.call(Method::GET, "/v1/users", Some(&key_a), None).await;
        assert_eq!(status, StatusCode::OK);
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 4);
        for field in [
            "id",
            "tenant_id",
            "integration_id",
            "provider",
            "external_id",
            "login",
            "email",
            "display_name",
            "status",
            "mfa_enrolled",
            "last_login_at",
            "updated_at",
            "identity_id",
        ] {
            assert!(data[0].get(field).is_some(), "users carry {field}");
        }
        assert!(
            data[0].get("raw").is_none(),
            "lists leave out the raw record"
        );
        let count = |body: &Value| body["data"].as_array().unwrap().len();
        for (query, expected) in [
            ("status=suspended", 1),
            ("status=active", 2),
            ("provider=okta", 4),
            ("provider=entra", 0),
            ("email=USER2@ten_a.example", 1),
            ("q=number3", 1),
            ("limit=3", 3),
        ] {
            let (status, body) = s
                .call(
                    Method::GET,
                    &format!("/v1/users?{query}"),
                    Some(&key_a),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{query}");
            assert_eq!(count(&body), expected, "{query}: {body}");
        }
        let (_, page) = s
            .call(Method::GET, "/v1/users?limit=3", Some(&key_a), None)
            .await;
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, rest) = s
            .call(
                Method::GET,
                &format!("/v1/users?limit=3&cursor={cursor}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(count(&rest), 1);
        let (status, body) = s
            .call(Method::GET, "/v1/users?status=zombie", Some(&key_a), None)
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("status"));
        let (status, body) = s
            .call(Method::GET, "/v1/users?tenant_id=ten_a", Some(&key_b), None)
            .await;
        assert_error(status, &body, StatusCode::NOT_FOUND, None);
        let (status, body) = s.op(Method::GET, "/v1/users", None).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("tenant_id"));
        let (_, body) = s.op(Method::GET, "/v1/users?tenant_id=ten_b", None).await;
        assert_eq!(count(&body), 1);

        // One user: with the raw record; another tenant's key gets 404; the operator finds it by id.
        let id = users[0].id.as_str();
        let (status, body) = s
            .call(Method::GET, &format!("/v1/users/{id}"), Some(&key_a), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["raw"]["id"], "00u0");
        let (status, _) = s
            .call(Method::GET, &format!("/v1/users/{id}"), Some(&key_b), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = s.op(Method::GET, &format!("/v1/users/{id}"), None).await;
        assert_eq!(
            (status, body["tenant_id"].as_str()),
            (StatusCode::OK, Some("ten_a"))
        );

        // The identity and its accounts.
        let identity = users[0].identity_id.as_ref().unwrap().as_str();
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/v1/identities/{identity}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["users"].as_array().unwrap().len(), 1);
        assert_eq!(body["users"][0]["id"], id);
        let (status, _) = s
            .call(
                Method::GET,
                &format!("/v1/identities/{identity}"),
                Some(&key_b),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn signins_filter_by_user_outcome_and_time() {
        let (s, key_a, key_b, users) = seeded().await;
        let count = |body: &Value| body["data"].as_array().unwrap().len();
        let (status, body) = s.call(Method::GET, "/v1/signins", Some(&key_a), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(count(&body), 3);
        let first = &body["data"][0];
        for field in [
            "id",
            "tenant_id",
            "integration_id",
            "provider",
            "provider_event_id",
            "time",
            "user_id",
            "login",
            "outcome",
            "reason",
            "ip",
            "country",
            "city",
            "user_agent",
            "mfa_factor",
            "session_id",
        ] {
            assert!(first.get(field).is_some(), "sign-ins carry {field}");
        }
        let user0 = users[0].id.as_str();
        for (query, expected) in [
            (format!("user_id={user0}"), 2),
            ("outcome=failure".to_owned(), 2),
            ("outcome=success".to_owned(), 1),
            ("since=2026-05-28T20:36:00Z".to_owned(), 2),
            ("until=2026-05-28T20:36:00Z".to_owned(), 1),
        ] {
            let (status, body) = s
                .call(
                    Method::GET,
                    &format!("/v1/signins?{query}"),
                    Some(&key_a),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{query}");
            assert_eq!(count(&body), expected, "{query}: {body}");
        }
        let (status, body) = s
            .call(
                Method::GET,
                "/v1/signins?since=yesterday",
                Some(&key_a),
                None,
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("since"));
        let (status, body) = s
            .call(Method::GET, "/v1/signins?outcome=maybe", Some(&key_a), None)
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("outcome"));
        let (_, body) = s.call(Method::GET, "/v1/signins", Some(&key_b), None).await;
        assert_eq!(count(&body), 1, "tenant b sees only its own");
    }

    #[tokio::test]
    async fn actions_are_queued_listed_and_isolated() {
        let (s, key_a, key_b, users) = seeded().await;
        let user = users[0].id.as_str();
        let (status, body) = s
            .call(
                Method::POST,
                "/v1/actions",
                Some(&key_a),
                Some(json!({"user_id": user, "action": "revoke_sessions", "reason": "test"})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["status"], "pending");
        assert_eq!(body["action"], "revoke_sessions");
        assert_eq!(body["attempts"], 0);
        assert!(body["requested_by"].as_str().unwrap().contains("ten_a"));
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/v1/actions/{id}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["id"], id);
        let (status, _) = s
            .call(
                Method::GET,
                &format!("/v1/actions/{id}"),
                Some(&key_b),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = s.call(Method::GET, "/v1/actions", Some(&key_a), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        // Validation.
        let (status, body) = s
            .call(
                Method::POST,
                "/v1/actions",
                Some(&key_a),
                Some(json!({"user_id": user, "action": "delete_everything"})),
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, None);
        let (status, body) = s
            .call(
                Method::POST,
                "/v1/actions",
                Some(&key_b),
                Some(json!({"user_id": user, "action": "disable_account"})),
            )
            .await;
        assert_error(status, &body, StatusCode::NOT_FOUND, None);
        let (status, body) = s
            .call(
                Method::POST,
                "/v1/actions",
                Some(&key_a),
                Some(json!({"user_id": "usr_nobody", "action": "disable_account"})),
            )
            .await;
        assert_error(status, &body, StatusCode::NOT_FOUND, None);
    }
}

#[tokio::test]
async fn policies_crud_validation_and_isolation() {
    let s = start().await;
    let key_a = s.tenant("ten_pa").await;
    let key_b = s.tenant("ten_pb").await;
    let body = json!({"name": "contain account takeover",
        "when": {"kinds": ["brute_force", "mfa_fatigue"], "min_severity": "medium", "providers": ["okta"]},
        "then": ["revoke_sessions", "disable_account"], "mode": "auto", "scope": "account"});
    let (status, created) = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&key_a),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("pol_"));
    assert_eq!(created["mode"], "auto");
    assert_eq!(created["when"]["min_severity"], "medium");
    for (patch, field) in [
        (json!({"when": {"kinds": ["sneezing"]}}), "when.kinds"),
        (
            json!({"when": {"providers": ["myspace"]}}),
            "when.providers",
        ),
        (json!({"then": []}), "then"),
        (json!({"name": ""}), "name"),
    ] {
        let mut bad = body.clone();
        for (k, v) in patch.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let (status, answer) = s
            .call(Method::POST, "/v1/policies", Some(&key_a), Some(bad))
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, Some(field));
    }
    let mut bad = body.clone();
    bad["mode"] = json!("yolo");
    let (status, answer) = s
        .call(Method::POST, "/v1/policies", Some(&key_a), Some(bad))
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, None);

    let (status, list) = s
        .call(Method::GET, "/v1/policies", Some(&key_a), None)
        .await;
    assert_eq!(
        (status, list["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (_, list) = s
        .call(Method::GET, "/v1/policies", Some(&key_b), None)
        .await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/policies/{id}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, got) = s.op(Method::GET, &format!("/v1/policies/{id}"), None).await;
    assert_eq!(
        (status, got["tenant_id"].as_str()),
        (StatusCode::OK, Some("ten_pa"))
    );

    let mut replaced = body.clone();
    replaced["mode"] = json!("approval");
    replaced["scope"] = json!("identity");
    let (status, got) = s
        .call(
            Method::PUT,
            &format!("/v1/policies/{id}"),
            Some(&key_a),
            Some(replaced.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        (got["mode"].as_str(), got["scope"].as_str()),
        (Some("approval"), Some("identity"))
    );
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/v1/policies/{id}"),
            Some(&key_b),
            Some(replaced),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/policies/{id}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/policies/{id}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/policies/{id}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Approval routes: unknown → 404; detections list answers in the list shape.
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/actions/act_nope/approve",
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = s
        .call(
            Method::GET,
            "/v1/detections?severity=high",
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(
        (status, list["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/detections?since=never",
            Some(&key_a),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("since"));
}

#[tokio::test]
async fn scim_oauth_client_credentials_issue_short_lived_tokens() {
    let s = start().await;
    s.tenant("ten_oauth").await;
    let (status, created) = s
        .op(Method::POST, "/v1/integrations", Some(json!({"type": "scim", "tenant_id": "ten_oauth",
            "credentials": {"oauth_client_id": "entra-client", "oauth_client_secret": "s3cret-value"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(!created.to_string().contains("s3cret-value"));
    let form = |pairs: &[(&str, &str)]| {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.http
            .post(format!("{}/v1/scim/oauth/token", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
    };
    let resp = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "entra-client"),
        ("client_secret", "s3cret-value"),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gh_scim_"));
    let users = s
        .http
        .get(format!("{}/v1/scim/v2/Users", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        users.status(),
        StatusCode::OK,
        "the access token works for SCIM"
    );
    // HTTP Basic client authentication works too.
    let basic = s
        .http
        .post(format!("{}/v1/scim/oauth/token", s.base))
        .basic_auth("entra-client", Some("s3cret-value"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    // Refusals in RFC 6749's shape.
    for (pairs, status, error) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "entra-client"),
                ("client_secret", "wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "s3cret-value"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "entra-client"),
                ("client_secret", "s3cret-value"),
            ],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
    ] {
        let resp = form(&pairs).send().await.unwrap();
        assert_eq!(resp.status(), status, "{pairs:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], error, "{pairs:?}");
    }
    // The token is not an API key.
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_oauth", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scim_custom_extension_schemas_per_integration() {
    let s = start().await;
    s.tenant("ten_ext").await;
    const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let schemas = json!([{"id": ACME, "name": "AcmeUser", "attributes": [
        {"name": "badgeNumber", "type": "string", "multiValued": false, "required": false,
         "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"}]}]);
    let (status, body) = s
        .op(Method::POST, "/v1/integrations", Some(json!({"type": "scim", "tenant_id": "ten_ext",
            "config": {"custom_schemas": [{"id": ACME, "attributes": [{"name": "x", "type": "no-such-type"}]}]}})))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("config.custom_schemas"),
    );
    let (status, created) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "scim", "tenant_id": "ten_ext",
            "config": {"custom_schemas": schemas}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["scim"]["token"].as_str().unwrap().to_owned();
    let scim = |method: Method, path: &str, body: Option<Value>| {
        let mut req = s
            .http
            .request(method, format!("{}/v1/scim/v2{path}", s.base))
            .bearer_auth(&token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        req.send()
    };
    let served: Value = scim(Method::GET, "/Schemas", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        served.to_string().contains(ACME),
        "the extension is served: {served}"
    );
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
        "userName": "badge@acme.example", ACME: {"badgeNumber": "B-1701", "profileField_floor": "7"}});
    let resp = scim(Method::POST, "/Users", Some(user)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created[ACME]["badgeNumber"], "B-1701");
    assert_eq!(
        created[ACME]["profileField_floor"], "7",
        "undeclared attributes of a declared extension are kept"
    );
    let id = created["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": format!("{ACME}:badgeNumber"), "value": "B-2000"}]});
    let patched: Value = scim(Method::PATCH, &format!("/Users/{id}"), Some(patch))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched[ACME]["badgeNumber"], "B-2000", "{patched}");
}

/// The `path` of every request span the subscriber saw enabled.
#[derive(Clone, Default)]
struct RequestSpans(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RequestSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Path(Option<String>);
        impl tracing::field::Visit for Path {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "path" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "path" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        if attrs.metadata().name() == "request" {
            let mut path = Path(None);
            attrs.record(&mut path);
            self.0.lock().unwrap().extend(path.0);
        }
    }
}

#[tokio::test]
async fn push_deliveries_get_no_request_span_at_info_level_and_other_routes_do() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let spans = RequestSpans::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(spans.clone());
    // nextest runs each test in its own process, so the global subscriber is this test's.
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return;
    }
    let s = start().await;
    let (status, _) = s.op(Method::GET, "/v1/tenants/ten_spans", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/idp/okta?token=nope",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let seen = spans.0.lock().unwrap().clone();
    assert!(
        seen.iter().any(|p| p == "/v1/tenants/ten_spans"),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|p| p.starts_with("/v1/idp/")), "{seen:?}");
}
