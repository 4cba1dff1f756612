//! Push against the Google simulator: `maintain` keeps a Reports API watch channel on login
//! activity pointed at a push URL (here a tiny local receiver standing in for the daemon's
//! ingest endpoint), the simulator delivers the channel's `sync` and an activity, and decoding
//! what arrived yields the pull's events; a changed push URL replaces the channel and stops the
//! old one; no push URL stops it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use gatehouse_connect::RetryPolicy;
use gatehouse_core::provider::{Connector, ConnectorContext, Credentials};
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest};
use gatehouse_core::{Clock, IntegrationId, ManualClock, SystemClock, TenantId};
use gatehouse_google::{ChannelState, GoogleConnector, Scope};
use gatehouse_idp_sim::google::{GoogleConfig, GoogleSim};
use secrecy::SecretString;
use serde_json::{json, Value};

type Received = Arc<Mutex<Vec<PushRequest>>>;

/// A receiver that records every request as the daemon would hand it on (token places kept:
/// this test checks them itself).
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    async fn record(
        State(received): State<Received>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        let request = PushRequest {
            method: method.as_str().to_owned(),
            query: form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            headers: headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            content_type: headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(PushRequest::media_type),
            body: body.to_vec(),
        };
        received.lock().unwrap().push(request);
        ""
    }
    let app = axum::Router::new()
        .fallback(record)
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), received)
}

fn sim() -> (GoogleSim, String) {
    let defaults = GoogleConfig::default();
    let mut authorized_scopes = defaults.authorized_scopes.clone();
    authorized_scopes.insert(Scope::AuditReadonly.url().to_owned());
    let sim = GoogleSim::new(GoogleConfig {
        users: 5,
        activities: 0,
        authorized_scopes,
        reporting_lag: Duration::ZERO,
        notification_interval: None,
        ..defaults
    });
    let running = sim.spawn(([127, 0, 0, 1], 0).into()).unwrap();
    let base = running.base_url().to_string();
    std::mem::forget(running);
    (sim, base)
}

fn connector(sim: &GoogleSim, base: &str, push_url: Option<String>) -> GoogleConnector {
    connector_at(sim, base, push_url, Arc::new(SystemClock))
}

fn connector_at(
    sim: &GoogleSim,
    base: &str,
    push_url: Option<String>,
    clock: Arc<dyn Clock>,
) -> GoogleConnector {
    let key = sim.service_account_json(&format!("{}/token", base.trim_end_matches('/')));
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_sim").unwrap(),
        integration_id: IntegrationId::generate(SystemClock.now()),
        credentials: Credentials::from_object(
            serde_json::from_value(json!({
                "service_account": key, "admin_email": sim.config().admin_email,
            }))
            .unwrap(),
        ),
        config: serde_json::from_value(json!({"api_base_url": base})).unwrap(),
        allow_custom_endpoints: true,
        clock,
        push_url: push_url.map(SecretString::from),
    };
    GoogleConnector::from_context(context, RetryPolicy::default()).unwrap()
}

fn push_url(receiver: &str, token: &str) -> String {
    format!("{receiver}/v1/idp/google_workspace?tenant_id=ten_sim&token={token}")
}

#[tokio::test]
async fn a_channel_delivers_sync_and_activities_that_decode_to_the_pulls_events() {
    let (sim, base) = sim();
    let (receiver, received) = receiver().await;
    let url = push_url(&receiver, "ingest-abc");
    let c = connector(&sim, &base, Some(url.clone()));
    assert!(c.capabilities().push);

    let state = c.maintain(None).await.unwrap().unwrap();
    let kept = ChannelState::parse(&state).unwrap();
    assert!(!state.contains("ingest-abc") && !state.contains(&receiver));
    let channels = sim.channels();
    assert_eq!(channels.len(), 1);
    let channel = &channels[0];
    assert_eq!(channel.id, kept.id);
    assert_eq!(channel.resource_id, kept.resource_id);
    assert_eq!(channel.address, url);
    // The channel token is the ingest token: the daemon authenticates X-Goog-Channel-Token.
    assert_eq!(channel.token.as_deref(), Some("ingest-abc"));
    assert!(kept.expires_at - kept.created_at <= chrono::Duration::hours(6));

    // Kept while young and for the same URL.
    assert_eq!(
        c.maintain(Some(&state)).await.unwrap().as_deref(),
        Some(state.as_str())
    );
    assert_eq!(sim.channels().len(), 1);

    let statuses = sim.deliver_notifications().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (time, unique) = sim.add_activity(json!({
        "events": [{"type": "login", "name": "login_failure", "parameters": [
            {"name": "login_type", "value": "google_password"},
            {"name": "login_failure_type", "value": "login_failure_invalid_password"}
        ]}]
    }));
    let statuses = sim.deliver_notifications().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let received = received.lock().unwrap().clone();
    assert!(received.len() >= 2, "{} requests arrived", received.len());
    let sync = &received[0];
    assert_eq!(sync.header("x-goog-resource-state"), Some("sync"));
    assert_eq!(sync.header("x-goog-channel-token"), Some("ingest-abc"));
    assert_eq!(sync.query_param("token"), Some("ingest-abc"));
    assert_eq!(sync.header("x-goog-channel-id"), Some(kept.id.as_str()));
    assert_eq!(
        c.decode_push(sync).unwrap(),
        PushOutcome::Respond(PushReply::empty(200))
    );

    let id = format!("{time}/{unique}");
    let mut pushed = Vec::new();
    for request in &received[1..] {
        match c.decode_push(request).unwrap() {
            PushOutcome::Events(events) => pushed.extend(events),
            other => panic!("expected events, got {other:?}"),
        }
    }
    let event = pushed
        .iter()
        .find(|e| e.provider_event_id == id)
        .expect("the pushed activity");
    assert_eq!(event.event_type, "login_failure");
    assert!(event.login.is_some());

    // The pull maps the same activity onto the same id (stored once).
    let page = c.signins_page(None).await.unwrap();
    assert!(page.events.iter().any(|e| e.provider_event_id == id));

    // The report confirms it, naming the account it names.
    let confirmation = c
        .confirm_events(&[id.clone(), format!("{time}/12345")])
        .await
        .unwrap();
    assert_eq!(confirmation.confirmed.len(), 1);
    assert_eq!(confirmation.confirmed[0].provider_event_id, id);
    assert_eq!(confirmation.confirmed[0].login, event.login);
    assert_eq!(
        confirmation.confirmed[0].external_user_id,
        event.external_user_id
    );
}

#[tokio::test]
async fn a_changed_push_url_replaces_the_channel_and_none_stops_it() {
    let (sim, base) = sim();
    let (receiver, _received) = receiver().await;
    let first = connector(&sim, &base, Some(push_url(&receiver, "ingest-one")));
    let state = first.maintain(None).await.unwrap().unwrap();
    let old = ChannelState::parse(&state).unwrap();

    let second = connector(&sim, &base, Some(push_url(&receiver, "ingest-two")));
    let state = second.maintain(Some(&state)).await.unwrap().unwrap();
    let new = ChannelState::parse(&state).unwrap();
    assert_ne!(new.id, old.id);
    assert_ne!(new.address_fingerprint, old.address_fingerprint);
    let channels = sim.channels();
    let by_id = |id: &str| channels.iter().find(|c| c.id == id).unwrap().clone();
    assert!(by_id(&old.id).stopped, "the old channel is stopped");
    assert!(!by_id(&new.id).stopped);
    assert_eq!(by_id(&new.id).token.as_deref(), Some("ingest-two"));
    let stops: Vec<Value> = sim
        .writes()
        .into_iter()
        .filter(|w| w.path.ends_with("/channels/stop"))
        .filter_map(|w| w.body)
        .collect();
    assert_eq!(
        stops,
        vec![json!({"id": old.id, "resourceId": old.resource_id})]
    );

    let none = connector(&sim, &base, None);
    assert_eq!(none.maintain(Some(&state)).await.unwrap(), None);
    let channels = sim.channels();
    assert!(channels.iter().all(|c| c.stopped));
    assert_eq!(none.maintain(None).await.unwrap(), None);
}

#[tokio::test]
async fn an_ageing_channel_is_replaced_before_it_expires() {
    let (sim, base) = sim();
    let (receiver, _received) = receiver().await;
    let clock = Arc::new(ManualClock::new(sim.clock().now()));
    let c = connector_at(
        &sim,
        &base,
        Some(push_url(&receiver, "ingest-abc")),
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    let state = c.maintain(None).await.unwrap().unwrap();
    let old = ChannelState::parse(&state).unwrap();

    // Three hours on, half its life is left: kept.
    clock.advance(chrono::Duration::hours(3));
    sim.advance(Duration::from_secs(3 * 3600));
    assert_eq!(
        c.maintain(Some(&state)).await.unwrap().as_deref(),
        Some(state.as_str())
    );

    // Five hours on, less than a third: a new channel, the old one stopped.
    clock.advance(chrono::Duration::hours(2));
    sim.advance(Duration::from_secs(2 * 3600));
    let renewed = ChannelState::parse(&c.maintain(Some(&state)).await.unwrap().unwrap()).unwrap();
    assert_ne!(renewed.id, old.id);
    assert!(renewed.expires_at > old.expires_at);
    let channels = sim.channels();
    assert!(channels.iter().any(|ch| ch.id == old.id && ch.stopped));
    assert!(channels.iter().any(|ch| ch.id == renewed.id && !ch.stopped));
}

#[tokio::test]
async fn without_login_activity_there_is_no_channel() {
    let (sim, base) = sim();
    let (receiver, _received) = receiver().await;
    let key = sim.service_account_json(&format!("{}/token", base.trim_end_matches('/')));
    let context = ConnectorContext {
        observer: None,
        tenant_id: TenantId::parse("ten_sim").unwrap(),
        integration_id: IntegrationId::generate(SystemClock.now()),
        credentials: Credentials::from_object(
            serde_json::from_value(json!({
                "service_account": key, "admin_email": sim.config().admin_email,
            }))
            .unwrap(),
        ),
        config: serde_json::from_value(json!({"api_base_url": base, "ingest_signins": false}))
            .unwrap(),
        allow_custom_endpoints: true,
        clock: Arc::new(SystemClock),
        push_url: Some(SecretString::from(push_url(&receiver, "ingest-abc"))),
    };
    let c = GoogleConnector::from_context(context, RetryPolicy::default()).unwrap();
    assert!(!c.capabilities().push);
    assert_eq!(c.maintain(None).await.unwrap(), None);
    assert!(sim.channels().is_empty());
}
