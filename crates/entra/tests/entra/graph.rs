//! The connector against the loopback Graph fake: delta pulls at scale, incremental rounds,
//! deletions, expired delta tokens, tokens refused mid-pull, dead credentials, 429s, actions,
//! subscription upkeep, and sign-ins through the engine stored exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::{
    Connector, ConnectorContext, ConnectorError, ConnectorRegistry, Credentials,
};
use gatehouse_core::records::{ActionTarget, Page, ProviderUser, PullMode};
use gatehouse_core::{IntegrationId, SystemClock, TenantId};
use gatehouse_entra::{EntraConnector, SubscriptionState};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

use crate::fake::{self, Fake, CLIENT_ID, MFA_GROUP, SECRET, TENANT};

fn now() -> chrono::DateTime<Utc> {
    gatehouse_core::Clock::now(&SystemClock)
}

fn credentials(secret: &str) -> Map<String, Value> {
    serde_json::from_value(
        json!({"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": secret}),
    )
    .unwrap()
}

fn config(fake: &Fake, extra: Value) -> Map<String, Value> {
    let mut config: Map<String, Value> = serde_json::from_value(json!({
        "graph_base_url": fake.base, "login_base_url": fake.base,
        "mfa_group_id": MFA_GROUP, "enable_response_actions": true,
    }))
    .unwrap();
    if let Value::Object(extra) = extra {
        config.extend(extra);
    }
    config
}

fn connector_with(
    fake: &Fake,
    secret: &str,
    extra: Value,
    push_url: Option<&str>,
) -> EntraConnector {
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_entra").unwrap(),
        integration_id: IntegrationId::generate(now()),
        credentials: Credentials::from_object(credentials(secret)),
        config: config(fake, extra),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: push_url.map(|u| SecretString::from(u.to_owned())),
    };
    let policy = RetryPolicy {
        max_attempts: 3,
        backoff: Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(20),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(5),
    };
    EntraConnector::from_context(context, policy).unwrap()
}

fn connector(fake: &Fake) -> EntraConnector {
    connector_with(fake, SECRET, Value::Null, None)
}

/// Every page of a pass: the users, the page count, and the sync state of the last page.
async fn pass(
    c: &EntraConnector,
    mode: PullMode,
) -> Result<(Vec<ProviderUser>, usize, Option<String>), ConnectorError> {
    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page: Page<ProviderUser> = c.users_page(mode.clone(), cursor.as_deref()).await?;
        pages += 1;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(
                    page.sync_state.is_none(),
                    "only the last page carries the state"
                );
                cursor = Some(next);
            }
            None => return Ok((users, pages, page.sync_state)),
        }
    }
}

fn id(i: usize) -> String {
    fake::user(i)["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn five_thousand_users_then_changes_and_deletions_by_delta() {
    let fake = Fake::start(5_000).await;
    let c = connector(&fake);
    let (users, pages, state) = pass(&c, PullMode::Full).await.unwrap();
    assert_eq!(pages, 6, "pages of 999");
    let ids: std::collections::BTreeSet<_> = users.iter().map(|u| u.external_id.clone()).collect();
    assert_eq!((users.len(), ids.len()), (5_000, 5_000));
    let state = state.expect("the last page carries the deltaLink");
    assert!(state.contains("$deltatoken="), "{state}");
    let first = &fake.calls_matching("/users/delta")[0];
    assert_eq!(first, "GET /v1.0/users/delta");

    fake.change(&id(7), |u| u["accountEnabled"] = json!(false));
    fake.delete(&id(8), "changed");
    fake.delete(&id(9), "deleted");
    let since = now();
    let (changed, pages, next_state) = pass(
        &c,
        PullMode::Changed {
            since,
            sync_state: Some(state.clone()),
        },
    )
    .await
    .unwrap();
    assert_eq!(pages, 1);
    let by_id = |i: usize| changed.iter().find(|u| u.external_id == id(i)).unwrap();
    assert_eq!(changed.len(), 3, "{changed:?}");
    assert_eq!(by_id(7).status, UserStatus::Suspended);
    assert_eq!(
        (by_id(8).status, by_id(8).status_flags.clone()),
        (
            UserStatus::Deprovisioned,
            vec!["soft_deleted".into(), "tombstone".into()]
        )
    );
    assert_eq!(
        by_id(9).status_flags,
        vec!["deleted".to_owned(), "tombstone".to_owned()]
    );
    let next_state = next_state.unwrap();
    assert_ne!(next_state, state);

    // Nothing changed since: an empty round, a new state.
    let (none, _, _) = pass(
        &c,
        PullMode::Changed {
            since,
            sync_state: Some(next_state.clone()),
        },
    )
    .await
    .unwrap();
    assert!(none.is_empty());

    // Graph forgets the token: a full pull is the answer.
    fake.with(|g| g.oldest_valid_delta = u64::MAX);
    let err = pass(
        &c,
        PullMode::Changed {
            since,
            sync_state: Some(next_state),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::SyncStateExpired(_)), "{err}");
    // Without a state an incremental pull starts a new round.
    let (all, _, _) = pass(
        &c,
        PullMode::Changed {
            since,
            sync_state: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 4_998);
}

#[tokio::test]
async fn a_forged_cursor_is_not_followed() {
    let fake = Fake::start(3).await;
    let c = connector(&fake);
    for forged in [
        "https://evil.example/v1.0/users/delta?$skiptoken=x",
        &format!("{}/v1.0/groups?$skiptoken=x", fake.base),
    ] {
        let err = c
            .users_page(PullMode::Full, Some(forged))
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Protocol(_)), "{err}");
    }
    let state = format!("{}/v1.0/me?$deltatoken=1", fake.base);
    assert!(c
        .users_page(
            PullMode::Changed {
                since: now(),
                sync_state: Some(state)
            },
            None
        )
        .await
        .is_err());
}

#[tokio::test]
async fn a_token_refused_mid_pull_is_renewed_once_and_the_pull_goes_on() {
    let fake = Fake::start(2_500).await;
    let c = connector(&fake);
    let first = c.users_page(PullMode::Full, None).await.unwrap();
    assert_eq!(fake.with(|g| g.token_requests), 1);
    // The token expires at Graph before its expires_in said (or was revoked).
    fake.with(|g| g.tokens.clear());
    let mut cursor = first.next_cursor;
    let mut count = first.items.len();
    while let Some(next) = cursor {
        let page = c.users_page(PullMode::Full, Some(&next)).await.unwrap();
        count += page.items.len();
        cursor = page.next_cursor;
    }
    assert_eq!(count, 2_500);
    assert_eq!(
        fake.with(|g| g.token_requests),
        2,
        "one new token, then cached"
    );
}

#[tokio::test]
async fn a_dead_secret_is_unauthorized_with_the_aadsts_code_and_no_retry_loop() {
    let fake = Fake::start(3).await;
    let wrong = "wrong~secret~value~42";
    let c = connector_with(&fake, wrong, Value::Null, None);
    let err = c.users_page(PullMode::Full, None).await.unwrap_err();
    let ConnectorError::Unauthorized(message) = &err else {
        panic!("{err}")
    };
    assert!(message.contains("AADSTS7000215"), "{message}");
    assert!(!message.contains(wrong) && !message.contains(SECRET));
    assert_eq!(fake.with(|g| g.calls.len()), 1);
    // A revoked credential: the cached token is refused, the new token request fails.
    let c = connector(&fake);
    c.users_page(PullMode::Full, None).await.unwrap();
    fake.with(|g| {
        g.tokens.clear();
        g.secret_ok = false;
        g.calls.clear();
    });
    let err = c.users_page(PullMode::Full, None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err}");
    assert!(fake.with(|g| g.calls.len()) <= 3);
}

#[tokio::test]
async fn throttling_is_waited_out_as_retry_after_says() {
    let fake = Fake::start(10).await;
    let c = connector(&fake);
    c.check().await.unwrap();
    fake.with(|g| g.faults.push_back(("/users/delta".into(), 429, Some(1))));
    let started = Instant::now();
    let page = c.users_page(PullMode::Full, None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(page.items.len(), 10);
    fake.with(|g| {
        g.faults
            .extend((0..5).map(|_| ("/users/delta".to_owned(), 429, Some(0))))
    });
    let err = c.users_page(PullMode::Full, None).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn every_action_reaches_graph_and_repeats_are_no_ops() {
    let fake = Fake::start(3).await;
    let c = connector(&fake);
    let target = ActionTarget {
        external_id: id(1),
        login: "user1@contoso.com".into(),
    };
    let disabled = c.act(ActionKind::DisableAccount, &target).await.unwrap();
    assert!(disabled.changed);
    assert_eq!(disabled.account.unwrap().status, UserStatus::Suspended);
    assert!(
        !c.act(ActionKind::DisableAccount, &target)
            .await
            .unwrap()
            .changed
    );
    assert_eq!(fake.calls_matching("PATCH /v1.0/users/").len(), 1);
    assert!(
        c.act(ActionKind::EnableAccount, &target)
            .await
            .unwrap()
            .changed
    );
    assert!(
        !c.act(ActionKind::EnableAccount, &target)
            .await
            .unwrap()
            .changed
    );
    assert!(
        c.act(ActionKind::RevokeSessions, &target)
            .await
            .unwrap()
            .changed
    );
    assert_eq!(fake.calls_matching("revokeSignInSessions").len(), 1);
    assert!(
        c.act(ActionKind::EnforceMfa, &target)
            .await
            .unwrap()
            .changed
    );
    let again = c.act(ActionKind::EnforceMfa, &target).await.unwrap();
    assert!(!again.changed, "{again:?}");
    assert!(fake.with(|g| g.group_members.contains(&id(1))));
    let missing = ActionTarget {
        external_id: "nope".into(),
        login: String::new(),
    };
    assert!(matches!(
        c.act(ActionKind::DisableAccount, &missing).await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_users_subscription_is_created_renewed_and_recreated() {
    let fake = Fake::start(1).await;
    let none = connector(&fake);
    assert_eq!(
        none.maintain(None).await.unwrap(),
        None,
        "no push URL: nothing to do"
    );
    let url =
        "https://gatehouse.example.com/v1/idp/entra?tenant_id=ten_entra&token=ingest-token-xyz";
    let c = connector_with(&fake, SECRET, Value::Null, Some(url));
    let state = c.maintain(None).await.unwrap().unwrap();
    assert!(
        !state.contains("ingest-token-xyz"),
        "the state keeps a fingerprint, not the URL"
    );
    let sub = fake
        .with(|g| g.subscriptions.values().next().cloned())
        .unwrap();
    assert_eq!(sub["resource"], "users");
    assert_eq!(sub["changeType"], "updated,deleted");
    assert_eq!(sub["notificationUrl"], url);
    assert!(sub["clientState"]
        .as_str()
        .is_some_and(|s| !s.is_empty() && s.len() <= 128));
    let expiry =
        chrono::DateTime::parse_from_rfc3339(sub["expirationDateTime"].as_str().unwrap()).unwrap();
    let minutes = (expiry.with_timezone(&Utc) - now()).num_minutes();
    assert!((40_000..=41_760).contains(&minutes), "{minutes}");
    // Fresh: no call.
    let calls = fake.with(|g| g.calls.len());
    assert_eq!(
        c.maintain(Some(&state)).await.unwrap().as_deref(),
        Some(state.as_str())
    );
    assert_eq!(fake.with(|g| g.calls.len()), calls);
    // Close to expiry: renewed in place.
    let mut soon = SubscriptionState::parse(&state).unwrap();
    soon.expires_at = now() + chrono::Duration::hours(1);
    let renewed = c.maintain(Some(&soon.to_text())).await.unwrap().unwrap();
    assert_eq!(
        fake.calls_matching("PATCH /v1.0/subscriptions/sub-1").len(),
        1
    );
    assert_eq!(SubscriptionState::parse(&renewed).unwrap().id, "sub-1");
    // Gone at Graph: created again.
    fake.with(|g| g.subscriptions.clear());
    let recreated = c.maintain(Some(&soon.to_text())).await.unwrap().unwrap();
    assert_eq!(SubscriptionState::parse(&recreated).unwrap().id, "sub-1");
    assert_eq!(fake.calls_matching("POST /v1.0/subscriptions").len(), 2);
    // A new push URL (a rotated ingest token): the old one is deleted, a new one made.
    let rotated = connector_with(
        &fake,
        SECRET,
        Value::Null,
        Some("https://gatehouse.example.com/v1/idp/entra?tenant_id=ten_entra&token=new"),
    );
    let moved = rotated.maintain(Some(&recreated)).await.unwrap().unwrap();
    assert_ne!(
        SubscriptionState::parse(&moved).unwrap().url_sha256,
        SubscriptionState::parse(&recreated).unwrap().url_sha256
    );
    assert_eq!(fake.calls_matching("DELETE /v1.0/subscriptions").len(), 1);
}

/// Sign-ins of the engine test: 20,000 (about 20 s in a debug build on two cores), spread over
/// an organisation's users and addresses; `ENTRA_SIGNINS` sets another count. (All of them on
/// one account makes every detection batch re-read that account's whole day: see the hot-key
/// note in docs/PERFORMANCE.md.)
fn signin_count() -> usize {
    std::env::var("ENTRA_SIGNINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

#[tokio::test]
async fn sign_ins_with_late_arrivals_are_stored_exactly_once() {
    use gatehouse_engine::sync::SyncJob;
    use gatehouse_engine::NewIntegration;
    use gatehouse_store::{PageRequest, SignInFilter};

    let fake = Fake::start(2).await;
    let start = now();
    fake.with(|g| {
        g.signins = fake::signins(
            "a",
            signin_count(),
            start - chrono::Duration::minutes(1),
            chrono::Duration::hours(20),
        )
    });
    let daemon = gatehouse_testkit::InProcess::start(|options| {
        let mut registry = ConnectorRegistry::new();
        registry.register(gatehouse_entra::Factory);
        options.registry = Some(registry);
        options.allow_custom_endpoints = true;
    })
    .await
    .unwrap();
    let gateway = &daemon.app.gateway;
    let tenant = gateway
        .create_tenant("Entra", Some("ten_entra"))
        .await
        .unwrap()
        .id;
    let integration = gateway
        .create_integration(NewIntegration {
            kind: "entra".into(),
            tenant_id: tenant.clone(),
            credentials: credentials(SECRET),
            config: config(&fake, json!({"enable_response_actions": false})),
        })
        .await
        .unwrap()
        .integration;
    let sync = &daemon.app.engine.sync;
    sync.run(&tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();
    // Late arrivals: recorded after the pull, with times minutes before it.
    fake.with(|g| {
        g.signins.extend(fake::signins(
            "late",
            300,
            now() - chrono::Duration::minutes(4),
            chrono::Duration::minutes(5),
        ));
        g.signins.extend(fake::signins(
            "new",
            200,
            now(),
            chrono::Duration::seconds(30),
        ));
    });
    sync.run(&tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();
    sync.run(&tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();

    let mut stored = std::collections::BTreeMap::<String, usize>::new();
    let mut cursor = None;
    loop {
        let page = daemon
            .app
            .store
            .list_signins(
                &tenant,
                &SignInFilter::default(),
                &PageRequest::new(1000, cursor),
            )
            .await
            .unwrap();
        for event in page.items {
            *stored.entry(event.provider_event_id).or_default() += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(stored.values().all(|n| *n == 1), "stored twice");
    assert_eq!(stored.len(), signin_count() + 500);
}
