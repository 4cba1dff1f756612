//! The SCIM 2.0 service provider over real HTTP on an ephemeral port: discovery, Users and
//! Groups, filters and indexes, ETags, content types, both auth schemes, the request sequences
//! Microsoft Entra ID and Okta send, Bulk, tenant isolation and the inventory rows SCIM feeds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_api::{ApiOptions, AppState, Metrics};
use gatehouse_core::provider::ConnectorRegistry;
use gatehouse_core::{catalog, SystemClock};
use gatehouse_engine::secrets::{MasterKey, Sealer};
use gatehouse_engine::{tokens, Engine, EngineOptions, Gateway, GatewayOptions};
use gatehouse_store::SledStore;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[path = "scim/uniqueness.rs"]
mod uniqueness;

const OPERATOR_KEY: &str = "gh_op_test-operator-key-0123456789";
const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct Server {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// A tenant with an API key and one SCIM integration.
struct Tenant {
    api_key: String,
    scim_token: String,
}

async fn start() -> Server {
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
            allow_custom_endpoints: false,
            operator_key_hash: Some(tokens::hash(OPERATOR_KEY)),
        },
    ));
    let options = EngineOptions {
        schedules: false,
        ..EngineOptions::default()
    };
    let engine = Engine::start(Arc::clone(&gateway), options).await.unwrap();
    let state = AppState {
        gateway,
        engine,
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(true)),
    };
    let options = ApiOptions {
        body_limit: 1024 * 1024,
        request_timeout: Duration::from_secs(10),
    };
    let app = gatehouse_api::router(state, &options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

/// A fixture under tests/fixtures/scim with `{{NAME}}` placeholders filled in.
fn fixture(name: &str, vars: &[(&str, &str)]) -> Value {
    let path = format!("{}/tests/fixtures/scim/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (k, v) in vars {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    serde_json::from_str(&text).unwrap()
}

impl Server {
    async fn send(
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
    async fn scim(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
        self.scim_with(method, path, token, body, &[]).await
    }

    async fn scim_with(
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

    async fn api(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Resp {
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

    async fn tenant(&self, id: &str, config: Value) -> Tenant {
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

    async fn create(&self, token: &str, kind: &str, body: Value) -> Value {
        let r = self
            .scim(Method::POST, &format!("/{kind}"), token, Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    async fn inventory_user(&self, t: &Tenant, external_id: &str) -> Option<Value> {
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

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
           "name": {"givenName": name.split('@').next().unwrap(), "familyName": "Tester"},
           "emails": [{"value": name, "type": "work", "primary": true}]})
}

fn group(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
           "members": members})
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn assert_scim_error(r: &Resp, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], SCIM_JSON);
    assert_eq!(r.body["schemas"], json!([ERROR_SCHEMA]), "{}", r.body);
    assert_eq!(r.body["status"], json!(status.as_u16().to_string()));
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{}", r.body);
    }
}

fn total(r: &Resp) -> u64 {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["totalResults"].as_u64().unwrap()
}

#[tokio::test]
async fn discovery_documents_and_method_errors() {
    let s = start().await;
    let t = s.tenant("ten_disc", json!({})).await;
    let tok = &t.scim_token;

    let r = s
        .scim(Method::GET, "/ServiceProviderConfig", tok, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], SCIM_JSON);
    assert_eq!(r.body["patch"]["supported"], true);
    assert_eq!(r.body["bulk"]["supported"], true);
    assert!(r.body["bulk"]["maxOperations"].as_u64().unwrap() > 0);
    assert!(r.body["bulk"]["maxPayloadSize"].as_u64().unwrap() > 0);
    assert_eq!(r.body["etag"]["supported"], true);

    let r = s.scim(Method::GET, "/Schemas", tok, None).await;
    assert!(total(&r) >= 3);
    let r = s
        .scim(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            tok,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let r = s.scim(Method::GET, "/Schemas/urn:nope", tok, None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);

    let r = s.scim(Method::GET, "/ResourceTypes", tok, None).await;
    assert_eq!(total(&r), 2);
    let r = s.scim(Method::GET, "/ResourceTypes/Group", tok, None).await;
    assert_eq!(r.body["endpoint"], "/Groups");
    assert!(r.body["meta"]["location"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));

    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
        "/ResourceTypes/User",
    ] {
        let r = s.scim(Method::POST, path, tok, Some(json!({}))).await;
        assert_scim_error(&r, StatusCode::METHOD_NOT_ALLOWED, None);
        let r = s.scim(Method::DELETE, path, tok, None).await;
        assert_scim_error(&r, StatusCode::METHOD_NOT_ALLOWED, None);
    }
    let r = s.scim(Method::GET, "/Nothing", tok, None).await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn authentication_schemes_and_refusals() {
    let s = start().await;
    let t = s.tenant("ten_auth", json!({})).await;
    for scheme in ["Bearer", "bearer", "apikey", "ApiKey", "APIKEY"] {
        let auth = format!("{scheme} {}", t.scim_token);
        let r = s
            .send(
                Method::GET,
                "/v1/scim/v2/Users",
                Some(&auth),
                SCIM_JSON,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.body);
    }
    let bad = [
        None,
        Some("Bearer gh_scim_wrong".to_owned()),
        Some(format!("Basic {}", t.scim_token)),
        Some(format!("Bearer {}", t.api_key)),
        Some(format!("Bearer {OPERATOR_KEY}")),
    ];
    for auth in bad {
        let r = s
            .send(
                Method::GET,
                "/v1/scim/v2/Users",
                auth.as_deref(),
                SCIM_JSON,
                None,
                &[],
            )
            .await;
        assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    }
    // The SCIM token does not open the management API.
    let r = s.api(Method::GET, "/v1/users", &t.scim_token, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn users_crud_uniqueness_etags_and_content_types() {
    let s = start().await;
    let t = s.tenant("ten_users", json!({})).await;
    let tok = &t.scim_token;

    let r = s
        .scim_with(
            Method::POST,
            "/Users",
            tok,
            Some(user("alice@example.com")),
            &[("host", "gh.example:8443"), ("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let alice = r.body.clone();
    let alice_id = id(&alice);
    let location = format!("https://gh.example:8443/v1/scim/v2/Users/{alice_id}");
    assert_eq!(r.headers["location"], location.as_str());
    assert_eq!(alice["meta"]["location"], location);
    assert_eq!(alice["meta"]["resourceType"], "User");
    assert_eq!(
        r.headers["etag"],
        alice["meta"]["version"].as_str().unwrap()
    );
    assert_eq!(r.headers["content-type"], SCIM_JSON);

    // userName is unique, case-insensitively.
    let r = s
        .scim(Method::POST, "/Users", tok, Some(user("ALICE@example.COM")))
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));

    // Read, with projection and conditional GET.
    let r = s
        .scim(Method::GET, &format!("/Users/{alice_id}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["userName"], "alice@example.com");
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let r = s
        .scim_with(
            Method::GET,
            &format!("/Users/{alice_id}"),
            tok,
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = s
        .scim(
            Method::GET,
            &format!("/Users/{alice_id}?attributes=userName"),
            tok,
            None,
        )
        .await;
    assert_eq!(r.body["userName"], "alice@example.com");
    assert_eq!(r.body["id"], alice_id.as_str());
    assert!(r.body.get("emails").is_none(), "{}", r.body);

    s.create(tok, "Users", user("bob@example.com")).await;
    s.create(tok, "Users", user("carol@example.com")).await;

    // Lists: everything, an indexed equality (case-insensitive), a filter without an index,
    // sorting and paging.
    let r = s.scim(Method::GET, "/Users", tok, None).await;
    assert_eq!(total(&r), 3);
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22BOB@example.com%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["userName"], "bob@example.com");
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=name.givenName%20sw%20%22c%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["userName"], "carol@example.com");
    let r = s
        .scim(
            Method::GET,
            "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 3);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "bob@example.com");
    let r = s
        .scim(Method::GET, "/Users?startIndex=3&count=5", tok, None)
        .await;
    assert_eq!(total(&r), 3);
    assert_eq!(r.body["itemsPerPage"], 1);
    let r = s
        .scim(
            Method::POST,
            "/Users/.search",
            tok,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "emails.value co \"alice\"", "attributes": ["userName"]}),
            ),
        )
        .await;
    assert_eq!(total(&r), 1);
    assert!(r.body["Resources"][0].get("emails").is_none());
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName%20xx%20%22a%22",
            tok,
            None,
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidFilter"));

    // PUT with a stale If-Match is 412; with the current one it replaces.
    let mut put = user("alice@example.com");
    put["displayName"] = json!("Alice A");
    let r = s
        .scim_with(
            Method::PUT,
            &format!("/Users/{alice_id}"),
            tok,
            Some(put.clone()),
            &[("if-match", "W/\"0000\"")],
        )
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let r = s
        .scim_with(
            Method::PUT,
            &format!("/Users/{alice_id}"),
            tok,
            Some(put),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Alice A");
    assert_ne!(r.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(r.body["meta"]["created"], alice["meta"]["created"]);
    // Renaming onto another user's userName is a conflict.
    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{alice_id}"),
            tok,
            Some(user("Bob@Example.com")),
        )
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));

    // PATCH answers 200 with the resource, honouring attributes.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{alice_id}?attributes=title"),
            tok,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "title", "value": "CISO"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["title"], "CISO");
    assert!(r.body.get("userName").is_none());

    // Content types: JSON is accepted, anything else is 415.
    let r = s
        .send(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&format!("Bearer {tok}")),
            "application/json; charset=utf-8",
            Some(user("dave@example.com").to_string()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = s
        .send(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&format!("Bearer {tok}")),
            "text/plain",
            Some(user("erin@example.com").to_string()),
            &[],
        )
        .await;
    assert_scim_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
    let r = s
        .send(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&format!("Bearer {tok}")),
            SCIM_JSON,
            Some("{not json".to_owned()),
            &[],
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let r = s
        .scim(
            Method::POST,
            "/Users",
            tok,
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));

    // DELETE with a stale If-Match is 412; then 204, then 404.
    let r = s
        .scim_with(
            Method::DELETE,
            &format!("/Users/{alice_id}"),
            tok,
            None,
            &[("if-match", "W/\"0000\"")],
        )
        .await;
    assert_scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    let r = s
        .scim(Method::DELETE, &format!("/Users/{alice_id}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Users/{alice_id}"), tok, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    // The userName is free again.
    s.create(tok, "Users", user("alice@example.com")).await;
}

#[tokio::test]
async fn groups_members_and_user_groups() {
    let s = start().await;
    let t = s.tenant("ten_groups", json!({})).await;
    let tok = &t.scim_token;
    let u1 = id(&s.create(tok, "Users", user("u1@example.com")).await);
    let u2 = id(&s.create(tok, "Users", user("u2@example.com")).await);

    let g = s.create(tok, "Groups", group("Admins", &[&u1, &u2])).await;
    let gid = id(&g);
    assert_eq!(g["members"].as_array().unwrap().len(), 2);
    let r = s
        .scim(Method::GET, &format!("/Users/{u1}"), tok, None)
        .await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "{}", r.body);
    assert_eq!(r.body["groups"][0]["display"], "Admins");

    // Filters on the group's indexed displayName, and members excluded.
    let r = s
        .scim(
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22admins%22&excludedAttributes=members",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    assert_eq!(r.body["Resources"][0]["displayName"], "Admins");
    let r = s
        .scim(
            Method::GET,
            &format!("/Users?filter=groups.value%20eq%20%22{gid}%22"),
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 2);

    // Unknown members are refused.
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            tok,
            Some(group("Ghosts", &["no-such-user"])),
        )
        .await;
    // RFC 7644 asks for no referential integrity (clients add members before creating them):
    // an unknown member is kept as sent, untyped.
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["members"][0]["value"], "no-such-user");
    assert!(r.body["members"][0].get("type").is_none());

    // The User's groups is read-only.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{u1}"),
            tok,
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "groups", "value": [{"value": gid}]}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Deleting a user removes it from its groups.
    let r = s
        .scim(Method::DELETE, &format!("/Users/{u2}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1, "{}", r.body);

    // Deleting the group empties the users' groups.
    let r = s
        .scim(Method::DELETE, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Users/{u1}"), tok, None)
        .await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
    let r = s
        .scim(Method::GET, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn microsoft_entra_id_sequence() {
    let s = start().await;
    let t = s.tenant("ten_entra", json!({})).await;
    let tok = &t.scim_token;
    let create = fixture("entra_user_create.json", &[]);
    let user_name = create["userName"].as_str().unwrap().to_owned();

    // Probe: does the user exist? An empty ListResponse, not a 404.
    let probe = format!("/Users?filter=userName+eq+%22{user_name}%22");
    let r = s.scim(Method::GET, &probe, tok, None).await;
    assert_eq!(total(&r), 0);
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(r.body["Resources"], json!([]));

    let created = s.create(tok, "Users", create).await;
    let uid = id(&created);
    assert_eq!(created[ENTERPRISE]["department"], "Security");
    let r = s.scim(Method::GET, &probe, tok, None).await;
    assert_eq!(total(&r), 1);
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);

    let manager = id(&s.create(tok, "Users", user("boss@contoso.example")).await);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture(
                "entra_user_patch.json",
                &[("MANAGER_ID", &manager)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["name"]["givenName"], "Updated");
    let work: Vec<&Value> = r.body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "work")
        .collect();
    assert_eq!(work[0]["value"], "updated.user@contoso.example");
    assert_eq!(r.body[ENTERPRISE]["manager"]["value"], manager.as_str());
    let inv = s.inventory_user(&t, &uid).await.unwrap();
    assert_eq!(inv["status"], "suspended");
    assert_eq!(inv["manager"], manager.as_str());

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("entra_user_manager_clear.json", &[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body[ENTERPRISE].get("manager").is_none(), "{}", r.body);
    assert_eq!(r.body["active"], true);
    assert_eq!(
        s.inventory_user(&t, &uid).await.unwrap()["status"],
        "active"
    );

    // Groups: created with the user, read without members, member removed by value.
    let g = s
        .create(
            tok,
            "Groups",
            fixture("entra_group_create.json", &[("USER_ID", &uid)]),
        )
        .await;
    let gid = id(&g);
    let r = s
        .scim(
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            tok,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Group1DisplayName");
    let r = s
        .scim(
            Method::GET,
            "/Groups?filter=displayName+eq+%22Group1DisplayName%22&excludedAttributes=members",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            tok,
            Some(fixture(
                "entra_group_remove_member.json",
                &[("USER_ID", &uid)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("members").is_none(), "{}", r.body);

    // Deprovision: disable, then delete.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("entra_user_disable.json", &[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        s.inventory_user(&t, &uid).await.unwrap()["status"],
        "suspended"
    );
    let r = s
        .scim(Method::DELETE, &format!("/Users/{uid}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Users/{uid}"), tok, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    let inv = s.inventory_user(&t, &uid).await.unwrap();
    assert_eq!(inv["status"], "deprovisioned");
    assert_eq!(inv["provider"], "scim");

    // Test connection: a filter on a random GUID answers an empty list.
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName+eq+%2279b4c2c4-5e0f-4d8a-9d1e-3c1f3b0a2f11%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 0);
}

#[tokio::test]
async fn okta_sequence() {
    let s = start().await;
    let t = s.tenant("ten_okta", json!({})).await;
    let tok = &t.scim_token;
    let probe = "/Users?filter=userName%20eq%20%22test.user@okta.local%22&startIndex=1&count=100";
    let r = s.scim(Method::GET, probe, tok, None).await;
    assert_eq!(total(&r), 0);
    assert_eq!(r.body["startIndex"], 1);

    let created = s
        .create(tok, "Users", fixture("okta_user_create.json", &[]))
        .await;
    let uid = id(&created);
    assert!(
        created.get("password").is_none(),
        "passwords are never kept"
    );
    let r = s.scim(Method::GET, probe, tok, None).await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["id"], uid.as_str());

    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("okta_user_put.json", &[("USER_ID", &uid)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Another");
    assert_eq!(r.body["displayName"], "Another User");

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("okta_user_deactivate.json", &[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let inv = s.inventory_user(&t, &uid).await.unwrap();
    assert_eq!(inv["status"], "suspended");
    assert_eq!(inv["display_name"], "Another User");

    let u2 = id(&s.create(tok, "Users", user("second.user@okta.local")).await);
    let g = s
        .create(
            tok,
            "Groups",
            fixture("okta_group_create.json", &[("USER_ID", &uid)]),
        )
        .await;
    let gid = id(&g);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            tok,
            Some(fixture("okta_group_rename.json", &[("GROUP_ID", &gid)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Test SCIMv2 renamed");
    assert_eq!(r.body["id"], gid.as_str());
    let r = s
        .scim(Method::GET, &format!("/Users/{uid}"), tok, None)
        .await;
    assert_eq!(r.body["groups"][0]["display"], "Test SCIMv2 renamed");

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            tok,
            Some(fixture(
                "okta_group_members.json",
                &[("USER_ID", &uid), ("USER2_ID", &u2)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let members: Vec<&str> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![u2.as_str()]);
    let r = s
        .scim(Method::GET, &format!("/Users/{uid}"), tok, None)
        .await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
    let r = s
        .scim(Method::GET, &format!("/Users/{u2}"), tok, None)
        .await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str());
}

#[tokio::test]
async fn tenants_are_isolated() {
    let s = start().await;
    let a = s.tenant("ten_a", json!({})).await;
    let b = s.tenant("ten_b", json!({})).await;
    let alice = id(&s
        .create(&a.scim_token, "Users", user("alice@example.com"))
        .await);
    let ga = id(&s
        .create(&a.scim_token, "Groups", group("A team", &[&alice]))
        .await);

    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(user("alice@example.com"))),
        (
            Method::PATCH,
            Some(fixture("okta_user_deactivate.json", &[])),
        ),
        (Method::DELETE, None),
    ] {
        let r = s
            .scim(
                method.clone(),
                &format!("/Users/{alice}"),
                &b.scim_token,
                body,
            )
            .await;
        assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    }
    let r = s
        .scim(Method::GET, &format!("/Groups/{ga}"), &b.scim_token, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);

    // The same userName is free in another tenant; filters never see the other tenant's rows.
    s.create(&b.scim_token, "Users", user("alice@example.com"))
        .await;
    for q in [
        "/Users?filter=userName%20eq%20%22alice@example.com%22".to_owned(),
        format!("/Users?filter=id%20eq%20%22{alice}%22"),
        "/Users?filter=userName%20co%20%22alice%22".to_owned(),
        "/Users".to_owned(),
    ] {
        let r = s.scim(Method::GET, &q, &b.scim_token, None).await;
        let rows = r.body["Resources"].as_array().unwrap();
        assert!(
            rows.iter().all(|u| u["id"] != alice.as_str()),
            "{q}: {}",
            r.body
        );
    }
    let r = s.scim(Method::GET, "/Groups", &b.scim_token, None).await;
    assert_eq!(total(&r), 0);

    // A's user as a member of B's group: refused, by value and by $ref.
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            &b.scim_token,
            Some(group("B team", &[&alice])),
        )
        .await;
    // Tenant A's id is an opaque string in tenant B: accepted, linked to nothing of A's.
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.body["members"][0].get("type").is_none(),
        "nothing of A's was looked up: {}",
        r.body
    );
    let gb = id(&s
        .create(&b.scim_token, "Groups", group("B team", &[]))
        .await);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gb}"),
            &b.scim_token,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [
                    {"value": alice, "$ref": format!("{}/v1/scim/v2/Users/{alice}", s.base)}]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["members"][0].get("type").is_none());
    // A's user still shows only A's group: B's reference reached nothing of A's.
    let r = s
        .scim(Method::GET, &format!("/Users/{alice}"), &b.scim_token, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .scim(Method::GET, &format!("/Users/{alice}"), &a.scim_token, None)
        .await;
    assert_eq!(r.body["groups"].as_array().unwrap().len(), 1);

    // Bulk cannot reach the other tenant either.
    let r = s
        .scim(
            Method::POST,
            "/Bulk",
            &b.scim_token,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [{"method": "DELETE", "path": format!("/Users/{alice}")}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["Operations"][0]["status"], "404");
    let r = s
        .scim(Method::GET, &format!("/Users/{alice}"), &a.scim_token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // The inventory follows the tenant too.
    assert!(s.inventory_user(&b, &alice).await.is_none());
    assert!(s.inventory_user(&a, &alice).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_with_references_and_limits() {
    let s = start().await;
    let t = s.tenant("ten_bulk", json!({})).await;
    let tok = &t.scim_token;
    let r = s
        .scim(Method::POST, "/Bulk", tok, Some(fixture("bulk.json", &[])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3, "{}", r.body);
    let by_bulk = |b: &str| ops.iter().find(|o| o["bulkId"] == b).unwrap().clone();
    assert_eq!(by_bulk("u1")["status"], "201");
    assert_eq!(by_bulk("g1")["status"], "201");
    assert_eq!(by_bulk("u2")["status"], "409");
    let g = by_bulk("g1");
    let loc = g["location"].as_str().unwrap();
    let gid = loc.rsplit('/').next().unwrap();
    let r = s
        .scim(Method::GET, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1, "{}", r.body);

    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/x{i}")}))
        .collect();
    let r = s
        .scim(
            Method::POST,
            "/Bulk",
            tok,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                        "Operations": too_many}),
            ),
        )
        .await;
    assert_scim_error(&r, StatusCode::PAYLOAD_TOO_LARGE, Some("tooMany"));
}

#[tokio::test]
async fn inventory_rows_and_deprovision_policies() {
    let s = start().await;
    let keep = s.tenant("ten_keep", json!({})).await;
    let drop = s.tenant("ten_drop", json!({"deprovision": "delete"})).await;
    for t in [&keep, &drop] {
        let u = s
            .create(&t.scim_token, "Users", user("pat@example.com"))
            .await;
        let uid = id(&u);
        let inv = s.inventory_user(t, &uid).await.unwrap();
        assert_eq!(inv["provider"], "scim");
        assert_eq!(inv["login"], "pat@example.com");
        assert_eq!(inv["email"], "pat@example.com");
        assert_eq!(inv["status"], "active");
        assert!(inv["identity_id"].is_string());
        let r = s
            .scim(
                Method::DELETE,
                &format!("/Users/{uid}"),
                &t.scim_token,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let r = s
        .api(
            Method::GET,
            "/v1/users?status=deprovisioned",
            &keep.api_key,
            None,
        )
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "{}", r.body);
    let r = s.api(Method::GET, "/v1/users", &drop.api_key, None).await;
    assert_eq!(r.body["data"], json!([]), "{}", r.body);
    // Either way the change is recorded, as an audit event.
    for (tenant, policy) in [(&keep, "deactivate"), (&drop, "delete")] {
        let r = s
            .api(Method::GET, "/v1/signins", &tenant.api_key, None)
            .await;
        let audits: Vec<&Value> = r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "user.deprovisioned")
            .collect();
        assert_eq!(audits.len(), 1, "{policy}: {}", r.body);
        assert!(audits[0]["reason"].as_str().unwrap().contains(policy));
    }
}
