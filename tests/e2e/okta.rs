//! Okta end to end: the real binary with the Okta simulator. Onboard with /test and /sync, find
//! users and sign-ins with the right fields, receive event-hook deliveries after the verification
//! handshake, and run response actions that reach the simulator only where allowed.

use std::time::Duration;

use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{action, eventually};

struct Setup {
    sim: OktaSim,
    _running: gatehouse_testkit::idp_sim::okta::RunningSim,
    daemon: Gatehouse,
    op: Api,
    integration: Value,
}

impl Setup {
    fn id(&self) -> String {
        self.integration["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

async fn setup(tenant: &str, config: Value) -> anyhow::Result<Setup> {
    let sim = OktaSim::new(OktaConfig {
        users: 40,
        events: 200,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    let created = op
        .post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
    let mut body = json!({"type": "okta", "tenant_id": tenant,
        "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
        "config": config});
    body["config"]["system_log_lookback_hours"] = json!(100);
    let integration = op.post("/v1/integrations", &body).await?;
    anyhow::ensure!(
        integration.status == StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    Ok(Setup {
        sim,
        _running: running,
        daemon,
        op,
        integration: integration.body,
    })
}

async fn all_users(op: &Api, tenant: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op
        .get(&format!("/v1/users?tenant_id={tenant}&limit=1000"))
        .await?;
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn onboard_test_sync_and_inventory() -> anyhow::Result<()> {
    let s = setup("ten_okta_pull", json!({"enable_response_actions": false})).await?;
    let id = s.id();
    let check =
        s.op.post_empty(&format!("/v1/integrations/{id}/test"))
            .await?;
    assert_eq!(check.status, StatusCode::OK, "{:?}", check.body);
    assert_eq!(check.body["principal"], s.sim.config().admin_login);
    let sync =
        s.op.post_empty(&format!("/v1/integrations/{id}/sync"))
            .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED);

    let expected = s.sim.user_count();
    let users = eventually(Duration::from_secs(60), || async {
        let users = all_users(&s.op, "ten_okta_pull").await?;
        Ok((users.len() == expected).then_some(users))
    })
    .await?;
    let count = |status: &str| users.iter().filter(|u| u["status"] == status).count();
    assert_eq!(
        count("deprovisioned"),
        s.sim.users_with_status(UserStatus::Deprovisioned).len()
    );
    assert_eq!(
        count("suspended"),
        s.sim.users_with_status(UserStatus::Suspended).len()
    );
    assert_eq!(
        count("locked"),
        s.sim.users_with_status(UserStatus::LockedOut).len()
    );
    assert_eq!(
        count("staged"),
        s.sim.users_with_status(UserStatus::Staged).len()
    );
    assert!(
        count("deprovisioned") > 0,
        "the full pull includes deprovisioned users"
    );
    let mut admins: Vec<&str> = users
        .iter()
        .filter(|u| u["is_admin"] == true)
        .filter_map(|u| u["external_id"].as_str())
        .collect();
    admins.sort_unstable();
    let holders = s.sim.users_with_roles();
    assert!(!holders.is_empty(), "the simulator seeds admin roles");
    assert_eq!(admins, holders, "is_admin is true exactly for role holders");
    for user in &users {
        assert_eq!(user["provider"], "okta");
        assert!(
            user["external_id"]
                .as_str()
                .is_some_and(|e| e.starts_with("00u")),
            "{user}"
        );
        assert!(
            user["identity_id"].is_string(),
            "every account with an e-mail has an identity: {user}"
        );
        assert!(
            user["mfa_enrolled"].is_boolean(),
            "factors were read: {user}"
        );
    }
    let signins = eventually(Duration::from_secs(60), || async {
        let reply =
            s.op.get("/v1/signins?tenant_id=ten_okta_pull&limit=1000")
                .await?;
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
        Ok((!data.is_empty()).then_some(data))
    })
    .await?;
    assert!(
        signins.iter().any(|e| e["outcome"] == "failure"),
        "failures are mapped"
    );
    assert!(signins
        .iter()
        .any(|e| e["ip"].is_string() && e["country"].is_string()));
    assert!(
        signins.iter().any(|e| e["user_id"].is_string()),
        "sign-ins are matched to accounts"
    );
    let integration = eventually(Duration::from_secs(30), || async {
        let reply = s.op.get(&format!("/v1/integrations/{id}")).await?;
        Ok(reply.body["sync"]["last_success_at"]
            .is_string()
            .then_some(reply.body))
    })
    .await?;
    assert!(
        integration["sync"]["counts"]["users"].as_u64() > Some(0),
        "{integration}"
    );
    Ok(())
}

/// `/sync` pulls what changed; `/sync?full=true` asks for a full directory pull (every account
/// read again, those the provider no longer lists marked deprovisioned), and a malformed flag is
/// a 400, not a silent incremental pull.
#[tokio::test]
async fn a_requested_sync_can_be_a_full_directory_pull() -> anyhow::Result<()> {
    let s = setup("ten_okta_full", json!({"ingest_system_log": false})).await?;
    let id = s.id();
    let path = format!("/v1/integrations/{id}");
    let job = |name: &'static str| {
        let (op, path) = (&s.op, path.clone());
        async move {
            let body = op.get(&path).await?.body;
            anyhow::Ok(body["sync"]["jobs"][name].clone())
        }
    };
    let sync = s.op.post_empty(&format!("{path}/sync")).await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED);
    eventually(Duration::from_secs(60), || async {
        Ok(job("users").await?["last_success_at"]
            .is_string()
            .then_some(()))
    })
    .await?;
    assert!(
        job("full_users").await?.is_null(),
        "{:?}",
        job("full_users").await?
    );

    let bad = s.op.post_empty(&format!("{path}/sync?full=maybe")).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
    let full = s.op.post_empty(&format!("{path}/sync?full=true")).await?;
    assert_eq!(full.status, StatusCode::ACCEPTED);
    let expected = s.sim.user_count() as u64;
    let done = eventually(Duration::from_secs(60), || async {
        let full = job("full_users").await?;
        Ok(full["last_success_at"].is_string().then_some(full))
    })
    .await?;
    assert_eq!(done["records"], json!(expected), "{done:?}");
    Ok(())
}

#[tokio::test]
async fn event_hook_verification_and_delivery() -> anyhow::Result<()> {
    let s = setup(
        "ten_okta_hook",
        json!({"ingest_users": false, "ingest_system_log": false}),
    )
    .await?;
    let ingest_url = format!(
        "{}{}",
        s.daemon.base_url,
        s.integration["ingest"]["url"].as_str().unwrap_or_default()
    );
    let token = s.integration["ingest"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let verification = s.sim.verify_event_hook(&ingest_url, "").await;
    assert!(verification.verified, "{verification:?}");
    let bare = format!("{}/v1/idp/okta", s.daemon.base_url);
    let verification = s
        .sim
        .verify_event_hook(&bare, &format!("Bearer {token}"))
        .await;
    assert!(verification.verified, "{verification:?}");

    let user = s.sim.users_with_status(UserStatus::Active).remove(0);
    let events: Vec<Value> = (0..3)
        .filter_map(|_| {
            s.sim.make_event(
                &user,
                "user.session.start",
                "FAILURE",
                Some("INVALID_CREDENTIALS"),
            )
        })
        .collect();
    assert_eq!(events.len(), 3);
    let delivery = s
        .sim
        .deliver_event_hook(&bare, &format!("Bearer {token}"), events.clone())
        .await;
    assert!(delivery.delivered, "{delivery:?}");
    let stored = s.op.get("/v1/signins?tenant_id=ten_okta_hook").await?;
    let data = stored.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(data.len(), 3, "stored before the 200: {:?}", stored.body);
    let uuids: Vec<&str> = events.iter().filter_map(|e| e["uuid"].as_str()).collect();
    for event in &data {
        assert!(uuids.contains(&event["provider_event_id"].as_str().unwrap_or_default()));
        assert_eq!(event["outcome"], "failure");
        assert_eq!(event["reason"], "INVALID_CREDENTIALS");
    }
    // Okta retries and redelivers: the same events are stored once.
    let again = s.sim.deliver_event_hook(&ingest_url, "", events).await;
    assert!(again.delivered);
    let stored = s.op.get("/v1/signins?tenant_id=ten_okta_hook").await?;
    assert_eq!(stored.body["data"].as_array().map(Vec::len), Some(3));
    // A wrong token is refused with a 4xx, which Okta does not retry.
    let refused = s
        .sim
        .deliver_event_hook(&bare, "Bearer gh_in_forged", vec![])
        .await;
    assert!(!refused.delivered);
    assert_eq!(refused.attempts.len(), 1);
    assert_eq!(refused.attempts[0].status, Some(401));
    Ok(())
}

/// A delivery is answered once it is durable in the push inbox and stored behind the answer: a
/// SIGKILL right after the last 200 loses none of it, and the restarted daemon stores every
/// event exactly once.
#[tokio::test]
async fn acknowledged_pushes_survive_sigkill_and_are_stored_once() -> anyhow::Result<()> {
    let mut s = setup(
        "ten_okta_inbox",
        json!({"ingest_users": false, "ingest_system_log": false}),
    )
    .await?;
    let url = format!(
        "{}{}",
        s.daemon.base_url,
        s.integration["ingest"]["url"].as_str().unwrap_or_default()
    );
    let user = s.sim.users_with_status(UserStatus::Active).remove(0);
    let mut sent = Vec::new();
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let events: Vec<Value> = (0..25)
            .filter_map(|_| {
                s.sim
                    .make_event(&user, "user.session.start", "SUCCESS", None)
            })
            .collect();
        sent.extend(
            events
                .iter()
                .filter_map(|e| e["uuid"].as_str().map(str::to_owned)),
        );
        let (sim, url) = (s.sim.clone(), url.clone());
        deliveries.spawn(async move { sim.deliver_event_hook(&url, "", events).await });
    }
    while let Some(delivery) = deliveries.join_next().await {
        let delivery = delivery?;
        assert!(delivery.delivered, "{delivery:?}");
    }
    assert_eq!(sent.len(), 1000);
    s.daemon.kill().await?;

    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(&s.daemon.data_dir)
        .start()
        .await?;
    // The read waits for the restarted consumer (up to 5 s); on a loaded machine the replay
    // may take longer, so ask until everything is there — the point is that nothing is lost.
    let op = daemon.operator()?;
    let mut got: Vec<String> = eventually(Duration::from_secs(60), || async {
        let stored = op
            .get("/v1/signins?tenant_id=ten_okta_inbox&limit=1000")
            .await?;
        let ids: Vec<String> = stored.body["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e["provider_event_id"].as_str().map(str::to_owned))
            .collect();
        Ok((ids.len() >= 1000).then_some(ids))
    })
    .await?;
    got.sort();
    sent.sort();
    assert_eq!(got, sent);
    Ok(())
}

#[tokio::test]
async fn response_actions_reach_okta_only_where_allowed() -> anyhow::Result<()> {
    let s = setup(
        "ten_okta_act",
        json!({"enable_response_actions": true, "ingest_system_log": false}),
    )
    .await?;
    let id = s.id();
    s.op.post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    let expected = s.sim.user_count();
    let users = eventually(Duration::from_secs(60), || async {
        let users = all_users(&s.op, "ten_okta_act").await?;
        Ok((users.len() == expected).then_some(users))
    })
    .await?;
    let admin = s.sim.admin_id();
    let target = s
        .sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .find(|u| *u != admin)
        .ok_or_else(|| anyhow::anyhow!("no active user"))?;
    let user_id = users
        .iter()
        .find(|u| u["external_id"] == target.as_str())
        .and_then(|u| u["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    s.sim.clear_mutations();

    let revoked = action(&s.op, "ten_okta_act", &user_id, "revoke_sessions").await?;
    assert_eq!(revoked["status"], "succeeded", "{revoked}");
    let calls = s.sim.mutations();
    assert!(
        calls.iter().any(|c| c.method == "DELETE"
            && c.path == format!("/api/v1/users/{target}/sessions")
            && c.query
                .as_deref()
                .unwrap_or("")
                .contains("oauthTokens=true")),
        "{calls:?}"
    );
    let disabled = action(&s.op, "ten_okta_act", &user_id, "disable_account").await?;
    assert_eq!(disabled["status"], "succeeded", "{disabled}");
    assert_eq!(s.sim.user_status(&target).as_deref(), Some("SUSPENDED"));
    // The inventory shows it at once, not at the next pull.
    let account = s.op.get(&format!("/v1/users/{user_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);
    // Idempotent: disabling a suspended account succeeds without another suspend.
    let suspends = |calls: &[gatehouse_testkit::idp_sim::okta::RecordedCall]| {
        calls
            .iter()
            .filter(|c| c.path.ends_with("/lifecycle/suspend"))
            .count()
    };
    let before = suspends(&s.sim.mutations());
    let again = action(&s.op, "ten_okta_act", &user_id, "disable_account").await?;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(suspends(&s.sim.mutations()), before);

    // With response actions off, nothing reaches Okta and the action is skipped.
    let off =
        s.op.call(
            reqwest::Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&json!({"config": {"enable_response_actions": false}})),
        )
        .await?;
    assert_eq!(off.status, StatusCode::OK);
    s.sim.clear_mutations();
    let skipped = action(&s.op, "ten_okta_act", &user_id, "revoke_sessions").await?;
    assert_eq!(skipped["status"], "skipped", "{skipped}");
    assert!(s.sim.mutations().is_empty(), "{:?}", s.sim.mutations());
    Ok(())
}

/// Every distinct value of `field` across all pages of a list.
async fn collect_all(
    op: &Api,
    path: &str,
    field: &str,
) -> anyhow::Result<(usize, std::collections::BTreeSet<String>)> {
    let mut total = 0;
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&limit=1000&cursor={c}"),
            None => format!("{path}&limit=1000"),
        };
        let page = op.get(&url).await?;
        let data = page.body["data"].as_array().cloned().unwrap_or_default();
        total += data.len();
        seen.extend(
            data.iter()
                .filter_map(|v| v[field].as_str().map(str::to_owned)),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok((total, seen)),
        }
    }
}

/// Okta's 429 (its body, its budget headers, `Date` on the org's clock) with a reset a second
/// away: the daemon waits it out without the test waiting for a whole rate-limit window.
fn quick_429(sim: &OktaSim, count: u32) -> gatehouse_testkit::idp_sim::okta::Fault {
    use gatehouse_testkit::idp_sim::okta::{CannedResponse, Fault};
    let reset = sim.clock().now().timestamp() + 1;
    let body = json!({"errorCode": "E0000047",
        "errorSummary": "API call exceeded rate limit due to too many requests.",
        "errorLink": "E0000047", "errorId": "oaequick429", "errorCauses": []});
    let response = CannedResponse::json(429, &body)
        .header("x-rate-limit-limit", "600")
        .header("x-rate-limit-remaining", "0")
        .header("x-rate-limit-reset", reset.to_string());
    Fault::respond(response, count)
}

#[tokio::test]
async fn pulls_at_scale_survive_faults_and_a_crash_and_store_everything_once() -> anyhow::Result<()>
{
    use gatehouse_testkit::idp_sim::okta::{Fault, Truncation};
    let sim = OktaSim::new(OktaConfig {
        users: 2000,
        events: 10_000,
        rate_limit_per_minute: 1_000_000,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    for fault in [
        quick_429(&sim, 2),
        Fault::server_error(2),
        Fault::truncate(Truncation::CutJson, 1),
    ] {
        sim.inject_on("/api/v1/users", fault);
    }
    for fault in [
        Fault::unavailable(2),
        Fault::reset(1),
        Fault::truncate(Truncation::ContentLengthTooLong, 1),
    ] {
        sim.inject_on("/api/v1/logs", fault);
    }
    let mut first = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = first.operator()?;
    op.post("/v1/tenants", &json!({"name": "Scale", "id": "ten_scale"}))
        .await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": "ten_scale",
            "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
            "config": {"system_log_lookback_hours": 200}}),
        )
        .await?;
    let id = created.str("/id");
    let sync = op
        .post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED);
    // Crash mid-pull: some pages stored, not all.
    let waited = eventually(Duration::from_secs(240), || async {
        let (count, _) = collect_all(&op, "/v1/users?tenant_id=ten_scale", "id").await?;
        Ok((count >= 400).then_some(()))
    })
    .await;
    if waited.is_err() {
        let logs = first.logs();
        let tail: Vec<&str> = logs.lines().rev().take(30).collect();
        anyhow::bail!(
            "no progress; integration: {:?}\nlogs: {tail:#?}",
            op.get(&format!("/v1/integrations/{id}")).await?.body
        );
    }
    first.kill().await?;

    let second = Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(&first.data_dir)
        .start()
        .await?;
    let op = second.operator()?;
    sim.inject_on("/api/v1/logs", quick_429(&sim, 2));
    let sync = op
        .post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED);
    let expected_users = sim.user_count();
    let expected_events = sim.event_count();
    // Generous: CI machines are shared, and the risk runner assesses all 10,000 events meanwhile.
    eventually(Duration::from_secs(540), || async {
        let (users, _) = collect_all(&op, "/v1/users?tenant_id=ten_scale", "id").await?;
        let (events, _) = collect_all(&op, "/v1/signins?tenant_id=ten_scale", "id").await?;
        Ok((users >= expected_users && events >= expected_events).then_some(()))
    })
    .await?;
    // Exactly once: as many rows as the provider has, each provider id once.
    let (users, external_ids) =
        collect_all(&op, "/v1/users?tenant_id=ten_scale", "external_id").await?;
    assert_eq!(users, expected_users);
    assert_eq!(external_ids.len(), expected_users);
    let (events, uuids) =
        collect_all(&op, "/v1/signins?tenant_id=ten_scale", "provider_event_id").await?;
    assert_eq!(events, expected_events);
    assert_eq!(uuids.len(), expected_events);
    assert_eq!(
        sim.pending_faults(),
        0,
        "every injected fault was met and survived"
    );
    // The second daemon met two 429s and finished pulls; the metrics count both.
    let metrics = op.get("/metrics").await?;
    let text = metrics.body.as_str().unwrap_or_default();
    let value = |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(
        value(r#"gatehouse_provider_rate_limited_total{provider="okta"} "#) >= 2.0,
        "{text}"
    );
    assert!(
        value(r#"gatehouse_pulls_total{job="signins",outcome="success"} "#) >= 1.0,
        "{text}"
    );
    Ok(())
}
