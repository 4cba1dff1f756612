//! Two `gatehouse serve` processes on one PostgreSQL (a throwaway server from the machine's
//! PostgreSQL binaries) with the Okta simulator: both answer with the same data, a pull runs on
//! one of them at a time and moves to the other when its holder is killed mid-pull, an action
//! runs once whichever replica's executor sees it, and pushes spread over both while one is
//! killed lose no acknowledged event.

use std::collections::HashSet;
use std::time::Duration;

use gatehouse_testkit::idp_sim::okta::{Fault, OktaConfig, OktaSim, RunningSim, UserStatus};
use gatehouse_testkit::pgtest::TempPostgres;
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{account_with, action, eventually, okta_person, sync};

/// Every replica must seal and open credentials with the same key.
const SHARED_MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

struct Fleet {
    // Dropped last: the replicas go before their database.
    replicas: Vec<Gatehouse>,
    sim: OktaSim,
    _running: RunningSim,
    integration: String,
    ingest_path: String,
    _postgres: TempPostgres,
}

async fn replica(url: &str) -> anyhow::Result<Gatehouse> {
    Gatehouse::builder()
        .allow_custom_endpoints()
        .env("GATEHOUSE_STORE", url)
        .env("GATEHOUSE_MASTER_KEY", SHARED_MASTER_KEY)
        .start()
        .await
}

async fn fleet(tenant: &str, users: usize, config: Value) -> anyhow::Result<Fleet> {
    let postgres = TempPostgres::start()?;
    let url = postgres.uri();
    let first = replica(&url).await?;
    let second = replica(&url).await?;
    let sim = OktaSim::new(OktaConfig {
        users,
        events: 0,
        ..OktaConfig::default()
    });
    let running = sim.spawn("127.0.0.1:0".parse()?)?;
    let op = first.operator()?;
    let created = op
        .post("/v1/tenants", &json!({"name": tenant, "id": tenant}))
        .await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
    let body = json!({"type": "okta", "tenant_id": tenant,
        "credentials": {"domain": running.base_url(), "api_token": sim.config().api_token},
        "config": config});
    let integration = op.post("/v1/integrations", &body).await?;
    anyhow::ensure!(
        integration.status == StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    Ok(Fleet {
        replicas: vec![first, second],
        sim,
        _running: running,
        integration: integration.body["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ingest_path: integration.body["ingest"]["url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        _postgres: postgres,
    })
}

async fn accounts(op: &Api, tenant: &str) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => format!("/v1/users?tenant_id={tenant}&limit=1000&cursor={c}"),
            None => format!("/v1/users?tenant_id={tenant}&limit=1000"),
        };
        let reply = op.get(&page).await?;
        all.extend(reply.body["data"].as_array().cloned().unwrap_or_default());
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
}

/// Requests for the first page of users: one per pull that started from the beginning.
fn first_page_requests(sim: &OktaSim) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path == "/api/v1/users")
        .filter(|c| !c.query.as_deref().unwrap_or("").contains("after="))
        .count()
}

fn users_page_requests(sim: &OktaSim) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path == "/api/v1/users")
        .count()
}

#[tokio::test]
async fn a_pull_runs_on_one_replica_and_moves_when_its_holder_is_killed() -> anyhow::Result<()> {
    let tenant = "ten_replica_pull";
    // Factors left out: their per-user calls would take the pages' delay too.
    let mut f = fleet(
        tenant,
        1000,
        json!({"ingest_system_log": false, "enrich": ["roles"]}),
    )
    .await?;
    // Slow pages, so the pull is still running when the second replica is asked for it and when
    // its holder is killed.
    f.sim.inject_on(
        "/api/v1/users",
        Fault::Delay {
            delay: Duration::from_millis(700),
            count: 1000,
        },
    );
    let (a, b) = (f.replicas[0].operator()?, f.replicas[1].operator()?);
    sync(&a, &f.integration).await?;
    eventually(Duration::from_secs(30), || async {
        Ok((users_page_requests(&f.sim) >= 1).then_some(()))
    })
    .await?;
    // The same pull asked of the other replica waits for the first one's lease.
    sync(&b, &f.integration).await?;
    eventually(Duration::from_secs(30), || async {
        Ok((users_page_requests(&f.sim) >= 3).then_some(()))
    })
    .await?;
    assert_eq!(
        first_page_requests(&f.sim),
        1,
        "one replica pulls at a time"
    );
    f.replicas[0].kill().await?;
    let pages_before_kill = users_page_requests(&f.sim);
    assert!(
        pages_before_kill < 5,
        "the pull was cut short: {pages_before_kill} pages"
    );

    // The survivor takes the lease over once it runs out (30 s) and goes on from the stored
    // cursor: no second pull from the first page, every account once.
    let expected = f.sim.user_count();
    let users = eventually(Duration::from_secs(120), || async {
        let users = accounts(&b, tenant).await?;
        Ok((users.len() >= expected).then_some(users))
    })
    .await?;
    assert_eq!(users.len(), expected);
    let distinct: HashSet<&str> = users
        .iter()
        .filter_map(|u| u["external_id"].as_str())
        .collect();
    assert_eq!(distinct.len(), expected, "no account stored twice");
    assert_eq!(
        first_page_requests(&f.sim),
        1,
        "the survivor resumed from the stored cursor"
    );
    Ok(())
}

#[tokio::test]
async fn replicas_share_data_run_an_action_once_and_keep_every_acknowledged_push(
) -> anyhow::Result<()> {
    let tenant = "ten_replica_push";
    let mut f = fleet(
        tenant,
        30,
        json!({"enable_response_actions": true, "ingest_system_log": false}),
    )
    .await?;
    let (a, b) = (f.replicas[0].operator()?, f.replicas[1].operator()?);
    sync(&a, &f.integration).await?;
    let expected = f.sim.user_count();
    let users = eventually(Duration::from_secs(60), || async {
        let users = accounts(&b, tenant).await?;
        Ok((users.len() == expected).then_some(users))
    })
    .await?;
    // Both replicas answer with the same data.
    let from_a = accounts(&a, tenant).await?;
    let ids = |list: &[Value]| -> Vec<String> {
        let mut ids: Vec<String> = list
            .iter()
            .filter_map(|u| u["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&from_a), ids(&users));

    // An action queued through one replica runs once, though both executors poll for it.
    let (target, _) = okta_person(&f.sim, "login")?;
    let user_id = account_with(&users, &target)?;
    f.sim.clear_mutations();
    let done = action(&b, tenant, &user_id, "disable_account").await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let suspends = f
        .sim
        .mutations()
        .iter()
        .filter(|c| c.path.ends_with("/lifecycle/suspend"))
        .count();
    assert_eq!(suspends, 1, "{:?}", f.sim.mutations());

    // Pushes spread over both replicas; one is killed while they arrive.
    let person = f.sim.users_with_status(UserStatus::Active).remove(0);
    let urls: Vec<String> = f
        .replicas
        .iter()
        .map(|r| format!("{}{}", r.base_url, f.ingest_path))
        .collect();
    let mut deliveries = tokio::task::JoinSet::new();
    for n in 0..40 {
        let events: Vec<Value> = (0..25)
            .filter_map(|_| {
                f.sim
                    .make_event(&person, "user.session.start", "SUCCESS", None)
            })
            .collect();
        let ids: Vec<String> = events
            .iter()
            .filter_map(|e| e["uuid"].as_str().map(str::to_owned))
            .collect();
        let (sim, url) = (f.sim.clone(), urls[n % 2].clone());
        deliveries.spawn(async move {
            tokio::time::sleep(Duration::from_millis(15 * n as u64)).await;
            (sim.deliver_event_hook(&url, "", events).await, ids)
        });
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    f.replicas[1].kill().await?;
    let mut acknowledged = Vec::new();
    while let Some(delivery) = deliveries.join_next().await {
        let (outcome, ids) = delivery?;
        if outcome.delivered {
            acknowledged.extend(ids);
        }
    }
    // The survivor's half is 500 events; Okta gives a hook 3 s to answer, so on a loaded
    // machine a few of them may time out unacknowledged (and be redelivered by Okta).
    assert!(
        acknowledged.len() >= 250,
        "the surviving replica acknowledged most of its half: {}",
        acknowledged.len()
    );
    let stored = a
        .get(&format!("/v1/signins?tenant_id={tenant}&limit=1000"))
        .await?;
    let stored: Vec<String> = stored.body["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["provider_event_id"].as_str().map(str::to_owned))
        .collect();
    let distinct: HashSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), stored.len(), "no event stored twice");
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !distinct.contains(id))
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    Ok(())
}

/// Detection state lives in the store: a brute force whose failures land on both replicas is
/// one detection of its account, as on one replica.
#[tokio::test]
async fn a_brute_force_spread_over_both_replicas_is_one_detection() -> anyhow::Result<()> {
    let tenant = "ten_replica_detect";
    let f = fleet(tenant, 10, json!({"ingest_system_log": false})).await?;
    let (a, b) = (f.replicas[0].operator()?, f.replicas[1].operator()?);
    sync(&a, &f.integration).await?;
    let expected = f.sim.user_count();
    eventually(Duration::from_secs(60), || async {
        Ok((accounts(&b, tenant).await?.len() == expected).then_some(()))
    })
    .await?;
    let (victim, _) = okta_person(&f.sim, "login")?;
    let urls: Vec<String> = f
        .replicas
        .iter()
        .map(|r| format!("{}{}", r.base_url, f.ingest_path))
        .collect();
    // All at once: both replicas' detectors assess failures of one account side by side.
    let mut deliveries = tokio::task::JoinSet::new();
    for n in 0..24 {
        let event = f
            .sim
            .make_event(
                &victim,
                "user.session.start",
                "FAILURE",
                Some("INVALID_CREDENTIALS"),
            )
            .ok_or_else(|| anyhow::anyhow!("no event"))?;
        let (sim, url) = (f.sim.clone(), urls[n % 2].clone());
        deliveries.spawn(async move { sim.deliver_event_hook(&url, "", vec![event]).await });
    }
    while let Some(delivery) = deliveries.join_next().await {
        let delivery = delivery?;
        anyhow::ensure!(delivery.delivered, "{delivery:?}");
    }
    let brute_forces = |list: &[Value]| {
        list.iter()
            .filter(|d| d["kind"] == "brute_force")
            .cloned()
            .collect::<Vec<_>>()
    };
    let found = eventually(Duration::from_secs(60), || async {
        let reply = a
            .get(&format!("/v1/detections?tenant_id={tenant}&limit=100"))
            .await?;
        let list = reply.body["data"].as_array().cloned().unwrap_or_default();
        Ok((!brute_forces(&list).is_empty()).then_some(list))
    })
    .await?;
    // Both replicas' detectors have assessed everything by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reply = b
        .get(&format!("/v1/detections?tenant_id={tenant}&limit=100"))
        .await?;
    let list = reply.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        brute_forces(&list).len(),
        1,
        "one brute force, whichever replica assessed its failures: {list:?} (first seen {found:?})"
    );
    Ok(())
}
