//! The sim's answers carry the keys of Microsoft's documented examples
//! (fixtures copied from the Graph and identity-platform docs).

use std::time::Duration;

use gatehouse_idp_sim::entra::NewUser;
use serde_json::{json, Value};

use crate::support::{config, fixture, keys, Api, EntraConfigExt};

fn assert_has_keys(doc: &Value, ours: &Value, what: &str) {
    let (mut want, mut have) = (Vec::new(), Vec::new());
    keys(doc, "", &mut want);
    keys(ours, "", &mut have);
    for k in want {
        assert!(
            have.contains(&k),
            "{what}: the sim lacks documented key {k}: {ours}"
        );
    }
}

#[tokio::test]
async fn shapes_match_the_docs_examples() {
    let api = Api::start(config(10, 20).with(|c| c.signin_lag = Duration::ZERO)).await;

    let c = api.sim.config().clone();
    let token: Value = api
        .token_request(&[
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_has_keys(&fixture("token.json"), &token, "token");

    let bad: Value = api
        .token_request(&[
            ("client_id", &c.client_id),
            ("client_secret", "x"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_has_keys(&fixture("token_error.json"), &bad, "token error");

    let id = api.sim.user_ids().into_iter().next().unwrap();
    let user = api.get_json(&format!("/v1.0/users/{id}")).await;
    assert_has_keys(&fixture("user.json"), &user, "user");

    let signins = api.get_json("/v1.0/auditLogs/signIns?$top=1").await;
    let mut doc = fixture("signins.json");
    // The docs' example page has no $top; drop its nextLink expectation only if ours is last.
    if signins.get("@odata.nextLink").is_none() {
        doc.as_object_mut().unwrap().remove("@odata.nextLink");
    }
    assert_has_keys(&doc, &signins, "signIns page");

    let first = api
        .get_json("/v1.0/users/delta?$select=displayName,givenName,surname")
        .await;
    let link = first["@odata.deltaLink"].as_str().unwrap().to_string();
    let gone = api.sim.add_user(NewUser::default());
    api.sim.delete_user(&gone);
    let mut page = api.get_json(&link).await;
    assert_eq!(page["value"][0]["@removed"]["reason"], "changed");
    // The docs' page is a middle page (nextLink); ours ends the round (deltaLink).
    page["@odata.nextLink"] = page["@odata.deltaLink"].clone();
    assert_has_keys(&fixture("delta_removed.json"), &page, "delta page");

    let err: Value = api.get("/v1.0/users?$top=5000").await.json().await.unwrap();
    assert_has_keys(&fixture("error.json"), &err, "error");

    let revoke: Value = api
        .send(
            reqwest::Method::POST,
            &format!("/v1.0/users/{id}/revokeSignInSessions"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_has_keys(
        &json!({"@odata.context": "", "value": true}),
        &revoke,
        "revoke",
    );
}

#[tokio::test]
async fn notifications_match_the_docs_example() {
    use axum::routing::post;
    let api = Api::start(config(3, 0)).await;
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/n",
        post(
            move |axum::extract::RawQuery(q): axum::extract::RawQuery, body: String| {
                let sink = sink.clone();
                async move {
                    let q = q.unwrap_or_default();
                    if let Some((_, t)) = url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "validationToken")
                    {
                        return t.into_owned();
                    }
                    sink.lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap());
                    String::new()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let exp = (api.sim.clock().now() + chrono::Duration::hours(1)).to_rfc3339();
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/subscriptions",
            Some(json!({"changeType": "updated", "notificationUrl": format!("http://{addr}/n"), "resource": "users", "expirationDateTime": exp, "clientState": "secretClientValue"})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let sub: Value = resp.json().await.unwrap();
    assert_has_keys(&fixture("subscription.json"), &sub, "subscription");
    let id = api.sim.user_ids().into_iter().next().unwrap();
    api.sim.update_user(&id, json!({"displayName": "X"}));
    assert_eq!(api.sim.deliver_notifications().await, vec![200]);
    let body = got.lock().unwrap()[0].clone();
    assert_has_keys(&fixture("notification.json"), &body, "notification");
}
