//! The user directory on every backend: accounts (paging, filters, the external-id and e-mail
//! indexes, atomic read-modify-write, deletion), groups, identities (their e-mail index, paging,
//! risk history), tenant isolation and survival across a reopen; and, on sled until the SCIM
//! aggregate lands on PostgreSQL, SCIM resources per integration (removed with it, batched
//! creates checked one by one, refused writes storing no rows).

use gatehouse_store::prelude::*;
use std::sync::Arc;

use chrono::Duration;
use gatehouse_core::model::{Group, Identity, RiskPoint, User, UserStatus};
use gatehouse_core::{GroupId, IdentityId, IntegrationId, TenantId, UserId};
use gatehouse_store::{
    IdentityFilter, InventoryRows, Page, PageRequest, SledStore, Store, StoreError, UserFilter,
    UserSyncMark,
};

use super::support::{conformance, integration, t0, tenant, user, Backend};

conformance!(
    paging_walks_every_record_once,
    sync_marks_page_one_integrations_accounts,
    text_with_nul_characters_is_stored_and_found,
    user_filters_page_like_sled,
    users_stay_within_their_tenant,
    users_by_email_in_id_order_and_moved,
    update_users_writes_what_changed_and_moves_its_indexes,
    concurrent_field_updates_of_one_account_both_land,
    rewrites_keep_the_indexes_in_step,
    groups_upsert_read_and_page_within_their_tenant,
    groups_are_deleted_within_their_tenant,
    identity_emails_are_claimed_and_released,
    identities_page_within_their_tenant_and_search,
    risk_history_records_changes_capped,
    concurrent_risk_recordings_keep_score_and_history_in_step,
    deleting_a_user_removes_its_indexes_and_its_place,
    a_full_directory_page_in_one_write,
    the_directory_survives_a_reopen,
);

fn uid(n: u32) -> UserId {
    UserId::parse(&format!("usr_{n:06}")).unwrap()
}

fn person(tenant: &TenantId, n: u32, emails: &[&str]) -> Identity {
    Identity {
        id: IdentityId::parse(&format!("idn_{n:06}")).unwrap(),
        tenant_id: tenant.clone(),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        display_name: Some(format!("Person {n}")),
        accounts: Vec::new(),
        risk_score: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn group(tenant: &TenantId, integration: &IntegrationId, n: u32) -> Group {
    Group {
        id: GroupId::parse(&format!("grp_{n:06}")).unwrap(),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        external_id: format!("00g{n}"),
        name: format!("Group {n}"),
        description: None,
        members: Vec::new(),
        updated_at: None,
        synced_at: t0(),
        raw: None,
    }
}

fn ids<T>(page: &Page<T>, id: impl Fn(&T) -> String) -> Vec<String> {
    page.items.iter().map(id).collect()
}

fn user_ids(page: &Page<User>) -> Vec<String> {
    ids(page, |u| u.id.to_string())
}

async fn emails_of(store: &Arc<dyn Store>, tenant: &TenantId, email: &str) -> Vec<String> {
    store
        .find_users_by_email(tenant, email)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id.to_string())
        .collect()
}

async fn identity_of(store: &Arc<dyn Store>, tenant: &TenantId, email: &str) -> Option<String> {
    store
        .find_identity_by_email(tenant, email)
        .await
        .unwrap()
        .map(|i| i.id.to_string())
}

async fn paging_walks_every_record_once(backend: Backend) {
    let store = backend.open().await;
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
    let want: Vec<String> = (0..25).map(|n| format!("u{n}@x.example")).collect();
    assert_eq!(logins, want, "each account once, in id order");
    let filter = UserFilter {
        q: Some("U2".into()),
        ..Default::default()
    };
    let got = store
        .list_users(&a.id, &filter, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(got.items.len(), 1 + 5); // u2, u20..u24
                                        // An exact last page has no cursor.
    let exact = store
        .list_users(&a.id, &UserFilter::default(), &PageRequest::first(25))
        .await
        .unwrap();
    assert_eq!((exact.items.len(), exact.next_cursor), (25, None));
}

/// A provider can send U+0000 in an id or an address; PostgreSQL cannot store it (it keeps
/// U+FFFD instead, sled keeps it as sent). Either way the write succeeds and every lookup by
/// what the provider sent finds the account and its person.
async fn text_with_nul_characters_is_stored_and_found(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_nul");
    let i = integration(&a.id, 1);
    let mut account = user(&a.id, &i.id, 1, "nul\u{0}@x.example");
    account.external_id = "ext\u{0}1".into();
    account.display_name = Some("Ann\u{0}".into());
    let mut person = person(&a.id, 1, &["nul\u{0}@x.example"]);
    account.identity_id = Some(person.id.clone());
    person.accounts = vec![account.id.clone()];
    store
        .upsert_users_with_identities(&a.id, &[account.clone()], &[person.clone()])
        .await
        .unwrap();
    let found = store
        .find_users_by_external_ids(&a.id, &i.id, &["ext\u{0}1".to_owned()])
        .await
        .unwrap();
    let found = found[0].as_ref().expect("found by the id sent");
    assert_eq!(found.id, account.id);
    assert!(["Ann\u{0}", "Ann\u{FFFD}"].contains(&found.display_name.as_deref().unwrap()));
    let by_email = store
        .find_users_by_email(&a.id, "NUL\u{0}@x.example")
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    let people = store
        .find_identities_by_emails(&a.id, &["nul\u{0}@x.example".to_owned()])
        .await
        .unwrap();
    assert_eq!(people[0].as_ref().map(|p| &p.id), Some(&person.id));
}

/// The end of a full pull reads every account of its integration as a sync mark (id, last
/// synced, status and flags), in pages, and no other integration's.
async fn sync_marks_page_one_integrations_accounts(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_marks");
    let (mine, other) = (integration(&a.id, 1), integration(&a.id, 2));
    let mut users: Vec<User> = (0..25)
        .map(|n| {
            let of = if n % 5 == 0 { &other } else { &mine };
            let mut user = user(&a.id, &of.id, n, &format!("u{n}@x.example"));
            user.synced_at = t0() + Duration::minutes(i64::from(n));
            user
        })
        .collect();
    users[3].status = UserStatus::Deprovisioned;
    users[3].status_flags = vec!["not_in_full_pull".into()];
    store.upsert_users(&a.id, &users).await.unwrap();
    let mut page = PageRequest::first(7);
    let mut marks = Vec::new();
    loop {
        let got = store
            .list_user_sync_marks(&a.id, &mine.id, &page)
            .await
            .unwrap();
        marks.extend(got.items);
        match got.next_cursor {
            Some(c) => page = PageRequest::new(7, Some(c)),
            None => break,
        }
    }
    let want: Vec<UserSyncMark> = users
        .into_iter()
        .filter(|u| u.integration_id == mine.id)
        .map(UserSyncMark::from)
        .collect();
    assert_eq!(marks.len(), 20);
    assert_eq!(
        marks, want,
        "each of its accounts once, in id order, as stored"
    );
}

/// Every filter, alone and together, with sled's cursor: a full page names its last id when any
/// account of the tenant follows, even one the filter refuses (the next page is then empty).
async fn user_filters_page_like_sled(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_filter");
    let b = tenant("ten_filter_b");
    let (one, two) = (integration(&a.id, 1).id, integration(&a.id, 2).id);
    let mut users = Vec::new();
    for n in 0..12u32 {
        let int = if n >= 8 { &two } else { &one };
        let mut u = user(&a.id, int, n, &format!("u{n}@x.example"));
        if n % 3 == 0 {
            u.status = UserStatus::Suspended;
        }
        if n == 5 {
            u.provider = "google".into();
        }
        if n == 4 || n == 7 {
            u.emails = vec!["Shared@X.example".into()];
        }
        users.push(u);
    }
    store.upsert_users(&a.id, &users).await.unwrap();
    // Another tenant's accounts match every filter below and must never show.
    let mut theirs = user(&b.id, &one, 100, "shared@x.example");
    theirs.status = UserStatus::Suspended;
    theirs.display_name = Some("User 1 of b".into());
    store.upsert_users(&b.id, &[theirs]).await.unwrap();

    let list = |filter: UserFilter, limit: usize, cursor: Option<String>| {
        let (store, tenant) = (Arc::clone(&store), a.id.clone());
        async move {
            store
                .list_users(&tenant, &filter, &PageRequest::new(limit, cursor))
                .await
                .unwrap()
        }
    };
    let suspended = || UserFilter {
        status: Some(UserStatus::Suspended),
        ..Default::default()
    };
    let first = list(suspended(), 2, None).await;
    assert_eq!(user_ids(&first), ["usr_000000", "usr_000003"]);
    assert_eq!(first.next_cursor.as_deref(), Some("usr_000003"));
    let second = list(suspended(), 2, first.next_cursor).await;
    assert_eq!(user_ids(&second), ["usr_000006", "usr_000009"]);
    // Accounts 10 and 11 follow, though neither is suspended.
    assert_eq!(second.next_cursor.as_deref(), Some("usr_000009"));
    let third = list(suspended(), 2, second.next_cursor).await;
    assert!(third.items.is_empty());
    assert_eq!(third.next_cursor, None);
    // A page the filter does not fill has no cursor.
    let all = list(suspended(), 10, None).await;
    assert_eq!(all.items.len(), 4);
    assert_eq!(all.next_cursor, None);

    let by_integration = || UserFilter {
        integration_id: Some(two.clone()),
        ..Default::default()
    };
    let page = list(by_integration(), 3, None).await;
    assert_eq!(user_ids(&page), ["usr_000008", "usr_000009", "usr_000010"]);
    assert_eq!(page.next_cursor.as_deref(), Some("usr_000010"));
    let page = list(by_integration(), 4, None).await;
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.next_cursor, None, "nothing follows the last account");

    let by_email = UserFilter {
        email: Some("SHARED@x.EXAMPLE".into()),
        ..Default::default()
    };
    assert_eq!(
        user_ids(&list(by_email, 10, None).await),
        ["usr_000004", "usr_000007"]
    );
    let by_provider = UserFilter {
        provider: Some("google".into()),
        ..Default::default()
    };
    assert_eq!(user_ids(&list(by_provider, 10, None).await), ["usr_000005"]);

    let search = || UserFilter {
        q: Some("user 1".into()),
        ..Default::default()
    };
    let page = list(search(), 2, None).await;
    assert_eq!(user_ids(&page), ["usr_000001", "usr_000010"]);
    assert_eq!(page.next_cursor.as_deref(), Some("usr_000010"));
    let page = list(search(), 2, page.next_cursor).await;
    assert_eq!(user_ids(&page), ["usr_000011"]);
    assert_eq!(page.next_cursor, None);

    let together = UserFilter {
        status: Some(UserStatus::Suspended),
        integration_id: Some(two.clone()),
        q: Some("9".into()),
        ..Default::default()
    };
    assert_eq!(user_ids(&list(together, 10, None).await), ["usr_000009"]);
    let nobody = UserFilter {
        email: Some("nobody@x.example".into()),
        ..Default::default()
    };
    let page = list(nobody, 10, None).await;
    assert!(page.items.is_empty() && page.next_cursor.is_none());
}

/// Lookups, changes and deletions name a tenant and never reach another's accounts; a batch
/// holding an account of another tenant is refused whole.
async fn users_stay_within_their_tenant(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_iso_a");
    // `ten_iso_a` prefixes `ten_iso_ab`: the scoping must not be a prefix match.
    let ab = tenant("ten_iso_ab");
    let int = integration(&a.id, 1).id;
    let mine = user(&a.id, &int, 1, "same@x.example");
    let mut theirs = user(&ab.id, &int, 2, "same@x.example");
    theirs.external_id = mine.external_id.clone();
    store
        .upsert_users(&a.id, std::slice::from_ref(&mine))
        .await
        .unwrap();
    store
        .upsert_users(&ab.id, std::slice::from_ref(&theirs))
        .await
        .unwrap();

    for (t, own) in [(&a.id, &mine), (&ab.id, &theirs)] {
        let found = store
            .find_user_by_external_id(t, &int, &mine.external_id)
            .await
            .unwrap();
        assert_eq!(found.map(|u| u.id), Some(own.id.clone()));
        assert_eq!(
            emails_of(&store, t, "same@x.example").await,
            [own.id.to_string()]
        );
        let all = store
            .list_users(t, &UserFilter::default(), &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(user_ids(&all), [own.id.to_string()]);
    }
    assert!(store.get_user(&ab.id, &mine.id).await.unwrap().is_none());
    assert_eq!(
        store.get_user(&a.id, &mine.id).await.unwrap(),
        Some(mine.clone())
    );
    let touched = store
        .update_users(&ab.id, std::slice::from_ref(&mine.id), &|u: &mut User| {
            u.risk_score = 99;
            true
        })
        .await
        .unwrap();
    assert_eq!(touched, 0);
    assert!(!store.delete_user(&ab.id, &mine.id).await.unwrap());
    assert_eq!(
        store.get_user(&a.id, &mine.id).await.unwrap(),
        Some(mine.clone())
    );

    // A batch with an account claiming another tenant writes nothing.
    let fresh = user(&a.id, &int, 3, "fresh@x.example");
    let stray = user(&ab.id, &int, 4, "stray@x.example");
    let refused = store.upsert_users(&a.id, &[fresh.clone(), stray]).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(store.get_user(&a.id, &fresh.id).await.unwrap().is_none());
    let refused = store
        .upsert_users_with_identities(
            &a.id,
            std::slice::from_ref(&fresh),
            &[person(&ab.id, 1, &[])],
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(store.get_user(&a.id, &fresh.id).await.unwrap().is_none());
}

/// Every e-mail of an account is found, case-insensitively, the accounts sharing one in id
/// order; a changed e-mail is found only where it now is; an id named twice in one batch ends
/// with its last version.
async fn users_by_email_in_id_order_and_moved(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_email");
    let int = integration(&a.id, 1).id;
    let mut batch = Vec::new();
    for n in [3, 1, 2] {
        let mut u = user(&a.id, &int, n, &format!("own{n}@x.example"));
        u.emails = vec![format!("Team@X.example"), format!("TEAM@x.example")];
        batch.push(u);
    }
    store.upsert_users(&a.id, &batch).await.unwrap();
    assert_eq!(
        emails_of(&store, &a.id, "team@X.EXAMPLE").await,
        ["usr_000001", "usr_000002", "usr_000003"]
    );
    assert_eq!(
        emails_of(&store, &a.id, "OWN2@x.example").await,
        ["usr_000002"]
    );

    let mut moved = batch[2].clone(); // usr_000002
    moved.email = Some("renamed@x.example".into());
    moved.emails.clear();
    store.upsert_users(&a.id, &[moved]).await.unwrap();
    assert!(emails_of(&store, &a.id, "own2@x.example").await.is_empty());
    assert_eq!(
        emails_of(&store, &a.id, "team@x.example").await,
        ["usr_000001", "usr_000003"]
    );
    assert_eq!(
        emails_of(&store, &a.id, "renamed@x.example").await,
        ["usr_000002"]
    );

    let first = user(&a.id, &int, 5, "first@x.example");
    let mut last = user(&a.id, &int, 5, "last@x.example");
    last.external_id = "00u5-last".into();
    store
        .upsert_users(&a.id, &[first, last.clone()])
        .await
        .unwrap();
    assert_eq!(store.get_user(&a.id, &uid(5)).await.unwrap(), Some(last));
    assert!(emails_of(&store, &a.id, "first@x.example").await.is_empty());
    assert_eq!(
        emails_of(&store, &a.id, "last@x.example").await,
        ["usr_000005"]
    );
    let by_old = store
        .find_user_by_external_id(&a.id, &int, "00u5")
        .await
        .unwrap();
    assert!(by_old.is_none());
    let by_new = store
        .find_user_by_external_id(&a.id, &int, "00u5-last")
        .await
        .unwrap();
    assert_eq!(by_new.map(|u| u.id), Some(uid(5)));
    // Another integration's external id of the same text is another account.
    let other = integration(&a.id, 2).id;
    let none = store
        .find_user_by_external_id(&a.id, &other, "00u5-last")
        .await
        .unwrap();
    assert!(none.is_none());
}

/// `update_users` counts and writes only the accounts its change changed, skips ids not
/// stored, and moves the indexes of what it changed.
async fn update_users_writes_what_changed_and_moves_its_indexes(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_update");
    let int = integration(&a.id, 1).id;
    let accounts: Vec<User> = (1..=4)
        .map(|n| user(&a.id, &int, n, &format!("p{n}@x.example")))
        .collect();
    store.upsert_users(&a.id, &accounts).await.unwrap();
    let targets = [
        uid(1),
        uid(2),
        uid(3),
        UserId::parse("usr_missing").unwrap(),
    ];
    let changed = store
        .update_users(&a.id, &targets, &|u: &mut User| {
            if u.id.as_str() == "usr_000002" {
                return false;
            }
            u.email = Some(format!("new-{}", u.login));
            u.external_id.push_str("-moved");
            u.status = UserStatus::Locked;
            true
        })
        .await
        .unwrap();
    assert_eq!(changed, 2);
    for n in [1, 3] {
        let got = store.get_user(&a.id, &uid(n)).await.unwrap().unwrap();
        assert_eq!(got.status, UserStatus::Locked);
        assert!(emails_of(&store, &a.id, &format!("p{n}@x.example"))
            .await
            .is_empty());
        assert_eq!(
            emails_of(&store, &a.id, &format!("new-p{n}@x.example")).await,
            [uid(n).to_string()]
        );
        let moved = store
            .find_user_by_external_id(&a.id, &int, &format!("00u{n}-moved"))
            .await
            .unwrap();
        assert_eq!(moved.map(|u| u.id), Some(uid(n)));
    }
    for n in [2, 4] {
        let got = store.get_user(&a.id, &uid(n)).await.unwrap().unwrap();
        assert_eq!(
            got,
            accounts[n as usize - 1],
            "an unchanged account stays as it was"
        );
    }
    let none = store
        .update_users(&a.id, &[], &|_: &mut User| true)
        .await
        .unwrap();
    assert_eq!(none, 0);
}

/// Two writers that each set their own field of the same accounts at once (a groups pull's
/// memberships, an action's status) both land: the read and the write of each account are one
/// atomic step, so neither writes back what it read before the other's write.
async fn concurrent_field_updates_of_one_account_both_land(backend: Backend) {
    let store = backend.open().await;
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
        // The other writer names the accounts in the opposite order.
        let (writer, tenant) = (Arc::clone(&store), a.id.clone());
        let targets: Vec<_> = ids.iter().rev().cloned().collect();
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
    let missing = UserId::parse("usr_missing").unwrap();
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
/// now are.
async fn rewrites_keep_the_indexes_in_step(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_index");
    let i = integration(&a.id, 1);
    let mut account = user(&a.id, &i.id, 1, "Ana@x.example");
    account.emails = vec!["ana.old@x.example".into()];
    let mut person = Identity {
        accounts: vec![account.id.clone()],
        ..person(&a.id, 1, &["ana@x.example"])
    };
    let write = |account: &User, person: &Identity| {
        let (store, tenant) = (Arc::clone(&store), a.id.clone());
        let (account, person) = (account.clone(), person.clone());
        async move {
            store
                .upsert_users_with_identities(&tenant, &[account], &[person])
                .await
                .unwrap()
        }
    };
    write(&account, &person).await;
    // The same records again: nothing may go missing from the indexes.
    write(&account, &person).await;
    assert_eq!(
        emails_of(&store, &a.id, "ana@x.example").await,
        ["usr_000001"]
    );
    assert_eq!(
        emails_of(&store, &a.id, "ana.old@x.example").await,
        ["usr_000001"]
    );
    let by_external = store
        .find_user_by_external_id(&a.id, &i.id, "00u1")
        .await
        .unwrap();
    assert_eq!(by_external.map(|u| u.id), Some(account.id.clone()));
    assert_eq!(
        identity_of(&store, &a.id, "ana@x.example").await,
        Some(person.id.to_string())
    );
    assert_eq!(
        store.get_identity(&a.id, &person.id).await.unwrap(),
        Some(person.clone())
    );

    // A secondary e-mail replaced, the external id moved, the identity's e-mail changed.
    account.emails = vec!["ana.new@x.example".into()];
    account.external_id = "00u1-moved".into();
    person.emails = vec!["ana.new@x.example".into()];
    write(&account, &person).await;
    assert_eq!(
        emails_of(&store, &a.id, "ana@x.example").await,
        ["usr_000001"]
    );
    assert!(emails_of(&store, &a.id, "ana.old@x.example")
        .await
        .is_empty());
    assert_eq!(
        emails_of(&store, &a.id, "ana.new@x.example").await,
        ["usr_000001"]
    );
    let old_external = store.find_user_by_external_id(&a.id, &i.id, "00u1").await;
    assert!(old_external.unwrap().is_none());
    let moved = store
        .find_user_by_external_id(&a.id, &i.id, "00u1-moved")
        .await
        .unwrap();
    assert_eq!(moved.map(|u| u.id), Some(account.id.clone()));
    assert_eq!(identity_of(&store, &a.id, "ana@x.example").await, None);
    assert_eq!(
        identity_of(&store, &a.id, "Ana.New@x.example").await,
        Some(person.id.to_string())
    );
    // Accounts alone, with no identity, through the same call.
    let mut alone = user(&a.id, &i.id, 2, "solo@x.example");
    store
        .upsert_users_with_identities(&a.id, &[alone.clone()], &[])
        .await
        .unwrap();
    alone.login = "solo".into();
    store
        .upsert_users_with_identities(&a.id, &[alone.clone()], &[])
        .await
        .unwrap();
    assert_eq!(store.get_user(&a.id, &alone.id).await.unwrap(), Some(alone));
    assert_eq!(
        emails_of(&store, &a.id, "solo@x.example").await,
        ["usr_000002"]
    );
}

async fn groups_upsert_read_and_page_within_their_tenant(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_groups");
    let b = tenant("ten_groups_b");
    let int = integration(&a.id, 1).id;
    let groups: Vec<Group> = [4, 1, 3, 0, 2].map(|n| group(&a.id, &int, n)).to_vec();
    store.upsert_groups(&a.id, &groups).await.unwrap();
    store
        .upsert_groups(&b.id, &[group(&b.id, &int, 9)])
        .await
        .unwrap();
    let mut renamed = group(&a.id, &int, 3);
    renamed.name = "Renamed".into();
    renamed.members = vec!["00u1".into()];
    store
        .upsert_groups(&a.id, &[renamed.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.get_group(&a.id, &renamed.id).await.unwrap(),
        Some(renamed.clone())
    );
    assert!(store.get_group(&b.id, &renamed.id).await.unwrap().is_none());

    let gid = |g: &Group| g.id.to_string();
    let first = store
        .list_groups(&a.id, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(ids(&first, gid), ["grp_000000", "grp_000001"]);
    assert_eq!(first.next_cursor.as_deref(), Some("grp_000001"));
    let second = store
        .list_groups(&a.id, &PageRequest::new(3, first.next_cursor))
        .await
        .unwrap();
    assert_eq!(
        ids(&second, gid),
        ["grp_000002", "grp_000003", "grp_000004"]
    );
    assert_eq!(second.next_cursor, None);
    assert_eq!(second.items[1], renamed);
    let theirs = store
        .list_groups(&b.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(ids(&theirs, gid), ["grp_000009"]);

    let stray = group(&b.id, &int, 7);
    assert!(store
        .upsert_groups(&a.id, std::slice::from_ref(&stray))
        .await
        .is_err());
    assert!(store.get_group(&a.id, &stray.id).await.unwrap().is_none());
    assert!(store.get_group(&b.id, &stray.id).await.unwrap().is_none());
}

/// One identity per e-mail in a tenant: an identity's e-mails find it case-insensitively, an
/// e-mail another identity claims moves to it, one an identity drops finds nothing, the later
/// of two claims in one batch wins, and each tenant's index is its own.
async fn identity_emails_are_claimed_and_released(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_claims");
    let b = tenant("ten_claims_b");
    let ana = person(&a.id, 1, &["ana@x.example", "Shared@x.example"]);
    let bob = person(&a.id, 2, &["bob@x.example"]);
    store
        .put_identities(&[ana.clone(), bob.clone()])
        .await
        .unwrap();
    let idn = |n: u32| Some(format!("idn_{n:06}"));
    assert_eq!(identity_of(&store, &a.id, "SHARED@x.example").await, idn(1));
    assert_eq!(identity_of(&store, &a.id, "bob@x.example").await, idn(2));

    // Bob claims the shared e-mail: it moves to him.
    let bob = person(&a.id, 2, &["bob@x.example", "shared@X.example"]);
    store.put_identity(&bob).await.unwrap();
    assert_eq!(identity_of(&store, &a.id, "shared@x.example").await, idn(2));
    assert_eq!(identity_of(&store, &a.id, "ana@x.example").await, idn(1));
    // Bob drops it: nobody has it.
    store
        .put_identity(&person(&a.id, 2, &["bob@x.example"]))
        .await
        .unwrap();
    assert_eq!(identity_of(&store, &a.id, "shared@x.example").await, None);
    assert_eq!(identity_of(&store, &a.id, "bob@x.example").await, idn(2));

    // Two new identities claiming one e-mail in one batch: the later wins.
    store
        .put_identities(&[
            person(&a.id, 3, &["twice@x.example"]),
            person(&a.id, 4, &["twice@x.example", "four@x.example"]),
        ])
        .await
        .unwrap();
    assert_eq!(identity_of(&store, &a.id, "twice@x.example").await, idn(4));
    assert_eq!(identity_of(&store, &a.id, "four@x.example").await, idn(4));

    // One call across tenants: each tenant's e-mail finds its own identity.
    store
        .put_identities(&[
            person(&a.id, 5, &["both@x.example"]),
            person(&b.id, 6, &["both@x.example"]),
        ])
        .await
        .unwrap();
    assert_eq!(identity_of(&store, &a.id, "both@x.example").await, idn(5));
    assert_eq!(identity_of(&store, &b.id, "both@x.example").await, idn(6));
    assert_eq!(identity_of(&store, &b.id, "ana@x.example").await, None);
    assert!(store.get_identity(&b.id, &ana.id).await.unwrap().is_none());
    assert_eq!(store.get_identity(&a.id, &ana.id).await.unwrap(), Some(ana));
}

/// Identities list a page at a time within their tenant (no other tenant's identity, each once,
/// in id order), and the search keeps only those whose e-mail or name holds the text.
async fn identities_page_within_their_tenant_and_search(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_idsa");
    let b = tenant("ten_idsb");
    let mine: Vec<Identity> = (0..25)
        .map(|n| person(&a.id, n, &[&format!("p{n}@x.example")]))
        .collect();
    // Another tenant's identities share the table and must not leak into this tenant's pages.
    let theirs: Vec<Identity> = (100..110)
        .map(|n| person(&b.id, n, &[&format!("p{n}@x.example")]))
        .collect();
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
    // A searched page: full, and identities follow (matching or not), so it has a cursor.
    let filter = IdentityFilter {
        q: Some("P1".into()),
    };
    let got = store
        .list_identities(&a.id, &filter, &PageRequest::first(3))
        .await
        .unwrap();
    let idn = |i: &Identity| i.id.to_string();
    assert_eq!(ids(&got, idn), ["idn_000001", "idn_000010", "idn_000011"]);
    assert_eq!(got.next_cursor.as_deref(), Some("idn_000011"));
    let rest = store
        .list_identities(&a.id, &filter, &PageRequest::new(100, got.next_cursor))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 8); // idn_000012..idn_000019
    assert_eq!(rest.next_cursor, None);
}

/// An identity's risk history: a point per change of score (none for the same score again),
/// written with the score itself, the newest 200 kept, nothing for an identity not stored or
/// named under another tenant.
async fn risk_history_records_changes_capped(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_risk");
    let other = tenant("ten_risk_other");
    let t0 = t0();
    let identity = person(&a.id, 1, &["ana@x.example"]);
    let id = identity.id.clone();
    store.put_identity(&identity).await.unwrap();
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
    assert_eq!(
        stored,
        Identity {
            risk_score: 70,
            ..identity.clone()
        },
        "nothing else changes"
    );
    assert_eq!(
        identity_of(&store, &a.id, "ana@x.example").await,
        Some(id.to_string())
    );

    // Another tenant names the identity: nothing is recorded, nothing is read.
    assert!(!store
        .record_identity_risk(&other.id, &id, 90, t0 + Duration::minutes(3))
        .await
        .unwrap());
    assert!(store
        .identity_risk_history(&other.id, &id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.identity_risk_history(&a.id, &id).await.unwrap().len(),
        2
    );

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
}

/// Concurrent recorders of one identity take turns: the stored score is always the last
/// point's, and no two neighbouring points hold the same score.
async fn concurrent_risk_recordings_keep_score_and_history_in_step(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_risk_race");
    let identity = person(&a.id, 1, &["race@x.example"]);
    store.put_identity(&identity).await.unwrap();
    let mut recorders = tokio::task::JoinSet::new();
    for n in 0..40u32 {
        let (store, tenant, id) = (Arc::clone(&store), a.id.clone(), identity.id.clone());
        recorders.spawn(async move {
            let score = u8::try_from(n % 3).unwrap() * 10;
            let time = t0() + Duration::seconds(i64::from(n));
            store
                .record_identity_risk(&tenant, &id, score, time)
                .await
                .unwrap()
        });
    }
    let mut added = 0;
    while let Some(result) = recorders.join_next().await {
        added += usize::from(result.unwrap());
    }
    let history = store
        .identity_risk_history(&a.id, &identity.id)
        .await
        .unwrap();
    assert_eq!(history.len(), added, "each added point is kept");
    assert!(history.windows(2).all(|w| w[0].score != w[1].score));
    let stored = store
        .get_identity(&a.id, &identity.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(stored.risk_score), history.last().map(|p| p.score));
}

/// Deleting an account removes it, its e-mail and external-id index entries and its place
/// among the accounts of the identity it names (only that identity's), and nothing of another
/// tenant's.
async fn deleting_a_user_removes_its_indexes_and_its_place(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_delete");
    let b = tenant("ten_delete_b");
    let int = integration(&a.id, 1).id;
    let mut gone = user(&a.id, &int, 1, "gone@x.example");
    gone.emails = vec!["team@x.example".into()];
    let mut kept = user(&a.id, &int, 2, "kept@x.example");
    kept.emails = vec!["team@x.example".into()];
    let mut owner = person(&a.id, 1, &["gone@x.example"]);
    owner.accounts = vec![gone.id.clone(), kept.id.clone(), gone.id.clone()];
    // Another identity lists the account too, though the account names the first.
    let mut bystander = person(&a.id, 2, &["other@x.example"]);
    bystander.accounts = vec![gone.id.clone()];
    gone.identity_id = Some(owner.id.clone());
    kept.identity_id = Some(owner.id.clone());
    store
        .upsert_users_with_identities(
            &a.id,
            &[gone.clone(), kept.clone()],
            &[owner.clone(), bystander.clone()],
        )
        .await
        .unwrap();
    let theirs = user(&b.id, &int, 3, "gone@x.example");
    store
        .upsert_users(&b.id, std::slice::from_ref(&theirs))
        .await
        .unwrap();

    assert!(!store.delete_user(&b.id, &gone.id).await.unwrap());
    assert!(store.delete_user(&a.id, &gone.id).await.unwrap());
    assert!(store.get_user(&a.id, &gone.id).await.unwrap().is_none());
    assert!(emails_of(&store, &a.id, "gone@x.example").await.is_empty());
    assert_eq!(
        emails_of(&store, &a.id, "team@x.example").await,
        ["usr_000002"]
    );
    let by_external = store
        .find_user_by_external_id(&a.id, &int, &gone.external_id)
        .await
        .unwrap();
    assert!(by_external.is_none());
    let all = store
        .list_users(&a.id, &UserFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(user_ids(&all), ["usr_000002"]);
    let owner_now = store.get_identity(&a.id, &owner.id).await.unwrap().unwrap();
    assert_eq!(owner_now.accounts, [kept.id.clone()]);
    assert_eq!(
        owner_now,
        Identity {
            accounts: vec![kept.id.clone()],
            ..owner.clone()
        },
        "only the account list changes"
    );
    let bystander_now = store
        .get_identity(&a.id, &bystander.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bystander_now, bystander);
    assert!(!store.delete_user(&a.id, &gone.id).await.unwrap());
    // The other tenant's account of the same e-mail is untouched.
    assert_eq!(
        emails_of(&store, &b.id, "gone@x.example").await,
        ["usr_000003"]
    );

    // An account naming no identity (or one not stored) goes on its own.
    let mut loner = user(&a.id, &int, 4, "loner@x.example");
    loner.identity_id = Some(IdentityId::parse("idn_ghost").unwrap());
    store.upsert_users(&a.id, &[loner.clone()]).await.unwrap();
    assert!(store.delete_user(&a.id, &loner.id).await.unwrap());
    // A deleted account can come back, with its indexes.
    store.upsert_users(&a.id, &[gone.clone()]).await.unwrap();
    assert_eq!(
        emails_of(&store, &a.id, "gone@x.example").await,
        ["usr_000001"]
    );
}

/// A directory page of 999 accounts and their identities in one write, then the same page
/// re-pulled with a third of the e-mails changed: every account, index entry and identity is
/// where it should be.
async fn a_full_directory_page_in_one_write(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_bulk");
    let int = integration(&a.id, 1).id;
    let page = |generation: u32| {
        let mut users = Vec::new();
        let mut people = Vec::new();
        for n in 0..999u32 {
            let email = if n % 3 == 0 {
                format!("p{n}-g{generation}@x.example")
            } else {
                format!("p{n}@x.example")
            };
            let mut u = user(&a.id, &int, n, &email);
            u.emails = vec![format!("P{n}.alias@x.example")];
            let mut p = person(&a.id, n, &[&email]);
            u.identity_id = Some(p.id.clone());
            p.accounts = vec![u.id.clone()];
            users.push(u);
            people.push(p);
        }
        (users, people)
    };
    for generation in [1, 2] {
        let (users, people) = page(generation);
        let started = std::time::Instant::now();
        store
            .upsert_users_with_identities(&a.id, &users, &people)
            .await
            .unwrap();
        eprintln!(
            "999 accounts and identities written in {:?}",
            started.elapsed()
        );
    }
    let mut cursor = None;
    let mut seen = 0;
    loop {
        let got = store
            .list_users(
                &a.id,
                &UserFilter::default(),
                &PageRequest::new(400, cursor),
            )
            .await
            .unwrap();
        seen += got.items.len();
        cursor = got.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, 999);
    for n in [0u32, 1, 2, 300, 997, 998] {
        let current = if n % 3 == 0 {
            format!("p{n}-g2@x.example")
        } else {
            format!("p{n}@x.example")
        };
        assert_eq!(
            emails_of(&store, &a.id, &current).await,
            [uid(n).to_string()]
        );
        assert_eq!(
            emails_of(&store, &a.id, &format!("p{n}.alias@x.example")).await,
            [uid(n).to_string()]
        );
        assert_eq!(
            identity_of(&store, &a.id, &current).await,
            Some(format!("idn_{n:06}"))
        );
        if n % 3 == 0 {
            let stale = format!("p{n}-g1@x.example");
            assert!(emails_of(&store, &a.id, &stale).await.is_empty());
            assert_eq!(identity_of(&store, &a.id, &stale).await, None);
        }
        let by_external = store
            .find_user_by_external_id(&a.id, &int, &format!("00u{n}"))
            .await
            .unwrap();
        assert_eq!(by_external.map(|u| u.id), Some(uid(n)));
    }
    let identities = store
        .list_identities(&a.id, &IdentityFilter::default(), &PageRequest::first(1000))
        .await
        .unwrap();
    assert_eq!(identities.items.len(), 999);
}

/// What was written is there, indexes included, after a restart.
async fn the_directory_survives_a_reopen(backend: Backend) {
    let a = tenant("ten_reopen");
    let int = integration(&a.id, 1).id;
    let mut account = user(&a.id, &int, 1, "kept@x.example");
    let mut identity = person(&a.id, 1, &["kept@x.example"]);
    account.identity_id = Some(identity.id.clone());
    identity.accounts = vec![account.id.clone()];
    {
        let store = backend.open().await;
        store
            .upsert_users_with_identities(
                &a.id,
                &[account.clone()],
                std::slice::from_ref(&identity),
            )
            .await
            .unwrap();
        store
            .upsert_groups(&a.id, &[group(&a.id, &int, 1)])
            .await
            .unwrap();
        store
            .record_identity_risk(&a.id, &identity.id, 55, t0())
            .await
            .unwrap();
    }
    let store = backend.open().await;
    assert_eq!(
        store.get_user(&a.id, &account.id).await.unwrap(),
        Some(account)
    );
    assert_eq!(
        emails_of(&store, &a.id, "kept@x.example").await,
        ["usr_000001"]
    );
    let by_external = store
        .find_user_by_external_id(&a.id, &int, "00u1")
        .await
        .unwrap();
    assert_eq!(by_external.map(|u| u.id), Some(uid(1)));
    assert_eq!(
        identity_of(&store, &a.id, "kept@x.example").await,
        Some(identity.id.to_string())
    );
    let stored = store.get_identity(&a.id, &identity.id).await.unwrap();
    assert_eq!(stored.map(|i| i.risk_score), Some(55));
    assert_eq!(
        store
            .identity_risk_history(&a.id, &identity.id)
            .await
            .unwrap(),
        [RiskPoint {
            time: t0(),
            score: 55
        }]
    );
    let groups = store
        .list_groups(&a.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(groups.items, [group(&a.id, &int, 1)]);
}

// On PostgreSQL only: ids are globally unique there (one `users` and one `identities` table),
// so a batch reusing another tenant's id is refused whole; sled keys records by tenant.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_an_id_of_another_tenant_and_writes_nothing() {
    let backend = Backend::postgres();
    let store = backend.open().await;
    let (a, b) = (tenant("ten_pg_a"), tenant("ten_pg_b"));
    let int = integration(&a.id, 1).id;
    let original = user(&a.id, &int, 1, "a@x.example");
    let original_person = person(&a.id, 1, &["a@x.example"]);
    store
        .upsert_users_with_identities(
            &a.id,
            std::slice::from_ref(&original),
            std::slice::from_ref(&original_person),
        )
        .await
        .unwrap();

    let fresh = user(&b.id, &int, 2, "fresh@x.example");
    let collision = user(&b.id, &int, 1, "b@x.example");
    let refused = store.upsert_users(&b.id, &[fresh.clone(), collision]).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(store.get_user(&b.id, &fresh.id).await.unwrap().is_none());
    assert!(emails_of(&store, &b.id, "fresh@x.example").await.is_empty());
    assert_eq!(
        store.get_user(&a.id, &original.id).await.unwrap(),
        Some(original.clone())
    );

    // Accounts written, then an identity id of another tenant: the accounts roll back too.
    let refused = store
        .upsert_users_with_identities(
            &b.id,
            std::slice::from_ref(&fresh),
            &[person(&b.id, 1, &["fresh@x.example"])],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(store.get_user(&b.id, &fresh.id).await.unwrap().is_none());
    assert_eq!(identity_of(&store, &b.id, "fresh@x.example").await, None);
    assert_eq!(
        store
            .get_identity(&a.id, &original_person.id)
            .await
            .unwrap(),
        Some(original_person)
    );
    assert_eq!(
        identity_of(&store, &a.id, "a@x.example").await,
        Some("idn_000001".into())
    );
}

/// An identity that drops an e-mail another identity has since claimed leaves it with that
/// one. (sled removes the index entry whoever holds it, so the e-mail then finds nobody and
/// the next pull makes a third identity for it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_an_email_with_the_identity_that_claimed_it() {
    let backend = Backend::postgres();
    let store = backend.open().await;
    let a = tenant("ten_pg_claim");
    store
        .put_identity(&person(&a.id, 1, &["ana@x.example", "shared@x.example"]))
        .await
        .unwrap();
    store
        .put_identity(&person(&a.id, 2, &["shared@x.example"]))
        .await
        .unwrap();
    store
        .put_identity(&person(&a.id, 1, &["ana@x.example"]))
        .await
        .unwrap();
    assert_eq!(
        identity_of(&store, &a.id, "shared@x.example").await,
        Some("idn_000002".into())
    );
}

// Tests below also use other aggregates (tenancy's `locate` and `delete_tenant`, SCIM).

/// Accounts and identities stay locatable by id alone after rewrites.
async fn rewritten_records_stay_locatable(backend: Backend) {
    use gatehouse_store::Locatable;

    let store = backend.open().await;
    let a = tenant("ten_locate");
    // Accounts and people are located through their tenant's records (sled keeps no locator
    // entry for them), so the tenant exists, as it always does before its accounts.
    store.create_tenant(&a).await.unwrap();
    let int = integration(&a.id, 1).id;
    let mut account = user(&a.id, &int, 1, "ana@x.example");
    let identity = person(&a.id, 1, &["ana@x.example"]);
    for _ in 0..2 {
        store
            .upsert_users_with_identities(
                &a.id,
                &[account.clone()],
                std::slice::from_ref(&identity),
            )
            .await
            .unwrap();
        account.external_id.push_str("-moved");
    }
    for (kind, id) in [
        (Locatable::User, account.id.to_string()),
        (Locatable::Identity, identity.id.to_string()),
    ] {
        assert_eq!(store.locate(kind, &id).await.unwrap(), Some(a.id.clone()));
    }
    assert!(store.delete_user(&a.id, &account.id).await.unwrap());
    let located = store.locate(Locatable::User, account.id.as_str()).await;
    assert_eq!(located.unwrap(), None);
}

/// An identity's risk history goes with its tenant.
async fn risk_history_goes_with_the_tenant(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_risk_gone");
    store.create_tenant(&a).await.unwrap();
    let identity = person(&a.id, 1, &["ana@x.example"]);
    store.put_identity(&identity).await.unwrap();
    assert!(store
        .record_identity_risk(&a.id, &identity.id, 40, t0())
        .await
        .unwrap());
    assert!(store.delete_tenant(&a.id).await.unwrap());
    assert!(store
        .identity_risk_history(&a.id, &identity.id)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .get_identity(&a.id, &identity.id)
        .await
        .unwrap()
        .is_none());
}

async fn deleting_a_scim_integration_removes_its_resources(backend: Backend) {
    let store = backend.open().await;
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
            drawn: Default::default(),
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
async fn a_refused_scim_write_stores_none_of_its_inventory_rows(backend: Backend) {
    let store = backend.open().await;
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
        drawn: Default::default(),
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

conformance!(rewritten_records_stay_locatable);

conformance!(risk_history_goes_with_the_tenant);

conformance!(deleting_a_scim_integration_removes_its_resources);

conformance!(a_refused_scim_write_stores_none_of_its_inventory_rows);

/// Groups a complete pass no longer lists are deleted: only the caller's tenant's, and the
/// count says how many existed.
async fn groups_are_deleted_within_their_tenant(backend: Backend) {
    let store = backend.open().await;
    let (a, b) = (tenant("ten_a"), tenant("ten_b"));
    for t in [&a, &b] {
        store.create_tenant(t).await.unwrap();
    }
    let (int_a, int_b) = (integration(&a.id, 1).id, integration(&b.id, 2).id);
    let ours: Vec<Group> = (0..3).map(|n| group(&a.id, &int_a, n)).collect();
    store.upsert_groups(&a.id, &ours).await.unwrap();
    store
        .upsert_groups(&b.id, &[group(&b.id, &int_b, 0)])
        .await
        .unwrap();
    let gone = [
        ours[0].id.clone(),
        ours[2].id.clone(),
        GroupId::parse("grp_never").unwrap(),
    ];
    assert_eq!(store.delete_groups(&a.id, &gone).await.unwrap(), 2);
    let left = store
        .list_groups(&a.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(ids(&left, |g| g.id.to_string()), [ours[1].id.to_string()]);
    // The same id in another tenant is that tenant's, and stays.
    assert_eq!(store.delete_groups(&b.id, &[]).await.unwrap(), 0);
    assert!(store.get_group(&b.id, &ours[0].id).await.unwrap().is_some());
}
