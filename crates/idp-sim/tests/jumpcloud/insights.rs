//! Directory Insights: time windows, `search_after` paging and its stop
//! rule, sort, services, search terms, lag, count and query errors.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{config, start_time, Api};

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn pages_with_search_after_until_fewer_than_limit() {
    let api = Api::start(config(20, 0)).await;
    let ids = api.sim.add_logins(25, Duration::from_secs(3600));
    let query = json!({
        "service": ["all"],
        "start_time": "2025-05-31T00:00:00Z",
        "end_time": "2025-06-01T00:00:00Z",
        "limit": 10,
    });
    let mut seen = Vec::new();
    let mut body = query.clone();
    let mut pages = 0;
    loop {
        let resp = api.events(&body).await;
        assert_eq!(resp.status(), 200);
        pages += 1;
        let count: usize = header(&resp, "X-Result-Count").parse().unwrap();
        let limit: usize = header(&resp, "X-Limit").parse().unwrap();
        assert_eq!(header(&resp, "X-Sort"), "ASC");
        assert!(!header(&resp, "X-Request-Id").is_empty());
        let after: Value = serde_json::from_str(&header(&resp, "X-Search_after")).unwrap();
        assert!(after[0].is_i64() && after[1].is_string(), "{after}");
        let rows: Vec<Value> = resp.json().await.unwrap();
        assert_eq!(rows.len(), count);
        seen.extend(rows);
        if count < limit {
            break;
        }
        body = query.clone();
        body["search_after"] = after;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    let got: BTreeSet<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(got, want);
    let stamps: Vec<&str> = seen
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));

    // The header is present even on an empty page.
    let empty = api
        .events(&json!({"service": ["all"], "start_time": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(header(&empty, "X-Result-Count"), "0");
    assert_eq!(header(&empty, "X-Limit"), "1000");
    assert!(empty.headers().get("X-Search_after").is_some());
}

#[tokio::test]
async fn window_sort_services_and_search_terms() {
    let api = Api::start(config(10, 0)).await;
    api.sim.advance(Duration::from_secs(600));
    let t = |m: u32| format!("2025-06-01T00:0{m}:00.000Z");
    api.sim
        .add_event(json!({"timestamp": t(1), "id": "e1", "success": false}));
    api.sim.add_event(json!({"timestamp": t(2), "id": "e2"}));
    api.sim.add_event(json!({
        "timestamp": t(3), "id": "e3", "event_type": "sso_auth", "service": "sso",
        "success": null, "sso_token_success": false,
        "initiated_by": {"id": "x", "type": "systemuser", "username": "Paul"},
    }));
    api.sim.add_event(json!({"timestamp": t(4), "id": "e4"}));
    api.sim.advance(Duration::from_secs(600));

    let ids = |rows: &Vec<Value>| -> Vec<String> {
        rows.iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let body = json!({"service": ["all"], "start_time": t(2), "end_time": t(4)});
    let rows: Vec<Value> = api.events(&body).await.json().await.unwrap();
    assert_eq!(ids(&rows), ["e2", "e3"], "start inclusive, end exclusive");

    let mut desc = body.clone();
    desc["sort"] = json!("desc");
    let resp = api.events(&desc).await;
    assert_eq!(header(&resp, "X-Sort"), "DESC");
    let rows: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(ids(&rows), ["e3", "e2"]);

    let sso = json!({"service": ["sso"], "start_time": t(0)});
    let rows: Vec<Value> = api.events(&sso).await.json().await.unwrap();
    assert_eq!(ids(&rows), ["e3"]);
    assert_eq!(rows[0]["sso_token_success"], false);
    assert!(rows[0].get("success").is_none());

    // Values are matched lowercase, dotted fields reach nested objects.
    let term = json!({"service": ["all"], "start_time": t(0),
        "search_term": {"or": [{"initiated_by.username": "paul"}, {"id": "e1"}]}});
    let rows: Vec<Value> = api.events(&term).await.json().await.unwrap();
    assert_eq!(ids(&rows), ["e1", "e3"]);
    let term = json!({"service": ["directory"], "start_time": t(0),
        "search_term": {"and": [{"success": "false"}]}});
    let rows: Vec<Value> = api.events(&term).await.json().await.unwrap();
    assert_eq!(ids(&rows), ["e1"]);

    let fields = json!({"service": ["all"], "start_time": t(0), "fields": ["timestamp", "id"]});
    let rows: Vec<Value> = api.events(&fields).await.json().await.unwrap();
    assert_eq!(rows[0], json!({"timestamp": t(1), "id": "e1"}));

    let count: Value = api
        .send(
            reqwest::Method::POST,
            "/insights/directory/v1/events/count",
            Some(json!({"service": ["all"], "start_time": t(0)})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count, json!({"count": 4}));
}

#[tokio::test]
async fn events_arrive_after_the_lag() {
    let api = Api::start(config(5, 0)).await;
    let id = api
        .sim
        .add_event(json!({"event_type": "user_login_attempt"}));
    let body = json!({"service": ["directory"], "start_time": "2025-05-31T00:00:00Z"});
    let rows: Vec<Value> = api.events(&body).await.json().await.unwrap();
    assert!(rows.is_empty(), "not visible before the lag");
    api.sim
        .advance(api.sim.config().event_lag + Duration::from_secs(1));
    let rows: Vec<Value> = api.events(&body).await.json().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    let late = api
        .sim
        .add_event_visible_after(json!({}), Duration::from_secs(3600));
    api.sim.advance(Duration::from_secs(120));
    let rows: Vec<Value> = api.events(&body).await.json().await.unwrap();
    assert!(rows.iter().all(|e| e["id"] != late.as_str()));
}

#[tokio::test]
async fn limits_and_query_errors() {
    let api = Api::start(config(20, 3000)).await;
    let start = (start_time() - chrono::Duration::days(10)).to_rfc3339();
    let resp = api
        .events(&json!({"service": ["all"], "start_time": start, "limit": 20000}))
        .await;
    assert_eq!(
        header(&resp, "X-Limit"),
        "1000",
        "nonsensical limit → default"
    );
    let rows: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(rows.len(), 1000);
    let resp = api
        .events(&json!({"service": ["all"], "start_time": start, "limit": 10000}))
        .await;
    assert_eq!(header(&resp, "X-Limit"), "10000");

    for bad in [
        json!({"service": ["all"]}),
        json!({"start_time": start}),
        json!({"service": [], "start_time": start}),
        json!({"service": ["nope"], "start_time": start}),
        json!({"service": ["all"], "start_time": "yesterday"}),
        json!({"service": ["all"], "start_time": start, "fields": []}),
        json!({"service": ["all"], "start_time": start, "fields": ["nonsense"]}),
        json!({"service": ["all"], "start_time": start, "end_time": "2020-01-01T00:00:00Z"}),
    ] {
        let resp = api.events(&bad).await;
        assert_eq!(resp.status(), 400, "{bad}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["message"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn chosen_logins_come_back_as_asked_and_late_ones_after_their_lag() {
    use gatehouse_idp_sim::jumpcloud::NewLogin;

    let api = Api::start(config(5, 0)).await;
    let user = api.sim.user_ids()[2].clone();
    let username = api.sim.user(&user).unwrap()["username"].clone();
    let at = start_time() - chrono::Duration::minutes(30);
    let ids = api.sim.add_login_events([
        NewLogin {
            user: Some(user.clone()),
            at: Some(at),
            success: false,
            client_ip: Some("203.0.113.9".into()),
            error_message: Some("authentication failed".into()),
            visible_after: Some(Duration::ZERO),
            ..NewLogin::default()
        },
        NewLogin {
            event_type: "radius_auth".into(),
            user: Some(user.clone()),
            at: Some(at + chrono::Duration::seconds(1)),
            visible_after: Some(Duration::ZERO),
            ..NewLogin::default()
        },
        // Happened before the others, reaches the log an hour after it happened.
        NewLogin {
            user: Some(user.clone()),
            at: Some(at - chrono::Duration::seconds(1)),
            visible_after: Some(Duration::from_secs(3600)),
            ..NewLogin::default()
        },
    ]);
    let body = json!({"service": ["all"], "start_time": "2025-05-31T00:00:00Z"});
    let rows: Vec<Value> = api.events(&body).await.json().await.unwrap();
    let got: Vec<&str> = rows.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(
        got,
        [ids[0].as_str(), ids[1].as_str()],
        "oldest first, the late one hidden"
    );
    let failure = &rows[0];
    assert_eq!(failure["event_type"], "user_login_attempt");
    assert_eq!(failure["service"], "directory");
    assert_eq!(failure["initiated_by"]["id"], user.as_str());
    assert_eq!(failure["initiated_by"]["username"], username);
    assert_eq!(failure["client_ip"], "203.0.113.9");
    assert_eq!(failure["success"], false);
    assert_eq!(failure["error_message"], "authentication failed");
    assert_eq!(failure["timestamp"], "2025-05-31T23:30:00.000Z");
    assert_eq!(rows[1]["service"], "radius");
    assert_eq!(rows[1]["username"], username);
    assert_eq!(rows[1]["success"], true);

    api.sim.advance(Duration::from_secs(3600));
    let rows: Vec<Value> = api.events(&body).await.json().await.unwrap();
    assert_eq!(
        rows.first().and_then(|e| e["id"].as_str()),
        Some(ids[2].as_str())
    );
    assert_eq!(rows.len(), 3);
}
