//! User groups (v2) against the JumpCloud simulator: more than a hundred groups and groups of
//! more than a hundred members, each group and each member once; 429s during the groups pull
//! waited out; and, through the daemon's engine, groups and memberships in the inventory
//! (group records with their members' external ids, the accounts' `groups`) following a
//! member's removal and addition at JumpCloud on the next pull.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::provider::Connector;
use gatehouse_core::records::ProviderGroup;
use gatehouse_engine::sync::SyncJob;
use gatehouse_engine::NewIntegration;
use gatehouse_idp_sim::jumpcloud::{CannedResponse, Fault, JumpCloudConfig, JumpCloudSim, NewUser};
use gatehouse_jumpcloud::JumpCloudConnector;
use gatehouse_store::PageRequest;
use serde_json::{json, Value};

use super::sim::{connector_with, start};

/// Retries with short waits, but long enough to honour a `Retry-After` of a second.
fn retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        backoff: Backoff {
            base: Duration::from_millis(5),
            max: Duration::from_millis(50),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(2),
    }
}

fn connector(sim: &JumpCloudSim, base: &str) -> JumpCloudConnector {
    connector_with(base, json!({"api_key": sim.config().api_key}), retries())
}

/// An organization of `users` users and `groups` groups: the first group holds every user,
/// the 150th (when there is one) the first 120, the others one or two users each.
fn org(users: usize, groups: usize) -> (JumpCloudSim, String) {
    let (sim, base) = start(JumpCloudConfig {
        users,
        groups: 0,
        events: 0,
        rate_limit_per_minute: 1_000_000,
        call_log_capacity: 100_000,
        retry_after: Some(1),
        ..JumpCloudConfig::default()
    });
    let ids = sim.user_ids();
    for g in 0..groups {
        let group = sim.create_group(&format!("group {g:03}"));
        let members: Vec<&String> = match g {
            0 => ids.iter().collect(),
            149 => ids.iter().take(120).collect(),
            _ => ids.iter().skip(g % ids.len()).take(1 + g % 2).collect(),
        };
        for member in members {
            assert!(sim.add_to_group(&group, member));
        }
    }
    (sim, base)
}

/// Every page of one groups pass, with the number of pages.
async fn pull(c: &JumpCloudConnector) -> (Vec<ProviderGroup>, usize) {
    let mut groups = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c.groups_page(cursor.as_deref()).await.unwrap();
        pages += 1;
        groups.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (groups, pages),
        }
    }
}

/// Each group once, with exactly the simulator's members.
fn same_as_the_org(sim: &JumpCloudSim, groups: &[ProviderGroup]) {
    let mut times: HashMap<&str, usize> = HashMap::new();
    for group in groups {
        *times.entry(group.external_id.as_str()).or_default() += 1;
    }
    let doubled: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "groups returned twice: {doubled:?}");
    let expected: BTreeSet<String> = sim.group_ids().into_iter().collect();
    let got: BTreeSet<String> = times.keys().map(|id| (*id).to_owned()).collect();
    assert_eq!(got, expected);
    for group in groups {
        assert_eq!(
            group.members,
            sim.group_members(&group.external_id),
            "members of {}",
            group.name
        );
    }
}

#[tokio::test]
async fn more_than_a_hundred_groups_and_members_come_each_once() {
    let (sim, base) = org(250, 230);
    let c = connector(&sim, &base);
    assert!(c.capabilities().groups);
    let (groups, pages) = pull(&c).await;
    same_as_the_org(&sim, &groups);
    assert_eq!(pages, 3, "230 groups in windows of 100 re-reading 10");
    let everyone = groups.iter().find(|g| g.name == "group 000").unwrap();
    assert_eq!(everyone.members.len(), 250);
    assert_eq!(
        groups
            .iter()
            .find(|g| g.name == "group 149")
            .unwrap()
            .members
            .len(),
        120
    );
    // The member list of 250 took windows of 100 at offsets 0, 90, 180.
    let calls = sim.calls();
    let skips: Vec<&str> = calls
        .iter()
        .filter(|c| c.path == format!("/api/v2/usergroups/{}/members", everyone.external_id))
        .filter_map(|c| c.query.as_deref())
        .collect();
    assert_eq!(
        skips,
        [
            "limit=100&skip=0",
            "limit=100&skip=90",
            "limit=100&skip=180"
        ]
    );
    assert!(calls
        .iter()
        .filter(|c| c.path == "/api/v2/usergroups")
        .all(|c| c.query.as_deref().is_some_and(|q| q.contains("limit=100"))));
}

#[tokio::test]
async fn groups_removed_between_pages_shift_the_list_without_a_miss() {
    let (sim, base) = org(30, 230);
    let c = connector(&sim, &base);
    let first = c.groups_page(None).await.unwrap();
    let cursor = first.next_cursor.unwrap();
    // Three groups the first page returned are removed: the listing now answers without them
    // (the simulator has no group removal, so its next listing is the list less them).
    let ids = sim.group_ids();
    let removed: BTreeSet<&String> = ids[10..13].iter().collect();
    let remaining: Vec<Value> = ids
        .iter()
        .filter(|id| !removed.contains(id))
        .skip(90)
        .take(100)
        .map(|id| json!({"id": id, "name": "shifted", "type": "user_group"}))
        .collect();
    sim.inject_on(
        "/api/v2/usergroups",
        Fault::Respond {
            response: CannedResponse::json(200, &Value::Array(remaining)),
            count: 1,
        },
    );
    let second = c.groups_page(Some(&cursor)).await.unwrap();
    let returned: Vec<&String> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|g| &g.external_id)
        .collect();
    let unique: BTreeSet<&String> = returned.iter().copied().collect();
    assert_eq!(unique.len(), returned.len(), "a group came twice");
    // Every group up to the end of the second window came, though the list moved back by 3.
    for id in ids.iter().take(193).filter(|id| !removed.contains(id)) {
        assert!(unique.contains(id), "group {id} was missed");
    }
}

#[tokio::test]
async fn a_429_during_the_groups_pull_is_waited_out() {
    let (sim, base) = org(150, 120);
    let c = connector(&sim, &base);
    // The listing, then a member list: each answered 429 with `Retry-After: 1` first.
    sim.inject_on("/api/v2/usergroups", Fault::burst_429(1));
    let started = Instant::now();
    let first = c.groups_page(None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not waited for"
    );
    sim.inject_on("/api/v2/usergroups", Fault::burst_429(2));
    let second = c.groups_page(first.next_cursor.as_deref()).await.unwrap();
    assert!(second.next_cursor.is_none());
    let groups: Vec<ProviderGroup> = first.items.into_iter().chain(second.items).collect();
    same_as_the_org(&sim, &groups);
    let served = sim
        .calls()
        .iter()
        .filter(|c| c.status == 429 && c.path.starts_with("/api/v2/usergroups"))
        .count();
    assert_eq!(served, 3);
}

#[tokio::test]
async fn a_group_removed_while_its_members_are_read_is_left_out() {
    let (sim, base) = org(20, 5);
    let c = connector(&sim, &base);
    let gone = sim.group_ids()[2].clone();
    sim.inject_on(
        &format!("/api/v2/usergroups/{gone}/members"),
        Fault::Respond {
            response: CannedResponse::json(
                404,
                &json!({"code": 404, "message": "User Group not found", "status": "Not Found"}),
            ),
            count: 1,
        },
    );
    let page = c.groups_page(None).await.unwrap();
    assert_eq!(page.items.len(), 4);
    assert!(page.items.iter().all(|g| g.external_id != gone));
}

/// The daemon's engine with the JumpCloud connector, pulling from `base`.
struct Inventory {
    daemon: gatehouse_testkit::InProcess,
    tenant: gatehouse_core::TenantId,
    integration: gatehouse_core::IntegrationId,
}

impl Inventory {
    async fn start(sim: &JumpCloudSim, base: &str) -> Self {
        let daemon = gatehouse_testkit::InProcess::with_connector(gatehouse_jumpcloud::Factory)
            .await
            .unwrap();
        let gateway = &daemon.app.gateway;
        let tenant = gateway
            .create_tenant("JumpCloud", Some("ten_jc_groups"))
            .await
            .unwrap()
            .id;
        let integration = gateway
            .create_integration(NewIntegration {
                kind: "jumpcloud".into(),
                tenant_id: tenant.clone(),
                credentials: serde_json::from_value(json!({"api_key": sim.config().api_key}))
                    .unwrap(),
                config: serde_json::from_value(json!({"base_url": base, "ingest_signins": false}))
                    .unwrap(),
            })
            .await
            .unwrap()
            .integration
            .id;
        Self {
            daemon,
            tenant,
            integration,
        }
    }

    async fn sync(&self, job: SyncJob) {
        self.daemon
            .app
            .engine
            .sync
            .run(&self.tenant, &self.integration, job)
            .await
            .unwrap();
    }

    /// Group external id → member external ids, as stored.
    async fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = self
                .daemon
                .app
                .store
                .list_groups(&self.tenant, &PageRequest::new(1000, cursor))
                .await
                .unwrap();
            for group in page.items {
                assert_eq!(group.integration_id, self.integration);
                out.insert(group.external_id, group.members);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    }

    /// The stored account's `groups` (group external ids).
    async fn groups_of(&self, user: &str) -> BTreeSet<String> {
        self.daemon
            .app
            .store
            .find_user_by_external_id(&self.tenant, &self.integration, user)
            .await
            .unwrap()
            .unwrap()
            .groups
            .into_iter()
            .collect()
    }
}

/// `POST /api/v2/usergroups/{id}/members` as an administrator would send it.
async fn change_member(sim: &JumpCloudSim, base: &str, group: &str, op: &str, user: &str) {
    let url = format!(
        "{}/api/v2/usergroups/{group}/members",
        base.trim_end_matches('/')
    );
    let answer = reqwest::Client::new()
        .post(url)
        .header("x-api-key", &sim.config().api_key)
        .json(&json!({"op": op, "type": "user", "id": user}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 204, "{op} {user}");
}

#[tokio::test]
async fn groups_and_memberships_land_in_the_inventory_and_follow_member_changes() {
    let (sim, base) = org(130, 105);
    let inventory = Inventory::start(&sim, &base).await;
    inventory.sync(SyncJob::Users).await;
    inventory.sync(SyncJob::Groups).await;

    let stored = inventory.groups().await;
    assert_eq!(stored.len(), 105);
    for (id, members) in &stored {
        assert_eq!(members, &sim.group_members(id), "members of {id}");
    }
    let ids = sim.group_ids();
    let everyone = &ids[0];
    let user = sim.user_ids()[7].clone();
    let expected: BTreeSet<String> = ids
        .iter()
        .filter(|g| sim.group_members(g).contains(&user))
        .cloned()
        .collect();
    assert!(expected.len() >= 2, "{expected:?}");
    assert_eq!(inventory.groups_of(&user).await, expected);

    // At JumpCloud the user leaves the everyone group and joins group 050.
    change_member(&sim, &base, everyone, "remove", &user).await;
    let joined = &ids[50];
    if !sim.group_members(joined).contains(&user) {
        change_member(&sim, &base, joined, "add", &user).await;
    }
    inventory.sync(SyncJob::Groups).await;
    let stored = inventory.groups().await;
    assert_eq!(stored[everyone].len(), 129);
    assert!(!stored[everyone].contains(&user));
    assert!(stored[joined].contains(&user));
    let now = inventory.groups_of(&user).await;
    assert!(!now.contains(everyone), "{now:?}");
    assert!(now.contains(joined), "{now:?}");
    // Another member of the everyone group keeps it.
    let other = sim.user_ids()[8].clone();
    assert!(inventory.groups_of(&other).await.contains(everyone));
}

/// A group removed at JumpCloud leaves the inventory: gone from the stored groups and from its
/// members' `groups`. The connector no longer lists it, and the engine removes the groups a
/// complete pass did not list.
#[tokio::test]
async fn a_group_removed_at_jumpcloud_leaves_the_inventory() {
    let (sim, base) = org(20, 4);
    let inventory = Inventory::start(&sim, &base).await;
    inventory.sync(SyncJob::Users).await;
    inventory.sync(SyncJob::Groups).await;
    let ids = sim.group_ids();
    let gone = ids[0].clone();
    let remaining: Vec<Value> = ids[1..]
        .iter()
        .map(|id| json!({"id": id, "name": id, "type": "user_group"}))
        .collect();
    sim.inject_on(
        "/api/v2/usergroups",
        Fault::Respond {
            response: CannedResponse::json(200, &Value::Array(remaining)),
            count: 1,
        },
    );
    inventory.sync(SyncJob::Groups).await;
    assert!(!inventory.groups().await.contains_key(&gone));
    let member = sim.group_members(&gone)[0].clone();
    assert!(!inventory.groups_of(&member).await.contains(&gone));
}

#[tokio::test]
async fn new_users_added_to_a_group_come_with_it() {
    let (sim, base) = org(5, 2);
    let joined = sim.add_user(NewUser {
        username: Some("late.joiner".into()),
        ..NewUser::default()
    });
    let group = sim.group_ids()[1].clone();
    assert!(sim.add_to_group(&group, &joined));
    let (groups, _) = pull(&connector(&sim, &base)).await;
    let found = groups.iter().find(|g| g.external_id == group).unwrap();
    assert!(found.members.contains(&joined));
}
