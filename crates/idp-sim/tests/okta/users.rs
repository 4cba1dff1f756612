//! Users API: paging with Link headers, DEPROVISIONED visibility, the
//! `lastUpdated` filter carried into next links, and single-user routes
//! (`me`, login lookup, groups, factors).

use axum::http::StatusCode;
use gatehouse_idp_sim::okta::{NewUser, UserStatus};
use serde_json::{json, Value};

use crate::support::{assert_keys, assert_rate_headers, config, links, next_link, Api};

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
async fn page_caps_shorten_pages_and_the_call_log_keeps_the_links_answered() {
    use gatehouse_idp_sim::okta::{EndpointFamily, OktaConfig};
    let api = Api::start(OktaConfig {
        page_caps: [(EndpointFamily::Users, 3)].into(),
        ..config(12, 0)
    });
    let resp = api.get("/api/v1/users?limit=200").await;
    let next = next_link(resp.headers()).expect("a capped page links onward");
    assert!(
        next.contains("limit=200"),
        "links keep the client's limit: {next}"
    );
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(page.len(), 3);
    let calls = api.sim.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 200);
    assert!(
        calls[0]
            .link
            .iter()
            .any(|l| l.contains(&next) && l.contains("rel=\"next\"")),
        "{:?}",
        calls[0].link
    );
    assert!(api.sim.mutations().is_empty(), "reads are not mutations");
}

#[tokio::test]
async fn an_org_imported_from_okta_json_serves_those_objects() {
    let api = Api::start(config(8, 0));
    api.sim.clear_directory();
    let user = json!({
        "id": "00u1importedUser01d6", "status": "SUSPENDED",
        "created": "2020-01-01T00:00:00.000Z", "lastUpdated": "2021-01-01T00:00:00.000Z",
        "profile": {"login": "imported@example.com", "firstName": "Im", "lastName": "Ported"}
    });
    let id = api.sim.import_user(&user).unwrap();
    assert!(api.sim.set_token_owner(&id));
    let me: Value = api.get("/api/v1/users/me").await.json().await.unwrap();
    assert_eq!(
        (me["id"].as_str(), me["status"].as_str()),
        (Some(id.as_str()), Some("SUSPENDED"))
    );
    assert_eq!(me["lastUpdated"], "2021-01-01T00:00:00.000Z");
    let listed: Vec<Value> = api.get("/api/v1/users").await.json().await.unwrap();
    assert_eq!(listed.len(), 1, "only the imported user");
    assert!(api
        .sim
        .import_user(&json!({"id": "x", "status": "NOPE"}))
        .is_err());
}
