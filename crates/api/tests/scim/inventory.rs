//! The inventory rows SCIM feeds, and the deprovision policies (deactivate or delete) with
//! their audit events.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{id, start, user};

#[tokio::test]
async fn inventory_rows_and_deprovision_policies() {
    let s = start().await;
    let keep = s.tenant("ten_keep", json!({})).await;
    let drop = s.tenant("ten_drop", json!({"deprovision": "delete"})).await;
    for t in [&keep, &drop] {
        let u = s
            .create(&t.scim_token, "Users", user("pat@example.com"))
            .await;
        let uid = id(&u);
        let inv = s.inventory_user(t, &uid).await.unwrap();
        assert_eq!(inv["provider"], "scim");
        assert_eq!(inv["login"], "pat@example.com");
        assert_eq!(inv["email"], "pat@example.com");
        assert_eq!(inv["status"], "active");
        assert!(inv["identity_id"].is_string());
        let r = s
            .scim(
                Method::DELETE,
                &format!("/Users/{uid}"),
                &t.scim_token,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let r = s
        .api(
            Method::GET,
            "/v1/users?status=deprovisioned",
            &keep.api_key,
            None,
        )
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "{}", r.body);
    let r = s.api(Method::GET, "/v1/users", &drop.api_key, None).await;
    assert_eq!(r.body["data"], json!([]), "{}", r.body);
    // Either way the change is recorded, as an audit event.
    for (tenant, policy) in [(&keep, "deactivate"), (&drop, "delete")] {
        let r = s
            .api(Method::GET, "/v1/signins", &tenant.api_key, None)
            .await;
        let audits: Vec<&Value> = r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "user.deprovisioned")
            .collect();
        assert_eq!(audits.len(), 1, "{policy}: {}", r.body);
        assert!(audits[0]["reason"].as_str().unwrap().contains(policy));
    }
}
