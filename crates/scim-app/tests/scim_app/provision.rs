//! Outbound provisioning against the SCIM application simulator, each step checked by the
//! simulator's own users and the calls it recorded: creates with `externalId`; a second run
//! with the same people writes nothing; one changed name is one PATCH; a person all of whose
//! accounts are off is deactivated; the sweep deactivates (never deletes) a person gone from
//! the IdPs; an account the app already had is adopted by `userName`, also after a 409; 429s
//! are waited out as `Retry-After` says; an app without PATCH gets a PUT; an app that does not
//! filter is never sent `filter`, its `/Users` read once per pass instead.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use gatehouse_connect::RetryPolicy;
use gatehouse_core::provider::{Connector, ConnectorContext, Credentials};
use gatehouse_core::records::DesiredAccount;
use gatehouse_core::{IdentityId, IntegrationId, SystemClock, TenantId};
use gatehouse_idp_sim::scim_app::{
    CannedResponse, Fault, NewScimUser, RunningSim, ScimAppConfig, ScimAppSim,
};
use gatehouse_scim_app::ScimAppConnector;
use serde_json::{json, Value};

fn start(config: ScimAppConfig) -> (ScimAppSim, RunningSim, ScimAppConnector) {
    let sim = ScimAppSim::new(config);
    let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_provision").unwrap(),
        integration_id: IntegrationId::generate(sim.clock().now()),
        credentials: Credentials::from_object(
            serde_json::from_value(
                json!({"base_url": running.base_url(), "token": sim.config().token}),
            )
            .unwrap(),
        ),
        config: serde_json::from_value(json!({"provision": true})).unwrap(),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: None,
    };
    let connector = ScimAppConnector::from_context(context, RetryPolicy::default()).unwrap();
    (sim, running, connector)
}

/// Person `i`, with a stable identity id.
pub(crate) fn person(i: usize) -> DesiredAccount {
    let at = chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let id = IdentityId::derive(at, &["person", &i.to_string()]);
    DesiredAccount {
        external_id: id.as_str().to_owned(),
        user_name: format!("person{i:04}@corp.example"),
        given_name: Some(format!("Given{i}")),
        family_name: Some(format!("Family{i}")),
        display_name: Some(format!("Given{i} Family{i}")),
        emails: vec![format!("person{i:04}@corp.example")],
        active: true,
        groups: None,
    }
}

fn by_external_id(sim: &ScimAppSim, external: &str) -> Option<Value> {
    sim.user_ids()
        .into_iter()
        .filter_map(|id| sim.user(&id))
        .find(|u| u["externalId"] == external)
}

#[tokio::test]
async fn creates_then_writes_nothing_then_only_what_changed() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 5,
        ..ScimAppConfig::default()
    });
    let mut people: Vec<DesiredAccount> = (0..30).map(person).collect();
    let report = connector.provision(&people, None).await.unwrap();
    assert_eq!(report.counts.created, 30, "{report:?}");
    assert_eq!(report.counts.failed, 0, "{report:?}");
    assert_eq!(sim.user_ids().len(), 35);
    let ada = by_external_id(&sim, &people[7].external_id).unwrap();
    assert_eq!(ada["userName"], "person0007@corp.example");
    assert_eq!(ada["name"]["familyName"], "Family7");
    assert_eq!(ada["emails"][0]["value"], "person0007@corp.example");
    assert_eq!(ada["active"], true);

    // The same people again: lookups only.
    sim.clear_calls();
    let again = connector.provision(&people, None).await.unwrap();
    assert_eq!(again.counts.unchanged, 30, "{again:?}");
    assert!(sim.writes().is_empty(), "{:?}", sim.writes());

    // One renamed person: one PATCH of that attribute.
    people[3].family_name = Some("Hopper".into());
    sim.clear_calls();
    let renamed = connector.provision(&people, None).await.unwrap();
    assert_eq!((renamed.counts.updated, renamed.counts.unchanged), (1, 29));
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    let ops = writes[0].body.as_ref().unwrap()["Operations"].clone();
    assert_eq!(
        ops,
        json!([{"op": "replace", "path": "name.familyName", "value": "Hopper"}])
    );
    let grace = by_external_id(&sim, &people[3].external_id).unwrap();
    assert_eq!(grace["name"]["familyName"], "Hopper");
    assert_eq!(grace["name"]["givenName"], "Given3");

    // Every account of person 4 suspended: active false, once.
    people[4].active = false;
    let off = connector.provision(&people, None).await.unwrap();
    assert_eq!(off.counts.deactivated, 1, "{off:?}");
    assert_eq!(
        by_external_id(&sim, &people[4].external_id).unwrap()["active"],
        false
    );
    sim.clear_calls();
    let off = connector.provision(&people, None).await.unwrap();
    assert_eq!(off.counts.unchanged, 30, "{off:?}");
    assert!(sim.writes().is_empty());

    // Person 9 gone from every IdP: the sweep deactivates them and nobody else (not the
    // app's own users, which have no Gatehouse externalId), and deletes nothing.
    let keep: HashSet<String> = people
        .iter()
        .filter(|p| p.external_id != people[9].external_id)
        .map(|p| p.external_id.clone())
        .collect();
    sim.clear_calls();
    let swept = connector.provision_sweep(&keep, None).await.unwrap();
    assert_eq!(swept.counts.deactivated, 1, "{swept:?}");
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    let gone = by_external_id(&sim, &people[9].external_id).unwrap();
    assert_eq!(gone["active"], false);
    assert_eq!(sim.user_ids().len(), 35);
    sim.clear_calls();
    let swept = connector.provision_sweep(&keep, None).await.unwrap();
    assert_eq!(swept.counts.deactivated, 0, "{swept:?}");
    assert!(sim.writes().is_empty());

    // Back at an IdP: reactivated.
    let back = connector.provision(&people[9..10], None).await.unwrap();
    assert_eq!(back.counts.updated, 1, "{back:?}");
    assert_eq!(
        by_external_id(&sim, &people[9].external_id).unwrap()["active"],
        true
    );
}

#[tokio::test]
async fn an_existing_account_is_adopted_by_user_name_also_after_a_409() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 3,
        ..ScimAppConfig::default()
    });
    let first = person(1);
    let second = person(2);
    // The app already has both people, under another spelling of their address.
    let had_first = sim.add_user(NewScimUser {
        user_name: Some(first.user_name.to_uppercase()),
        ..NewScimUser::default()
    });
    let had_second = sim.add_user(NewScimUser {
        user_name: Some(second.user_name.clone()),
        given_name: Some("Old".into()),
        ..NewScimUser::default()
    });
    let report = connector
        .provision(std::slice::from_ref(&first), None)
        .await
        .unwrap();
    assert_eq!((report.counts.created, report.counts.updated), (0, 1));
    let adopted = sim.user(&had_first).unwrap();
    assert_eq!(adopted["externalId"], first.external_id.as_str());

    // The lookups miss (the account arrived meanwhile): the create answers 409 uniqueness,
    // and the account is looked up again and adopted, not doubled.
    let empty = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []});
    sim.inject_on(
        "/Users",
        Fault::respond(CannedResponse::json(200, &empty), 2),
    );
    sim.clear_calls();
    let report = connector
        .provision(std::slice::from_ref(&second), None)
        .await
        .unwrap();
    assert_eq!(
        (report.counts.created, report.counts.updated),
        (0, 1),
        "{report:?}"
    );
    let statuses: Vec<(String, u16)> = sim
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST")
        .map(|c| (c.path, c.status))
        .collect();
    assert_eq!(statuses, [("/Users".to_owned(), 409)]);
    let adopted = sim.user(&had_second).unwrap();
    assert_eq!(adopted["externalId"], second.external_id.as_str());
    assert_eq!(adopted["name"]["givenName"], "Given2");
    assert_eq!(sim.user_ids().len(), 5);
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_an_app_without_patch_gets_put() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 0,
        patch: false,
        retry_after_secs: 1,
        ..ScimAppConfig::default()
    });
    let mut people: Vec<DesiredAccount> = (0..4).map(person).collect();
    // Discovery first, so the 429s land on provisioning's calls.
    connector.check().await.unwrap();
    sim.inject_on("/Users", Fault::burst_429(2));
    let started = Instant::now();
    let report = connector.provision(&people, None).await.unwrap();
    assert_eq!(report.counts.created, 4, "{report:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "the 429s' Retry-After was not waited: {:?}",
        started.elapsed()
    );
    let limited = sim.calls().iter().filter(|c| c.status == 429).count();
    assert_eq!(limited, 2);

    people[0].display_name = Some("Renamed".into());
    sim.clear_calls();
    let report = connector.provision(&people, None).await.unwrap();
    assert_eq!(report.counts.updated, 1, "{report:?}");
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PUT");
    let body = writes[0].body.as_ref().unwrap();
    assert_eq!(body["displayName"], "Renamed");
    assert_eq!(body["externalId"], people[0].external_id.as_str());
    assert!(body.get("meta").is_none(), "{body}");
}

fn in_groups(i: usize, groups: &[&str]) -> DesiredAccount {
    DesiredAccount {
        groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
        ..person(i)
    }
}

fn app_id(sim: &ScimAppSim, person: &DesiredAccount) -> String {
    by_external_id(sim, &person.external_id).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Group memberships: the groups are created with Gatehouse's externalId and their members; a
/// second run writes nothing; a person who left a group is removed from it with one PATCH
/// `remove` of `members[value eq "…"]`, one who joined is added; a group the app had that
/// Gatehouse did not create (even one holding provisioned people, even one named like an IdP
/// group) is never written.
#[tokio::test]
async fn group_memberships_follow_the_idps_and_unmanaged_groups_are_left_alone() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 2,
        ..ScimAppConfig::default()
    });
    let mut people = vec![
        in_groups(0, &["Engineering", "Everyone"]),
        in_groups(1, &["Everyone"]),
        in_groups(2, &["Engineering", "Everyone", "Admins"]),
        person(3),
    ];
    // An app group of the app's own, and one named like an IdP group.
    let own = sim.add_group("Sales", None, &[]);
    let clash = sim.add_group("Admins", Some("from-another-idp"), &[]);
    let report = connector.provision(&people, None).await.unwrap();
    assert_eq!(report.counts.created, 4, "{report:?}");
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert!(report.errors[0].contains("Admins"), "{report:?}");
    let ids: Vec<String> = people.iter().map(|p| app_id(&sim, p)).collect();
    let engineering = sim.find_group("Engineering").unwrap();
    assert_eq!(engineering["externalId"], "gatehouse-group:Engineering");
    let engineering = engineering["id"].as_str().unwrap().to_owned();
    let everyone = sim.find_group("Everyone").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        sim.group_members(&engineering),
        sorted(vec![ids[0].clone(), ids[2].clone()])
    );
    assert_eq!(
        sim.group_members(&everyone),
        sorted(vec![ids[0].clone(), ids[1].clone(), ids[2].clone()])
    );
    assert!(sim.group_members(&clash).is_empty());
    assert_eq!(sim.group_ids().len(), 4);

    // The same people again: reads only.
    sim.clear_calls();
    let again = connector.provision(&people, None).await.unwrap();
    assert_eq!(again.counts.unchanged, 4, "{again:?}");
    assert!(sim.writes().is_empty(), "{:?}", sim.writes());

    // Person 2 leaves Engineering, person 1 joins it; someone added to the app's own group
    // and to the clashing one stays there.
    sim.add_group_member(&own, &ids[2]);
    sim.add_group_member(&clash, &ids[2]);
    people[2] = in_groups(2, &["Everyone", "Admins"]);
    people[1] = in_groups(1, &["Everyone", "Engineering"]);
    sim.clear_calls();
    connector.provision(&people, None).await.unwrap();
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].path, format!("/Groups/{engineering}"));
    let ops = writes[0].body.as_ref().unwrap()["Operations"].clone();
    assert_eq!(
        ops,
        json!([{"op": "add", "path": "members", "value": [{"value": ids[1]}]},
            {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[2])}])
    );
    assert_eq!(
        sim.group_members(&engineering),
        sorted(vec![ids[0].clone(), ids[1].clone()])
    );
    assert_eq!(sim.group_members(&own), [ids[2].clone()]);
    assert_eq!(sim.group_members(&clash), [ids[2].clone()]);

    // A person without memberships to provision (groups unset) keeps theirs.
    let unset = person(0);
    sim.clear_calls();
    connector
        .provision(std::slice::from_ref(&unset), None)
        .await
        .unwrap();
    assert!(sim.writes().is_empty(), "{:?}", sim.writes());
}

/// Without PATCH, a group's members change by a PUT of the group; an app without Groups gets
/// no group call at all.
#[tokio::test]
async fn groups_without_patch_are_put_and_apps_without_groups_are_not_asked() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 0,
        patch: false,
        ..ScimAppConfig::default()
    });
    let mut people = vec![in_groups(0, &["Ops"]), in_groups(1, &["Ops"])];
    connector.provision(&people, None).await.unwrap();
    let ids: Vec<String> = people.iter().map(|p| app_id(&sim, p)).collect();
    let ops = sim.find_group("Ops").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.group_members(&ops), sorted(ids.clone()));
    people[1] = in_groups(1, &[]);
    sim.clear_calls();
    connector.provision(&people, None).await.unwrap();
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].path, format!("/Groups/{ops}"));
    assert_eq!(sim.group_members(&ops), [ids[0].clone()]);

    let (sim, _running, connector) = start(ScimAppConfig {
        users: 0,
        groups: false,
        ..ScimAppConfig::default()
    });
    assert!(!connector.provisions_groups().await.unwrap());
    connector
        .provision(&[in_groups(0, &["Ops"])], None)
        .await
        .unwrap();
    assert!(sim.calls().iter().all(|c| !c.path.starts_with("/Groups")));
    assert_eq!(sim.user_ids().len(), 1);
}

/// A group create answered 409 (the group arrived meanwhile) is looked up by `displayName` and
/// used when it is Gatehouse's; 429s on `/Groups` are waited out as `Retry-After` says.
#[tokio::test]
async fn a_409_on_a_group_create_is_looked_up_and_429s_on_groups_are_waited_out() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 0,
        retry_after_secs: 1,
        ..ScimAppConfig::default()
    });
    let people = vec![in_groups(0, &["Ops"]), in_groups(1, &["Ops"])];
    connector.check().await.unwrap();
    // The group exists, Gatehouse's, but the lookups miss it (as an app whose filter lags).
    let first = connector.provision(&people[..1], None).await.unwrap();
    assert!(first.errors.is_empty(), "{first:?}");
    let ops = sim.find_group("Ops").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let empty = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []});
    sim.inject_on("/Groups", Fault::burst_429(1));
    sim.inject_on(
        "/Groups",
        Fault::respond(CannedResponse::json(200, &empty), 2),
    );
    sim.clear_calls();
    let started = Instant::now();
    let report = connector.provision(&people, None).await.unwrap();
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let posts: Vec<u16> = sim
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == "/Groups")
        .map(|c| c.status)
        .collect();
    assert_eq!(posts, [409], "{:?}", sim.calls());
    let limited = sim
        .calls()
        .iter()
        .filter(|c| c.path.starts_with("/Groups") && c.status == 429)
        .count();
    assert_eq!(limited, 1);
    assert_eq!(sim.group_ids(), std::slice::from_ref(&ops));
    let ids: Vec<String> = people.iter().map(|p| app_id(&sim, p)).collect();
    assert_eq!(sim.group_members(&ops), sorted(ids));
}

/// The batches of one pass (each given the state the last returned) read the app's groups
/// once; the sweep ends the pass, and the next pass reads them again.
#[tokio::test]
async fn a_pass_reads_the_groups_once_over_its_batches() {
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 0,
        ..ScimAppConfig::default()
    });
    let people: Vec<DesiredAccount> = (0..6).map(|i| in_groups(i, &["Ops"])).collect();
    let listings = |sim: &ScimAppSim| {
        sim.calls()
            .iter()
            .filter(|c| {
                c.method == "GET"
                    && c.path == "/Groups"
                    && c.query.as_deref().is_some_and(|q| q.contains("startIndex"))
            })
            .count()
    };
    let mut state: Option<String> = None;
    for batch in people.chunks(2) {
        let report = connector.provision(batch, state.as_deref()).await.unwrap();
        assert!(report.errors.is_empty(), "{report:?}");
        state = report.state;
    }
    assert_eq!(listings(&sim), 1, "{:?}", sim.calls());
    let ops = sim.find_group("Ops").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids: Vec<String> = people.iter().map(|p| app_id(&sim, p)).collect();
    assert_eq!(sim.group_members(&ops), sorted(ids.clone()));
    // One POST (the first batch's people) and two PATCHes of adds.
    let writes: Vec<String> = sim
        .writes()
        .iter()
        .filter(|c| c.path.starts_with("/Groups"))
        .map(|c| c.method.clone())
        .collect();
    assert_eq!(writes, ["POST", "PATCH", "PATCH"]);

    let keep: HashSet<String> = people.iter().map(|p| p.external_id.clone()).collect();
    let swept = connector
        .provision_sweep(&keep, state.as_deref())
        .await
        .unwrap();
    assert_eq!(swept.state, None, "the pass's marker is not kept");
    // The next pass (with what the sweep returned) reads again, and writes nothing.
    sim.clear_calls();
    let mut state = swept.state;
    for batch in people.chunks(2) {
        state = connector
            .provision(batch, state.as_deref())
            .await
            .unwrap()
            .state;
    }
    assert_eq!(listings(&sim), 1);
    assert!(sim.writes().is_empty(), "{:?}", sim.writes());
    assert_eq!(sim.group_members(&ops), sorted(ids));
}

/// The calls that wrote (POST, PUT, PATCH, DELETE).
fn mutations(sim: &ScimAppSim) -> usize {
    sim.calls().iter().filter(|c| c.method != "GET").count()
}

/// The `GET /Users` lists (each one page of the app's users).
fn user_lists(sim: &ScimAppSim) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path == "/Users")
        .count()
}

/// No request carried a `filter` parameter.
fn assert_unfiltered(sim: &ScimAppSim) {
    let filtered: Vec<String> = sim
        .calls()
        .into_iter()
        .filter_map(|c| c.query)
        .filter(|q| q.split('&').any(|pair| pair.starts_with("filter=")))
        .collect();
    assert!(filtered.is_empty(), "filtered: {filtered:?}");
}

#[tokio::test]
async fn an_app_that_does_not_filter_is_read_once_per_pass_and_never_filtered() {
    // 7 users per page: 5 of the app's own, 2 already the people's (one adopted), 25 created.
    let (sim, _running, connector) = start(ScimAppConfig {
        users: 5,
        filter: false,
        max_page_size: 7,
        ..ScimAppConfig::default()
    });
    let mut people: Vec<DesiredAccount> = (0..25).map(person).collect();
    // The app already had person 3, under another spelling of the address.
    let had = sim.add_user(NewScimUser {
        user_name: Some(people[3].user_name.to_uppercase()),
        given_name: Some("Old".into()),
        ..NewScimUser::default()
    });

    // First pass, in two batches handing the state on: one read of /Users (6 users, one page
    // of 7), 24 creates and one adoption.
    let first = connector.provision(&people[..10], None).await.unwrap();
    assert!(first
        .state
        .as_deref()
        .is_some_and(|s| s.starts_with("pass:")));
    assert_eq!(user_lists(&sim), 1);
    let second = connector
        .provision(&people[10..], first.state.as_deref())
        .await
        .unwrap();
    assert_eq!(user_lists(&sim), 1, "the pass read /Users again");
    assert_eq!(
        (
            first.counts.created + second.counts.created,
            first.counts.updated
        ),
        (24, 1),
        "{first:?} {second:?}"
    );
    assert_eq!(first.counts.failed + second.counts.failed, 0);
    assert_eq!(mutations(&sim), 25);
    assert_eq!(sim.user_ids().len(), 30, "a duplicate account");
    let adopted = sim.user(&had).unwrap();
    assert_eq!(adopted["externalId"], people[3].external_id.as_str());
    assert_eq!(adopted["name"]["givenName"], "Given3");
    let ada = by_external_id(&sim, &people[7].external_id).unwrap();
    assert_eq!(ada["userName"], "person0007@corp.example");
    // The same person again in the pass (a later batch): found among those it created.
    let again = connector
        .provision(&people[7..8], second.state.as_deref())
        .await
        .unwrap();
    assert_eq!(again.counts.unchanged, 1, "{again:?}");
    assert_eq!((user_lists(&sim), mutations(&sim)), (1, 25));
    let swept = connector
        .provision_sweep(
            &people.iter().map(|p| p.external_id.clone()).collect(),
            again.state.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(swept.counts.deactivated, 0, "{swept:?}");

    // A new pass with the same people: /Users read again (30 users, 5 pages), nothing written.
    assert_unfiltered(&sim);
    sim.clear_calls();
    let rerun = connector.provision(&people, None).await.unwrap();
    assert_eq!(rerun.counts.unchanged, 25, "{rerun:?}");
    assert_eq!(mutations(&sim), 0, "{:?}", sim.writes());
    assert_eq!(user_lists(&sim), 5);

    // One change: one PATCH of that attribute.
    people[12].family_name = Some("Hopper".into());
    assert_unfiltered(&sim);
    sim.clear_calls();
    let changed = connector.provision(&people, None).await.unwrap();
    assert_eq!(
        (changed.counts.updated, changed.counts.unchanged),
        (1, 24),
        "{changed:?}"
    );
    let writes = sim.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(
        writes[0].body.as_ref().unwrap()["Operations"],
        json!([{"op": "replace", "path": "name.familyName", "value": "Hopper"}])
    );

    // The account arrived after the pass read /Users: the create's 409 reads /Users again,
    // once, and adopts it.
    let late = person(40);
    let arrived = sim.add_user(NewScimUser {
        user_name: Some(late.user_name.clone()),
        ..NewScimUser::default()
    });
    let empty = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []});
    sim.inject_on(
        "/Users",
        Fault::respond(CannedResponse::json(200, &empty), 1),
    );
    assert_unfiltered(&sim);
    sim.clear_calls();
    let report = connector
        .provision(std::slice::from_ref(&late), None)
        .await
        .unwrap();
    assert_eq!(
        (report.counts.created, report.counts.updated),
        (0, 1),
        "{report:?}"
    );
    let posts: Vec<u16> = sim
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST")
        .map(|c| c.status)
        .collect();
    assert_eq!(posts, [409]);
    assert_eq!(
        user_lists(&sim),
        1 + 5,
        "the empty read, then one full read"
    );
    assert_eq!(
        sim.user(&arrived).unwrap()["externalId"],
        late.external_id.as_str()
    );
    assert_eq!(sim.user_ids().len(), 31);

    assert_unfiltered(&sim);
}
