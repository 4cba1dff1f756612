//! JumpCloud end to end: the real binary with the JumpCloud simulator. Onboard with /test and
//! /sync, find the system users and their Directory Insights sign-ins, and run manual actions
//! that reach JumpCloud (suspend; the password expiry that stands in for a session revocation).

use std::time::Duration;

use gatehouse_testkit::idp_sim::jumpcloud::{JumpCloudConfig, JumpCloudSim};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{action, eventually};

async fn list(op: &Api, path: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op.get(path).await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn jumpcloud_onboard_sync_and_act() -> anyhow::Result<()> {
    let sim = JumpCloudSim::new(JumpCloudConfig {
        users: 25,
        events: 0,
        event_lag: Duration::ZERO,
        ..JumpCloudConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let base = running.base_url().to_string();
    let logins = sim.add_logins(30, Duration::from_secs(600));
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    let tenant = "ten_jc";
    let created = op
        .post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "jumpcloud", "tenant_id": tenant,
                "credentials": {"api_key": sim.config().api_key},
                "config": {"base_url": base, "enable_response_actions": true,
                    "signin_lookback_hours": 24}}),
        )
        .await?;
    anyhow::ensure!(
        integration.status == StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    assert!(
        integration.body.get("ingest").is_none(),
        "JumpCloud pushes nothing"
    );
    let id = integration.str("/id");

    let test = op
        .post_empty(&format!("/v1/integrations/{id}/test"))
        .await?;
    assert_eq!(test.status, StatusCode::OK, "{:?}", test.body);
    let sync = op
        .post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED, "{:?}", sync.body);

    let expected = sim.user_ids().len();
    let users = eventually(Duration::from_secs(60), || async {
        let users = list(
            &op,
            &format!("/v1/users?tenant_id={tenant}&provider=jumpcloud&limit=1000"),
        )
        .await?;
        Ok((users.len() == expected).then_some(users))
    })
    .await?;
    for user in &users {
        let external = user["external_id"].as_str().unwrap_or_default();
        let at_sim = sim.user(external).unwrap_or_default();
        assert_eq!(user["login"], at_sim["username"], "{user}");
    }
    let signins = eventually(Duration::from_secs(60), || async {
        let signins = list(&op, &format!("/v1/signins?tenant_id={tenant}&limit=1000")).await?;
        // The simulator's logins mix event types; the few that are no sign-in (a system's own
        // login attempt) are not stored.
        Ok((signins.len() * 10 >= logins.len() * 8).then_some(signins))
    })
    .await?;
    assert!(
        signins
            .iter()
            .all(|s| ["success", "failure", "challenge"]
                .contains(&s["outcome"].as_str().unwrap_or(""))),
        "{signins:?}"
    );

    // A suspension reaches JumpCloud; the password expiry is said to leave open sessions.
    let target = users
        .iter()
        .find(|u| u["status"] == "active")
        .ok_or_else(|| anyhow::anyhow!("no active user"))?;
    let user_id = target["id"].as_str().unwrap_or_default();
    let external = target["external_id"].as_str().unwrap_or_default();
    let disabled = action(&op, tenant, user_id, "disable_account").await?;
    assert_eq!(disabled["status"], "succeeded", "{disabled}");
    assert_eq!(sim.user(external).unwrap_or_default()["suspended"], true);
    let expired = action(&op, tenant, user_id, "revoke_sessions").await?;
    assert_eq!(expired["status"], "succeeded", "{expired}");
    assert!(sim.password_expired(external), "the password was expired");
    assert!(
        expired["result"]
            .as_str()
            .unwrap_or_default()
            .contains("not ended"),
        "{expired}"
    );
    Ok(())
}
