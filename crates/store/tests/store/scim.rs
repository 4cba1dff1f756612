//! SCIM resources through the store traits, on every backend: ids and userName conflicts, version
//! checks, the equality indexes, scans, group membership, tenant isolation, concurrent writers,
//! the inventory rows a write carries, and survival across a restart.

use std::sync::Arc;

use gatehouse_core::model::Identity;
use gatehouse_core::{IdentityId, IntegrationId, TenantId};
use gatehouse_scim::ResourceKind;
use gatehouse_store::prelude::*;
use gatehouse_store::{InventoryRows, ScimWrite, StoreError};
use serde_json::{json, Value};

use super::support::{self, conformance, t0, tenant, user, Backend};

const U: ResourceKind = ResourceKind::User;
const G: ResourceKind = ResourceKind::Group;

fn none() -> InventoryRows {
    InventoryRows::default()
}

/// A SCIM User: externalId `Ext-<id>` (case-sensitive), displayName `<name> Smith`.
fn scim_user(id: &str, name: &str, version: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id,
           "userName": name, "externalId": format!("Ext-{id}"),
           "displayName": format!("{name} Smith"), "meta": {"version": version}})
}

fn scim_group(id: &str, name: &str, members: &[&str], version: &str) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id,
           "displayName": name, "members": members, "meta": {"version": version}})
}

fn ids(resources: &[Value]) -> Vec<&str> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

fn conflict<T>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn groups(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect()
}

/// Creates a tenant (once) and its SCIM integration `n` (integration ids are global: one `n` per
/// test). On sled a userName held in an integration that does not exist blocks nobody; on
/// PostgreSQL a resource needs its integration.
async fn scim_integration(store: &dyn Store, tenant_id: &str, n: u32) -> (TenantId, IntegrationId) {
    let t = tenant(tenant_id);
    match store.create_tenant(&t).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => panic!("{e:?}"),
    }
    let mut integration = support::integration(&t.id, n);
    integration.kind = "scim".into();
    integration.ingest_token_hash = None;
    match store.create_integration(&integration, &[]).await {
        Ok(()) => {}
        Err(e) => panic!("{e:?}"),
    }
    (t.id, integration.id)
}

async fn scim_resources_are_created_read_found_scanned_replaced_and_deleted(backend: Backend) {
    let store = backend.open().await;
    let (t, i) = scim_integration(&*store, "ten_crud", 1).await;
    for (id, name) in [
        ("u3", "Carol"),
        ("u1", "Alice"),
        ("u5", "Twin"),
        ("u2", "bob"),
        ("u4", "TWIN2"),
    ] {
        store
            .scim_create(&t, &i, U, &scim_user(id, name, "v1"), &none())
            .await
            .unwrap();
    }
    let alice = scim_user("u1", "Alice", "v1");
    assert_eq!(
        store.scim_get(&t, &i, U, "u1").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.scim_get(&t, &i, U, "u9").await.unwrap(), None);
    assert_eq!(store.scim_get(&t, &i, G, "u1").await.unwrap(), None);
    // A taken id: refused, and the stored resource is untouched.
    let taken = store
        .scim_create(&t, &i, U, &scim_user("u1", "Someone", "v9"), &none())
        .await;
    assert!(conflict(&taken), "{taken:?}");
    assert_eq!(store.scim_get(&t, &i, U, "u1").await.unwrap(), Some(alice));
    assert!(store
        .scim_find(&t, &i, U, "userName", "someone")
        .await
        .unwrap()
        .is_empty());

    // The equality indexes: id and externalId exact, userName and displayName any case.
    let find = |attr: &'static str, value: &'static str| {
        let (store, t, i) = (Arc::clone(&store), t.clone(), i.clone());
        async move { store.scim_find(&t, &i, U, attr, value).await.unwrap() }
    };
    assert_eq!(ids(&find("id", "u1").await), ["u1"]);
    assert!(find("id", "U1").await.is_empty());
    assert_eq!(ids(&find("userName", "aLICE").await), ["u1"]);
    assert_eq!(ids(&find("externalId", "Ext-u2").await), ["u2"]);
    assert!(find("externalId", "ext-u2").await.is_empty());
    assert_eq!(ids(&find("displayName", "CAROL smith").await), ["u3"]);
    assert!(find("displayName", "carol").await.is_empty());
    // Several candidates, in id order.
    store
        .scim_replace(
            &t,
            &i,
            U,
            &json!({"id": "u4", "userName": "TWIN2", "displayName": "TWIN smith",
                    "meta": {"version": "v2"}}),
            "v1",
            &none(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&find("displayName", "twin Smith").await), ["u4", "u5"]);
    assert!(store
        .scim_find(&t, &i, G, "userName", "alice")
        .await
        .unwrap()
        .is_empty());
    let unindexed = store.scim_find(&t, &i, U, "title", "x").await;
    assert!(
        matches!(unindexed, Err(StoreError::Backend(_))),
        "{unindexed:?}"
    );

    // Scans page in id order after the last id seen.
    let scan = |after: Option<&'static str>, limit| {
        let (store, t, i) = (Arc::clone(&store), t.clone(), i.clone());
        async move { store.scim_scan(&t, &i, U, after, limit).await.unwrap() }
    };
    assert_eq!(ids(&scan(None, 2).await), ["u1", "u2"]);
    assert_eq!(ids(&scan(Some("u2"), 2).await), ["u3", "u4"]);
    assert_eq!(ids(&scan(Some("u4"), 2).await), ["u5"]);
    assert!(scan(Some("u5"), 2).await.is_empty());
    assert_eq!(ids(&scan(Some("u0"), 100).await).len(), 5);
    assert_eq!(ids(&scan(Some("u25"), 100).await), ["u3", "u4", "u5"]);
    assert!(scan(None, 0).await.is_empty());
    assert!(store
        .scim_scan(&t, &i, G, None, 10)
        .await
        .unwrap()
        .is_empty());

    // A replace moves every index entry.
    let mut alicia = scim_user("u1", "Alicia", "v2");
    alicia["externalId"] = json!("Ext-new");
    assert_eq!(
        store
            .scim_replace(&t, &i, U, &alicia, "v1", &none())
            .await
            .unwrap(),
        ScimWrite::Written
    );
    assert_eq!(store.scim_get(&t, &i, U, "u1").await.unwrap(), Some(alicia));
    assert!(find("userName", "alice").await.is_empty());
    assert_eq!(ids(&find("userName", "ALICIA").await), ["u1"]);
    assert!(find("externalId", "Ext-u1").await.is_empty());
    assert_eq!(ids(&find("externalId", "Ext-new").await), ["u1"]);
    assert!(find("displayName", "alice smith").await.is_empty());
    let missing = store
        .scim_replace(&t, &i, U, &scim_user("u9", "x", "v2"), "v1", &none())
        .await;
    assert_eq!(missing.unwrap(), ScimWrite::NotFound);
    assert_eq!(store.scim_get(&t, &i, U, "u9").await.unwrap(), None);

    // A delete takes the resource and its index entries, and frees its userName.
    assert_eq!(
        store.scim_delete(&t, &i, U, "u2", None).await.unwrap(),
        ScimWrite::Written
    );
    assert_eq!(store.scim_get(&t, &i, U, "u2").await.unwrap(), None);
    assert!(find("userName", "bob").await.is_empty());
    assert!(find("externalId", "Ext-u2").await.is_empty());
    assert_eq!(ids(&scan(None, 10).await), ["u1", "u3", "u4", "u5"]);
    assert_eq!(
        store.scim_delete(&t, &i, U, "u2", None).await.unwrap(),
        ScimWrite::NotFound
    );
    assert_eq!(
        store
            .scim_delete(&t, &i, U, "u2", Some("v1"))
            .await
            .unwrap(),
        ScimWrite::NotFound
    );
    store
        .scim_create(&t, &i, U, &scim_user("u6", "BOB", "v1"), &none())
        .await
        .unwrap();
    // An id of the other kind is another resource.
    store
        .scim_create(&t, &i, G, &scim_group("u1", "Alicia", &[], "v1"), &none())
        .await
        .unwrap();
    assert_eq!(
        store.scim_delete(&t, &i, G, "u1", None).await.unwrap(),
        ScimWrite::Written
    );
    assert!(store.scim_get(&t, &i, U, "u1").await.unwrap().is_some());
}

async fn scim_user_name_is_unique_across_a_tenants_integrations_not_across_tenants(
    backend: Backend,
) {
    let store = backend.open().await;
    let (a, one) = scim_integration(&*store, "ten_names_a", 1).await;
    let (_, two) = scim_integration(&*store, "ten_names_a", 2).await;
    let (b, three) = scim_integration(&*store, "ten_names_b", 3).await;
    store
        .scim_create(&a, &one, U, &scim_user("1", "Alice", "v1"), &none())
        .await
        .unwrap();
    // Another integration of the same tenant, another case: taken, and nothing written.
    let taken = store
        .scim_create(&a, &two, U, &scim_user("2", "ALICE", "v1"), &none())
        .await;
    assert!(conflict(&taken), "{taken:?}");
    assert_eq!(store.scim_get(&a, &two, U, "2").await.unwrap(), None);
    assert!(store
        .scim_scan(&a, &two, U, None, 10)
        .await
        .unwrap()
        .is_empty());
    // Another tenant: free.
    store
        .scim_create(&b, &three, U, &scim_user("2", "alice", "v1"), &none())
        .await
        .unwrap();
    // Reads stay per integration: integration two of tenant a sees no alice.
    assert!(store
        .scim_find(&a, &two, U, "userName", "alice")
        .await
        .unwrap()
        .is_empty());
    // A rename onto the name is refused too, and leaves the User as it was.
    let bob = scim_user("3", "bob", "v1");
    store.scim_create(&a, &two, U, &bob, &none()).await.unwrap();
    let taken = store
        .scim_replace(&a, &two, U, &scim_user("3", "aLiCe", "v2"), "v1", &none())
        .await;
    assert!(conflict(&taken), "{taken:?}");
    assert_eq!(store.scim_get(&a, &two, U, "3").await.unwrap(), Some(bob));
    // A Group's userName (not a Group attribute) claims nothing.
    store
        .scim_create(
            &a,
            &two,
            G,
            &json!({"id": "g", "displayName": "x", "userName": "alice"}),
            &none(),
        )
        .await
        .unwrap();
    // Changing only the case of one's own name is no conflict.
    let ok = store
        .scim_replace(&a, &one, U, &scim_user("1", "ALICE", "v2"), "v1", &none())
        .await;
    assert_eq!(ok.unwrap(), ScimWrite::Written);
    // Deleting the holder frees the name for the tenant's other integrations.
    store.scim_delete(&a, &one, U, "1", None).await.unwrap();
    let ok = store
        .scim_replace(&a, &two, U, &scim_user("3", "alice", "v2"), "v1", &none())
        .await;
    assert_eq!(ok.unwrap(), ScimWrite::Written);
    // And bob, given up by the rename, is free again.
    store
        .scim_create(&a, &one, U, &scim_user("4", "Bob", "v1"), &none())
        .await
        .unwrap();
    // Users without a userName do not collide.
    for id in ["5", "6"] {
        store
            .scim_create(&a, &one, U, &json!({"id": id}), &none())
            .await
            .unwrap();
    }
}

async fn scim_version_mismatch_is_stale_and_changes_nothing(backend: Backend) {
    let store = backend.open().await;
    let (t, i) = scim_integration(&*store, "ten_versions", 1).await;
    let alice = scim_user("u1", "alice", "v1");
    store.scim_create(&t, &i, U, &alice, &none()).await.unwrap();
    let stale = store
        .scim_replace(&t, &i, U, &scim_user("u1", "alicia", "v3"), "v2", &none())
        .await;
    assert_eq!(stale.unwrap(), ScimWrite::Stale);
    assert_eq!(
        store.scim_get(&t, &i, U, "u1").await.unwrap(),
        Some(alice.clone())
    );
    assert!(store
        .scim_find(&t, &i, U, "userName", "alicia")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .scim_delete(&t, &i, U, "u1", Some("v0"))
            .await
            .unwrap(),
        ScimWrite::Stale
    );
    assert_eq!(store.scim_get(&t, &i, U, "u1").await.unwrap(), Some(alice));

    let group = scim_group("g1", "Admins", &["u1"], "v1");
    store.scim_create(&t, &i, G, &group, &none()).await.unwrap();
    let stale = store
        .scim_replace(
            &t,
            &i,
            G,
            &scim_group("g1", "Owners", &["u2"], "v2"),
            "v0",
            &none(),
        )
        .await;
    assert_eq!(stale.unwrap(), ScimWrite::Stale);
    assert_eq!(
        store.scim_groups_of(&t, &i, "u1").await.unwrap(),
        groups(&[("g1", "Admins")])
    );
    assert!(store.scim_groups_of(&t, &i, "u2").await.unwrap().is_empty());
    assert_eq!(
        store
            .scim_delete(&t, &i, G, "g1", Some("v2"))
            .await
            .unwrap(),
        ScimWrite::Stale
    );
    assert_eq!(store.scim_get(&t, &i, G, "g1").await.unwrap(), Some(group));

    // A resource without meta.version matches no expected version.
    store
        .scim_create(&t, &i, U, &json!({"id": "u2", "userName": "x"}), &none())
        .await
        .unwrap();
    let stale = store
        .scim_replace(&t, &i, U, &scim_user("u2", "y", "v1"), "", &none())
        .await;
    assert_eq!(stale.unwrap(), ScimWrite::Stale);

    // The right versions write.
    assert_eq!(
        store
            .scim_delete(&t, &i, G, "g1", Some("v1"))
            .await
            .unwrap(),
        ScimWrite::Written
    );
    assert_eq!(
        store
            .scim_delete(&t, &i, U, "u1", Some("v1"))
            .await
            .unwrap(),
        ScimWrite::Written
    );
}

async fn scim_group_membership_is_indexed_both_ways(backend: Backend) {
    let store = backend.open().await;
    let (t, i) = scim_integration(&*store, "ten_members", 1).await;
    let (_, other) = scim_integration(&*store, "ten_members", 2).await;
    for (id, name, members) in [
        ("g2", "Admins", &["u1", "u2"][..]),
        ("g1", "Staff", &["u1", "g2", "u1"][..]),
        ("g3", "Empty", &[][..]),
    ] {
        store
            .scim_create(&t, &i, G, &scim_group(id, name, members, "v1"), &none())
            .await
            .unwrap();
    }
    let groups_of = |member: &'static str| {
        let (store, t, i) = (Arc::clone(&store), t.clone(), i.clone());
        async move { store.scim_groups_of(&t, &i, member).await.unwrap() }
    };
    assert_eq!(
        groups_of("u1").await,
        groups(&[("g1", "Staff"), ("g2", "Admins")])
    );
    assert_eq!(groups_of("g2").await, groups(&[("g1", "Staff")]));
    assert!(groups_of("u3").await.is_empty());
    assert!(store
        .scim_groups_of(&t, &other, "u1")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(&store
            .scim_find(&t, &i, G, "displayName", "ADMINS")
            .await
            .unwrap()),
        ["g2"]
    );

    // A replace moves members and the name their groups show.
    store
        .scim_replace(
            &t,
            &i,
            G,
            &scim_group("g2", "Owners", &["u3", "u2"], "v2"),
            "v1",
            &none(),
        )
        .await
        .unwrap();
    assert_eq!(groups_of("u1").await, groups(&[("g1", "Staff")]));
    assert_eq!(groups_of("u2").await, groups(&[("g2", "Owners")]));
    assert_eq!(groups_of("u3").await, groups(&[("g2", "Owners")]));
    // A group without members (the attribute gone) has none.
    store
        .scim_replace(
            &t,
            &i,
            G,
            &json!({"id": "g1", "displayName": "Staff", "meta": {"version": "v2"}}),
            "v1",
            &none(),
        )
        .await
        .unwrap();
    assert!(groups_of("u1").await.is_empty());
    assert!(groups_of("g2").await.is_empty());
    store
        .scim_replace(
            &t,
            &i,
            G,
            &scim_group("g1", "Staff", &["g2"], "v3"),
            "v2",
            &none(),
        )
        .await
        .unwrap();
    // A deleted group's memberships go with it; a group naming it is the caller's to edit.
    assert_eq!(
        store.scim_delete(&t, &i, G, "g2", None).await.unwrap(),
        ScimWrite::Written
    );
    assert!(groups_of("u2").await.is_empty());
    assert!(groups_of("u3").await.is_empty());
    assert_eq!(groups_of("g2").await, groups(&[("g1", "Staff")]));
    // A group created again under a deleted one's id starts with only its own members.
    store
        .scim_create(&t, &i, G, &scim_group("g2", "New", &["u9"], "v1"), &none())
        .await
        .unwrap();
    assert!(groups_of("u2").await.is_empty());
    assert_eq!(groups_of("u9").await, groups(&[("g2", "New")]));
}

async fn scim_reads_and_writes_stay_in_their_tenant_and_integration(backend: Backend) {
    let store = backend.open().await;
    let (a, ia) = scim_integration(&*store, "ten_iso_a", 1).await;
    let (b, ib) = scim_integration(&*store, "ten_iso_b", 2).await;
    let alice = scim_user("u1", "alice", "v1");
    let group = scim_group("g1", "Admins", &["u1"], "v1");
    store
        .scim_create(&a, &ia, U, &alice, &none())
        .await
        .unwrap();
    store
        .scim_create(&a, &ia, G, &group, &none())
        .await
        .unwrap();
    // Tenant b, with tenant a's integration id or its own, reaches none of it.
    for integration in [&ia, &ib] {
        assert_eq!(
            store.scim_get(&b, integration, U, "u1").await.unwrap(),
            None
        );
        for (attr, value) in [
            ("id", "u1"),
            ("userName", "alice"),
            ("externalId", "Ext-u1"),
            ("displayName", "alice smith"),
        ] {
            assert!(store
                .scim_find(&b, integration, U, attr, value)
                .await
                .unwrap()
                .is_empty());
        }
        assert!(store
            .scim_scan(&b, integration, U, None, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .scim_groups_of(&b, integration, "u1")
            .await
            .unwrap()
            .is_empty());
        let replaced = store
            .scim_replace(
                &b,
                integration,
                U,
                &scim_user("u1", "z", "v2"),
                "v1",
                &none(),
            )
            .await;
        assert_eq!(replaced.unwrap(), ScimWrite::NotFound);
        assert_eq!(
            store
                .scim_delete(&b, integration, G, "g1", None)
                .await
                .unwrap(),
            ScimWrite::NotFound
        );
    }
    // Tenant b may use the same ids and name in its own integration.
    let bobs = scim_user("u1", "ALICE", "v7");
    store.scim_create(&b, &ib, U, &bobs, &none()).await.unwrap();
    assert_eq!(
        store.scim_get(&b, &ib, U, "u1").await.unwrap(),
        Some(bobs.clone())
    );
    assert_eq!(
        store.scim_delete(&b, &ib, U, "u1", None).await.unwrap(),
        ScimWrite::Written
    );
    // Tenant a's resources are as they were.
    assert_eq!(store.scim_get(&a, &ia, U, "u1").await.unwrap(), Some(alice));
    assert_eq!(store.scim_get(&a, &ia, G, "g1").await.unwrap(), Some(group));
    assert_eq!(
        store.scim_groups_of(&a, &ia, "u1").await.unwrap(),
        groups(&[("g1", "Admins")])
    );
    assert_eq!(
        ids(&store
            .scim_find(&a, &ia, U, "userName", "Alice")
            .await
            .unwrap()),
        ["u1"]
    );
}

async fn scim_resources_survive_a_restart(backend: Backend) {
    let store = backend.open().await;
    let (t, i) = scim_integration(&*store, "ten_restart", 1).await;
    let (_, other) = scim_integration(&*store, "ten_restart", 2).await;
    store
        .scim_create(&t, &i, U, &scim_user("u1", "alice", "v1"), &none())
        .await
        .unwrap();
    let alicia = scim_user("u1", "Alicia", "v2");
    store
        .scim_replace(&t, &i, U, &alicia, "v1", &none())
        .await
        .unwrap();
    store
        .scim_create(
            &t,
            &i,
            G,
            &scim_group("g1", "Admins", &["u1"], "v1"),
            &none(),
        )
        .await
        .unwrap();
    drop(store);

    let store = backend.open().await;
    assert_eq!(store.scim_get(&t, &i, U, "u1").await.unwrap(), Some(alicia));
    assert_eq!(
        ids(&store
            .scim_find(&t, &i, U, "userName", "alicia")
            .await
            .unwrap()),
        ["u1"]
    );
    assert_eq!(
        store.scim_groups_of(&t, &i, "u1").await.unwrap(),
        groups(&[("g1", "Admins")])
    );
    assert_eq!(
        ids(&store.scim_scan(&t, &i, G, None, 10).await.unwrap()),
        ["g1"]
    );
    let taken = store
        .scim_create(&t, &other, U, &scim_user("u2", "ALICIA", "v1"), &none())
        .await;
    assert!(conflict(&taken), "{taken:?}");
    assert_eq!(
        store
            .scim_replace(&t, &i, U, &scim_user("u1", "a", "v3"), "v1", &none())
            .await
            .unwrap(),
        ScimWrite::Stale
    );
}

async fn concurrent_scim_creates_of_one_user_name_admit_exactly_one(backend: Backend) {
    let store = backend.open().await;
    let mut integrations = Vec::new();
    for n in 0..4 {
        integrations.push(scim_integration(&*store, "ten_race", n).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16usize {
        let store = Arc::clone(&store);
        let (t, i) = integrations[n % 4].clone();
        let name = if n % 2 == 0 { "Carol" } else { "CAROL" };
        tasks.spawn(async move {
            store
                .scim_create(&t, &i, U, &scim_user(&n.to_string(), name, "v1"), &none())
                .await
        });
    }
    let mut results = Vec::new();
    while let Some(result) = tasks.join_next().await {
        results.push(result.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_)))));
    let mut held = 0;
    for (t, i) in &integrations {
        held += store
            .scim_find(t, i, U, "userName", "carol")
            .await
            .unwrap()
            .len();
    }
    assert_eq!(held, 1);
}

async fn concurrent_scim_replaces_of_one_version_admit_exactly_one(backend: Backend) {
    let store = backend.open().await;
    let (t, i) = scim_integration(&*store, "ten_cas", 1).await;
    store
        .scim_create(&t, &i, G, &scim_group("g1", "Team", &[], "v1"), &none())
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16u32 {
        let (store, t, i) = (Arc::clone(&store), t.clone(), i.clone());
        tasks.spawn(async move {
            let member = format!("u{n}");
            let group = scim_group("g1", &format!("Team {n}"), &[&member], &format!("v2-{n}"));
            let answer = store.scim_replace(&t, &i, G, &group, "v1", &none()).await;
            (n, answer.unwrap())
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (n, answer) = result.unwrap();
        match answer {
            ScimWrite::Written => winners.push(n),
            ScimWrite::Stale => {}
            ScimWrite::NotFound => panic!("the group is there"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let n = winners[0];
    let stored = store.scim_get(&t, &i, G, "g1").await.unwrap().unwrap();
    assert_eq!(stored["meta"]["version"], format!("v2-{n}"));
    // Only the winner's membership was written.
    for m in 0..16u32 {
        let expected = if m == n {
            groups(&[("g1", &format!("Team {n}"))])
        } else {
            Vec::new()
        };
        assert_eq!(
            store
                .scim_groups_of(&t, &i, &format!("u{m}"))
                .await
                .unwrap(),
            expected
        );
    }
}

/// The inventory account and identities a SCIM write carries land with it, and not at all when
/// the write is refused (conflict) or misses (stale version).
async fn scim_writes_carry_their_inventory_rows(backend: Backend) {
    let store = backend.open().await;
    let (t, i) = scim_integration(&*store, "ten_rows", 1).await;
    let (_, two) = scim_integration(&*store, "ten_rows", 2).await;
    let identity = |emails: &[&str]| Identity {
        id: IdentityId::parse("idn_000001").unwrap(),
        tenant_id: t.clone(),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        display_name: Some("Grace".into()),
        accounts: vec![user(&t, &i, 1, "x").id],
        risk_score: 0,
        created_at: t0(),
        updated_at: t0(),
    };
    let mut account = user(&t, &i, 1, "Grace@X.example");
    account.emails = vec!["grace@x.example".into(), "G.Hopper@Y.example".into()];
    let rows = InventoryRows {
        users: vec![account.clone()],
        identities: vec![identity(&["grace@x.example"])],
        drawn: Default::default(),
    };
    store
        .scim_create(&t, &i, U, &scim_user("u1", "grace", "v1"), &rows)
        .await
        .unwrap();
    assert_eq!(
        store.get_user(&t, &account.id).await.unwrap(),
        Some(account.clone())
    );
    for email in ["grace@x.example", "g.hopper@y.example"] {
        let found = store.find_users_by_email(&t, email).await.unwrap();
        assert_eq!(found.len(), 1, "{email}");
    }
    let found = store.find_identity_by_email(&t, "grace@x.example").await;
    assert_eq!(found.unwrap().unwrap().id.as_str(), "idn_000001");

    // Refused and stale writes store none of their rows.
    let other = user(&t, &two, 2, "other@x.example");
    let refused = store
        .scim_create(
            &t,
            &two,
            U,
            &scim_user("u2", "GRACE", "v1"),
            &InventoryRows {
                users: vec![other.clone()],
                identities: vec![],
                drawn: Default::default(),
            },
        )
        .await;
    assert!(conflict(&refused), "{refused:?}");
    assert_eq!(store.get_user(&t, &other.id).await.unwrap(), None);
    let mut moved = account.clone();
    moved.email = Some("grace@z.example".into());
    moved.emails.clear();
    let moved_rows = InventoryRows {
        users: vec![moved.clone()],
        identities: vec![identity(&["grace@z.example"])],
        drawn: Default::default(),
    };
    let stale = store
        .scim_replace(
            &t,
            &i,
            U,
            &scim_user("u1", "grace", "v2"),
            "v0",
            &moved_rows,
        )
        .await;
    assert_eq!(stale.unwrap(), ScimWrite::Stale);
    assert_eq!(
        store.get_user(&t, &account.id).await.unwrap(),
        Some(account.clone())
    );
    // A written replace moves the e-mail indexes.
    let written = store
        .scim_replace(
            &t,
            &i,
            U,
            &scim_user("u1", "grace", "v2"),
            "v1",
            &moved_rows,
        )
        .await;
    assert_eq!(written.unwrap(), ScimWrite::Written);
    assert_eq!(store.get_user(&t, &account.id).await.unwrap(), Some(moved));
    assert!(store
        .find_users_by_email(&t, "grace@x.example")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .find_users_by_email(&t, "grace@z.example")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .find_identity_by_email(&t, "grace@x.example")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_identity_by_email(&t, "grace@z.example")
        .await
        .unwrap()
        .is_some());
    // Rows of another tenant are refused with the write.
    let foreign = user(&TenantId::parse("ten_other").unwrap(), &i, 3, "f@x.example");
    let refused = store
        .scim_create(
            &t,
            &i,
            U,
            &scim_user("u3", "f", "v1"),
            &InventoryRows {
                users: vec![foreign],
                identities: vec![],
                drawn: Default::default(),
            },
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(store.scim_get(&t, &i, U, "u3").await.unwrap(), None);
}

conformance!(
    scim_resources_are_created_read_found_scanned_replaced_and_deleted,
    scim_user_name_is_unique_across_a_tenants_integrations_not_across_tenants,
    scim_version_mismatch_is_stale_and_changes_nothing,
    scim_group_membership_is_indexed_both_ways,
    scim_reads_and_writes_stay_in_their_tenant_and_integration,
    scim_resources_survive_a_restart,
    concurrent_scim_creates_of_one_user_name_admit_exactly_one,
    concurrent_scim_replaces_of_one_version_admit_exactly_one,
    scim_writes_carry_their_inventory_rows,
);
