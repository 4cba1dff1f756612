//! v2 user groups: list, members, membership changes and memberof.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{config, jc_error, Api};

#[tokio::test]
async fn membership_round_trip() {
    let api = Api::start(config(5, 0)).await;
    let gid = api.sim.create_group("vpn-users");
    let uid = api.sim.user_ids()[2].clone();

    let groups = api.get_json("/api/v2/usergroups?limit=100").await;
    let g = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid.as_str())
        .unwrap();
    assert_eq!(g["name"], "vpn-users");
    assert_eq!(g["type"], "user_group");
    let by_name = api
        .get_json("/api/v2/usergroups?filter=name:$eq:vpn-users")
        .await;
    assert_eq!(by_name.as_array().unwrap().len(), 1);

    let path = format!("/api/v2/usergroups/{gid}/members");
    let resp = api
        .send(
            Method::POST,
            &path,
            Some(json!({"op": "add", "type": "user", "id": uid})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(api.sim.group_members(&gid), vec![uid.clone()]);
    let again = api
        .send(
            Method::POST,
            &path,
            Some(json!({"op": "add", "type": "user", "id": uid})),
        )
        .await;
    jc_error(again, 409).await;

    let members = api.get_json(&path).await;
    assert_eq!(
        members,
        json!([{"attributes": null, "to": {"attributes": null, "id": uid, "type": "user"}}])
    );
    let of = api
        .get_json(&format!("/api/v2/users/{uid}/memberof?limit=100"))
        .await;
    let of: Vec<&Value> = of
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["id"] == gid.as_str())
        .collect();
    assert_eq!(of.len(), 1);
    assert_eq!(of[0]["type"], "user_group");
    assert_eq!(of[0]["paths"][0][0]["to"]["id"], gid.as_str());

    let resp = api
        .send(
            Method::POST,
            &path,
            Some(json!({"op": "remove", "type": "user", "id": uid})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(api.sim.group_members(&gid).is_empty());

    jc_error(
        api.send(
            Method::POST,
            &path,
            Some(json!({"op": "add", "type": "system", "id": uid})),
        )
        .await,
        400,
    )
    .await;
    jc_error(
        api.get("/api/v2/usergroups/0123456789abcdef01234567/members")
            .await,
        404,
    )
    .await;
    jc_error(api.get("/api/v2/usergroups?limit=101").await, 400).await;
}
