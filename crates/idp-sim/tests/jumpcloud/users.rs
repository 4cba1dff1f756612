//! `GET /api/systemusers`: limit/skip paging, sort, filter, fields, the
//! 100 cap, churn between page requests, and `GET /api/systemusers/{id}`.

use std::collections::BTreeSet;
use std::time::Instant;

use gatehouse_idp_sim::jumpcloud::{Churn, JumpCloudSim, NewUser};
use serde_json::Value;

use crate::support::{config, jc_error, Api};

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pages_with_limit_and_skip_cover_every_user_once() {
    let api = Api::start(config(57, 0)).await;
    let first = api.get_json("/api/systemusers").await;
    assert_eq!(first["totalCount"], 57);
    assert_eq!(
        first["results"].as_array().unwrap().len(),
        10,
        "default limit is 10"
    );

    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let page = api
            .get_json(&format!("/api/systemusers?limit=20&skip={skip}&sort=_id"))
            .await;
        let got = ids(&page);
        if got.is_empty() {
            break;
        }
        skip += got.len();
        seen.extend(got);
    }
    assert_eq!(seen, api.sim.user_ids());
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 57);
    // `_id` order is creation order, descending with `-_id`.
    let desc = api.get_json("/api/systemusers?limit=3&sort=-_id").await;
    let mut last3: Vec<String> = api.sim.user_ids().into_iter().rev().take(3).collect();
    assert_eq!(ids(&desc), last3);
    last3.sort();
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn limit_above_100_is_refused() {
    let api = Api::start(config(120, 0)).await;
    let ok = api.get_json("/api/systemusers?limit=100").await;
    assert_eq!(ok["results"].as_array().unwrap().len(), 100);
    jc_error(api.get("/api/systemusers?limit=101").await, 400).await;
    jc_error(api.get("/api/systemusers?limit=abc").await, 400).await;
    jc_error(api.get("/api/systemusers?skip=-1").await, 400).await;
}

#[tokio::test]
async fn filter_sort_and_fields() {
    let api = Api::start(config(30, 0)).await;
    let id = api.sim.add_user(NewUser {
        username: Some("zed.suspended".into()),
        state: Some("SUSPENDED".into()),
        ..NewUser::default()
    });
    let page = api
        .get_json("/api/systemusers?filter=username:$eq:zed.suspended")
        .await;
    assert_eq!(ids(&page), vec![id.clone()]);
    assert_eq!(page["totalCount"], 1);
    // Repeated filters are ANDed; values are case-sensitive.
    let page = api
        .get_json("/api/systemusers?filter=suspended:$eq:true&filter=username:$eq:Zed.Suspended")
        .await;
    assert_eq!(page["totalCount"], 0);
    let page = api
        .get_json("/api/systemusers?filter=state:$eq:SUSPENDED&limit=100")
        .await;
    assert!(ids(&page).contains(&id));
    assert!(page["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["suspended"] == true));

    let page = api
        .get_json("/api/systemusers?sort=-username&limit=100&fields=username email")
        .await;
    let names: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    let u = &page["results"][0];
    assert!(u.get("_id").is_some() && u.get("email").is_some());
    assert!(u.get("firstname").is_none(), "{u}");

    jc_error(api.get("/api/systemusers?filter=username").await, 400).await;
    jc_error(
        api.get("/api/systemusers?filter=username:$like:x").await,
        400,
    )
    .await;
}

#[tokio::test]
async fn churn_between_page_requests_shifts_skip_pages() {
    let api = Api::start(config(30, 0)).await;
    let before = api.sim.user_ids();
    // After the first page, two users of that page disappear: everything
    // shifts left by two and page two silently skips two users.
    api.sim.churn_after(1, Churn::RemoveAt { at: 0, count: 2 });
    // After the second page, a new user is created (last in `_id` order).
    api.sim.churn_after(2, Churn::Add(vec![NewUser::default()]));
    let p1 = ids(&api
        .get_json("/api/systemusers?limit=10&skip=0&sort=_id")
        .await);
    let p2 = ids(&api
        .get_json("/api/systemusers?limit=10&skip=10&sort=_id")
        .await);
    let p3 = api
        .get_json("/api/systemusers?limit=10&skip=20&sort=_id")
        .await;
    assert_eq!(p1, before[0..10]);
    assert_eq!(p2, before[12..22]);
    assert_eq!(p3["totalCount"], 29);
    let p3 = ids(&p3);
    assert_eq!(p3[..8], before[22..30]);
    assert_eq!(p3.len(), 9, "the new user shows on the last page");
    let seen: BTreeSet<_> = p1.iter().chain(&p2).chain(&p3).collect();
    assert!(!seen.contains(&before[10]) && !seen.contains(&before[11]));
    assert_eq!(api.sim.list_requests(), 3);
}

#[tokio::test]
async fn get_one_and_unknown_ids() {
    let api = Api::start(config(3, 0)).await;
    let id = api.sim.user_ids()[1].clone();
    let u = api.get_json(&format!("/api/systemusers/{id}")).await;
    assert_eq!(u["_id"], id.as_str());
    assert_eq!(u, api.sim.user(&id).unwrap());
    let f = api
        .get_json(&format!("/api/systemusers/{id}?fields=email"))
        .await;
    assert_eq!(f.as_object().unwrap().len(), 2, "{f}");
    jc_error(
        api.get("/api/systemusers/0123456789abcdef01234567").await,
        404,
    )
    .await;
    jc_error(api.get("/api/nothing-here").await, 404).await;
    assert!(api.sim.remove_user(&id));
    jc_error(api.get(&format!("/api/systemusers/{id}")).await, 404).await;
}

#[test]
fn hundred_thousand_users_build_fast() {
    let t = Instant::now();
    let sim = JumpCloudSim::new(config(100_000, 1000));
    assert_eq!(sim.user_ids().len(), 100_000);
    // Debug builds are several times slower than release; still well bounded.
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
}
