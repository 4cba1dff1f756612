//! The connector against the Entra simulator (`gatehouse_idp_sim::entra`), written independently
//! from the same Microsoft docs: a delta round, a change and a deletion by deltaLink, expired
//! and reset delta tokens, and the actions reaching it.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, Credentials};
use gatehouse_core::records::{ActionTarget, ProviderUser, PullMode};
use gatehouse_core::{Clock, IntegrationId, SystemClock, TenantId};
use gatehouse_entra::EntraConnector;
use gatehouse_idp_sim::entra::{EntraConfig, EntraSim};
use serde_json::json;

async fn start(users: usize) -> (EntraSim, EntraConnector) {
    let sim = EntraSim::new(EntraConfig {
        users,
        signins: 50,
        ..EntraConfig::default()
    });
    let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
    let base = running.base_url().to_string();
    std::mem::forget(running);
    let config = sim.config().clone();
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_sim").unwrap(),
        integration_id: IntegrationId::generate(SystemClock.now()),
        credentials: Credentials::from_object(serde_json::from_value(json!({
            "tenant_id": config.directory_id, "client_id": config.client_id, "client_secret": config.client_secret,
        })).unwrap()),
        config: serde_json::from_value(json!({"graph_base_url": base, "login_base_url": base})).unwrap(),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: None,
    };
    let connector = EntraConnector::from_context(context, RetryPolicy::default()).unwrap();
    (sim, connector)
}

async fn pass(
    c: &EntraConnector,
    mode: PullMode,
) -> Result<(Vec<ProviderUser>, Option<String>), ConnectorError> {
    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = c.users_page(mode.clone(), cursor.as_deref()).await?;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((users, page.sync_state)),
        }
    }
}

#[tokio::test]
async fn delta_rounds_against_the_simulator() {
    let (sim, c) = start(1_500).await;
    c.check().await.unwrap();
    let (users, state) = pass(&c, PullMode::Full).await.unwrap();
    let ids: std::collections::BTreeSet<String> =
        users.iter().map(|u| u.external_id.clone()).collect();
    assert_eq!(ids, sim.user_ids());
    let state = state.expect("deltaLink");
    let changed = ids.iter().next().unwrap().clone();
    let deleted = ids.iter().nth(1).unwrap().clone();
    assert!(sim.update_user(&changed, json!({"jobTitle": "Changed"})));
    assert!(sim.delete_user(&deleted));
    let since = SystemClock.now();
    let (delta, next) = pass(
        &c,
        PullMode::Changed {
            since,
            sync_state: Some(state),
        },
    )
    .await
    .unwrap();
    assert!(delta.len() < 10, "{}", delta.len());
    assert!(delta
        .iter()
        .any(|u| u.external_id == changed && u.title.as_deref() == Some("Changed")));
    assert!(delta
        .iter()
        .any(|u| u.external_id == deleted && u.status_flags.iter().any(|f| f == "soft_deleted")));
    sim.expire_delta_tokens();
    let err = pass(
        &c,
        PullMode::Changed {
            since,
            sync_state: next,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::SyncStateExpired(_)), "{err}");
}

#[tokio::test]
async fn actions_reach_the_simulator() {
    let (sim, c) = start(5).await;
    let id = sim.user_ids().into_iter().next().unwrap();
    let target = ActionTarget {
        external_id: id.clone(),
        login: String::new(),
    };
    assert!(
        c.act(ActionKind::DisableAccount, &target)
            .await
            .unwrap()
            .changed
    );
    assert!(
        !c.act(ActionKind::DisableAccount, &target)
            .await
            .unwrap()
            .changed
    );
    assert!(
        c.act(ActionKind::EnableAccount, &target)
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
    assert!(!sim.writes().is_empty());
}
