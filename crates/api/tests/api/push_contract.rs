//! The push contract as a provider sees it, through a test provider registered beside the
//! daemon's own: the token in the provider's own header, a handshake answered on POST as
//! `text/plain` without a token, the query and content type reaching the connector with the
//! credential taken out, and 404 for a type that takes no pushes.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::provider::{
    Capabilities, CheckReport, Connector, ConnectorContext, ConnectorError, ConnectorFactory,
};
use gatehouse_core::records::{PushOutcome, PushReply, PushRequest, TokenPlace};
use gatehouse_testkit::InProcess;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::OPERATOR_KEY;

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct NoCredentials {}
impl Fields for NoCredentials {}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct ChannelConfig {
    #[serde(flatten)]
    #[schema(inline)]
    #[allow(dead_code)]
    pull: PullConfig,
}
impl Fields for ChannelConfig {}

static CHANNEL: ProviderDescriptor = ProviderDescriptor {
    id: "channel",
    display_name: "A provider that pushes through channels",
    push_capable: true,
    push_token: &[
        TokenPlace::Header("x-channel-token"),
        TokenPlace::Query("token"),
    ],
    scim_server: false,
    signins_flag: None,
    credentials: FieldSet::of::<NoCredentials>(),
    config: FieldSet::of::<ChannelConfig>(),
};

/// What the connector was handed, for the test to read.
type Seen = Arc<Mutex<Vec<PushRequest>>>;

struct ChannelFactory(Seen);

impl ConnectorFactory for ChannelFactory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &CHANNEL
    }

    fn build(&self, _context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(Channel(Arc::clone(&self.0))))
    }

    /// Graph-style validation: a POST carrying `validationToken`, echoed as text.
    fn handshake(&self, request: &PushRequest) -> Option<PushReply> {
        request
            .query_param("validationToken")
            .map(|token| PushReply::text(200, token))
    }
}

struct Channel(Seen);

#[async_trait]
impl Connector for Channel {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            push: true,
            ..Capabilities::default()
        }
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        Err(ConnectorError::Unsupported("checks"))
    }

    fn decode_push(&self, request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        self.0.lock().unwrap().push(request.clone());
        if request.header("x-channel-state") == Some("sync") {
            // A channel's first message announces it; it carries no event.
            return Ok(PushOutcome::Respond(PushReply::empty(204)));
        }
        Ok(PushOutcome::Events(Vec::new()))
    }
}

#[tokio::test]
async fn a_provider_says_where_its_token_travels_and_answers_its_own_handshakes() {
    let seen: Seen = Arc::default();
    let daemon = InProcess::start(|options| {
        options.operator_key = Some(OPERATOR_KEY.to_owned().into());
        let mut registry = gatehouse_daemon::registry::build();
        registry.register(ChannelFactory(Arc::clone(&seen)));
        options.registry = Some(registry);
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let base = &daemon.base_url;
    let op = |req: reqwest::RequestBuilder| req.bearer_auth(OPERATOR_KEY);
    op(http.post(format!("{base}/v1/tenants")))
        .json(&json!({"name": "Push", "id": "ten_push"}))
        .send()
        .await
        .unwrap();
    let created: serde_json::Value = op(http.post(format!("{base}/v1/integrations")))
        .json(&json!({"type": "channel", "tenant_id": "ten_push", "credentials": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["ingest"]["token"].as_str().unwrap().to_owned();

    // The handshake: a POST without the token, answered as the provider asked (text/plain).
    let reply = http
        .post(format!(
            "{base}/v1/idp/channel?validationToken=Validation%3A%20Testing"
        ))
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(reply.text().await.unwrap(), "Validation: Testing");

    // The token in the provider's own header; the connector sees query and content type, and
    // no credential.
    let reply = http
        .post(format!(
            "{base}/v1/idp/channel?resource=users&token=ignored-second-place"
        ))
        .header("x-channel-token", &token)
        .header("x-channel-state", "sync")
        .header("content-type", "application/json; charset=UTF-8")
        .header("cookie", "session=abc")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NO_CONTENT);
    let request = seen.lock().unwrap().pop().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.query_param("resource"), Some("users"));
    assert_eq!(
        request.query_param("token"),
        None,
        "credential places are taken out"
    );
    assert_eq!(request.header("x-channel-token"), None);
    assert_eq!(request.header("cookie"), None);
    assert_eq!(request.content_type.as_deref(), Some("application/json"));

    // The same token in a place this provider does not use opens nothing.
    let reply = http
        .post(format!("{base}/v1/idp/channel"))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);

    // A type that takes no pushes, and one that does not exist, have no push route.
    for provider in ["jumpcloud", "nonexistent"] {
        let reply = http
            .post(format!("{base}/v1/idp/{provider}?token={token}"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND, "{provider}");
    }
}
