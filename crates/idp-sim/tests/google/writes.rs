//! Writes: PATCH/PUT users (suspend, orgUnitPath, changePasswordAtNextLogin,
//! archived), signOut, group members (insert and duplicate).

use reqwest::Method;
use serde_json::json;

use crate::support::{config, google_error, Api};

#[tokio::test]
async fn patch_and_put_keep_absent_fields() {
    let api = Api::start(config(10, 0)).await;
    let id = api.sim.user_ids()[3].clone();
    let before = api.sim.user(&id).unwrap();
    let path = format!("/admin/directory/v1/users/{id}");
    let resp = api
        .send(
            Method::PATCH,
            &path,
            Some(json!({"suspended": true, "orgUnitPath": "/Quarantine"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let after: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(after["suspended"], true);
    assert_eq!(after["suspensionReason"], "ADMIN");
    assert_eq!(after["orgUnitPath"], "/Quarantine");
    assert_eq!(after["primaryEmail"], before["primaryEmail"]);
    assert_ne!(after["etag"], before["etag"]);
    let resp = api
        .send(
            Method::PUT,
            &path,
            Some(json!({"changePasswordAtNextLogin": true, "archived": true})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let u = api.sim.user(&id).unwrap();
    assert_eq!(u["changePasswordAtNextLogin"], true);
    assert_eq!(u["archived"], true);
    assert_eq!(u["suspended"], true);
    let writes = api.sim.writes();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].body.as_ref().unwrap()["suspended"], true);
    google_error(
        api.send(
            Method::PATCH,
            "/admin/directory/v1/users/ghost@example.com",
            Some(json!({"suspended": true})),
        )
        .await,
        404,
        "notFound",
    )
    .await;
}

#[tokio::test]
async fn sign_out_answers_204_and_is_counted() {
    let api = Api::start(config(10, 0)).await;
    let u = api.sim.user(&api.sim.user_ids()[2]).unwrap();
    let email = u["primaryEmail"].as_str().unwrap();
    let resp = api
        .send(
            Method::POST,
            &format!("/admin/directory/v1/users/{email}/signOut"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.unwrap().is_empty());
    assert_eq!(api.sim.signed_out(email), 1);
    assert_eq!(api.sim.signed_out(u["id"].as_str().unwrap()), 1);
}

#[tokio::test]
async fn members_insert_list_and_duplicate() {
    let api = Api::start(config(10, 0)).await;
    let gid = api.sim.create_group("soc@example.com");
    let uid = api.sim.user_ids()[4].clone();
    let email = api.sim.user(&uid).unwrap()["primaryEmail"]
        .as_str()
        .unwrap()
        .to_string();
    let path = "/admin/directory/v1/groups/soc@example.com/members";
    let resp = api
        .send(
            Method::POST,
            path,
            Some(json!({"email": email, "role": "MEMBER"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let m: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(m["kind"], "admin#directory#member");
    assert_eq!(m["id"], uid.as_str());
    assert_eq!(api.sim.group_members(&gid), vec![uid.clone()]);
    let body = google_error(
        api.send(Method::POST, path, Some(json!({"email": email})))
            .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(body["error"]["message"], "Member already exists.");
    let list = api
        .get_json(&format!("/admin/directory/v1/groups/{gid}/members"))
        .await;
    assert_eq!(list["members"][0]["email"], email.as_str());
    let groups = api
        .get_json("/admin/directory/v1/groups?customer=my_customer")
        .await;
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["email"] == "soc@example.com"));
}
