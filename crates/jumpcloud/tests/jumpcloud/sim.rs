//! The connector against the JumpCloud simulator (`gatehouse_idp_sim::jumpcloud`), written
//! independently from JumpCloud's docs: the key, users paging under churn, Directory Insights
//! paging with `search_after`; and the hosts a connector of each region calls.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, Credentials};
use gatehouse_core::records::{PullMode, TOMBSTONE_FLAG};
use gatehouse_core::{Clock, IntegrationId, SystemClock, TenantId};
use gatehouse_idp_sim::jumpcloud::{Churn, JumpCloudConfig, JumpCloudSim, NewUser};
use gatehouse_jumpcloud::JumpCloudConnector;
use serde_json::{json, Value};

pub(crate) fn start(config: JumpCloudConfig) -> (JumpCloudSim, String) {
    let sim = JumpCloudSim::new(config);
    let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
    let base = running.base_url().to_string();
    std::mem::forget(running);
    (sim, base)
}

fn connector(base: &str, credentials: Value) -> JumpCloudConnector {
    connector_with(base, credentials, RetryPolicy::default())
}

/// The connector with `policy` (the scale tests retry injected 429s with a short backoff).
pub(crate) fn connector_with(
    base: &str,
    credentials: Value,
    policy: RetryPolicy,
) -> JumpCloudConnector {
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_sim").unwrap(),
        integration_id: IntegrationId::generate(SystemClock.now()),
        credentials: Credentials::from_object(serde_json::from_value(credentials).unwrap()),
        config: serde_json::from_value(json!({"base_url": base, "signin_lookback_hours": 48}))
            .unwrap(),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: None,
    };
    JumpCloudConnector::from_context(context, policy).unwrap()
}

async fn all_users(
    c: &JumpCloudConnector,
    mode: PullMode,
) -> (Vec<gatehouse_core::records::ProviderUser>, Option<String>) {
    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = c.users_page(mode.clone(), cursor.as_deref()).await.unwrap();
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (users, page.sync_state),
        }
    }
}

#[tokio::test]
async fn check_needs_the_key_and_never_shows_it() {
    let (sim, base) = start(JumpCloudConfig {
        users: 3,
        events: 0,
        ..JumpCloudConfig::default()
    });
    let good = connector(&base, json!({"api_key": sim.config().api_key}));
    let report = good.check().await.unwrap();
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let bad = connector(&base, json!({"api_key": "not-the-key-0123456789"}));
    let err = bad.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err}");
    assert!(!err.to_string().contains("not-the-key"));
}

#[tokio::test]
async fn users_paging_under_churn_misses_and_doubles_nobody() {
    let (sim, base) = start(JumpCloudConfig {
        users: 1_050,
        events: 0,
        ..JumpCloudConfig::default()
    });
    let c = connector(&base, json!({"api_key": sim.config().api_key}));
    let before: HashSet<String> = sim.user_ids().into_iter().collect();
    // After the 3rd page: 15 users already returned are removed (more than the overlap
    // re-reads), and one user is added (the newest id, at the end).
    sim.churn_after(3, Churn::RemoveAt { at: 50, count: 15 });
    sim.churn_after(
        5,
        Churn::Add(vec![NewUser {
            username: Some("late.joiner".into()),
            ..NewUser::default()
        }]),
    );
    sim.churn_after(6, Churn::RemoveAt { at: 400, count: 3 });
    let (users, state) = all_users(&c, PullMode::Full).await;
    let ids: Vec<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a user was returned twice");
    for id in &before {
        // Users removed at position 400 after the 6th page were never returned if they sat
        // after the offset; all others were.
        let still_there = sim.user_ids().contains(id);
        if still_there {
            assert!(unique.contains(id.as_str()), "user {id} was missed");
        }
    }
    assert!(users.iter().any(|u| u.login == "late.joiner"));
    assert!(state.is_some());
    // Users returned by the pass but removed during it are reported gone by the next one.
    let now: HashSet<String> = sim.user_ids().into_iter().collect();
    let removed_during: HashSet<String> = unique
        .iter()
        .filter(|id| !now.contains(**id))
        .map(|id| (*id).to_owned())
        .collect();

    // An incremental pull returns only changes: one removed, one updated.
    let gone = sim.user_ids()[10].clone();
    let changed = sim.user_ids()[20].clone();
    assert!(sim.remove_user(&gone));
    assert!(sim.update_user(&changed, &json!({"department": "Security"})));
    let mode = PullMode::Changed {
        since: SystemClock.now(),
        sync_state: state,
    };
    let (users, _) = all_users(&c, mode).await;
    let ids: HashSet<String> = users.iter().map(|u| u.external_id.clone()).collect();
    let mut expected = removed_during;
    expected.extend([gone.clone(), changed.clone()]);
    assert_eq!(ids, expected);
    let tomb = users.iter().find(|u| u.external_id == gone).unwrap();
    assert!(tomb.status_flags.iter().any(|f| f == TOMBSTONE_FLAG));
}

#[tokio::test]
async fn events_page_with_search_after_and_none_is_doubled() {
    let (sim, base) = start(JumpCloudConfig {
        users: 5,
        events: 0,
        event_lag: Duration::ZERO,
        ..JumpCloudConfig::default()
    });
    let c = connector(&base, json!({"api_key": sim.config().api_key}));
    let mut added = HashSet::new();
    for i in 0..2_500 {
        added.insert(sim.add_event(json!({"client_ip": format!("198.51.100.{}", i % 200)})));
    }
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c.signins_page(cursor.as_deref()).await.unwrap();
        pages += 1;
        for event in &page.events {
            assert!(
                seen.insert(event.provider_event_id.clone()),
                "event doubled"
            );
        }
        cursor = page.next_cursor;
        if page.caught_up {
            break;
        }
    }
    assert_eq!(pages, 3, "1000 + 1000 + 500");
    assert_eq!(seen, added);
    // The next round re-reads the overlap (the engine dedupes those by id) and brings the new.
    let late = sim.add_event(json!({}));
    let mut again = HashSet::new();
    loop {
        let page = c.signins_page(cursor.as_deref()).await.unwrap();
        again.extend(page.events.into_iter().map(|e| e.provider_event_id));
        cursor = page.next_cursor;
        if page.caught_up {
            break;
        }
    }
    assert!(again.contains(&late));
    assert!(again.iter().all(|id| id == &late || added.contains(id)));
}

#[tokio::test]
async fn actions_are_idempotent_and_never_hand_out_an_enrolment() {
    use gatehouse_core::model::{ActionKind, UserStatus};
    use gatehouse_core::records::ActionTarget;

    let (sim, base) = start(JumpCloudConfig {
        users: 2,
        events: 0,
        ..JumpCloudConfig::default()
    });
    let c = connector(&base, json!({"api_key": sim.config().api_key}));
    let bare = sim.add_user(NewUser {
        username: Some("no.factor".into()),
        mfa_configured: false,
        enable_user_portal_multifactor: false,
        ..NewUser::default()
    });
    let enrolled = sim.add_user(NewUser {
        username: Some("has.factor".into()),
        mfa_configured: true,
        enable_user_portal_multifactor: false,
        ..NewUser::default()
    });
    let by_id = |id: &str| ActionTarget {
        external_id: id.to_owned(),
        login: String::new(),
    };

    let r = c
        .act(ActionKind::DisableAccount, &by_id(&bare))
        .await
        .unwrap();
    assert!(r.changed);
    assert_eq!(r.account.unwrap().status, UserStatus::Suspended);
    assert_eq!(sim.user(&bare).unwrap()["suspended"], true);
    let again = c
        .act(ActionKind::DisableAccount, &by_id(&bare))
        .await
        .unwrap();
    assert!(!again.changed);
    let r = c
        .act(
            ActionKind::EnableAccount,
            &ActionTarget {
                external_id: String::new(),
                login: "no.factor".into(),
            },
        )
        .await
        .unwrap();
    assert!(r.changed, "{}", r.detail);
    assert_eq!(sim.user(&bare).unwrap()["suspended"], false);

    // No factor and active: left alone.
    let r = c.act(ActionKind::EnforceMfa, &by_id(&bare)).await.unwrap();
    assert!(!r.changed, "{}", r.detail);
    assert_eq!(
        sim.user(&bare).unwrap()["enable_user_portal_multifactor"],
        false
    );
    assert_eq!(sim.mfa_resets(&bare), 0);
    // An enrolled factor: MFA required, nothing reset.
    let r = c
        .act(ActionKind::EnforceMfa, &by_id(&enrolled))
        .await
        .unwrap();
    assert!(r.changed, "{}", r.detail);
    assert_eq!(
        sim.user(&enrolled).unwrap()["enable_user_portal_multifactor"],
        true
    );
    assert_eq!(sim.mfa_resets(&enrolled), 0);
    assert!(
        !c.act(ActionKind::EnforceMfa, &by_id(&enrolled))
            .await
            .unwrap()
            .changed
    );

    let r = c
        .act(ActionKind::RevokeSessions, &by_id(&enrolled))
        .await
        .unwrap();
    assert!(r.changed && r.detail.contains("not ended"), "{}", r.detail);
    assert!(sim.password_expired(&enrolled));
    assert!(
        !c.act(ActionKind::RevokeSessions, &by_id(&enrolled))
            .await
            .unwrap()
            .changed
    );
    let err = c
        .act(
            ActionKind::DisableAccount,
            &by_id("000000000000000000000000"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err}");
}

#[tokio::test]
async fn a_multi_tenant_key_sends_the_org_id() {
    let (sim, base) = start(JumpCloudConfig {
        users: 3,
        events: 0,
        multi_tenant_key: true,
        ..JumpCloudConfig::default()
    });
    let key = sim.config().api_key.clone();
    let without = connector(&base, json!({"api_key": key}));
    assert!(without.check().await.is_err());
    let with = connector(
        &base,
        json!({"api_key": key, "org_id": sim.config().org_id}),
    );
    with.check().await.unwrap();
    let calls = sim.calls();
    let last = calls.last().unwrap();
    assert_eq!(last.org_ids, vec![sim.config().org_id.clone()]);
}

#[test]
fn the_factory_builds_a_connector_for_the_region_s_hosts() {
    let build = |config: Value| {
        let context = ConnectorContext {
            observer: None,
            tenant_id: TenantId::parse("ten_sim").unwrap(),
            integration_id: IntegrationId::generate(SystemClock.now()),
            credentials: Credentials::from_object(
                serde_json::from_value(json!({"api_key": "k"})).unwrap(),
            ),
            config: serde_json::from_value(config).unwrap(),
            allow_custom_endpoints: false,
            clock: Arc::new(SystemClock),
            push_url: None,
        };
        JumpCloudConnector::from_context(context, RetryPolicy::default())
    };
    let eu = build(json!({"region": "eu"})).unwrap();
    assert_eq!(
        eu.hosts().console.as_str(),
        "https://console.eu.jumpcloud.com/"
    );
    assert_eq!(
        eu.hosts().insights.as_str(),
        "https://api.eu.jumpcloud.com/"
    );
    let us = build(json!({})).unwrap();
    assert_eq!(
        us.hosts().console.as_str(),
        "https://console.jumpcloud.com/"
    );
    assert_eq!(us.hosts().insights.as_str(), "https://api.jumpcloud.com/");
    let err = build(json!({"region": "us-east"})).unwrap_err();
    assert!(
        err.to_string()
            .contains("config.region: must be one of: us, eu"),
        "{err}"
    );
}
