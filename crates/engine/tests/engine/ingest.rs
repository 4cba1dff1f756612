//! Push ingest: provider handshakes, storing pushed events once, and the durable push inbox
//! that stores behind the answer and replays what a stopped daemon left.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::records::{PushReply, PushRequest};
use gatehouse_core::SystemClock;
use gatehouse_engine::ingest::PushResult;
use gatehouse_engine::{Engine, EngineOptions};
use gatehouse_store::journal::{Journal, JournalOptions};
use serde_json::json;

use super::support::harness;

#[tokio::test]
async fn push_ingest_answers_handshakes_and_stores_once() {
    let h = harness().await;
    let integration = h.integration(json!({})).await;
    let request = |headers: Vec<(&str, &str)>, body: &str| PushRequest {
        method: "POST".into(),
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
        ..PushRequest::default()
    };
    let answer = h
        .engine
        .ingest
        .push(
            &h.tenant,
            &integration.id,
            &request(vec![("x-challenge", "abc")], ""),
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        PushResult::Respond(PushReply::json(200, &json!({"verification": "abc"})))
    );
    let stored = h
        .engine
        .ingest
        .push(
            &h.tenant,
            &integration.id,
            &request(vec![], r#"["p1","p2"]"#),
        )
        .await
        .unwrap();
    assert!(matches!(
        stored,
        PushResult::Stored {
            received: 2,
            stored: 2
        }
    ));
    let again = h
        .engine
        .ingest
        .push(
            &h.tenant,
            &integration.id,
            &request(vec![], r#"["p2","p3"]"#),
        )
        .await
        .unwrap();
    assert!(matches!(
        again,
        PushResult::Stored {
            received: 2,
            stored: 1
        }
    ));
    assert!(h
        .engine
        .ingest
        .push(&h.tenant, &integration.id, &request(vec![], "not json"))
        .await
        .is_err());
}

/// With the inbox, a push is acknowledged once durable in the journal and stored behind the
/// answer; readers wait for `settled`. What a stopped daemon left in the journal is stored when
/// the next one starts, and redeliveries are stored once.
#[tokio::test]
async fn the_push_inbox_stores_behind_the_answer_once_and_replays_what_was_left() {
    let h = harness().await;
    let integration = h.integration(json!({})).await;
    let delivery = |body: &str| PushRequest {
        method: "POST".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
        ..PushRequest::default()
    };
    let inbox_dir = tempfile::tempdir().unwrap();
    // A previous daemon acknowledged these and stopped before storing them.
    {
        let journal = Journal::open(JournalOptions::new(inbox_dir.path())).unwrap();
        for body in [r#"["q1","q2"]"#, r#"["q2"]"#] {
            let record = gatehouse_engine::inbox::record::encode(
                gatehouse_core::Clock::now(&SystemClock),
                &h.tenant,
                &integration.id,
                &delivery(body),
            );
            journal.append(record).await.unwrap();
        }
    }
    let journal = Arc::new(Journal::open(JournalOptions::new(inbox_dir.path())).unwrap());
    let engine = Engine::start(
        Arc::clone(&h.engine.gateway),
        EngineOptions {
            schedules: false,
            inbox: Some(Arc::clone(&journal)),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(engine.ingest.settled(Duration::from_secs(10)).await);
    let ids = |signins: Vec<gatehouse_core::model::SignInEvent>| {
        let mut ids: Vec<_> = signins.into_iter().map(|e| e.provider_event_id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(h.signins().await), ["q1", "q2"]);

    let answer = engine
        .ingest
        .push(&h.tenant, &integration.id, &delivery(r#"["q2","q3"]"#))
        .await
        .unwrap();
    assert_eq!(answer, PushResult::Queued { received: 2 });
    assert!(engine.ingest.settled(Duration::from_secs(10)).await);
    assert_eq!(ids(h.signins().await), ["q1", "q2", "q3"]);
    // The checkpoint follows once the store has synced what was stored (about a second later).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while journal.checkpoint() < journal.durable_end() {
        assert!(
            std::time::Instant::now() < deadline,
            "the checkpoint never reached the end of the journal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Refused at the door, so never acknowledged nor queued.
    let before = journal.durable_end();
    assert!(engine
        .ingest
        .push(&h.tenant, &integration.id, &delivery("not json"))
        .await
        .is_err());
    assert_eq!(journal.durable_end(), before);
    let inbox = engine.ingest.inbox().unwrap();
    assert_eq!(inbox.backlog_bytes(), 0);
}
