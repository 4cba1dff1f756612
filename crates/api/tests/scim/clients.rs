//! The request sequences real identity providers send, from the fixtures: Microsoft Entra ID
//! (probe, create, PATCH, manager, groups, deprovision, test connection) and Okta.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_scim_error, fixture, id, start, total, user, ENTERPRISE};

#[tokio::test]
async fn microsoft_entra_id_sequence() {
    let s = start().await;
    let t = s.tenant("ten_entra", json!({})).await;
    let tok = &t.scim_token;
    let create = fixture("entra_user_create.json", &[]);
    let user_name = create["userName"].as_str().unwrap().to_owned();

    // Probe: does the user exist? An empty ListResponse, not a 404.
    let probe = format!("/Users?filter=userName+eq+%22{user_name}%22");
    let r = s.scim(Method::GET, &probe, tok, None).await;
    assert_eq!(total(&r), 0);
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(r.body["Resources"], json!([]));

    let created = s.create(tok, "Users", create).await;
    let uid = id(&created);
    assert_eq!(created[ENTERPRISE]["department"], "Security");
    let r = s.scim(Method::GET, &probe, tok, None).await;
    assert_eq!(total(&r), 1);
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);

    let manager = id(&s.create(tok, "Users", user("boss@contoso.example")).await);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture(
                "entra_user_patch.json",
                &[("MANAGER_ID", &manager)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["name"]["givenName"], "Updated");
    let work: Vec<&Value> = r.body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "work")
        .collect();
    assert_eq!(work[0]["value"], "updated.user@contoso.example");
    assert_eq!(r.body[ENTERPRISE]["manager"]["value"], manager.as_str());
    let inv = s.inventory_user(&t, &uid).await.unwrap();
    assert_eq!(inv["status"], "suspended");
    assert_eq!(inv["manager"], manager.as_str());

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("entra_user_manager_clear.json", &[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body[ENTERPRISE].get("manager").is_none(), "{}", r.body);
    assert_eq!(r.body["active"], true);
    assert_eq!(
        s.inventory_user(&t, &uid).await.unwrap()["status"],
        "active"
    );

    // Groups: created with the user, read without members, member removed by value.
    let g = s
        .create(
            tok,
            "Groups",
            fixture("entra_group_create.json", &[("USER_ID", &uid)]),
        )
        .await;
    let gid = id(&g);
    let r = s
        .scim(
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            tok,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Group1DisplayName");
    let r = s
        .scim(
            Method::GET,
            "/Groups?filter=displayName+eq+%22Group1DisplayName%22&excludedAttributes=members",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 1);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            tok,
            Some(fixture(
                "entra_group_remove_member.json",
                &[("USER_ID", &uid)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("members").is_none(), "{}", r.body);

    // Deprovision: disable, then delete.
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("entra_user_disable.json", &[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        s.inventory_user(&t, &uid).await.unwrap()["status"],
        "suspended"
    );
    let r = s
        .scim(Method::DELETE, &format!("/Users/{uid}"), tok, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(Method::GET, &format!("/Users/{uid}"), tok, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    let inv = s.inventory_user(&t, &uid).await.unwrap();
    assert_eq!(inv["status"], "deprovisioned");
    assert_eq!(inv["provider"], "scim");

    // Test connection: a filter on a random GUID answers an empty list.
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName+eq+%2279b4c2c4-5e0f-4d8a-9d1e-3c1f3b0a2f11%22",
            tok,
            None,
        )
        .await;
    assert_eq!(total(&r), 0);
}

#[tokio::test]
async fn okta_sequence() {
    let s = start().await;
    let t = s.tenant("ten_okta", json!({})).await;
    let tok = &t.scim_token;
    let probe = "/Users?filter=userName%20eq%20%22test.user@okta.local%22&startIndex=1&count=100";
    let r = s.scim(Method::GET, probe, tok, None).await;
    assert_eq!(total(&r), 0);
    assert_eq!(r.body["startIndex"], 1);

    let created = s
        .create(tok, "Users", fixture("okta_user_create.json", &[]))
        .await;
    let uid = id(&created);
    assert!(
        created.get("password").is_none(),
        "passwords are never kept"
    );
    let r = s.scim(Method::GET, probe, tok, None).await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["id"], uid.as_str());

    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("okta_user_put.json", &[("USER_ID", &uid)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Another");
    assert_eq!(r.body["displayName"], "Another User");

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{uid}"),
            tok,
            Some(fixture("okta_user_deactivate.json", &[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let inv = s.inventory_user(&t, &uid).await.unwrap();
    assert_eq!(inv["status"], "suspended");
    assert_eq!(inv["display_name"], "Another User");

    let u2 = id(&s.create(tok, "Users", user("second.user@okta.local")).await);
    let g = s
        .create(
            tok,
            "Groups",
            fixture("okta_group_create.json", &[("USER_ID", &uid)]),
        )
        .await;
    let gid = id(&g);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            tok,
            Some(fixture("okta_group_rename.json", &[("GROUP_ID", &gid)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Test SCIMv2 renamed");
    assert_eq!(r.body["id"], gid.as_str());
    let r = s
        .scim(Method::GET, &format!("/Users/{uid}"), tok, None)
        .await;
    assert_eq!(r.body["groups"][0]["display"], "Test SCIMv2 renamed");

    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            tok,
            Some(fixture(
                "okta_group_members.json",
                &[("USER_ID", &uid), ("USER2_ID", &u2)],
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let members: Vec<&str> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![u2.as_str()]);
    let r = s
        .scim(Method::GET, &format!("/Users/{uid}"), tok, None)
        .await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
    let r = s
        .scim(Method::GET, &format!("/Users/{u2}"), tok, None)
        .await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str());
}
