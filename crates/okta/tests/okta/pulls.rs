//! Pulls from the simulated org: users (full and incremental, paged by `link` headers), admin
//! roles, groups with their members, and the System Log.

use std::collections::BTreeMap;

use gatehouse_core::model::UserStatus;
use gatehouse_core::provider::{Connector, ConnectorError};
use gatehouse_core::records::PullMode;
use gatehouse_idp_sim::okta::{CannedResponse, Fault, OktaError, RecordedCall};
use gatehouse_okta::OktaConnector;
use serde_json::{json, Value};

use crate::support::{
    at, connector, connector_with, fixture, manual_clock, query, start_org, WEST,
};

/// The target of the `rel="next"` link a call was answered with.
pub(crate) fn next_link(call: &RecordedCall) -> Option<String> {
    call.link.iter().find_map(|l| {
        let (target, rel) = l.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// The query string of a URL.
fn query_of(url: &str) -> &str {
    url.split_once('?').map_or("", |(_, q)| q)
}

/// A 403 with Okta's E0000006 body, as for a token without the scope or role a list needs.
fn forbidden() -> Fault {
    Fault::respond(CannedResponse::json(403, &OktaError::forbidden().body()), 1)
}

#[tokio::test]
async fn full_pull_pages_by_link_and_includes_deprovisioned_users() {
    let org = start_org().await;
    let connector = connector(&org);
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
                    next.starts_with(&format!("{}/api/v1/users?", org.base())),
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
        vec![4, 4, 3],
        "three pages from separate link headers"
    );
    let users: Vec<_> = pages.into_iter().flatten().collect();
    assert_eq!(
        users.len(),
        11,
        "every user, every status, the token's service account too"
    );
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

    let lists = org.calls_to("/api/v1/users");
    assert_eq!(lists.len(), 3);
    let first = query(&lists[0]);
    let filter = first.get("filter").unwrap();
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
    assert_eq!(first.get("limit").map(String::as_str), Some("200"));
    for pair in lists.windows(2) {
        let sent = next_link(&pair[0]).expect("a next link");
        assert_eq!(
            pair[1].query.as_deref(),
            Some(query_of(&sent)),
            "the next link is followed as sent"
        );
    }
    assert_eq!(
        query(&lists[1]).get("after").map(String::as_str),
        Some("00u3m5wrdPjJYUFb81d6"),
        "page two starts after the last user of page one"
    );
    assert_eq!(query(&lists[1]).get("filter"), Some(filter));
    assert_eq!(next_link(&lists[2]), None, "the last page has no next link");
    let factor_calls = org
        .calls()
        .iter()
        .filter(|s| s.path.ends_with("/factors"))
        .count();
    assert_eq!(factor_calls, 11, "one factor list per user");
}

#[tokio::test]
async fn incremental_pull_filters_on_last_updated() {
    let org = start_org().await;
    let connector = connector(&org);
    let since = at("2022-05-24T15:38:30Z");
    let page = connector
        .users_page(PullMode::changed_since(since), None)
        .await
        .unwrap();
    let lists = org.calls_to("/api/v1/users");
    assert_eq!(
        query(&lists[0]).get("filter").map(String::as_str),
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
        .users_page(PullMode::changed_since(since), page.next_cursor.as_deref())
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

/// Alice takes over Isaac's role (Okta changes neither user's `lastUpdated`).
fn move_role_to_alice(org: &crate::support::Org) {
    org.sim.unassign_roles("00ub0oNGTSWTBKOLGLNR");
    assert!(org.sim.assign_role("00u118oQYT4TBTemp0g4", "USER_ADMIN"));
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
        let page = connector
            .users_page(mode.clone(), cursor.as_deref())
            .await
            .unwrap();
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
    let org = start_org().await;
    for holder in [
        "00ub0oNGTSWTBKOLGLNR",
        "00u6suspended0SUSP1d6",
        "00u1xke1apZnmHgpB1d7",
    ] {
        assert!(org.sim.assign_role(holder, "HELP_DESK_ADMIN"));
    }
    let connector = connector(&org);
    let flags = admin_flags(&connector, PullMode::Full).await;
    let admins: Vec<&str> = flags
        .iter()
        .filter(|(_, admin)| **admin)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(
        admins,
        [
            "00u1xke1apZnmHgpB1d7",
            "00u6suspended0SUSP1d6",
            "00ub0oNGTSWTBKOLGLNR"
        ]
    );
    assert!(
        flags.len() > 5,
        "the other users are in the pull: {flags:?}"
    );
    let roster_pages: Vec<Option<String>> = org
        .calls_to("/api/v1/iam/assignees/users")
        .iter()
        .map(|s| query(s).get("after").cloned())
        .collect();
    assert_eq!(
        roster_pages,
        [
            None,
            Some("00u1xke1apZnmHgpB1d7".into()),
            Some("00u6suspended0SUSP1d6".into())
        ],
        "read once per pull, every page followed through the body's next link"
    );

    // A roster entry that matches no user of the pull makes no account out of thin air.
    org.sim.inject_on(
        "/api/v1/iam/assignees/users",
        Fault::respond(
            CannedResponse::json(
                200,
                &json!({"value": [{"id": "00u0nobodyWithThisId0"}, {"id": "00ub0oNGTSWTBKOLGLNR"}],
                    "_links": {}}),
            ),
            1,
        ),
    );
    let flags = admin_flags(&connector, PullMode::Full).await;
    assert_eq!(
        org.sim.pending_faults(),
        0,
        "the roster got the canned page"
    );
    assert!(!flags.contains_key("00u0nobodyWithThisId0"), "{flags:?}");
    let admins: Vec<&str> = flags
        .iter()
        .filter(|(_, admin)| **admin)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(admins, ["00ub0oNGTSWTBKOLGLNR"]);
}

#[tokio::test]
async fn an_incremental_pull_brings_the_users_whose_admin_role_changed() {
    let org = start_org().await;
    assert!(org.sim.assign_role("00ub0oNGTSWTBKOLGLNR", "USER_ADMIN"));
    let connector = connector(&org);
    admin_flags(&connector, PullMode::Full).await;
    // The role moves to another user; neither user's `lastUpdated` changes (Okta's behaviour),
    // so the `lastUpdated` filter alone would return neither.
    move_role_to_alice(&org);
    let since = at("2030-01-01T00:00:00Z");
    let flags = admin_flags(&connector, PullMode::changed_since(since)).await;
    assert_eq!(
        flags,
        BTreeMap::from([
            ("00u118oQYT4TBTemp0g4".to_owned(), true),
            ("00ub0oNGTSWTBKOLGLNR".to_owned(), false),
        ])
    );
    // Nothing changed since: the next incremental pull brings nobody.
    let flags = admin_flags(&connector, PullMode::changed_since(since)).await;
    assert!(flags.is_empty(), "{flags:?}");
}

#[tokio::test]
async fn role_changes_come_again_after_an_incremental_pull_that_failed() {
    let org = start_org().await;
    assert!(org.sim.assign_role("00ub0oNGTSWTBKOLGLNR", "USER_ADMIN"));
    let connector = connector(&org);
    admin_flags(&connector, PullMode::Full).await;
    move_role_to_alice(&org);
    // The roster is read, then the users listing is refused: the pull fails after its roster.
    org.sim.inject_on("/api/v1/users", forbidden());
    let since = at("2030-01-01T00:00:00Z");
    let failed = connector
        .users_page(PullMode::changed_since(since), None)
        .await;
    assert!(failed.is_err(), "the injected 403 fails the pull");
    let rosters = org.calls_to("/api/v1/iam/assignees/users");
    let lists = org.calls_to("/api/v1/users");
    assert_eq!(
        (rosters.last().unwrap().status, lists.last().unwrap().status),
        (200, 403),
        "the roster was read before the listing failed"
    );
    let flags = admin_flags(&connector, PullMode::changed_since(since)).await;
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
    let org = start_org().await;
    assert!(org.sim.assign_role("00ub0oNGTSWTBKOLGLNR", "USER_ADMIN"));
    org.sim
        .inject_on("/api/v1/iam/assignees/users", forbidden());
    let connector = connector(&org);
    let flags = pulled_admin_flags(&connector, PullMode::Full).await;
    assert_eq!(org.sim.pending_faults(), 0, "the roster was refused");
    assert!(flags.len() > 5);
    assert!(flags.values().all(Option::is_none), "{flags:?}");
}

#[tokio::test]
async fn a_roster_that_keeps_failing_does_not_fail_the_users_pull() {
    let org = start_org().await;
    assert!(org.sim.assign_role("00ub0oNGTSWTBKOLGLNR", "USER_ADMIN"));
    let connector = connector(&org);
    // Every attempt the connector makes at the roster (4) fails; the users listing then works.
    org.sim
        .inject_on("/api/v1/iam/assignees/users", Fault::unavailable(4));
    let flags = pulled_admin_flags(&connector, PullMode::Full).await;
    assert_eq!(org.sim.pending_faults(), 0, "four attempts at the roster");
    assert!(flags.len() > 5);
    assert!(flags.values().all(Option::is_none), "{flags:?}");
    // The next pull reads the roster again.
    let flags = admin_flags(&connector, PullMode::Full).await;
    assert_eq!(flags.get("00ub0oNGTSWTBKOLGLNR"), Some(&true));
}

#[tokio::test]
async fn a_refused_token_fails_the_pull_at_the_roster() {
    let org = start_org().await;
    let connector = connector(&org);
    org.sim.inject(Fault::respond(
        CannedResponse::json(401, &OktaError::invalid_token().body()),
        1,
    ));
    let err = connector
        .users_page(PullMode::Full, None)
        .await
        .expect_err("a refused token");
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err}");
    let calls = org.calls();
    assert_eq!(
        (calls.len(), calls[0].path.as_str()),
        (1, "/api/v1/iam/assignees/users"),
        "the roster comes first and nothing follows a refused token"
    );
}

#[tokio::test]
async fn groups_carry_every_member_across_member_pages() {
    let org = start_org().await;
    let connector = connector(&org);
    let first = connector.groups_page(None).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let west = &first.items[0];
    assert_eq!(west.external_id, WEST);
    assert_eq!(west.name, "West Coast users");
    assert_eq!(
        west.members,
        vec![
            "00u118oQYT4TBTemp0g4",
            "00u6suspended0SUSP1d6",
            "00ub0oNGTSWTBKOLGLNR"
        ],
        "members from three pages of /groups/{{id}}/users"
    );
    let cursor = first.next_cursor.unwrap();
    assert!(cursor.starts_with(&format!("{}/api/v1/groups?", org.base())));
    let second = connector.groups_page(Some(&cursor)).await.unwrap();
    assert_eq!(second.items[0].external_id, "00garwpuyxHaWOkdV0g4");
    assert!(second.items[0].members.is_empty());
    assert_eq!(second.next_cursor, None);
    let member_calls = org.calls_to(&format!("/api/v1/groups/{WEST}/users"));
    assert_eq!(member_calls.len(), 3, "one call per member page");
    assert_eq!(
        query(&member_calls[0]).get("limit").map(String::as_str),
        Some("200")
    );
}

#[tokio::test]
async fn system_log_polls_from_the_lookback_and_follows_next_links() {
    let org = start_org().await;
    // Three events persisted now, within the lookback (`published` is set to now: the log
    // returns nothing older than 90 days).
    let events: Vec<Value> = [
        "user.session.start.failure",
        "user.mfa.okta_verify.deny_push",
        "security.threat.detected",
    ]
    .iter()
    .map(|f| {
        let mut e = fixture(&format!("events/{f}.json"));
        e.as_object_mut().unwrap().remove("published");
        e
    })
    .collect();
    org.sim.append_events(events);
    let clock = manual_clock();
    let connector = connector_with(&org, json!({"system_log_lookback_hours": 6}), clock, 4);

    let first = connector.signins_page(None).await.unwrap();
    let calls = org.calls_to("/api/v1/logs");
    let request = &query(calls.last().unwrap());
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
        Some(cursor.clone()),
        next_link(calls.last().unwrap()),
        "the cursor is Okta's next link, exactly"
    );

    let second = connector.signins_page(Some(&cursor)).await.unwrap();
    assert_eq!(
        org.calls_to("/api/v1/logs")
            .last()
            .unwrap()
            .query
            .as_deref(),
        Some(query_of(&cursor)),
        "the cursor is requested as it was sent"
    );
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.events[0].event_type, "security.threat.detected");
    assert!(!second.caught_up);

    let cursor = second.next_cursor.unwrap();
    let third = connector.signins_page(Some(&cursor)).await.unwrap();
    assert!(third.events.is_empty());
    assert!(third.caught_up, "an empty polling page means caught up");
    assert_eq!(third.next_cursor.as_deref(), Some(cursor.as_str()));

    let off = connector_with(&org, json!({"ingest_system_log": false}), manual_clock(), 4);
    assert!(matches!(
        off.signins_page(None).await,
        Err(ConnectorError::Unsupported(_))
    ));
}

/// Without `factors` in `enrich`, a users pull reads only the users pages (no call per user),
/// and leaves MFA enrolment unknown so the inventory keeps what it knew; without `roles` it
/// reads no roster and leaves admin standing unknown.
#[tokio::test]
async fn enrichment_is_optional_and_a_pull_without_it_reads_only_users_pages() {
    let org = start_org().await;
    let connector = connector_with(&org, json!({"enrich": []}), manual_clock(), 3);
    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = connector
            .users_page(PullMode::Full, cursor.as_deref())
            .await
            .unwrap();
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(users.len(), 11);
    assert!(users
        .iter()
        .all(|u| u.mfa_enrolled.is_none() && u.is_admin.is_none()));
    let paths: Vec<String> = org.calls().into_iter().map(|c| c.path).collect();
    assert!(
        paths.iter().all(|p| p == "/api/v1/users"),
        "only users pages were read: {paths:?}"
    );

    org.sim.clear_calls();
    let connector = connector_with(&org, json!({"enrich": ["factors"]}), manual_clock(), 3);
    let page = connector.users_page(PullMode::Full, None).await.unwrap();
    assert!(page.items.iter().all(|u| u.mfa_enrolled.is_some()));
    assert!(org.calls().iter().all(|c| !c.path.contains("/iam/")));
}
