//! Users, groups, managers, memberships, methods and the organization:
//! paging, `$select`, `$top` bounds, `$filter`, `$expand=manager`, 404s.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{collect, config, graph_error, Api};

#[tokio::test]
async fn pages_users_with_top_and_an_absolute_next_link() {
    let api = Api::start(config(23, 0)).await;
    let first = api.get_json("/v1.0/users?$top=7").await;
    let ctx = first["@odata.context"].as_str().unwrap();
    assert!(ctx.ends_with("/v1.0/$metadata#users"), "{ctx}");
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&api.running.base_url()), "{next}");
    assert!(next.contains("$skiptoken="), "{next}");
    assert!(next.contains("$top=7"), "{next}");
    assert_eq!(first["value"].as_array().unwrap().len(), 7);
    let (all, last) = collect(&api, "/v1.0/users?$top=7").await;
    assert!(last.get("@odata.nextLink").is_none());
    let ids: BTreeSet<String> = all
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, api.sim.user_ids());
}

#[tokio::test]
async fn returns_the_default_property_set_unless_select_is_given() {
    let api = Api::start(config(5, 0)).await;
    let page = api.get_json("/v1.0/users").await;
    let u = &page["value"][0];
    for k in [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    ] {
        assert!(u.get(k).is_some(), "default set lacks {k}: {u}");
    }
    assert!(u.get("accountEnabled").is_none(), "{u}");
    let page = api
        .get_json("/v1.0/users?$select=id,accountEnabled,displayName")
        .await;
    assert!(page["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#users(id,accountEnabled,displayName)"));
    let u = page["value"][0].as_object().unwrap();
    let keys: BTreeSet<&str> = u.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "accountEnabled", "displayName"])
    );
    let resp = api.get("/v1.0/users?$select=id,favouriteColour").await;
    graph_error(resp, 400, "BadRequest").await;
}

#[tokio::test]
async fn top_out_of_range_is_refused_with_the_documented_message() {
    let api = Api::start(config(5, 0)).await;
    let body = graph_error(
        api.get("/v1.0/users?$top=1000").await,
        400,
        "Request_UnsupportedQuery",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    );
    graph_error(
        api.get("/v1.0/users?$top=0").await,
        400,
        "Request_UnsupportedQuery",
    )
    .await;
    assert_eq!(api.get("/v1.0/users?$top=999").await.status(), 200);
}

#[tokio::test]
async fn filters_on_account_enabled_and_id() {
    let api = Api::start(config(60, 0)).await;
    let (disabled, _) = collect(
        &api,
        "/v1.0/users?$select=id,accountEnabled&$filter=accountEnabled%20eq%20false",
    )
    .await;
    assert!(!disabled.is_empty());
    assert!(disabled.iter().all(|u| u["accountEnabled"] == false));
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let page = api
        .get_json(&format!("/v1.0/users?$filter=id eq '{id}'"))
        .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert_eq!(page["value"][0]["id"], id.as_str());
    graph_error(
        api.get("/v1.0/users?$filter=favouriteColour eq 'red'")
            .await,
        400,
        "Request_UnsupportedQuery",
    )
    .await;
}

#[tokio::test]
async fn manager_is_expanded_and_addressable() {
    let api = Api::start(config(30, 0)).await;
    let page = api
        .get_json("/v1.0/users?$select=id,displayName&$expand=manager")
        .await;
    let with = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u.get("manager").is_some())
        .unwrap();
    let m = &with["manager"];
    assert_eq!(m["@odata.type"], "#microsoft.graph.user");
    let id = with["id"].as_str().unwrap();
    let direct = api.get_json(&format!("/v1.0/users/{id}/manager")).await;
    assert_eq!(direct["id"], m["id"]);
    // The first user (top of the chain) has no manager.
    let top = page["value"][0]["id"].as_str().unwrap();
    graph_error(
        api.get(&format!("/v1.0/users/{top}/manager")).await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
}

#[tokio::test]
async fn unknown_ids_answer_request_resource_not_found() {
    let api = Api::start(config(5, 0)).await;
    let id = "00000000-0000-0000-0000-000000000000";
    let body = graph_error(
        api.get(&format!("/v1.0/users/{id}")).await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")
    );
    graph_error(
        api.get(&format!("/v1.0/groups/{id}/members")).await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
}

#[tokio::test]
async fn one_user_by_id_or_upn() {
    let api = Api::start(config(5, 0)).await;
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let u = api
        .get_json(&format!(
            "/v1.0/users/{id}?$select=id,userPrincipalName,accountEnabled"
        ))
        .await;
    assert!(u["@odata.context"].as_str().unwrap().ends_with("/$entity"));
    let upn = u["userPrincipalName"].as_str().unwrap();
    let by_upn = api.get_json(&format!("/v1.0/users/{upn}")).await;
    assert_eq!(by_upn["id"], id.as_str());
}

#[tokio::test]
async fn groups_members_memberships_and_methods() {
    let api = Api::start(crate::support::EntraConfigExt::with(config(40, 0), |c| {
        c.groups = 5
    }))
    .await;
    let groups = api.get_json("/v1.0/groups").await;
    assert_eq!(groups["value"].as_array().unwrap().len(), 5);
    let gid = groups["value"][0]["id"].as_str().unwrap().to_string();
    let (members, _) = collect(&api, &format!("/v1.0/groups/{gid}/members?$top=9")).await;
    assert_eq!(members.len(), api.sim.group_members(&gid).len());
    assert!(members
        .iter()
        .all(|m| m["@odata.type"] == "#microsoft.graph.user"));
    let uid = members[0]["id"].as_str().unwrap();
    let of = api
        .get_json(&format!("/v1.0/users/{uid}/transitiveMemberOf"))
        .await;
    assert!(of["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == gid.as_str() && g["@odata.type"] == "#microsoft.graph.group"));
    let methods = api
        .get_json(&format!("/v1.0/users/{uid}/authentication/methods"))
        .await;
    let types: Vec<&str> = methods["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"#microsoft.graph.passwordAuthenticationMethod"),
        "{types:?}"
    );
    let org = api.get_json("/v1.0/organization").await;
    assert_eq!(
        org["value"][0]["id"],
        api.sim.config().directory_id.as_str()
    );
}

#[tokio::test]
async fn a_large_org_builds_fast_and_pages_fast() {
    let started = std::time::Instant::now();
    let api = Api::start(config(100_000, 50_000)).await;
    assert!(
        started.elapsed().as_secs() < 20,
        "build took {:?}",
        started.elapsed()
    );
    let t = std::time::Instant::now();
    let page: Value = api
        .get_json("/v1.0/users?$top=999&$select=id,accountEnabled")
        .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 999);
    assert!(t.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn filters_on_last_sign_in_for_stale_accounts() {
    let api = Api::start(config(30, 200)).await;
    let url = "/v1.0/users?$select=id,signInActivity&$filter=signInActivity/lastSignInDateTime le 2025-05-31T00:00:00Z";
    let (stale, _) = collect(&api, url).await;
    for u in &stale {
        let t = u["signInActivity"]["lastSignInDateTime"].as_str().unwrap();
        assert!(t <= "2025-05-31T00:00:00Z", "{t}");
    }
    let (all, _) = collect(&api, "/v1.0/users?$select=id,signInActivity").await;
    assert!(stale.len() < all.len());
}
