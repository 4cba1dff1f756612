//! The users delta query: a full round of pages ending in a deltaLink,
//! changes and deletions in the next round, no change lost mid-round, and
//! the errors that force a full resync.

use std::collections::BTreeSet;
use std::time::Duration;

use gatehouse_idp_sim::entra::NewUser;
use serde_json::{json, Value};

use crate::support::{config, graph_error, Api};

/// Runs one round from `url`: (items, deltaLink, pages).
async fn round(api: &Api, url: &str, page_size: usize) -> (Vec<Value>, String, usize) {
    let mut items = Vec::new();
    let mut url = url.to_string();
    let mut pages = 0;
    loop {
        let resp = api
            .http
            .get(api.url(&url))
            .bearer_auth(&api.token)
            .header("Prefer", format!("odata.maxpagesize={page_size}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.unwrap();
        pages += 1;
        assert!(page["value"].as_array().unwrap().len() <= page_size);
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        assert!(!(page.get("@odata.nextLink").is_some() && page.get("@odata.deltaLink").is_some()));
        if let Some(n) = page["@odata.nextLink"].as_str() {
            assert!(n.contains("$skiptoken="));
            url = n.to_string();
        } else {
            let d = page["@odata.deltaLink"].as_str().unwrap().to_string();
            assert!(d.contains("$deltatoken="));
            return (items, d, pages);
        }
    }
}

#[tokio::test]
async fn a_full_round_then_changes_and_deletions() {
    let api = Api::start(config(20, 0)).await;
    let (items, delta_link, pages) = round(
        &api,
        "/v1.0/users/delta?$select=id,displayName,accountEnabled",
        7,
    )
    .await;
    assert_eq!(pages, 3);
    let ids: BTreeSet<String> = items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, api.sim.user_ids());
    assert!(items
        .iter()
        .all(|u| u.get("accountEnabled").is_some() && u.get("mail").is_none()));

    let mut users = api.sim.user_ids().into_iter();
    let changed = users.next().unwrap();
    let deleted = users.next().unwrap();
    let purged = users.next().unwrap();
    assert!(api
        .sim
        .update_user(&changed, json!({"displayName": "Renamed Person"})));
    assert!(api.sim.delete_user(&deleted));
    assert!(api.sim.purge_user(&purged));
    let added = api.sim.add_user(NewUser {
        given_name: "New".into(),
        surname: "Hire".into(),
        ..NewUser::default()
    });

    let (items, next_link, _) = round(&api, &delta_link, 100).await;
    assert_eq!(items.len(), 4, "{items:?}");
    let by_id = |id: &str| items.iter().find(|u| u["id"] == id).unwrap().clone();
    let c = by_id(&changed);
    assert_eq!(c["displayName"], "Renamed Person");
    // Default behaviour: the same (selected) properties as the first round.
    assert!(c.get("accountEnabled").is_some());
    assert_eq!(by_id(&deleted)["@removed"]["reason"], "changed");
    assert_eq!(by_id(&purged)["@removed"]["reason"], "deleted");
    assert_eq!(by_id(&added)["displayName"], "New Hire");

    let (items, _, _) = round(&api, &next_link, 100).await;
    assert!(items.is_empty(), "{items:?}");
}

#[tokio::test]
async fn a_change_made_mid_round_shows_in_the_next_round() {
    let api = Api::start(config(10, 0)).await;
    let resp = api
        .http
        .get(api.url("/v1.0/users/delta?$select=id,jobTitle"))
        .bearer_auth(&api.token)
        .header("Prefer", "odata.maxpagesize=4")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["preference-applied"], "odata.maxpagesize=4");
    let first: Value = resp.json().await.unwrap();
    let seen = first["value"][0]["id"].as_str().unwrap().to_string();
    // Changed after the round started, on a page already read.
    api.sim
        .update_user(&seen, json!({"jobTitle": "Chief Everything"}));
    let (_, delta_link, _) = round(&api, first["@odata.nextLink"].as_str().unwrap(), 4).await;
    let (items, _, _) = round(&api, &delta_link, 100).await;
    let u = items.iter().find(|u| u["id"] == seen.as_str()).unwrap();
    assert_eq!(u["jobTitle"], "Chief Everything");
}

#[tokio::test]
async fn writes_through_graph_show_in_the_delta() {
    let api = Api::start(config(5, 0)).await;
    let (_, delta_link, _) = round(&api, "/v1.0/users/delta?$select=id,accountEnabled", 100).await;
    let id = api.sim.user_ids().into_iter().next().unwrap();
    let resp = api
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/users/{id}"),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (items, _, _) = round(&api, &delta_link, 100).await;
    assert_eq!(items, vec![json!({"id": id, "accountEnabled": false})]);
}

#[tokio::test]
async fn expired_and_reset_tokens_force_a_full_resync() {
    let api = Api::start(crate::support::EntraConfigExt::with(config(5, 0), |c| {
        c.delta_token_max_age = Duration::from_secs(3600);
        c.token_lifetime = Duration::from_secs(36_000);
    }))
    .await;
    let (_, link, _) = round(&api, "/v1.0/users/delta", 100).await;
    api.sim.advance(Duration::from_secs(3601));
    let body = graph_error(api.get(&link).await, 400, "syncStateNotFound").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("delta token is expired"));

    let (_, link, _) = round(&api, "/v1.0/users/delta", 100).await;
    api.sim.expire_delta_tokens();
    graph_error(api.get(&link).await, 400, "syncStateNotFound").await;

    let (_, link, _) = round(&api, "/v1.0/users/delta", 100).await;
    api.sim.reset_sync_state();
    let resp = api.get(&link).await;
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.ends_with("/v1.0/users/delta?$deltatoken="),
        "{location}"
    );
    graph_error(resp, 410, "resyncRequired").await;
    // The Location restarts a full round.
    let (items, _, _) = round(&api, &location, 100).await;
    assert_eq!(items.len(), 5);
}

#[tokio::test]
async fn latest_delta_token_syncs_from_now() {
    let api = Api::start(config(5, 0)).await;
    let page = api.get_json("/v1.0/users/delta?$deltatoken=latest").await;
    assert!(page["value"].as_array().unwrap().is_empty());
    let link = page["@odata.deltaLink"].as_str().unwrap().to_string();
    let id = api.sim.add_user(NewUser::default());
    let (items, _, _) = round(&api, &link, 100).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
}

#[tokio::test]
async fn prefer_return_minimal_gives_only_changed_properties() {
    let api = Api::start(config(5, 0)).await;
    let (_, link, _) = round(
        &api,
        "/v1.0/users/delta?$select=displayName,jobTitle,mobilePhone",
        100,
    )
    .await;
    let id = api.sim.user_ids().into_iter().next().unwrap();
    api.sim
        .update_user(&id, json!({"displayName": "Only This"}));
    let page: Value = api
        .http
        .get(&link)
        .bearer_auth(&api.token)
        .header("Prefer", "return=minimal")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["value"],
        json!([{"id": id, "displayName": "Only This"}])
    );
}
