//! One tenant must not stall the others: tenant A floods the push inbox (with its alert webhook
//! hanging, or with a hot key: thousands of events on one session id) while tenant B suffers a
//! brute force; B's automatic action must still be queued within a bound of B's latency on
//! a quiet daemon, measured in the same test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse_core::model::{ActionKind, PolicyMode, PolicyScope, PolicyWhen, Severity};
use gatehouse_core::records::PushRequest;
use gatehouse_core::TenantId;
use gatehouse_engine::ingest::PushResult;
use gatehouse_engine::outputs::OutputConfig;
use gatehouse_engine::policies::PolicyInput;
use gatehouse_engine::sync::SyncJob;
use gatehouse_engine::NewIntegration;
use gatehouse_store::PageRequest;
use serde_json::{json, Value};

use super::support::{harness_full, puser, Harness, Script};

/// B's latency under A's flood may be this many times its quiet latency, plus this slack (one
/// batch of A assessed before B's turn, on a shared CI machine).
const TIMES: u32 = 10;
const SLACK: Duration = Duration::from_secs(5);
/// How long the test waits for B at most (before the fix B waited for all of A's backlog).
const GIVE_UP: Duration = Duration::from_secs(90);

fn push(items: &Value) -> PushRequest {
    PushRequest {
        method: "POST".into(),
        headers: vec![],
        query: vec![],
        content_type: None,
        body: serde_json::to_vec(items).unwrap(),
    }
}

/// A tenant with the scripted integration, its account `00u1` and a policy that revokes the
/// sessions of an account under brute force.
async fn tenant(h: &Harness, id: &str) -> (TenantId, gatehouse_core::IntegrationId) {
    let gateway = &h.engine.gateway;
    gateway.create_tenant(id, Some(id)).await.unwrap();
    let tenant = TenantId::parse(id).unwrap();
    let integration = gateway
        .create_integration(NewIntegration {
            kind: "scripted".into(),
            tenant_id: tenant.clone(),
            credentials: serde_json::from_value(json!({"api_token": "t"})).unwrap(),
            config: serde_json::from_value(json!({"enable_response_actions": true})).unwrap(),
        })
        .await
        .unwrap()
        .integration;
    h.engine
        .sync
        .run(&tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    gateway
        .create_policy(
            &tenant,
            PolicyInput {
                name: "contain".into(),
                when: PolicyWhen {
                    kinds: vec!["brute_force".into()],
                    min_severity: Severity::Low,
                    providers: vec![],
                },
                then: vec![ActionKind::RevokeSessions],
                mode: PolicyMode::Auto,
                scope: PolicyScope::Account,
                enabled: true,
            },
        )
        .await
        .unwrap();
    (tenant, integration.id)
}

async fn daemon(outputs: OutputConfig, inbox: (u64, u8)) -> Harness {
    let script = Arc::new(Mutex::new(Script::default()));
    let active = gatehouse_core::model::UserStatus::Active;
    script.lock().unwrap().user_pages = vec![vec![
        puser("00u1", "ann@acme.example", active),
        puser("00u2", "bob@acme.example", active),
    ]];
    harness_full(script, outputs, Some(inbox)).await
}

/// Pushes a brute force (12 failures) for B's account `user` and returns how long until the
/// policy's action was queued.
async fn contain(
    h: &Harness,
    tenant: &TenantId,
    integration: &gatehouse_core::IntegrationId,
    user: &str,
) -> Option<Duration> {
    let burst: Vec<Value> = (0..12)
        .map(|n| json!({"id": format!("{user}-{n}"), "user": user}))
        .collect();
    let queued = |actions: &[gatehouse_core::model::Action]| {
        actions
            .iter()
            .filter(|a| a.action == ActionKind::RevokeSessions)
            .count()
    };
    let before = queued(
        &h.store
            .list_actions(tenant, &Default::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items,
    );
    // PostgreSQL has no inbox: a push is stored before its answer.
    let inbox = h.engine.ingest.inbox().map(|inbox| inbox.backlog_bytes());
    eprintln!(
        "{user}: at B's push the inbox holds {inbox:?} bytes, the risk queue {} batches",
        h.engine.detector.queued_batches()
    );
    let started = Instant::now();
    let answer = h
        .engine
        .ingest
        .push(tenant, integration, &push(&json!(burst)))
        .await
        .unwrap();
    assert!(matches!(
        answer,
        PushResult::Queued { received: 12 } | PushResult::Stored { received: 12, .. }
    ));
    while started.elapsed() < GIVE_UP {
        let actions = h
            .store
            .list_actions(tenant, &Default::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if queued(&actions) > before {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// A's flood: `deliveries` pushes of `per` events made by `item`.
async fn flood(
    h: &Harness,
    tenant: &TenantId,
    integration: &gatehouse_core::IntegrationId,
    deliveries: usize,
    per: usize,
    item: impl Fn(usize) -> Value,
) {
    for d in 0..deliveries {
        let items: Vec<Value> = (0..per).map(|n| item(d * per + n)).collect();
        h.engine
            .ingest
            .push(tenant, integration, &push(&json!(items)))
            .await
            .unwrap();
    }
}

fn assert_within(name: &str, quiet: Duration, loaded: Option<Duration>) {
    let bound = quiet * TIMES + SLACK;
    eprintln!(
        "{name}: B contained in {quiet:?} quiet, {loaded:?} under A's flood (bound {bound:?})"
    );
    let loaded = loaded.unwrap_or_else(|| panic!("{name}: B not contained within {GIVE_UP:?}"));
    assert!(loaded <= bound, "{name}: {loaded:?} > {bound:?}");
}

/// A's webhook hangs (accepts and never answers) while A floods brute forces; B's
/// containment must not wait for A's alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_with_a_dead_webhook_does_not_delay_another_tenants_containment() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and never answers: each alert attempt waits for its timeout.
    let hang = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let h = daemon(
        OutputConfig {
            webhook_url: Some(format!("http://{addr}/alerts")),
            ..OutputConfig::default()
        },
        (1 << 30, 25),
    )
    .await;
    let (a, a_integration) = tenant(&h, "ten_flood").await;
    let (b, b_integration) = tenant(&h, "ten_victim").await;
    let quiet = contain(&h, &b, &b_integration, "00u1").await.unwrap();
    // 2,000 failures for A's account, each one growing A's brute force detection, each
    // growth an alert for the hanging webhook.
    flood(&h, &a, &a_integration, 200, 10, |n| {
        json!(format!("flood-{n}"))
    })
    .await;
    let loaded = contain(&h, &b, &b_integration, "00u2").await;
    assert_within("dead webhook", quiet, loaded);
    let webhook = h.engine.outputs.report();
    assert!(
        webhook
            .iter()
            .any(|s| s.sink == "webhook" && s.delivered == 0),
        "{webhook:?}"
    );
    hang.abort();
}

/// A pushes 20,000 events on one session id (and one IP), retrying refused deliveries as a
/// provider does, and B's brute force arrives mid-flood. Before the fix every event's
/// assessment read and scanned all of the key's events so far, and B's burst waited behind
/// them all; now each assessment is bounded, A's turns alternate with B's, and A may put only
/// its share of the inbox (here 5 % of 8 MiB) ahead of B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_key_does_not_delay_another_tenants_containment() {
    let h = Arc::new(daemon(OutputConfig::default(), (8 << 20, 5)).await);
    let (a, a_integration) = tenant(&h, "ten_hot").await;
    let (b, b_integration) = tenant(&h, "ten_victim").await;
    let quiet = contain(&h, &b, &b_integration, "00u1").await.unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let flooding = {
        let (h, accepted, refused) = (Arc::clone(&h), Arc::clone(&accepted), Arc::clone(&refused));
        tokio::spawn(async move {
            for d in 0..200 {
                let items: Vec<Value> = (d * 100..(d + 1) * 100)
                    .map(|n| {
                        json!({"id": format!("hot-{n}"), "user": format!("ext-{n}"),
                                    "session": "hot-session", "ip": "203.0.113.50",
                                    "success": true})
                    })
                    .collect();
                let request = push(&json!(items));
                while h
                    .engine
                    .ingest
                    .push(&a, &a_integration, &request)
                    .await
                    .is_err()
                {
                    refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                accepted.fetch_add(100, Ordering::Relaxed);
            }
        })
    };
    // Mid-flood: A has been refused (its share is full), or half its events are in.
    while refused.load(Ordering::Relaxed) == 0 && accepted.load(Ordering::Relaxed) < 10_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let loaded = contain(&h, &b, &b_integration, "00u2").await;
    eprintln!(
        "hot key: B pushed after {:?}, {} of A's events in, A refused {} times so far",
        started.elapsed(),
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    assert_within("hot key", quiet, loaded);
    flooding.abort();
}
