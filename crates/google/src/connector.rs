//! The live connection to one Google Workspace: the Admin SDK base URL, the service account's
//! token source, the shared HTTP client, and the helpers every call uses (a token of the
//! call's scopes, one retry on a refused token, JSON answers, error mapping).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_connect::client::Fetched;
use gatehouse_connect::{HttpClient, RetryPolicy};
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{
    Capabilities, CheckReport, Confirmation, Connector, ConnectorContext, ConnectorError,
};
use gatehouse_core::records::{
    ActionReport, ActionTarget, EventPage, Page, ProviderGroup, ProviderUser, PullMode,
    PushOutcome, PushRequest, PushScreen,
};
use gatehouse_core::validate::{self, EndpointPolicy};
use gatehouse_core::Clock;
use http::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::auth::{Scope, TokenSource, TOKEN_URI};
use crate::errors::{error_from_response, GoogleError};
use crate::factory::Settings;
use crate::GoogleCredentials;

/// Google's Admin SDK host (Directory and Reports APIs).
pub const API_BASE: &str = "https://admin.googleapis.com";
/// How long one call may take before it counts as a transport failure (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A connector for one Google Workspace integration.
pub struct GoogleConnector {
    api: Url,
    tokens: TokenSource,
    pub(crate) http: HttpClient,
    /// The HTTP client's retry policy, also used for Google's 403 quota errors.
    policy: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// The customer id (`my_customer`: the admin's own account).
    pub(crate) customer: String,
    /// The directory pass in progress, for incremental pulls by comparison.
    pub(crate) passes: gatehouse_connect::compare::Passes,
    /// The integration's public push URL with its ingest token (`public_base_url` set).
    pub(crate) push_url: Option<SecretString>,
}

impl fmt::Debug for GoogleConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleConnector")
            .field("api", &self.api.as_str())
            .field("customer", &self.customer)
            .field("settings", &self.settings)
            .field("push", &self.push_url.is_some())
            .finish_non_exhaustive()
    }
}

impl GoogleConnector {
    /// Builds the connector with an explicit retry policy (the factory uses the default one;
    /// tests shorten the backoff).
    pub fn from_context(
        context: ConnectorContext,
        policy: RetryPolicy,
    ) -> Result<Self, ConnectorError> {
        Self::from_context_with_timeout(context, policy, REQUEST_TIMEOUT)
    }

    /// Like [`from_context`](Self::from_context), with every call (token requests included)
    /// given up after `timeout` instead of the default: a test of a provider that stops
    /// answering then needs no real minute of waiting.
    pub fn from_context_with_timeout(
        context: ConnectorContext,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let endpoints = EndpointPolicy {
            allow_custom_endpoints: context.allow_custom_endpoints,
        };
        let settings = Settings::from_config(&context.config, endpoints)?;
        let credentials = validate::parse_typed::<GoogleCredentials>(
            &context.credentials.to_object_for_validation(),
            endpoints,
        )
        .map_err(|e| ConnectorError::InvalidConfig(e.within("credentials").to_string()))?;
        let api = parse_base(
            settings.api_base_url.as_deref().unwrap_or(API_BASE),
            "config.api_base_url",
        )?;
        let key = &credentials.service_account;
        let token_url = parse_base(
            key.token_uri.as_deref().unwrap_or(TOKEN_URI),
            "credentials.service_account.token_uri",
        )?;
        let private_key = SecretString::from(key.private_key.clone());
        let tokens = TokenSource::new(
            token_url,
            key.client_email.trim().to_owned(),
            credentials.admin_email.trim().to_owned(),
            &private_key,
            key.private_key_id.clone(),
        )?;
        let customer = credentials
            .customer_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or("my_customer")
            .to_owned();
        let http =
            HttpClient::for_connector(&context, settings.rate_limit_share, None, policy, timeout)?;
        tracing::debug!(
            tenant = %context.tenant_id,
            integration = %context.integration_id,
            api = %api,
            "google connector built"
        );
        Ok(Self {
            api,
            tokens,
            http,
            policy,
            clock: context.clock,
            settings,
            customer,
            passes: crate::changes::passes(),
            push_url: context.push_url,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn admin_email(&self) -> &str {
        self.tokens.admin_email()
    }

    pub(crate) fn client_email(&self) -> &str {
        self.tokens.client_email()
    }

    /// `{api}/{segments…}`, each segment percent-encoded.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// `{api}/admin/directory/v1/{segments…}`.
    pub(crate) fn directory(&self, segments: &[&str]) -> Url {
        let mut all = vec!["admin", "directory", "v1"];
        all.extend_from_slice(segments);
        self.endpoint(&all)
    }

    /// Sends with a token of `scopes`. A token the API refuses (401) is dropped and the call
    /// made once more with a new one; a second refusal is the answer. A `403` quota error
    /// (`userRateLimitExceeded`, `rateLimitExceeded`…) is Google's "slow down", retried after
    /// an exponential backoff like a 429 (which the HTTP client retries), up to the retry
    /// policy's attempts; the last one is the answer.
    pub(crate) async fn send(
        &self,
        scopes: &[Scope],
        bucket: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Fetched, ConnectorError> {
        let mut retried = false;
        let mut quota_attempt: u32 = 0;
        loop {
            let issued = self.tokens.token(scopes, &self.http, &*self.clock).await?;
            let bearer = bearer(&issued.token)?;
            let build = |client: &reqwest::Client| {
                let request = client
                    .request(method.clone(), url.clone())
                    .header(http::header::ACCEPT, "application/json")
                    .header(http::header::AUTHORIZATION, bearer.clone());
                match body {
                    Some(body) => request
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(body.to_string()),
                    None if method == Method::POST => {
                        request.header(http::header::CONTENT_LENGTH, "0")
                    }
                    None => request,
                }
            };
            let fetched = if method == Method::GET {
                self.http.send_json(bucket, url.as_str(), build).await?
            } else {
                self.http.send(bucket, url.as_str(), build).await?
            };
            if fetched.status == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                let reason = GoogleError::parse(&fetched.body).reason.unwrap_or_default();
                tracing::debug!(bucket, reason = %reason, "google refused the access token; asking for a new one");
                self.tokens.discard(scopes, &issued).await;
                continue;
            }
            if fetched.status == StatusCode::FORBIDDEN
                && quota_attempt + 1 < self.policy.max_attempts
                && GoogleError::parse(&fetched.body).is_quota()
            {
                // Google sends no Retry-After with these (Directory API "Limits and quotas":
                // exponential backoff), so the policy's backoff decides; the jitter keeps
                // several integrations of one project from retrying in step.
                let wait = self
                    .policy
                    .backoff
                    .delay(quota_attempt, &mut rand::thread_rng())
                    .min(self.policy.max_wait);
                tracing::warn!(
                    bucket,
                    attempt = quota_attempt,
                    wait_ms = wait.as_millis() as u64,
                    "google quota error (403); backing off"
                );
                quota_attempt += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(fetched);
        }
    }

    /// GETs a JSON object; any non-2xx status becomes the fitting [`ConnectorError`].
    pub(crate) async fn get_json(
        &self,
        scopes: &[Scope],
        bucket: &str,
        url: &Url,
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let fetched = self.send(scopes, bucket, Method::GET, url, None).await?;
        if !fetched.status.is_success() {
            return Err(error_from_response(fetched.status, &fetched.body, what));
        }
        parse_json(&fetched.body, what)
    }
}

fn parse_base(text: &str, field: &str) -> Result<Url, ConnectorError> {
    let mut url = Url::parse(text.trim())
        .map_err(|_| ConnectorError::InvalidConfig(format!("{field} is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConnectorError::InvalidConfig(format!(
            "{field} is not an http(s) URL"
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

pub(crate) fn parse_json(body: &[u8], what: &str) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| {
        ConnectorError::Protocol(format!(
            "{what}: Google's answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// A list answer's items under `key` and its `nextPageToken`.
pub(crate) fn list_page(
    mut value: Value,
    key: &str,
    what: &str,
) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
    if !value.is_object() {
        return Err(ConnectorError::Protocol(format!(
            "{what}: Google's answer is not a JSON object"
        )));
    }
    // Google leaves the list out when it is empty.
    let items = match value.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            return Err(ConnectorError::Protocol(format!(
                "{what}: `{key}` is not a list"
            )))
        }
    };
    let next = value
        .get("nextPageToken")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok((items, next))
}

fn bearer(token: &SecretString) -> Result<http::HeaderValue, ConnectorError> {
    let mut value = http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .map_err(|_| {
            ConnectorError::Protocol(
                "the access token holds characters not allowed in a header".into(),
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

#[async_trait]
impl Connector for GoogleConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: true,
            signins: self.settings.ingest_signins,
            // Push carries login activity only.
            push: self.settings.ingest_signins,
            actions: vec![
                ActionKind::DisableAccount,
                ActionKind::EnableAccount,
                ActionKind::RevokeSessions,
                ActionKind::EnforceMfa,
            ],
        }
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        crate::check::check(self).await
    }

    async fn users_page(
        &self,
        mode: PullMode,
        cursor: Option<&str>,
    ) -> Result<Page<ProviderUser>, ConnectorError> {
        crate::users::users_page(self, mode, cursor).await
    }

    async fn groups_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<ProviderGroup>, ConnectorError> {
        crate::groups::groups_page(self, cursor).await
    }

    async fn signins_page(&self, cursor: Option<&str>) -> Result<EventPage, ConnectorError> {
        crate::signins::signins_page(self, cursor).await
    }

    /// The first pull reads `signin_lookback_hours` back and follows on without a gap.
    fn signin_history_reach(&self) -> Option<chrono::Duration> {
        self.settings
            .ingest_signins
            .then(|| chrono::Duration::hours(self.settings.signin_lookback_hours))
    }

    /// A Reports API `sync` message is answered 200; an activity becomes the pull's events.
    fn decode_push(&self, request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        crate::push::decode_push(request)
    }

    fn screen_push(&self, request: &PushRequest) -> Result<PushScreen, ConnectorError> {
        crate::push::screen_push(request)
    }

    /// Looks pushed login events up in the login report (briefly retried for its lag).
    async fn confirm_events(
        &self,
        provider_event_ids: &[String],
    ) -> Result<Confirmation, ConnectorError> {
        crate::confirm::confirm_events(self, provider_event_ids).await
    }

    /// Keeps a Reports API push channel on login activity pointed at the push URL.
    async fn maintain(&self, state: Option<&str>) -> Result<Option<String>, ConnectorError> {
        crate::channel::maintain(self, state).await
    }

    async fn act(
        &self,
        action: ActionKind,
        target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        crate::actions::act(self, action, target).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lists_may_leave_out_empty_items() {
        let (items, next) = list_page(
            serde_json::json!({"kind": "admin#directory#users"}),
            "users",
            "x",
        )
        .unwrap();
        assert!(items.is_empty() && next.is_none());
        let (items, next) = list_page(
            serde_json::json!({"users": [{"id": "1"}], "nextPageToken": "t"}),
            "users",
            "x",
        )
        .unwrap();
        assert_eq!((items.len(), next.as_deref()), (1, Some("t")));
        assert!(list_page(serde_json::json!([]), "users", "x").is_err());
    }
}
