//! Outputs: detections and action results delivered to a signed webhook and a JSON-lines file
//! as OCSF documents.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_core::model::ActionKind;
use gatehouse_core::records::PushRequest;
use gatehouse_engine::outputs::{OutputConfig, OutputFormat, SIGNATURE_HEADER};
use serde_json::{json, Value};

use super::support::{harness_with, request, with_user, Script};

#[tokio::test]
async fn detections_go_to_a_signed_webhook_and_a_json_lines_file() {
    use axum::routing::post;
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/alerts",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = Arc::clone(&sink);
            async move {
                let signature = headers
                    .get(SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                sink.lock().unwrap().push((signature, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("alerts.jsonl");
    let outputs = OutputConfig {
        webhook_url: Some(format!("http://{addr}/alerts")),
        webhook_secret: Some("hook-secret".to_owned().into()),
        jsonl_path: Some(jsonl.clone()),
        format: OutputFormat::Ocsf,
    };
    let h = harness_with(Arc::new(Mutex::new(Script::default())), outputs).await;
    let (integration, _) = with_user(&h, json!({})).await;
    let ids: Vec<String> = (0..11).map(|n| format!("out-{n}")).collect();
    let push = PushRequest {
        method: "POST".into(),
        headers: vec![],
        query: vec![],
        content_type: None,
        body: serde_json::to_vec(&ids).unwrap(),
    };
    h.engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    for _ in 0..300 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (signature, body) = received
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("a webhook delivery");
    assert_eq!(
        signature,
        format!(
            "sha256={}",
            gatehouse_engine::outputs::sign("hook-secret", body.as_bytes())
        )
    );
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        document["class_uid"], 2004,
        "OCSF Detection Finding: {document}"
    );
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["class_uid"], 2004);
    assert!(first["finding_info"]["title"].is_string(), "{first}");
    // Action results go to the outputs too, as OCSF Remediation Activity.
    let user = h
        .store
        .find_user_by_external_id(&h.tenant, &integration.id, "00u1")
        .await
        .unwrap()
        .unwrap();
    let action = h
        .engine
        .actions
        .request(request(&h, &user.id, ActionKind::RevokeSessions))
        .await
        .unwrap();
    h.wait_for(&action.id, |a| a.status.is_final()).await;
    let mut found = None;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&jsonl).unwrap();
        found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|d| d["class_uid"] == 7001);
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let remediation = found.expect("the action's result in the JSON-lines output");
    assert_eq!(remediation["metadata"]["uid"], action.id.as_str());
    assert_eq!(remediation["unmapped"]["gatehouse"]["status"], "skipped");
}
