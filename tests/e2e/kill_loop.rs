//! SIGKILL loop on the embedded (sled) store with everything running at once: concurrent Okta
//! event-hook senders, scheduled Okta and Entra pulls whose directories and logs grow during the
//! run, and an automatic policy that suspends an account on a brute force pushed mid-run. The
//! daemon is killed at seeded random moments (`GATEHOUSE_KILL_SEED` replays a run) and
//! restarted on the same data dir each time. Afterwards every acknowledged event is stored
//! exactly once, every pulled user and sign-in is there once (no cursor skipped anything), each
//! action reached the simulator once per recorded attempt, and every restart was ready within 5 s.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gatehouse_testkit::idp_sim::entra::{self, EntraConfig, EntraSim};
use gatehouse_testkit::idp_sim::okta::{self, Fault, OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{
    all_pages, create_tenant, eventually, okta_person, ready_within, stored_event_ids, Seeded,
};

const TENANT: &str = "ten_kill_loop";
const SEED_VAR: &str = "GATEHOUSE_KILL_SEED";
/// At least 20 kills, as issue 23 asks; a few more in case one lands twice in one state.
const KILLS: usize = 22;
/// The kill before which the brute force is pushed.
const ATTACK_AT: usize = 7;
const SENDERS: usize = 4;
/// Readiness promised after a restart.
const READY_LIMIT: Duration = Duration::from_secs(5);
/// Schedules that keep pulls running through the whole loop (the scheduler has seconds).
const EVERY_2S: &str = "*/2 * * * * *";
const EVERY_3S: &str = "*/3 * * * * *";
/// Midnight, 1 January: the full pulls stay out of the way.
const NEVER: &str = "0 0 0 1 1 *";

/// The running daemon's base URL, `None` while it is down: the senders read it for every try,
/// as a provider retries the one URL whatever answers it.
type Current = Arc<RwLock<Option<String>>>;

fn current_url(current: &Current) -> Option<String> {
    current.read().ok().and_then(|url| url.clone())
}

fn set_current(current: &Current, url: Option<String>) {
    if let Ok(mut slot) = current.write() {
        *slot = url;
    }
}

/// What the senders saw: the event ids acknowledged with 200, and every other answer.
#[derive(Default, Debug)]
struct Tally {
    acknowledged: Vec<String>,
    /// Status code → how many answers had it (200 included).
    answers: BTreeMap<u16, usize>,
    /// Tries that found no daemon (refused, reset or timed out).
    unanswered: usize,
}

/// Posts one event-hook delivery until it is acknowledged, as Okta would retry it (the same
/// payload each time), through kills and restarts; fails after `until`.
async fn deliver(
    http: &reqwest::Client,
    current: &Current,
    path: &str,
    payload: &Value,
    until: Instant,
    tally: &Mutex<Tally>,
) -> anyhow::Result<()> {
    loop {
        anyhow::ensure!(
            Instant::now() < until,
            "a delivery was never acknowledged: {tally:?}"
        );
        let Some(base) = current_url(current) else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        match http
            .post(format!("{base}{path}"))
            .json(payload)
            .send()
            .await
        {
            Ok(reply) => {
                let status = reply.status();
                if let Ok(mut tally) = tally.lock() {
                    *tally.answers.entry(status.as_u16()).or_insert(0) += 1;
                }
                if status == StatusCode::OK {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => {
                if let Ok(mut tally) = tally.lock() {
                    tally.unanswered += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One sender: deliveries of 5 sign-ins of active users, one after another, each retried until
/// acknowledged, until `stop`.
#[allow(clippy::too_many_arguments)]
async fn sender(
    n: usize,
    sim: OktaSim,
    users: Vec<String>,
    current: Current,
    path: String,
    stop: Arc<AtomicBool>,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut round = 0usize;
    while !stop.load(Ordering::Acquire) {
        let user = &users[(n + round * SENDERS) % users.len()];
        let events: Vec<Value> = (0..5)
            .filter_map(|_| sim.make_event(user, "user.session.start", "SUCCESS", None))
            .collect();
        anyhow::ensure!(events.len() == 5, "the simulator made no event");
        let ids: Vec<String> = events
            .iter()
            .filter_map(|e| e["uuid"].as_str().map(str::to_owned))
            .collect();
        let payload = sim.event_hook_payload(events);
        deliver(&http, &current, &path, &payload, until, &tally).await?;
        if let Ok(mut tally) = tally.lock() {
            tally.acknowledged.extend(ids);
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(150 + 50 * n as u64)).await;
    }
    Ok(())
}

/// What the feeder added to the providers while the daemon was being killed: only pulls bring
/// these in.
#[derive(Default)]
struct Fed {
    okta_users: Vec<String>,
    entra_users: Vec<String>,
    /// Okta System Log sign-ins that were never pushed.
    okta_logged: Vec<String>,
    entra_signins: Vec<String>,
}

/// Grows both directories and both logs every 600 ms until `stop`.
fn spawn_feeder(
    okta: OktaSim,
    entra: EntraSim,
    stop: Arc<AtomicBool>,
    fed: Arc<Mutex<Fed>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let active = okta.users_with_status(UserStatus::Active);
        let mut n = 0usize;
        while !stop.load(Ordering::Acquire) {
            let okta_user = okta.add_user(okta::NewUser {
                login: format!("kill.loop.{n}@example.com"),
                first_name: "Kill".into(),
                last_name: format!("Loop{n}"),
                ..okta::NewUser::default()
            });
            let entra_user = entra.add_user(entra::NewUser {
                given_name: "Kill".into(),
                surname: format!("Loop{n}"),
                ..entra::NewUser::default()
            });
            let logged: Vec<Value> = active
                .get(n % active.len().max(1))
                .and_then(|u| okta.make_event(u, "user.session.start", "SUCCESS", None))
                .into_iter()
                .collect();
            let logged_ids: Vec<String> = logged
                .iter()
                .filter_map(|e| e["uuid"].as_str().map(str::to_owned))
                .collect();
            okta.append_events(logged);
            let signins = entra.add_signins(2, chrono::Duration::seconds(5));
            if let Ok(mut fed) = fed.lock() {
                fed.okta_users.push(okta_user);
                fed.entra_users.push(entra_user);
                fed.okta_logged.extend(logged_ids);
                fed.entra_signins.extend(signins);
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
    })
}

/// The wall clock, to set a slow restart beside the timestamps of the daemon's log.
#[allow(clippy::disallowed_methods)] // The daemon's log is stamped with the wall clock too.
fn wall_clock() -> String {
    chrono::Utc::now().to_rfc3339()
}

async fn start_daemon(data_dir: &std::path::Path) -> anyhow::Result<Gatehouse> {
    Gatehouse::builder()
        .allow_custom_endpoints()
        .data_dir(data_dir)
        .start()
        .await
}

async fn create_integration(op: &Api, body: Value) -> anyhow::Result<Value> {
    let created = op.post("/v1/integrations", &body).await?;
    anyhow::ensure!(created.status == StatusCode::CREATED, "{:?}", created.body);
    Ok(created.body)
}

/// The provider ids of the tenant's accounts of `provider`.
async fn inventory(op: &Api, provider: &str) -> anyhow::Result<HashSet<String>> {
    let users = all_pages(
        op,
        &format!("/v1/users?tenant_id={TENANT}&provider={provider}&limit=1000"),
    )
    .await?;
    Ok(users
        .iter()
        .filter_map(|u| u["external_id"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn sigkill_loop_with_pushes_pulls_and_actions_loses_nothing() -> anyhow::Result<()> {
    let test_started = Instant::now();
    let mut rng = Seeded::from_env(SEED_VAR);
    let okta = OktaSim::new(OktaConfig {
        users: 30,
        events: 40,
        rate_limit_per_minute: 1_000_000,
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let entra = EntraSim::new(EntraConfig {
        users: 20,
        groups: 2,
        signins: 20,
        signin_lag: Duration::ZERO,
        notification_interval: None,
        rate_limit_per_minute: 1_000_000,
        audit_logs_per_minute: 1_000_000,
        ..EntraConfig::default()
    });
    let entra_running = entra.spawn("127.0.0.1:0".parse()?)?;

    let data = tempfile::tempdir()?;
    let data_dir = data.path().join("data");
    let mut daemon = start_daemon(&data_dir).await?;
    let op = daemon.operator()?;
    create_tenant(&op, TENANT).await?;
    let okta_integration = create_integration(
        &op,
        json!({"type": "okta", "tenant_id": TENANT,
            "credentials": {"domain": okta_running.base_url(), "api_token": okta.config().api_token},
            "config": {"enable_response_actions": true, "ingest_system_log": true,
                "system_log_lookback_hours": 100, "users_schedule": EVERY_3S,
                "signins_schedule": EVERY_2S, "full_sync_schedule": NEVER}}),
    )
    .await?;
    let entra_base = entra_running.base_url();
    create_integration(
        &op,
        json!({"type": "entra", "tenant_id": TENANT,
            "credentials": {"tenant_id": entra.config().directory_id,
                "client_id": entra.config().client_id,
                "client_secret": entra.config().client_secret,
                "client_state": "kill-loop-client-state"},
            "config": {"login_base_url": entra_base, "graph_base_url": entra_base,
                "signin_lookback_hours": 24, "users_schedule": EVERY_3S,
                "signins_schedule": EVERY_2S, "full_sync_schedule": NEVER}}),
    )
    .await?;
    // brute_force alone: a policy's actions run once per detection, and one detection keeps
    // the count of calls at the simulator exact.
    let policy = op
        .post(
            "/v1/policies",
            &json!({"tenant_id": TENANT, "name": "contain brute force",
            "when": {"kinds": ["brute_force"], "min_severity": "medium", "providers": ["okta"]},
            "then": ["revoke_sessions", "disable_account"], "mode": "auto", "scope": "account"}),
        )
        .await?;
    anyhow::ensure!(policy.status == StatusCode::CREATED, "{:?}", policy.body);
    let ingest_path = okta_integration["ingest"]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The brute force needs its account in the inventory to be matched and acted on.
    let okta_initial = okta.user_count();
    eventually(Duration::from_secs(30), || async {
        Ok((inventory(&op, "okta").await?.len() >= okta_initial).then_some(()))
    })
    .await?;
    let (target, _) = okta_person(&okta, "login")?;
    let active: Vec<String> = okta
        .users_with_status(UserStatus::Active)
        .into_iter()
        .filter(|u| *u != target && *u != okta.admin_id())
        .collect();
    okta.clear_mutations();

    let current: Current = Arc::new(RwLock::new(Some(daemon.base_url.clone())));
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Every delivery is acknowledged well before this, or the test fails.
    let until = test_started + Duration::from_secs(110);
    let mut senders = tokio::task::JoinSet::new();
    for n in 0..SENDERS {
        senders.spawn(sender(
            n,
            okta.clone(),
            active.clone(),
            Arc::clone(&current),
            ingest_path.clone(),
            Arc::clone(&stop),
            until,
            Arc::clone(&tally),
        ));
    }
    let fed = Arc::new(Mutex::new(Fed::default()));
    let feeder = spawn_feeder(
        okta.clone(),
        entra.clone(),
        Arc::clone(&stop),
        Arc::clone(&fed),
    );

    let mut ready_times = Vec::new();
    let mut attack_ids = Vec::new();
    let attack_tally = Mutex::new(Tally::default());
    for kill in 0..KILLS {
        if kill == ATTACK_AT {
            // 12 bad passwords for the target, in the System Log (where the disable's
            // confirmation looks) and pushed as Okta would.
            let failures: Vec<Value> = (0..12)
                .filter_map(|_| {
                    okta.make_event(
                        &target,
                        "user.session.start",
                        "FAILURE",
                        Some("INVALID_CREDENTIALS"),
                    )
                })
                .collect();
            anyhow::ensure!(failures.len() == 12);
            attack_ids = failures
                .iter()
                .filter_map(|e| e["uuid"].as_str().map(str::to_owned))
                .collect();
            okta.append_events(failures.clone());
            // Okta answers the actions' calls slowly, so the next kills are likely to land
            // while an action is running at the provider: the attempt cut short runs again.
            okta.inject_on(
                &format!("/api/v1/users/{target}/"),
                Fault::Delay {
                    delay: Duration::from_millis(1500),
                    count: 3,
                },
            );
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?;
            let payload = okta.event_hook_payload(failures);
            deliver(
                &http,
                &current,
                &ingest_path,
                &payload,
                until,
                &attack_tally,
            )
            .await?;
            // The risk queue is in memory (docs/DURABILITY.md, "What is not covered"): a kill
            // between the acknowledgement and the assessment would lose the detection itself.
            // Kills resume once it is stored; the actions then run through the kills.
            let base = current_url(&current).unwrap_or_default();
            let api = Api::new(&base, daemon.operator_key.clone());
            eventually(Duration::from_secs(20), || async {
                let found = all_pages(
                    &api,
                    &format!("/v1/detections?tenant_id={TENANT}&limit=100"),
                )
                .await?;
                Ok(found
                    .iter()
                    .any(|d| d["kind"] == "brute_force")
                    .then_some(()))
            })
            .await?;
        }
        tokio::time::sleep(Duration::from_millis(rng.between(0, 2500))).await;
        daemon.kill().await?;
        set_current(&current, None);
        let restarted = Instant::now();
        let restarted_at = wall_clock();
        daemon = start_daemon(&data_dir).await?;
        // The senders find it as soon as it listens, before it is ready: a provider does not
        // wait for readiness either.
        set_current(&current, Some(daemon.base_url.clone()));
        let ready = ready_within(&daemon.base_url, Duration::from_secs(30)).await?;
        let to_ready = restarted.elapsed();
        ready_times.push(to_ready);
        if to_ready > READY_LIMIT {
            // Its log is gone with it at the next kill: show why it was slow now.
            eprintln!(
                "kill {kill}: slow restart ({to_ready:?}, from {restarted_at}); its log:\n{}",
                daemon.logs()
            );
        }
        eprintln!("kill {kill}: restarted, ready in {to_ready:?} (readyz polled for {ready:?})");
    }
    stop.store(true, Ordering::Release);
    // The senders finish the delivery in hand (retried until acknowledged) and stop.
    while let Some(sent) = senders.join_next().await {
        sent??;
    }
    feeder.await?;
    let loop_done = test_started.elapsed();

    let op = daemon.operator()?;
    let tally = match Arc::try_unwrap(tally) {
        Ok(tally) => tally.into_inner().unwrap_or_default(),
        Err(_) => anyhow::bail!("a sender still holds the tally"),
    };
    let fed = match Arc::try_unwrap(fed) {
        Ok(fed) => fed.into_inner().unwrap_or_default(),
        Err(_) => anyhow::bail!("the feeder still holds what it fed"),
    };

    // No cursor skipped data: every user of both directories is in the inventory.
    let okta_ids: HashSet<String> = fed.okta_users.iter().cloned().collect();
    let entra_ids = entra.user_ids();
    let expected_okta = okta.user_count();
    let missing = eventually(Duration::from_secs(40), || async {
        let (have_okta, have_entra) = (
            inventory(&op, "okta").await?,
            inventory(&op, "entra").await?,
        );
        let missing: Vec<String> = okta_ids
            .iter()
            .filter(|id| !have_okta.contains(*id))
            .chain(entra_ids.iter().filter(|id| !have_entra.contains(*id)))
            .cloned()
            .collect();
        let complete = missing.is_empty()
            && have_okta.len() == expected_okta
            && have_entra.len() == entra_ids.len();
        Ok(complete.then_some(missing))
    })
    .await;
    anyhow::ensure!(
        missing.is_ok(),
        "accounts missing from the inventory after the loop: okta {}/{}, entra {}/{}",
        inventory(&op, "okta").await?.len(),
        expected_okta,
        inventory(&op, "entra").await?.len(),
        entra_ids.len()
    );

    // Every acknowledged push, every logged-only Okta sign-in and every Entra sign-in added
    // during the loop is stored, each exactly once.
    let pushed: Vec<String> = tally
        .acknowledged
        .iter()
        .chain(attack_ids.iter())
        .cloned()
        .collect();
    let pulled: Vec<String> = fed
        .okta_logged
        .iter()
        .chain(fed.entra_signins.iter())
        .cloned()
        .collect();
    let stored = eventually(Duration::from_secs(40), || async {
        let stored = stored_event_ids(&op, TENANT).await?;
        let all_there = pushed
            .iter()
            .chain(pulled.iter())
            .all(|id| stored.contains_key(id));
        Ok(all_there.then_some(stored))
    })
    .await;
    let stored = match stored {
        Ok(stored) => stored,
        Err(_) => {
            let stored = stored_event_ids(&op, TENANT).await?;
            let lost: Vec<&String> = pushed
                .iter()
                .filter(|id| !stored.contains_key(*id))
                .collect();
            let unpulled: Vec<&String> = pulled
                .iter()
                .filter(|id| !stored.contains_key(*id))
                .collect();
            anyhow::bail!(
                "{} of {} acknowledged events lost: {lost:?}; {} of {} pulled-only sign-ins missing: {unpulled:?}",
                lost.len(),
                pushed.len(),
                unpulled.len(),
                pulled.len()
            );
        }
    };
    let twice: Vec<(&String, &usize)> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events stored more than once: {twice:?}");

    // The automatic policy's actions: all ended, the target suspended at Okta, and each action
    // reached Okta once per attempt it durably recorded (an attempt cut by a kill runs again
    // at start: Okta's calls are idempotent, and the second attempt shows in the history).
    let actions = eventually(Duration::from_secs(40), || async {
        let actions = all_pages(&op, &format!("/v1/actions?tenant_id={TENANT}&limit=100")).await?;
        let done = actions.len() >= 2
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
    .await?;
    assert_eq!(
        okta.user_status(&target).as_deref(),
        Some("SUSPENDED"),
        "{actions:?}"
    );
    let mut reruns = 0;
    for (kind, method, suffix) in [
        ("disable_account", "POST", "/lifecycle/suspend"),
        ("revoke_sessions", "DELETE", "/sessions"),
    ] {
        let of_kind: Vec<&Value> = actions.iter().filter(|a| a["action"] == kind).collect();
        let succeeded = of_kind
            .iter()
            .filter(|a| a["status"] == "succeeded")
            .count();
        let attempts: u64 = of_kind
            .iter()
            .map(|a| a["attempts"].as_u64().unwrap_or(0))
            .sum();
        let calls = okta
            .mutations()
            .iter()
            .filter(|c| c.method == method && c.path == format!("/api/v1/users/{target}{suffix}"))
            .count();
        assert_eq!(succeeded, 1, "one {kind} ran: {of_kind:?}");
        assert!(
            calls >= 1 && calls as u64 <= attempts,
            "{kind}: {calls} calls at Okta for {attempts} recorded attempts: {of_kind:?}"
        );
        if attempts == 1 {
            assert_eq!(calls, 1, "{kind} reached Okta exactly once");
        }
        reruns += attempts.saturating_sub(1);
    }

    let worst = ready_times.iter().max().copied().unwrap_or_default();
    let answers = &tally.answers;
    eprintln!(
        "{KILLS} kills; worst restart-to-ready {worst:?}; {} events acknowledged ({answers:?} answers, {} unanswered tries); {} pulled-only sign-ins; {} + {} users added; {reruns} action attempts re-run after a kill; loop {loop_done:?}, whole test {:?}",
        tally.acknowledged.len(),
        tally.unanswered,
        pulled.len(),
        fed.okta_users.len(),
        fed.entra_users.len(),
        test_started.elapsed()
    );
    assert!(
        ready_times.iter().all(|t| *t <= READY_LIMIT),
        "a restart took more than {READY_LIMIT:?} to be ready: {ready_times:?}"
    );
    // Only 200 and 503 (with the sender retrying) are answers a provider can act on; anything
    // else during the kills would be a delivery Okta drops.
    assert!(
        answers.keys().all(|s| *s == 200 || *s == 503),
        "unexpected answers to deliveries: {answers:?}"
    );
    assert!(
        tally.acknowledged.len() >= 200,
        "the senders got through: {tally:?}"
    );
    Ok(())
}
