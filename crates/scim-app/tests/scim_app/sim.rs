//! The connector against the SCIM application simulator, check by check: `/test` reports what
//! the app supports; a pull honours the app's maximum page size; an app without PATCH gets a
//! PUT of the whole user with only `active` changed; an app that announces PATCH but answers
//! 501 is switched to PUT; an account is found by `userName` when its id is unknown, and
//! never by filter where the app does not filter; a stale ETag is re-read, not overwritten.

use std::sync::Arc;

use gatehouse_connect::RetryPolicy;
use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::{Connector, ConnectorContext, ConnectorError, Credentials};
use gatehouse_core::records::{ActionTarget, PullMode};
use gatehouse_core::{IntegrationId, SystemClock, TenantId};
use gatehouse_idp_sim::scim_app::{
    CannedResponse, Fault, NewScimUser, RunningSim, ScimAppConfig, ScimAppSim,
};
use gatehouse_scim_app::ScimAppConnector;
use serde_json::{json, Value};

fn start(config: ScimAppConfig) -> (ScimAppSim, RunningSim) {
    let sim = ScimAppSim::new(config);
    let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
    (sim, running)
}

fn connector(sim: &ScimAppSim, running: &RunningSim, config: Value) -> ScimAppConnector {
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_scim_app").unwrap(),
        integration_id: IntegrationId::generate(sim.clock().now()),
        credentials: Credentials::from_object(
            serde_json::from_value(
                json!({"base_url": running.base_url(), "token": sim.config().token}),
            )
            .unwrap(),
        ),
        config: serde_json::from_value(config).unwrap(),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: None,
    };
    ScimAppConnector::from_context(context, RetryPolicy::default()).unwrap()
}

async fn pull_ids(connector: &ScimAppConnector) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = connector
            .users_page(PullMode::Full, cursor.as_deref())
            .await
            .unwrap();
        ids.extend(page.items.into_iter().map(|u| u.external_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
}

fn list_counts(sim: &ScimAppSim) -> Vec<String> {
    sim.calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path == "/Users")
        .filter_map(|c| c.query)
        .collect()
}

#[tokio::test]
async fn test_reports_features_and_pull_uses_the_apps_page_size() {
    let (sim, running) = start(ScimAppConfig {
        users: 95,
        max_page_size: 40,
        ..ScimAppConfig::default()
    });
    let connector = connector(&sim, &running, json!({}));
    let report = connector.check().await.unwrap();
    let notes = report.notes.join("\n");
    assert!(
        notes.contains("PATCH yes, filter yes, ETag yes, Bulk no, Groups yes"),
        "{notes}"
    );
    assert!(notes.contains("at most 40 results"), "{notes}");
    assert!(notes.contains("95 users"), "{notes}");
    sim.clear_calls();
    let ids = pull_ids(&connector).await;
    assert_eq!(ids, sim.user_ids());
    let queries = list_counts(&sim);
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert!(
        queries.iter().all(|q| q.contains("count=40")),
        "{queries:?}"
    );
}

#[tokio::test]
async fn a_user_removed_between_pages_skips_nobody() {
    let (sim, running) = start(ScimAppConfig {
        users: 60,
        max_page_size: 20,
        ..ScimAppConfig::default()
    });
    let connector = connector(&sim, &running, json!({}));
    let first = connector.users_page(PullMode::Full, None).await.unwrap();
    let mut ids: Vec<String> = first.items.into_iter().map(|u| u.external_id).collect();
    // Two accounts of the first page leave the app: every later one moves up by two.
    assert!(sim.remove_user(&ids[3]));
    assert!(sim.remove_user(&ids[7]));
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let page = connector
            .users_page(PullMode::Full, Some(&c))
            .await
            .unwrap();
        ids.extend(page.items.into_iter().map(|u| u.external_id));
        cursor = page.next_cursor;
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an account came twice");
    for id in sim.user_ids() {
        assert!(ids.contains(&id), "{id} was skipped");
    }
}

#[tokio::test]
async fn without_patch_actions_put_the_whole_user() {
    let (sim, running) = start(ScimAppConfig {
        users: 3,
        patch: false,
        ..ScimAppConfig::default()
    });
    let id = sim.add_user(NewScimUser {
        user_name: Some("put.me@example.com".into()),
        given_name: Some("Put".into()),
        external_id: Some("idp-42".into()),
        ..NewScimUser::default()
    });
    let before = sim.user(&id).unwrap();
    let connector = connector(&sim, &running, json!({"enable_response_actions": true}));
    let target = ActionTarget {
        external_id: id.clone(),
        login: "put.me@example.com".into(),
    };
    let report = connector
        .act(ActionKind::DisableAccount, &target)
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    assert!(report.detail.contains("PUT"), "{report:?}");
    assert_eq!(report.account.unwrap().status, UserStatus::Suspended);
    let after = sim.user(&id).unwrap();
    assert_eq!(after["active"], false);
    // Nothing else of the user was lost by the replacement.
    for key in ["userName", "name", "emails", "externalId"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(
        writes[0].if_match.as_deref(),
        before["meta"]["version"].as_str()
    );
    let again = connector
        .act(ActionKind::DisableAccount, &target)
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(sim.writes().len(), 1, "a repeat writes nothing");
    let back = connector
        .act(ActionKind::EnableAccount, &target)
        .await
        .unwrap();
    assert!(back.changed);
    assert_eq!(sim.user(&id).unwrap()["active"], true);
}

#[tokio::test]
async fn a_patch_refused_with_501_falls_back_to_put() {
    let (sim, running) = start(ScimAppConfig {
        users: 3,
        ..ScimAppConfig::default()
    });
    let id = sim.user_ids()[0].clone();
    let connector = connector(&sim, &running, json!({}));
    let refused = CannedResponse::json(
        501,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "501",
            "detail": "PATCH is not implemented"}),
    );
    // The read goes through as the app answers it; the PATCH after it is refused.
    let current = sim.user(&id).unwrap();
    sim.inject_on(
        &format!("/Users/{id}"),
        Fault::respond(CannedResponse::json(200, &current), 1),
    );
    sim.inject_on(&format!("/Users/{id}"), Fault::respond(refused, 1));
    let target = ActionTarget {
        external_id: id.clone(),
        login: String::new(),
    };
    let report = connector
        .act(ActionKind::DisableAccount, &target)
        .await
        .unwrap();
    assert!(report.detail.contains("PUT"), "{report:?}");
    assert_eq!(sim.user(&id).unwrap()["active"], false);
    let methods: Vec<String> = sim.writes().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["PATCH", "PUT"]);
    // Remembered: the next write goes straight to PUT.
    connector
        .act(ActionKind::EnableAccount, &target)
        .await
        .unwrap();
    let methods: Vec<String> = sim.writes().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["PATCH", "PUT", "PUT"]);
}

#[tokio::test]
async fn an_unknown_id_is_looked_up_by_user_name_only_where_the_app_filters() {
    for filter in [true, false] {
        let (sim, running) = start(ScimAppConfig {
            users: 5,
            filter,
            ..ScimAppConfig::default()
        });
        let id = sim.add_user(NewScimUser {
            user_name: Some("Found.Me@example.com".into()),
            ..NewScimUser::default()
        });
        let connector = connector(&sim, &running, json!({}));
        let target = ActionTarget {
            external_id: "gone-id".into(),
            login: "found.me@example.com".into(),
        };
        let result = connector.act(ActionKind::DisableAccount, &target).await;
        let filters: Vec<String> = sim
            .calls()
            .into_iter()
            .filter_map(|c| c.query)
            .filter(|q| q.contains("filter"))
            .collect();
        if filter {
            assert!(result.unwrap().changed);
            assert_eq!(sim.user(&id).unwrap()["active"], false);
            assert_eq!(filters.len(), 1, "{filters:?}");
        } else {
            assert!(
                matches!(result, Err(ConnectorError::NotFound(_))),
                "{result:?}"
            );
            assert!(filters.is_empty(), "filtered an app that does not filter");
            assert_eq!(sim.user(&id).unwrap()["active"], true);
        }
    }
}

#[tokio::test]
async fn a_stale_etag_is_read_again_not_overwritten() {
    let (sim, running) = start(ScimAppConfig {
        users: 2,
        patch: false,
        ..ScimAppConfig::default()
    });
    let id = sim.user_ids()[0].clone();
    let connector = connector(&sim, &running, json!({}));
    // The first read sees an older version of the user than the app now holds (another
    // administrator changed it since): the PUT carrying that version must be refused with 412,
    // and the connector must read again rather than overwrite the change.
    let mut old = sim.user(&id).unwrap();
    old["meta"]["version"] = json!("W/\"0\"");
    old["title"] = json!("stale title");
    sim.inject_on(
        &format!("/Users/{id}"),
        Fault::respond(CannedResponse::json(200, &old), 1),
    );
    let target = ActionTarget {
        external_id: id.clone(),
        login: String::new(),
    };
    let report = connector
        .act(ActionKind::DisableAccount, &target)
        .await
        .unwrap();
    assert!(report.changed);
    let user = sim.user(&id).unwrap();
    assert_eq!(user["active"], false);
    assert!(
        user.get("title").is_none(),
        "the stale copy was written back"
    );
    let statuses: Vec<(String, u16)> = sim
        .calls()
        .into_iter()
        .filter(|c| c.path.ends_with(&id))
        .map(|c| (c.method, c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("GET".to_owned(), 200),
            ("PUT".to_owned(), 412),
            ("GET".to_owned(), 200),
            ("PUT".to_owned(), 200)
        ]
    );
}
