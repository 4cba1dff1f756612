//! The simulator's answers carry the keys of Google's documented examples
//! (fixtures in `tests/fixtures/google`, see its README).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{config, fixture, keys, Api};

fn key_set(v: &Value) -> BTreeSet<String> {
    let mut out = Vec::new();
    keys(v, "", &mut out);
    out.into_iter().collect()
}

fn assert_covers(sim: &Value, doc: &Value, what: &str) {
    let have = key_set(sim);
    let missing: Vec<_> = key_set(doc).difference(&have).cloned().collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}");
}

#[tokio::test]
async fn user_activity_channel_and_error_shapes() {
    let api = Api::start(config(5, 0)).await;
    let id = api.sim.user_ids()[1].clone();
    api.sim.update_user(&id, &json!({"suspended": true}));
    let mut user = api
        .get_json(&format!("/admin/directory/v1/users/{id}"))
        .await;
    if user.get("relations").is_none() {
        user["relations"] = json!([{"value": "x", "type": "manager"}]);
    }
    assert_covers(&user, &fixture("user.json"), "user");

    api.sim.add_activity(json!({}));
    api.sim.advance(Duration::from_secs(200));
    let list = api
        .get_json("/admin/reports/v1/activity/users/all/applications/login")
        .await;
    assert_covers(
        &list["items"][0],
        &fixture("activity_login.json"),
        "activity",
    );
    assert_covers(
        &list,
        &json!({"kind": "", "etag": "", "items": []}),
        "activities",
    );

    let ch: Value = api
        .send(
            Method::POST,
            "/admin/reports/v1/activity/users/all/applications/login/watch",
            Some(json!({"id": "c", "type": "web_hook", "address": "http://127.0.0.1:9/x", "token": "t"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_covers(&ch, &fixture("channel.json"), "channel");

    let err: Value = api
        .get("/admin/directory/v1/users/nobody@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_covers(&err, &fixture("error_not_found.json"), "error");
    assert_eq!(
        err["error"]["message"],
        fixture("error_not_found.json")["error"]["message"]
    );

    let token_err: Value = api.token_request("not.a.jwt").await.json().await.unwrap();
    assert_covers(&token_err, &fixture("token_error.json"), "token error");
}
