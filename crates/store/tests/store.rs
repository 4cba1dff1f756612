//! Store behaviour: tenant isolation, persistence across reopen, group commit under many writers,
//! dedupe and token rotation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{
    Integration, IntegrationStatus, Outcome, SealedSecret, SignInEvent, Tenant, TenantSettings,
    TokenKind, TokenRecord, User, UserStatus,
};
use gatehouse_core::{IntegrationId, SignInId, TenantId, UserId};
use gatehouse_store::{
    InventoryRows, Locatable, PageRequest, SignInFilter, SledStore, Store, StoreError, UserFilter,
};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: TenantId::parse(id).unwrap(),
        name: format!("Tenant {id}"),
        settings: TenantSettings::default(),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn integration(tenant: &TenantId, n: u32) -> Integration {
    Integration {
        id: IntegrationId::parse(&format!("int_{n:04}")).unwrap(),
        tenant_id: tenant.clone(),
        kind: "okta".into(),
        config: serde_json::Map::new(),
        status: IntegrationStatus::Active,
        credentials: SealedSecret {
            key_id: "k1".into(),
            sealed: "opaque".into(),
        },
        ingest_token_hash: Some(format!("hash-{tenant}-{n}")),
        scim_token_hash: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn token(
    hash: &str,
    kind: TokenKind,
    tenant: &TenantId,
    integration: Option<&IntegrationId>,
) -> TokenRecord {
    TokenRecord {
        hash: hash.into(),
        kind,
        tenant_id: Some(tenant.clone()),
        integration_id: integration.cloned(),
        api_key_id: None,
        created_at: t0(),
        expires_at: None,
    }
}

fn user(tenant: &TenantId, integration: &IntegrationId, n: u32, email: &str) -> User {
    User {
        id: UserId::parse(&format!("usr_{n:06}")).unwrap(),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        external_id: format!("00u{n}"),
        login: email.into(),
        email: Some(email.into()),
        emails: vec![],
        display_name: Some(format!("User {n}")),
        given_name: None,
        family_name: None,
        status: UserStatus::Active,
        status_flags: vec![],
        department: None,
        title: None,
        manager: None,
        groups: vec![],
        mfa_enrolled: Some(true),
        mfa_factors: vec![],
        is_admin: false,
        identity_id: None,
        risk_score: 0,
        created_at: None,
        last_login_at: None,
        updated_at: None,
        synced_at: t0(),
        raw: None,
    }
}

fn signin(
    tenant: &TenantId,
    integration: &IntegrationId,
    event_id: &str,
    minute: i64,
) -> SignInEvent {
    let time = t0() + Duration::minutes(minute);
    SignInEvent {
        id: SignInId::derive(time, &[integration.as_str(), event_id]),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        provider_event_id: event_id.into(),
        time,
        category: Default::default(),
        event_type: "user.session.start".into(),
        user_id: None,
        external_user_id: None,
        login: Some("a@example.com".into()),
        outcome: Outcome::Failure,
        reason: Some("INVALID_CREDENTIALS".into()),
        ip: Some("203.0.113.9".into()),
        country: None,
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: None,
        device: None,
        mfa_factor: None,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        raw: None,
    }
}

#[tokio::test]
async fn tenants_never_see_each_others_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_a");
    let b = tenant("ten_b");
    // `ten_a` is a prefix of `ten_ab`: the key separator must keep them apart.
    let ab = tenant("ten_ab");
    for t in [&a, &b, &ab] {
        store.create_tenant(t).await.unwrap();
    }
    let int_a = integration(&a.id, 1);
    store.create_integration(&int_a, &[]).await.unwrap();
    store
        .upsert_users(&a.id, &[user(&a.id, &int_a.id, 1, "alice@a.example")])
        .await
        .unwrap();
    store
        .insert_signins(&a.id, &[signin(&a.id, &int_a.id, "e1", 0)])
        .await
        .unwrap();

    for other in [&b.id, &ab.id] {
        assert!(store
            .get_integration(other, &int_a.id)
            .await
            .unwrap()
            .is_none());
        assert!(store
            .get_user(other, &UserId::parse("usr_000001").unwrap())
            .await
            .unwrap()
            .is_none());
        let page = PageRequest::first(100);
        assert!(store
            .list_users(other, &UserFilter::default(), &page)
            .await
            .unwrap()
            .items
            .is_empty());
        assert!(store
            .list_integrations(other, &page)
            .await
            .unwrap()
            .items
            .is_empty());
        assert!(store
            .list_signins(other, &SignInFilter::default(), &page)
            .await
            .unwrap()
            .items
            .is_empty());
        assert!(store
            .find_users_by_email(other, "alice@a.example")
            .await
            .unwrap()
            .is_empty());
    }
    // A record claiming another tenant is refused rather than written under the wrong scope.
    let err = store
        .upsert_users(&b.id, &[user(&a.id, &int_a.id, 2, "x@a.example")])
        .await;
    assert!(err.is_err());
    assert_eq!(
        store
            .locate(Locatable::Integration, int_a.id.as_str())
            .await
            .unwrap(),
        Some(a.id.clone())
    );

    // Deleting tenant a leaves ab and b whole and removes a's tokens and index entries.
    store
        .create_integration(
            &integration(&ab.id, 2),
            &[token("tok-ab", TokenKind::Ingest, &ab.id, None)],
        )
        .await
        .unwrap();
    store
        .put_token(&token("tok-a", TokenKind::TenantApi, &a.id, None))
        .await
        .unwrap();
    assert!(store.delete_tenant(&a.id).await.unwrap());
    assert!(store.get_tenant(&a.id).await.unwrap().is_none());
    assert!(store.find_token("tok-a").await.unwrap().is_none());
    assert!(store.find_token("tok-ab").await.unwrap().is_some());
    assert!(store
        .locate(Locatable::Integration, int_a.id.as_str())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .list_integrations(&ab.id, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(!store.delete_tenant(&a.id).await.unwrap());
}

#[tokio::test]
async fn records_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = tenant("ten_persist");
    let int_a = integration(&a.id, 7);
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.create_tenant(&a).await.unwrap();
        store
            .create_integration(
                &int_a,
                &[token("h-in", TokenKind::Ingest, &a.id, Some(&int_a.id))],
            )
            .await
            .unwrap();
        store
            .upsert_users(&a.id, &[user(&a.id, &int_a.id, 1, "Bob@Example.com")])
            .await
            .unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.get_tenant(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.get_integration(&a.id, &int_a.id).await.unwrap(),
        Some(int_a.clone())
    );
    assert_eq!(
        store.find_token("h-in").await.unwrap().unwrap().kind,
        TokenKind::Ingest
    );
    let by_email = store
        .find_users_by_email(&a.id, "bob@example.COM")
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    let by_ext = store
        .find_user_by_external_id(&a.id, &int_a.id, "00u1")
        .await
        .unwrap();
    assert_eq!(by_ext.map(|u| u.login), Some("Bob@Example.com".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_concurrent_writers_all_commit_and_survive_reopen() {
    const WRITERS: u32 = 400;
    let dir = tempfile::tempdir().unwrap();
    let a = tenant("ten_load");
    let int_a = integration(&a.id, 1);
    let rounds;
    {
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        store.create_tenant(&a).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..WRITERS {
            let store = Arc::clone(&store);
            let (tenant, integration) = (a.id.clone(), int_a.id.clone());
            tasks.push(tokio::spawn(async move {
                let event = signin(&tenant, &integration, &format!("evt-{n}"), i64::from(n));
                store
                    .insert_signins(&tenant, &[event])
                    .await
                    .map(|fresh| fresh.len())
            }));
        }
        let results = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            futures::future::join_all(tasks),
        )
        .await
        .expect("group commit must not deadlock");
        for r in results {
            assert_eq!(r.unwrap().unwrap(), 1);
        }
        let stats = store.commit_stats();
        rounds = stats.rounds.load(Ordering::Relaxed);
        assert_eq!(
            stats.writers.load(Ordering::Relaxed),
            u64::from(WRITERS) + 1
        );
        store.close().await.unwrap();
    }
    // Writers were released in far fewer flushes than there were writers.
    assert!(
        rounds < u64::from(WRITERS),
        "{rounds} rounds for {WRITERS} writers"
    );
    let store = SledStore::open(dir.path()).unwrap();
    let mut seen = 0;
    let mut page = PageRequest::first(1000);
    loop {
        let got = store
            .list_signins(&a.id, &SignInFilter::default(), &page)
            .await
            .unwrap();
        seen += got.items.len();
        match got.next_cursor {
            Some(c) => page = PageRequest::new(1000, Some(c)),
            None => break,
        }
    }
    assert_eq!(seen, WRITERS as usize);
}

#[tokio::test]
async fn signins_are_deduplicated_by_provider_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_dedupe");
    let i = integration(&a.id, 1);
    let first = store
        .insert_signins(
            &a.id,
            &[signin(&a.id, &i.id, "e1", 0), signin(&a.id, &i.id, "e2", 1)],
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    let again = store
        .insert_signins(
            &a.id,
            &[signin(&a.id, &i.id, "e2", 1), signin(&a.id, &i.id, "e3", 2)],
        )
        .await
        .unwrap();
    assert_eq!(again, vec![1], "only e3, the second of the batch, is new");
    let filter = SignInFilter {
        since: Some(t0() + Duration::minutes(1)),
        ..Default::default()
    };
    let page = store
        .list_signins(&a.id, &filter, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
}

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
async fn rotation_swaps_the_token_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_rot");
    store.create_tenant(&a).await.unwrap();
    let i = integration(&a.id, 1);
    let old_hash = i.ingest_token_hash.clone().unwrap();
    store
        .create_integration(
            &i,
            &[token(&old_hash, TokenKind::Ingest, &a.id, Some(&i.id))],
        )
        .await
        .unwrap();
    let new = token("new-hash", TokenKind::Ingest, &a.id, Some(&i.id));
    let updated = store
        .rotate_integration_token(&a.id, &i.id, &new)
        .await
        .unwrap();
    assert_eq!(updated.ingest_token_hash.as_deref(), Some("new-hash"));
    assert!(store.find_token(&old_hash).await.unwrap().is_none());
    assert!(store.find_token("new-hash").await.unwrap().is_some());
    // Another tenant cannot rotate it.
    let b = TenantId::parse("ten_other").unwrap();
    assert!(store
        .rotate_integration_token(&b, &i.id, &new)
        .await
        .is_err());
    assert!(store.delete_integration(&a.id, &i.id).await.unwrap());
    assert!(store.find_token("new-hash").await.unwrap().is_none());
}

#[tokio::test]
async fn signins_about_a_subject_in_a_time_window() {
    use gatehouse_store::SignInSubject;
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_about");
    let i = integration(&a.id, 1);
    let user = UserId::parse("usr_000001").unwrap();
    let mut events = Vec::new();
    for minute in 0..10 {
        let mut e = signin(&a.id, &i.id, &format!("e{minute}"), minute);
        e.user_id = (minute % 2 == 0).then(|| user.clone());
        e.ip = Some(
            if minute < 5 {
                "203.0.113.1"
            } else {
                "198.51.100.2"
            }
            .into(),
        );
        e.session_id = Some("sess-1".into());
        events.push(e);
    }
    // Inserted out of order: the index is by event time, not arrival.
    events.reverse();
    store.insert_signins(&a.id, &events).await.unwrap();
    let about = |subject, from: i64, to: i64| {
        let store = &store;
        let tenant = a.id.clone();
        async move {
            store
                .signins_about(
                    &tenant,
                    subject,
                    t0() + Duration::minutes(from),
                    t0() + Duration::minutes(to),
                    100,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.provider_event_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        about(SignInSubject::User(&user), 0, 10).await,
        ["e0", "e2", "e4", "e6", "e8"]
    );
    assert_eq!(about(SignInSubject::User(&user), 2, 6).await, ["e2", "e4"]);
    assert_eq!(
        about(SignInSubject::Login("a@example.com"), 0, 10).await,
        ["e1", "e3", "e5", "e7", "e9"]
    );
    assert_eq!(
        about(SignInSubject::Ip("198.51.100.2"), 0, 10).await,
        ["e5", "e6", "e7", "e8", "e9"]
    );
    assert_eq!(about(SignInSubject::Session("sess-1"), 9, 60).await, ["e9"]);
    let other = TenantId::parse("ten_other").unwrap();
    let none = store
        .signins_about(
            &other,
            SignInSubject::Session("sess-1"),
            t0(),
            t0() + Duration::hours(1),
            100,
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "indexes are tenant-scoped");
}

#[tokio::test]
async fn detections_by_subject_and_policies() {
    use gatehouse_core::model::{
        ActionKind, Detection, Policy, PolicyMode, PolicyScope, PolicyWhen, Severity,
    };
    use gatehouse_core::{DetectionId, PolicyId};
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let a = tenant("ten_det");
    let detection = |id: &str, minute: i64| Detection {
        id: DetectionId::parse(id).unwrap(),
        tenant_id: a.id.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: vec![],
        explanation: "x".into(),
        first_seen: t0() + Duration::minutes(minute),
        last_seen: t0() + Duration::minutes(minute + 1),
        created_at: t0(),
        updated_at: t0(),
    };
    store
        .put_detection(&detection("det_1", 0), "account:usr_1")
        .await
        .unwrap();
    store
        .put_detection(&detection("det_2", 60), "account:usr_1")
        .await
        .unwrap();
    store
        .put_detection(&detection("det_3", 60), "ip:203.0.113.9")
        .await
        .unwrap();
    let found = store
        .detections_about(&a.id, "account:usr_1", t0() + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["det_2"]
    );
    assert_eq!(
        store
            .detections_about(&a.id, "account:usr_1", t0())
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.locate(Locatable::Detection, "det_3").await.unwrap(),
        Some(a.id.clone())
    );

    let policy = Policy {
        id: PolicyId::parse("pol_1").unwrap(),
        tenant_id: a.id.clone(),
        name: "contain".into(),
        when: PolicyWhen {
            kinds: vec!["brute_force".into()],
            min_severity: Severity::Medium,
            providers: vec![],
        },
        then: vec![ActionKind::RevokeSessions],
        mode: PolicyMode::Auto,
        scope: PolicyScope::Account,
        enabled: true,
        created_at: t0(),
        updated_at: t0(),
    };
    store.put_policy(&policy).await.unwrap();
    assert_eq!(
        store.list_policies(&a.id).await.unwrap(),
        vec![policy.clone()]
    );
    assert!(store
        .get_policy(&TenantId::parse("ten_x").unwrap(), &policy.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.locate(Locatable::Policy, "pol_1").await.unwrap(),
        Some(a.id.clone())
    );
    assert!(policy.matches("brute_force", Severity::High, Some("okta")));
    assert!(!policy.matches("brute_force", Severity::Low, Some("okta")));
    assert!(!policy.matches("mfa_fatigue", Severity::High, Some("okta")));
    assert!(store.delete_policy(&a.id, &policy.id).await.unwrap());
    assert!(store.list_policies(&a.id).await.unwrap().is_empty());
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
