//! Pulls from the fake org: users (full and incremental, paged by `link` headers), admin
//! roles, groups with their members, and the System Log.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use gatehouse_core::model::UserStatus;
use gatehouse_core::provider::{Connector, ConnectorError};
use gatehouse_core::records::PullMode;
use gatehouse_okta::OktaConnector;
use serde_json::json;

use crate::fake::{start_fake, Planned, Seen};
use crate::support::{at, connector, connector_with, manual_clock};

#[tokio::test]
async fn full_pull_pages_by_link_and_includes_deprovisioned_users() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = connector
            .users_page(PullMode::Full, cursor.as_deref())
            .await
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("{}/api/v1/users?", fake.base())),
                    "cursor = absolute next link: {next}"
                );
                cursor = Some(next);
            }
            None => break,
        }
        assert!(pages.len() < 10, "paging must end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 4, 2],
        "three pages from separate link headers"
    );
    let users: Vec<_> = pages.into_iter().flatten().collect();
    assert_eq!(users.len(), 10, "every user, every status");
    let deprovisioned = users
        .iter()
        .find(|u| u.external_id == "00u7deprovisioned01d6")
        .unwrap();
    assert_eq!(deprovisioned.status, UserStatus::Deprovisioned);
    let isaac = users
        .iter()
        .find(|u| u.external_id == "00ub0oNGTSWTBKOLGLNR")
        .unwrap();
    assert_eq!(
        (isaac.mfa_enrolled, isaac.mfa_factors.clone()),
        (Some(true), vec!["question".to_owned(), "sms".to_owned()])
    );
    let alice = users
        .iter()
        .find(|u| u.external_id == "00u118oQYT4TBTemp0g4")
        .unwrap();
    assert_eq!(
        (alice.mfa_enrolled, alice.mfa_factors.len()),
        (Some(false), 0)
    );

    let lists: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path == "/api/v1/users")
        .collect();
    assert_eq!(lists.len(), 3);
    let filter = lists[0].query.get("filter").unwrap();
    for status in [
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "RECOVERY",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    ] {
        assert!(
            filter.contains(&format!("status eq \"{status}\"")),
            "{filter}"
        );
    }
    assert_eq!(lists[0].query.get("limit").map(String::as_str), Some("200"));
    assert_eq!(
        lists[1].query.get("after").map(String::as_str),
        Some("4"),
        "the next link is followed as sent"
    );
    assert_eq!(lists[1].query.get("filter"), Some(filter));
    let factor_calls = fake
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/factors"))
        .count();
    assert_eq!(factor_calls, 10, "one factor list per user");
}

#[tokio::test]
async fn incremental_pull_filters_on_last_updated() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let since = at("2022-05-24T15:38:30Z");
    let page = connector
        .users_page(PullMode::Changed { since }, None)
        .await
        .unwrap();
    let seen = fake.seen();
    let list = seen.iter().find(|s| s.path == "/api/v1/users").unwrap();
    assert_eq!(
        list.query.get("filter").map(String::as_str),
        Some("lastUpdated gt \"2022-05-24T15:38:30.000Z\"")
    );
    let mut ids: Vec<_> = page.items.iter().map(|u| u.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        vec![
            "00u1xke1apZnmHgpB1d7",
            "00u4recovery0RECOV1d6",
            "00u5pwexpired0EXPR1d6",
            "00u6suspended0SUSP1d6"
        ],
    );
    assert!(page.next_cursor.is_some(), "more changed users follow");
    let rest = connector
        .users_page(PullMode::Changed { since }, page.next_cursor.as_deref())
        .await
        .unwrap();
    let ids: Vec<_> = rest.items.iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["00u7deprovisioned01d6", "00u8transitioning01d6"],
        "deactivations are changes too"
    );
    assert_eq!(rest.next_cursor, None);
}

/// Every user of a pull, by id, with its `is_admin` (known: the roster was read).
async fn admin_flags(connector: &OktaConnector, mode: PullMode) -> BTreeMap<String, bool> {
    pulled_admin_flags(connector, mode)
        .await
        .into_iter()
        .map(|(id, admin)| (id, admin.expect("the roster was read")))
        .collect()
}

/// Every user of a pull, by id, with its `is_admin` as the connector reported it.
async fn pulled_admin_flags(
    connector: &OktaConnector,
    mode: PullMode,
) -> BTreeMap<String, Option<bool>> {
    let mut flags = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = connector.users_page(mode, cursor.as_deref()).await.unwrap();
        flags.extend(
            page.items
                .iter()
                .map(|u| (u.external_id.clone(), u.is_admin)),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return flags,
        }
    }
}

#[tokio::test]
async fn holders_of_an_admin_role_are_admins_across_the_rosters_pages() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec![
        "00ub0oNGTSWTBKOLGLNR".into(),
        "00u6suspended0SUSP1d6".into(),
        "00u0nobodyWithThisId0".into(),
    ]);
    let connector = connector(&fake);
    let flags = admin_flags(&connector, PullMode::Full).await;
    let admins: Vec<&str> = flags
        .iter()
        .filter(|(_, admin)| **admin)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(admins, ["00u6suspended0SUSP1d6", "00ub0oNGTSWTBKOLGLNR"]);
    assert!(
        flags.len() > 5,
        "the other users are in the pull: {flags:?}"
    );
    let roster_pages: Vec<Option<String>> = fake
        .seen()
        .iter()
        .filter(|s| s.path == "/api/v1/iam/assignees/users")
        .map(|s| s.query.get("after").cloned())
        .collect();
    assert_eq!(
        roster_pages,
        [None, Some("1".into()), Some("2".into())],
        "read once per pull, every page followed through the body's next link"
    );
}

#[tokio::test]
async fn an_incremental_pull_brings_the_users_whose_admin_role_changed() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec!["00ub0oNGTSWTBKOLGLNR".into()]);
    let connector = connector(&fake);
    admin_flags(&connector, PullMode::Full).await;
    // The role moves to another user; neither user's `lastUpdated` changes (Okta's behaviour),
    // so the `lastUpdated` filter alone would return neither.
    *fake.admins.lock().unwrap() = Some(vec!["00u118oQYT4TBTemp0g4".into()]);
    let since = at("2030-01-01T00:00:00Z");
    let flags = admin_flags(&connector, PullMode::Changed { since }).await;
    assert_eq!(
        flags,
        BTreeMap::from([
            ("00u118oQYT4TBTemp0g4".to_owned(), true),
            ("00ub0oNGTSWTBKOLGLNR".to_owned(), false),
        ])
    );
    // Nothing changed since: the next incremental pull brings nobody.
    let flags = admin_flags(&connector, PullMode::Changed { since }).await;
    assert!(flags.is_empty(), "{flags:?}");
}

#[tokio::test]
async fn role_changes_come_again_after_an_incremental_pull_that_failed() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec!["00ub0oNGTSWTBKOLGLNR".into()]);
    let connector = connector(&fake);
    admin_flags(&connector, PullMode::Full).await;
    *fake.admins.lock().unwrap() = Some(vec!["00u118oQYT4TBTemp0g4".into()]);
    // The roster is read, then the users listing is refused: the pull fails after its roster.
    fake.plan(
        1,
        Planned {
            status: StatusCode::OK,
            headers: vec![],
            body: json!({"value": [{"id": "00u118oQYT4TBTemp0g4"}], "_links": {}}),
        },
    );
    fake.plan(
        1,
        Planned {
            status: StatusCode::FORBIDDEN,
            headers: vec![],
            body: json!({"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action"}),
        },
    );
    let since = at("2030-01-01T00:00:00Z");
    let failed = connector
        .users_page(PullMode::Changed { since }, None)
        .await;
    assert!(failed.is_err(), "the planned 403 fails the pull");
    let flags = admin_flags(&connector, PullMode::Changed { since }).await;
    assert_eq!(
        flags,
        BTreeMap::from([
            ("00u118oQYT4TBTemp0g4".to_owned(), true),
            ("00ub0oNGTSWTBKOLGLNR".to_owned(), false),
        ]),
        "the retry still brings both users whose standing changed"
    );
}

#[tokio::test]
async fn a_token_that_cannot_list_roles_still_pulls_users_with_admin_standing_unknown() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = None;
    let connector = connector(&fake);
    let flags = pulled_admin_flags(&connector, PullMode::Full).await;
    assert!(flags.len() > 5);
    assert!(flags.values().all(Option::is_none), "{flags:?}");
}

#[tokio::test]
async fn a_roster_that_keeps_failing_does_not_fail_the_users_pull() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec!["00ub0oNGTSWTBKOLGLNR".into()]);
    let connector = connector(&fake);
    let outage = Planned {
        status: StatusCode::SERVICE_UNAVAILABLE,
        headers: vec![],
        body: json!({"errorCode": "E0000009", "errorSummary": "Internal Server Error"}),
    };
    // Every attempt the connector makes at the roster (4) fails; the users listing then works.
    fake.plan(4, outage);
    let flags = pulled_admin_flags(&connector, PullMode::Full).await;
    assert!(flags.len() > 5);
    assert!(flags.values().all(Option::is_none), "{flags:?}");
    // The next pull reads the roster again.
    let flags = admin_flags(&connector, PullMode::Full).await;
    assert_eq!(flags.get("00ub0oNGTSWTBKOLGLNR"), Some(&true));
}

#[tokio::test]
async fn a_refused_token_fails_the_pull_at_the_roster() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    fake.plan(
        1,
        Planned {
            status: StatusCode::UNAUTHORIZED,
            headers: vec![],
            body: json!({"errorCode": "E0000011", "errorSummary": "Invalid token provided"}),
        },
    );
    let err = connector
        .users_page(PullMode::Full, None)
        .await
        .expect_err("a refused token");
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err}");
}

#[tokio::test]
async fn groups_carry_every_member_across_member_pages() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let first = connector.groups_page(None).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let west = &first.items[0];
    assert_eq!(west.external_id, "00g1emaKYZTWRYYRRTSK");
    assert_eq!(west.name, "West Coast users");
    assert_eq!(
        west.members,
        vec![
            "00ub0oNGTSWTBKOLGLNR",
            "00u118oQYT4TBTemp0g4",
            "00u6suspended0SUSP1d6"
        ],
        "members from two pages of /groups/{{id}}/users"
    );
    let cursor = first.next_cursor.unwrap();
    assert!(cursor.starts_with(&format!("{}/api/v1/groups?", fake.base())));
    let second = connector.groups_page(Some(&cursor)).await.unwrap();
    assert_eq!(second.items[0].external_id, "00garwpuyxHaWOkdV0g4");
    assert!(second.items[0].members.is_empty());
    assert_eq!(second.next_cursor, None);
    let member_calls: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/users") && s.path.contains("/groups/"))
        .collect();
    assert_eq!(
        member_calls[0].query.get("limit").map(String::as_str),
        Some("200")
    );
}

#[tokio::test]
async fn system_log_polls_from_the_lookback_and_follows_next_links() {
    let fake = start_fake().await;
    let clock = manual_clock();
    let connector = connector_with(&fake, json!({"system_log_lookback_hours": 6}), clock, 4);

    let first = connector.signins_page(None).await.unwrap();
    let seen = fake.seen();
    let request = &seen.last().unwrap().query;
    assert_eq!(
        request.get("since").map(String::as_str),
        Some("2026-01-10T06:00:00.000Z")
    );
    assert_eq!(
        request.get("sortOrder").map(String::as_str),
        Some("ASCENDING")
    );
    assert_eq!(request.get("limit").map(String::as_str), Some("1000"));
    assert!(
        !request.contains_key("until"),
        "a polling request has no until"
    );
    assert_eq!(first.events.len(), 2);
    assert_eq!(first.events[1].reason.as_deref(), Some("push_denied"));
    assert!(!first.caught_up);
    let cursor = first.next_cursor.unwrap();
    assert_eq!(
        cursor,
        format!(
            "{}/api/v1/logs?limit=1000&sortOrder=ASCENDING&after=cursor-2",
            fake.base()
        ),
        "the cursor is Okta's next link, exactly"
    );

    let second = connector.signins_page(Some(&cursor)).await.unwrap();
    assert_eq!(
        fake.seen().last().unwrap().raw_query,
        "limit=1000&sortOrder=ASCENDING&after=cursor-2"
    );
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.events[0].event_type, "security.threat.detected");
    assert!(!second.caught_up);

    let cursor = second.next_cursor.unwrap();
    let third = connector.signins_page(Some(&cursor)).await.unwrap();
    assert!(third.events.is_empty());
    assert!(third.caught_up, "an empty polling page means caught up");
    assert_eq!(third.next_cursor.as_deref(), Some(cursor.as_str()));

    let off = connector_with(
        &fake,
        json!({"ingest_system_log": false}),
        manual_clock(),
        4,
    );
    assert!(matches!(
        off.signins_page(None).await,
        Err(ConnectorError::Unsupported(_))
    ));
}
