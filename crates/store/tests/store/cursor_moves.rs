//! A pull's page and its cursor move in one commit, on every backend: a move only from the
//! value the cursor holds, one winner among racing movers, and — on PostgreSQL, whose commit is
//! one transaction — nothing of a page written when its move is refused.

use gatehouse_core::model::SyncCursor;
use gatehouse_core::IntegrationId;
use gatehouse_store::{CursorMove, DrawnIds, StoreError};

use super::support::{conformance, integration, signin, t0, tenant, user, Backend};

fn moving(integration: &IntegrationId, name: &str, from: Option<&str>, to: &str) -> CursorMove {
    CursorMove {
        integration: integration.clone(),
        name: name.into(),
        from: from.map(str::to_owned),
        to: SyncCursor {
            value: to.into(),
            updated_at: t0(),
        },
    }
}

conformance!(a_cursor_moves_only_from_the_value_it_holds);

async fn a_cursor_moves_only_from_the_value_it_holds(backend: Backend) {
    let store = backend.open().await;
    let t = tenant("ten_a");
    store.create_tenant(&t).await.unwrap();
    let int = integration(&t.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    let value = |name: &str| {
        let store = std::sync::Arc::clone(&store);
        let (tenant, id, name) = (t.id.clone(), int.id.clone(), name.to_owned());
        async move {
            store
                .get_cursor(&tenant, &id, &name)
                .await
                .unwrap()
                .map(|c| c.value)
        }
    };
    store
        .move_cursor(&t.id, &moving(&int.id, "users.page", None, "p2"))
        .await
        .unwrap();
    let stale = store
        .move_cursor(&t.id, &moving(&int.id, "users.page", None, "p9"))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::CursorMoved(_)), "{stale:?}");
    store
        .move_cursor(&t.id, &moving(&int.id, "users.page", Some("p2"), "p3"))
        .await
        .unwrap();
    assert_eq!(value("users.page").await.as_deref(), Some("p3"));
    // An empty cursor is an unset one: a finished pull starts the next from the beginning.
    store
        .move_cursor(&t.id, &moving(&int.id, "users.page", Some("p3"), ""))
        .await
        .unwrap();
    store
        .move_cursor(&t.id, &moving(&int.id, "users.page", None, "p2"))
        .await
        .unwrap();

    // A page of sign-ins moves its cursor; one read at a cursor that moved is refused.
    let page = [
        signin(&t.id, &int.id, "e1", 0),
        signin(&t.id, &int.id, "e2", 1),
    ];
    let fresh = store
        .insert_signins_moving(&t.id, &page, &moving(&int.id, "signins", None, "s2"))
        .await
        .unwrap();
    assert_eq!(fresh, [0, 1]);
    let late = [signin(&t.id, &int.id, "e3", 2)];
    let refused = store
        .insert_signins_moving(&t.id, &late, &moving(&int.id, "signins", None, "s9"))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::CursorMoved(_)), "{refused:?}");
    assert_eq!(value("signins").await.as_deref(), Some("s2"));

    // A page of accounts, likewise.
    let ann = user(&t.id, &int.id, 1, "ann@a.example");
    store
        .upsert_users_with_identities_moving(
            &t.id,
            std::slice::from_ref(&ann),
            &[],
            &DrawnIds::NONE,
            &moving(&int.id, "users.page", Some("p2"), "p3"),
        )
        .await
        .unwrap();
    assert!(store.get_user(&t.id, &ann.id).await.unwrap().is_some());
    let bob = user(&t.id, &int.id, 2, "bob@a.example");
    let refused = store
        .upsert_users_with_identities_moving(
            &t.id,
            std::slice::from_ref(&bob),
            &[],
            &DrawnIds::NONE,
            &moving(&int.id, "users.page", Some("p2"), "p9"),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::CursorMoved(_)), "{refused:?}");
    assert_eq!(value("users.page").await.as_deref(), Some("p3"));

    if matches!(backend, Backend::Postgres(_)) {
        // One transaction: the refused pages wrote nothing.
        let e3 = &late[0].id;
        assert!(store.get_signin(&t.id, e3).await.unwrap().is_none());
        assert!(store.get_user(&t.id, &bob.id).await.unwrap().is_none());
    }
}

conformance!(racing_movers_from_one_value_have_one_winner);

async fn racing_movers_from_one_value_have_one_winner(backend: Backend) {
    let store = backend.open().await;
    let t = tenant("ten_a");
    store.create_tenant(&t).await.unwrap();
    let int = integration(&t.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    for from in [None, Some("p1")] {
        if from.is_some() {
            store
                .move_cursor(&t.id, &moving(&int.id, "signins", None, "p1"))
                .await
                .unwrap();
        }
        let mut racers = Vec::new();
        for n in 0..8 {
            let store = std::sync::Arc::clone(&store);
            let (tenant, id) = (t.id.clone(), int.id.clone());
            let name = if from.is_some() {
                "signins"
            } else {
                "users.page"
            };
            let mv = moving(&id, name, from, &format!("won-by-{n}"));
            racers.push(tokio::spawn(async move {
                store.move_cursor(&tenant, &mv).await
            }));
        }
        let mut winners = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(()) => winners += 1,
                Err(StoreError::CursorMoved(_)) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(winners, 1, "from {from:?}");
    }
}
