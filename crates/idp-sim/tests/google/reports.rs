//! Reports login activities: newest first, time window, eventName and
//! filters, paging, and the reporting lag (including an old event that
//! shows late).

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{config, google_error, Api};

const LOGIN: &str = "/admin/reports/v1/activity/users/all/applications/login";

async fn all_items(api: &Api, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = first.to_string();
    loop {
        let page = api.get_json(&url).await;
        assert_eq!(page["kind"], "admin#reports#activities");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["nextPageToken"].as_str() {
            Some(t) => url = format!("{first}&pageToken={t}"),
            None => return out,
        }
    }
}

#[tokio::test]
async fn newest_first_paged_and_windowed() {
    let api = Api::start(config(20, 250)).await;
    let items = all_items(&api, &format!("{LOGIN}?maxResults=100")).await;
    assert_eq!(items.len(), 250);
    let times: Vec<&str> = items
        .iter()
        .map(|a| a["id"]["time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    let start = "2025-05-31T00:00:00.000Z";
    let windowed = all_items(&api, &format!("{LOGIN}?startTime={start}&maxResults=50")).await;
    assert!(!windowed.is_empty() && windowed.len() < 250);
    assert!(windowed
        .iter()
        .all(|a| a["id"]["time"].as_str().unwrap() >= start));
    let failures = all_items(&api, &format!("{LOGIN}?eventName=login_failure")).await;
    assert!(!failures.is_empty());
    assert!(failures
        .iter()
        .all(|a| a["events"][0]["name"] == "login_failure"));
    google_error(
        api.get(&format!("{LOGIN}?maxResults=1001")).await,
        400,
        "invalid",
    )
    .await;
    google_error(
        api.get(&format!(
            "{LOGIN}?startTime=2025-06-01T00:00:00Z&endTime=2025-05-01T00:00:00Z"
        ))
        .await,
        400,
        "invalid",
    )
    .await;
}

#[tokio::test]
async fn filters_and_user_key() {
    let api = Api::start(config(20, 0)).await;
    api.sim.add_activity(json!({
        "actor": {"email": "admin@example.com"},
        "events": [{"type": "login", "name": "login_success", "parameters": [
            {"name": "login_type", "value": "google_password"},
            {"name": "is_suspicious", "boolValue": true}
        ]}]
    }));
    api.sim.add_logins(10, Duration::from_secs(600));
    api.sim.advance(Duration::from_secs(300));
    let hits = all_items(
        &api,
        &format!("{LOGIN}?eventName=login_success&filters=is_suspicious%3D%3Dtrue"),
    )
    .await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["actor"]["email"], "admin@example.com");
    let admin_id = api.sim.user("admin@example.com").unwrap()["id"].clone();
    assert_eq!(hits[0]["actor"]["profileId"], admin_id);
    let mine = all_items(
        &api,
        "/admin/reports/v1/activity/users/admin@example.com/applications/login?",
    )
    .await;
    assert!(mine
        .iter()
        .all(|a| a["actor"]["email"] == "admin@example.com"));
}

#[tokio::test]
async fn reporting_lag_hides_then_shows() {
    let api = Api::start(config(5, 0)).await;
    let (time, uq) = api.sim.add_activity(json!({}));
    assert!(all_items(&api, &format!("{LOGIN}?")).await.is_empty());
    api.sim.advance(Duration::from_secs(121));
    let items = all_items(&api, &format!("{LOGIN}?")).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"]["time"], time.as_str());
    assert_eq!(items[0]["id"]["uniqueQualifier"], uq.as_str());
    // An event from an hour ago that shows only in 30 minutes.
    let old = (api.sim.clock().now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    api.sim
        .add_activity_visible_after(json!({"id": {"time": old}}), Duration::from_secs(90 * 60));
    assert_eq!(all_items(&api, &format!("{LOGIN}?")).await.len(), 1);
    api.sim.advance(Duration::from_secs(31 * 60));
    let items = all_items(&api, &format!("{LOGIN}?")).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["id"]["time"], old.as_str());
}

#[tokio::test]
async fn bulk_logins_with_their_own_lag_show_behind_newer_ones() {
    let api = Api::start(config(5, 0)).await;
    let newer = api
        .sim
        .add_logins_visible_after(3, Duration::from_secs(600), Duration::ZERO);
    let late = api.sim.add_logins_visible_after(
        4,
        Duration::from_secs(3600),
        Duration::from_secs(3600 + 300),
    );
    // The library sees every activity; the API only those past their lag.
    assert_eq!(api.sim.activities().len(), 7);
    let shown = all_items(&api, &format!("{LOGIN}?")).await;
    let ids: Vec<(String, String)> = shown
        .iter()
        .map(|a| {
            (
                a["id"]["time"].as_str().unwrap().to_owned(),
                a["id"]["uniqueQualifier"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ids, newer);
    api.sim.advance(Duration::from_secs(301));
    let shown = all_items(&api, &format!("{LOGIN}?")).await;
    assert_eq!(shown.len(), 7);
    for (time, _) in &late {
        assert!(shown.iter().any(|a| a["id"]["time"] == time.as_str()));
    }
}
