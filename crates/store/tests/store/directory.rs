//! The user directory: paging and search of inventory users, and SCIM resources per integration
//! (removed with it, batched creates checked one by one, refused writes storing no rows).

use gatehouse_store::prelude::*;
use std::sync::Arc;

use gatehouse_core::model::User;
use gatehouse_store::{InventoryRows, PageRequest, SledStore, StoreError, UserFilter};

use super::support::{integration, tenant, user};

#[tokio::test]
async fn paging_walks_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_page");
    let i = integration(&a.id, 1);
    let users: Vec<User> = (0..25)
        .map(|n| user(&a.id, &i.id, n, &format!("u{n}@x.example")))
        .collect();
    store.upsert_users(&a.id, &users).await.unwrap();
    let mut page = PageRequest::first(10);
    let mut logins = Vec::new();
    loop {
        let got = store
            .list_users(&a.id, &UserFilter::default(), &page)
            .await
            .unwrap();
        logins.extend(got.items.into_iter().map(|u| u.login));
        match got.next_cursor {
            Some(c) => page = PageRequest::new(10, Some(c)),
            None => break,
        }
    }
    assert_eq!(logins.len(), 25);
    let filter = UserFilter {
        q: Some("U2".into()),
        ..Default::default()
    };
    let got = store
        .list_users(&a.id, &filter, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(got.items.len(), 1 + 5); // u2, u20..u24
}

#[tokio::test]
async fn deleting_a_scim_integration_removes_its_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_scimdel");
    store.create_tenant(&a).await.unwrap();
    let first = integration(&a.id, 1);
    let second = integration(&a.id, 2);
    store.create_integration(&first, &[]).await.unwrap();
    store.create_integration(&second, &[]).await.unwrap();
    let user = |id: &str| {
        serde_json::json!({"id": id, "userName": format!("{id}@x.example"),
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "meta": {"version": "W/\"1\""}})
    };
    let kind = gatehouse_scim::ResourceKind::User;
    let none = InventoryRows::default();
    store
        .scim_create(&a.id, &first.id, kind, &user("u1"), &none)
        .await
        .unwrap();
    store
        .scim_create(&a.id, &second.id, kind, &user("u2"), &none)
        .await
        .unwrap();
    assert!(store.delete_integration(&a.id, &first.id).await.unwrap());
    assert!(store
        .scim_get(&a.id, &first.id, kind, "u1")
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .scim_get(&a.id, &second.id, kind, "u2")
            .await
            .unwrap()
            .is_some(),
        "the other integration keeps its own"
    );
    // The deleted integration's userName is free again in the tenant; the other's is not.
    let mut renamed = user("u3");
    renamed["userName"] = serde_json::json!("U1@x.example");
    store
        .scim_create(&a.id, &second.id, kind, &renamed, &none)
        .await
        .unwrap();
    store.create_integration(&first, &[]).await.unwrap();
    let taken = store
        .scim_create(&a.id, &first.id, kind, &user("u2"), &none)
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
}

/// Creates through the trait go through the batching writer: many at once share transactions,
/// yet each is checked on its own. Same userName in several integrations of one tenant: exactly
/// one wins; distinct names: all win, each with its inventory account.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scim_creates_are_batched_and_checked_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let t = tenant("ten_scimbatch");
    store.create_tenant(&t).await.unwrap();
    for n in [0, 1, 2, 7] {
        store
            .create_integration(&integration(&t.id, n), &[])
            .await
            .unwrap();
    }
    let kind = gatehouse_scim::ResourceKind::User;
    let resource = |id: &str, name: &str| serde_json::json!({"id": id, "userName": name, "meta": {"version": "W/\"1\""}});
    let mut tasks = Vec::new();
    for n in 0..64u32 {
        let (store, tenant) = (Arc::clone(&store), t.id.clone());
        let integration = integration(&tenant, n % 3).id;
        let name = if n % 2 == 0 { "Erin" } else { "ERIN" };
        let r = resource(&format!("same-{n}"), name);
        tasks.push(tokio::spawn(async move {
            store
                .scim_create(&tenant, &integration, kind, &r, &InventoryRows::default())
                .await
        }));
    }
    for n in 0..64u32 {
        let (store, tenant) = (Arc::clone(&store), t.id.clone());
        let integration = integration(&tenant, 7);
        let r = resource(&format!("own-{n}"), &format!("user{n}@x.example"));
        let rows = InventoryRows {
            users: vec![user(
                &tenant,
                &integration.id,
                n,
                &format!("user{n}@x.example"),
            )],
            identities: vec![],
        };
        tasks.push(tokio::spawn(async move {
            store
                .scim_create(&tenant, &integration.id, kind, &r, &rows)
                .await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let (same, own) = results.split_at(64);
    assert_eq!(same.iter().filter(|r| r.is_ok()).count(), 1, "{same:?}");
    assert!(same
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_)))));
    assert!(own.iter().all(Result::is_ok), "{own:?}");
    let int7 = integration(&t.id, 7).id;
    for n in 0..64u32 {
        assert!(store
            .get_user(&t.id, &user(&t.id, &int7, n, "x").id)
            .await
            .unwrap()
            .is_some());
    }
}

/// A refused write leaves its inventory rows unwritten too: they share its transaction.
#[tokio::test]
async fn a_refused_scim_write_stores_none_of_its_inventory_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let t = tenant("ten_scimrows");
    store.create_tenant(&t).await.unwrap();
    for n in [1, 2] {
        store
            .create_integration(&integration(&t.id, n), &[])
            .await
            .unwrap();
    }
    let (one, two) = (integration(&t.id, 1).id, integration(&t.id, 2).id);
    let kind = gatehouse_scim::ResourceKind::User;
    let resource = |id: &str| serde_json::json!({"id": id, "userName": "frank@x.example"});
    let rows = |n| InventoryRows {
        users: vec![user(&t.id, &one, n, "frank@x.example")],
        identities: vec![],
    };
    store
        .scim_create(&t.id, &one, kind, &resource("a"), &rows(1))
        .await
        .unwrap();
    let refused = store
        .scim_create(&t.id, &two, kind, &resource("b"), &rows(2))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let second = user(&t.id, &one, 2, "x").id;
    assert!(store.get_user(&t.id, &second).await.unwrap().is_none());
    assert!(store
        .scim_get(&t.id, &two, kind, "b")
        .await
        .unwrap()
        .is_none());
}

/// Two writers that each set their own field of the same accounts at once (a groups pull's
/// memberships, an action's status) both land: the read and the write of each account are one
/// atomic step, so neither writes back what it read before the other's write.
#[tokio::test]
async fn concurrent_field_updates_of_one_account_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let a = tenant("ten_rmw");
    let i = integration(&a.id, 1);
    let accounts: Vec<User> = (0..8)
        .map(|n| user(&a.id, &i.id, n, &format!("r{n}@x.example")))
        .collect();
    store.upsert_users(&a.id, &accounts).await.unwrap();
    let ids: Vec<_> = accounts.iter().map(|u| u.id.clone()).collect();
    let mut writers = tokio::task::JoinSet::new();
    for round in 0..50u32 {
        let (writer, tenant, targets) = (Arc::clone(&store), a.id.clone(), ids.clone());
        writers.spawn(async move {
            let group = format!("g{round}");
            writer
                .update_users(&tenant, &targets, &|u: &mut User| {
                    u.groups.push(group.clone());
                    true
                })
                .await
                .unwrap()
        });
        let (writer, tenant, targets) = (Arc::clone(&store), a.id.clone(), ids.clone());
        writers.spawn(async move {
            writer
                .update_users(&tenant, &targets, &|u: &mut User| {
                    u.risk_score += 1;
                    true
                })
                .await
                .unwrap()
        });
    }
    while let Some(changed) = writers.join_next().await {
        assert_eq!(changed.unwrap(), 8);
    }
    for id in &ids {
        let u = store.get_user(&a.id, id).await.unwrap().unwrap();
        assert_eq!(u.groups.len(), 50, "a membership write was lost");
        assert_eq!(u.risk_score, 50, "a score write was lost");
    }
    let missing = gatehouse_core::UserId::parse("usr_missing").unwrap();
    assert_eq!(
        store
            .update_users(&a.id, &[missing], &|_: &mut User| true)
            .await
            .unwrap(),
        0
    );
}

/// Re-writing accounts and identities keeps every index in step: unchanged keys stay findable
/// (a re-pull skips rewriting them), moved e-mails and external ids are found only where they
/// now are, and the records stay locatable by id alone.
#[tokio::test]
async fn rewrites_keep_the_indexes_in_step() {
    use gatehouse_core::model::Identity;
    use gatehouse_core::IdentityId;
    use gatehouse_store::Locatable;

    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_index");
    let i = integration(&a.id, 1);
    let mut account = user(&a.id, &i.id, 1, "Ana@x.example");
    account.emails = vec!["ana.old@x.example".into()];
    let mut person = Identity {
        id: IdentityId::parse("idn_000001").unwrap(),
        tenant_id: a.id.clone(),
        emails: vec!["ana@x.example".into()],
        display_name: None,
        accounts: vec![account.id.clone()],
        risk_score: 0,
        created_at: super::support::t0(),
        updated_at: super::support::t0(),
    };
    let write = |account: &User, person: &Identity| {
        let (store, tenant) = (&store, a.id.clone());
        let (account, person) = (account.clone(), person.clone());
        async move {
            store
                .upsert_users_with_identities(&tenant, &[account], &[person])
                .await
                .unwrap()
        }
    };
    let emails_of = |email: &'static str| {
        let (store, tenant) = (&store, a.id.clone());
        async move {
            store
                .find_users_by_email(&tenant, email)
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id.to_string())
                .collect::<Vec<_>>()
        }
    };
    write(&account, &person).await;
    // The same records again: nothing may go missing from the indexes.
    write(&account, &person).await;
    assert_eq!(emails_of("ana@x.example").await, vec!["usr_000001"]);
    assert_eq!(emails_of("ana.old@x.example").await, vec!["usr_000001"]);
    let by_external = store
        .find_user_by_external_id(&a.id, &i.id, "00u1")
        .await
        .unwrap();
    assert_eq!(by_external.map(|u| u.id), Some(account.id.clone()));
    let found = store.find_identity_by_email(&a.id, "ana@x.example").await;
    assert_eq!(found.unwrap().map(|p| p.id), Some(person.id.clone()));
    for (kind, id) in [
        (Locatable::User, account.id.to_string()),
        (Locatable::Identity, person.id.to_string()),
    ] {
        assert_eq!(store.locate(kind, &id).await.unwrap(), Some(a.id.clone()));
    }

    // A secondary e-mail replaced, the external id moved, the identity's e-mail changed.
    account.emails = vec!["ana.new@x.example".into()];
    account.external_id = "00u1-moved".into();
    person.emails = vec!["ana.new@x.example".into()];
    write(&account, &person).await;
    assert_eq!(emails_of("ana@x.example").await, vec!["usr_000001"]);
    assert!(emails_of("ana.old@x.example").await.is_empty());
    assert_eq!(emails_of("ana.new@x.example").await, vec!["usr_000001"]);
    let old_external = store.find_user_by_external_id(&a.id, &i.id, "00u1").await;
    assert!(old_external.unwrap().is_none());
    let moved = store
        .find_user_by_external_id(&a.id, &i.id, "00u1-moved")
        .await
        .unwrap();
    assert_eq!(moved.map(|u| u.id), Some(account.id.clone()));
    let old_person = store.find_identity_by_email(&a.id, "ana@x.example").await;
    assert!(old_person.unwrap().is_none());
    let new_person = store
        .find_identity_by_email(&a.id, "ana.new@x.example")
        .await;
    assert_eq!(new_person.unwrap().map(|p| p.id), Some(person.id));
}

/// Identities list a page at a time within their tenant (no other tenant's identity, each once,
/// in id order), and the search keeps only those whose e-mail or name holds the text.
#[tokio::test]
async fn identities_page_within_their_tenant_and_search() {
    use gatehouse_core::model::Identity;
    use gatehouse_core::IdentityId;
    use gatehouse_store::IdentityFilter;

    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_idsa");
    let b = tenant("ten_idsb");
    let person = |tenant: &gatehouse_core::TenantId, n: u32| Identity {
        id: IdentityId::parse(&format!("idn_{n:06}")).unwrap(),
        tenant_id: tenant.clone(),
        emails: vec![format!("p{n}@x.example")],
        display_name: Some(format!("Person {n}")),
        accounts: Vec::new(),
        risk_score: 0,
        created_at: super::support::t0(),
        updated_at: super::support::t0(),
    };
    let mine: Vec<Identity> = (0..25).map(|n| person(&a.id, n)).collect();
    // Another tenant's identities share the tree and must not leak into this tenant's pages.
    let theirs: Vec<Identity> = (100..110).map(|n| person(&b.id, n)).collect();
    store.put_identities(&mine).await.unwrap();
    store.put_identities(&theirs).await.unwrap();

    let mut page = PageRequest::first(10);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let got = store
            .list_identities(&a.id, &IdentityFilter::default(), &page)
            .await
            .unwrap();
        pages += 1;
        assert!(got.items.len() <= 10);
        seen.extend(got.items.into_iter().map(|i| i.id.to_string()));
        match got.next_cursor {
            Some(c) => page = PageRequest::new(10, Some(c)),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = mine.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(
        seen, expected,
        "every identity of the tenant once, in id order"
    );

    // An exact page: no cursor when nothing follows.
    let exact = store
        .list_identities(&b.id, &IdentityFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 10);
    assert_eq!(exact.next_cursor, None);

    for (q, want) in [
        ("P2", 1 + 5),
        ("person 7", 1),
        ("p24@x.EXAMPLE", 1),
        ("nobody", 0),
    ] {
        let filter = IdentityFilter { q: Some(q.into()) };
        let got = store
            .list_identities(&a.id, &filter, &PageRequest::first(100))
            .await
            .unwrap();
        assert_eq!(got.items.len(), want, "{q}");
    }
}

/// An identity's risk history: a point per change of score (none for the same score again),
/// written with the score itself, the newest 200 kept, nothing for an identity not stored, and
/// gone with its tenant.
#[tokio::test]
async fn risk_history_records_changes_capped_and_goes_with_the_tenant() {
    use chrono::Duration;
    use gatehouse_core::model::{Identity, RiskPoint};
    use gatehouse_core::IdentityId;

    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_risk");
    store.create_tenant(&a).await.unwrap();
    let id = IdentityId::parse("idn_000001").unwrap();
    let t0 = super::support::t0();
    store
        .put_identity(&Identity {
            id: id.clone(),
            tenant_id: a.id.clone(),
            emails: vec!["ana@x.example".into()],
            display_name: None,
            accounts: Vec::new(),
            risk_score: 0,
            created_at: t0,
            updated_at: t0,
        })
        .await
        .unwrap();
    assert!(store
        .identity_risk_history(&a.id, &id)
        .await
        .unwrap()
        .is_empty());

    assert!(store
        .record_identity_risk(&a.id, &id, 40, t0)
        .await
        .unwrap());
    assert!(
        !store
            .record_identity_risk(&a.id, &id, 40, t0 + Duration::minutes(1))
            .await
            .unwrap(),
        "the same score again is no new point"
    );
    assert!(store
        .record_identity_risk(&a.id, &id, 70, t0 + Duration::minutes(2))
        .await
        .unwrap());
    assert_eq!(
        store.identity_risk_history(&a.id, &id).await.unwrap(),
        vec![
            RiskPoint {
                time: t0,
                score: 40
            },
            RiskPoint {
                time: t0 + Duration::minutes(2),
                score: 70
            },
        ]
    );
    let stored = store.get_identity(&a.id, &id).await.unwrap().unwrap();
    assert_eq!(stored.risk_score, 70, "the score is written with its point");
    assert_eq!(stored.emails, vec!["ana@x.example"], "nothing else changes");

    // 300 changes: the newest 200 stay, oldest first.
    for n in 0..300u32 {
        let score = u8::try_from(n % 2).unwrap();
        store
            .record_identity_risk(&a.id, &id, score, t0 + Duration::minutes(10 + i64::from(n)))
            .await
            .unwrap();
    }
    let history = store.identity_risk_history(&a.id, &id).await.unwrap();
    assert_eq!(history.len(), RiskPoint::HISTORY_CAP);
    assert_eq!(history[0].time, t0 + Duration::minutes(10 + 100));
    assert_eq!(
        history.last().unwrap().time,
        t0 + Duration::minutes(10 + 299)
    );
    assert!(history.windows(2).all(|w| w[0].time < w[1].time));

    // An identity not stored gets no history.
    let ghost = IdentityId::parse("idn_ghost").unwrap();
    assert!(!store
        .record_identity_risk(&a.id, &ghost, 50, t0)
        .await
        .unwrap());
    assert!(store
        .identity_risk_history(&a.id, &ghost)
        .await
        .unwrap()
        .is_empty());

    assert!(store.delete_tenant(&a.id).await.unwrap());
    assert!(store
        .identity_risk_history(&a.id, &id)
        .await
        .unwrap()
        .is_empty());
}
