//! Groups: members and the `groups` they give a User, filters on `displayName`, unknown
//! members kept as sent, the read-only User `groups`, and deletes on either side.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_scim_error, group, id, start, total, user};

#[tokio::test]
async fn groups_members_and_user_groups() {
    let s = start().await;
    let t = s.tenant("ten_groups", json!({})).await;
    let tok = &t.scim_token;
    let u1 = id(&s.create(tok, "Users", user("u1@example.com")).await);
    let u2 = id(&s.create(tok, "Users", user("u2@example.com")).await);

    let g = s.create(tok, "Groups", group("Admins", &[&u1, &u2])).await;
    let gid = id(&g);
    assert_eq!(g["members"].as_array().unwrap().len(), 2);
    let r = s
        .scim(Method::GET, &format!("/Users/{u1}"), tok, None)
        .await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "{}", r.body);
    assert_eq!(r.body["groups"][0]["display"], "Admins");

    // Filters on the group's indexed displayName, and members excluded.
    let r = s
        .scim(
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22admins%22&excludedAttributes=members",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    assert_eq!(r.body["Resources"][0]["displayName"], "Admins");
    let r = s
        .scim(
            Method::GET,
            &format!("/Users?filter=groups.value%20eq%20%22{gid}%22"),
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 2);

    // Unknown members are refused.
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            tok,
            Some(group("Ghosts", &["no-such-user"])),
        )
        .await;
    // RFC 7644 asks for no referential integrity (clients add members before creating them):
    // an unknown member is kept as sent, untyped.
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["members"][0]["value"], "no-such-user");
    assert!(r.body["members"][0].get("type").is_none());

    // The User's groups is read-only.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{u1}"),
            tok,
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "groups", "value": [{"value": gid}]}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Deleting a user removes it from its groups.
    let r = s
        .scim(Method::DELETE, &format!("/Users/{u2}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1, "{}", r.body);

    // Deleting the group empties the users' groups.
    let r = s
        .scim(Method::DELETE, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Users/{u1}"), tok, None)
        .await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
    let r = s
        .scim(Method::GET, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
}
