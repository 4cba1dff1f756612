//! Entra ID end to end: the real binary with the Entra (Microsoft Graph) simulator. Onboard with
//! /test and /sync, find users and sign-ins with the right fields, refuse a wrong client secret
//! without echoing it, answer Graph's validation request and turn a change notification into an
//! incremental delta pull, run manual actions that reach Graph, contain a brute force with an
//! automatic policy on pulled sign-ins, correlate one person's Okta and Entra accounts, and keep
//! the users subscription (with `public_base_url`) whose Graph deliveries update the inventory.

use std::time::{Duration, Instant};

use gatehouse_testkit::idp_sim::entra::{EntraConfig, EntraSim, NewUser, RunningSim};
use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{action, create_tenant, eventually, okta_person};

/// The `clientState` every integration here is created with.
const CLIENT_STATE: &str = "e2e-client-state-7f3a";
/// A cron schedule that does not fire during a test (midnight, 1 January).
const NEVER: &str = "0 0 0 1 1 *";

struct Setup {
    sim: EntraSim,
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

    /// The push URL returned at creation, absolute.
    fn ingest_url(&self) -> String {
        format!(
            "{}{}",
            self.daemon.base_url,
            self.integration["ingest"]["url"]
                .as_str()
                .unwrap_or_default()
        )
    }

    async fn sync(&self) -> anyhow::Result<()> {
        let sync = self
            .op
            .post_empty(&format!("/v1/integrations/{}/sync", self.id()))
            .await?;
        anyhow::ensure!(sync.status == StatusCode::ACCEPTED, "{:?}", sync.body);
        Ok(())
    }

    /// Every Entra account of the tenant, once the inventory holds every live user of the sim.
    async fn synced_users(&self) -> anyhow::Result<Vec<Value>> {
        let expected = self.sim.user_ids().len();
        eventually(Duration::from_secs(60), || async {
            let users = entra_users(&self.op, &self.tenant).await?;
            Ok((users.len() == expected).then_some(users))
        })
        .await
    }

    /// The Gatehouse user id of the sim's user `external`.
    async fn user_id(&self, external: &str) -> anyhow::Result<String> {
        let users = entra_users(&self.op, &self.tenant).await?;
        users
            .iter()
            .find(|u| u["external_id"] == external)
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("{external} is not in the inventory"))
    }
}

fn sim_config(users: usize) -> EntraConfig {
    EntraConfig {
        users,
        groups: 2,
        signins: 0,
        // Deliveries are driven by the tests, not by a background sender.
        notification_interval: None,
        ..EntraConfig::default()
    }
}

/// The integration's credentials for `sim` at `base`, with `secret` as the client secret.
fn credentials(sim: &EntraSim, secret: &str) -> Value {
    json!({"tenant_id": sim.config().directory_id, "client_id": sim.config().client_id,
        "client_secret": secret, "client_state": CLIENT_STATE})
}

fn entra_config(base: &str, extra: Value) -> Value {
    let mut config = json!({"login_base_url": base, "graph_base_url": base,
        "signin_lookback_hours": 24});
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    config
}

async fn create_entra(
    op: &Api,
    tenant: &str,
    credentials: Value,
    config: Value,
) -> anyhow::Result<Value> {
    let integration = op
        .post(
            "/v1/integrations",
            &json!({"type": "entra", "tenant_id": tenant,
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

async fn setup_with(tenant: &str, sim: EntraSim, config: Value) -> anyhow::Result<Setup> {
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, tenant).await?;
    let secret = sim.config().client_secret.clone();
    let integration = create_entra(
        &op,
        tenant,
        credentials(&sim, &secret),
        entra_config(&running.base_url(), config),
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

async fn entra_users(op: &Api, tenant: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op
        .get(&format!(
            "/v1/users?tenant_id={tenant}&provider=entra&limit=1000"
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

/// `createdDateTime` `ago` before the sim's now, as Graph writes it.
fn created(sim: &EntraSim, ago: Duration) -> String {
    let at = sim.clock().now() - chrono::Duration::from_std(ago).unwrap_or_default();
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A sign-in of `user` from `ip` with AADSTS `code`, created `ago` before the sim's now.
fn signin(sim: &EntraSim, user: &str, ip: &str, code: u32, ago: Duration) -> String {
    let reason = match code {
        0 => "Other.",
        50126 => "Error validating credentials due to invalid username or password.",
        50074 => "Strong Authentication is required.",
        _ => "Other.",
    };
    sim.add_signin(json!({"userId": user, "ipAddress": ip,
        "createdDateTime": created(sim, ago),
        "status": {"errorCode": code, "failureReason": reason}}))
}

/// A POST of `body` with `content_type` (no operator key: pushes carry their own token).
async fn post_raw(
    url: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<(u16, String, String)> {
    let reply = reqwest::Client::new()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await?;
    let status = reply.status().as_u16();
    let kind = reply
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, kind, reply.text().await?))
}

/// A Graph change notification for user `id`, as Graph delivers it.
fn notification(sim: &EntraSim, id: &str, client_state: &str) -> String {
    json!({"value": [{
        "id": "lsgTZMr9KwAAA",
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "subscriptionExpirationDateTime": "2030-03-20T11:00:00.0000000Z",
        "clientState": client_state,
        "changeType": "updated",
        "resource": format!("Users/{id}"),
        "tenantId": sim.config().directory_id,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": format!("Users/{id}"),
            "id": id,
            "organizationId": sim.config().directory_id
        }
    }]})
    .to_string()
}

#[tokio::test]
async fn entra_onboard_test_sync_users_and_signins() -> anyhow::Result<()> {
    // The sim's default arrival lag (2 minutes) stays: the sign-ins show once its clock passes it.
    let sim = EntraSim::new(sim_config(20));
    let disabled = sim.add_user(NewUser {
        given_name: "Dora".into(),
        surname: "Disabled".into(),
        account_enabled: false,
        ..NewUser::default()
    });
    let active = sim.add_user(NewUser {
        given_name: "Ada".into(),
        surname: "Active".into(),
        ..NewUser::default()
    });
    let s = setup_with("ten_entra_pull", sim, json!({})).await?;
    let id = s.id();

    s.sim.clear_calls();
    let check =
        s.op.post_empty(&format!("/v1/integrations/{id}/test"))
            .await?;
    assert_eq!(check.status, StatusCode::OK, "{:?}", check.body);
    let calls = s.sim.calls();
    assert!(
        calls.iter().any(|c| c.method == "POST"
            && c.path.ends_with("/oauth2/v2.0/token")
            && c.status == 200),
        "a token request: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.method == "GET" && c.path == "/v1.0/users" && c.status == 200),
        "a users call: {calls:?}"
    );

    // Three sign-ins of one user: a success, bad credentials, MFA required.
    let ip = "198.51.100.23";
    let ok = signin(&s.sim, &active, ip, 0, Duration::from_secs(90));
    let bad = signin(&s.sim, &active, ip, 50126, Duration::from_secs(80));
    let mfa = signin(&s.sim, &active, ip, 50074, Duration::from_secs(70));
    s.sim.advance(Duration::from_secs(180));

    s.sync().await?;
    let users = s.synced_users().await?;
    let sim_user = |external: &str| s.sim.user(external).unwrap_or_default();
    for user in &users {
        let external = user["external_id"].as_str().unwrap_or_default();
        let graph = sim_user(external);
        assert_eq!(user["provider"], "entra", "{user}");
        assert_eq!(
            user["login"], graph["userPrincipalName"],
            "login is the UPN: {user}"
        );
        assert_eq!(user["email"], graph["mail"], "{user}");
        assert_eq!(user["display_name"], graph["displayName"], "{user}");
        let status = if graph["accountEnabled"] == false {
            "suspended"
        } else {
            "active"
        };
        assert_eq!(user["status"], status, "{user}");
        assert!(user["identity_id"].is_string(), "{user}");
    }
    let dora = users
        .iter()
        .find(|u| u["external_id"] == disabled.as_str())
        .ok_or_else(|| anyhow::anyhow!("the disabled account is missing"))?;
    assert_eq!(dora["status"], "suspended", "{dora}");
    assert_eq!(dora["display_name"], "Dora Disabled", "{dora}");
    let ada = users
        .iter()
        .find(|u| u["external_id"] == active.as_str())
        .ok_or_else(|| anyhow::anyhow!("the active account is missing"))?;
    assert_eq!(ada["status"], "active", "{ada}");

    let events = eventually(Duration::from_secs(60), || async {
        let events = signins(&s.op, "ten_entra_pull").await?;
        Ok((events.len() >= 3).then_some(events))
    })
    .await?;
    assert_eq!(events.len(), 3, "{events:?}");
    let event = |sim_id: &str| {
        events
            .iter()
            .find(|e| e["provider_event_id"] == sim_id)
            .cloned()
            .unwrap_or_default()
    };
    for (sim_id, outcome, code) in [
        (&ok, "success", None),
        (&bad, "failure", Some("50126")),
        (&mfa, "challenge", Some("50074")),
    ] {
        let e = event(sim_id);
        assert_eq!(e["outcome"], outcome, "{e}");
        assert_eq!(e["provider"], "entra", "{e}");
        assert_eq!(e["source"], "pull", "{e}");
        assert_eq!(e["ip"], ip, "{e}");
        assert_eq!(e["login"], ada["login"], "{e}");
        assert_eq!(e["user_id"], ada["id"], "matched to the account: {e}");
        match code {
            Some(code) => assert!(
                e["reason"].as_str().is_some_and(|r| r.starts_with(code)),
                "{e}"
            ),
            None => assert!(e["reason"].is_null(), "{e}"),
        }
    }
    assert_eq!(
        event(&bad)["signal"]["failure_reason"],
        "bad_credentials",
        "{}",
        event(&bad)
    );
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
    Ok(())
}

#[tokio::test]
async fn entra_wrong_client_secret_fails_the_test_without_echoing_it() -> anyhow::Result<()> {
    let sim = EntraSim::new(sim_config(5));
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, "ten_entra_secret").await?;
    let wrong = "Wr0ng~Secret.Value_e2e_5f1c9a";
    let integration = create_entra(
        &op,
        "ten_entra_secret",
        credentials(&sim, wrong),
        entra_config(&running.base_url(), json!({})),
    )
    .await?;
    let id = integration["id"].as_str().unwrap_or_default();
    let check = op
        .post_empty(&format!("/v1/integrations/{id}/test"))
        .await?;
    // docs/API.md: 422 when the provider refuses the credentials.
    assert_eq!(
        check.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        check.body
    );
    let text = check.body.to_string();
    assert!(
        text.contains("AADSTS7000215"),
        "names the AADSTS code: {text}"
    );
    assert!(!text.contains(wrong), "the secret is never echoed: {text}");
    let calls = sim.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.path.ends_with("/oauth2/v2.0/token") && c.status == 401),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.path.starts_with("/v1.0/")),
        "no Graph call without a token: {calls:?}"
    );
    // Nothing about the secret in the integration either.
    let shown = op.get(&format!("/v1/integrations/{id}")).await?;
    assert!(!shown.body.to_string().contains(wrong), "{:?}", shown.body);
    assert!(!daemon.logs().contains(wrong), "the secret is not logged");

    // A directory the token service does not know, and an app id it does not know: each a 422
    // that names its AADSTS code.
    let secret = sim.config().client_secret.clone();
    let mut unknown_tenant = credentials(&sim, &secret);
    unknown_tenant["tenant_id"] = json!("nosuch.onmicrosoft.com");
    let mut unknown_app = credentials(&sim, &secret);
    unknown_app["client_id"] = json!("99999999-9999-9999-9999-999999999999");
    for (credentials, code) in [
        (unknown_tenant, "AADSTS90002"),
        (unknown_app, "AADSTS700016"),
    ] {
        let integration = create_entra(
            &op,
            "ten_entra_secret",
            credentials,
            entra_config(&running.base_url(), json!({})),
        )
        .await?;
        let id = integration["id"].as_str().unwrap_or_default();
        let check = op
            .post_empty(&format!("/v1/integrations/{id}/test"))
            .await?;
        assert_eq!(
            check.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{code}: {:?}",
            check.body
        );
        let text = check.body.to_string();
        assert!(text.contains(code), "{text}");
        assert!(!text.contains(&secret), "{text}");
    }
    Ok(())
}

#[tokio::test]
async fn entra_change_notifications_validate_and_trigger_a_delta_pull() -> anyhow::Result<()> {
    // No scheduled pull may do the push's work: only /sync and the notification pull.
    let sim = EntraSim::new(sim_config(15));
    let s = setup_with(
        "ten_entra_push",
        sim,
        json!({"ingest_signins": false, "users_schedule": NEVER, "full_sync_schedule": NEVER}),
    )
    .await?;
    let url = s.ingest_url();

    // Graph's validation request at the push URL: the token echoed as text/plain.
    let (status, kind, body) = post_raw(
        &format!("{url}&validationToken=abc"),
        "text/plain",
        String::new(),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert_eq!(body, "abc");
    // As Graph sends it: form-encoded ('+' for spaces), answered decoded.
    let (status, _, body) = post_raw(
        &format!(
            "{url}&validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+2a3b"
        ),
        "text/plain",
        String::new(),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "Validation: Testing client application reachability for subscription Request-Id: 2a3b"
    );
    // Without the ingest token too (push.rs / the factory's `handshake`: the validation
    // request may come before the token is known to work, and echoing it reveals nothing).
    let bare = format!("{}/v1/idp/entra", s.daemon.base_url);
    let (status, kind, body) = post_raw(
        &format!("{bare}?validationToken=abc"),
        "text/plain",
        String::new(),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert_eq!(body, "abc");

    s.sync().await?;
    let users = s.synced_users().await?;
    let target = users
        .iter()
        .find(|u| u["status"] == "active")
        .and_then(|u| u["external_id"].as_str())
        .ok_or_else(|| anyhow::anyhow!("no active account"))?
        .to_owned();
    let other = users
        .iter()
        .filter_map(|u| u["external_id"].as_str())
        .find(|e| *e != target)
        .ok_or_else(|| anyhow::anyhow!("a second account"))?
        .to_owned();
    // The first round has ended (its deltaLink stored) once the integration says so.
    let id = s.id();
    eventually(Duration::from_secs(30), || async {
        let reply = s.op.get(&format!("/v1/integrations/{id}")).await?;
        Ok(reply.body["sync"]["last_success_at"]
            .is_string()
            .then_some(()))
    })
    .await?;

    // A delivery without the ingest token is not one.
    let (status, _, body) = post_raw(
        &bare,
        "application/json",
        notification(&s.sim, &target, CLIENT_STATE),
    )
    .await?;
    assert_eq!(status, 401, "{body}");

    // A wrong clientState is refused and starts no pull.
    assert!(s
        .sim
        .update_user(&other, json!({"displayName": "Forged Name"})));
    s.sim.clear_calls();
    let (status, _, body) = post_raw(
        &url,
        "application/json",
        notification(&s.sim, &other, "not-the-client-state"),
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains(CLIENT_STATE), "{body}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let delta: Vec<_> = s
            .sim
            .calls()
            .into_iter()
            .filter(|c| c.path.starts_with("/v1.0/users"))
            .collect();
        assert!(delta.is_empty(), "a refused notification pulled: {delta:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = entra_users(&s.op, "ten_entra_push").await?;
    assert!(
        !before.iter().any(|u| u["display_name"] == "Forged Name"),
        "nothing changed"
    );

    // The real notification: accepted, and the incremental pull brings the new name.
    assert!(s
        .sim
        .update_user(&target, json!({"displayName": "Changed Name"})));
    let (status, _, body) = post_raw(
        &url,
        "application/json",
        notification(&s.sim, &target, CLIENT_STATE),
    )
    .await?;
    assert!((200..300).contains(&status), "{status} {body}");
    let changed = eventually(Duration::from_secs(15), || async {
        let users = entra_users(&s.op, "ten_entra_push").await?;
        Ok(users
            .into_iter()
            .find(|u| u["external_id"] == target.as_str() && u["display_name"] == "Changed Name"))
    })
    .await?;
    assert_eq!(changed["status"], "active", "{changed}");
    let delta: Vec<_> = s
        .sim
        .calls()
        .into_iter()
        .filter(|c| c.path == "/v1.0/users/delta")
        .collect();
    assert!(
        delta
            .iter()
            .all(|c| c.query.as_deref().is_some_and(|q| q.contains("deltatoken"))),
        "an incremental pull from the stored deltaLink, not a new round: {delta:?}"
    );

    // A deletion (Graph: changeType deleted, the user in the deleted items container) arrives
    // the same way and leaves the account deprovisioned, flagged soft_deleted.
    assert!(s.sim.delete_user(&other));
    let deleted = notification(&s.sim, &other, CLIENT_STATE).replace("\"updated\"", "\"deleted\"");
    let (status, _, body) = post_raw(&url, "application/json", deleted).await?;
    assert!((200..300).contains(&status), "{status} {body}");
    let gone = eventually(Duration::from_secs(15), || async {
        let users = entra_users(&s.op, "ten_entra_push").await?;
        Ok(users
            .into_iter()
            .find(|u| u["external_id"] == other.as_str() && u["status"] == "deprovisioned"))
    })
    .await?;
    let flags = gone["status_flags"].to_string();
    assert!(flags.contains("soft_deleted"), "{gone}");
    Ok(())
}

#[tokio::test]
async fn entra_manual_actions_reach_graph() -> anyhow::Result<()> {
    let sim = EntraSim::new(sim_config(10));
    let group = sim.create_group("Require MFA");
    let target = sim.add_user(NewUser {
        given_name: "Tess".into(),
        surname: "Target".into(),
        ..NewUser::default()
    });
    let s = setup_with(
        "ten_entra_act",
        sim,
        json!({"ingest_signins": false, "enable_response_actions": true, "mfa_group_id": group}),
    )
    .await?;
    s.sync().await?;
    s.synced_users().await?;
    let user_id = s.user_id(&target).await?;

    let disabled = action(&s.op, "ten_entra_act", &user_id, "disable_account").await?;
    assert_eq!(disabled["status"], "succeeded", "{disabled}");
    assert_eq!(
        s.sim.user(&target).unwrap_or_default()["accountEnabled"],
        false
    );
    assert!(
        s.sim.writes().iter().any(|c| c.method == "PATCH"
            && c.path == format!("/v1.0/users/{target}")
            && c.body
                .as_ref()
                .is_some_and(|b| b["accountEnabled"] == false)),
        "{:?}",
        s.sim.writes()
    );
    let account = s.op.get(&format!("/v1/users/{user_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);

    let revoked = action(&s.op, "ten_entra_act", &user_id, "revoke_sessions").await?;
    assert_eq!(revoked["status"], "succeeded", "{revoked}");
    assert_eq!(s.sim.revoked_sessions(&target), 1);

    assert!(!s.sim.group_members(&group).contains(&target));
    let mfa = action(&s.op, "ten_entra_act", &user_id, "enforce_mfa").await?;
    assert_eq!(mfa["status"], "succeeded", "{mfa}");
    assert!(
        s.sim.group_members(&group).contains(&target),
        "{:?}",
        s.sim.group_members(&group)
    );
    // Only the target was touched.
    assert_eq!(s.sim.group_members(&group), vec![target.clone()]);
    let listed =
        s.op.get(&format!(
            "/v1/actions?tenant_id=ten_entra_act&user_id={user_id}"
        ))
        .await?;
    let statuses: Vec<&str> = listed.body["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses.len(), 3, "{:?}", listed.body);
    assert!(statuses.iter().all(|s| *s == "succeeded"), "{statuses:?}");
    Ok(())
}

#[tokio::test]
async fn entra_brute_force_in_pulled_signins_is_contained_automatically() -> anyhow::Result<()> {
    let sim = EntraSim::new(EntraConfig {
        signin_lag: Duration::ZERO,
        ..sim_config(12)
    });
    let victim = sim.add_user(NewUser {
        given_name: "Vic".into(),
        surname: "Tim".into(),
        ..NewUser::default()
    });
    let bystander = sim.add_user(NewUser {
        given_name: "Bea".into(),
        surname: "Bystander".into(),
        ..NewUser::default()
    });
    // Sign-ins are pulled only by /sync here.
    let s = setup_with(
        "ten_entra_auto",
        sim,
        json!({"enable_response_actions": true, "signins_schedule": NEVER}),
    )
    .await?;
    s.sync().await?;
    s.synced_users().await?;
    let victim_id = s.user_id(&victim).await?;
    // brute_force alone: the success after the burst is also a `success_after_attack`
    // detection, and the engine runs a policy's actions once per detection (a policy naming both
    // kinds revokes twice), which would blur the exactly-once check below.
    let policy =
        s.op.post(
            "/v1/policies",
            &json!({"tenant_id": "ten_entra_auto", "name": "contain brute force",
            "when": {"kinds": ["brute_force"], "min_severity": "medium",
                     "providers": ["entra"]},
            "then": ["revoke_sessions", "disable_account"], "mode": "auto", "scope": "account"}),
        )
        .await?;
    assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);

    // 12 bad passwords from one IP within two minutes, then the right one; and one ordinary
    // failure of a bystander, which must not be touched.
    let ip = "203.0.113.66";
    for i in 0..12u64 {
        signin(
            &s.sim,
            &victim,
            ip,
            50126,
            Duration::from_secs(150 - i * 10),
        );
    }
    signin(&s.sim, &victim, ip, 0, Duration::from_secs(20));
    signin(
        &s.sim,
        &bystander,
        "192.0.2.10",
        50126,
        Duration::from_secs(60),
    );
    s.sync().await?;

    let detections = eventually(Duration::from_secs(60), || async {
        let reply =
            s.op.get(&format!(
                "/v1/detections?tenant_id=ten_entra_auto&user_id={victim_id}"
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
        let disabled = s.sim.user(&victim).unwrap_or_default()["accountEnabled"] == false;
        Ok((disabled && s.sim.revoked_sessions(&victim) >= 1).then_some(()))
    })
    .await?;
    let actions = eventually(Duration::from_secs(30), || async {
        let reply =
            s.op.get(&format!(
                "/v1/actions?tenant_id=ten_entra_auto&user_id={victim_id}"
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
        s.sim.user(&bystander).unwrap_or_default()["accountEnabled"],
        true
    );
    assert_eq!(s.sim.revoked_sessions(&bystander), 0);

    // The next round re-reads the connector's overlap (30 minutes by default): the same events
    // are stored once and contain nothing twice.
    let stored = signins(&s.op, "ten_entra_auto").await?.len();
    assert_eq!(stored, 14);
    let id = s.id();
    let last_pull = |body: &Value| body["sync"]["jobs"]["signins"]["last_success_at"].clone();
    let before = last_pull(&s.op.get(&format!("/v1/integrations/{id}")).await?.body);
    assert!(before.is_string(), "{before}");
    s.sync().await?;
    eventually(Duration::from_secs(30), || async {
        let now = last_pull(&s.op.get(&format!("/v1/integrations/{id}")).await?.body);
        Ok((now.is_string() && now != before).then_some(()))
    })
    .await?;
    assert_eq!(signins(&s.op, "ten_entra_auto").await?.len(), stored);
    let reply =
        s.op.get(&format!(
            "/v1/actions?tenant_id=ten_entra_auto&user_id={victim_id}"
        ))
        .await?;
    assert_eq!(
        reply.body["data"].as_array().map(Vec::len),
        Some(2),
        "one revocation and one disable: {:?}",
        reply.body
    );
    assert_eq!(s.sim.revoked_sessions(&victim), 1);
    let disables = s
        .sim
        .writes()
        .iter()
        .filter(|c| c.method == "PATCH" && c.path == format!("/v1.0/users/{victim}"))
        .count();
    assert_eq!(disables, 1, "{:?}", s.sim.writes());
    Ok(())
}

#[tokio::test]
async fn entra_and_okta_accounts_of_one_person_share_an_identity() -> anyhow::Result<()> {
    let okta = OktaSim::new(OktaConfig {
        users: 10,
        events: 0,
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let (person, email) = okta_person(&okta, "email")?;

    let sim = EntraSim::new(sim_config(10));
    let twin = sim.add_user(NewUser {
        given_name: "Twin".into(),
        surname: "Account".into(),
        ..NewUser::default()
    });
    // Upper case in Entra: addresses correlate case-insensitively.
    assert!(sim.update_user(&twin, json!({"mail": email.to_uppercase()})));
    let s = setup_with("ten_entra_twins", sim, json!({"ingest_signins": false})).await?;
    let created = s
        .op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": "ten_entra_twins",
            "credentials": {"domain": okta_running.base_url(), "api_token": okta.config().api_token},
            "config": {"ingest_system_log": false}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let okta_integration = created.str("/id");
    s.sync().await?;
    let sync =
        s.op.post_empty(&format!("/v1/integrations/{okta_integration}/sync"))
            .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED);
    s.synced_users().await?;
    let expected_okta = okta.user_count();
    let okta_users = eventually(Duration::from_secs(60), || async {
        let reply =
            s.op.get("/v1/users?tenant_id=ten_entra_twins&provider=okta&limit=1000")
                .await?;
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
        Ok((data.len() == expected_okta).then_some(data))
    })
    .await?;
    let okta_id = okta_users
        .iter()
        .find(|u| u["external_id"] == person.as_str())
        .and_then(|u| u["id"].as_str())
        .ok_or_else(|| anyhow::anyhow!("the Okta account is missing"))?
        .to_owned();
    let entra_id = s.user_id(&twin).await?;

    // Correlation may finish behind the pull: wait for the two to meet.
    let identity = eventually(Duration::from_secs(30), || async {
        let a = s.op.get(&format!("/v1/users/{okta_id}")).await?;
        let b = s.op.get(&format!("/v1/users/{entra_id}")).await?;
        let (a, b) = (&a.body["identity_id"], &b.body["identity_id"]);
        Ok((a.is_string() && a == b).then(|| a.as_str().unwrap_or_default().to_owned()))
    })
    .await?;
    let person_view = s.op.get(&format!("/v1/identities/{identity}")).await?;
    assert_eq!(person_view.status, StatusCode::OK, "{:?}", person_view.body);
    let accounts: Vec<&str> = person_view.body["accounts"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        accounts.contains(&okta_id.as_str()),
        "{:?}",
        person_view.body
    );
    assert!(
        accounts.contains(&entra_id.as_str()),
        "{:?}",
        person_view.body
    );
    let mut providers: Vec<&str> = person_view.body["users"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["provider"].as_str()).collect())
        .unwrap_or_default();
    providers.sort_unstable();
    assert_eq!(providers, vec!["entra", "okta"], "{:?}", person_view.body);
    assert!(
        person_view.body["emails"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == email.to_lowercase().as_str())),
        "{:?}",
        person_view.body
    );
    // Nobody else joined that identity.
    assert_eq!(accounts.len(), 2, "{:?}", person_view.body);
    Ok(())
}

/// With `public_base_url`, the connector keeps the users subscription itself: Graph (the sim)
/// validates the notification URL against the daemon while creating it, and its own
/// deliveries then bring a changed user into the inventory.
#[tokio::test]
async fn entra_subscription_is_created_and_graph_deliveries_update_users() -> anyhow::Result<()> {
    let sim = EntraSim::new(sim_config(8));
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, "ten_entra_sub").await?;
    let secret = sim.config().client_secret.clone();
    let integration = create_entra(
        &op,
        "ten_entra_sub",
        credentials(&sim, &secret),
        entra_config(
            &running.base_url(),
            json!({"ingest_signins": false, "users_schedule": NEVER,
                "full_sync_schedule": NEVER, "public_base_url": daemon.base_url}),
        ),
    )
    .await?;
    let id = integration["id"].as_str().unwrap_or_default().to_owned();
    let subscription = eventually(Duration::from_secs(30), || async {
        Ok(sim.subscriptions().into_iter().next())
    })
    .await?;
    assert_eq!(subscription["resource"], "users", "{subscription}");
    assert_eq!(subscription["clientState"], CLIENT_STATE, "{subscription}");
    let notify = subscription["notificationUrl"].as_str().unwrap_or_default();
    assert!(
        notify.starts_with(&format!("{}/v1/idp/entra?", daemon.base_url)),
        "{subscription}"
    );
    // The subscription's URL is the integration's push URL, ingest token included.
    let ingest = integration["ingest"]["url"].as_str().unwrap_or_default();
    let token = integration["ingest"]["token"].as_str().unwrap_or_default();
    assert!(
        !token.is_empty() && notify.contains(token),
        "{subscription}"
    );
    assert!(ingest.contains(token));

    let sync = op
        .post_empty(&format!("/v1/integrations/{id}/sync"))
        .await?;
    assert_eq!(sync.status, StatusCode::ACCEPTED);
    let expected = sim.user_ids().len();
    let users = eventually(Duration::from_secs(60), || async {
        let users = entra_users(&op, "ten_entra_sub").await?;
        Ok((users.len() == expected).then_some(users))
    })
    .await?;
    eventually(Duration::from_secs(30), || async {
        let reply = op.get(&format!("/v1/integrations/{id}")).await?;
        Ok(reply.body["sync"]["last_success_at"]
            .is_string()
            .then_some(()))
    })
    .await?;
    let target = users
        .iter()
        .filter_map(|u| u["external_id"].as_str())
        .next()
        .ok_or_else(|| anyhow::anyhow!("no account"))?
        .to_owned();
    // Deliveries of the initial directory (if any) are drained first.
    sim.deliver_notifications().await;
    assert!(sim.update_user(&target, json!({"displayName": "Graph Pushed"})));
    assert!(
        sim.pending_notifications() > 0,
        "the sim queued a notification"
    );
    let statuses = sim.deliver_notifications().await;
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| (200..300).contains(s)),
        "{statuses:?}"
    );
    eventually(Duration::from_secs(15), || async {
        let users = entra_users(&op, "ten_entra_sub").await?;
        Ok(users
            .into_iter()
            .find(|u| u["external_id"] == target.as_str() && u["display_name"] == "Graph Pushed"))
    })
    .await?;
    Ok(())
}

/// A delta token Graph no longer knows (400 `syncStateNotFound`, then 410 `resyncRequired`)
/// makes the notification's incremental pull fall back to a full round, which still brings the
/// change, and a new deltaLink that the next notification resumes from.
#[tokio::test]
async fn entra_expired_delta_tokens_fall_back_to_a_full_pull() -> anyhow::Result<()> {
    let sim = EntraSim::new(sim_config(12));
    let s = setup_with(
        "ten_entra_resync",
        sim,
        json!({"ingest_signins": false, "users_schedule": NEVER, "full_sync_schedule": NEVER}),
    )
    .await?;
    let url = s.ingest_url();
    s.sync().await?;
    let users = s.synced_users().await?;
    let id = s.id();
    eventually(Duration::from_secs(30), || async {
        let reply = s.op.get(&format!("/v1/integrations/{id}")).await?;
        Ok(reply.body["sync"]["last_success_at"]
            .is_string()
            .then_some(()))
    })
    .await?;
    let ids: Vec<String> = users
        .iter()
        .filter_map(|u| u["external_id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(ids.len() >= 3);
    for (round, (user, expire)) in [(&ids[0], true), (&ids[1], false), (&ids[2], false)]
        .into_iter()
        .enumerate()
    {
        let name = format!("Resynced {round}");
        match (round, expire) {
            (0, _) => s.sim.expire_delta_tokens(),
            (1, _) => s.sim.reset_sync_state(),
            _ => {}
        }
        s.sim.clear_calls();
        assert!(s.sim.update_user(user, json!({"displayName": name})));
        let (status, _, body) = post_raw(
            &url,
            "application/json",
            notification(&s.sim, user, CLIENT_STATE),
        )
        .await?;
        assert!((200..300).contains(&status), "{status} {body}");
        eventually(Duration::from_secs(20), || async {
            let users = entra_users(&s.op, "ten_entra_resync").await?;
            Ok(users
                .into_iter()
                .find(|u| u["external_id"] == user.as_str() && u["display_name"] == name.as_str()))
        })
        .await
        .map_err(|e| anyhow::anyhow!("round {round}: {e}; calls {:?}", s.sim.calls()))?;
        let delta: Vec<_> = s
            .sim
            .calls()
            .into_iter()
            .filter(|c| c.path == "/v1.0/users/delta")
            .collect();
        let fresh = delta
            .iter()
            .filter(|c| {
                c.query
                    .as_deref()
                    .is_some_and(|q| q.contains("%24select") || q.contains("$select"))
            })
            .count();
        if round < 2 {
            assert!(
                delta.iter().any(|c| c.status == 400 || c.status == 410),
                "round {round}: the stale token was refused: {delta:?}"
            );
            assert!(fresh >= 1, "round {round}: a new round started: {delta:?}");
        } else {
            assert_eq!(fresh, 0, "the new deltaLink is used again: {delta:?}");
        }
    }
    // Nobody went missing through the full rounds.
    assert_eq!(
        entra_users(&s.op, "ten_entra_resync").await?.len(),
        s.sim.user_ids().len()
    );
    Ok(())
}
