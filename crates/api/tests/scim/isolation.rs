//! Tenant isolation: another tenant's Users and Groups are unreachable by id, filter, group
//! membership, `$ref` or Bulk, and the inventory stays per tenant.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_scim_error, fixture, group, id, start, total, user};

#[tokio::test]
async fn tenants_are_isolated() {
    let s = start().await;
    let a = s.tenant("ten_a", json!({})).await;
    let b = s.tenant("ten_b", json!({})).await;
    let alice = id(&s
        .create(&a.scim_token, "Users", user("alice@example.com"))
        .await);
    let ga = id(&s
        .create(&a.scim_token, "Groups", group("A team", &[&alice]))
        .await);

    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(user("alice@example.com"))),
        (
            Method::PATCH,
            Some(fixture("okta_user_deactivate.json", &[])),
        ),
        (Method::DELETE, None),
    ] {
        let r = s
            .scim(
                method.clone(),
                &format!("/Users/{alice}"),
                &b.scim_token,
                body,
            )
            .await;
        assert_scim_error(&r, StatusCode::NOT_FOUND, None);
    }
    let r = s
        .scim(Method::GET, &format!("/Groups/{ga}"), &b.scim_token, None)
        .await;
    assert_scim_error(&r, StatusCode::NOT_FOUND, None);

    // The same userName is free in another tenant; filters never see the other tenant's rows.
    s.create(&b.scim_token, "Users", user("alice@example.com"))
        .await;
    for q in [
        "/Users?filter=userName%20eq%20%22alice@example.com%22".to_owned(),
        format!("/Users?filter=id%20eq%20%22{alice}%22"),
        "/Users?filter=userName%20co%20%22alice%22".to_owned(),
        "/Users".to_owned(),
    ] {
        let r = s.scim(Method::GET, &q, &b.scim_token, None).await;
        let rows = r.body["Resources"].as_array().unwrap();
        assert!(
            rows.iter().all(|u| u["id"] != alice.as_str()),
            "{q}: {}",
            r.body
        );
    }
    let r = s.scim(Method::GET, "/Groups", &b.scim_token, None).await;
    assert_eq!(total(&r), 0);

    // A's user as a member of B's group: refused, by value and by $ref.
    let r = s
        .scim(
            Method::POST,
            "/Groups",
            &b.scim_token,
            Some(group("B team", &[&alice])),
        )
        .await;
    // Tenant A's id is an opaque string in tenant B: accepted, linked to nothing of A's.
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.body["members"][0].get("type").is_none(),
        "nothing of A's was looked up: {}",
        r.body
    );
    let gb = id(&s
        .create(&b.scim_token, "Groups", group("B team", &[]))
        .await);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Groups/{gb}"),
            &b.scim_token,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [
                    {"value": alice, "$ref": format!("{}/v1/scim/v2/Users/{alice}", s.base)}]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["members"][0].get("type").is_none());
    // A's user still shows only A's group: B's reference reached nothing of A's.
    let r = s
        .scim(Method::GET, &format!("/Users/{alice}"), &b.scim_token, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .scim(Method::GET, &format!("/Users/{alice}"), &a.scim_token, None)
        .await;
    assert_eq!(r.body["groups"].as_array().unwrap().len(), 1);

    // Bulk cannot reach the other tenant either.
    let r = s
        .scim(
            Method::POST,
            "/Bulk",
            &b.scim_token,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [{"method": "DELETE", "path": format!("/Users/{alice}")}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["Operations"][0]["status"], "404");
    let r = s
        .scim(Method::GET, &format!("/Users/{alice}"), &a.scim_token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // The inventory follows the tenant too.
    assert!(s.inventory_user(&b, &alice).await.is_none());
    assert!(s.inventory_user(&a, &alice).await.is_some());
}
