//! Admin role assignments: paging role assignees, roles of a user and their
//! errors, assigning and unassigning, how many users hold roles, and that the
//! same seed builds the same org.

use axum::http::StatusCode;
use gatehouse_idp_sim::okta::{OktaSim, UserStatus};
use serde_json::Value;

use crate::support::{assert_keys, assert_rate_headers, config, error_body, Api};

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
