//! Change-notification subscriptions: the validation handshake against a
//! small local receiver, limits, renewal and deletion, and notifications
//! carrying `clientState`, delivered while the subscription lives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::support::{config, graph_error, Api};

#[derive(Clone, Default)]
struct Seen {
    queries: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

async fn hook(
    State(seen): State<Seen>,
    RawQuery(q): RawQuery,
    body: String,
) -> axum::response::Response {
    let q = q.unwrap_or_default();
    seen.queries.lock().unwrap().push(q.clone());
    let token = url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "validationToken")
        .map(|(_, v)| v.into_owned());
    match token {
        Some(t) => ([(header::CONTENT_TYPE, "text/plain")], t).into_response(),
        None => {
            seen.bodies
                .lock()
                .unwrap()
                .push(serde_json::from_str(&body).unwrap());
            StatusCode::ACCEPTED.into_response()
        }
    }
}

async fn refuse() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn receiver() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/broken", post(refuse))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), seen)
}

fn expiry(api: &Api, minutes: i64) -> String {
    (api.sim.clock().now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

#[tokio::test]
async fn validation_handshake_then_notifications_with_client_state() {
    let api = Api::start(crate::support::EntraConfigExt::with(config(5, 0), |c| {
        c.token_lifetime = Duration::from_secs(36_000)
    }))
    .await;
    let (recv, seen) = receiver().await;
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(json!({
                "changeType": "updated,deleted",
                "notificationUrl": format!("{recv}/hook?tenant=abc"),
                "resource": "users",
                "expirationDateTime": expiry(&api, 60),
                "clientState": "secretClientValue",
            })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let sub: Value = resp.json().await.unwrap();
    let sub_id = sub["id"].as_str().unwrap().to_string();
    assert_eq!(sub["changeType"], "updated,deleted");
    {
        let q = seen.queries.lock().unwrap();
        assert_eq!(q.len(), 1);
        assert!(q[0].starts_with("tenant=abc&validationToken="), "{}", q[0]);
    }
    let listed = api.get_json("/v1.0/subscriptions").await;
    assert_eq!(listed["value"][0]["id"], sub_id.as_str());

    let id = api.sim.user_ids().into_iter().next().unwrap();
    api.sim.update_user(&id, json!({"jobTitle": "Auditor"}));
    assert_eq!(api.sim.pending_notifications(), 1);
    assert_eq!(api.sim.deliver_notifications().await, vec![202]);
    let body = seen.bodies.lock().unwrap()[0].clone();
    let n = &body["value"][0];
    assert_eq!(n["subscriptionId"], sub_id.as_str());
    assert_eq!(n["clientState"], "secretClientValue");
    assert_eq!(n["changeType"], "updated");
    assert_eq!(n["resource"], format!("Users/{id}"));
    assert_eq!(n["resourceData"]["@odata.type"], "#Microsoft.Graph.User");
    assert_eq!(n["resourceData"]["id"], id.as_str());
    assert_eq!(n["tenantId"], api.sim.config().directory_id.as_str());
    assert_eq!(api.sim.deliveries()[0].status, 202);

    // Renew, then let it lapse: an expired subscription delivers nothing.
    let resp = api
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/subscriptions/{sub_id}"),
            Some(json!({"expirationDateTime": expiry(&api, 120)})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    api.sim.advance(Duration::from_secs(121 * 60));
    api.sim.delete_user(&id);
    assert!(api.sim.deliver_notifications().await.is_empty());
    assert_eq!(
        api.get_json("/v1.0/subscriptions").await["value"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn a_failed_validation_refuses_the_subscription() {
    let api = Api::start(config(5, 0)).await;
    let (recv, _) = receiver().await;
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(json!({
                "changeType": "updated",
                "notificationUrl": format!("{recv}/broken"),
                "resource": "users",
                "expirationDateTime": expiry(&api, 60),
            })),
        )
        .await;
    let body = graph_error(resp, 400, "ValidationError").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Subscription validation request failed."));
    assert!(api.sim.subscriptions().is_empty());
}

#[tokio::test]
async fn limits_on_expiration_and_client_state() {
    let api = Api::start(config(5, 0)).await;
    let (recv, _) = receiver().await;
    let make = |exp: String, state: String| {
        json!({"changeType": "updated", "notificationUrl": format!("{recv}/hook"), "resource": "users",
               "expirationDateTime": exp, "clientState": state})
    };
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(make(expiry(&api, 41_761), "s".into())),
        )
        .await;
    graph_error(resp, 400, "InvalidRequest").await;
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(make(expiry(&api, 60), "x".repeat(129))),
        )
        .await;
    graph_error(resp, 400, "InvalidRequest").await;
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(make(expiry(&api, 41_700), "x".repeat(128))),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = api
        .send(
            reqwest::Method::DELETE,
            &format!("/v1.0/subscriptions/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(api.sim.subscriptions().is_empty());
}

#[tokio::test]
async fn the_background_sender_delivers() {
    let api = Api::start(crate::support::EntraConfigExt::with(config(5, 0), |c| {
        c.notification_interval = Some(Duration::from_millis(50))
    }))
    .await;
    let (recv, seen) = receiver().await;
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(json!({"changeType": "updated", "notificationUrl": format!("{recv}/hook"), "resource": "users", "expirationDateTime": expiry(&api, 60), "clientState": "c"})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let id = api.sim.user_ids().into_iter().next().unwrap();
    api.sim.update_user(&id, json!({"department": "Legal"}));
    for _ in 0..100 {
        if !seen.bodies.lock().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no notification delivered");
}
