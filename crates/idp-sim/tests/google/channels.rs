//! Watch channels: the watch answer, a `sync` message, then one notification
//! per newly visible login activity, to a tiny local axum receiver; stop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{config, google_error, Api};

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push((headers, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/hook"), seen)
}

fn h(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn watch_syncs_then_notifies_each_new_activity() {
    let api = Api::start(config(5, 20)).await;
    let (address, seen) = receiver().await;
    let resp = api
        .send(
            Method::POST,
            "/admin/reports/v1/activity/users/all/applications/login/watch",
            Some(json!({"id": "chan-1", "type": "web_hook", "address": address, "token": "secret-t"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let ch: Value = resp.json().await.unwrap();
    assert_eq!(ch["kind"], "api#channel");
    assert_eq!(ch["id"], "chan-1");
    assert_eq!(ch["token"], "secret-t");
    assert!(ch["resourceId"].is_string() && ch["expiration"].is_string());
    assert!(ch["resourceUri"]
        .as_str()
        .unwrap()
        .contains("/activity/users/all/applications/login"));

    assert_eq!(api.sim.deliver_notifications().await, vec![200]);
    let (uq_time, uq) = api.sim.add_activity(json!({
        "events": [{"type": "login", "name": "login_failure", "parameters": [
            {"name": "login_failure_type", "value": "login_failure_invalid_password"}]}]
    }));
    // Not visible yet: nothing to send.
    assert!(api.sim.deliver_notifications().await.is_empty());
    api.sim.advance(Duration::from_secs(121));
    assert_eq!(api.sim.deliver_notifications().await, vec![200]);
    assert!(api.sim.deliver_notifications().await.is_empty());

    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let (sync_h, sync_body) = &got[0];
    assert_eq!(h(sync_h, "x-goog-resource-state"), "sync");
    assert_eq!(h(sync_h, "x-goog-message-number"), "1");
    assert!(sync_body.is_empty());
    let (n_h, n_body) = &got[1];
    assert_eq!(h(n_h, "x-goog-channel-id"), "chan-1");
    assert_eq!(h(n_h, "x-goog-channel-token"), "secret-t");
    assert_eq!(
        h(n_h, "x-goog-resource-id"),
        ch["resourceId"].as_str().unwrap()
    );
    assert_eq!(
        h(n_h, "x-goog-resource-uri"),
        ch["resourceUri"].as_str().unwrap()
    );
    assert_eq!(h(n_h, "x-goog-resource-state"), "login_failure");
    assert_eq!(h(n_h, "x-goog-message-number"), "2");
    assert!(h(n_h, "x-goog-channel-expiration").ends_with(" GMT"));
    let body: Value = serde_json::from_str(n_body).unwrap();
    assert_eq!(body["kind"], "admin#reports#activity");
    assert_eq!(body["id"]["uniqueQualifier"], uq.as_str());
    assert_eq!(body["id"]["time"], uq_time.as_str());

    let chans = api.sim.channels();
    assert_eq!(chans[0].deliveries.len(), 2);
    let stop = json!({"id": "chan-1", "resourceId": ch["resourceId"]});
    let resp = api
        .send(
            Method::POST,
            "/admin/reports_v1/channels/stop",
            Some(stop.clone()),
        )
        .await;
    assert_eq!(resp.status(), 204);
    api.sim.add_logins(3, Duration::from_secs(3600));
    assert!(api.sim.deliver_notifications().await.is_empty());
    google_error(
        api.send(Method::POST, "/admin/reports_v1/channels/stop", Some(stop))
            .await,
        404,
        "notFound",
    )
    .await;
}
