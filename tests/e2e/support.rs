//! What the providers' end-to-end tests share: polling with a deadline, creating a tenant, and
//! running a manual action to its end.

use std::future::Future;
use std::time::{Duration, Instant};

use gatehouse_testkit::idp_sim::okta::{OktaSim, UserStatus};
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

/// The `data` of a list answer.
pub async fn list(op: &Api, path: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op.get(path).await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

/// Asks for a pull of `integration` now.
pub async fn sync(op: &Api, integration: &str) -> anyhow::Result<()> {
    let sync = op
        .post_empty(&format!("/v1/integrations/{integration}/sync"))
        .await?;
    anyhow::ensure!(sync.status == StatusCode::ACCEPTED, "{:?}", sync.body);
    Ok(())
}

/// Every item of a paged list (`path` already has its query), following `next_cursor` to the
/// end: the crash tests count whole tables, and a first page would hide a duplicate.
pub async fn all_pages(op: &Api, path: &str) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let reply = op.get(&page).await?;
        anyhow::ensure!(reply.status == StatusCode::OK, "{page}: {:?}", reply.body);
        all.extend(reply.body["data"].as_array().cloned().unwrap_or_default());
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
}

/// How many times each `provider_event_id` is stored among the tenant's sign-ins.
pub async fn stored_event_ids(
    op: &Api,
    tenant: &str,
) -> anyhow::Result<std::collections::HashMap<String, usize>> {
    let mut counts = std::collections::HashMap::new();
    for event in all_pages(op, &format!("/v1/signins?tenant_id={tenant}&limit=1000")).await? {
        if let Some(id) = event["provider_event_id"].as_str() {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// A small seeded generator (splitmix64) for the crash tests' random moments: the test prints
/// its seed, and the same seed replays the same schedule.
pub struct Seeded(u64);

impl Seeded {
    /// Seeded from `$var` when set (to replay a failing run), else at random.
    pub fn from_env(var: &str) -> Self {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            // A fresh random seed: the standard library's per-process hash keys.
            .unwrap_or_else(|| {
                use std::hash::BuildHasher as _;
                std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
            });
        eprintln!("seed {seed} (set {var}={seed} to replay this run)");
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `low..high` (`low` when the range is empty).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next() % (high - low)
    }
}

/// Polls `/readyz` until it answers 200 `ready`, for at most `limit`; the time it took.
pub async fn ready_within(base_url: &str, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    loop {
        if let Ok(reply) = http.get(format!("{base_url}/readyz")).send().await {
            if reply.status() == StatusCode::OK {
                return Ok(started.elapsed());
            }
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "{base_url}/readyz not ready within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The tenant's accounts of `provider`, once there are `expected` of them.
pub async fn accounts_of(
    op: &Api,
    tenant: &str,
    provider: &str,
    expected: usize,
) -> anyhow::Result<Vec<Value>> {
    eventually(Duration::from_secs(60), || async {
        let users = list(
            op,
            &format!("/v1/users?tenant_id={tenant}&provider={provider}&limit=1000"),
        )
        .await?;
        Ok((users.len() == expected).then_some(users))
    })
    .await
}

/// The Gatehouse id of the account whose provider id is `external`.
pub fn account_with(users: &[Value], external: &str) -> anyhow::Result<String> {
    users
        .iter()
        .find(|u| u["external_id"] == external)
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("{external} is not in the inventory"))
}

/// An active Okta user of `sim` other than the admin the connector calls as (acting on the
/// admin would lock the test out): its id and its profile's `field` (`email`, `login`).
pub fn okta_person(sim: &OktaSim, field: &str) -> anyhow::Result<(String, String)> {
    let admin = sim.admin_id();
    let person = sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .find(|u| *u != admin)
        .ok_or_else(|| anyhow::anyhow!("no active Okta user"))?;
    let value = sim
        .user_json(&person)
        .and_then(|u| u["profile"][field].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("the Okta user has no {field}"))?;
    Ok((person, value))
}
