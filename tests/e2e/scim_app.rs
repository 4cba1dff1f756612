//! SCIM applications end to end: the real binary with the Okta simulator and the SCIM
//! application simulator. One person's Okta account and app account share an identity; an
//! attack detected at Okta with a `scope: identity` automatic policy suspends the person at
//! Okta and deactivates them in the app, both actions recorded against the one detection.
//! And Gatehouse's own `/v1/scim/v2` as the downstream app of another tenant, reached with
//! OAuth client credentials: its users are pulled, and a deactivation and a reactivation reach
//! the other tenant's SCIM resource. And one tenant provisioning its Okta people and their
//! group memberships into another tenant's SCIM server.

use std::time::Duration;

use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::idp_sim::scim_app::{NewScimUser, ScimAppConfig, ScimAppSim};
use gatehouse_testkit::Gatehouse;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{
    account_with, accounts_of, action, create_tenant, eventually, list, okta_person, sync,
};

/// A cron schedule that does not fire during a test: pulls run when a test asks.
const NEVER: &str = "0 0 0 1 1 *";

#[tokio::test]
async fn an_okta_attack_with_scope_identity_deactivates_the_person_in_the_scim_app(
) -> anyhow::Result<()> {
    let tenant = "ten_scim_app_twins";
    let okta = OktaSim::new(OktaConfig {
        users: 10,
        events: 0,
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let (person, email) = okta_person(&okta, "email")?;

    let app = ScimAppSim::new(ScimAppConfig {
        users: 15,
        ..ScimAppConfig::default()
    });
    let app_running = app.spawn("127.0.0.1:0".parse()?)?;
    // The app knows the person by address, in its own spelling.
    let twin = app.add_user(NewScimUser {
        user_name: Some(email.to_uppercase()),
        ..NewScimUser::default()
    });

    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    create_tenant(&op, tenant).await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim_app", "tenant_id": tenant,
                "credentials": {"base_url": app_running.base_url(), "token": app.config().token},
                "config": {"enable_response_actions": true, "provision": false}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert!(
        !created.body.to_string().contains(&app.config().token),
        "the token is echoed"
    );
    let app_integration = created.str("/id");
    let test = op
        .post_empty(&format!("/v1/integrations/{app_integration}/test"))
        .await?;
    assert_eq!(test.status, StatusCode::OK, "{:?}", test.body);
    assert!(
        test.body.to_string().contains("PATCH yes, filter yes"),
        "{:?}",
        test.body
    );
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": tenant,
                "credentials": {"domain": okta_running.base_url(),
                    "api_token": okta.config().api_token},
                "config": {"ingest_system_log": true, "signins_schedule": NEVER,
                    "system_log_lookback_hours": 100, "enable_response_actions": true}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let okta_integration = created.str("/id");
    sync(&op, &app_integration).await?;
    sync(&op, &okta_integration).await?;
    let app_users = accounts_of(&op, tenant, "scim_app", app.user_ids().len()).await?;
    let okta_users = accounts_of(&op, tenant, "okta", okta.user_count()).await?;
    let app_id = account_with(&app_users, &twin)?;
    let okta_id = account_with(&okta_users, &person)?;
    // Inactive app accounts arrive suspended.
    let suspended = app_users
        .iter()
        .filter(|u| u["status"] == "suspended")
        .count();
    assert_eq!(suspended, 1, "one generated account in ten is inactive");

    let identity = eventually(Duration::from_secs(30), || async {
        let a = op.get(&format!("/v1/users/{okta_id}")).await?;
        let b = op.get(&format!("/v1/users/{app_id}")).await?;
        let (a, b) = (&a.body["identity_id"], &b.body["identity_id"]);
        Ok((a.is_string() && a == b).then(|| a.as_str().unwrap_or_default().to_owned()))
    })
    .await?;
    let person_view = op.get(&format!("/v1/identities/{identity}")).await?;
    let mut providers: Vec<&str> = person_view.body["users"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["provider"].as_str()).collect())
        .unwrap_or_default();
    providers.sort_unstable();
    assert_eq!(providers, ["okta", "scim_app"], "{:?}", person_view.body);

    let policy = op
        .post(
            "/v1/policies",
            &json!({"tenant_id": tenant, "name": "cut the person off everywhere",
                "when": {"kinds": ["brute_force"], "providers": ["okta"]},
                "then": ["disable_account"], "mode": "auto", "scope": "identity"}),
        )
        .await?;
    assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);
    app.clear_calls();
    // Twelve failed sign-ins in Okta's System Log, pulled.
    let failures: Vec<Value> = (0..12)
        .filter_map(|_| {
            okta.make_event(
                &person,
                "user.session.start",
                "FAILURE",
                Some("INVALID_CREDENTIALS"),
            )
        })
        .collect();
    anyhow::ensure!(failures.len() == 12);
    okta.append_events(failures);
    sync(&op, &okta_integration).await?;

    let detection = eventually(Duration::from_secs(60), || async {
        let found = list(
            &op,
            &format!("/v1/detections?tenant_id={tenant}&kind=brute_force"),
        )
        .await?;
        Ok(found.first().cloned())
    })
    .await?;
    assert_eq!(detection["user_id"], okta_id.as_str(), "{detection}");
    eventually(Duration::from_secs(60), || async {
        let at_okta = okta.user_status(&person).as_deref() == Some("SUSPENDED");
        let in_app = app.user(&twin).is_some_and(|u| u["active"] == false);
        Ok((at_okta && in_app).then_some(()))
    })
    .await?;
    for account in [&okta_id, &app_id] {
        let actions = eventually(Duration::from_secs(60), || async {
            let actions = list(
                &op,
                &format!("/v1/actions?tenant_id={tenant}&user_id={account}"),
            )
            .await?;
            let done = actions
                .iter()
                .any(|a| a["action"] == "disable_account" && a["status"] == "succeeded");
            Ok(done.then_some(actions))
        })
        .await?;
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert_eq!(actions[0]["detection_id"], detection["id"], "{actions:?}");
    }
    // The app saw one write, to that person only: a PATCH of `active`.
    let writes = app.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert!(writes[0].path.ends_with(&twin), "{writes:?}");
    let account = op.get(&format!("/v1/users/{app_id}")).await?;
    assert_eq!(account.body["status"], "suspended", "{}", account.body);
    Ok(())
}

#[tokio::test]
async fn gatehouse_s_own_scim_server_as_the_downstream_app_of_another_tenant() -> anyhow::Result<()>
{
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    let (downstream, upstream) = ("ten_scim_down", "ten_scim_up");
    create_tenant(&op, downstream).await?;
    create_tenant(&op, upstream).await?;
    let scim = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim", "tenant_id": downstream,
                "credentials": {"oauth_client_id": "gatehouse-upstream",
                    "oauth_client_secret": "upstream-client-secret-5d1e"}}),
        )
        .await?;
    assert_eq!(scim.status, StatusCode::CREATED, "{:?}", scim.body);
    let token = scim.str("/scim/token");
    let base = format!("{}/v1/scim/v2", daemon.base_url);
    // An IdP provisions three people into the downstream tenant.
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for name in ["ada", "grace", "linus"] {
        let reply = client
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("{name}@example.com"), "active": true,
                    "emails": [{"value": format!("{name}@example.com"), "primary": true}]})
                .to_string(),
            )
            .send()
            .await?;
        anyhow::ensure!(reply.status() == StatusCode::CREATED, "{}", reply.status());
        let body: Value = reply.json().await?;
        ids.push(body["id"].as_str().unwrap_or_default().to_owned());
    }

    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim_app", "tenant_id": upstream,
                // The upstream tenant authenticates as an OAuth client of the downstream one.
                "credentials": {"base_url": base,
                    "token_url": format!("{}/v1/scim/oauth/token", daemon.base_url),
                    "client_id": "gatehouse-upstream",
                    "client_secret": "upstream-client-secret-5d1e"},
                "config": {"enable_response_actions": true}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let integration = created.str("/id");
    let test = op
        .post_empty(&format!("/v1/integrations/{integration}/test"))
        .await?;
    assert_eq!(test.status, StatusCode::OK, "{:?}", test.body);
    sync(&op, &integration).await?;
    let accounts = accounts_of(&op, upstream, "scim_app", 3).await?;
    let grace = account_with(&accounts, &ids[1])?;
    let done = action(&op, upstream, &grace, "disable_account").await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    let at_downstream: Value = client
        .get(format!("{base}/Users/{}", ids[1]))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(at_downstream["active"], false, "{at_downstream}");
    let done = action(&op, upstream, &grace, "enable_account").await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    let at_downstream: Value = client
        .get(format!("{base}/Users/{}", ids[1]))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(at_downstream["active"], true, "{at_downstream}");
    Ok(())
}

/// The SCIM `/Users` of a tenant of ours, as its SCIM client sees them.
async fn scim_users(base: &str, token: &str) -> anyhow::Result<Vec<Value>> {
    let reply: Value = reqwest::Client::new()
        .get(format!("{base}/Users?startIndex=1&count=1000"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(reply["Resources"].as_array().cloned().unwrap_or_default())
}

/// The SCIM `/Groups` of a tenant of ours, each read whole (with its `members`).
async fn scim_groups(base: &str, token: &str) -> anyhow::Result<Vec<Value>> {
    let client = reqwest::Client::new();
    let reply: Value = client
        .get(format!("{base}/Groups?startIndex=1&count=1000"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let mut groups = Vec::new();
    for listed in reply["Resources"].as_array().cloned().unwrap_or_default() {
        let id = listed["id"].as_str().unwrap_or_default();
        let group: Value = client
            .get(format!("{base}/Groups/{id}"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        groups.push(group);
    }
    Ok(groups)
}

/// A SCIM group's member ids, sorted.
fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// Okta's group names by group id, read from its API.
async fn okta_group_names(
    base: &str,
    token: &str,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let groups: Vec<Value> = reqwest::Client::new()
        .get(format!("{base}/api/v1/groups?limit=200"))
        .header("Authorization", format!("SSWS {token}"))
        .send()
        .await?
        .json()
        .await?;
    Ok(groups
        .iter()
        .filter_map(|g| {
            Some((
                g["id"].as_str()?.to_owned(),
                g["profile"]["name"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// The integration's `provision` job once a run newer than `after` succeeded.
async fn provision_job(
    op: &gatehouse_testkit::Api,
    id: &str,
    after: &Value,
) -> anyhow::Result<Value> {
    eventually(Duration::from_secs(60), || async {
        let reply = op.get(&format!("/v1/integrations/{id}")).await?;
        let job = reply.body["sync"]["jobs"]["provision"].clone();
        if let Some(error) = job["last_error"].as_str() {
            anyhow::bail!("provisioning failed: {error}");
        }
        let done = job["last_success_at"].is_string() && job["last_success_at"] != *after;
        Ok(done.then_some(job))
    })
    .await
}

#[tokio::test]
async fn one_tenant_provisions_its_okta_people_into_another_tenant_s_scim_server(
) -> anyhow::Result<()> {
    let daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    let (downstream, upstream) = ("ten_prov_down", "ten_prov_up");
    create_tenant(&op, downstream).await?;
    create_tenant(&op, upstream).await?;
    let scim = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim", "tenant_id": downstream,
                "credentials": {"oauth_client_id": "gatehouse-provisioner",
                    "oauth_client_secret": "provisioner-client-secret-81c2"}}),
        )
        .await?;
    assert_eq!(scim.status, StatusCode::CREATED, "{:?}", scim.body);
    let token = scim.str("/scim/token");
    let base = format!("{}/v1/scim/v2", daemon.base_url);

    let okta = OktaSim::new(OktaConfig {
        users: 12,
        events: 0,
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": upstream,
                "credentials": {"domain": okta_running.base_url(),
                    "api_token": okta.config().api_token},
                "config": {"ingest_system_log": false, "users_schedule": NEVER,
                    "full_sync_schedule": NEVER}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let okta_integration = created.str("/id");
    sync(&op, &okta_integration).await?;
    // The groups too (their pull follows the users').
    eventually(Duration::from_secs(60), || async {
        let reply = op
            .get(&format!("/v1/integrations/{okta_integration}"))
            .await?;
        Ok(reply.body["sync"]["jobs"]["groups"]["last_success_at"]
            .is_string()
            .then_some(()))
    })
    .await?;
    let okta_users = accounts_of(&op, upstream, "okta", okta.user_count()).await?;
    // Who should be in the downstream app: every identity with an account that is on.
    let on = |u: &Value| !matches!(u["status"].as_str(), Some("suspended" | "deprovisioned"));
    let identity_of = |okta_id: &str| -> anyhow::Result<String> {
        let user = okta_users
            .iter()
            .find(|u| u["external_id"] == okta_id)
            .ok_or_else(|| anyhow::anyhow!("no account for {okta_id}"))?;
        Ok(user["identity_id"].as_str().unwrap_or_default().to_owned())
    };
    let mut expected: Vec<String> = okta_users
        .iter()
        .filter(|u| on(u) && u["email"].is_string() && u["identity_id"].is_string())
        .filter_map(|u| u["identity_id"].as_str().map(str::to_owned))
        .collect();
    expected.sort();
    anyhow::ensure!(
        expected.len() >= 3,
        "too few active Okta people: {okta_users:?}"
    );

    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "scim_app", "tenant_id": upstream,
                "credentials": {"base_url": base,
                    "token_url": format!("{}/v1/scim/oauth/token", daemon.base_url),
                    "client_id": "gatehouse-provisioner",
                    "client_secret": "provisioner-client-secret-81c2"},
                "config": {"provision": true, "users_schedule": NEVER,
                    "full_sync_schedule": NEVER}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let app = created.str("/id");
    sync(&op, &app).await?;
    let job = provision_job(&op, &app, &Value::Null).await?;
    assert_eq!(
        job["provisioned"]["created"].as_u64(),
        Some(expected.len() as u64),
        "{job}"
    );
    let at_downstream = scim_users(&base, &token).await?;
    let mut provisioned: Vec<String> = at_downstream
        .iter()
        .filter_map(|u| u["externalId"].as_str().map(str::to_owned))
        .collect();
    provisioned.sort();
    assert_eq!(provisioned, expected, "{at_downstream:?}");
    for user in &at_downstream {
        let source = okta_users
            .iter()
            .find(|u| u["identity_id"] == user["externalId"])
            .ok_or_else(|| anyhow::anyhow!("{user} has no source"))?;
        assert_eq!(user["userName"], source["email"], "{user}");
        assert_eq!(user["active"], true, "{user}");
    }

    // Okta's groups are the downstream tenant's groups (our SCIM server serves /Groups), each
    // with the provisioned people Okta has in it.
    let names = okta_group_names(&okta_running.base_url(), &okta.config().api_token).await?;
    let app_id_of = |identity: &str| {
        at_downstream
            .iter()
            .find(|u| u["externalId"] == identity)
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)
    };
    let mut wanted: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for user in okta_users.iter().filter(|u| u["status"] != "deprovisioned") {
        let okta_id = user["external_id"].as_str().unwrap_or_default();
        let Some(app_id) = app_id_of(user["identity_id"].as_str().unwrap_or_default()) else {
            continue;
        };
        for group in okta.groups_of(okta_id) {
            let name = names
                .get(&group)
                .ok_or_else(|| anyhow::anyhow!("no Okta group {group}"))?;
            wanted.entry(name.clone()).or_default().push(app_id.clone());
        }
    }
    anyhow::ensure!(wanted.len() >= 2, "too few Okta groups: {wanted:?}");
    let groups = scim_groups(&base, &token).await?;
    assert_eq!(groups.len(), wanted.len(), "{groups:?}");
    for (name, members) in &mut wanted {
        members.sort();
        members.dedup();
        let group = groups
            .iter()
            .find(|g| g["displayName"] == name.as_str())
            .ok_or_else(|| anyhow::anyhow!("no group {name} downstream: {groups:?}"))?;
        assert_eq!(group["externalId"], format!("gatehouse-group:{name}"));
        assert_eq!(member_ids(group), *members, "{name}: {group}");
    }

    // Again: nothing to write.
    sync(&op, &app).await?;
    let job = provision_job(&op, &app, &job["last_success_at"]).await?;
    for count in ["created", "updated", "deactivated", "failed"] {
        assert_eq!(job["provisioned"][count], 0, "{job}");
    }
    // Everyone visited again, people whose accounts are all off (never created) too.
    assert!(
        job["provisioned"]["unchanged"].as_u64() >= Some(expected.len() as u64),
        "{job}"
    );
    assert_eq!(job["records"], 0, "{job}");
    assert_eq!(scim_users(&base, &token).await?, at_downstream);
    assert_eq!(scim_groups(&base, &token).await?, groups);

    // A person deprovisioned at Okta is deactivated downstream, not deleted.
    let person = okta_users
        .iter()
        .filter(|u| on(u))
        .filter_map(|u| u["external_id"].as_str())
        .find(|id| *id != okta.admin_id())
        .ok_or_else(|| anyhow::anyhow!("no active Okta person"))?
        .to_owned();
    let identity = identity_of(&person)?;
    anyhow::ensure!(okta.set_user_status(&person, UserStatus::Deprovisioned));
    let full = op
        .post_empty(&format!(
            "/v1/integrations/{okta_integration}/sync?full=true"
        ))
        .await?;
    assert_eq!(full.status, StatusCode::ACCEPTED, "{:?}", full.body);
    eventually(Duration::from_secs(60), || async {
        let users = list(
            &op,
            &format!("/v1/users?tenant_id={upstream}&provider=okta&limit=1000"),
        )
        .await?;
        Ok(users
            .iter()
            .any(|u| u["external_id"] == person.as_str() && u["status"] == "deprovisioned")
            .then_some(()))
    })
    .await?;
    let previous = op.get(&format!("/v1/integrations/{app}")).await?;
    let previous = previous.body["sync"]["jobs"]["provision"]["last_success_at"].clone();
    sync(&op, &app).await?;
    let job = provision_job(&op, &app, &previous).await?;
    assert_eq!(job["provisioned"]["deactivated"], 1, "{job}");
    let at_downstream = scim_users(&base, &token).await?;
    assert_eq!(at_downstream.len(), expected.len());
    let gone = at_downstream
        .iter()
        .find(|u| u["externalId"] == identity.as_str())
        .ok_or_else(|| anyhow::anyhow!("the deprovisioned person was deleted downstream"))?;
    assert_eq!(gone["active"], false, "{gone}");
    let still_active = at_downstream.iter().filter(|u| u["active"] == true).count();
    assert_eq!(still_active, expected.len() - 1);
    // Gone from Okta, they are in none of its groups downstream any more.
    let gone_id = gone["id"].as_str().unwrap_or_default();
    for group in scim_groups(&base, &token).await? {
        assert!(!member_ids(&group).iter().any(|m| m == gone_id), "{group}");
    }
    Ok(())
}
