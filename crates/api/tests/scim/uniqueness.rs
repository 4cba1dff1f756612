//! `userName` is unique per tenant, case-insensitively, across all the tenant's SCIM
//! integrations, for every way a name is set (POST, PUT, PATCH, Bulk) and under concurrency;
//! another tenant may use the same name, and reads stay scoped to the caller's integration.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_scim_error, id, start, total, user, Server, OPERATOR_KEY};

/// Another SCIM integration of an existing tenant: (its id, its SCIM token).
async fn second_integration(s: &Server, tenant: &str) -> (String, String) {
    let r = s
        .api(
            Method::POST,
            "/v1/integrations",
            OPERATOR_KEY,
            Some(json!({"type": "scim", "tenant_id": tenant, "credentials": {}, "config": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["scim"]["token"].as_str().unwrap().to_owned(),
    )
}

fn patch_user_name(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "path": "userName", "value": name}]})
}

#[tokio::test]
async fn user_name_is_unique_across_a_tenants_scim_integrations() {
    let s = start().await;
    let a = s.tenant("ten_uniq_a", json!({})).await;
    let b = s.tenant("ten_uniq_b", json!({})).await;
    let (second_id, second) = second_integration(&s, "ten_uniq_a").await;
    let alice = id(&s
        .create(&a.scim_token, "Users", user("Alice@Example.com"))
        .await);

    // POST on the tenant's other integration, another case: 409 uniqueness.
    let r = s
        .scim(
            Method::POST,
            "/Users",
            &second,
            Some(user("alice@example.COM")),
        )
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    // Another tenant: free.
    s.create(&b.scim_token, "Users", user("alice@example.com"))
        .await;
    // Reads stay per integration: the other integration does not see alice.
    let r = s
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22alice@example.com%22",
            &second,
            None,
        )
        .await;
    assert_eq!(total(&r), 0, "{}", r.body);

    // Renames onto the name, by PUT, PATCH and Bulk: 409, and the User keeps its name.
    let bob = id(&s.create(&second, "Users", user("bob@example.com")).await);
    let r = s
        .scim(
            Method::PUT,
            &format!("/Users/{bob}"),
            &second,
            Some(user("ALICE@example.com")),
        )
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{bob}"),
            &second,
            Some(patch_user_name("alice@EXAMPLE.com")),
        )
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    let r = s
        .scim(
            Method::POST,
            "/Bulk",
            &second,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "n", "data": user("aLiCe@example.com")},
                    {"method": "PATCH", "path": format!("/Users/{bob}"), "data": patch_user_name("Alice@Example.com")}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for op in r.body["Operations"].as_array().unwrap() {
        assert_eq!(op["status"], "409", "{}", r.body);
        assert_eq!(op["response"]["scimType"], "uniqueness", "{}", r.body);
    }
    let r = s
        .scim(Method::GET, &format!("/Users/{bob}"), &second, None)
        .await;
    assert_eq!(r.body["userName"], "bob@example.com");

    // Deleting the holder frees the name for the tenant's other integrations.
    let r = s
        .scim(
            Method::DELETE,
            &format!("/Users/{alice}"),
            &a.scim_token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .scim(
            Method::PATCH,
            &format!("/Users/{bob}"),
            &second,
            Some(patch_user_name("ALICE@example.com")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // And deleting the integration that holds it frees it too.
    let r = s
        .api(
            Method::DELETE,
            &format!("/v1/integrations/{second_id}"),
            OPERATOR_KEY,
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    s.create(&a.scim_token, "Users", user("alice@example.com"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_user_name_admit_exactly_one() {
    let s = Arc::new(start().await);
    let a = s.tenant("ten_uniq_race", json!({})).await;
    let (_, second) = second_integration(&s, "ten_uniq_race").await;
    let tokens = [a.scim_token.clone(), second];
    let mut tasks = Vec::new();
    for n in 0..24 {
        let (s, token) = (Arc::clone(&s), tokens[n % 2].clone());
        let name = if n % 3 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        };
        tasks.push(tokio::spawn(async move {
            s.scim(Method::POST, "/Users", &token, Some(user(name)))
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let r = task.await.unwrap();
        if r.status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
        }
    }
    assert_eq!(created, 1);
}
