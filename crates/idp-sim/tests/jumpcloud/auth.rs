//! `x-api-key` on every host and the multi-tenant `x-org-id` rules.

use serde_json::{json, Value};

use crate::support::{config, Api};

#[tokio::test]
async fn missing_or_wrong_key_is_401_with_a_message() {
    let mut api = Api::start(config(5, 10)).await;
    let resp = api
        .http
        .get(api.url("/api/systemusers"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"message": "Unauthorized"}));

    api.key = "not-the-key".into();
    assert_eq!(api.get("/api/systemusers").await.status(), 401);
    let di = api
        .events(&json!({"service": ["all"], "start_time": "2025-05-01T00:00:00Z"}))
        .await;
    assert_eq!(di.status(), 401);
    assert_eq!(api.get("/api/v2/usergroups").await.status(), 401);
    // The refusals are recorded.
    assert!(api.sim.calls().iter().all(|c| c.status == 401));
}

#[tokio::test]
async fn single_tenant_key_needs_no_org_but_rejects_foreign_ones() {
    let mut api = Api::start(config(5, 10)).await;
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
    api.org = Some(api.sim.config().org_id.clone());
    assert_eq!(api.get("/api/systemusers").await.status(), 200);
    api.org = Some("0123456789abcdef01234567".into());
    assert_eq!(api.get("/api/systemusers").await.status(), 404);
    api.org = Some("not-an-id".into());
    assert_eq!(api.get("/api/systemusers").await.status(), 400);
}

#[tokio::test]
async fn multi_tenant_key_requires_x_org_id() {
    let other = "6ce434e87128303e528e747b".to_string();
    let mut api = Api::start(gatehouse_idp_sim::jumpcloud::JumpCloudConfig {
        multi_tenant_key: true,
        other_orgs: vec![other.clone()],
        ..config(5, 10)
    })
    .await;
    let resp = api.get("/api/systemusers").await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], "Unauthorized: no organization selected");
    let di = api
        .events(&json!({"service": ["all"], "start_time": "2025-05-01T00:00:00Z"}))
        .await;
    assert_eq!(di.status(), 401);

    api.org = Some(api.sim.config().org_id.clone());
    let list = api.get_json("/api/systemusers").await;
    assert_eq!(list["totalCount"], 5);

    // Another organization the key administers: reachable, but empty here.
    api.org = Some(other);
    let list = api.get_json("/api/systemusers").await;
    assert_eq!(list["totalCount"], 0);

    // An organization the key may not select.
    api.org = Some("0123456789abcdef01234567".into());
    let resp = api.get("/api/systemusers").await;
    assert_eq!(resp.status(), 404);
    let rec = api.sim.calls();
    assert_eq!(
        rec.last().unwrap().org_ids,
        vec!["0123456789abcdef01234567".to_string()]
    );
}
