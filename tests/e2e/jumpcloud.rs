//! JumpCloud end to end: the real binary with the JumpCloud simulator. Onboard with /test and
//! /sync, find the system users and their Directory Insights sign-ins, run manual actions
//! that reach JumpCloud (suspend; the password expiry that stands in for a session revocation),
//! contain a brute force found in pulled Directory Insights events with an automatic policy,
//! and treat one person's Okta and JumpCloud accounts as one identity that a policy of
//! `scope: identity` acts on as a whole.

use std::time::Duration;

use gatehouse_testkit::idp_sim::jumpcloud::{
    JumpCloudConfig, JumpCloudSim, NewLogin, NewUser, RunningSim,
};
use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{action, create_tenant, eventually, okta_person};

/// A cron schedule that does not fire during a test (midnight, 1 January): sign-ins are pulled
/// only when a test asks with /sync.
const NEVER: &str = "0 0 0 1 1 *";

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

/// A simulated organization with `users` generated users, events visible as soon as they
/// happen, served on loopback.
fn jumpcloud_org(users: usize) -> anyhow::Result<(JumpCloudSim, RunningSim)> {
    let sim = JumpCloudSim::new(JumpCloudConfig {
        users,
        groups: 0,
        events: 0,
        event_lag: Duration::ZERO,
        ..JumpCloudConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    Ok((sim, running))
}

/// Creates a JumpCloud integration with response actions on and sign-ins pulled only by /sync;
/// returns its id.
async fn create_jumpcloud(
    op: &Api,
    tenant: &str,
    sim: &JumpCloudSim,
    running: &RunningSim,
) -> anyhow::Result<String> {
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "jumpcloud", "tenant_id": tenant,
                "credentials": {"api_key": sim.config().api_key},
                "config": {"base_url": running.base_url(), "enable_response_actions": true,
                    "signin_lookback_hours": 24, "signins_schedule": NEVER}}),
        )
        .await?;
    anyhow::ensure!(
        integration.status == StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    Ok(integration.str("/id"))
}

async fn sync(op: &Api, integration: &str) -> anyhow::Result<()> {
    let sync = op
        .post_empty(&format!("/v1/integrations/{integration}/sync"))
        .await?;
    anyhow::ensure!(sync.status == StatusCode::ACCEPTED, "{:?}", sync.body);
    Ok(())
}

/// The tenant's accounts of `provider`, once there are `expected` of them.
async fn synced(
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
fn account_id(users: &[Value], external: &str) -> anyhow::Result<String> {
    users
        .iter()
        .find(|u| u["external_id"] == external)
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("{external} is not in the inventory"))
}

/// A password-guessing burst against `user` at JumpCloud: `failures` failed User Portal logins
/// from `ip`, ten seconds apart and ending a minute ago, as Directory Insights records them.
fn password_guesses(sim: &JumpCloudSim, user: &str, ip: &str, failures: usize) -> Vec<String> {
    let now = sim.clock().now();
    sim.add_login_events((0..failures).map(|i| NewLogin {
        event_type: "user_login_attempt".into(),
        user: Some(user.to_owned()),
        at: Some(now - chrono::Duration::seconds(60 + 10 * (failures - i) as i64)),
        success: false,
        client_ip: Some(ip.to_owned()),
        error_message: Some("authentication failed".into()),
        visible_after: None,
    }))
}

/// The tenant's actions on account `user`, once `done` holds for them.
async fn actions_until(
    op: &Api,
    tenant: &str,
    user: &str,
    done: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    eventually(Duration::from_secs(60), || async {
        let actions = list(
            op,
            &format!("/v1/actions?tenant_id={tenant}&user_id={user}"),
        )
        .await?;
        Ok(done(&actions).then_some(actions))
    })
    .await
}

fn succeeded(actions: &[Value], kind: &str) -> bool {
    actions
        .iter()
        .any(|a| a["action"] == kind && a["status"] == "succeeded")
}

/// The state-changing calls the simulator received for system user `id` (`PUT` on it, `POST`
/// on its sub-resources).
fn writes_to(sim: &JumpCloudSim, id: &str, method: &str, suffix: &str) -> usize {
    let path = format!("/api/systemusers/{id}{suffix}");
    sim.writes()
        .iter()
        .filter(|c| c.method == method && c.path == path)
        .count()
}

#[tokio::test]
async fn jumpcloud_brute_force_in_directory_insights_is_contained_automatically(
) -> anyhow::Result<()> {
    let tenant = "ten_jc_auto";
    let (sim, running) = jumpcloud_org(12)?;
    let victim = sim.add_user(NewUser {
        username: Some("vic.tim".into()),
        ..NewUser::default()
    });
    let bystander = sim.add_user(NewUser {
        username: Some("bea.bystander".into()),
        ..NewUser::default()
    });
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, tenant).await?;
    let integration = create_jumpcloud(&op, tenant, &sim, &running).await?;
    sync(&op, &integration).await?;
    let users = synced(&op, tenant, "jumpcloud", sim.user_ids().len()).await?;
    let victim_id = account_id(&users, &victim)?;
    let bystander_id = account_id(&users, &bystander)?;
    // brute_force alone: the success after the burst is also a `success_after_attack`, and a
    // policy naming both would act twice.
    let policy = op
        .post(
            "/v1/policies",
            &json!({"tenant_id": tenant, "name": "contain brute force",
                "when": {"kinds": ["brute_force"], "min_severity": "medium",
                         "providers": ["jumpcloud"]},
                "then": ["revoke_sessions", "disable_account"], "mode": "auto",
                "scope": "account"}),
        )
        .await?;
    assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);

    // Twelve bad passwords from one address within two minutes, then the right one; and one
    // ordinary failure of a bystander, which must not be touched.
    let ip = "203.0.113.66";
    let mut attack = password_guesses(&sim, &victim, ip, 12);
    attack.extend(sim.add_login_events([NewLogin {
        user: Some(victim.clone()),
        at: Some(sim.clock().now() - chrono::Duration::seconds(20)),
        success: true,
        client_ip: Some(ip.into()),
        ..NewLogin::default()
    }]));
    let stray = sim.add_login_events([NewLogin {
        user: Some(bystander.clone()),
        at: Some(sim.clock().now() - chrono::Duration::seconds(90)),
        success: false,
        client_ip: Some("192.0.2.10".into()),
        ..NewLogin::default()
    }]);
    assert_eq!(sim.user(&victim).unwrap_or_default()["suspended"], false);
    sync(&op, &integration).await?;

    let detections = eventually(Duration::from_secs(60), || async {
        let data = list(
            &op,
            &format!("/v1/detections?tenant_id={tenant}&user_id={victim_id}"),
        )
        .await?;
        Ok(data
            .iter()
            .any(|d| d["kind"] == "brute_force")
            .then_some(data))
    })
    .await?;
    assert!(
        detections
            .iter()
            .all(|d| d["user_id"] == victim_id.as_str()),
        "{detections:?}"
    );
    // JumpCloud's own state changed: the system user is suspended and its password expired.
    eventually(Duration::from_secs(60), || async {
        let suspended = sim.user(&victim).unwrap_or_default()["suspended"] == true;
        Ok((suspended && sim.password_expired(&victim)).then_some(()))
    })
    .await?;
    let actions = actions_until(&op, tenant, &victim_id, |a| {
        succeeded(a, "revoke_sessions") && succeeded(a, "disable_account")
    })
    .await?;
    let brute_force: Vec<&Value> = detections
        .iter()
        .filter(|d| d["kind"] == "brute_force")
        .collect();
    assert!(
        actions
            .iter()
            .all(|a| brute_force.iter().any(|d| d["id"] == a["detection_id"])
                && a["requested_by"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("policy:"))),
        "automatic, caused by the brute force: {actions:?}"
    );
    let account = op.get(&format!("/v1/users/{victim_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);
    assert_eq!(sim.user(&bystander).unwrap_or_default()["suspended"], false);
    assert!(!sim.password_expired(&bystander));
    let untouched = list(
        &op,
        &format!("/v1/actions?tenant_id={tenant}&user_id={bystander_id}"),
    )
    .await?;
    assert!(untouched.is_empty(), "{untouched:?}");

    // Every event pulled is stored once; the next round re-reads the overlap (10 minutes) and
    // stores nothing twice nor acts again.
    let stored = list(&op, &format!("/v1/signins?tenant_id={tenant}&limit=1000")).await?;
    let mut ids: Vec<&str> = stored
        .iter()
        .filter_map(|s| s["provider_event_id"].as_str())
        .collect();
    ids.sort_unstable();
    let mut sent: Vec<&str> = attack.iter().chain(&stray).map(String::as_str).collect();
    sent.sort_unstable();
    assert_eq!(ids, sent);
    let last_pull = |body: &Value| body["sync"]["jobs"]["signins"]["last_success_at"].clone();
    let before = last_pull(
        &op.get(&format!("/v1/integrations/{integration}"))
            .await?
            .body,
    );
    assert!(before.is_string(), "{before}");
    sync(&op, &integration).await?;
    eventually(Duration::from_secs(30), || async {
        let now = last_pull(
            &op.get(&format!("/v1/integrations/{integration}"))
                .await?
                .body,
        );
        Ok((now.is_string() && now != before).then_some(()))
    })
    .await?;
    let again = list(&op, &format!("/v1/signins?tenant_id={tenant}&limit=1000")).await?;
    assert_eq!(again.len(), stored.len());
    let actions = list(
        &op,
        &format!("/v1/actions?tenant_id={tenant}&user_id={victim_id}"),
    )
    .await?;
    assert_eq!(
        actions.len(),
        2,
        "one expiry and one suspension: {actions:?}"
    );
    assert_eq!(writes_to(&sim, &victim, "PUT", ""), 1, "{:?}", sim.writes());
    assert_eq!(writes_to(&sim, &victim, "POST", "/expire"), 1);
    Ok(())
}

#[tokio::test]
async fn jumpcloud_and_okta_accounts_of_one_person_share_an_identity_and_a_response(
) -> anyhow::Result<()> {
    let tenant = "ten_jc_twins";
    let okta = OktaSim::new(OktaConfig {
        users: 10,
        events: 0,
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let (person, email) = okta_person(&okta, "email")?;
    let okta_suspended = okta.users_with_status(UserStatus::Suspended).len();

    let (sim, running) = jumpcloud_org(10)?;
    // Another username, the address in upper case: accounts correlate by e-mail,
    // case-insensitively.
    let twin = sim.add_user(NewUser {
        username: Some("twin.account".into()),
        email: Some(email.to_uppercase()),
        ..NewUser::default()
    });

    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, tenant).await?;
    let jumpcloud = create_jumpcloud(&op, tenant, &sim, &running).await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": tenant,
                "credentials": {"domain": okta_running.base_url(),
                    "api_token": okta.config().api_token},
                "config": {"ingest_system_log": false, "enable_response_actions": true}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let okta_integration = created.str("/id");
    sync(&op, &jumpcloud).await?;
    sync(&op, &okta_integration).await?;
    let jc_users = synced(&op, tenant, "jumpcloud", sim.user_ids().len()).await?;
    let okta_users = synced(&op, tenant, "okta", okta.user_count()).await?;
    let jc_id = account_id(&jc_users, &twin)?;
    let okta_id = account_id(&okta_users, &person)?;

    // Correlation may finish behind the pulls: wait for the two accounts to meet.
    let identity = eventually(Duration::from_secs(30), || async {
        let a = op.get(&format!("/v1/users/{okta_id}")).await?;
        let b = op.get(&format!("/v1/users/{jc_id}")).await?;
        let (a, b) = (&a.body["identity_id"], &b.body["identity_id"]);
        Ok((a.is_string() && a == b).then(|| a.as_str().unwrap_or_default().to_owned()))
    })
    .await?;
    let person_view = op.get(&format!("/v1/identities/{identity}")).await?;
    assert_eq!(person_view.status, StatusCode::OK, "{:?}", person_view.body);
    let mut accounts: Vec<&str> = person_view.body["accounts"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    accounts.sort_unstable();
    let mut both = vec![jc_id.as_str(), okta_id.as_str()];
    both.sort_unstable();
    assert_eq!(accounts, both, "{:?}", person_view.body);
    let mut providers: Vec<&str> = person_view.body["users"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["provider"].as_str()).collect())
        .unwrap_or_default();
    providers.sort_unstable();
    assert_eq!(
        providers,
        vec!["jumpcloud", "okta"],
        "{:?}",
        person_view.body
    );

    // A brute force seen at JumpCloud: the person is suspended everywhere (scope identity),
    // while the password expiry stays with the JumpCloud account (scope account).
    for (name, then, scope) in [
        ("suspend the person", "disable_account", "identity"),
        (
            "expire the jumpcloud password",
            "revoke_sessions",
            "account",
        ),
    ] {
        let policy = op
            .post(
                "/v1/policies",
                &json!({"tenant_id": tenant, "name": name,
                    "when": {"kinds": ["brute_force"], "providers": ["jumpcloud"]},
                    "then": [then], "mode": "auto", "scope": scope}),
            )
            .await?;
        assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);
    }
    okta.clear_mutations();
    password_guesses(&sim, &twin, "198.51.100.23", 12);
    sync(&op, &jumpcloud).await?;

    let detection = eventually(Duration::from_secs(60), || async {
        let data = list(
            &op,
            &format!("/v1/detections?tenant_id={tenant}&kind=brute_force"),
        )
        .await?;
        Ok(data.first().cloned())
    })
    .await?;
    assert_eq!(detection["user_id"], jc_id.as_str(), "{detection}");
    eventually(Duration::from_secs(60), || async {
        let at_okta = okta.user_status(&person).as_deref() == Some("SUSPENDED");
        let at_jumpcloud = sim.user(&twin).unwrap_or_default()["suspended"] == true;
        Ok((at_okta && at_jumpcloud && sim.password_expired(&twin)).then_some(()))
    })
    .await?;
    let on_okta = actions_until(&op, tenant, &okta_id, |a| succeeded(a, "disable_account")).await?;
    assert!(
        on_okta
            .iter()
            .all(|a| a["detection_id"] == detection["id"] && a["action"] == "disable_account"),
        "only the suspension reaches the Okta account, for the JumpCloud detection: {on_okta:?}"
    );
    let on_jumpcloud = actions_until(&op, tenant, &jc_id, |a| {
        succeeded(a, "disable_account") && succeeded(a, "revoke_sessions")
    })
    .await?;
    assert_eq!(on_jumpcloud.len(), 2, "{on_jumpcloud:?}");
    // Okta saw the suspension of that one user and nothing else: no session revocation, no
    // other account.
    assert_eq!(
        okta.users_with_status(UserStatus::Suspended).len(),
        okta_suspended + 1
    );
    let mutations = okta.mutations();
    assert!(
        mutations.iter().all(|c| c.path.contains(&person)),
        "{mutations:?}"
    );
    assert!(
        !mutations.iter().any(|c| c.path.ends_with("/sessions")),
        "{mutations:?}"
    );
    let account = op.get(&format!("/v1/users/{okta_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);
    Ok(())
}
