//! A small fake Okta org on loopback: it pages with separate `link` headers, omits DEPROVISIONED
//! users from unfiltered lists, fails on request ([`Planned`]), and records every call ([`Seen`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::support::{fixture, TOKEN};

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) raw_query: String,
}

/// A failure to answer instead of the next request.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Value,
}

#[derive(Default)]
pub(crate) struct Fake {
    base: OnceLock<String>,
    seen: Mutex<Vec<Seen>>,
    pub(crate) planned: Mutex<VecDeque<Planned>>,
    users: Mutex<Vec<Value>>,
    factors: Mutex<BTreeMap<String, Vec<Value>>>,
    user_groups: Mutex<BTreeMap<String, Vec<String>>>,
    group_members: Mutex<BTreeMap<String, Vec<String>>>,
    /// When set, the first users page links onward to this host instead of the org's.
    pub(crate) foreign_next: Mutex<Option<String>>,
    /// Users with a role assignment (`GET /api/v1/iam/assignees/users`); `None`: 403, as for a
    /// token without `okta.roles.read`.
    pub(crate) admins: Mutex<Option<Vec<String>>>,
}

fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({"errorCode": code, "errorSummary": summary, "errorLink": code,
        "errorId": "sampleQPivGUj_ND5v78vbYWW", "errorCauses": []});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn page(items: Vec<Value>, links: &[(String, &str)]) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (target, rel) in links {
        // One `link` header per relation, as Okta sends them.
        headers.append(
            "link",
            HeaderValue::from_str(&format!("<{target}>; rel=\"{rel}\"")).unwrap(),
        );
    }
    (StatusCode::OK, headers, Value::Array(items).to_string()).into_response()
}

fn query_string(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

impl Fake {
    pub(crate) fn base(&self) -> &str {
        self.base.get().unwrap()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn mutations(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.method != Method::GET)
            .map(|s| {
                if s.raw_query.is_empty() {
                    format!("{} {}", s.method, s.path)
                } else {
                    format!("{} {}?{}", s.method, s.path, s.raw_query)
                }
            })
            .collect()
    }

    pub(crate) fn plan(&self, count: usize, planned: Planned) {
        let mut queue = self.planned.lock().unwrap();
        for _ in 0..count {
            queue.push_back(planned.clone());
        }
    }

    pub(crate) fn user(&self, id: &str) -> Option<Value> {
        // Okta's `{id}` takes an id or a login.
        self.users
            .lock()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id || u["profile"]["login"] == id)
            .cloned()
    }

    pub(crate) fn set_status(&self, id: &str, status: &str) {
        let mut users = self.users.lock().unwrap();
        if let Some(user) = users.iter_mut().find(|u| u["id"] == id) {
            user["status"] = json!(status);
        }
    }

    fn list_users(&self, q: &BTreeMap<String, String>) -> Response {
        let all = self.users.lock().unwrap().clone();
        let filter = q.get("filter").cloned().unwrap_or_default();
        let statuses: Vec<String> = filter
            .split("status eq \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect();
        let since = filter
            .split("lastUpdated gt \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next().map(str::to_owned));
        let matching: Vec<Value> = all
            .into_iter()
            .filter(|u| {
                let status = u["status"].as_str().unwrap_or_default();
                if let Some(since) = &since {
                    return u["lastUpdated"].as_str().unwrap_or_default() > since.as_str();
                }
                if !statuses.is_empty() {
                    return statuses.iter().any(|s| s == status);
                }
                // Okta: the plain list "omits users that have a status of DEPROVISIONED";
                // a filter or search query returns them.
                let queried = !filter.is_empty() || q.contains_key("search");
                queried || status != "DEPROVISIONED"
            })
            .collect();
        let per_page = 4;
        let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
        let items: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(per_page)
            .cloned()
            .collect();
        let mut keep: Vec<(&str, String)> = Vec::new();
        if !filter.is_empty() {
            keep.push(("filter", filter.clone()));
        }
        keep.push((
            "limit",
            q.get("limit").cloned().unwrap_or_else(|| "200".into()),
        ));
        let self_link = format!("{}/api/v1/users?{}", self.base(), query_string(&keep));
        let mut links = vec![(self_link, "self")];
        if start + per_page < matching.len() {
            let mut next = vec![("after", (start + per_page).to_string())];
            next.extend(keep.clone());
            let host = if start == 0 {
                self.foreign_next.lock().unwrap().clone()
            } else {
                None
            };
            let host = host.unwrap_or_else(|| self.base().to_owned());
            links.push((
                format!("{host}/api/v1/users?{}", query_string(&next)),
                "next",
            ));
        }
        page(items, &links)
    }

    /// One user a page, linked onward in the body (`_links.next.href`), as Okta pages this list.
    fn role_assignees(&self, q: &BTreeMap<String, String>) -> Response {
        let Some(admins) = self.admins.lock().unwrap().clone() else {
            return okta_error(
                StatusCode::FORBIDDEN,
                "E0000006",
                "You do not have permission to perform the requested action",
            );
        };
        let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
        let value: Vec<Value> = admins
            .iter()
            .skip(start)
            .take(1)
            .map(|id| {
                json!({"id": id, "orn": format!("orn:okta:00o1:users:{id}"),
                "_links": {"self": {"href": format!("{}/api/v1/users/{id}", self.base())}}})
            })
            .collect();
        let mut links = json!({});
        if start + 1 < admins.len() {
            links["next"] = json!({"href": format!(
                "{}/api/v1/iam/assignees/users?after={}&limit=1", self.base(), start + 1)});
        }
        Json(json!({"value": value, "_links": links})).into_response()
    }

    fn list_logs(&self, q: &BTreeMap<String, String>) -> Response {
        let events: Vec<Value> = [
            "user.session.start.failure",
            "user.mfa.okta_verify.deny_push",
            "security.threat.detected",
        ]
        .iter()
        .map(|f| fixture(&format!("events/{f}.json")))
        .collect();
        // A polling request: every page links onward, an empty one to itself.
        let (items, after) = match q.get("after").map(String::as_str) {
            None => (events[..2].to_vec(), "cursor-2"),
            Some("cursor-2") => (events[2..].to_vec(), "cursor-3"),
            Some(_) => (Vec::new(), "cursor-3"),
        };
        let next = format!(
            "{}/api/v1/logs?{}",
            self.base(),
            query_string(&[
                ("limit", "1000".into()),
                ("sortOrder", "ASCENDING".into()),
                ("after", after.into())
            ])
        );
        page(items, &[(next, "next")])
    }

    fn lifecycle(&self, id: &str, operation: &str) -> Response {
        let Some(user) = self.user(id) else {
            return okta_error(
                StatusCode::NOT_FOUND,
                "E0000007",
                &format!("Not found: Resource not found: {id} (User)"),
            );
        };
        let status = user["status"].as_str().unwrap_or_default().to_owned();
        let invalid = || {
            okta_error(
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: lifecycle transition",
            )
        };
        match operation {
            "suspend" if status == "ACTIVE" => self.set_status(id, "SUSPENDED"),
            "unsuspend" if status == "SUSPENDED" => self.set_status(id, "ACTIVE"),
            "unlock" if status == "LOCKED_OUT" => self.set_status(id, "ACTIVE"),
            "deactivate" if status != "DEPROVISIONED" => self.set_status(id, "DEPROVISIONED"),
            "reset_factors"
                if self
                    .factors
                    .lock()
                    .unwrap()
                    .get(id)
                    .is_some_and(|f| !f.is_empty()) =>
            {
                self.factors.lock().unwrap().remove(id);
            }
            _ => return invalid(),
        }
        (StatusCode::OK, [("content-type", "application/json")], "{}").into_response()
    }
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let raw_query = uri.query().unwrap_or_default().to_owned();
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: query.clone(),
        raw_query,
    });
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("SSWS {TOKEN}"));
    if !authorized {
        return okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    if let Some(planned) = fake.planned.lock().unwrap().pop_front() {
        let mut response = (planned.status, planned.body.to_string()).into_response();
        for (name, value) in planned.headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_str(&value).unwrap());
        }
        return response;
    }
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "users", "me"]) => {
            Json(json!({"id": "00usvc", "status": "ACTIVE", "profile": {"login": "gatehouse-svc@example.com"}}))
        }
        ("GET", ["api", "v1", "users"]) => return fake.list_users(&query),
        ("GET", ["api", "v1", "users", id]) => match fake.user(id) {
            Some(user) => Json(user),
            None => return okta_error(StatusCode::NOT_FOUND, "E0000007", &format!("Not found: Resource not found: {id} (User)")),
        },
        ("GET", ["api", "v1", "users", id, "factors"]) => {
            Json(Value::Array(fake.factors.lock().unwrap().get(*id).cloned().unwrap_or_default()))
        }
        ("GET", ["api", "v1", "users", id, "groups"]) => {
            let groups = fake.user_groups.lock().unwrap().get(*id).cloned().unwrap_or_default();
            Json(Value::Array(groups.into_iter().map(|g| json!({"id": g, "profile": {"name": g}})).collect()))
        }
        ("POST", ["api", "v1", "users", id, "lifecycle", op]) => return fake.lifecycle(id, op),
        ("DELETE", ["api", "v1", "users", id, "sessions"]) => {
            if fake.user(id).is_none() {
                return okta_error(StatusCode::NOT_FOUND, "E0000007", "Not found: Resource not found");
            }
            return StatusCode::NO_CONTENT.into_response();
        }
        ("PUT", ["api", "v1", "groups", gid, "users", uid]) => {
            fake.user_groups.lock().unwrap().entry((*uid).to_owned()).or_default().push((*gid).to_owned());
            return StatusCode::NO_CONTENT.into_response();
        }
        ("GET", ["api", "v1", "groups"]) => {
            let groups = fixture("groups.json");
            let groups = groups.as_array().unwrap();
            let start: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let mut links = Vec::new();
            if start + 1 < groups.len() {
                links.push((format!("{}/api/v1/groups?after={}&limit=100", fake.base(), start + 1), "next"));
            }
            return page(groups[start..start + 1].to_vec(), &links);
        }
        ("GET", ["api", "v1", "groups", gid, "users"]) => {
            let members = fake.group_members.lock().unwrap().get(*gid).cloned().unwrap_or_default();
            let start: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = members.iter().skip(start).take(2).map(|id| json!({"id": id, "status": "ACTIVE"})).collect();
            let mut links = vec![(format!("{}/api/v1/groups/{gid}/users?limit=200", fake.base()), "self")];
            if start + 2 < members.len() {
                links.push((format!("{}/api/v1/groups/{gid}/users?after={}&limit=200", fake.base(), start + 2), "next"));
            }
            return page(items, &links);
        }
        ("GET", ["api", "v1", "logs"]) => return fake.list_logs(&query),
        ("GET", ["api", "v1", "iam", "assignees", "users"]) => return fake.role_assignees(&query),
        _ => return okta_error(StatusCode::NOT_FOUND, "E0000022", "The endpoint does not support the provided HTTP method"),
    }
    .into_response()
}

pub(crate) async fn start_fake() -> Arc<Fake> {
    let fake = Arc::new(Fake::default());
    *fake.users.lock().unwrap() = fixture("users.json").as_array().unwrap().clone();
    fake.factors.lock().unwrap().insert(
        "00ub0oNGTSWTBKOLGLNR".into(),
        fixture("factors.json").as_array().unwrap().clone(),
    );
    fake.group_members.lock().unwrap().insert(
        "00g1emaKYZTWRYYRRTSK".into(),
        vec![
            "00ub0oNGTSWTBKOLGLNR".into(),
            "00u118oQYT4TBTemp0g4".into(),
            "00u6suspended0SUSP1d6".into(),
        ],
    );
    *fake.admins.lock().unwrap() = Some(Vec::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    fake.base.set(format!("http://{addr}")).unwrap();
    let router = Router::new().fallback(handle).with_state(Arc::clone(&fake));
    tokio::spawn(async move { axum::serve(listener, router).await });
    fake
}
