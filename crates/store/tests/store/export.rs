//! The enumerations that exist for export (`gatehouse store migrate`): every token across
//! tenants a page at a time, an integration's cursors, a tenant's detection subject index. On
//! every backend, in one order, deleted records left out.

use chrono::Duration;
use gatehouse_core::model::{ApiKey, Detection, Severity, SyncCursor, TokenKind, TokenRecord};
use gatehouse_core::{ApiKeyId, DetectionId, IntegrationId, TenantId};
use gatehouse_store::PageRequest;

use super::support::{conformance, integration, t0, tenant, token, Backend};

conformance!(
    every_token_pages_in_hash_order_across_tenants,
    cursors_are_listed_per_integration_in_name_order,
    detection_subjects_page_over_the_entries_of_stored_detections,
);

/// Every page of `list` from the first, with the limit `limit`, concatenated.
async fn all_pages<T, F, Fut>(limit: usize, list: F) -> Vec<T>
where
    F: Fn(PageRequest) -> Fut,
    Fut: std::future::Future<Output = gatehouse_store::Page<T>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(PageRequest::new(limit, cursor)).await;
        assert!(page.items.len() <= limit);
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

async fn every_token_pages_in_hash_order_across_tenants(backend: Backend) {
    let store = backend.open().await;
    assert!(store
        .list_tokens(&PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
    let (a, b) = (tenant("ten_a").id, tenant("ten_b").id);
    let mut operator = token("c-operator", TokenKind::Operator, &a, None);
    operator.tenant_id = None;
    store.put_token(&operator).await.unwrap();
    let key = ApiKey {
        id: ApiKeyId::parse("key_1").unwrap(),
        tenant_id: a.clone(),
        created_at: t0(),
    };
    let mut api = token("a-api", TokenKind::TenantApi, &a, None);
    api.api_key_id = Some(key.id.clone());
    store.create_api_key(&key, &api).await.unwrap();
    let ia = integration(&a, 1);
    let ingest = token("e-ingest", TokenKind::Ingest, &a, Some(&ia.id));
    store
        .create_integration(&ia, std::slice::from_ref(&ingest))
        .await
        .unwrap();
    let ib = integration(&b, 2);
    let scim = token("b-scim", TokenKind::Scim, &b, Some(&ib.id));
    store
        .create_integration(&ib, std::slice::from_ref(&scim))
        .await
        .unwrap();
    // An OAuth access token: put on its own, short-lived.
    let mut oauth = token("d-oauth", TokenKind::Scim, &b, Some(&ib.id));
    oauth.expires_at = Some(t0() + Duration::hours(1));
    store.put_token(&oauth).await.unwrap();

    let expected: Vec<TokenRecord> = vec![
        api.clone(),
        scim.clone(),
        operator.clone(),
        oauth.clone(),
        ingest.clone(),
    ];
    for limit in [1, 2, 5, 100] {
        let listed = all_pages(limit, |page| {
            let store = store.clone();
            async move { store.list_tokens(&page).await.unwrap() }
        })
        .await;
        assert_eq!(listed, expected, "pages of {limit}");
    }
    // A full last page names no next one.
    let whole = store.list_tokens(&PageRequest::first(5)).await.unwrap();
    assert_eq!(whole.items.len(), 5);
    assert_eq!(whole.next_cursor, None);

    // A deleted key's token is gone from the listing.
    assert!(store.delete_api_key(&a, &key.id).await.unwrap());
    let listed = all_pages(2, |page| {
        let store = store.clone();
        async move { store.list_tokens(&page).await.unwrap() }
    })
    .await;
    assert_eq!(listed, vec![scim, operator, oauth, ingest]);
}

async fn cursors_are_listed_per_integration_in_name_order(backend: Backend) {
    let store = backend.open().await;
    let (a, b) = (tenant("ten_a").id, tenant("ten_b").id);
    let cursor = |value: &str, minute: i64| SyncCursor {
        value: value.into(),
        updated_at: t0() + Duration::minutes(minute),
    };
    // `int_0001` prefixes `int_00010`: neither integration sees the other's cursors.
    let one = integration(&a, 1);
    let ten = IntegrationId::parse("int_00010").unwrap();
    store.create_integration(&one, &[]).await.unwrap();
    for (name, minute) in [("users", 1), ("signins", 2), ("groups", 3)] {
        store
            .put_cursor(&a, &one.id, name, &cursor(&format!("{name}-next"), minute))
            .await
            .unwrap();
    }
    store
        .put_cursor(&a, &ten, "users", &cursor("ten", 4))
        .await
        .unwrap();
    // Another tenant's cursor under the same integration id.
    store
        .put_cursor(&b, &one.id, "users", &cursor("other", 5))
        .await
        .unwrap();
    // Rewritten: listed once, as last written.
    store
        .put_cursor(&a, &one.id, "users", &cursor("users-later", 6))
        .await
        .unwrap();

    assert_eq!(
        store.list_cursors(&a, &one.id).await.unwrap(),
        vec![
            ("groups".to_owned(), cursor("groups-next", 3)),
            ("signins".to_owned(), cursor("signins-next", 2)),
            ("users".to_owned(), cursor("users-later", 6)),
        ]
    );
    assert_eq!(
        store.list_cursors(&a, &ten).await.unwrap(),
        vec![("users".to_owned(), cursor("ten", 4))]
    );
    assert_eq!(
        store.list_cursors(&b, &one.id).await.unwrap(),
        vec![("users".to_owned(), cursor("other", 5))]
    );
    let none = IntegrationId::parse("int_none").unwrap();
    assert!(store.list_cursors(&a, &none).await.unwrap().is_empty());

    // Cursors go with their integration.
    assert!(store.delete_integration(&a, &one.id).await.unwrap());
    assert!(store.list_cursors(&a, &one.id).await.unwrap().is_empty());
    assert_eq!(store.list_cursors(&a, &ten).await.unwrap().len(), 1);
}

fn detection(tenant: &TenantId, id: &str) -> Detection {
    Detection {
        id: DetectionId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: vec![],
        explanation: "x".into(),
        first_seen: t0(),
        last_seen: t0() + Duration::minutes(1),
        created_at: t0(),
        updated_at: t0(),
    }
}

async fn detection_subjects_page_over_the_entries_of_stored_detections(backend: Backend) {
    let store = backend.open().await;
    // `ten_det` prefixes `ten_det2`: neither sees the other's entries.
    let (a, other) = (tenant("ten_det").id, tenant("ten_det2").id);
    assert!(store
        .list_detection_subjects(&a, &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
    let writes = [
        ("det_2", "account:usr_1"),
        ("det_1", "account:usr_1"),
        ("det_1", "ip:203.0.113.9"),
        // "ip:203.0.113.9" prefixes this subject.
        ("det_3", "ip:203.0.113.90"),
        ("det_4", "account:usr_10"),
        ("det_5", "session:s1"),
    ];
    for (id, subject) in writes {
        store
            .put_detection(&detection(&a, id), subject)
            .await
            .unwrap();
    }
    store
        .put_detection(&detection(&other, "det_9"), "account:usr_1")
        .await
        .unwrap();
    // Rewritten under a subject it has: listed once.
    store
        .put_detection(&detection(&a, "det_2"), "account:usr_1")
        .await
        .unwrap();
    // Deleted: its entries are not listed.
    store
        .delete_detection(&a, &DetectionId::parse("det_5").unwrap())
        .await
        .unwrap();

    let expected: Vec<(String, DetectionId)> = [
        ("account:usr_1", "det_1"),
        ("account:usr_1", "det_2"),
        ("account:usr_10", "det_4"),
        ("ip:203.0.113.9", "det_1"),
        ("ip:203.0.113.90", "det_3"),
    ]
    .into_iter()
    .map(|(s, id)| (s.to_owned(), DetectionId::parse(id).unwrap()))
    .collect();
    for limit in [1, 2, 5, 100] {
        let listed = all_pages(limit, |page| {
            let store = store.clone();
            let a = a.clone();
            async move { store.list_detection_subjects(&a, &page).await.unwrap() }
        })
        .await;
        assert_eq!(listed, expected, "pages of {limit}");
    }
    let theirs = store
        .list_detection_subjects(&other, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        theirs.items,
        vec![(
            "account:usr_1".to_owned(),
            DetectionId::parse("det_9").unwrap()
        )]
    );
    assert_eq!(theirs.next_cursor, None);
}
