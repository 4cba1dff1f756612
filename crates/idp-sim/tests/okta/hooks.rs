//! Event hooks: the verification handshake and delivery (retries on 5xx and
//! timeouts, none on 4xx) against a small loopback receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use gatehouse_idp_sim::okta::OktaSim;
use serde_json::{json, Value};

use crate::support::config;

#[derive(Default)]
struct Receiver {
    /// Statuses to answer, in order (then 200).
    script: Mutex<Vec<u16>>,
    /// How long to wait before answering.
    delay: Mutex<Duration>,
    /// (method, headers, body) of each request.
    seen: Mutex<Vec<(String, HeaderMap, String)>>,
}

async fn spawn_receiver(state: Arc<Receiver>) -> String {
    async fn verify(
        axum::extract::State(s): axum::extract::State<Arc<Receiver>>,
        headers: HeaderMap,
    ) -> axum::Json<Value> {
        s.seen
            .lock()
            .unwrap()
            .push(("GET".into(), headers.clone(), String::new()));
        let challenge = headers["x-okta-verification-challenge"]
            .to_str()
            .unwrap()
            .to_string();
        axum::Json(json!({ "verification": challenge }))
    }
    async fn deliver(
        axum::extract::State(s): axum::extract::State<Arc<Receiver>>,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        s.seen.lock().unwrap().push(("POST".into(), headers, body));
        let delay = *s.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        let mut script = s.script.lock().unwrap();
        let code = if script.is_empty() {
            200
        } else {
            script.remove(0)
        };
        StatusCode::from_u16(code).unwrap()
    }
    let app = axum::Router::new()
        .route("/hook", get(verify).post(deliver))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn event_hook_verification_and_delivery() {
    let mut cfg = config(10, 20);
    cfg.hook_timeout = Duration::from_secs(1);
    let sim = OktaSim::new(cfg);
    let receiver = Arc::new(Receiver::default());
    let url = spawn_receiver(receiver.clone()).await;

    let v = sim.verify_event_hook(&url, "my-shared-secret").await;
    assert!(v.verified, "{v:?}");
    assert_eq!(v.attempts.len(), 1);
    assert_eq!(v.answer.as_deref(), Some(v.challenge.as_str()));
    {
        let seen = receiver.seen.lock().unwrap();
        assert_eq!(seen[0].1["authorization"], "my-shared-secret");
        assert_eq!(
            seen[0].1["x-okta-verification-challenge"].to_str().unwrap(),
            v.challenge
        );
    }

    // The first events a hook can carry (the generated log also holds ineligible types).
    let events: Vec<Value> = sim
        .events()
        .into_iter()
        .filter(|e| {
            e["eventType"]
                .as_str()
                .is_some_and(gatehouse_idp_sim::okta::is_hook_eligible)
        })
        .take(3)
        .collect();
    let d = sim
        .deliver_event_hook(&url, "my-shared-secret", events.clone())
        .await;
    assert!(d.delivered && d.attempts.len() == 1, "{d:?}");
    {
        let seen = receiver.seen.lock().unwrap();
        let (method, headers, body) = seen.last().unwrap();
        assert_eq!(method, "POST");
        assert_eq!(headers["authorization"], "my-shared-secret");
        assert_eq!(headers["content-type"], "application/json");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["eventType"], "com.okta.event_hook");
        assert_eq!(body["eventTypeVersion"], "1.0");
        assert_eq!(body["cloudEventsVersion"], "0.1");
        assert_eq!(body["contentType"], "application/json");
        assert_eq!(body["eventId"], d.event_id.as_str());
        assert!(body["source"]
            .as_str()
            .unwrap()
            .contains("/api/v1/eventHooks/"));
        assert!(body["eventTime"].is_string());
        assert_eq!(body["data"]["events"], Value::Array(events.clone()));
    }

    // 5xx is retried once, with the same eventId.
    *receiver.script.lock().unwrap() = vec![503];
    let before = receiver.seen.lock().unwrap().len();
    let d = sim.deliver_event_hook(&url, "s", events.clone()).await;
    assert!(d.delivered);
    assert_eq!(
        d.attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(503), Some(200)]
    );
    let seen = receiver.seen.lock().unwrap().split_off(before);
    let ids: Vec<Value> = seen
        .iter()
        .map(|(_, _, b)| serde_json::from_str::<Value>(b).unwrap()["eventId"].clone())
        .collect();
    assert_eq!(ids[0], ids[1]);

    // Okta never sends an event type its catalog does not mark eligible for hooks: a batch
    // holding one is not sent at all.
    let before = receiver.seen.lock().unwrap().len();
    let mut with_denial = events.clone();
    let mut denial = events[0].clone();
    denial["eventType"] = serde_json::json!("user.mfa.okta_verify.deny_push");
    with_denial.push(denial);
    let d = sim.deliver_event_hook(&url, "s", with_denial).await;
    assert!(!d.delivered);
    assert!(d.attempts[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("user.mfa.okta_verify.deny_push")));
    assert_eq!(
        receiver.seen.lock().unwrap().len(),
        before,
        "nothing was sent"
    );
    for ineligible in [
        "system.push.send_factor_verify_push",
        "policy.evaluate_sign_on",
        "security.threat.detected",
        "user.authentication.verify",
    ] {
        assert!(
            !gatehouse_idp_sim::okta::is_hook_eligible(ineligible),
            "{ineligible}"
        );
    }
    for eligible in [
        "user.session.start",
        "user.authentication.auth_via_mfa",
        "user.account.lock",
    ] {
        assert!(
            gatehouse_idp_sim::okta::is_hook_eligible(eligible),
            "{eligible}"
        );
    }

    // 4xx is never retried.
    *receiver.script.lock().unwrap() = vec![400];
    let d = sim.deliver_event_hook(&url, "s", events.clone()).await;
    assert!(!d.delivered);
    assert_eq!(d.attempts.len(), 1);

    // Timeouts are retried once, then the failure lands in the System Log.
    *receiver.delay.lock().unwrap() = Duration::from_millis(2500);
    let logged_before = sim.event_count();
    let d = sim.deliver_event_hook(&url, "s", events).await;
    assert!(!d.delivered);
    assert_eq!(d.attempts.len(), 2);
    assert!(d.attempts.iter().all(|a| a.timed_out));
    assert_eq!(
        sim.event_count(),
        logged_before + 1,
        "the failed delivery was logged"
    );
    let last = sim.events().pop().unwrap();
    assert_eq!(last["eventType"], "event_hook.delivery");
    assert_eq!(last["outcome"]["result"], "FAILURE");

    // A wrong answer to the challenge fails verification.
    let bad = sim.verify_event_hook(&format!("{url}-missing"), "s").await;
    assert!(!bad.verified);
    assert_eq!(bad.attempts[0].status, Some(404));
}
