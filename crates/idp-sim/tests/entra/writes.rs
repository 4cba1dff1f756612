//! Account actions through Graph and their record: disable, revoke
//! sessions, group membership by reference, confirm compromised.

use serde_json::{json, Value};

use crate::support::{config, graph_error, Api};

#[tokio::test]
async fn disable_account_answers_204_and_is_recorded() {
    let api = Api::start(config(5, 0)).await;
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let resp = api
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/users/{id}"),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(api.sim.user(&id).unwrap()["accountEnabled"], false);
    let writes = api.sim.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].status, 204);
    assert_eq!(writes[0].body, Some(json!({"accountEnabled": false})));
    assert_eq!(
        writes[0].client_id.as_deref(),
        Some(api.sim.config().client_id.as_str())
    );
    let resp = api
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/users/{id}"),
            Some(json!({"id": "x"})),
        )
        .await;
    graph_error(resp, 400, "Request_BadRequest").await;
}

#[tokio::test]
async fn revoke_sign_in_sessions_bumps_the_valid_from_time() {
    let api = Api::start(config(5, 0)).await;
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let before = api.sim.user(&id).unwrap()["signInSessionsValidFromDateTime"].clone();
    api.sim.advance(std::time::Duration::from_secs(5));
    let resp = api
        .send(
            reqwest::Method::POST,
            &format!("/v1.0/users/{id}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["value"], true);
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#Edm.Boolean"));
    assert_eq!(api.sim.revoked_sessions(&id), 1);
    assert_ne!(
        api.sim.user(&id).unwrap()["signInSessionsValidFromDateTime"],
        before
    );
    let missing = "00000000-0000-0000-0000-000000000000";
    let resp = api
        .send(
            reqwest::Method::POST,
            &format!("/v1.0/users/{missing}/revokeSignInSessions"),
            None,
        )
        .await;
    graph_error(resp, 404, "Request_ResourceNotFound").await;
}

#[tokio::test]
async fn adding_a_member_by_reference_and_again() {
    let api = Api::start(config(5, 0)).await;
    let gid = api.sim.create_group("Quarantine");
    let uid = api.sim.user_ids().into_iter().next().unwrap();
    let body =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{uid}")});
    let path = format!("/v1.0/groups/{gid}/members/$ref");
    let resp = api
        .send(reqwest::Method::POST, &path, Some(body.clone()))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(api.sim.group_members(&gid), vec![uid.clone()]);
    let resp = api.send(reqwest::Method::POST, &path, Some(body)).await;
    let err = graph_error(resp, 400, "Request_BadRequest").await;
    assert_eq!(
        err["error"]["message"],
        "One or more added object references already exist for the following modified properties: 'members'."
    );
}

#[tokio::test]
async fn confirm_compromised_answers_204() {
    let api = Api::start(config(5, 0)).await;
    let ids: Vec<String> = api.sim.user_ids().into_iter().take(2).collect();
    let resp = api
        .send(
            reqwest::Method::POST,
            "/v1.0/identityProtection/riskyUsers/confirmCompromised",
            Some(json!({"userIds": ids})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(api.sim.confirmed_compromised(), ids);
}
