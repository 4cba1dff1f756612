//! Tenancy and tokens: tenants never see each other's rows (even when one id prefixes another),
//! deleting a tenant takes every record, token and index entry it owns, token rotation is
//! atomic, API keys and integrations are scoped to their tenant.

use chrono::Duration;
use gatehouse_core::model::{
    Action, ActionKind, ActionStatus, ApiKey, Detection, IntegrationStatus, Policy, PolicyMode,
    PolicyScope, PolicyWhen, SealedSecret, Severity, TokenKind, TokenRecord,
};
use gatehouse_core::{ActionId, ApiKeyId, DetectionId, IntegrationId, PolicyId, TenantId, UserId};
use gatehouse_store::{Locatable, PageRequest, SignInFilter, StoreError, UserFilter};

use super::support::{conformance, integration, signin, t0, tenant, token, user, Backend};

conformance!(
    rotation_swaps_the_token_atomically,
    concurrent_rotations_leave_one_token,
    integrations_are_scoped_paged_and_a_taken_id_writes_nothing,
    tokens_and_api_keys,
    a_tenant_is_updated_only_when_it_exists,
    a_deleted_tenant_takes_everything_it_owns,
);

async fn tenants_never_see_each_others_rows(backend: Backend) {
    let store = backend.open().await;
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
        .insert_signins(
            &a.id,
            &[signin(&a.id, &int_a.id, "e1", 0)],
            gatehouse_store::Durability::Now,
        )
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

conformance!(tenants_page_in_id_order_and_a_taken_id_conflicts);

async fn tenants_page_in_id_order_and_a_taken_id_conflicts(backend: Backend) {
    let store = backend.open().await;
    for id in ["ten_c", "ten_a", "ten_b"] {
        store.create_tenant(&tenant(id)).await.unwrap();
    }
    let taken = store.create_tenant(&tenant("ten_a")).await.unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");
    let first = store.list_tenants(&PageRequest::first(2)).await.unwrap();
    let ids: Vec<_> = first.items.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(ids, ["ten_a", "ten_b"]);
    let rest = store
        .list_tenants(&PageRequest::new(2, first.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id.as_str(), "ten_c");
    assert_eq!(rest.next_cursor, None);
    let got = store
        .get_tenant(&tenant("ten_b").id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name, "Tenant ten_b");
    assert!(store
        .get_tenant(&TenantId::parse("ten_zz").unwrap())
        .await
        .unwrap()
        .is_none());
    // What was written is there after a restart.
    drop(store);
    let reopened = backend.open().await;
    assert_eq!(
        reopened
            .list_tenants(&PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

/// An integration with both an ingest and a SCIM token, created with their token records.
async fn integration_with_tokens(
    store: &dyn gatehouse_store::Store,
    tenant: &TenantId,
    n: u32,
) -> gatehouse_core::model::Integration {
    let mut i = integration(tenant, n);
    i.scim_token_hash = Some(format!("scim-{tenant}-{n}"));
    let tokens = [
        token(
            i.ingest_token_hash.as_deref().unwrap(),
            TokenKind::Ingest,
            tenant,
            Some(&i.id),
        ),
        token(
            i.scim_token_hash.as_deref().unwrap(),
            TokenKind::Scim,
            tenant,
            Some(&i.id),
        ),
    ];
    store.create_integration(&i, &tokens).await.unwrap();
    i
}

async fn rotation_swaps_the_token_atomically(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_rot");
    store.create_tenant(&a).await.unwrap();
    let i = integration_with_tokens(&*store, &a.id, 1).await;
    let old_hash = i.ingest_token_hash.clone().unwrap();
    let mut new = token("new-hash", TokenKind::Ingest, &a.id, Some(&i.id));
    new.created_at = t0() + Duration::minutes(5);
    let sealed = SealedSecret {
        key_id: "k1".into(),
        sealed: "sealed-new".into(),
    };
    let updated = store
        .rotate_integration_token(&a.id, &i.id, &new, Some(&sealed))
        .await
        .unwrap();
    assert_eq!(updated.ingest_token_hash.as_deref(), Some("new-hash"));
    assert_eq!(updated.push_token.as_ref(), Some(&sealed));
    assert_eq!(updated.updated_at, new.created_at);
    assert_eq!(
        updated.scim_token_hash, i.scim_token_hash,
        "the other slot stays"
    );
    assert_eq!(
        store.get_integration(&a.id, &i.id).await.unwrap(),
        Some(updated.clone())
    );
    assert!(store.find_token(&old_hash).await.unwrap().is_none());
    assert_eq!(
        store.find_token("new-hash").await.unwrap(),
        Some(new.clone())
    );

    // The SCIM slot rotates on its own and leaves the sealed ingest token alone.
    let old_scim = i.scim_token_hash.clone().unwrap();
    let scim = token("scim-new", TokenKind::Scim, &a.id, Some(&i.id));
    let updated = store
        .rotate_integration_token(&a.id, &i.id, &scim, None)
        .await
        .unwrap();
    assert_eq!(updated.scim_token_hash.as_deref(), Some("scim-new"));
    assert_eq!(updated.push_token.as_ref(), Some(&sealed));
    assert!(store.find_token(&old_scim).await.unwrap().is_none());
    assert!(store.find_token("new-hash").await.unwrap().is_some());

    // An operator or API token is no integration's; nothing is written.
    let operator = token("op-hash", TokenKind::Operator, &a.id, Some(&i.id));
    assert!(store
        .rotate_integration_token(&a.id, &i.id, &operator, None)
        .await
        .is_err());
    assert!(store.find_token("op-hash").await.unwrap().is_none());
    // Another tenant cannot rotate it.
    let b = TenantId::parse("ten_other").unwrap();
    let stolen = token("stolen", TokenKind::Ingest, &b, Some(&i.id));
    assert!(matches!(
        store
            .rotate_integration_token(&b, &i.id, &stolen, None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.find_token("stolen").await.unwrap().is_none());
    assert!(store.find_token("new-hash").await.unwrap().is_some());

    // The rotation survives a restart; deleting the integration takes its tokens.
    drop(store);
    let store = backend.open().await;
    assert_eq!(store.find_token("new-hash").await.unwrap(), Some(new));
    assert!(store.find_token(&old_hash).await.unwrap().is_none());
    assert!(store.delete_integration(&a.id, &i.id).await.unwrap());
    assert!(store.find_token("new-hash").await.unwrap().is_none());
    assert!(store.find_token("scim-new").await.unwrap().is_none());
    assert!(!store.delete_integration(&a.id, &i.id).await.unwrap());
}

async fn concurrent_rotations_leave_one_token(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_race");
    store.create_tenant(&a).await.unwrap();
    let i = integration_with_tokens(&*store, &a.id, 1).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (store, barrier, tenant, id) =
            (store.clone(), barrier.clone(), a.id.clone(), i.id.clone());
        tasks.push(tokio::spawn(async move {
            let new = token(&format!("race-{n}"), TokenKind::Ingest, &tenant, Some(&id));
            barrier.wait().await;
            store
                .rotate_integration_token(&tenant, &id, &new, None)
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Each rotation replaced the one before it: only the last one's token authenticates.
    let last = store.get_integration(&a.id, &i.id).await.unwrap().unwrap();
    let current = last.ingest_token_hash.clone().unwrap();
    let mut valid = Vec::new();
    for n in 0..8 {
        let hash = format!("race-{n}");
        if store.find_token(&hash).await.unwrap().is_some() {
            valid.push(hash);
        }
    }
    assert_eq!(valid, vec![current]);
    assert!(store
        .find_token(i.ingest_token_hash.as_deref().unwrap())
        .await
        .unwrap()
        .is_none());
}

async fn integrations_are_scoped_paged_and_a_taken_id_writes_nothing(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a");
    // `ten_a` prefixes `ten_ab`.
    let ab = tenant("ten_ab");
    for t in [&a, &ab] {
        store.create_tenant(t).await.unwrap();
    }
    for n in [3, 1, 5, 2, 4] {
        integration_with_tokens(&*store, &a.id, n).await;
    }
    let of_ab = integration_with_tokens(&*store, &ab.id, 6).await;

    let list = |tenant: TenantId, limit: usize, cursor: Option<String>| {
        let store = store.clone();
        async move {
            let page = store
                .list_integrations(&tenant, &PageRequest::new(limit, cursor))
                .await
                .unwrap();
            let ids: Vec<String> = page.items.iter().map(|i| i.id.to_string()).collect();
            (ids, page.next_cursor)
        }
    };
    let first = list(a.id.clone(), 2, None).await;
    assert_eq!(
        first,
        (
            vec!["int_0001".into(), "int_0002".into()],
            Some("int_0002".into())
        )
    );
    let second = list(a.id.clone(), 2, first.1).await;
    assert_eq!(second.0, ["int_0003", "int_0004"]);
    assert_eq!(
        list(a.id.clone(), 2, second.1).await,
        (vec!["int_0005".into()], None)
    );
    assert_eq!(
        list(ab.id.clone(), 10, None).await,
        (vec!["int_0006".into()], None)
    );
    let everything: Vec<String> = store
        .all_integrations()
        .await
        .unwrap()
        .iter()
        .map(|i| format!("{}/{}", i.tenant_id, i.id))
        .collect();
    assert_eq!(
        everything,
        [
            "ten_a/int_0001",
            "ten_a/int_0002",
            "ten_a/int_0003",
            "ten_a/int_0004",
            "ten_a/int_0005",
            "ten_ab/int_0006"
        ]
    );
    let int_1 = IntegrationId::parse("int_0001").unwrap();
    assert!(store
        .get_integration(&ab.id, &int_1)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_integration(&ab.id, &of_ab.id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .locate(Locatable::Integration, "int_0006")
            .await
            .unwrap(),
        Some(ab.id.clone())
    );
    assert!(store
        .locate(Locatable::Integration, "int_0099")
        .await
        .unwrap()
        .is_none());

    // A taken id is a conflict, and the tokens issued with it are not stored.
    let mut again = integration(&a.id, 1);
    again.ingest_token_hash = Some("tok-dup".into());
    let taken = store
        .create_integration(
            &again,
            &[token("tok-dup", TokenKind::Ingest, &a.id, Some(&again.id))],
        )
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");
    assert!(store.find_token("tok-dup").await.unwrap().is_none());

    // Updates replace the record, only in the owning tenant.
    let mut changed = store.get_integration(&a.id, &int_1).await.unwrap().unwrap();
    changed.status = IntegrationStatus::Disabled;
    changed.config.insert("domain".into(), "a.example".into());
    store.update_integration(&changed).await.unwrap();
    assert_eq!(
        store.get_integration(&a.id, &int_1).await.unwrap(),
        Some(changed.clone())
    );
    let mut foreign = changed.clone();
    foreign.tenant_id = ab.id.clone();
    assert!(matches!(
        store.update_integration(&foreign).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_integration(&integration(&a.id, 42)).await,
        Err(StoreError::NotFound(_))
    ));

    // Deleting is scoped too, and takes the integration's tokens and locator with it.
    assert!(!store.delete_integration(&ab.id, &int_1).await.unwrap());
    assert!(store
        .get_integration(&a.id, &int_1)
        .await
        .unwrap()
        .is_some());
    assert!(store.delete_integration(&a.id, &int_1).await.unwrap());
    assert!(store
        .find_token(changed.ingest_token_hash.as_deref().unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_token(changed.scim_token_hash.as_deref().unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .locate(Locatable::Integration, "int_0001")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_token(of_ab.ingest_token_hash.as_deref().unwrap())
        .await
        .unwrap()
        .is_some());

    // What is left is there after a restart.
    drop(store);
    let store = backend.open().await;
    assert_eq!(store.all_integrations().await.unwrap().len(), 5);
    assert_eq!(
        store.get_integration(&ab.id, &of_ab.id).await.unwrap(),
        Some(of_ab)
    );
}

fn api_key(tenant: &TenantId, id: &str) -> (ApiKey, TokenRecord) {
    let key = ApiKey {
        id: ApiKeyId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        created_at: t0(),
    };
    let mut record = token(&format!("hash-{id}"), TokenKind::TenantApi, tenant, None);
    record.api_key_id = Some(key.id.clone());
    (key, record)
}

async fn tokens_and_api_keys(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a").id;
    let b = tenant("ten_b").id;
    assert!(!store.has_token_of_kind(TokenKind::Operator).await.unwrap());
    let mut operator = token("op-hash", TokenKind::Operator, &a, None);
    operator.tenant_id = None;
    store.put_token(&operator).await.unwrap();
    assert!(store.has_token_of_kind(TokenKind::Operator).await.unwrap());
    assert!(!store.has_token_of_kind(TokenKind::Scim).await.unwrap());
    assert_eq!(
        store.find_token("op-hash").await.unwrap(),
        Some(operator.clone())
    );
    // Putting a hash again replaces its record.
    operator.expires_at = Some(t0() + Duration::hours(1));
    store.put_token(&operator).await.unwrap();
    assert_eq!(
        store.find_token("op-hash").await.unwrap(),
        Some(operator.clone())
    );

    let (k2, t2) = api_key(&a, "key_2");
    let (k1, t1) = api_key(&a, "key_1");
    let (kb, tb) = api_key(&b, "key_3");
    for (key, token) in [(&k2, &t2), (&k1, &t1), (&kb, &tb)] {
        store.create_api_key(key, token).await.unwrap();
    }
    assert!(store.has_token_of_kind(TokenKind::TenantApi).await.unwrap());
    assert_eq!(
        store.list_api_keys(&a).await.unwrap(),
        vec![k1.clone(), k2.clone()]
    );
    assert_eq!(store.list_api_keys(&b).await.unwrap(), vec![kb.clone()]);
    assert_eq!(store.find_token("hash-key_1").await.unwrap(), Some(t1));

    // Another tenant cannot delete a key; its owner deletes it and its token.
    assert!(!store.delete_api_key(&b, &k1.id).await.unwrap());
    assert!(store.find_token("hash-key_1").await.unwrap().is_some());
    assert!(store.delete_api_key(&a, &k1.id).await.unwrap());
    assert!(store.find_token("hash-key_1").await.unwrap().is_none());
    assert!(!store.delete_api_key(&a, &k1.id).await.unwrap());
    assert_eq!(store.list_api_keys(&a).await.unwrap(), vec![k2.clone()]);

    drop(store);
    let store = backend.open().await;
    assert_eq!(store.find_token("op-hash").await.unwrap(), Some(operator));
    assert_eq!(store.find_token("hash-key_2").await.unwrap(), Some(t2));
    assert_eq!(store.list_api_keys(&a).await.unwrap(), vec![k2]);
    assert_eq!(store.list_api_keys(&b).await.unwrap(), vec![kb]);
}

async fn a_tenant_is_updated_only_when_it_exists(backend: Backend) {
    let store = backend.open().await;
    let mut a = tenant("ten_a");
    assert!(matches!(
        store.update_tenant(&a).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.get_tenant(&a.id).await.unwrap().is_none());
    store.create_tenant(&a).await.unwrap();
    a.name = "Renamed".into();
    a.settings.protected_accounts = vec!["root@a.example".into()];
    a.updated_at = t0() + Duration::days(1);
    store.update_tenant(&a).await.unwrap();
    drop(store);
    let store = backend.open().await;
    assert_eq!(store.get_tenant(&a.id).await.unwrap(), Some(a));
}

/// A tenant's records of every kind this aggregate and the response aggregate write: `n`
/// keeps ids unique across tenants.
async fn populate(store: &dyn gatehouse_store::Store, tenant: &TenantId, n: u32) {
    integration_with_tokens(store, tenant, n).await;
    let (key, key_token) = api_key(tenant, &format!("key_{n}"));
    store.create_api_key(&key, &key_token).await.unwrap();
    let detection = Detection {
        id: DetectionId::parse(&format!("det_{n}")).unwrap(),
        tenant_id: tenant.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: vec![],
        explanation: "x".into(),
        first_seen: t0(),
        last_seen: t0(),
        created_at: t0(),
        updated_at: t0(),
    };
    store
        .put_detection(&detection, "account:usr_1")
        .await
        .unwrap();
    let action = Action {
        id: ActionId::parse(&format!("act_{n}")).unwrap(),
        tenant_id: tenant.clone(),
        user_id: UserId::parse("usr_1").unwrap(),
        integration_id: IntegrationId::parse(&format!("int_{n:04}")).unwrap(),
        action: ActionKind::DisableAccount,
        status: ActionStatus::Pending,
        dry_run: false,
        reason: None,
        requested_by: "test".into(),
        detection_id: Some(detection.id.clone()),
        idempotency_key: "key".into(),
        attempts: 0,
        error: None,
        result: None,
        next_attempt_at: None,
        history: vec![],
        confirmation: None,
        created_at: t0(),
        updated_at: t0(),
    };
    assert!(store.create_action(&action).await.unwrap().is_none());
    let policy = Policy {
        id: PolicyId::parse(&format!("pol_{n}")).unwrap(),
        tenant_id: tenant.clone(),
        name: "contain".into(),
        when: PolicyWhen {
            kinds: vec![],
            min_severity: Severity::Low,
            providers: vec![],
        },
        then: vec![ActionKind::DisableAccount],
        mode: PolicyMode::Approval,
        scope: PolicyScope::Identity,
        enabled: true,
        created_at: t0(),
        updated_at: t0(),
    };
    store.put_policy(&policy).await.unwrap();
}

async fn a_deleted_tenant_takes_everything_it_owns(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a");
    // `ten_a` prefixes `ten_ab`.
    let ab = tenant("ten_ab");
    for (t, n) in [(&a, 1), (&ab, 2)] {
        store.create_tenant(t).await.unwrap();
        populate(&*store, &t.id, n).await;
        store
            .put_token(&token(
                &format!("loose-{n}"),
                TokenKind::TenantApi,
                &t.id,
                None,
            ))
            .await
            .unwrap();
    }
    let raw = match &backend {
        Backend::Postgres(server) => Some(pg::Raw::connect(server.url()).await),
        Backend::Sled(_) => None,
    };
    if let Some(raw) = &raw {
        // The other aggregates' tables, written directly until their methods land here.
        raw.fill_other_aggregates(a.id.as_str(), "1").await;
        raw.fill_other_aggregates(ab.id.as_str(), "2").await;
    }

    assert!(store.delete_tenant(&a.id).await.unwrap());
    assert!(store.get_tenant(&a.id).await.unwrap().is_none());
    for hash in ["hash-ten_a-1", "scim-ten_a-1", "hash-key_1", "loose-1"] {
        assert!(store.find_token(hash).await.unwrap().is_none(), "{hash}");
    }
    for (kind, id) in [
        (Locatable::Integration, "int_0001"),
        (Locatable::Detection, "det_1"),
        (Locatable::Action, "act_1"),
        (Locatable::Policy, "pol_1"),
    ] {
        assert!(store.locate(kind, id).await.unwrap().is_none(), "{id}");
    }
    assert!(store.list_api_keys(&a.id).await.unwrap().is_empty());
    assert!(store.list_policies(&a.id).await.unwrap().is_empty());
    assert!(store
        .detections_about(&a.id, "account:usr_1", t0())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .find_action_by_key(&a.id, "key")
        .await
        .unwrap()
        .is_none());
    let page = PageRequest::first(10);
    assert!(store
        .list_integrations(&a.id, &page)
        .await
        .unwrap()
        .items
        .is_empty());
    let open: Vec<String> = store
        .open_actions()
        .await
        .unwrap()
        .iter()
        .map(|x| x.id.to_string())
        .collect();
    assert_eq!(open, ["act_2"]);

    // `ten_ab` is whole.
    for hash in ["hash-ten_ab-2", "scim-ten_ab-2", "hash-key_2", "loose-2"] {
        assert!(store.find_token(hash).await.unwrap().is_some(), "{hash}");
    }
    for (kind, id) in [
        (Locatable::Integration, "int_0002"),
        (Locatable::Detection, "det_2"),
        (Locatable::Action, "act_2"),
        (Locatable::Policy, "pol_2"),
    ] {
        assert_eq!(store.locate(kind, id).await.unwrap(), Some(ab.id.clone()));
    }
    assert_eq!(store.list_api_keys(&ab.id).await.unwrap().len(), 1);
    assert_eq!(
        store
            .detections_about(&ab.id, "account:usr_1", t0())
            .await
            .unwrap()
            .len(),
        1
    );
    if let Some(raw) = &raw {
        raw.assert_no_rows_of(a.id.as_str(), ab.id.as_str()).await;
    }
    assert!(!store.delete_tenant(&a.id).await.unwrap());

    // The tenant's id is free again, with nothing of its past.
    drop(store);
    let store = backend.open().await;
    assert!(store.get_tenant(&a.id).await.unwrap().is_none());
    store.create_tenant(&a).await.unwrap();
    assert!(store.list_policies(&a.id).await.unwrap().is_empty());
    assert!(store.get_tenant(&ab.id).await.unwrap().is_some());
}

/// Direct access to the PostgreSQL backend's tables, for what the trait cannot show.
mod pg {
    use tokio_postgres::NoTls;

    pub(super) struct Raw {
        client: tokio_postgres::Client,
    }

    impl Raw {
        pub(super) async fn connect(url: &str) -> Self {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
            tokio::spawn(connection);
            Self { client }
        }

        /// One row in each table of the directory, sign-in, sync-state and SCIM aggregates;
        /// `n` keeps globally unique ids apart.
        pub(super) async fn fill_other_aggregates(&self, tenant: &str, n: &str) {
            let user = format!("usr_raw{n}");
            let identity = format!("idn_raw{n}");
            let signin = format!("sgn_raw{n}");
            // The integration `populate` made: SCIM rows reference their integration.
            let integration = format!("int_{:0>4}", n);
            let statements: [(&str, Vec<&str>); 12] = [
                (
                    "INSERT INTO users (id, tenant_id, integration_id, external_id, doc) \
                     VALUES ($1, $2, $3, 'x', '{}')",
                    vec![&user, tenant, &integration],
                ),
                (
                    "INSERT INTO user_emails (tenant_id, email, user_id) \
                     VALUES ($1, 'a@example.com', $2)",
                    vec![tenant, &user],
                ),
                (
                    "INSERT INTO groups (tenant_id, id, doc) VALUES ($1, 'grp_1', '{}')",
                    vec![tenant],
                ),
                (
                    "INSERT INTO identities (id, tenant_id, doc) VALUES ($1, $2, '{}')",
                    vec![&identity, tenant],
                ),
                (
                    "INSERT INTO identity_emails (tenant_id, email, identity_id) \
                     VALUES ($1, 'a@example.com', $2)",
                    vec![tenant, &identity],
                ),
                (
                    "INSERT INTO identity_risk_history (tenant_id, identity_id, doc) \
                     VALUES ($1, $2, '[]')",
                    vec![tenant, &identity],
                ),
                (
                    "INSERT INTO signins (id, tenant_id, time, time_nanos, doc) \
                     VALUES ($1, $2, now(), 0, '{}')",
                    vec![&signin, tenant],
                ),
                (
                    "INSERT INTO signin_subjects (tenant_id, subject, time, time_nanos, signin_id) \
                     VALUES ($1, 'ip:x', now(), 0, $2)",
                    vec![tenant, &signin],
                ),
                (
                    "INSERT INTO cursors (tenant_id, integration_id, name, doc) \
                     VALUES ($1, $2, 'users', '{}')",
                    vec![tenant, &integration],
                ),
                (
                    "INSERT INTO sync_status (tenant_id, integration_id, doc) \
                     VALUES ($1, $2, '{}')",
                    vec![tenant, &integration],
                ),
                (
                    "INSERT INTO scim_resources (tenant_id, integration_id, kind, id, \
                     user_name_lower, version, doc) VALUES ($1, $2, 'User', 'u1', 'a', 'v1', '{}')",
                    vec![tenant, &integration],
                ),
                (
                    "INSERT INTO scim_members (tenant_id, integration_id, group_id, member_id) \
                     VALUES ($1, $2, 'g1', 'u1')",
                    vec![tenant, &integration],
                ),
            ];
            for (sql, params) in statements {
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                self.client
                    .execute(sql, &params)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }

        /// Every table with a `tenant_id` column (read from the catalog, so a table added later
        /// is checked too) holds no row of `gone` and some row of `kept`.
        pub(super) async fn assert_no_rows_of(&self, gone: &str, kept: &str) {
            let tables = self
                .client
                .query(
                    "SELECT table_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND column_name = 'tenant_id' \
                     ORDER BY table_name",
                    &[],
                )
                .await
                .unwrap();
            assert!(tables.len() >= 19, "{} tables", tables.len());
            for row in tables {
                let table: String = row.get(0);
                let count = |tenant: &str| {
                    let sql = format!("SELECT count(*) FROM {table} WHERE tenant_id = $1");
                    let tenant = tenant.to_string();
                    async move {
                        let row = self.client.query_one(&sql, &[&tenant]).await.unwrap();
                        row.get::<_, i64>(0)
                    }
                };
                assert_eq!(count(gone).await, 0, "{table} keeps rows of {gone}");
                assert!(count(kept).await > 0, "{table} lost the rows of {kept}");
            }
        }
    }
}

conformance!(tenants_never_see_each_others_rows);
