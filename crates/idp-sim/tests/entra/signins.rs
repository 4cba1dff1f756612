//! The sign-in log: newest first, `$top` paging, `createdDateTime`
//! filters, the arrival lag (late arrivals), and the licence check.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::support::{collect, config, graph_error, Api, EntraConfigExt};

fn no_lag(users: usize, signins: usize) -> gatehouse_idp_sim::entra::EntraConfig {
    config(users, signins).with(|c| c.signin_lag = Duration::ZERO)
}

#[tokio::test]
async fn newest_first_with_top_paging() {
    let api = Api::start(no_lag(10, 57)).await;
    let first = api.get_json("/v1.0/auditLogs/signIns?$top=10").await;
    assert!(first["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#auditLogs/signIns"));
    assert!(first["@odata.nextLink"]
        .as_str()
        .unwrap()
        .contains("$skiptoken="));
    let (all, _) = collect(&api, "/v1.0/auditLogs/signIns?$top=10").await;
    assert_eq!(all.len(), 57);
    let ids: BTreeSet<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 57);
    let times: Vec<chrono::DateTime<chrono::Utc>> = all
        .iter()
        .map(|s| s["createdDateTime"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    let asc = api
        .get_json("/v1.0/auditLogs/signIns?$orderby=createdDateTime%20asc&$top=3")
        .await;
    let t0: chrono::DateTime<chrono::Utc> = asc["value"][0]["createdDateTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(t0, *times.last().unwrap());
    // Default and maximum page size is 1,000.
    graph_error(
        api.get("/v1.0/auditLogs/signIns?$top=1001").await,
        400,
        "Request_UnsupportedQuery",
    )
    .await;
}

#[tokio::test]
async fn filters_on_created_date_time() {
    let api = Api::start(no_lag(10, 80)).await;
    let all = api.get_json("/v1.0/auditLogs/signIns").await["value"]
        .as_array()
        .unwrap()
        .clone();
    let pivot = all[30]["createdDateTime"].as_str().unwrap().to_string();
    let url = format!("/v1.0/auditLogs/signIns?$filter=createdDateTime ge {pivot}");
    let (newer, _) = collect(&api, &url).await;
    assert_eq!(newer.len(), 31);
    let url = format!("/v1.0/auditLogs/signIns?$filter=createdDateTime ge 2020-01-01T00:00:00Z and createdDateTime le {pivot}");
    let (older, _) = collect(&api, &url).await;
    assert_eq!(older.len(), 50);
}

#[tokio::test]
async fn late_arrivals_appear_after_the_lag() {
    let api = Api::start(config(10, 0).with(|c| c.signin_lag = Duration::from_secs(300))).await;
    let uid = api.sim.user_ids().into_iter().next().unwrap();
    let created = api.sim.clock().now() - chrono::Duration::minutes(10);
    let id = api.sim.add_signin(json!({
        "userId": uid,
        "createdDateTime": created.to_rfc3339(),
        "status": {"errorCode": 50126},
    }));
    let page = api.get_json("/v1.0/auditLogs/signIns").await;
    assert!(page["value"].as_array().unwrap().is_empty());
    api.sim.advance(Duration::from_secs(301));
    let page = api.get_json("/v1.0/auditLogs/signIns").await;
    let s = &page["value"][0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["userId"], uid.as_str());
    assert_eq!(s["status"]["errorCode"], 50126);
    assert_eq!(
        s["status"]["failureReason"],
        "Error validating credentials due to invalid username or password."
    );
    let added = api.sim.add_signins(3, chrono::Duration::zero());
    assert_eq!(added.len(), 3);
    assert_eq!(
        api.get_json("/v1.0/auditLogs/signIns").await["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    api.sim.advance(Duration::from_secs(301));
    assert_eq!(
        api.get_json("/v1.0/auditLogs/signIns").await["value"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn sign_in_logs_need_a_premium_licence() {
    let api = Api::start(config(5, 10).with(|c| c.premium = false)).await;
    graph_error(
        api.get("/v1.0/auditLogs/signIns").await,
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    )
    .await;
    graph_error(
        api.get("/v1.0/users?$select=id,signInActivity").await,
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    )
    .await;
    assert_eq!(api.get("/v1.0/users").await.status(), 200);
}
