//! Sign-ins: deduplication by provider event id, and the per-subject indexes (user, login, IP,
//! session) queried over a time window.

use chrono::Duration;
use gatehouse_core::{TenantId, UserId};
use gatehouse_store::prelude::*;
use gatehouse_store::{PageRequest, SignInFilter, SledStore};

use super::support::{integration, signin, t0, tenant};

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
