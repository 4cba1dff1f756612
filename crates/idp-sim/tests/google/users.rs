//! Directory users: paging with maxResults/pageToken, projection, query,
//! get by id or email, 404, and a 100,000-user org built fast.

use std::collections::BTreeSet;
use std::time::Instant;

use gatehouse_idp_sim::google::{GoogleSim, NewUser};
use serde_json::{json, Value};

use crate::support::{config, google_error, Api};

async fn all_pages(api: &Api, first: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut url = first.to_string();
    loop {
        let page = api.get_json(&url).await;
        pages += 1;
        assert_eq!(page["kind"], "admin#directory#users");
        out.extend(page["users"].as_array().cloned().unwrap_or_default());
        match page["nextPageToken"].as_str() {
            Some(t) => url = format!("{first}&pageToken={t}"),
            None => return (out, pages),
        }
    }
}

#[tokio::test]
async fn pages_cover_every_user_once() {
    let api = Api::start(config(230, 0)).await;
    let (users, pages) = all_pages(
        &api,
        "/admin/directory/v1/users?customer=my_customer&maxResults=100",
    )
    .await;
    assert_eq!(users.len(), 230);
    assert_eq!(pages, 3);
    let ids: BTreeSet<_> = users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 230);
    let (by_email, _) = all_pages(
        &api,
        "/admin/directory/v1/users?customer=my_customer&maxResults=7&orderBy=email",
    )
    .await;
    let emails: Vec<_> = by_email
        .iter()
        .map(|u| u["primaryEmail"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);
    // The default page is 100.
    let page = api
        .get_json("/admin/directory/v1/users?customer=my_customer")
        .await;
    assert_eq!(page["users"].as_array().unwrap().len(), 100);
    // 501 is out of range, and so is 0.
    for bad in ["501", "0"] {
        let resp = api
            .get(&format!(
                "/admin/directory/v1/users?customer=my_customer&maxResults={bad}"
            ))
            .await;
        google_error(resp, 400, "invalid").await;
    }
    google_error(
        api.get("/admin/directory/v1/users").await,
        400,
        "badRequest",
    )
    .await;
}

#[tokio::test]
async fn projection_query_and_get() {
    let api = Api::start(config(20, 0)).await;
    let id = api.sim.add_user(NewUser {
        primary_email: Some("zed@example.com".into()),
        suspended: true,
        manager: Some("admin@example.com".into()),
        ..NewUser::default()
    });
    api.sim
        .update_user(&id, &json!({"customSchemas": {"HR": {"badge": "42"}}}));
    let basic = api
        .get_json("/admin/directory/v1/users/zed@example.com")
        .await;
    assert!(basic.get("customSchemas").is_none());
    assert_eq!(basic["suspended"], true);
    assert_eq!(basic["relations"][0]["type"], "manager");
    let full = api
        .get_json(&format!("/admin/directory/v1/users/{id}?projection=full"))
        .await;
    assert_eq!(full["customSchemas"]["HR"]["badge"], "42");
    let suspended = api.get_json("/admin/directory/v1/users?customer=my_customer&query=isSuspended%3Dtrue&maxResults=500").await;
    let list = suspended["users"].as_array().unwrap();
    assert!(list.iter().all(|u| u["suspended"] == true));
    assert!(list.iter().any(|u| u["id"] == id.as_str()));
    let body = google_error(
        api.get("/admin/directory/v1/users/ghost@example.com").await,
        404,
        "notFound",
    )
    .await;
    assert_eq!(body["error"]["message"], "Resource Not Found: userKey");
}

#[test]
fn a_hundred_thousand_users_build_fast() {
    let started = Instant::now();
    let sim = GoogleSim::new(config(100_000, 1000));
    assert_eq!(sim.user_ids().len(), 100_000);
    // About a second alone in a debug build; the bound catches a quadratic build, not a busy
    // machine (seen at 6.6 s with both cores shared by other test processes).
    assert!(
        started.elapsed().as_secs_f64() < 15.0,
        "{:?}",
        started.elapsed()
    );
}
