//! A pull's page on every backend: accounts and people found by provider id and e-mail and
//! located by the operator by id alone (sled keeps no locator entry for them), the batched
//! lookups a page makes answer in order exactly as the single lookups do, and a page written
//! with its cursor move (on sled by two threads, outside a transaction) reads back whole, with
//! its e-mail indexes moved on a rewrite.

use gatehouse_core::model::{Identity, SyncCursor, User};
use gatehouse_core::{IdentityId, IntegrationId, TenantId, UserId};
use gatehouse_store::{CursorMove, DrawnIds, Locatable, StoreError};

use super::support::{conformance, integration, t0, tenant, user, Backend};

conformance!(
    accounts_and_people_are_found_and_located,
    batched_lookups_answer_like_single_ones,
    a_page_written_with_its_cursor_reads_back_whole,
);

fn person_of(tenant: &TenantId, email: &str, accounts: &[&User]) -> Identity {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    Identity {
        id: IdentityId::parse(&format!("idn_{local}")).unwrap(),
        tenant_id: tenant.clone(),
        emails: vec![email.to_lowercase()],
        display_name: None,
        accounts: accounts.iter().map(|a| a.id.clone()).collect(),
        risk_score: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn moving(integration: &IntegrationId, from: Option<&str>, to: &str) -> CursorMove {
    CursorMove {
        integration: integration.clone(),
        name: "users.page".into(),
        from: from.map(str::to_owned),
        to: SyncCursor {
            value: to.into(),
            updated_at: t0(),
        },
    }
}

async fn accounts_and_people_are_found_and_located(backend: Backend) {
    let store = backend.open().await;
    let (a, b) = (tenant("ten_a"), tenant("ten_b"));
    for t in [&a, &b] {
        store.create_tenant(t).await.unwrap();
    }
    let int = integration(&a.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    let mut ada = user(&a.id, &int.id, 1, "Ada@Corp.example");
    let chosen = user(&a.id, &int.id, 2, "grace@corp.example");
    let person = person_of(&a.id, "Ada@Corp.example", &[&ada]);
    ada.identity_id = Some(person.id.clone());
    store
        .upsert_users_with_identities(
            &a.id,
            &[ada.clone(), chosen.clone()],
            std::slice::from_ref(&person),
        )
        .await
        .unwrap();

    let found = store
        .find_user_by_external_id(&a.id, &int.id, &ada.external_id)
        .await
        .unwrap();
    assert_eq!(found.as_ref().map(|u| &u.id), Some(&ada.id));
    let found = store
        .find_user_by_external_id(&a.id, &int.id, &chosen.external_id)
        .await
        .unwrap();
    assert_eq!(found.as_ref().map(|u| &u.id), Some(&chosen.id));
    let found = store
        .find_identity_by_email(&a.id, "ADA@corp.example")
        .await
        .unwrap();
    assert_eq!(found.map(|p| p.id), Some(person.id.clone()));
    // Another tenant finds none of it, and the operator locates both by id alone.
    assert!(store
        .find_user_by_external_id(&b.id, &int.id, &ada.external_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_identity_by_email(&b.id, "ada@corp.example")
        .await
        .unwrap()
        .is_none());
    for (kind, id) in [
        (Locatable::User, ada.id.as_str()),
        (Locatable::User, chosen.id.as_str()),
        (Locatable::Identity, person.id.as_str()),
    ] {
        assert_eq!(store.locate(kind, id).await.unwrap(), Some(a.id.clone()));
    }
    assert_eq!(
        store.locate(Locatable::User, "usr_unknown").await.unwrap(),
        None
    );
}

async fn batched_lookups_answer_like_single_ones(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a");
    store.create_tenant(&a).await.unwrap();
    let int = integration(&a.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    // Enough for the sled backend to split the lookups over two threads.
    let mut users = Vec::new();
    let mut people = Vec::new();
    for n in 0..150u32 {
        let email = format!("p{n}@x.example");
        let mut account = user(&a.id, &int.id, n, &email);
        let person = person_of(&a.id, &email, &[&account]);
        account.identity_id = Some(person.id.clone());
        users.push(account);
        people.push(person);
    }
    store
        .upsert_users_with_identities(&a.id, &users, &people)
        .await
        .unwrap();

    let mut asked: Vec<String> = (0..160u32).map(|n| format!("00u{n}")).collect();
    asked.swap(3, 155);
    let batched = store
        .find_users_by_external_ids(&a.id, &int.id, &asked)
        .await
        .unwrap();
    assert_eq!(batched.len(), asked.len());
    for (external, answer) in asked.iter().zip(&batched) {
        let single = store
            .find_user_by_external_id(&a.id, &int.id, external)
            .await
            .unwrap();
        assert_eq!(
            answer.as_ref().map(|u| &u.id),
            single.as_ref().map(|u| &u.id)
        );
    }
    assert_eq!(batched.iter().flatten().count(), 150);
    assert!(batched[3].is_none(), "00u155 was never stored");

    let emails: Vec<String> = (0..160u32).map(|n| format!("P{n}@X.example")).collect();
    let batched = store
        .find_identities_by_emails(&a.id, &emails)
        .await
        .unwrap();
    assert_eq!(batched.len(), emails.len());
    for (n, answer) in batched.iter().enumerate() {
        let expected = people.get(n).map(|p| p.id.clone());
        assert_eq!(answer.as_ref().map(|p| p.id.clone()), expected, "{n}");
    }
}

async fn a_page_written_with_its_cursor_reads_back_whole(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a");
    store.create_tenant(&a).await.unwrap();
    let int = integration(&a.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    let page = |generation: u32| {
        let mut users = Vec::new();
        let mut people = Vec::new();
        for n in 0..300u32 {
            let email = if n % 4 == 0 {
                format!("p{n}-g{generation}@x.example")
            } else {
                format!("p{n}@x.example")
            };
            let mut account = user(&a.id, &int.id, n, &email);
            let person = person_of(&a.id, &email, &[&account]);
            account.identity_id = Some(person.id.clone());
            users.push(account);
            people.push(person);
        }
        (users, people)
    };
    let (users, people) = page(1);
    // The first page's ids are all new: the writer says so, and the backend may skip reading
    // what it would replace. Every index entry must still be written.
    let drawn = DrawnIds {
        users: users.iter().map(|u| u.id.clone()).collect(),
        identities: people.iter().map(|p| p.id.clone()).collect(),
    };
    store
        .upsert_users_with_identities_moving(
            &a.id,
            &users,
            &people,
            &drawn,
            &moving(&int.id, None, "p2"),
        )
        .await
        .unwrap();
    let externals: Vec<String> = users.iter().map(|u| u.external_id.clone()).collect();
    let found = store
        .find_users_by_external_ids(&a.id, &int.id, &externals)
        .await
        .unwrap();
    assert_eq!(found.iter().flatten().count(), 300);
    for account in [&users[0], &users[7], &users[299]] {
        let email = account.email.clone().unwrap();
        let by_email = store.find_users_by_email(&a.id, &email).await.unwrap();
        assert_eq!(
            by_email.iter().map(|u| &u.id).collect::<Vec<_>>(),
            [&account.id]
        );
        let person = store.find_identity_by_email(&a.id, &email).await.unwrap();
        assert_eq!(person.map(|p| p.id), account.identity_id.clone(), "{email}");
    }
    let refused = store
        .upsert_users_with_identities_moving(
            &a.id,
            &users,
            &people,
            &DrawnIds::NONE,
            &moving(&int.id, None, "p9"),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::CursorMoved(_)), "{refused:?}");
    // The next page rewrites the same accounts, a quarter of them with a new address.
    let (users, people) = page(2);
    store
        .upsert_users_with_identities_moving(
            &a.id,
            &users,
            &people,
            &DrawnIds::NONE,
            &moving(&int.id, Some("p2"), "p3"),
        )
        .await
        .unwrap();
    let cursor = store
        .get_cursor(&a.id, &int.id, "users.page")
        .await
        .unwrap()
        .map(|c| c.value);
    assert_eq!(cursor.as_deref(), Some("p3"));
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(store.get_users(&a.id, &ids).await.unwrap().len(), 300);
    for n in [0u32, 4, 5, 296] {
        let now = &users[n as usize];
        let email = now.email.clone().unwrap();
        let found = store.find_users_by_email(&a.id, &email).await.unwrap();
        assert_eq!(found.iter().map(|u| &u.id).collect::<Vec<_>>(), [&now.id]);
        let person = store.find_identity_by_email(&a.id, &email).await.unwrap();
        assert!(person.is_some(), "{email}");
        if n % 4 == 0 {
            let old = format!("p{n}-g1@x.example");
            assert!(
                store
                    .find_users_by_email(&a.id, &old)
                    .await
                    .unwrap()
                    .is_empty(),
                "{old} left the account"
            );
        }
    }
}
