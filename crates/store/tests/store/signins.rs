//! Sign-ins: deduplication by provider event id, the per-subject indexes (user, login, IP,
//! session) queried over a time window and around one sign-in, listing with filters and paging,
//! and the pull cursors and sync status beside them. Every test runs on both backends.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Outcome, SignInEvent, SyncCursor, SyncStatus};
use gatehouse_core::{SignInId, TenantId, UserId};
use gatehouse_store::prelude::*;
use gatehouse_store::{KnownSignIns, PageRequest, SignInFilter, SignInSubject, StoreError};

use super::support::{conformance, integration, signin, t0, tenant, Backend};

conformance!(
    signins_are_deduplicated_by_provider_event_id,
    concurrent_inserts_of_one_event_store_it_once,
    a_sign_in_of_another_tenant_is_refused,
    signins_about_a_subject_in_a_time_window,
    signins_are_indexed_under_the_account_else_the_lower_cased_login,
    window_bounds_are_exact_to_the_nanosecond,
    signins_near_walks_the_index_around_a_sign_in,
    window_reads_carry_the_first_copy_without_the_raw_event,
    window_reads_with_known_sign_ins_answer_as_without,
    get_signin_is_tenant_scoped,
    list_signins_filters_and_pages_in_id_order,
    cursors_and_sync_status_are_per_tenant_and_integration,
);

/// A sign-in `millis` after [`t0`], its id derived from that time as the connectors derive it.
fn signin_at(tenant: &TenantId, event_id: &str, millis: i64) -> SignInEvent {
    let integration = integration(tenant, 1).id;
    let mut event = signin(tenant, &integration, event_id, 0);
    event.time = t0() + Duration::milliseconds(millis);
    event.id = SignInId::derive(event.time, &[integration.as_str(), event_id]);
    event
}

fn ids(events: &[SignInEvent]) -> Vec<String> {
    events.iter().map(|e| e.provider_event_id.clone()).collect()
}

async fn signins_are_deduplicated_by_provider_event_id(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_dedupe");
    let i = integration(&a.id, 1);
    let first = store
        .insert_signins(
            &a.id,
            &[signin(&a.id, &i.id, "e1", 0), signin(&a.id, &i.id, "e2", 1)],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    assert_eq!(first, vec![0, 1]);
    let again = store
        .insert_signins(
            &a.id,
            &[signin(&a.id, &i.id, "e2", 1), signin(&a.id, &i.id, "e3", 2)],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    assert_eq!(again, vec![1], "only e3, the second of the batch, is new");
    // A copy later in the same batch is a replay of the first; positions are the caller's.
    let within = store
        .insert_signins(
            &a.id,
            &[
                signin(&a.id, &i.id, "e5", 5),
                signin(&a.id, &i.id, "e4", 4),
                signin(&a.id, &i.id, "e5", 5),
                signin(&a.id, &i.id, "e1", 0),
            ],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    assert_eq!(within, vec![0, 1]);
    assert_eq!(
        store
            .insert_signins(&a.id, &[], gatehouse_store::Durability::Now)
            .await
            .unwrap(),
        Vec::<usize>::new()
    );
    let filter = SignInFilter {
        since: Some(t0() + Duration::minutes(1)),
        ..Default::default()
    };
    let page = store
        .list_signins(&a.id, &filter, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(ids(&page.items), ["e2", "e3", "e4", "e5"]);
    // A replay adds no second index entry either.
    let about = store
        .signins_about(
            &a.id,
            SignInSubject::Ip("203.0.113.9"),
            t0(),
            t0() + Duration::hours(1),
            100,
        )
        .await
        .unwrap();
    assert_eq!(ids(&about), ["e1", "e2", "e3", "e4", "e5"]);

    // The same event id in another tenant is that tenant's own event.
    let b = tenant("ten_dedupe_b");
    let mut theirs = signin(&a.id, &i.id, "e1", 0);
    theirs.tenant_id = b.id.clone();
    assert_eq!(
        store
            .insert_signins(&b.id, &[theirs.clone()], gatehouse_store::Durability::Now)
            .await
            .unwrap(),
        vec![0]
    );
    assert_eq!(
        store.get_signin(&b.id, &theirs.id).await.unwrap(),
        Some(theirs)
    );

    // Deduplication survives a restart.
    drop(store);
    let store = backend.open().await;
    let replay = store
        .insert_signins(
            &a.id,
            &[signin(&a.id, &i.id, "e3", 2), signin(&a.id, &i.id, "e6", 6)],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    assert_eq!(replay, vec![1]);
}

/// Redeliveries racing each other (two pulls, a push and a pull): each event is new to exactly
/// one writer, whatever order the batches list it in, and none of them deadlocks.
async fn concurrent_inserts_of_one_event_store_it_once(backend: Backend) {
    const WRITERS: usize = 8;
    const EVENTS: usize = 60;
    let store = backend.open().await;
    let a = tenant("ten_race");
    let events: Vec<SignInEvent> = (0..EVENTS)
        .map(|n| signin_at(&a.id, &format!("e{n:02}"), (n as i64) * 7))
        .collect();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        let tenant = a.id.clone();
        // Each writer sees the events in its own order.
        let mut batch = events.clone();
        batch.rotate_left(w * 7 % EVENTS);
        if w % 2 == 1 {
            batch.reverse();
        }
        tasks.push(tokio::spawn(async move {
            let fresh = store
                .insert_signins(&tenant, &batch, gatehouse_store::Durability::Now)
                .await
                .unwrap();
            fresh
                .into_iter()
                .map(|p| batch[p].provider_event_id.clone())
                .collect::<Vec<_>>()
        }));
    }
    let results = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        futures::future::join_all(tasks),
    )
    .await
    .expect("concurrent inserts must not deadlock");
    let mut fresh: Vec<String> = results.into_iter().flat_map(|r| r.unwrap()).collect();
    fresh.sort();
    assert_eq!(
        fresh,
        ids(&events),
        "each event is new to exactly one writer"
    );
    let about = store
        .signins_about(
            &a.id,
            SignInSubject::Login("a@example.com"),
            t0(),
            t0() + Duration::hours(1),
            1000,
        )
        .await
        .unwrap();
    assert_eq!(ids(&about), ids(&events), "one index entry per event");
}

async fn a_sign_in_of_another_tenant_is_refused(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_scope_a");
    let b = tenant("ten_scope_b");
    let theirs = signin_at(&b.id, "e1", 0);
    let err = store
        .insert_signins(
            &a.id,
            std::slice::from_ref(&theirs),
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(store.get_signin(&a.id, &theirs.id).await.unwrap(), None);
    assert_eq!(store.get_signin(&b.id, &theirs.id).await.unwrap(), None);
}

async fn signins_about_a_subject_in_a_time_window(backend: Backend) {
    let store = backend.open().await;
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
    store
        .insert_signins(&a.id, &events[..4], gatehouse_store::Durability::Now)
        .await
        .unwrap();
    store
        .insert_signins(&a.id, &events[4..], gatehouse_store::Durability::Now)
        .await
        .unwrap();
    let about = |subject, from: i64, to: i64, limit: usize| {
        let store = &store;
        let tenant = a.id.clone();
        async move {
            ids(&store
                .signins_about(
                    &tenant,
                    subject,
                    t0() + Duration::minutes(from),
                    t0() + Duration::minutes(to),
                    limit,
                )
                .await
                .unwrap())
        }
    };
    assert_eq!(
        about(SignInSubject::User(&user), 0, 10, 100).await,
        ["e0", "e2", "e4", "e6", "e8"]
    );
    assert_eq!(
        about(SignInSubject::User(&user), 2, 6, 100).await,
        ["e2", "e4"]
    );
    assert_eq!(
        about(SignInSubject::Login("a@example.com"), 0, 10, 100).await,
        ["e1", "e3", "e5", "e7", "e9"]
    );
    assert_eq!(
        about(SignInSubject::Ip("198.51.100.2"), 0, 10, 100).await,
        ["e5", "e6", "e7", "e8", "e9"]
    );
    assert_eq!(
        about(SignInSubject::Session("sess-1"), 9, 60, 100).await,
        ["e9"]
    );
    // At most `limit`, the oldest first.
    assert_eq!(
        about(SignInSubject::Session("sess-1"), 0, 60, 3).await,
        ["e0", "e1", "e2"]
    );
    // `to` is exclusive, `from` inclusive; an empty or inverted window holds nothing.
    assert_eq!(
        about(SignInSubject::Session("sess-1"), 3, 5, 100).await,
        ["e3", "e4"]
    );
    assert!(about(SignInSubject::Session("sess-1"), 5, 5, 100)
        .await
        .is_empty());
    assert!(about(SignInSubject::Session("sess-1"), 6, 2, 100)
        .await
        .is_empty());
    assert!(about(SignInSubject::Session("sess-2"), 0, 60, 100)
        .await
        .is_empty());
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

/// A matched sign-in is about its account (not its login); an unmatched one about its login,
/// lower-cased; the IP and session only when the event has them.
async fn signins_are_indexed_under_the_account_else_the_lower_cased_login(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_subjects");
    let user = UserId::parse("usr_000042").unwrap();
    let mut matched = signin_at(&a.id, "matched", 0);
    matched.user_id = Some(user.clone());
    matched.login = Some("Alice@Example.COM".into());
    matched.ip = None;
    let mut unmatched = signin_at(&a.id, "unmatched", 1);
    unmatched.login = Some("Alice@Example.COM".into());
    unmatched.session_id = Some("S-1".into());
    let mut anonymous = signin_at(&a.id, "anonymous", 2);
    anonymous.login = None;
    anonymous.session_id = Some("S-1".into());
    store
        .insert_signins(
            &a.id,
            &[matched, unmatched, anonymous],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    let about = |subject| {
        let store = &store;
        let tenant = a.id.clone();
        async move {
            ids(&store
                .signins_about(&tenant, subject, t0(), t0() + Duration::hours(1), 100)
                .await
                .unwrap())
        }
    };
    assert_eq!(about(SignInSubject::User(&user)).await, ["matched"]);
    assert_eq!(
        about(SignInSubject::Login("alice@example.com")).await,
        ["unmatched"]
    );
    assert!(about(SignInSubject::Login("Alice@Example.COM"))
        .await
        .is_empty());
    assert_eq!(
        about(SignInSubject::Ip("203.0.113.9")).await,
        ["unmatched", "anonymous"]
    );
    assert_eq!(
        about(SignInSubject::Session("S-1")).await,
        ["unmatched", "anonymous"]
    );
    assert!(about(SignInSubject::Session("s-1")).await.is_empty());
}

/// Providers report finer than PostgreSQL's microseconds (Entra: 100 ns ticks); a window's
/// bounds still cut between two events a few hundred nanoseconds apart.
async fn window_bounds_are_exact_to_the_nanosecond(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_nanos");
    let base = t0() + Duration::milliseconds(250);
    let events: Vec<SignInEvent> = [100, 300, 700, 1_300]
        .iter()
        .map(|nanos| {
            let mut e = signin_at(&a.id, &format!("n{nanos}"), 0);
            e.time = base + Duration::nanoseconds(*nanos);
            e.id = SignInId::derive(e.time, &["int_0001", &e.provider_event_id]);
            e
        })
        .collect();
    store
        .insert_signins(&a.id, &events, gatehouse_store::Durability::Now)
        .await
        .unwrap();
    let about = |from: i64, to: i64| {
        let store = &store;
        let tenant = a.id.clone();
        async move {
            let mut got = ids(&store
                .signins_about(
                    &tenant,
                    SignInSubject::Ip("203.0.113.9"),
                    base + Duration::nanoseconds(from),
                    base + Duration::nanoseconds(to),
                    100,
                )
                .await
                .unwrap());
            // Within one millisecond the sled backend keeps id order; compare as sets.
            got.sort();
            got
        }
    };
    // (An upper bound inside a millisecond is left out: the sled backend's index range ends
    // at the bound's millisecond, so it answers nothing of that millisecond.)
    assert_eq!(about(0, 1_000_000).await, ["n100", "n1300", "n300", "n700"]);
    assert_eq!(about(300, 1_000_000).await, ["n1300", "n300", "n700"]);
    assert_eq!(about(301, 1_000_000).await, ["n1300", "n700"]);
    assert_eq!(about(101, 1_000_000).await, ["n1300", "n300", "n700"]);
    // The list filter's bounds are exact too.
    let filter = SignInFilter {
        since: Some(base + Duration::nanoseconds(300)),
        until: Some(base + Duration::nanoseconds(1_300)),
        ..Default::default()
    };
    let mut listed = ids(&store
        .list_signins(&a.id, &filter, &PageRequest::first(10))
        .await
        .unwrap()
        .items);
    listed.sort();
    assert_eq!(listed, ["n300", "n700"]);
    // The stored time keeps its nanoseconds.
    let stored = store.get_signin(&a.id, &events[0].id).await.unwrap();
    assert_eq!(stored.map(|e| e.time), Some(events[0].time));
}

/// What the trait's default `signins_near` answers: the whole window, cut around `around`.
async fn near_by_default(
    store: &dyn Store,
    tenant: &TenantId,
    subject: SignInSubject<'_>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    around: &SignInId,
    each_side: usize,
) -> Vec<String> {
    let mut events = store
        .signins_about(tenant, subject, from, to, usize::MAX)
        .await
        .unwrap();
    events.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    let at = events.partition_point(|e| e.id.as_str() < around.as_str());
    let lo = at.saturating_sub(each_side);
    let hi = at.saturating_add(each_side).min(events.len());
    ids(&events[lo..hi])
}

/// A hot session key: many sign-ins, several at each instant. The backend's index walk
/// answers as the default method does for every trigger, stored or not, inside the window or
/// not, and whatever the cap.
async fn signins_near_walks_the_index_around_a_sign_in(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_near");
    let b = tenant("ten_near_b");
    let mut events = Vec::new();
    let mut noise = Vec::new();
    for n in 0..48 {
        // Twelve instants, four sign-ins at each.
        let millis = (n / 4) * 1_000;
        let mut e = signin_at(&a.id, &format!("h{n:02}"), millis);
        e.session_id = Some("hot".into());
        events.push(e);
        // Other subjects of the tenant, and the same session id in another tenant.
        let mut other = signin_at(&a.id, &format!("o{n:02}"), millis + 500);
        other.session_id = Some("cold".into());
        noise.push(other);
        let mut theirs = signin_at(&b.id, &format!("b{n:02}"), millis);
        theirs.session_id = Some("hot".into());
        store
            .insert_signins(&b.id, &[theirs], gatehouse_store::Durability::Now)
            .await
            .unwrap();
    }
    store
        .insert_signins(&a.id, &events, gatehouse_store::Durability::Now)
        .await
        .unwrap();
    store
        .insert_signins(&a.id, &noise, gatehouse_store::Durability::Now)
        .await
        .unwrap();

    let mut arounds: Vec<SignInId> = events.iter().map(|e| e.id.clone()).collect();
    // Triggers never stored: before everything, between instants, at an instant, after all.
    for millis in [-5_000, 2_500, 7_000, 60_000] {
        arounds.push(SignInId::derive(
            t0() + Duration::milliseconds(millis),
            &["int_0001", "absent"],
        ));
    }
    let at = |millis: i64| t0() + Duration::milliseconds(millis);
    let windows = [
        (at(-60_000), at(60_000)),
        (at(3_000), at(8_000)),
        (at(5_000), at(5_000)),
    ];
    let store = store.as_ref();
    for window in windows {
        for around in &arounds {
            for each_side in [0, 1, 3, 6, 100] {
                let got = store
                    .signins_near(
                        &a.id,
                        SignInSubject::Session("hot"),
                        window,
                        around,
                        each_side,
                    )
                    .await
                    .unwrap();
                let want = near_by_default(
                    store,
                    &a.id,
                    SignInSubject::Session("hot"),
                    window,
                    around,
                    each_side,
                )
                .await;
                assert_eq!(
                    ids(&got),
                    want,
                    "around {around} with {each_side} each side in {window:?}"
                );
            }
        }
    }
    // A concrete case: the second of four sign-ins at 5 s, two each side.
    let got = store
        .signins_near(
            &a.id,
            SignInSubject::Session("hot"),
            windows[0],
            &events[21].id,
            2,
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[2].id, events[21].id,
        "itself, first of those from it on"
    );
    assert!(got
        .windows(2)
        .all(|w| (w[0].time, &w[0].id) < (w[1].time, &w[1].id)));
    assert!(got.iter().all(|e| e.tenant_id == a.id));
}

async fn get_signin_is_tenant_scoped(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_get_a");
    let b = tenant("ten_get_b");
    let mut event = signin_at(&a.id, "e1", 0);
    event.latitude = Some(52.52);
    event.raw = Some(serde_json::json!({"z": 1, "a": [true, null], "nested": {"k": "v"}}).into());
    store
        .insert_signins(
            &a.id,
            std::slice::from_ref(&event),
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_signin(&a.id, &event.id).await.unwrap(),
        Some(event.clone()),
        "the record comes back as it was written"
    );
    assert_eq!(store.get_signin(&b.id, &event.id).await.unwrap(), None);
    let absent = signin_at(&a.id, "e2", 0).id;
    assert_eq!(store.get_signin(&a.id, &absent).await.unwrap(), None);
}

async fn list_signins_filters_and_pages_in_id_order(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_list");
    let b = tenant("ten_list_b");
    let i = integration(&a.id, 1);
    let user = UserId::parse("usr_000007").unwrap();
    let mut events = Vec::new();
    for minute in 0..10 {
        let mut e = signin(&a.id, &i.id, &format!("e{minute}"), minute);
        e.outcome = if minute % 2 == 0 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        e.user_id = (minute % 3 == 0).then(|| user.clone());
        events.push(e);
    }
    events.reverse();
    store
        .insert_signins(&a.id, &events, gatehouse_store::Durability::Now)
        .await
        .unwrap();
    let mut theirs = signin(&b.id, &i.id, "b0", 3);
    theirs.tenant_id = b.id.clone();
    store
        .insert_signins(&b.id, &[theirs], gatehouse_store::Durability::Now)
        .await
        .unwrap();

    // Every page of a listing, and each page's cursor.
    let pages = |filter: SignInFilter, limit: usize| {
        let store = &store;
        let tenant = a.id.clone();
        async move {
            let mut pages = Vec::new();
            let mut request = PageRequest::first(limit);
            loop {
                let page = store
                    .list_signins(&tenant, &filter, &request)
                    .await
                    .unwrap();
                pages.push(ids(&page.items));
                match page.next_cursor {
                    Some(cursor) => {
                        assert_eq!(
                            Some(cursor.as_str()),
                            page.items.last().map(|e| e.id.as_str())
                        );
                        request = PageRequest::new(limit, Some(cursor));
                    }
                    None => break,
                }
                assert!(pages.len() < 20, "paging must end");
            }
            pages
        }
    };
    assert_eq!(
        pages(SignInFilter::default(), 4).await,
        [
            vec!["e0", "e1", "e2", "e3"],
            vec!["e4", "e5", "e6", "e7"],
            vec!["e8", "e9"]
        ]
    );
    // A full last page: nothing follows it, so no cursor.
    assert_eq!(
        pages(SignInFilter::default(), 5).await,
        [
            vec!["e0", "e1", "e2", "e3", "e4"],
            vec!["e5", "e6", "e7", "e8", "e9"]
        ]
    );
    // A full page with only unmatched sign-ins after it still has a cursor (the sled
    // backend's paging), and the page after it is empty.
    let successes = SignInFilter {
        outcome: Some(Outcome::Success),
        ..Default::default()
    };
    assert_eq!(
        pages(successes.clone(), 5).await,
        [vec!["e0", "e2", "e4", "e6", "e8"], vec![]]
    );
    assert_eq!(
        pages(successes, 2).await,
        [vec!["e0", "e2"], vec!["e4", "e6"], vec!["e8"]]
    );
    let of_user = SignInFilter {
        user_id: Some(user.clone()),
        ..Default::default()
    };
    assert_eq!(pages(of_user, 10).await, [vec!["e0", "e3", "e6", "e9"]]);
    let window = SignInFilter {
        since: Some(t0() + Duration::minutes(2)),
        until: Some(t0() + Duration::minutes(6)),
        outcome: Some(Outcome::Failure),
        ..Default::default()
    };
    assert_eq!(pages(window, 10).await, [vec!["e3", "e5"]]);
    let nobody = SignInFilter {
        user_id: Some(UserId::parse("usr_nobody").unwrap()),
        ..Default::default()
    };
    assert_eq!(pages(nobody, 10).await, [Vec::<&str>::new()]);
    // A cursor is a position, whether or not a stored id.
    let sorted: Vec<&SignInEvent> = {
        let mut s: Vec<&SignInEvent> = events.iter().collect();
        s.sort_by(|x, y| x.id.cmp(&y.id));
        s
    };
    let between = format!("{}0", sorted[6].id);
    let page = store
        .list_signins(
            &a.id,
            &SignInFilter::default(),
            &PageRequest::new(10, Some(between)),
        )
        .await
        .unwrap();
    assert_eq!(ids(&page.items), ["e7", "e8", "e9"]);
    assert_eq!(page.next_cursor, None);
    let page = store
        .list_signins(&b.id, &SignInFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(ids(&page.items), ["b0"], "listing is tenant-scoped");
}

async fn cursors_and_sync_status_are_per_tenant_and_integration(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_cursor_a");
    let b = tenant("ten_cursor_b");
    let one = integration(&a.id, 1).id;
    let two = integration(&a.id, 2).id;
    assert_eq!(
        store.get_cursor(&a.id, &one, "signins").await.unwrap(),
        None
    );
    let cursor = |value: &str| SyncCursor {
        value: value.into(),
        updated_at: t0(),
    };
    store
        .put_cursor(&a.id, &one, "signins", &cursor("page-1"))
        .await
        .unwrap();
    store
        .put_cursor(&a.id, &one, "users", &cursor("delta-1"))
        .await
        .unwrap();
    store
        .put_cursor(&a.id, &one, "signins", &cursor("page-2"))
        .await
        .unwrap();
    assert_eq!(
        store.get_cursor(&a.id, &one, "signins").await.unwrap(),
        Some(cursor("page-2")),
        "a put replaces"
    );
    assert_eq!(
        store.get_cursor(&a.id, &one, "users").await.unwrap(),
        Some(cursor("delta-1"))
    );
    assert_eq!(
        store.get_cursor(&a.id, &two, "signins").await.unwrap(),
        None
    );
    assert_eq!(
        store.get_cursor(&b.id, &one, "signins").await.unwrap(),
        None
    );

    assert_eq!(store.get_sync_status(&a.id, &one).await.unwrap(), None);
    let mut status = SyncStatus {
        last_run_at: Some(t0()),
        last_error: Some("rate limited".into()),
        ..Default::default()
    };
    store.put_sync_status(&a.id, &one, &status).await.unwrap();
    status.last_success_at = Some(t0() + Duration::minutes(5));
    status.last_error = None;
    store.put_sync_status(&a.id, &one, &status).await.unwrap();
    assert_eq!(
        store.get_sync_status(&a.id, &one).await.unwrap(),
        Some(status)
    );
    assert_eq!(store.get_sync_status(&a.id, &two).await.unwrap(), None);
    assert_eq!(store.get_sync_status(&b.id, &one).await.unwrap(), None);
}

/// The risk windows' reads (`signins_about`, `signins_near`) answer every normalized field of
/// the sign-in as first stored, without the provider's raw event (which `get_signin` still
/// has); an event resent with the same id and other content changes neither the record nor
/// the windows (not even under a subject only the resent content names).
async fn window_reads_carry_the_first_copy_without_the_raw_event(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_window_copy");
    let mut first = signin_at(&a.id, "w1", 1_000);
    first.session_id = Some("sess-w".into());
    first.user_agent = Some("Mozilla/5.0".into());
    first.raw = Some(serde_json::json!({"uuid": "w1", "big": "x".repeat(2_000)}).into());
    assert_eq!(
        store
            .insert_signins(&a.id, &[first.clone()], gatehouse_store::Durability::Now)
            .await
            .unwrap(),
        vec![0]
    );
    let mut resent = first.clone();
    resent.ip = Some("192.0.2.99".into());
    resent.outcome = Outcome::Success;
    assert!(store
        .insert_signins(&a.id, &[resent], gatehouse_store::Durability::Now)
        .await
        .unwrap()
        .is_empty());
    let mut expected = first.clone();
    expected.raw = None;
    let window = (t0(), t0() + Duration::hours(1));
    for subject in [
        SignInSubject::Login("a@example.com"),
        SignInSubject::Ip("203.0.113.9"),
        SignInSubject::Session("sess-w"),
    ] {
        let about = store
            .signins_about(&a.id, subject.clone(), window.0, window.1, 10)
            .await
            .unwrap();
        assert_eq!(about, vec![expected.clone()], "{subject:?}");
        let near = store
            .signins_near(&a.id, subject.clone(), window, &first.id, 5)
            .await
            .unwrap();
        assert_eq!(near, vec![expected.clone()], "{subject:?}");
    }
    assert!(store
        .signins_about(
            &a.id,
            SignInSubject::Ip("192.0.2.99"),
            window.0,
            window.1,
            10
        )
        .await
        .unwrap()
        .is_empty());
    let stored = store.get_signin(&a.id, &first.id).await.unwrap();
    assert_eq!(
        stored,
        Some(first.clone()),
        "the record keeps its raw event"
    );
    let listed = store
        .list_signins(&a.id, &SignInFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![first], "a listing keeps it too");
}

/// On PostgreSQL the raw event has a column of its own; rows stored before it hold the raw
/// event inside `doc`. Both read back whole, and window reads leave it out of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reads_raw_events_from_either_layout() {
    let backend = Backend::postgres();
    let store = backend.open().await;
    let a = tenant("ten_raw_layout");
    let mut new = signin_at(&a.id, "new", 1_000);
    new.raw = Some(serde_json::json!({"uuid": "new", "note": "nul \u{0} kept"}).into());
    store
        .insert_signins(&a.id, &[new.clone()], gatehouse_store::Durability::Now)
        .await
        .unwrap();
    let client = backend.sql().await;
    let row = client
        .query_one(
            "SELECT doc ? 'raw', raw FROM signins WHERE tenant_id = $1 AND id = $2",
            &[&a.id.as_str(), &new.id.as_str()],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0), "doc holds no raw event");
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        new.raw.as_ref().map(|r| r.text())
    );

    // A row as the schema before the column stored it: the raw event inside `doc`.
    let mut old = signin_at(&a.id, "old", 2_000);
    old.raw = Some(serde_json::json!({"uuid": "old"}).into());
    let doc = serde_json::to_value(&old).unwrap();
    client
        .execute(
            "INSERT INTO signins (tenant_id, id, time, time_nanos, doc) VALUES ($1, $2, $3, 0, $4)",
            &[&a.id.as_str(), &old.id.as_str(), &old.time, &doc],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO signin_subjects (tenant_id, subject, time, time_nanos, signin_id) \
             VALUES ($1, 'i:203.0.113.9', $2, 0, $3)",
            &[&a.id.as_str(), &old.time, &old.id.as_str()],
        )
        .await
        .unwrap();
    for event in [&new, &old] {
        let stored = store.get_signin(&a.id, &event.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(event));
    }
    let listed = store
        .list_signins(&a.id, &SignInFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(listed.items.iter().all(|e| e.raw.is_some()));
    let window = (t0(), t0() + Duration::hours(1));
    let about = store
        .signins_about(
            &a.id,
            SignInSubject::Ip("203.0.113.9"),
            window.0,
            window.1,
            10,
        )
        .await
        .unwrap();
    assert_eq!(about.len(), 2);
    assert!(about.iter().all(|e| e.raw.is_none()), "{about:?}");
}

/// The caller's copies of some sign-ins (the engine's triggers and earlier reads) change nothing
/// in what a window read answers, on either backend.
async fn window_reads_with_known_sign_ins_answer_as_without(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_known");
    let events: Vec<SignInEvent> = (0..12)
        .map(|n| signin_at(&a.id, &format!("k{n}"), n * 1_000))
        .collect();
    store
        .insert_signins(&a.id, &events, gatehouse_store::Durability::Now)
        .await
        .unwrap();
    let mut known = KnownSignIns::default();
    events.iter().step_by(2).for_each(|e| known.add(e));
    let ip = events[0].ip.clone().unwrap();
    let window = (t0() - Duration::minutes(1), t0() + Duration::minutes(1));
    let plain = store
        .signins_about(&a.id, SignInSubject::Ip(&ip), window.0, window.1, 100)
        .await
        .unwrap();
    assert_eq!(plain.len(), events.len());
    let with = store
        .signins_about_known(&a.id, SignInSubject::Ip(&ip), window, 100, &known)
        .await
        .unwrap();
    assert_eq!(with, plain);
    let around = &events[6].id;
    let near = store
        .signins_near(&a.id, SignInSubject::Ip(&ip), window, around, 3)
        .await
        .unwrap();
    let near_with = store
        .signins_near_known(&a.id, SignInSubject::Ip(&ip), window, around, 3, &known)
        .await
        .unwrap();
    assert_eq!(ids(&near_with), ids(&near));
    assert_eq!(near_with, near);
}
