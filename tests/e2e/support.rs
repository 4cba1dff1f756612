//! What the providers' end-to-end tests share: polling with a deadline, creating a tenant, and
//! running a manual action to its end.

use std::future::Future;
use std::time::{Duration, Instant};

use gatehouse_testkit::Api;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Polls `check` until it yields a value, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates the tenant `tenant` (its id is its name).
pub async fn create_tenant(op: &Api, tenant: &str) -> anyhow::Result<()> {
    let created = op
        .post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
    Ok(())
}

/// Asks for a manual action and waits until it ends (succeeded, failed or skipped).
pub async fn action(op: &Api, tenant: &str, user: &str, kind: &str) -> anyhow::Result<Value> {
    let reply = op
        .post(
            "/v1/actions",
            &json!({"tenant_id": tenant, "user_id": user, "action": kind, "reason": "e2e"}),
        )
        .await?;
    anyhow::ensure!(reply.status == StatusCode::ACCEPTED, "{:?}", reply.body);
    let id = reply.str("/id");
    eventually(Duration::from_secs(30), || async {
        let got = op.get(&format!("/v1/actions/{id}")).await?;
        let status = got.body["status"].as_str().unwrap_or_default().to_owned();
        Ok(["succeeded", "failed", "skipped"]
            .contains(&status.as_str())
            .then_some(got.body))
    })
    .await
}
