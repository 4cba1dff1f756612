//! Tenancy and tokens: tenants never see each other's rows (even when one id prefixes another),
//! deleting a tenant takes its tokens and index entries, and token rotation is atomic.

use gatehouse_core::model::TokenKind;
use gatehouse_core::{TenantId, UserId};
use gatehouse_store::prelude::*;
use gatehouse_store::{Locatable, PageRequest, SignInFilter, SledStore, UserFilter};

use super::support::{integration, signin, tenant, token, user};

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
        .rotate_integration_token(&a.id, &i.id, &new, None)
        .await
        .unwrap();
    assert_eq!(updated.ingest_token_hash.as_deref(), Some("new-hash"));
    assert!(store.find_token(&old_hash).await.unwrap().is_none());
    assert!(store.find_token("new-hash").await.unwrap().is_some());
    // Another tenant cannot rotate it.
    let b = TenantId::parse("ten_other").unwrap();
    assert!(store
        .rotate_integration_token(&b, &i.id, &new, None)
        .await
        .is_err());
    assert!(store.delete_integration(&a.id, &i.id).await.unwrap());
    assert!(store.find_token("new-hash").await.unwrap().is_none());
}

super::support::conformance!(tenants_page_in_id_order_and_a_taken_id_conflicts);

async fn tenants_page_in_id_order_and_a_taken_id_conflicts(backend: super::support::Backend) {
    let store = backend.open().await;
    for id in ["ten_c", "ten_a", "ten_b"] {
        store.create_tenant(&tenant(id)).await.unwrap();
    }
    let taken = store.create_tenant(&tenant("ten_a")).await.unwrap_err();
    assert!(
        matches!(taken, gatehouse_store::StoreError::Conflict(_)),
        "{taken:?}"
    );
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
