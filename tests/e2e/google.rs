//! Google Workspace end to end: the real binary with the Google simulator (token endpoint,
//! Directory API, Reports API). Onboard with /test and /sync and find users and login activity
//! with the right fields, refuse a foreign private key (`invalid_grant`, the key never echoed) and
//! a `sub` that is no administrator, pull only the changed users on the second pull (the
//! connector compares fingerprints: the Directory API has no change feed), run manual actions
//! that reach the Directory API (with `enforce_mfa`'s guard for users not enrolled in 2SV), and
//! contain a brute force from pulled login failures with an automatic policy, and correlate one
//! person's Okta and Google accounts into one identity on which an identity-scoped policy acts
//! across providers (an Okta brute force suspends the Google account).

use std::time::Duration;

use gatehouse_testkit::idp_sim::google::{GoogleConfig, GoogleSim, NewUser, RunningSim};
use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus as OktaStatus};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{action, create_tenant, eventually};

/// A cron schedule that does not fire during a test (midnight, 1 January).
const NEVER: &str = "0 0 0 1 1 *";
/// A valid RSA key that is not the service account's (generated for this test only).
const OTHER_KEY: &str = include_str!("fixtures/google_other_key.pem");

struct Setup {
    sim: GoogleSim,
    _running: RunningSim,
    daemon: Gatehouse,
    op: Api,
    tenant: String,
    integration: Value,
}

impl Setup {
    fn id(&self) -> String {
        self.integration["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn sync(&self) -> anyhow::Result<()> {
        let sync = self
            .op
            .post_empty(&format!("/v1/integrations/{}/sync", self.id()))
            .await?;
        anyhow::ensure!(sync.status == StatusCode::ACCEPTED, "{:?}", sync.body);
        Ok(())
    }

    /// Every Google account of the tenant, once the inventory holds every user of the sim.
    async fn synced_users(&self) -> anyhow::Result<Vec<Value>> {
        let expected = self.sim.user_ids().len();
        eventually(Duration::from_secs(60), || async {
            let users = google_users(&self.op, &self.tenant).await?;
            Ok((users.len() == expected).then_some(users))
        })
        .await
    }

    /// The Gatehouse user id of the sim's user `external`.
    async fn user_id(&self, external: &str) -> anyhow::Result<String> {
        let users = google_users(&self.op, &self.tenant).await?;
        users
            .iter()
            .find(|u| u["external_id"] == external)
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("{external} is not in the inventory"))
    }

    /// The integration once `job` has succeeded after `before` (its previous `last_success_at`).
    async fn job_done(&self, job: &str, before: &Value) -> anyhow::Result<Value> {
        let id = self.id();
        eventually(Duration::from_secs(60), || async {
            let reply = self.op.get(&format!("/v1/integrations/{id}")).await?;
            let now = &reply.body["sync"]["jobs"][job]["last_success_at"];
            Ok((now.is_string() && now != before).then_some(reply.body))
        })
        .await
    }
}

fn sim_config(users: usize) -> GoogleConfig {
    GoogleConfig {
        users,
        groups: 2,
        activities: 0,
        // Activities show at once: the overlap for Google's lag is the connector's business.
        reporting_lag: Duration::ZERO,
        // Channel deliveries are driven by nobody here.
        notification_interval: None,
        ..GoogleConfig::default()
    }
}

/// The sim's base URL (`http://127.0.0.1:PORT`).
fn base(running: &RunningSim) -> String {
    running.base_url()
}

/// The integration's credentials: the sim's key file (its token endpoint at `base`) and `admin`.
fn credentials(sim: &GoogleSim, base: &str, admin: &str) -> Value {
    json!({"service_account": sim.service_account_json(&format!("{base}/token")),
        "admin_email": admin})
}

fn google_config(base: &str, extra: Value) -> Value {
    let mut config = json!({"api_base_url": base, "signin_lookback_hours": 24});
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    config
}

async fn create_google(
    op: &Api,
    tenant: &str,
    credentials: Value,
    config: Value,
) -> anyhow::Result<Value> {
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "google_workspace", "tenant_id": tenant,
                "credentials": credentials, "config": config}),
        )
        .await?;
    anyhow::ensure!(
        integration.status == StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    Ok(integration.body)
}

async fn setup_with(tenant: &str, sim: GoogleSim, config: Value) -> anyhow::Result<Setup> {
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, tenant).await?;
    let base = base(&running);
    let admin = sim.config().admin_email.clone();
    let integration = create_google(
        &op,
        tenant,
        credentials(&sim, &base, &admin),
        google_config(&base, config),
    )
    .await?;
    Ok(Setup {
        sim,
        _running: running,
        daemon,
        op,
        tenant: tenant.to_owned(),
        integration,
    })
}

async fn google_users(op: &Api, tenant: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op
        .get(&format!(
            "/v1/users?tenant_id={tenant}&provider=google_workspace&limit=1000"
        ))
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

async fn signins(op: &Api, tenant: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op
        .get(&format!("/v1/signins?tenant_id={tenant}&limit=1000"))
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

/// A Reports API parameter as Google writes it.
fn param(name: &str, value: Value) -> Value {
    match value {
        Value::Bool(_) => json!({"name": name, "boolValue": value}),
        Value::Array(_) => json!({"name": name, "multiValue": value}),
        other => json!({"name": name, "value": other}),
    }
}

/// A login activity of `email` from `ip`, `ago` before the sim's now, with one event `name` and
/// its `parameters`; returns its `provider_event_id` (`{time}/{uniqueQualifier}`).
fn login(
    sim: &GoogleSim,
    email: &str,
    ip: &str,
    name: &str,
    parameters: Vec<Value>,
    ago: Duration,
) -> String {
    let at = sim.clock().now() - chrono::Duration::from_std(ago).unwrap_or_default();
    let (time, unique) = sim.add_activity(json!({
        "id": {"time": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)},
        "actor": {"callerType": "USER", "email": email},
        "ipAddress": ip,
        "events": [{"type": "login", "name": name, "parameters": parameters}],
    }));
    format!("{time}/{unique}")
}

fn bad_password(sim: &GoogleSim, email: &str, ip: &str, ago: Duration) -> String {
    login(
        sim,
        email,
        ip,
        "login_failure",
        vec![
            param("login_type", json!("google_password")),
            param(
                "login_failure_type",
                json!("login_failure_invalid_password"),
            ),
            param("login_challenge_method", json!(["password"])),
        ],
        ago,
    )
}

fn good_password(sim: &GoogleSim, email: &str, ip: &str, ago: Duration) -> String {
    login(
        sim,
        email,
        ip,
        "login_success",
        vec![
            param("login_type", json!("google_password")),
            param("login_challenge_method", json!(["password"])),
            param("is_suspicious", json!(false)),
        ],
        ago,
    )
}

fn new_user(email: &str, given: &str, family: &str) -> NewUser {
    NewUser {
        primary_email: Some(email.into()),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        ..NewUser::default()
    }
}

#[tokio::test]
async fn google_onboard_test_sync_users_and_logins() -> anyhow::Result<()> {
    let sim = GoogleSim::new(sim_config(20));
    let suspended = sim.add_user(NewUser {
        suspended: true,
        ..new_user("sam.suspended@example.com", "Sam", "Suspended")
    });
    let enrolled = sim.add_user(NewUser {
        enrolled_2sv: true,
        ..new_user("ada.active@example.com", "Ada", "Active")
    });
    let s = setup_with("ten_google_pull", sim, json!({})).await?;
    let id = s.id();

    let check =
        s.op.post_empty(&format!("/v1/integrations/{id}/test"))
            .await?;
    assert_eq!(check.status, StatusCode::OK, "{:?}", check.body);
    let calls = s.sim.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.method == "POST" && c.path == "/token" && c.status == 200),
        "a token request: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.method == "GET" && c.path == "/admin/directory/v1/users" && c.status == 200),
        "a users call: {calls:?}"
    );

    // One user's logins: a password success, a wrong password, a passed and a failed challenge.
    let ip = "198.51.100.23";
    let email = "ada.active@example.com";
    let ok = good_password(&s.sim, email, ip, Duration::from_secs(300));
    let bad = bad_password(&s.sim, email, ip, Duration::from_secs(240));
    let passed = login(
        &s.sim,
        email,
        ip,
        "login_challenge",
        vec![
            param("login_challenge_method", json!(["google_authenticator"])),
            param("login_challenge_status", json!("Challenge Passed")),
        ],
        Duration::from_secs(200),
    );
    let failed = login(
        &s.sim,
        email,
        ip,
        "login_challenge",
        vec![
            param("login_challenge_method", json!(["google_prompt"])),
            param("login_challenge_status", json!("Challenge Failed")),
        ],
        Duration::from_secs(100),
    );

    s.sync().await?;
    let users = s.synced_users().await?;
    for user in &users {
        let external = user["external_id"].as_str().unwrap_or_default();
        let google = s.sim.user(external).unwrap_or_default();
        assert_eq!(user["provider"], "google_workspace", "{user}");
        assert_eq!(
            user["login"], google["primaryEmail"],
            "login is the primaryEmail: {user}"
        );
        assert_eq!(user["display_name"], google["name"]["fullName"], "{user}");
        let status = if google["suspended"] == true {
            "suspended"
        } else {
            "active"
        };
        assert_eq!(user["status"], status, "{user}");
        assert_eq!(user["mfa_enrolled"], google["isEnrolledIn2Sv"], "{user}");
    }
    let find = |external: &str| {
        users
            .iter()
            .find(|u| u["external_id"] == external)
            .cloned()
            .unwrap_or_default()
    };
    let sam = find(&suspended);
    assert_eq!(sam["status"], "suspended", "{sam}");
    assert_eq!(sam["display_name"], "Sam Suspended", "{sam}");
    let ada = find(&enrolled);
    assert_eq!(ada["status"], "active", "{ada}");
    assert_eq!(ada["mfa_enrolled"], true, "{ada}");
    assert_eq!(ada["login"], email, "{ada}");

    let events = eventually(Duration::from_secs(60), || async {
        let events = signins(&s.op, "ten_google_pull").await?;
        Ok((events.len() >= 4).then_some(events))
    })
    .await?;
    assert_eq!(events.len(), 4, "{events:?}");
    let event = |sim_id: &str| {
        events
            .iter()
            .find(|e| e["provider_event_id"] == sim_id)
            .cloned()
            .unwrap_or_default()
    };
    for (sim_id, outcome, step) in [
        (&ok, "success", "first_factor"),
        (&bad, "failure", "first_factor"),
        (&passed, "success", "mfa"),
        (&failed, "failure", "mfa"),
    ] {
        let e = event(sim_id);
        assert_eq!(e["outcome"], outcome, "{sim_id}: {e}");
        assert_eq!(e["signal"]["step"], step, "{e}");
        assert_eq!(e["provider"], "google_workspace", "{e}");
        assert_eq!(e["source"], "pull", "{e}");
        assert_eq!(e["ip"], ip, "{e}");
        assert_eq!(e["login"], email, "{e}");
        assert_eq!(e["user_id"], ada["id"], "matched to the account: {e}");
    }
    let bad = event(&bad);
    assert_eq!(bad["reason"], "login_failure_invalid_password", "{bad}");
    assert_eq!(bad["signal"]["failure_reason"], "bad_credentials", "{bad}");
    assert_eq!(event(&passed)["signal"]["mfa_result"], "success");
    assert_eq!(event(&failed)["signal"]["mfa_result"], "failed");

    let integration = eventually(Duration::from_secs(30), || async {
        let reply = s.op.get(&format!("/v1/integrations/{id}")).await?;
        Ok(reply.body["sync"]["last_success_at"]
            .is_string()
            .then_some(reply.body))
    })
    .await?;
    assert_eq!(
        integration["sync"]["counts"]["users"].as_u64(),
        Some(users.len() as u64),
        "{integration}"
    );
    // The service account's key is in no answer and no log line.
    let key = s.sim.config().service_account.private_key_pem.clone();
    let logs = s.daemon.logs();
    let shown = integration.to_string();
    for line in key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
    {
        assert!(!logs.contains(line), "the key is not logged");
        assert!(!shown.contains(line), "the key is not shown: {shown}");
    }
    Ok(())
}

#[tokio::test]
async fn google_foreign_key_and_non_admin_subject_fail_the_test() -> anyhow::Result<()> {
    let sim = GoogleSim::new(sim_config(5));
    let clerk = sim.add_user(new_user("carl.clerk@example.com", "Carl", "Clerk"));
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let base = base(&running);
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, "ten_google_key").await?;

    // The key file with another (valid) RSA key: the token endpoint cannot verify the assertion.
    let admin = sim.config().admin_email.clone();
    let mut wrong = credentials(&sim, &base, &admin);
    wrong["service_account"]["private_key"] = json!(OTHER_KEY);
    let integration = create_google(
        &op,
        "ten_google_key",
        wrong,
        google_config(&base, json!({})),
    )
    .await?;
    let id = integration["id"].as_str().unwrap_or_default();
    let check = op
        .post_empty(&format!("/v1/integrations/{id}/test"))
        .await?;
    assert!(check.status.is_client_error(), "{:?}", check.body);
    assert_eq!(
        check.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        check.body
    );
    let text = check.body.to_string();
    assert!(text.contains("invalid_grant"), "names the code: {text}");
    // No line of the key's body anywhere (the PEM armour alone would prove nothing).
    let key_lines: Vec<&str> = OTHER_KEY
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    assert!(key_lines.len() > 10);
    let shown = op.get(&format!("/v1/integrations/{id}")).await?;
    let logs = daemon.logs();
    for line in &key_lines {
        assert!(!text.contains(line), "the key is never echoed: {text}");
        assert!(!shown.body.to_string().contains(line), "{:?}", shown.body);
        assert!(!logs.contains(line), "the key is not logged");
    }
    let calls = sim.calls();
    assert!(
        calls.iter().any(|c| c.path == "/token" && c.status == 400),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.path.starts_with("/admin/")),
        "no API call without a token: {calls:?}"
    );

    // The right key, impersonating a user who is no administrator: a 4xx that says so.
    let integration = create_google(
        &op,
        "ten_google_key",
        credentials(&sim, &base, "carl.clerk@example.com"),
        google_config(&base, json!({})),
    )
    .await?;
    let id = integration["id"].as_str().unwrap_or_default();
    let check = op
        .post_empty(&format!("/v1/integrations/{id}/test"))
        .await?;
    assert!(check.status.is_client_error(), "{:?}", check.body);
    let text = check.body.to_string();
    assert!(
        text.contains("admin_email must be an administrator"),
        "says the subject is no admin: {text}"
    );
    assert!(sim.user(&clerk).is_some());
    Ok(())
}

#[tokio::test]
async fn google_second_pull_stores_only_the_changed_users() -> anyhow::Result<()> {
    let sim = GoogleSim::new(sim_config(30));
    let renamed = sim.add_user(new_user("rita.rename@example.com", "Rita", "Rename"));
    let leaver = sim.add_user(new_user("lee.leaver@example.com", "Lee", "Leaver"));
    // Only /sync pulls here.
    let s = setup_with(
        "ten_google_incr",
        sim,
        json!({"ingest_signins": false, "users_schedule": NEVER, "full_sync_schedule": NEVER}),
    )
    .await?;
    s.sync().await?;
    let users = s.synced_users().await?;
    let first = s.job_done("users", &Value::Null).await?;
    let total = users.len() as u64;
    assert_eq!(
        first["sync"]["counts"]["users"].as_u64(),
        Some(total),
        "{first}"
    );
    assert_eq!(
        first["sync"]["jobs"]["users"]["records"].as_u64(),
        Some(total),
        "the first pull stores everyone: {first}"
    );
    let before = first["sync"]["jobs"]["users"]["last_success_at"].clone();

    assert!(s.sim.update_user(
        &renamed,
        &json!({"name": {"givenName": "Rita", "familyName": "Renamed"}})
    ));
    assert!(s.sim.update_user(&leaver, &json!({"suspended": true})));
    s.sim.clear_calls();
    s.sync().await?;
    let second = s.job_done("users", &before).await?;
    assert_eq!(
        second["sync"]["jobs"]["users"]["records"].as_u64(),
        Some(2),
        "only the two changed users: {second}"
    );
    assert_eq!(
        second["sync"]["counts"]["users"].as_u64(),
        Some(total),
        "the directory did not shrink: {second}"
    );
    // Every page was read (the comparison needs them all) ...
    let listed = s
        .sim
        .calls()
        .iter()
        .filter(|c| c.path == "/admin/directory/v1/users" && c.status == 200)
        .count();
    assert!(listed >= 1);
    // ... and the inventory shows both changes.
    let after = google_users(&s.op, "ten_google_incr").await?;
    let find = |external: &str| {
        after
            .iter()
            .find(|u| u["external_id"] == external)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find(&renamed)["display_name"], "Rita Renamed");
    assert_eq!(find(&leaver)["status"], "suspended");
    assert_eq!(after.len() as u64, total);
    Ok(())
}

#[tokio::test]
async fn google_manual_actions_reach_the_directory_api() -> anyhow::Result<()> {
    let sim = GoogleSim::new(sim_config(10));
    let group = sim.create_group("require-2sv@example.com");
    let target = sim.add_user(NewUser {
        enrolled_2sv: true,
        ..new_user("tess.target@example.com", "Tess", "Target")
    });
    let unenrolled = sim.add_user(new_user("uma.unenrolled@example.com", "Uma", "Unenrolled"));
    let s = setup_with(
        "ten_google_act",
        sim,
        json!({"ingest_signins": false, "enable_response_actions": true,
            "mfa_group": "require-2sv@example.com"}),
    )
    .await?;
    s.sync().await?;
    s.synced_users().await?;
    let user_id = s.user_id(&target).await?;

    // enforce_mfa on an enrolled user: added to the group a 2SV enforcement policy targets.
    assert!(!s.sim.group_members(&group).contains(&target));
    let mfa = action(&s.op, "ten_google_act", &user_id, "enforce_mfa").await?;
    assert_eq!(mfa["status"], "succeeded", "{mfa}");
    assert_eq!(s.sim.group_members(&group), vec![target.clone()]);
    assert!(
        s.sim
            .writes()
            .iter()
            .any(|c| c.method == "POST" && c.path.ends_with("/members") && c.status < 300),
        "{:?}",
        s.sim.writes()
    );

    let revoked = action(&s.op, "ten_google_act", &user_id, "revoke_sessions").await?;
    assert_eq!(revoked["status"], "succeeded", "{revoked}");
    assert_eq!(s.sim.signed_out(&target), 1);

    let disabled = action(&s.op, "ten_google_act", &user_id, "disable_account").await?;
    assert_eq!(disabled["status"], "succeeded", "{disabled}");
    assert_eq!(s.sim.user(&target).unwrap_or_default()["suspended"], true);
    assert!(
        s.sim.writes().iter().any(|c| c.method == "PATCH"
            && c.path == format!("/admin/directory/v1/users/{target}")
            && c.body.as_ref().is_some_and(|b| b["suspended"] == true)),
        "{:?}",
        s.sim.writes()
    );
    let account = s.op.get(&format!("/v1/users/{user_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);

    // enforce_mfa on an active user not enrolled in 2SV: nothing changes, the report says why.
    let uma = s.user_id(&unenrolled).await?;
    let writes = s.sim.writes().len();
    let left = action(&s.op, "ten_google_act", &uma, "enforce_mfa").await?;
    assert!(
        ["succeeded", "skipped"].contains(&left["status"].as_str().unwrap_or_default()),
        "{left}"
    );
    let text = left.to_string();
    assert!(
        text.contains("not enrolled in 2-Step Verification"),
        "the report says why: {text}"
    );
    assert_eq!(s.sim.writes().len(), writes, "{:?}", s.sim.writes());
    assert_eq!(s.sim.group_members(&group), vec![target.clone()]);
    assert_eq!(
        s.sim.user(&unenrolled).unwrap_or_default()["suspended"],
        false
    );
    Ok(())
}

#[tokio::test]
async fn google_brute_force_in_pulled_logins_is_contained_automatically() -> anyhow::Result<()> {
    let sim = GoogleSim::new(sim_config(12));
    let victim = sim.add_user(new_user("vic.tim@example.com", "Vic", "Tim"));
    let bystander = sim.add_user(new_user("bea.bystander@example.com", "Bea", "Bystander"));
    // Logins are pulled only by /sync here.
    let s = setup_with(
        "ten_google_auto",
        sim,
        json!({"enable_response_actions": true, "signins_schedule": NEVER}),
    )
    .await?;
    s.sync().await?;
    s.synced_users().await?;
    let victim_id = s.user_id(&victim).await?;
    let policy =
        s.op.post(
            "/v1/policies",
            &json!({"tenant_id": "ten_google_auto", "name": "contain brute force",
            "when": {"kinds": ["brute_force"], "min_severity": "medium",
                     "providers": ["google_workspace"]},
            "then": ["revoke_sessions", "disable_account"], "mode": "auto", "scope": "account"}),
        )
        .await?;
    assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);

    // 12 wrong passwords from one IP within two minutes, then the right one; and one ordinary
    // failure of a bystander, which must not be touched.
    let ip = "203.0.113.66";
    for i in 0..12u64 {
        bad_password(
            &s.sim,
            "vic.tim@example.com",
            ip,
            Duration::from_secs(150 - i * 10),
        );
    }
    good_password(&s.sim, "vic.tim@example.com", ip, Duration::from_secs(20));
    bad_password(
        &s.sim,
        "bea.bystander@example.com",
        "192.0.2.10",
        Duration::from_secs(60),
    );
    let before = s.op.get(&format!("/v1/integrations/{}", s.id())).await?;
    let before = before.body["sync"]["jobs"]["signins"]["last_success_at"].clone();
    s.sync().await?;
    s.job_done("signins", &before).await?;

    let detections = eventually(Duration::from_secs(60), || async {
        let reply =
            s.op.get(&format!(
                "/v1/detections?tenant_id=ten_google_auto&user_id={victim_id}"
            ))
            .await?;
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
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
    eventually(Duration::from_secs(60), || async {
        let suspended = s.sim.user(&victim).unwrap_or_default()["suspended"] == true;
        Ok((suspended && s.sim.signed_out(&victim) >= 1).then_some(()))
    })
    .await?;
    let actions = eventually(Duration::from_secs(30), || async {
        let reply =
            s.op.get(&format!(
                "/v1/actions?tenant_id=ten_google_auto&user_id={victim_id}"
            ))
            .await?;
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
        let done = |kind: &str| {
            data.iter()
                .any(|a| a["action"] == kind && a["status"] == "succeeded")
        };
        Ok((done("revoke_sessions") && done("disable_account")).then_some(data))
    })
    .await?;
    assert!(
        actions.iter().all(|a| a["detection_id"].is_string()),
        "automatic, caused by a detection: {actions:?}"
    );
    let account = s.op.get(&format!("/v1/users/{victim_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);
    assert_eq!(
        s.sim.user(&bystander).unwrap_or_default()["suspended"],
        false
    );
    assert_eq!(s.sim.signed_out(&bystander), 0);

    // The next round re-reads the connector's overlap (3 hours by default): the same
    // activities are stored once and contain nothing twice.
    let stored = signins(&s.op, "ten_google_auto").await?.len();
    assert_eq!(stored, 14);
    let before = s.op.get(&format!("/v1/integrations/{}", s.id())).await?;
    let before = before.body["sync"]["jobs"]["signins"]["last_success_at"].clone();
    s.sync().await?;
    s.job_done("signins", &before).await?;
    assert_eq!(signins(&s.op, "ten_google_auto").await?.len(), stored);
    assert_eq!(s.sim.signed_out(&victim), 1);
    let suspends = s
        .sim
        .writes()
        .iter()
        .filter(|c| c.method == "PATCH" && c.path == format!("/admin/directory/v1/users/{victim}"))
        .count();
    assert_eq!(suspends, 1, "{:?}", s.sim.writes());
    Ok(())
}

/// The accounts the tenant holds of `provider`.
async fn accounts_of(op: &Api, tenant: &str, provider: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op
        .get(&format!(
            "/v1/users?tenant_id={tenant}&provider={provider}&limit=1000"
        ))
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

/// The actions the tenant took on account `user_id`.
async fn actions_on(op: &Api, tenant: &str, user_id: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op
        .get(&format!("/v1/actions?tenant_id={tenant}&user_id={user_id}"))
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

/// One person with an Okta and a Google account is one identity holding both; a brute force
/// in Okta's System Log reaches the Google account through an identity-scoped policy (Google
/// suspends and signs out the user), while a brute force in Google's login activity under an
/// account-scoped policy stays on the Google account and leaves the person's Okta account be.
#[tokio::test]
async fn google_and_okta_accounts_of_one_person_share_an_identity_and_its_response(
) -> anyhow::Result<()> {
    const TENANT: &str = "ten_google_twins";
    let okta = OktaSim::new(OktaConfig {
        users: 10,
        events: 0,
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let okta_admin = okta.admin_id();
    let active: Vec<String> = okta
        .users_with_status(OktaStatus::Active)
        .into_iter()
        .filter(|u| *u != okta_admin)
        .collect();
    anyhow::ensure!(active.len() >= 2, "two active Okta users: {active:?}");
    let email_of = |id: &str| {
        okta.user_json(id)
            .and_then(|u| u["profile"]["email"].as_str().map(str::to_owned))
            .ok_or_else(|| anyhow::anyhow!("the Okta user {id} has no e-mail"))
    };
    // Pat is attacked in Okta, Quinn in Google; each also has an account at the other.
    let (pat_okta, quinn_okta) = (active[0].clone(), active[1].clone());
    let (pat_email, quinn_email) = (email_of(&pat_okta)?, email_of(&quinn_okta)?);

    let sim = GoogleSim::new(sim_config(10));
    let pat_google = sim.add_user(new_user(&pat_email, "Pat", "Twin"));
    let quinn_google = sim.add_user(new_user(&quinn_email, "Quinn", "Twin"));
    let bystander = sim.add_user(new_user("bea.bystander@example.com", "Bea", "Bystander"));
    let s = setup_with(
        TENANT,
        sim,
        json!({"enable_response_actions": true, "signins_schedule": NEVER}),
    )
    .await?;
    let created = s
        .op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": TENANT,
            "credentials": {"domain": okta_running.base_url(), "api_token": okta.config().api_token},
            // The System Log is pulled by /sync alone.
            "config": {"enable_response_actions": true, "ingest_system_log": true,
                       "signins_schedule": NEVER}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let okta_integration = created.str("/id");
    s.sync().await?;
    let sync =
        s.op.post_empty(&format!("/v1/integrations/{okta_integration}/sync"))
            .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED, "{:?}", sync.body);
    s.synced_users().await?;
    let expected_okta = okta.user_count();
    let okta_accounts = eventually(Duration::from_secs(60), || async {
        let data = accounts_of(&s.op, TENANT, "okta").await?;
        Ok((data.len() == expected_okta).then_some(data))
    })
    .await?;
    let okta_account = |external: &str| {
        okta_accounts
            .iter()
            .find(|u| u["external_id"] == external)
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("the Okta account {external} is missing"))
    };
    let (pat_okta_id, quinn_okta_id) = (okta_account(&pat_okta)?, okta_account(&quinn_okta)?);
    let pat_google_id = s.user_id(&pat_google).await?;
    let quinn_google_id = s.user_id(&quinn_google).await?;

    // Correlation may finish behind the pulls: wait for each person's two accounts to meet.
    let mut identities = Vec::new();
    for (a, b) in [
        (&pat_okta_id, &pat_google_id),
        (&quinn_okta_id, &quinn_google_id),
    ] {
        let identity = eventually(Duration::from_secs(30), || async {
            let x = s.op.get(&format!("/v1/users/{a}")).await?;
            let y = s.op.get(&format!("/v1/users/{b}")).await?;
            let (x, y) = (&x.body["identity_id"], &y.body["identity_id"]);
            Ok((x.is_string() && x == y).then(|| x.as_str().unwrap_or_default().to_owned()))
        })
        .await?;
        let person = s.op.get(&format!("/v1/identities/{identity}")).await?;
        assert_eq!(person.status, StatusCode::OK, "{:?}", person.body);
        let mut accounts: Vec<&str> = person.body["accounts"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        accounts.sort_unstable();
        let mut both = vec![a.as_str(), b.as_str()];
        both.sort_unstable();
        assert_eq!(
            accounts, both,
            "the person's two accounts: {:?}",
            person.body
        );
        let mut providers: Vec<&str> = person.body["users"]
            .as_array()
            .map(|a| a.iter().filter_map(|u| u["provider"].as_str()).collect())
            .unwrap_or_default();
        providers.sort_unstable();
        assert_eq!(
            providers,
            vec!["google_workspace", "okta"],
            "{:?}",
            person.body
        );
        identities.push(identity);
    }
    assert_ne!(identities[0], identities[1], "two people");

    for policy in [
        json!({"tenant_id": TENANT, "name": "contain an Okta attack everywhere",
            "when": {"kinds": ["brute_force"], "min_severity": "medium", "providers": ["okta"]},
            "then": ["revoke_sessions", "disable_account"], "mode": "auto", "scope": "identity"}),
        json!({"tenant_id": TENANT, "name": "sign out a Google attack",
            "when": {"kinds": ["brute_force"], "min_severity": "medium",
                     "providers": ["google_workspace"]},
            "then": ["revoke_sessions"], "mode": "auto", "scope": "account"}),
    ] {
        let created = s.op.post("/v1/policies", &policy).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    }
    okta.clear_mutations();
    s.sim.clear_calls();

    // 1. Twelve wrong passwords for Pat in Okta's System Log.
    let failures: Vec<Value> = (0..12)
        .filter_map(|_| {
            okta.make_event(
                &pat_okta,
                "user.session.start",
                "FAILURE",
                Some("INVALID_CREDENTIALS"),
            )
        })
        .collect();
    assert_eq!(failures.len(), 12);
    okta.append_events(failures);
    let sync =
        s.op.post_empty(&format!("/v1/integrations/{okta_integration}/sync"))
            .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED, "{:?}", sync.body);
    let okta_detection = eventually(Duration::from_secs(60), || async {
        let reply =
            s.op.get(&format!(
                "/v1/detections?tenant_id={TENANT}&user_id={pat_okta_id}"
            ))
            .await?;
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
        Ok(data.into_iter().find(|d| d["kind"] == "brute_force"))
    })
    .await?;
    // The action reached Google: Pat's Google account suspended and signed out ...
    eventually(Duration::from_secs(60), || async {
        let suspended = s.sim.user(&pat_google).unwrap_or_default()["suspended"] == true;
        Ok((suspended && s.sim.signed_out(&pat_google) >= 1).then_some(()))
    })
    .await?;
    let google_actions = eventually(Duration::from_secs(30), || async {
        let data = actions_on(&s.op, TENANT, &pat_google_id).await?;
        let done = |kind: &str| {
            data.iter()
                .any(|a| a["action"] == kind && a["status"] == "succeeded")
        };
        Ok((done("revoke_sessions") && done("disable_account")).then_some(data))
    })
    .await?;
    assert!(
        google_actions
            .iter()
            .all(|a| a["detection_id"] == okta_detection["id"]),
        "caused by the Okta detection {okta_detection}: {google_actions:?}"
    );
    assert!(
        s.sim.writes().iter().any(|c| c.method == "PATCH"
            && c.path == format!("/admin/directory/v1/users/{pat_google}")
            && c.body.as_ref().is_some_and(|b| b["suspended"] == true)),
        "{:?}",
        s.sim.writes()
    );
    // ... as it reached Okta's own account.
    eventually(Duration::from_secs(30), || async {
        Ok((okta.user_status(&pat_okta).as_deref() == Some("SUSPENDED")).then_some(()))
    })
    .await?;
    let account = s.op.get(&format!("/v1/users/{pat_google_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);
    // Nobody else at Google was touched.
    for other in [&quinn_google, &bystander] {
        assert_eq!(s.sim.user(other).unwrap_or_default()["suspended"], false);
        assert_eq!(s.sim.signed_out(other), 0);
    }

    // 2. Twelve wrong passwords for Quinn in Google's login activity: the account-scoped
    // policy signs the Google account out and leaves Quinn's Okta account alone.
    let ip = "203.0.113.77";
    for i in 0..12u64 {
        bad_password(&s.sim, &quinn_email, ip, Duration::from_secs(150 - i * 10));
    }
    s.sync().await?;
    eventually(Duration::from_secs(60), || async {
        let reply =
            s.op.get(&format!(
                "/v1/detections?tenant_id={TENANT}&user_id={quinn_google_id}"
            ))
            .await?;
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
        Ok(data
            .iter()
            .any(|d| d["kind"] == "brute_force")
            .then_some(()))
    })
    .await?;
    eventually(Duration::from_secs(60), || async {
        let data = actions_on(&s.op, TENANT, &quinn_google_id).await?;
        Ok(data
            .iter()
            .any(|a| a["action"] == "revoke_sessions" && a["status"] == "succeeded")
            .then_some(()))
    })
    .await?;
    assert!(s.sim.signed_out(&quinn_google) >= 1);
    assert_eq!(
        s.sim.user(&quinn_google).unwrap_or_default()["suspended"],
        false
    );
    let quinn_okta_actions = actions_on(&s.op, TENANT, &quinn_okta_id).await?;
    assert!(
        quinn_okta_actions.is_empty(),
        "the account scope kept to Google: {quinn_okta_actions:?}"
    );
    assert_eq!(okta.user_status(&quinn_okta).as_deref(), Some("ACTIVE"));
    assert!(
        !okta
            .mutations()
            .iter()
            .any(|c| c.path.contains(&quinn_okta)),
        "{:?}",
        okta.mutations()
    );
    Ok(())
}
