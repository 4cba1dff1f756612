//! A small Microsoft Graph and token service on a loopback port, written from Microsoft's docs
//! for these tests: client credentials tokens, `/users/delta` with skip and delta tokens (and
//! `@removed`), `/auditLogs/signIns` newest first with `$filter=createdDateTime ge`, the
//! action endpoints and `/subscriptions`. It records every call.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "s3cret~Value.0123456789";
pub const MFA_GROUP: &str = "6b3a3f0e-3c5f-4a37-9d0e-3c1f1e2d4b5a";

#[derive(Default)]
pub struct Graph {
    pub secret_ok: bool,
    pub tokens: BTreeSet<String>,
    pub token_requests: usize,
    pub expires_in: i64,
    /// users by id: (record, version of its last change)
    pub users: BTreeMap<String, (Value, u64)>,
    pub removed: Vec<(String, u64, &'static str)>,
    pub version: u64,
    pub oldest_valid_delta: u64,
    pub signins: Vec<Value>,
    pub group_members: BTreeSet<String>,
    pub subscriptions: BTreeMap<String, Value>,
    pub calls: Vec<String>,
    /// Statuses answered (once each) to the next requests whose path contains the key.
    pub faults: VecDeque<(String, u16, Option<u64>)>,
}

#[derive(Clone)]
pub struct Fake {
    pub state: Arc<Mutex<Graph>>,
    pub base: String,
}

pub fn user(i: usize) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "userPrincipalName": format!("user{i}@contoso.com"),
        "mail": format!("user{i}@contoso.com"),
        "displayName": format!("User {i}"),
        "accountEnabled": true,
        "userType": "Member",
        "createdDateTime": "2024-01-01T00:00:00Z",
    })
}

pub fn signin(id: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id,
        "createdDateTime": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "userPrincipalName": "user1@contoso.com",
        "userId": "00000000-0000-4000-8000-000000000001",
        "appDisplayName": "Graph explorer",
        "ipAddress": "131.107.159.37",
        "isInteractive": true,
        "status": {"errorCode": 0},
        "location": {"city": "Redmond", "countryOrRegion": "US"},
    })
}

impl Fake {
    pub async fn start(users: usize) -> Self {
        let mut graph = Graph {
            secret_ok: true,
            expires_in: 3599,
            version: 1,
            ..Graph::default()
        };
        for i in 0..users {
            let u = user(i);
            graph
                .users
                .insert(u["id"].as_str().unwrap().to_owned(), (u, 1));
        }
        let state = Arc::new(Mutex::new(graph));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state((Arc::clone(&state), base.clone()));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { state, base }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Graph) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn calls_matching(&self, text: &str) -> Vec<String> {
        self.with(|g| {
            g.calls
                .iter()
                .filter(|c| c.contains(text))
                .cloned()
                .collect()
        })
    }

    pub fn change(&self, id: &str, f: impl FnOnce(&mut Value)) {
        self.with(|g| {
            g.version += 1;
            let v = g.version;
            let entry = g.users.get_mut(id).unwrap();
            f(&mut entry.0);
            entry.1 = v;
        });
    }

    pub fn delete(&self, id: &str, reason: &'static str) {
        self.with(|g| {
            g.version += 1;
            let v = g.version;
            g.users.remove(id);
            g.removed.push((id.to_owned(), v, reason));
        });
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message, "innerError": {"date": "2024-01-01T00:00:00", "request-id": "r"}}}))).into_response()
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

type AppState = (Arc<Mutex<Graph>>, String);

async fn handle(
    State((state, base)): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let mut g = state.lock().unwrap();
    g.calls.push(format!("{method} {path}"));
    if let Some(index) = g
        .faults
        .iter()
        .position(|(key, _, _)| path.contains(key.as_str()))
    {
        if let Some((_, status, retry)) = g.faults.remove(index) {
            let status = StatusCode::from_u16(status).unwrap();
            let mut response = error(status, "TooManyRequests", "Too many requests");
            if let Some(secs) = retry {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            return response;
        }
    }
    if path == format!("/{TENANT}/oauth2/v2.0/token") {
        g.token_requests += 1;
        let form: BTreeMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        let good = g.secret_ok
            && form.get("client_secret").map(String::as_str) == Some(SECRET)
            && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.get("scope").map(String::as_str)
                == Some("https://graph.microsoft.com/.default");
        if !good {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                "error_codes": [7000215], "timestamp": "2024-01-01 00:00:00Z", "trace_id": "t", "correlation_id": "c"
            }))).into_response();
        }
        let token = format!("eyJ0eXAi.tok{}", g.token_requests);
        g.tokens.insert(token.clone());
        return axum::Json(json!({"token_type": "Bearer", "expires_in": g.expires_in, "ext_expires_in": g.expires_in, "access_token": token})).into_response();
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !g.tokens.contains(bearer) {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        );
    }
    let q = query(&uri);
    let graph = format!("{base}/v1.0");
    let segments: Vec<&str> = path.trim_start_matches("/v1.0/").split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["users", "delta"]) => {
            let page_size: usize = headers
                .get("prefer")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("odata.maxpagesize="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(100usize)
                .min(999);
            // Tokens: `$deltatoken=N` (changes after version N), `$skiptoken=S.U.O` (round
            // since S (0: all), up to version U, offset O).
            let (since, upto, offset) = if let Some(t) = q.get("$deltatoken") {
                let n: u64 = t.parse().unwrap_or(0);
                if n < g.oldest_valid_delta {
                    return error(StatusCode::GONE, "syncStateNotFound", "The sync state generation is not found.");
                }
                (n, g.version, 0)
            } else if let Some(t) = q.get("$skiptoken") {
                let p: Vec<u64> = t.split('.').map(|x| x.parse().unwrap_or(0)).collect();
                (p[0], p[1], p[2] as usize)
            } else {
                (0, g.version, 0)
            };
            let mut items: Vec<Value> = g
                .users
                .values()
                .filter(|(_, v)| since == 0 || *v > since)
                .map(|(u, _)| u.clone())
                .collect();
            if since > 0 {
                for (id, v, reason) in &g.removed {
                    if *v > since {
                        items.push(json!({"id": id, "@removed": {"reason": reason}}));
                    }
                }
            }
            let end = (offset + page_size).min(items.len());
            let page: Vec<Value> = items[offset.min(end)..end].to_vec();
            let mut answer = json!({"@odata.context": format!("{graph}/$metadata#users"), "value": page});
            if end < items.len() {
                answer["@odata.nextLink"] = json!(format!("{graph}/users/delta?$skiptoken={since}.{upto}.{end}"));
            } else {
                answer["@odata.deltaLink"] = json!(format!("{graph}/users/delta?$deltatoken={upto}"));
            }
            axum::Json(answer).into_response()
        }
        ("GET", ["users"]) => axum::Json(json!({"value": g.users.values().take(1).map(|(u, _)| json!({"id": u["id"]})).collect::<Vec<_>>()})).into_response(),
        ("GET", ["users", id]) => match g.users.get(*id) {
            Some((u, _)) => axum::Json(u.clone()).into_response(),
            None => error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", "Resource does not exist."),
        },
        ("PATCH", ["users", id]) => {
            let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = (*id).to_owned();
            if !g.users.contains_key(&id) {
                return error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", "Resource does not exist.");
            }
            g.version += 1;
            let v = g.version;
            let entry = g.users.get_mut(&id).unwrap();
            if let Some(enabled) = patch.get("accountEnabled") {
                entry.0["accountEnabled"] = enabled.clone();
            }
            entry.1 = v;
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["users", _, "revokeSignInSessions"]) => axum::Json(json!({"@odata.context": format!("{graph}/$metadata#Edm.Boolean"), "value": true})).into_response(),
        ("POST", ["groups", MFA_GROUP, "members", "$ref"]) => {
            let reference: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = reference["@odata.id"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
            if !g.group_members.insert(id) {
                return error(StatusCode::BAD_REQUEST, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["auditLogs", "signIns"]) => {
            let from = q
                .get("$filter")
                .and_then(|f| f.strip_prefix("createdDateTime ge "))
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            let top: usize = q.get("$top").and_then(|t| t.parse().ok()).unwrap_or(1000).min(1000);
            let offset: usize = q.get("$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let mut items: Vec<&Value> = g
                .signins
                .iter()
                .filter(|s| DateTime::parse_from_rfc3339(s["createdDateTime"].as_str().unwrap()).unwrap() >= from)
                .collect();
            items.sort_by(|a, b| b["createdDateTime"].as_str().cmp(&a["createdDateTime"].as_str()));
            let end = (offset + top).min(items.len());
            let page: Vec<Value> = items[offset.min(end)..end].iter().map(|v| (*v).clone()).collect();
            let mut answer = json!({"value": page});
            if end < items.len() {
                let mut next = url::Url::parse(&format!("{graph}/auditLogs/signIns")).unwrap();
                next.query_pairs_mut()
                    .append_pair("$filter", q.get("$filter").map(String::as_str).unwrap_or_default())
                    .append_pair("$top", &top.to_string())
                    .append_pair("$skiptoken", &end.to_string());
                answer["@odata.nextLink"] = json!(next.as_str());
            }
            axum::Json(answer).into_response()
        }
        ("POST", ["subscriptions"]) => {
            let mut sub: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = format!("sub-{}", g.subscriptions.len() + 1);
            sub["id"] = json!(id);
            g.subscriptions.insert(id, sub.clone());
            (StatusCode::CREATED, axum::Json(sub)).into_response()
        }
        ("PATCH", ["subscriptions", id]) => {
            let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            match g.subscriptions.get_mut(*id) {
                Some(sub) => {
                    sub["expirationDateTime"] = patch["expirationDateTime"].clone();
                    axum::Json(sub.clone()).into_response()
                }
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "The object was not found."),
            }
        }
        ("DELETE", ["subscriptions", id]) => {
            g.subscriptions.remove(*id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::BAD_REQUEST, "BadRequest", "Unsupported in this fake"),
    }
}

/// Sign-ins `count`, created evenly over the `span` before `end`, ids prefixed.
/// `count` successful sign-ins over `span` before `end`, spread over 500 users and 250
/// addresses as an organisation's traffic is.
pub fn signins(prefix: &str, count: usize, end: DateTime<Utc>, span: Duration) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let at = end - span * (i as i32) / (count.max(1) as i32);
            let mut event = signin(&format!("{prefix}-{i}"), at);
            let (user, address) = (i % 500, i % 250);
            event["userId"] = json!(format!("00000000-0000-4000-8000-{user:012}"));
            event["userPrincipalName"] = json!(format!("user{user}@contoso.com"));
            event["ipAddress"] = json!(format!("131.107.{}.{}", address / 100, address % 100 + 1));
            event
        })
        .collect()
}
