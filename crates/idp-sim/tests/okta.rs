//! End-to-end tests of the Okta simulator over real loopback HTTP: paging and
//! Link headers, DEPROVISIONED visibility, filters, System Log polling, error
//! bodies and rate limits, lifecycle rules, recorded mutations, fault
//! injection, admin role assignments, and the event-hook sender against a
//! small receiver.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use chrono::TimeZone;
use gatehouse_idp_sim::okta::{
    EndpointFamily, Fault, NewUser, OktaConfig, OktaSim, RunningSim, Truncation, UserStatus,
};
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/okta");

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn config(users: usize, events: usize) -> OktaConfig {
    OktaConfig {
        users,
        events,
        seed: 42,
        start_time: Some(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        ..OktaConfig::default()
    }
}

struct Api {
    sim: OktaSim,
    running: RunningSim,
    http: reqwest::Client,
}

impl Api {
    fn start(cfg: OktaConfig) -> Self {
        let sim = OktaSim::new(cfg);
        let running = sim.spawn("127.0.0.1:0".parse().unwrap()).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Api { sim, running, http }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.running.base_url())
        }
    }

    fn auth(&self) -> String {
        format!("SSWS {}", self.sim.config().api_token)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("Authorization", self.auth())
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("Authorization", self.auth())
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .header("Authorization", self.auth())
            .send()
            .await
            .unwrap()
    }

    async fn put(&self, path: &str) -> reqwest::Response {
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
fn links(h: &HeaderMap) -> Vec<(String, String)> {
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

fn next_link(h: &HeaderMap) -> Option<String> {
    links(h)
        .into_iter()
        .find(|(_, r)| r == "next")
        .map(|(u, _)| u)
}

fn assert_keys(v: &Value, kind: &str) {
    let shapes = fixture("shapes.json");
    for k in shapes[kind].as_array().unwrap() {
        let k = k.as_str().unwrap();
        assert!(v.get(k).is_some(), "{kind} lacks {k}: {v}");
    }
}

fn assert_rate_headers(h: &HeaderMap) {
    for name in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        let v = h.get(name).unwrap_or_else(|| panic!("missing {name}"));
        v.to_str().unwrap().parse::<i64>().unwrap();
    }
}

async fn error_body(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert_rate_headers(resp.headers());
    let body: Value = resp.json().await.unwrap();
    assert_keys(&body, "error");
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code);
    body
}

#[tokio::test]
async fn users_page_with_link_headers_and_hide_deprovisioned() {
    let api = Api::start(config(40, 0));
    let mut url = "/api/v1/users?limit=7".to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let resp = api.get(&url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_rate_headers(resp.headers());
        let l = links(resp.headers());
        assert_eq!(l.iter().filter(|(_, r)| r == "self").count(), 1);
        assert!(l.iter().filter(|(_, r)| r == "next").count() <= 1);
        for (u, _) in &l {
            assert!(
                u.starts_with(&api.running.base_url()),
                "absolute link expected: {u}"
            );
        }
        let next = next_link(resp.headers());
        let page: Vec<Value> = resp.json().await.unwrap();
        assert!(page.len() <= 7);
        for u in &page {
            assert_keys(u, "user");
            assert_keys(&u["profile"], "profile");
            // Collections carry only the self link.
            assert_eq!(u["_links"].as_object().unwrap().len(), 1);
            seen.push(u["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match next {
            Some(n) => {
                assert!(n.contains("after=") && n.contains("limit=7"), "{n}");
                url = n;
            }
            None => break,
        }
    }
    assert!(pages >= 5, "{pages} pages");
    let deprovisioned = api.sim.users_with_status(UserStatus::Deprovisioned);
    assert!(!deprovisioned.is_empty());
    assert_eq!(seen.len(), api.sim.user_count() - deprovisioned.len());
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no duplicates across pages");
    assert!(deprovisioned.iter().all(|d| !seen.contains(d)));

    // With a filter (or search) DEPROVISIONED users are listed.
    let resp = api
        .get("/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22")
        .await;
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(page.len(), deprovisioned.len());
    assert!(page.iter().all(|u| u["status"] == "DEPROVISIONED"));
    let resp = api
        .get("/api/v1/users?search=status+eq+%22deprovisioned%22")
        .await;
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(
        page.len(),
        deprovisioned.len(),
        "search values are case-insensitive"
    );
    let resp = api
        .get("/api/v1/users?filter=lastUpdated%20gt%20%221970-01-01T00:00:00.000Z%22&limit=200")
        .await;
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(page.len(), api.sim.user_count());
}

#[tokio::test]
async fn last_updated_filter_and_next_link_keeps_it() {
    let api = Api::start(config(30, 0));
    api.sim.advance_time(chrono::Duration::minutes(5));
    let mark = api.sim.clock().now();
    api.sim.advance_time(chrono::Duration::seconds(1));
    let active = api.sim.users_with_status(UserStatus::Active);
    for id in active.iter().take(3) {
        assert!(api.sim.modify_user(id, |p| {
            p.insert("title".into(), json!("Changed"));
        }));
    }
    let added = api.sim.add_user(NewUser {
        login: "late.joiner@example.com".into(),
        ..NewUser::default()
    });
    let filter = format!(
        "lastUpdated gt \"{}\"",
        mark.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let mut url = format!(
        "/api/v1/users?limit=1&filter={}",
        filter.replace(' ', "%20").replace('"', "%22")
    );
    let mut ids = Vec::new();
    while !url.is_empty() {
        let resp = api.get(&url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let next = next_link(resp.headers());
        if let Some(n) = &next {
            assert!(
                n.contains("filter=lastUpdated%20gt%20"),
                "next link keeps the filter: {n}"
            );
        }
        let page: Vec<Value> = resp.json().await.unwrap();
        ids.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        url = next.unwrap_or_default();
    }
    ids.sort();
    let mut expected: Vec<String> = active.iter().take(3).cloned().chain([added]).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn single_user_me_login_groups_and_factors() {
    let api = Api::start(config(20, 0));
    let me: Value = api.get("/api/v1/users/me").await.json().await.unwrap();
    assert_eq!(me["id"], api.sim.admin_id());
    assert_eq!(me["profile"]["login"], "admin@example.com");
    let by_login: Value = api
        .get("/api/v1/users/admin%40example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_login["id"], me["id"]);
    let links = me["_links"].as_object().unwrap();
    for rel in [
        "self",
        "suspend",
        "deactivate",
        "resetFactors",
        "resetPassword",
    ] {
        assert!(
            links.contains_key(rel),
            "ACTIVE user lacks {rel}: {links:?}"
        );
    }
    assert!(!links.contains_key("unsuspend"));

    let factors: Vec<Value> = api
        .get(&format!(
            "/api/v1/users/{}/factors",
            me["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(!factors.is_empty());
    for f in &factors {
        assert_keys(f, "factor");
    }
    assert!(factors
        .iter()
        .any(|f| f["factorType"] == "push" && f["provider"] == "OKTA"));

    let groups: Vec<Value> = api
        .get(&format!(
            "/api/v1/users/{}/groups",
            me["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(groups.iter().any(|g| g["profile"]["name"] == "Everyone"));
    for g in &groups {
        assert_keys(g, "group");
    }
    let all: Vec<Value> = api
        .get("/api/v1/groups?filter=type%20eq%20%22OKTA_GROUP%22")
        .await
        .json()
        .await
        .unwrap();
    let vpn = all
        .iter()
        .find(|g| g["profile"]["name"] == "VPN Users")
        .unwrap();
    let gid = vpn["id"].as_str().unwrap();
    let one: Value = api
        .get(&format!("/api/v1/groups/{gid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], gid);

    // Membership changes answer 204 and show in the member list.
    let target = api.sim.users_with_status(UserStatus::Suspended)[0].clone();
    assert_eq!(
        api.put(&format!("/api/v1/groups/{gid}/users/{target}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let mut members = Vec::new();
    let mut url = format!("/api/v1/groups/{gid}/users?limit=2");
    while !url.is_empty() {
        let resp = api.get(&url).await;
        let next = next_link(resp.headers()).unwrap_or_default();
        let page: Vec<Value> = resp.json().await.unwrap();
        members.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        url = next;
    }
    assert!(members.contains(&target));
    assert_eq!(
        api.delete(&format!("/api/v1/groups/{gid}/users/{target}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(!api.sim.groups_of(&target).contains(&gid.to_string()));
    // Built-in groups cannot be changed through the API.
    let everyone = all.iter().find(|g| g["profile"]["name"] == "Everyone");
    assert!(everyone.is_none(), "type filter excludes BUILT_IN");
}

#[tokio::test]
async fn error_bodies_and_rate_limits() {
    let api = Api::start(config(10, 20));

    // 401: missing and wrong token, with rate-limit headers all the same.
    let resp = api.http.get(api.url("/api/v1/users")).send().await.unwrap();
    let body = error_body(resp, 401, "E0000011").await;
    assert_eq!(body["errorSummary"], "Invalid token provided");
    assert_eq!(body["errorCauses"], json!([]));
    let resp = api
        .http
        .get(api.url("/api/v1/users"))
        .header("Authorization", "SSWS nope")
        .send()
        .await
        .unwrap();
    error_body(resp, 401, "E0000011").await;
    // Bearer with the configured token is accepted too.
    let resp = api
        .http
        .get(api.url("/api/v1/logs?limit=1"))
        .header(
            "Authorization",
            format!("Bearer {}", api.sim.config().api_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // 404s.
    let body = error_body(api.get("/api/v1/users/00uNOPE").await, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00uNOPE (User)"
    );
    error_body(api.get("/api/v1/nothing/here").await, 404, "E0000007").await;
    error_body(
        api.post("/api/v1/users/00uNOPE/lifecycle/suspend").await,
        404,
        "E0000007",
    )
    .await;
    error_body(api.delete("/api/v1/logs").await, 405, "E0000022").await;

    // 400s on users.
    error_body(api.get("/api/v1/users?limit=500").await, 400, "E0000001").await;
    error_body(api.get("/api/v1/users?limit=abc").await, 400, "E0000001").await;
    error_body(
        api.get(
            "/api/v1/users?filter=status%20eq%20%22ACTIVE%22&search=status%20eq%20%22ACTIVE%22",
        )
        .await,
        400,
        "E0000033",
    )
    .await;
    error_body(
        api.get("/api/v1/users?filter=status%20eqq%20%22ACTIVE%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    error_body(
        api.get("/api/v1/users?filter=status%20gt%20%22ACTIVE%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    error_body(
        api.get("/api/v1/users?search=status%20ne%20%22ACTIVE%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    error_body(
        api.get("/api/v1/users?filter=lastUpdated%20gt%20%22yesterday%22")
            .await,
        400,
        "E0000030",
    )
    .await;
    // 400s on the System Log.
    let body = error_body(
        api.get("/api/v1/logs?since=2025-05-30T00:00:00.000Z&after=1_1")
            .await,
        400,
        "E0000063",
    )
    .await;
    assert!(!body["errorCauses"].as_array().unwrap().is_empty());
    let body = error_body(
        api.get("/api/v1/logs?filter=eventType%20eqq%20%22x%22")
            .await,
        400,
        "E0000053",
    )
    .await;
    assert!(body["errorSummary"]
        .as_str()
        .unwrap()
        .contains("Unrecognized attribute operator 'eqq'"));
    error_body(
        api.get("/api/v1/logs?filter=debugContext.debugData.url%20co%20%22%2Foauth%2F%22")
            .await,
        400,
        "E0000031",
    )
    .await;
    let body = error_body(api.get("/api/v1/logs?until=garbage").await, 400, "E0000001").await;
    assert_eq!(body["errorCauses"].as_array().unwrap().len(), 2);
    error_body(api.get("/api/v1/logs?limit=1001").await, 400, "E0000001").await;
    error_body(
        api.get("/api/v1/logs?since=2024-01-01T00:00:00.000Z").await,
        400,
        "E0000053",
    )
    .await;
    error_body(
        api.get("/api/v1/logs?sortOrder=SIDEWAYS").await,
        400,
        "E0000001",
    )
    .await;

    // Framework-level rejections still answer Okta's body.
    error_body(api.get("/api/v1/users/%FF%FE").await, 400, "E0000001").await;
    // A POST without Content-Length gets 411, as Okta documents.
    let raw = format!(
        "POST /api/v1/users/{}/lifecycle/unlock HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        api.sim.admin_id(),
        api.running.addr(),
        api.auth()
    );
    let mut tcp = tokio::net::TcpStream::connect(api.running.addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, raw.as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut tcp, &mut answer)
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    // reqwest sends no Content-Length on a POST without a body: a client must set it.
    let unlock = api.url(&format!(
        "/api/v1/users/{}/lifecycle/unlock",
        api.sim.admin_id()
    ));
    let resp = api
        .http
        .post(&unlock)
        .header("Authorization", api.auth())
        .send()
        .await
        .unwrap();
    error_body(resp, 411, "E0000001").await;
    let resp = api
        .http
        .post(&unlock)
        .header("Authorization", api.auth())
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        411,
        "hyper omits Content-Length even for an empty body"
    );
    let resp = api
        .http
        .post(&unlock)
        .header("Authorization", api.auth())
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // 429 once a family's budget is spent; other families are unaffected.
    api.sim.advance_time(chrono::Duration::seconds(61));
    api.sim.set_rate_limit(EndpointFamily::Users, 2);
    let first = api.get("/api/v1/users?limit=1").await;
    assert_eq!(first.headers()["x-rate-limit-limit"], "2");
    assert_eq!(first.headers()["x-rate-limit-remaining"], "1");
    let reset: i64 = first.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        reset > api.sim.clock().now().timestamp()
            && reset <= api.sim.clock().now().timestamp() + 61
    );
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.headers()["x-rate-limit-remaining"],
        "0"
    );
    let limited = api.get("/api/v1/users?limit=1").await;
    assert_eq!(limited.headers()["x-rate-limit-remaining"], "0");
    let body = error_body(limited, 429, "E0000047").await;
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    assert_eq!(
        api.get("/api/v1/logs?limit=1").await.status(),
        StatusCode::OK
    );
    api.sim.advance_time(chrono::Duration::seconds(61));
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn lifecycle_rules_and_recorded_mutations() {
    let mut cfg = config(30, 0);
    cfg.async_deactivate_delay = Duration::from_secs(1);
    let api = Api::start(cfg);
    let active = api.sim.users_with_status(UserStatus::Active);
    let id = active
        .iter()
        .find(|u| **u != api.sim.admin_id())
        .unwrap()
        .clone();

    let resp = api
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_rate_headers(resp.headers());
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("SUSPENDED"));
    let user: Value = api
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(user["_links"].get("unsuspend").is_some());
    assert!(user["_links"].get("suspend").is_none());

    let body = error_body(
        api.post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
            .await,
        400,
        "E0000001",
    )
    .await;
    assert!(body["errorSummary"]
        .as_str()
        .unwrap()
        .starts_with("Api validation failed:"));
    assert!(!body["errorCauses"].as_array().unwrap().is_empty());

    assert_eq!(
        api.post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("ACTIVE"));
    error_body(
        api.post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
            .await,
        400,
        "E0000001",
    )
    .await;

    // reset_factors removes every factor.
    assert_eq!(
        api.post(&format!(
            "/api/v1/users/{}/lifecycle/reset_factors",
            api.sim.admin_id()
        ))
        .await
        .status(),
        StatusCode::OK
    );
    let factors: Vec<Value> = api
        .get(&format!("/api/v1/users/{}/factors", api.sim.admin_id()))
        .await
        .json()
        .await
        .unwrap();
    assert!(factors.is_empty());

    // unlock only from LOCKED_OUT (or ACTIVE); the locked-out user becomes ACTIVE.
    let locked = api.sim.users_with_status(UserStatus::LockedOut)[0].clone();
    let staged = api.sim.users_with_status(UserStatus::Staged)[0].clone();
    assert_eq!(
        api.post(&format!("/api/v1/users/{locked}/lifecycle/unlock"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(api.sim.user_status(&locked).as_deref(), Some("ACTIVE"));
    error_body(
        api.post(&format!("/api/v1/users/{staged}/lifecycle/unlock"))
            .await,
        400,
        "E0000001",
    )
    .await;

    // Sessions: 204, query kept in the record.
    let resp = api
        .delete(&format!("/api/v1/users/{id}/sessions?oauthTokens=true"))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    // deactivate works from any status but DEPROVISIONED; by login too.
    let login = api.sim.user_json(&id).unwrap()["profile"]["login"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.post(&format!("/api/v1/users/{login}/lifecycle/deactivate"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("DEPROVISIONED"));
    error_body(
        api.post(&format!("/api/v1/users/{id}/lifecycle/deactivate"))
            .await,
        400,
        "E0000001",
    )
    .await;
    assert_eq!(
        api.post(&format!("/api/v1/users/{staged}/lifecycle/deactivate"))
            .await
            .status(),
        StatusCode::OK
    );

    // Asynchronous deactivation shows transitioningToStatus first.
    let other = api.sim.users_with_status(UserStatus::Suspended)[0].clone();
    let resp = api
        .http
        .post(api.url(&format!("/api/v1/users/{other}/lifecycle/deactivate")))
        .header("Authorization", api.auth())
        .header("Prefer", "respond-async")
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mid: Value = api
        .get(&format!("/api/v1/users/{other}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mid["transitioningToStatus"], "DEPROVISIONED");
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.sim.user_status(&other).as_deref() != Some("DEPROVISIONED") {
        assert!(
            Instant::now() < deadline,
            "asynchronous deactivation never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        api.sim.user_status(&other).as_deref(),
        Some("DEPROVISIONED")
    );

    let calls = api.sim.mutations();
    let suspend = &calls[0];
    assert_eq!(suspend.method, "POST");
    assert_eq!(
        suspend.path,
        format!("/api/v1/users/{id}/lifecycle/suspend")
    );
    assert_eq!(suspend.user_id.as_deref(), Some(id.as_str()));
    assert_eq!(suspend.status, 200);
    assert_eq!(calls[1].status, 400);
    let sessions = calls
        .iter()
        .find(|c| c.path.ends_with("/sessions"))
        .unwrap();
    assert_eq!(sessions.method, "DELETE");
    assert_eq!(sessions.query.as_deref(), Some("oauthTokens=true"));
    let by_login = calls.iter().find(|c| c.path.contains('@')).unwrap();
    assert_eq!(
        by_login.user_id.as_deref(),
        Some(id.as_str()),
        "login resolved to the id"
    );
    assert!(calls.iter().all(|c| c.method != "GET"));

    // Every successful action is in the System Log too.
    let suspends: Vec<Value> = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22user.lifecycle.suspend%22")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspends.len(), 1);
    assert_eq!(suspends[0]["target"][0]["id"], id);
    assert_eq!(suspends[0]["actor"]["id"], api.sim.admin_id());
}

#[tokio::test]
async fn log_polling_always_has_next_and_sees_new_events() {
    let api = Api::start(config(20, 250));
    let total = api.sim.event_count();
    assert!(total >= 250);
    let mut url = "/api/v1/logs?since=2025-05-25T00:00:00.000Z&limit=100".to_string();
    let mut got = Vec::new();
    let mut last_page_empty = false;
    for _ in 0..20 {
        let resp = api.get(&url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let next = next_link(resp.headers()).expect("polling always has a next link");
        assert!(
            !next.contains("since="),
            "next link must not combine since and after: {next}"
        );
        let page: Vec<Value> = resp.json().await.unwrap();
        url = next;
        if page.is_empty() {
            last_page_empty = true;
            break;
        }
        for e in &page {
            assert_keys(e, "logEvent");
            assert_keys(&e["client"], "client");
            assert_keys(&e["client"]["geographicalContext"], "geographicalContext");
            assert!(e["client"]["geographicalContext"]["postalCode"].is_string());
            assert_keys(&e["authenticationContext"], "authenticationContext");
            assert_keys(&e["securityContext"], "securityContext");
        }
        got.extend(page);
    }
    assert!(last_page_empty);
    assert_eq!(got.len(), total);
    for kind in [
        "user.session.start",
        "user.authentication.auth_via_mfa",
        "system.push.send_factor_verify_push",
        "user.mfa.okta_verify.deny_push",
        "policy.evaluate_sign_on",
        "security.threat.detected",
    ] {
        assert!(got.iter().any(|e| e["eventType"] == kind), "no {kind}");
    }
    assert!(got
        .iter()
        .any(|e| e["outcome"]["reason"] == "INVALID_CREDENTIALS"));

    // An empty page again, still with a next link.
    let resp = api.get(&url).await;
    let again = next_link(resp.headers()).unwrap();
    assert!(resp.json::<Vec<Value>>().await.unwrap().is_empty());

    // New events, including a late one (published earlier), appear on the next poll.
    let late = fixture("late_failed_login.json");
    let admin = api.sim.admin_id();
    let fresh = api
        .sim
        .make_event(
            &admin,
            "user.session.start",
            "FAILURE",
            Some("INVALID_CREDENTIALS"),
        )
        .unwrap();
    let uuids = api.sim.append_events([late.clone(), fresh]);
    let resp = api.get(&again).await;
    let next = next_link(resp.headers()).unwrap();
    let page: Vec<Value> = resp.json().await.unwrap();
    let page_uuids: Vec<&str> = page.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(
        page_uuids,
        uuids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(page[0], late);
    assert!(api
        .get(&next)
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .is_empty());

    // Filters apply to polling too.
    let resp = api.get("/api/v1/logs?filter=eventType%20eq%20%22user.session.start%22%20and%20outcome.result%20eq%20%22FAILURE%22&limit=1000").await;
    let failed: Vec<Value> = resp.json().await.unwrap();
    assert!(failed.len() >= 2);
    assert!(failed
        .iter()
        .all(|e| e["eventType"] == "user.session.start" && e["outcome"]["result"] == "FAILURE"));
    let by_actor: Vec<Value> = api
        .get(&format!(
            "/api/v1/logs?filter=actor.id%20eq%20%22{admin}%22&limit=1000"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(by_actor.iter().all(|e| e["actor"]["id"] == admin.as_str()) && !by_actor.is_empty());
    let amsterdam: Vec<Value> = api
        .get("/api/v1/logs?q=amsterdam&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert!(amsterdam.iter().any(|e| e["uuid"] == late["uuid"]));
}

#[tokio::test]
async fn bounded_log_queries_end() {
    let api = Api::start(config(20, 300));
    let since = "2025-05-29T00:00:00.000Z";
    let until = "2025-05-31T00:00:00.000Z";
    for order in ["ASCENDING", "DESCENDING"] {
        let mut url =
            format!("/api/v1/logs?since={since}&until={until}&limit=40&sortOrder={order}");
        let mut got: Vec<Value> = Vec::new();
        let mut pages = 0;
        loop {
            let resp = api.get(&url).await;
            assert_eq!(resp.status(), StatusCode::OK, "{url}");
            let next = next_link(resp.headers());
            got.extend(resp.json::<Vec<Value>>().await.unwrap());
            pages += 1;
            match next {
                Some(n) => {
                    assert!(n.contains("until=") && !n.contains("since="), "{n}");
                    url = n;
                }
                None => break,
            }
            assert!(pages < 100);
        }
        assert!(pages > 1);
        let published: Vec<&str> = got
            .iter()
            .map(|e| e["published"].as_str().unwrap())
            .collect();
        let mut sorted = published.clone();
        sorted.sort();
        if order == "DESCENDING" {
            sorted.reverse();
        }
        assert_eq!(published, sorted, "{order} order by published");
        assert!(published.iter().all(|p| *p >= since && *p < until));
        let expected = api
            .sim
            .events()
            .iter()
            .filter(|e| {
                let p = e["published"].as_str().unwrap();
                p >= since && p < until
            })
            .count();
        assert_eq!(got.len(), expected);
    }
}

#[tokio::test]
async fn injected_faults() {
    let api = Api::start(config(10, 10));

    api.sim.inject(Fault::burst_429(2));
    for _ in 0..2 {
        let resp = api.get("/api/v1/users?limit=1").await;
        assert_eq!(resp.headers()["x-rate-limit-remaining"], "0");
        error_body(resp, 429, "E0000047").await;
    }
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );

    api.sim.inject(Fault::server_error(1));
    api.sim.inject(Fault::unavailable(1));
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status().as_u16(),
        500
    );
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status().as_u16(),
        503
    );
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );

    api.sim.inject(Fault::delay(Duration::from_millis(300), 1));
    let started = Instant::now();
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A reset gives the client no response at all.
    api.sim.inject(Fault::reset(1));
    let err = api
        .http
        .get(api.url("/api/v1/users?limit=1"))
        .header("Authorization", api.auth())
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );

    // Truncated bodies: cut JSON, and a Content-Length longer than what is sent.
    api.sim.inject(Fault::truncate(Truncation::CutJson, 1));
    let resp = api.get("/api/v1/users?limit=2").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    api.sim
        .inject(Fault::truncate(Truncation::ContentLengthTooLong, 1));
    let resp = api.get("/api/v1/users?limit=2").await;
    assert!(resp.bytes().await.is_err());

    // Faults can be scoped to a path.
    api.sim.inject_on("/api/v1/logs", Fault::server_error(1));
    assert_eq!(
        api.get("/api/v1/users?limit=1").await.status(),
        StatusCode::OK
    );
    assert_eq!(api.get("/api/v1/logs?limit=1").await.status().as_u16(), 500);
    assert_eq!(api.sim.pending_faults(), 0);

    // Faulted mutating calls are recorded with what was answered.
    api.sim.inject(Fault::server_error(1));
    let id = api.sim.users_with_status(UserStatus::Suspended)[0].clone();
    assert_eq!(
        api.post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
            .await
            .status()
            .as_u16(),
        500
    );
    assert_eq!(api.sim.user_status(&id).as_deref(), Some("SUSPENDED"));
    assert_eq!(api.sim.mutations().last().unwrap().status, 500);
}

#[derive(Default)]
struct Receiver {
    /// Statuses to answer, in order (then 200).
    script: Mutex<Vec<u16>>,
    /// How long to wait before answering.
    delay: Mutex<Duration>,
    /// (method, headers, body) of each request.
    seen: Mutex<Vec<(String, HeaderMap, String)>>,
}

async fn spawn_receiver(state: Arc<Receiver>) -> String {
    async fn verify(
        axum::extract::State(s): axum::extract::State<Arc<Receiver>>,
        headers: HeaderMap,
    ) -> axum::Json<Value> {
        s.seen
            .lock()
            .unwrap()
            .push(("GET".into(), headers.clone(), String::new()));
        let challenge = headers["x-okta-verification-challenge"]
            .to_str()
            .unwrap()
            .to_string();
        axum::Json(json!({ "verification": challenge }))
    }
    async fn deliver(
        axum::extract::State(s): axum::extract::State<Arc<Receiver>>,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        s.seen.lock().unwrap().push(("POST".into(), headers, body));
        let delay = *s.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        let mut script = s.script.lock().unwrap();
        let code = if script.is_empty() {
            200
        } else {
            script.remove(0)
        };
        StatusCode::from_u16(code).unwrap()
    }
    let app = axum::Router::new()
        .route("/hook", get(verify).post(deliver))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn event_hook_verification_and_delivery() {
    let mut cfg = config(10, 20);
    cfg.hook_timeout = Duration::from_secs(1);
    let sim = OktaSim::new(cfg);
    let receiver = Arc::new(Receiver::default());
    let url = spawn_receiver(receiver.clone()).await;

    let v = sim.verify_event_hook(&url, "my-shared-secret").await;
    assert!(v.verified, "{v:?}");
    assert_eq!(v.attempts.len(), 1);
    assert_eq!(v.answer.as_deref(), Some(v.challenge.as_str()));
    {
        let seen = receiver.seen.lock().unwrap();
        assert_eq!(seen[0].1["authorization"], "my-shared-secret");
        assert_eq!(
            seen[0].1["x-okta-verification-challenge"].to_str().unwrap(),
            v.challenge
        );
    }

    let events: Vec<Value> = sim.events().into_iter().take(3).collect();
    let d = sim
        .deliver_event_hook(&url, "my-shared-secret", events.clone())
        .await;
    assert!(d.delivered && d.attempts.len() == 1, "{d:?}");
    {
        let seen = receiver.seen.lock().unwrap();
        let (method, headers, body) = seen.last().unwrap();
        assert_eq!(method, "POST");
        assert_eq!(headers["authorization"], "my-shared-secret");
        assert_eq!(headers["content-type"], "application/json");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["eventType"], "com.okta.event_hook");
        assert_eq!(body["eventTypeVersion"], "1.0");
        assert_eq!(body["cloudEventsVersion"], "0.1");
        assert_eq!(body["contentType"], "application/json");
        assert_eq!(body["eventId"], d.event_id.as_str());
        assert!(body["source"]
            .as_str()
            .unwrap()
            .contains("/api/v1/eventHooks/"));
        assert!(body["eventTime"].is_string());
        assert_eq!(body["data"]["events"], Value::Array(events.clone()));
    }

    // 5xx is retried once, with the same eventId.
    *receiver.script.lock().unwrap() = vec![503];
    let before = receiver.seen.lock().unwrap().len();
    let d = sim.deliver_event_hook(&url, "s", events.clone()).await;
    assert!(d.delivered);
    assert_eq!(
        d.attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(503), Some(200)]
    );
    let seen = receiver.seen.lock().unwrap().split_off(before);
    let ids: Vec<Value> = seen
        .iter()
        .map(|(_, _, b)| serde_json::from_str::<Value>(b).unwrap()["eventId"].clone())
        .collect();
    assert_eq!(ids[0], ids[1]);

    // 4xx is never retried.
    *receiver.script.lock().unwrap() = vec![400];
    let d = sim.deliver_event_hook(&url, "s", events.clone()).await;
    assert!(!d.delivered);
    assert_eq!(d.attempts.len(), 1);

    // Timeouts are retried once, then the failure lands in the System Log.
    *receiver.delay.lock().unwrap() = Duration::from_millis(2500);
    let logged_before = sim.event_count();
    let d = sim.deliver_event_hook(&url, "s", events).await;
    assert!(!d.delivered);
    assert_eq!(d.attempts.len(), 2);
    assert!(d.attempts.iter().all(|a| a.timed_out));
    assert_eq!(
        sim.event_count(),
        logged_before + 1,
        "the failed delivery was logged"
    );
    let last = sim.events().pop().unwrap();
    assert_eq!(last["eventType"], "event_hook.delivery");
    assert_eq!(last["outcome"]["result"], "FAILURE");

    // A wrong answer to the challenge fails verification.
    let bad = sim.verify_event_hook(&format!("{url}-missing"), "s").await;
    assert!(!bad.verified);
    assert_eq!(bad.attempts[0].status, Some(404));
}

/// Follows `_links.next` through the role assignees list from `first`;
/// returns the user ids in order and the number of pages.
async fn all_assignees(api: &Api, first: &str) -> (Vec<String>, usize) {
    let mut url = first.to_string();
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let resp = api.get(&url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_rate_headers(resp.headers());
        let body: Value = resp.json().await.unwrap();
        pages += 1;
        for u in body["value"].as_array().unwrap() {
            assert_keys(u, "roleAssignedUser");
            ids.push(u["id"].as_str().unwrap().to_string());
        }
        match body["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
        assert!(pages < 100, "paging never ends");
    }
    (ids, pages)
}

/// Roles of a user as the API lists them.
async fn role_types(api: &Api, user_id: &str) -> Vec<String> {
    let resp = api.get(&format!("/api/v1/users/{user_id}/roles")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let roles: Value = resp.json().await.unwrap();
    roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn role_assignees_page_through_every_holder() {
    let api = Api::start(config(150, 0));
    let sim = &api.sim;
    // Seeded: the admin and about 1 in 50 users; a few more give several pages.
    let seeded = sim.users_with_roles();
    let extra: Vec<String> = sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .filter(|id| !seeded.contains(id))
        .take(4)
        .collect();
    for (id, t) in extra
        .iter()
        .zip(["ORG_ADMIN", "APP_ADMIN", "USER_ADMIN", "READ_ONLY_ADMIN"])
    {
        assert!(sim.assign_role(id, t));
    }
    let holders = sim.users_with_roles();
    assert!(holders.contains(&sim.admin_id()));
    assert_eq!(holders.len(), seeded.len() + 4);
    assert!(holders.windows(2).all(|w| w[0] < w[1]), "sorted");

    let (ids, pages) = all_assignees(&api, "/api/v1/iam/assignees/users?limit=2").await;
    assert_eq!(ids, holders);
    assert_eq!(pages, holders.len().div_ceil(2));

    // One entry and the next link, exactly as in the spec's example.
    let base = api.running.base_url();
    let body: Value = api
        .get("/api/v1/iam/assignees/users?limit=1")
        .await
        .json()
        .await
        .unwrap();
    let first = &body["value"][0];
    let id = first["id"].as_str().unwrap();
    assert_eq!(id, holders[0]);
    let href = format!("{base}/api/v1/users/{id}");
    assert_eq!(first["_links"]["self"]["href"], href);
    assert_eq!(first["_links"]["roles"]["href"], format!("{href}/roles"));
    let orn = first["orn"].as_str().unwrap();
    assert!(orn.starts_with("orn:okta:00o"), "{orn}");
    assert!(orn.ends_with(&format!(":users:{id}")), "{orn}");
    assert_eq!(
        body["_links"]["next"]["href"],
        format!("{base}/api/v1/iam/assignees/users?after={id}&limit=1")
    );

    // Default limit (100): everything on one page, no next link.
    let body: Value = api
        .get("/api/v1/iam/assignees/users")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), holders.len());
    assert!(body["_links"].get("next").is_none(), "{body}");
    // A cursor past the last holder gives an empty page.
    let last = holders.last().unwrap();
    let (ids, _) = all_assignees(&api, &format!("/api/v1/iam/assignees/users?after={last}")).await;
    assert!(ids.is_empty());

    for bad in ["0", "-1", "ten"] {
        let resp = api
            .get(&format!("/api/v1/iam/assignees/users?limit={bad}"))
            .await;
        error_body(resp, 400, "E0000001").await;
    }
}

#[tokio::test]
async fn roles_of_a_user_and_errors() {
    let api = Api::start(config(30, 0));
    let admin = api.sim.admin_id();
    let resp = api.get(&format!("/api/v1/users/{admin}/roles")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_rate_headers(resp.headers());
    let roles: Value = resp.json().await.unwrap();
    let roles = roles.as_array().unwrap();
    assert!(
        roles.iter().any(|r| r["type"] == "SUPER_ADMIN"),
        "{roles:?}"
    );
    let base = api.running.base_url();
    for r in roles {
        assert_keys(r, "role");
        assert_eq!(r["status"], "ACTIVE");
        assert_eq!(r["assignmentType"], "USER");
        assert_eq!(
            r["_links"]["assignee"]["href"],
            format!("{base}/api/v1/users/{admin}")
        );
        assert!(chrono::DateTime::parse_from_rfc3339(r["created"].as_str().unwrap()).is_ok());
    }
    // A user without roles gets an empty array.
    let plain = api
        .sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .find(|id| !api.sim.users_with_roles().contains(id))
        .unwrap();
    assert!(role_types(&api, &plain).await.is_empty());

    let resp = api.get("/api/v1/users/00uNoSuchUser0000000/roles").await;
    let body = error_body(resp, 404, "E0000007").await;
    assert!(
        body["errorSummary"]
            .as_str()
            .unwrap()
            .contains("00uNoSuchUser0000000"),
        "{body}"
    );

    for path in [
        format!("/api/v1/users/{admin}/roles"),
        "/api/v1/iam/assignees/users".to_string(),
    ] {
        let resp = api.http.get(api.url(&path)).send().await.unwrap();
        error_body(resp, 401, "E0000011").await;
    }
}

#[tokio::test]
async fn assigning_roles_shows_in_both_routes_and_keeps_last_updated() {
    let api = Api::start(config(30, 0));
    let sim = &api.sim;
    let uid = sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .find(|id| !sim.users_with_roles().contains(id))
        .unwrap();
    let user_path = format!("/api/v1/users/{uid}");
    let before: Value = api.get(&user_path).await.json().await.unwrap();
    sim.advance_time(chrono::Duration::hours(2));

    assert!(sim.assign_role(&uid, "HELP_DESK_ADMIN"));
    assert!(
        sim.assign_role(&uid, "HELP_DESK_ADMIN"),
        "already held: no-op"
    );
    assert!(sim.assign_role(&uid, "REPORT_ADMIN"));
    assert!(!sim.assign_role("00uNoSuchUser0000000", "ORG_ADMIN"));
    assert!(!sim.assign_role(&uid, "NOT_A_ROLE"));
    assert_eq!(
        role_types(&api, &uid).await,
        ["HELP_DESK_ADMIN", "REPORT_ADMIN"]
    );
    assert!(sim.users_with_roles().contains(&uid));
    let (ids, _) = all_assignees(&api, "/api/v1/iam/assignees/users").await;
    assert_eq!(ids, sim.users_with_roles());
    let after: Value = api.get(&user_path).await.json().await.unwrap();
    assert_eq!(after["lastUpdated"], before["lastUpdated"]);

    sim.unassign_roles(&uid);
    assert!(role_types(&api, &uid).await.is_empty());
    assert!(!sim.users_with_roles().contains(&uid));
    let (ids, _) = all_assignees(&api, "/api/v1/iam/assignees/users").await;
    assert!(!ids.contains(&uid));
    assert_eq!(ids, sim.users_with_roles());
    let after: Value = api.get(&user_path).await.json().await.unwrap();
    assert_eq!(after["lastUpdated"], before["lastUpdated"]);

    // The admin's SUPER_ADMIN goes the same way.
    sim.unassign_roles(&sim.admin_id());
    assert!(role_types(&api, &sim.admin_id()).await.is_empty());
}

#[test]
fn about_one_user_in_fifty_holds_a_role() {
    let sim = OktaSim::new(config(2000, 0));
    let holders = sim.users_with_roles();
    assert!(holders.contains(&sim.admin_id()));
    assert!((15..=70).contains(&holders.len()), "{}", holders.len());
}

#[test]
fn same_seed_same_org() {
    let a = OktaSim::new(config(60, 200));
    let b = OktaSim::new(config(60, 200));
    assert_eq!(a.admin_id(), b.admin_id());
    assert_eq!(
        a.users_with_status(UserStatus::Active),
        b.users_with_status(UserStatus::Active)
    );
    assert_eq!(a.events(), b.events());
    assert_eq!(a.users_with_roles(), b.users_with_roles());
}
