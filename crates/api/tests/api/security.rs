//! Attack and bad-input sweeps generated from the served OpenAPI document (docs/SECURITY.md):
//! every route answers malformed input with a clear 4xx and stores nothing; a tenant key on
//! another tenant's ids answers 404 and changes nothing; tenant keys never reach operator
//! routes; repeated bad API keys from one address are throttled.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use chrono::{TimeZone, Utc};
use gatehouse_core::model::{Action, ActionKind, ActionStatus, Detection, Severity};
use gatehouse_core::{ActionId, DetectionId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::inventory::seeded;
use crate::support::{Server, OPERATOR_KEY};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Every operation of the served document: (method, path template, has a body, query names).
async fn operations(s: &Server) -> Vec<(Method, String, bool, Vec<String>, bool)> {
    let (status, doc) = s.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap().to_owned();
                match p["in"].as_str() {
                    Some("path") => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: parameter {name} is documented in: path but is not in \
                         the path (a query parameter documented in the wrong place)"
                    ),
                    Some("query") => query.push(name),
                    other => panic!("{method} {path}: parameter {name} in {other:?}"),
                }
            }
            let bearer = op["security"].is_array();
            ops.push((
                method,
                path.clone(),
                op["requestBody"].is_object(),
                query,
                bearer,
            ));
        }
    }
    assert!(
        ops.len() > 40,
        "the document lists {} operations",
        ops.len()
    );
    ops
}

/// What tenant A holds: one of each resource, and the ids to address them by.
struct World {
    s: Server,
    key_b: String,
    scim_a: String,
    scim_b: String,
    ids: BTreeMap<&'static str, String>,
}

async fn world() -> World {
    let (s, key_a, key_b, users) = seeded().await;
    let key_a = key_a.as_str();
    let user = &users[0];
    let mut ids = BTreeMap::new();
    ids.insert("tenant", "ten_a".to_owned());
    ids.insert("provider", "okta".to_owned());
    ids.insert("resource_type", "User".to_owned());
    ids.insert("schema", SCIM_USER.to_owned());
    ids.insert("integration", user.integration_id.to_string());
    ids.insert("user", user.id.to_string());
    ids.insert("identity", user.identity_id.clone().unwrap().to_string());
    let (status, keys) = s.op(Method::GET, "/v1/tenants/ten_a/api-keys", None).await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    ids.insert(
        "api_key",
        keys["data"][0]["id"].as_str().unwrap().to_owned(),
    );
    let (status, policy) = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(key_a),
            Some(policy_body()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    ids.insert("policy", policy["id"].as_str().unwrap().to_owned());
    let now = Utc.timestamp_opt(1_780_000_000, 0).unwrap();
    let detection = Detection {
        id: DetectionId::parse("det_01HX0000000000000000000000").unwrap(),
        tenant_id: user.tenant_id.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: Some(user.id.clone()),
        identity_id: user.identity_id.clone(),
        integration_id: Some(user.integration_id.clone()),
        evidence: vec![],
        explanation: "seeded".into(),
        first_seen: now,
        last_seen: now,
        created_at: now,
        updated_at: now,
    };
    let store = s.gateway.store();
    store
        .put_detection(&detection, &format!("account:{}", user.id))
        .await
        .unwrap();
    ids.insert("detection", detection.id.to_string());
    let action = Action {
        id: ActionId::parse("act_01HX0000000000000000000000").unwrap(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        integration_id: user.integration_id.clone(),
        action: ActionKind::DisableAccount,
        status: ActionStatus::AwaitingApproval,
        dry_run: false,
        reason: Some("seeded".into()),
        requested_by: "policy".into(),
        detection_id: Some(detection.id.clone()),
        idempotency_key: "seeded".into(),
        attempts: 0,
        error: None,
        result: None,
        next_attempt_at: None,
        history: vec![],
        confirmation: None,
        created_at: now,
        updated_at: now,
    };
    store.put_action(&action).await.unwrap();
    ids.insert("action", action.id.to_string());
    // SCIM: one integration per tenant, a user and a group in A's.
    let mut scim = Vec::new();
    for tenant in ["ten_a", "ten_b"] {
        let (status, body) = s
            .op(
                Method::POST,
                "/v1/integrations",
                Some(json!({"type": "scim", "tenant_id": tenant, "credentials": {}, "config": {}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        scim.push(body["scim"]["token"].as_str().unwrap().to_owned());
    }
    let (status, scim_user) = s
        .call(
            Method::POST,
            "/v1/scim/v2/Users",
            Some(&scim[0]),
            Some(json!({"schemas": [SCIM_USER], "userName": "scim.a@ten-a.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{scim_user}");
    ids.insert("scim_user", scim_user["id"].as_str().unwrap().to_owned());
    let (status, group) = s
        .call(
            Method::POST,
            "/v1/scim/v2/Groups",
            Some(&scim[0]),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Admins A"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    ids.insert("scim_group", group["id"].as_str().unwrap().to_owned());
    let scim_b = scim.pop().unwrap();
    let scim_a = scim.pop().unwrap();
    World {
        s,
        key_b,
        scim_a,
        scim_b,
        ids,
    }
}

fn policy_body() -> Value {
    json!({"name": "contain", "when": {"kinds": ["brute_force"], "min_severity": "medium"},
           "then": ["revoke_sessions"], "mode": "approval", "scope": "account"})
}

/// Which of A's ids a path template's parameter names.
fn resource_of(path: &str, param: &str) -> Option<&'static str> {
    Some(match (path, param) {
        (_, "key_id") => "api_key",
        (p, "id") if p.starts_with("/v1/tenants/") => "tenant",
        (p, "id") if p.starts_with("/v1/integrations/") => "integration",
        (p, "id") if p.starts_with("/v1/users/") => "user",
        (p, "id") if p.starts_with("/v1/identities/") => "identity",
        (p, "id") if p.starts_with("/v1/policies/") => "policy",
        (p, "id") if p.starts_with("/v1/detections/") => "detection",
        (p, "id") if p.starts_with("/v1/actions/") => "action",
        (p, "id") if p.starts_with("/v1/providers/") => "provider",
        (p, "id") if p.starts_with("/v1/scim/v2/ResourceTypes/") => "resource_type",
        (p, "id") if p.starts_with("/v1/scim/v2/Schemas/") => "schema",
        (p, "id") if p.starts_with("/v1/scim/v2/Users/") => "scim_user",
        (p, "id") if p.starts_with("/v1/scim/v2/Groups/") => "scim_group",
        (p, "integration_id") if p.starts_with("/v1/idp/saml/") => "integration",
        _ => return None,
    })
}

fn fill(path: &str, ids: &BTreeMap<&'static str, String>) -> String {
    let mut out = path.to_owned();
    for (param, _) in params(path) {
        let resource = resource_of(path, &param)
            .unwrap_or_else(|| panic!("{path}: no seeded resource for {{{param}}}"));
        out = out.replace(&format!("{{{param}}}"), &ids[resource]);
    }
    out
}

fn params(path: &str) -> Vec<(String, ())> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| (name.to_owned(), ())))
        .collect()
}

/// A body the route would accept (so a refusal is about who asks or what is wrong, not about an
/// empty body).
fn valid_body(method: &Method, path: &str, ids: &BTreeMap<&'static str, String>) -> Value {
    match (method.as_str(), path) {
        ("POST", "/v1/tenants") => json!({"name": "New"}),
        ("PATCH", "/v1/tenants/{id}") => json!({"name": "hijacked"}),
        ("POST", "/v1/integrations") => crate::support::okta_body("ten_a"),
        ("PATCH", "/v1/integrations/{id}") => json!({"status": "disabled"}),
        ("POST", "/v1/policies") => policy_body(),
        ("PUT", "/v1/policies/{id}") => {
            let mut p = policy_body();
            p["name"] = json!("hijacked");
            p
        }
        ("POST", "/v1/actions") => json!({"tenant_id": "ten_a", "user_id": ids["user"],
                                          "action": "disable_account"}),
        ("POST", "/v1/backtest") => json!({"tenant_id": "ten_a", "since": "1d"}),
        ("PUT", "/v1/scim/v2/Users/{id}") => {
            json!({"schemas": [SCIM_USER], "userName": "hijacked@ten-b.example"})
        }
        ("PATCH", p) if p.starts_with("/v1/scim/v2/") => json!({"schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": "hijacked"}]}),
        ("PUT", "/v1/scim/v2/Groups/{id}") => json!({"schemas":
            ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "hijacked"}),
        _ => json!({}),
    }
}

/// Everything stored for both tenants, as the operator reads it.
async fn snapshot(s: &Server, ids: &BTreeMap<&'static str, String>) -> Value {
    let mut all = serde_json::Map::new();
    let (_, tenants) = s.op(Method::GET, "/v1/tenants?limit=1000", None).await;
    all.insert("tenants".into(), tenants);
    for tenant in ["ten_a", "ten_b"] {
        for list in [
            "integrations",
            "users",
            "policies",
            "actions",
            "detections",
            "signins",
        ] {
            let (status, body) = s
                .op(
                    Method::GET,
                    &format!("/v1/{list}?tenant_id={tenant}&limit=1000"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{list}: {body}");
            all.insert(format!("{tenant}/{list}"), body);
        }
        let (_, keys) = s
            .op(Method::GET, &format!("/v1/tenants/{tenant}/api-keys"), None)
            .await;
        all.insert(format!("{tenant}/api-keys"), keys);
    }
    let (_, identity) = s
        .op(
            Method::GET,
            &format!("/v1/identities/{}", ids["identity"]),
            None,
        )
        .await;
    all.insert("identity".into(), identity);
    Value::Object(all)
}

async fn still_serving(s: &Server, context: &str) {
    let resp = s.http.get(format!("{}/healthz", s.base)).send().await;
    assert!(
        resp.is_ok_and(|r| r.status().is_success()),
        "the daemon stopped answering after {context}"
    );
}

/// The body of an error answer names what went wrong, in the API's, SCIM's or OAuth's shape.
fn has_error_message(body: &Value) -> bool {
    body["error"]["message"].is_string()
        || body["detail"].is_string()
        || body["error_description"].is_string()
}

/// What only tenant A's records hold (logins, names), never in an answer to tenant B.
const A_DATA: &[&str] = &[
    "ten_a.example",
    "scim.a@ten-a.example",
    "Admins A",
    "\"contain\"",
    "seeded",
    "00okta-secret-token",
];

/// Whether the route reads a body. The SCIM resource routes do though the document does not
/// declare their bodies (their schemas are per integration, served at /Schemas).
fn takes_body(method: &Method, path: &str, declared: bool) -> bool {
    declared
        || (path.starts_with("/v1/scim/v2/")
            && matches!(method.as_str(), "POST" | "PUT" | "PATCH")
            && !path.ends_with(".search"))
}

/// Which key a route takes, for the sweeps.
fn key_for<'a>(path: &str, bearer: bool, w: &'a World, tenant_b: bool) -> Option<&'a str> {
    if bearer {
        return Some(if tenant_b { &w.key_b } else { OPERATOR_KEY });
    }
    if path.starts_with("/v1/scim/v2") {
        return Some(if tenant_b { &w.scim_b } else { &w.scim_a });
    }
    None
}

/// Routes the malformed-input sweep leaves out, and why.
fn sweep_skips(path: &str) -> bool {
    // Health, metrics and the document take no input; push ingest and SAML ACS authenticate
    // with their own tokens and signatures (tests/api/ingest.rs, saml.rs, push_contract.rs).
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/v1/openapi.json"
    ) || path.starts_with("/v1/idp/")
}

#[tokio::test]
async fn malformed_input_on_every_route_is_a_clear_4xx_and_stores_nothing() {
    let w = world().await;
    let s = &w.s;
    let before = snapshot(s, &w.ids).await;
    let huge = "x".repeat(256 * 1024);
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(20_000), "}".repeat(20_000));
    let mut failures = Vec::new();
    for (method, template, has_body, query, bearer) in operations(s).await {
        if sweep_skips(&template) {
            continue;
        }
        let key = key_for(&template, bearer, &w, false);
        let path = fill(&template, &w.ids);
        let scim = template.starts_with("/v1/scim/");
        // (what, path, content type, body)
        let mut cases: Vec<(String, String, Option<&str>, Vec<u8>)> = Vec::new();
        let json_type = if scim {
            "application/scim+json"
        } else {
            "application/json"
        };
        if takes_body(&method, &template, has_body) {
            let valid = valid_body(&method, &template, &w.ids);
            let mut wrong_types = valid.clone();
            let mut huge_strings = valid.clone();
            let mut unknown = valid.clone();
            if let Some(map) = wrong_types.as_object_mut() {
                for v in map.values_mut() {
                    *v = if v.is_string() {
                        json!(12345)
                    } else {
                        json!("x")
                    };
                }
            }
            if let Some(map) = huge_strings.as_object_mut() {
                for v in map.values_mut() {
                    if v.is_string() {
                        *v = json!(huge);
                    }
                }
            }
            if let Some(map) = unknown.as_object_mut() {
                map.insert("zz_unknown_field".into(), json!(1));
            }
            let body = |v: &Value| v.to_string().into_bytes();
            cases.extend([
                (
                    "invalid JSON".into(),
                    path.clone(),
                    Some(json_type),
                    b"{\"name\": ".to_vec(),
                ),
                (
                    "empty body".into(),
                    path.clone(),
                    Some(json_type),
                    Vec::new(),
                ),
                (
                    "a JSON array".into(),
                    path.clone(),
                    Some(json_type),
                    b"[1,2]".to_vec(),
                ),
                (
                    "a JSON string".into(),
                    path.clone(),
                    Some(json_type),
                    b"\"x\"".to_vec(),
                ),
                (
                    "wrong types".into(),
                    path.clone(),
                    Some(json_type),
                    body(&wrong_types),
                ),
                (
                    "deep arrays".into(),
                    path.clone(),
                    Some(json_type),
                    deep_array.clone().into_bytes(),
                ),
                (
                    "deep objects".into(),
                    path.clone(),
                    Some(json_type),
                    deep_object.clone().into_bytes(),
                ),
                (
                    "bad UTF-8".into(),
                    path.clone(),
                    Some(json_type),
                    b"{\"name\": \"\xff\xfe\xc3\"}".to_vec(),
                ),
                (
                    "wrong content type".into(),
                    path.clone(),
                    Some("text/plain"),
                    body(&valid),
                ),
                ("no content type".into(), path.clone(), None, body(&valid)),
            ]);
            // SCIM ignores attributes it does not know (RFC 7644 §3.3), and long strings are
            // a SCIM client's to send: those two are API-only.
            if !scim {
                cases.push((
                    "unknown field".into(),
                    path.clone(),
                    Some(json_type),
                    body(&unknown),
                ));
                if huge_strings != valid {
                    cases.push((
                        "huge strings".into(),
                        path.clone(),
                        Some(json_type),
                        body(&huge_strings),
                    ));
                }
            }
        }
        for name in &query {
            let value = match name.as_str() {
                "limit" => "99999999999999999999999".to_owned(),
                "since" | "until" => "\u{e9}yesterday".to_owned(),
                "full" => "perhaps".to_owned(),
                _ => huge[..16 * 1024].to_owned(),
            };
            // The operator must name a tenant; a huge one must not be looked up as is.
            let tenant = if name == "tenant_id" {
                ""
            } else {
                "tenant_id=ten_a&"
            };
            cases.push((
                format!("bad query {name}"),
                format!("{path}?{tenant}{name}={}", urlencode(&value)),
                None,
                Vec::new(),
            ));
        }
        for (param, _) in params(&template) {
            for (what, bad) in [("bad UTF-8", "%FF%FE"), ("huge", &huge[..8 * 1024])] {
                let other = template.replace(&format!("{{{param}}}"), bad);
                cases.push((
                    format!("{what} {{{param}}}"),
                    fill(&other, &w.ids),
                    None,
                    Vec::new(),
                ));
            }
        }
        for (what, path, content_type, body) in cases {
            let mut req = s.http.request(method.clone(), format!("{}{path}", s.base));
            if let Some(key) = key {
                req = req.bearer_auth(key);
            }
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            if !body.is_empty() || content_type.is_some() {
                req = req.body(body);
            }
            let context = format!("{method} {template}: {what}");
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    failures.push(format!("{context}: no answer: {e}"));
                    continue;
                }
            };
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if !status.is_client_error() {
                failures.push(format!(
                    "{context}: {status} {}",
                    &text[..text.len().min(300)]
                ));
            } else if !has_error_message(&body) {
                failures.push(format!(
                    "{context}: {status} without a JSON error message: {}",
                    &text[..text.len().min(300)]
                ));
            }
            still_serving(s, &context).await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        snapshot(s, &w.ids).await,
        before,
        "a malformed request changed stored data"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Operator-only routes: a tenant key gets 403 on them (or 404 where they name a tenant that is
/// not the key's, which hides whether it exists).
fn operator_only(method: &Method, path: &str) -> bool {
    matches!((method.as_str(), path), ("POST", "/v1/tenants"))
}

#[tokio::test]
async fn a_tenant_key_on_another_tenants_ids_is_a_404_and_changes_nothing() {
    let w = world().await;
    let s = &w.s;
    // Tenant B's key works on B (so a 404 below is isolation, not a broken key).
    let (status, _) = s
        .call(Method::GET, "/v1/tenants/ten_b", Some(&w.key_b), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = snapshot(s, &w.ids).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, template, has_body, query, bearer) in operations(s).await {
        let Some(key) = key_for(&template, bearer, &w, true) else {
            continue; // no tenant credential: health, metrics, push ingest, SAML, OAuth token
        };
        let context = format!("{method} {template}");
        let body = takes_body(&method, &template, has_body)
            .then(|| valid_body(&method, &template, &w.ids));
        let expected: &[StatusCode] = if operator_only(&method, &template) {
            &[StatusCode::FORBIDDEN]
        } else if method == Method::GET && template == "/v1/tenants" {
            // The tenants list ignores tenant_id: a tenant key lists its own tenant only.
            &[StatusCode::OK]
        } else {
            &[StatusCode::NOT_FOUND]
        };
        if template.starts_with("/v1/providers/")
            || template.starts_with("/v1/scim/v2/Schemas/")
            || template.starts_with("/v1/scim/v2/ResourceTypes/")
        {
            continue; // catalogues the same for every tenant, not tenant data
        }
        let path = if !params(&template).is_empty() {
            Some(fill(&template, &w.ids))
        } else if query.iter().any(|q| q == "tenant_id") {
            Some(format!("{template}?tenant_id=ten_a"))
        } else if body.as_ref().is_some_and(|b| b.get("tenant_id").is_some())
            || operator_only(&method, &template)
        {
            Some(template.clone())
        } else {
            None // B's own data (providers, SCIM lists and discovery): nothing of A's to name
        };
        let Some(path) = path else { continue };
        if template.starts_with("/v1/scim/v2/")
            && !template.contains("/Users/")
            && !template.contains("/Groups/")
        {
            continue; // Schemas and ResourceTypes are per integration type, not tenant data
        }
        checked += 1;
        let (status, answer) = s.call(method.clone(), &path, Some(key), body).await;
        if !expected.contains(&status) {
            failures.push(format!(
                "{context} as tenant B on A's ids: {status} {answer}"
            ));
        }
        // (A 404 may echo the id B sent; it must carry nothing of A's records.)
        let text = answer.to_string();
        for secret in A_DATA {
            if text.contains(secret) {
                failures.push(format!(
                    "{context}: the answer carries A's {secret:?}: {text}"
                ));
            }
        }
    }
    assert!(checked > 25, "only {checked} routes checked");
    // Tenant keys never reach operator routes, even on their own tenant's data.
    let (status, _) = s
        .call(
            Method::POST,
            "/v1/tenants",
            Some(&w.key_b),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        snapshot(s, &w.ids).await,
        before,
        "tenant B's requests changed stored data"
    );
    // A's SCIM token still sees its own records (nothing was deleted or renamed).
    let (status, user) = s
        .call(
            Method::GET,
            &format!("/v1/scim/v2/Users/{}", w.ids["scim_user"]),
            Some(&w.scim_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["userName"], "scim.a@ten-a.example");
    let (status, group) = s
        .call(
            Method::GET,
            &format!("/v1/scim/v2/Groups/{}", w.ids["scim_group"]),
            Some(&w.scim_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(group["displayName"], "Admins A");
}

#[tokio::test]
async fn repeated_bad_keys_from_one_address_are_throttled() {
    let s = crate::support::start().await;
    let max = gatehouse_api::AUTH_MAX_FAILURES;
    for n in 0..max {
        let (status, body) = s
            .call(
                Method::GET,
                "/v1/tenants",
                Some(&format!("gh_op_guess{n}")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}: {body}");
    }
    // The next request from this address is refused before any key is checked, the right
    // key included, with a Retry-After within the window.
    for key in ["gh_op_one-more-guess", OPERATOR_KEY] {
        let resp = s
            .http
            .get(format!("{}/v1/tenants", s.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=gatehouse_api::AUTH_WINDOW.as_secs()).contains(&retry),
            "{retry}"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    }
    // Another address is not throttled, and health stays open to everyone.
    let other = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    let resp = other
        .get(format!("{}/v1/tenants", s.base))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    still_serving(&s, "throttling").await;
}
