//! Detection and response end to end: an Okta event-hook delivery with 12 failed sign-ins and 3
//! push denials for one user becomes `brute_force` and `mfa_fatigue` detections, an automatic
//! policy revokes the sessions and suspends the account at the simulator once the System Log
//! confirms the pushed events; a forged burst (events Okta never logged) is a detection that
//! suspends nothing; with response actions off nothing reaches Okta; a protected account takes
//! no automatic action; an action queued before a SIGKILL runs exactly once after the restart.

use std::time::{Duration, Instant};

use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, RecordedCall, RunningSim, UserStatus};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Org {
    sim: OktaSim,
    _running: RunningSim,
    daemon: Gatehouse,
    op: Api,
    integration: String,
    hook_url: String,
    target: String,
    target_login: String,
}

async fn wait_for<T>(
    limit: Duration,
    mut probe: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tenant with an Okta integration whose directory is pulled, and an automatic policy.
async fn org(tenant: &str, config: Value, mode: &str) -> anyhow::Result<Org> {
    let sim = OktaSim::new(OktaConfig {
        users: 20,
        events: 0,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    op.post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    // The System Log is pulled by hand (`/sync`) when a test needs it: events Okta never
    // sends through hooks (Classic Engine push denials) reach Gatehouse only that way.
    let mut config = config;
    config["ingest_system_log"] = json!(true);
    config["signins_schedule"] = json!("0 0 0 1 1 *");
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": tenant,
            "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
            "config": config}),
        )
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
    let integration = created.str("/id");
    let hook_url = format!("{}{}", daemon.base_url, created.str("/ingest/url"));
    op.post_empty(&format!("/v1/integrations/{integration}/sync"))
        .await?;
    let expected = sim.user_count();
    wait_for(Duration::from_secs(60), async || {
        let users = op
            .get(&format!("/v1/users?tenant_id={tenant}&limit=1000"))
            .await?;
        Ok((users.body["data"].as_array().map(Vec::len) == Some(expected)).then_some(()))
    })
    .await?;
    let policy = op
        .post("/v1/policies", &json!({"tenant_id": tenant, "name": "contain account takeover",
            "when": {"kinds": ["brute_force", "mfa_fatigue"], "min_severity": "medium", "providers": ["okta"]},
            "then": ["revoke_sessions", "disable_account"], "mode": mode, "scope": "account"}))
        .await?;
    anyhow::ensure!(policy.status == StatusCode::CREATED, "{:?}", policy.body);
    let admin = sim.admin_id();
    let target = sim
        .users_with_status(UserStatus::Active)
        .into_iter()
        .find(|u| *u != admin)
        .ok_or_else(|| anyhow::anyhow!("no active user"))?;
    let target_login = sim
        .user_json(&target)
        .and_then(|u| u["profile"]["login"].as_str().map(str::to_owned))
        .unwrap_or_default();
    sim.clear_mutations();
    Ok(Org {
        sim,
        _running: running,
        daemon,
        op,
        integration,
        hook_url,
        target,
        target_login,
    })
}

impl Org {
    /// 12 failed sign-ins for the target, in Okta's System Log and pushed through the event
    /// hook as Okta sends them, and 3 Okta Verify push denials, which Okta writes only to the
    /// System Log (its catalog does not make `user.mfa.okta_verify.deny_push` eligible for
    /// hooks): they arrive by the log pull.
    async fn attack(&self) -> anyhow::Result<()> {
        self.push_burst(true).await
    }

    /// The failed sign-ins, pushed by whoever holds the ingest URL; logged at Okta (with the
    /// push denials pulled from the log) only when `real`.
    async fn push_burst(&self, real: bool) -> anyhow::Result<()> {
        let failures: Vec<Value> = (0..12)
            .filter_map(|_| {
                self.sim.make_event(
                    &self.target,
                    "user.session.start",
                    "FAILURE",
                    Some("INVALID_CREDENTIALS"),
                )
            })
            .collect();
        anyhow::ensure!(failures.len() == 12);
        if !real {
            // Whoever holds the leaked ingest URL posts what they like, push denials included
            // (Okta itself never would): the whole burst, straight to the URL.
            let mut forged = failures;
            forged.extend((0..3).filter_map(|_| {
                self.sim.make_event(
                    &self.target,
                    "user.mfa.okta_verify.deny_push",
                    "FAILURE",
                    Some("User rejected Okta push verify"),
                )
            }));
            let envelope = self.sim.event_hook_payload(forged);
            let reply = reqwest::Client::new()
                .post(&self.hook_url)
                .json(&envelope)
                .send()
                .await?;
            anyhow::ensure!(reply.status().is_success(), "{}", reply.status());
            return Ok(());
        }
        self.sim.append_events(failures.clone());
        let delivery = self
            .sim
            .deliver_event_hook(&self.hook_url, "", failures)
            .await;
        anyhow::ensure!(delivery.delivered, "{delivery:?}");
        let denials: Vec<Value> = (0..3)
            .filter_map(|_| {
                self.sim.make_event(
                    &self.target,
                    "user.mfa.okta_verify.deny_push",
                    "FAILURE",
                    Some("User rejected Okta push verify"),
                )
            })
            .collect();
        anyhow::ensure!(denials.len() == 3);
        // The simulator refuses to push what Okta would not push.
        let refused = self
            .sim
            .deliver_event_hook(&self.hook_url, "", denials.clone())
            .await;
        anyhow::ensure!(!refused.delivered, "a push denial went through a hook");
        self.sim.append_events(denials);
        let sync = self
            .op
            .post_empty(&format!("/v1/integrations/{}/sync", self.integration))
            .await?;
        anyhow::ensure!(sync.status == StatusCode::ACCEPTED, "{:?}", sync.body);
        Ok(())
    }

    async fn detections(&self, tenant: &str) -> anyhow::Result<Vec<Value>> {
        let reply = self
            .op
            .get(&format!("/v1/detections?tenant_id={tenant}"))
            .await?;
        Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
    }

    async fn actions(&self, tenant: &str) -> anyhow::Result<Vec<Value>> {
        let reply = self
            .op
            .get(&format!("/v1/actions?tenant_id={tenant}"))
            .await?;
        Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
    }

    fn calls(&self, suffix: &str) -> Vec<RecordedCall> {
        self.sim
            .mutations()
            .into_iter()
            .filter(|c| c.path == format!("/api/v1/users/{}{suffix}", self.target))
            .collect()
    }
}

async fn both_detections(org: &Org, tenant: &str) -> anyhow::Result<Vec<Value>> {
    wait_for(Duration::from_secs(30), async || {
        let found = org.detections(tenant).await?;
        let kinds: Vec<&str> = found.iter().filter_map(|d| d["kind"].as_str()).collect();
        Ok((kinds.contains(&"brute_force") && kinds.contains(&"mfa_fatigue")).then_some(found))
    })
    .await
}

/// Waits for `count` actions, all final: each attack yields two detections and the policy two
/// actions per detection, so callers wait for all four lest a count race the queueing.
async fn all_final(org: &Org, tenant: &str, count: usize) -> anyhow::Result<Vec<Value>> {
    wait_for(Duration::from_secs(30), async || {
        let actions = org.actions(tenant).await?;
        let done = actions.len() >= count
            && actions.iter().all(|a| {
                [
                    "succeeded",
                    "failed",
                    "skipped",
                    "rejected",
                    "capped",
                    "unconfirmed",
                ]
                .contains(&a["status"].as_str().unwrap_or(""))
            });
        Ok(done.then_some(actions))
    })
    .await
}

#[tokio::test]
async fn an_attack_is_detected_and_contained_at_okta() -> anyhow::Result<()> {
    let org = org(
        "ten_resp_auto",
        json!({"enable_response_actions": true}),
        "auto",
    )
    .await?;
    org.attack().await?;
    let detections = both_detections(&org, "ten_resp_auto").await?;
    for detection in &detections {
        assert!(
            detection["evidence"]
                .as_array()
                .is_some_and(|e| e.len() >= 3),
            "{detection}"
        );
        assert!(detection["explanation"]
            .as_str()
            .is_some_and(|e| !e.is_empty()));
    }
    // Two kinds for one person are one incident: both carry its escalated severity.
    let escalated = wait_for(Duration::from_secs(10), async || {
        let found = org.detections("ten_resp_auto").await?;
        let severities: Vec<&str> = found
            .iter()
            .filter_map(|d| d["severity"].as_str())
            .collect();
        // Both detections are stored before the escalation raises them: wait for the raise,
        // not merely for equal severities.
        let same = severities.len() >= 2
            && severities.iter().all(|s| *s == severities[0])
            && ["high", "critical"].contains(&severities[0]);
        Ok(same.then(|| severities[0].to_owned()))
    })
    .await?;
    assert!(
        ["high", "critical"].contains(&escalated.as_str()),
        "{escalated}"
    );
    let brute = detections
        .iter()
        .find(|d| d["kind"] == "brute_force")
        .cloned()
        .unwrap_or_default();
    assert!(
        brute["evidence"].as_array().map_or(0, Vec::len) >= 10,
        "{brute}"
    );
    wait_for(Duration::from_secs(30), async || {
        Ok((org.sim.user_status(&org.target).as_deref() == Some("SUSPENDED")).then_some(()))
    })
    .await?;
    // The account and the person carry a risk score, decayed to now when read.
    let users = org
        .op
        .get("/v1/users?tenant_id=ten_resp_auto&limit=1000")
        .await?;
    let account = users.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["external_id"] == org.target.as_str())
        .cloned()
        .unwrap_or_default();
    let user = org
        .op
        .get(&format!(
            "/v1/users/{}",
            account["id"].as_str().unwrap_or_default()
        ))
        .await?;
    assert!(
        user.body["risk_score"].as_u64().unwrap_or(0) > 0,
        "{:?}",
        user.body
    );
    let person = org
        .op
        .get(&format!(
            "/v1/identities/{}",
            account["identity_id"].as_str().unwrap_or_default()
        ))
        .await?;
    assert_eq!(
        person.body["risk_score"], user.body["risk_score"],
        "{:?}",
        person.body
    );
    let revoked = org.calls("/sessions");
    assert!(!revoked.is_empty(), "sessions revoked");
    assert!(revoked.iter().all(|c| c.method == "DELETE"
        && c.query
            .as_deref()
            .unwrap_or("")
            .contains("oauthTokens=true")));
    let actions = all_final(&org, "ten_resp_auto", 4).await?;
    // Two detections, each asking for both actions: each kind ran, and a second request made
    // while the first of its kind was still queued or running was skipped as a repeat.
    for kind in ["revoke_sessions", "disable_account"] {
        assert!(
            actions
                .iter()
                .any(|a| a["action"] == kind && a["status"] == "succeeded"),
            "{kind}: {actions:?}"
        );
    }
    assert!(
        actions.iter().all(|a| a["status"] == "succeeded"
            || (a["status"] == "skipped"
                && a["history"][0]["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains("already queued or running")))),
        "{actions:?}"
    );
    // A suspension that rested only on pushed events was confirmed in the System Log first;
    // the failures were both pushed and logged, so whichever path stored them first decides
    // which case the brute-force one is.
    let signins = org
        .op
        .get("/v1/signins?tenant_id=ten_resp_auto&limit=1000")
        .await?;
    let pulled: std::collections::HashSet<&str> = signins.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["source"] == "pull")
        .filter_map(|s| s["id"].as_str())
        .collect();
    for disable in actions.iter().filter(|a| a["action"] == "disable_account") {
        let detection = detections
            .iter()
            .find(|d| d["id"] == disable["detection_id"])
            .cloned()
            .unwrap_or_default();
        let rests_on_pulls = detection["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e.as_str().is_some_and(|id| pulled.contains(id)));
        assert!(
            rests_on_pulls || disable["confirmation"]["provider_event_id"].is_string(),
            "an unconfirmed suspension on pushed events: {disable}"
        );
    }
    assert!(actions.iter().all(|a| a["detection_id"].is_string()
        && a["requested_by"]
            .as_str()
            .unwrap_or("")
            .starts_with("policy:")));
    // Two detections × two actions, but one account: each action ran at Okta once per detection
    // at most, and suspending twice is a no-op there.
    assert_eq!(
        org.calls("/lifecycle/suspend").len(),
        1,
        "{:?}",
        org.sim.mutations()
    );
    let _ = &org.integration;
    Ok(())
}

#[tokio::test]
async fn a_forged_pushed_burst_is_detected_but_suspends_nothing() -> anyhow::Result<()> {
    let org = org(
        "ten_resp_forged",
        json!({"enable_response_actions": true}),
        "auto",
    )
    .await?;
    // The ingest URL leaked: the attacker pushes a burst Okta never saw.
    org.push_burst(false).await?;
    both_detections(&org, "ten_resp_forged").await?;
    let actions = all_final(&org, "ten_resp_forged", 4).await?;
    let disables: Vec<&Value> = actions
        .iter()
        .filter(|a| a["action"] == "disable_account")
        .collect();
    // The first detection's disable ends unconfirmed; the second detection's, asked for while
    // the first was still being confirmed, is a repeat and is skipped.
    assert!(
        disables.iter().any(|a| a["status"] == "unconfirmed")
            && disables.iter().all(|a| a["status"] == "unconfirmed"
                || (a["status"] == "skipped"
                    && a["result"].is_null()
                    && a["history"][0]["cause"]
                        .as_str()
                        .is_some_and(|c| c.contains("already queued or running")))),
        "{actions:?}"
    );
    assert!(disables.iter().all(|a| a["confirmation"].is_null()));
    assert!(org.calls("/lifecycle/suspend").is_empty());
    assert_eq!(org.sim.user_status(&org.target).as_deref(), Some("ACTIVE"));
    // Revoking sessions is mild and runs at once, confirmed or not.
    assert!(!org.calls("/sessions").is_empty());
    Ok(())
}

#[tokio::test]
async fn with_response_actions_off_nothing_reaches_okta() -> anyhow::Result<()> {
    let org = org(
        "ten_resp_off",
        json!({"enable_response_actions": false}),
        "auto",
    )
    .await?;
    org.attack().await?;
    both_detections(&org, "ten_resp_off").await?;
    let actions = all_final(&org, "ten_resp_off", 4).await?;
    assert!(
        actions.iter().all(|a| a["status"] == "skipped"),
        "{actions:?}"
    );
    assert!(org.sim.mutations().is_empty(), "{:?}", org.sim.mutations());
    assert_eq!(org.sim.user_status(&org.target).as_deref(), Some("ACTIVE"));
    Ok(())
}

#[tokio::test]
async fn a_protected_account_is_never_suspended() -> anyhow::Result<()> {
    let org = org(
        "ten_resp_prot",
        json!({"enable_response_actions": true}),
        "auto",
    )
    .await?;
    let settings = org
        .op
        .call(
            reqwest::Method::PATCH,
            "/v1/tenants/ten_resp_prot",
            Some(&json!({"settings": {"protected_accounts": [org.target_login.to_uppercase()]}})),
        )
        .await?;
    assert_eq!(settings.status, StatusCode::OK, "{:?}", settings.body);
    org.attack().await?;
    both_detections(&org, "ten_resp_prot").await?;
    let actions = all_final(&org, "ten_resp_prot", 4).await?;
    let disables: Vec<&Value> = actions
        .iter()
        .filter(|a| a["action"] == "disable_account")
        .collect();
    assert!(
        !disables.is_empty() && disables.iter().all(|a| a["status"] == "skipped"),
        "{actions:?}"
    );
    assert!(
        actions.iter().all(|a| a["status"] == "skipped"),
        "no automatic action of any kind: {actions:?}"
    );
    assert!(org.calls("/lifecycle/suspend").is_empty());
    assert!(org.calls("/sessions").is_empty());
    assert_eq!(org.sim.user_status(&org.target).as_deref(), Some("ACTIVE"));
    Ok(())
}

#[tokio::test]
async fn an_action_queued_before_a_sigkill_runs_exactly_once_after_restart() -> anyhow::Result<()> {
    // Approval mode holds the actions durably queued, so the kill lands between queueing and running.
    let mut org = org(
        "ten_resp_kill",
        json!({"enable_response_actions": true}),
        "approval",
    )
    .await?;
    org.attack().await?;
    both_detections(&org, "ten_resp_kill").await?;
    let queued = wait_for(Duration::from_secs(30), async || {
        let actions = org.actions("ten_resp_kill").await?;
        let waiting: Vec<Value> = actions
            .into_iter()
            .filter(|a| a["status"] == "awaiting_approval")
            .collect();
        Ok((waiting.len() >= 2).then_some(waiting))
    })
    .await?;
    org.daemon.kill().await?;
    let restarted = Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(&org.daemon.data_dir)
        .start()
        .await?;
    let op = restarted.operator()?;
    let disable = queued
        .iter()
        .find(|a| a["action"] == "disable_account")
        .cloned()
        .unwrap_or_default();
    let id = disable["id"].as_str().unwrap_or_default().to_owned();
    let approved = op.post_empty(&format!("/v1/actions/{id}/approve")).await?;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let done = wait_for(Duration::from_secs(30), async || {
        let got = op.get(&format!("/v1/actions/{id}")).await?;
        Ok((got.body["status"] == "succeeded").then_some(got.body))
    })
    .await?;
    assert!(done["history"].as_array().is_some_and(|h| h
        .iter()
        .any(|t| t["cause"].as_str().unwrap_or("").starts_with("approved by"))));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(org.calls("/lifecycle/suspend").len(), 1, "exactly once");
    let again = op.post_empty(&format!("/v1/actions/{id}/approve")).await?;
    assert_eq!(again.status, StatusCode::CONFLICT);
    org.daemon = restarted;
    Ok(())
}

#[tokio::test]
async fn a_backtest_replays_history_without_running_anything() -> anyhow::Result<()> {
    let org = org(
        "ten_resp_back",
        json!({"enable_response_actions": true}),
        "dry_run",
    )
    .await?;
    org.attack().await?;
    both_detections(&org, "ten_resp_back").await?;
    let live_actions = all_final(&org, "ten_resp_back", 4).await?.len();
    org.sim.clear_mutations();
    let candidate = json!({"name": "revoke on brute force", "when": {"kinds": ["brute_force"], "min_severity": "low"},
        "then": ["revoke_sessions"], "mode": "auto", "scope": "account"});
    let report = org
        .op
        .post(
            "/v1/backtest",
            &json!({"tenant_id": "ten_resp_back", "since": "1d", "policy": candidate}),
        )
        .await?;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    assert_eq!(report.body["signins_assessed"], 15);
    let kinds: Vec<&str> = report.body["detections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"brute_force") && kinds.contains(&"mfa_fatigue"),
        "{kinds:?}"
    );
    let actions = report.body["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !actions.is_empty() && actions.iter().all(|a| a["action"] == "revoke_sessions"),
        "{actions:?}"
    );
    assert!(org.sim.mutations().is_empty(), "a backtest runs nothing");
    assert_eq!(
        org.actions("ten_resp_back").await?.len(),
        live_actions,
        "and queues nothing live"
    );
    let bad = org
        .op
        .post(
            "/v1/backtest",
            &json!({"tenant_id": "ten_resp_back", "since": "last tuesday"}),
        )
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The CLI asks the running daemon.
    let output = std::process::Command::new(gatehouse_testkit::binary("gatehouse")?)
        .args([
            "backtest",
            "--tenant",
            "ten_resp_back",
            "--since",
            "1d",
            "--url",
            &org.daemon.base_url,
        ])
        .env(
            "GATEHOUSE_OPERATOR_KEY",
            gatehouse_testkit::TEST_OPERATOR_KEY,
        )
        .output()?;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("15 sign-ins") && printed.contains("brute_force"),
        "{printed}"
    );
    Ok(())
}
