//! The live connection to one Entra ID tenant: Graph's and the token service's base URLs, the
//! app's token source, the shared HTTP client, and the helpers every call uses (authorization
//! with one retry on a refused token, JSON answers, error mapping, and the same-origin check on
//! every `@odata.nextLink`/`@odata.deltaLink` and cursor).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_connect::client::Fetched;
use gatehouse_connect::{HttpClient, RetryPolicy};
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{
    Capabilities, CheckReport, Connector, ConnectorContext, ConnectorError,
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

use crate::auth::TokenSource;
use crate::config::{EntraCredentials, GRAPH_BASE, LOGIN_BASE};
use crate::errors::{error_from_response, GraphError};
use crate::factory::Settings;

/// How long one Graph call may take before it counts as a transport failure (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Graph hosts of Microsoft's clouds whose `.default` scope is their own origin; any other
/// (custom) Graph base asks for the global Graph's scope.
const GRAPH_HOSTS: &[&str] = &[
    "graph.microsoft.com",
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
];

/// A connector for one Entra ID integration.
pub struct EntraConnector {
    graph: Url,
    tokens: TokenSource,
    pub(crate) http: HttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// The `clientState` notifications must carry.
    pub(crate) client_state: SecretString,
    /// This integration's push URL with its ingest token, when the engine knows it.
    pub(crate) push_url: Option<SecretString>,
    pub(crate) tenant_id: String,
}

impl fmt::Debug for EntraConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraConnector")
            .field("graph", &self.graph.as_str())
            .field("tenant_id", &self.tenant_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A base URL from config (custom endpoints only) or the official default.
fn base(
    configured: Option<&str>,
    default: &str,
    field: &str,
    allow_custom: bool,
) -> Result<Url, ConnectorError> {
    let text = match configured {
        Some(url) if !allow_custom => {
            let _ = url;
            return Err(ConnectorError::InvalidConfig(format!(
                "config.{field}: custom endpoints are disabled"
            )));
        }
        Some(url) => url,
        None => default,
    };
    let mut url = Url::parse(text.trim())
        .map_err(|_| ConnectorError::InvalidConfig(format!("config.{field} is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConnectorError::InvalidConfig(format!(
            "config.{field} is not an http(s) URL"
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

impl EntraConnector {
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
        let credentials = validate::parse_typed::<EntraCredentials>(
            &context.credentials.to_object_for_validation(),
            endpoints,
        )
        .map_err(|e| ConnectorError::InvalidConfig(e.within("credentials").to_string()))?;
        let graph = base(
            settings.graph_base_url.as_deref(),
            GRAPH_BASE,
            "graph_base_url",
            context.allow_custom_endpoints,
        )?;
        let login = base(
            settings.login_base_url.as_deref(),
            LOGIN_BASE,
            "login_base_url",
            context.allow_custom_endpoints,
        )?;
        let tenant_id = credentials.tenant_id.trim().to_owned();
        let token_url = endpoint_of(&login, &[&tenant_id, "oauth2", "v2.0", "token"]);
        let tokens = TokenSource::new(
            token_url,
            credentials.client_id.trim().to_owned(),
            credentials.client_secret.clone(),
            scope_for(&graph),
        );
        let client_state = crate::push::client_state(&credentials);
        let http =
            HttpClient::for_connector(&context, settings.rate_limit_share, None, policy, timeout)?;
        let push_url = crate::contract::push_url(&context);
        tracing::debug!(
            tenant = %context.tenant_id,
            integration = %context.integration_id,
            graph = %graph,
            "entra connector built"
        );
        Ok(Self {
            graph,
            tokens,
            http,
            clock: context.clock,
            settings,
            client_state,
            push_url,
            tenant_id,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `{graph}/v1.0/{segments…}`, each segment percent-encoded.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut all = vec!["v1.0"];
        all.extend_from_slice(segments);
        endpoint_of(&self.graph, &all)
    }

    /// A link or cursor, accepted only when it points at this integration's Graph (same
    /// scheme, host and port) and at the collection it continues: a forged cursor or link cannot
    /// make Gatehouse call another host, nor carry the access token there.
    pub(crate) fn same_graph(&self, link: &str, expected: &Url) -> Result<Url, ConnectorError> {
        let refuse = |why: &str| {
            ConnectorError::Protocol(format!(
                "refusing to follow a paging link {why}: {}",
                gatehouse_connect::redact::url(link)
            ))
        };
        let url = Url::parse(link).map_err(|_| refuse("that is not an absolute URL"))?;
        let same_origin = url.scheme() == self.graph.scheme()
            && url
                .host_str()
                .zip(self.graph.host_str())
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            && url.port_or_known_default() == self.graph.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if !same_origin {
            return Err(refuse("outside the integration's Microsoft Graph"));
        }
        if !url.path().eq_ignore_ascii_case(expected.path()) {
            return Err(refuse(&format!(
                "to another collection than {}",
                expected.path()
            )));
        }
        Ok(url)
    }

    /// Sends with an access token. A token Graph refuses (401: revoked, or expired before its
    /// `expires_in` said) is dropped and the call made once more with a new one; a second
    /// refusal is the answer.
    pub(crate) async fn send(
        &self,
        bucket: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Fetched, ConnectorError> {
        let mut retried = false;
        loop {
            let issued = self.tokens.token(&self.http, &*self.clock).await?;
            let bearer = bearer(&issued.token)?;
            let build = |client: &reqwest::Client| {
                let mut request = client
                    .request(method.clone(), url.clone())
                    .header(http::header::ACCEPT, "application/json")
                    .header(http::header::AUTHORIZATION, bearer.clone());
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
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
                let code = GraphError::parse(&fetched.body).code.unwrap_or_default();
                tracing::debug!(bucket, code = %code, "graph refused the access token; asking for a new one");
                self.tokens.discard(&issued).await;
                continue;
            }
            return Ok(fetched);
        }
    }

    /// GETs a JSON object; any non-2xx status becomes the fitting [`ConnectorError`].
    pub(crate) async fn get_json(
        &self,
        bucket: &str,
        url: &Url,
        what: &str,
        headers: &[(&str, &str)],
    ) -> Result<Value, ConnectorError> {
        let fetched = self.send(bucket, Method::GET, url, None, headers).await?;
        if !fetched.status.is_success() {
            return Err(error_from_response(fetched.status, &fetched.body, what));
        }
        parse_json(&fetched.body, what)
    }

    pub(crate) fn client_id(&self) -> &str {
        self.tokens.client_id()
    }
}

pub(crate) fn parse_json(body: &[u8], what: &str) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| {
        ConnectorError::Protocol(format!(
            "{what}: Graph's answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// One page of an OData collection: `value`, `@odata.nextLink`, `@odata.deltaLink`.
pub(crate) struct ODataPage {
    pub items: Vec<Value>,
    pub next: Option<String>,
    pub delta: Option<String>,
}

impl ODataPage {
    pub fn from_value(value: Value, what: &str) -> Result<Self, ConnectorError> {
        let Value::Object(mut map) = value else {
            return Err(ConnectorError::Protocol(format!(
                "{what}: Graph's answer is not a JSON object"
            )));
        };
        let items = match map.remove("value") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ConnectorError::Protocol(format!(
                    "{what}: Graph's answer has no value array"
                )))
            }
        };
        let link = |map: &mut serde_json::Map<String, Value>, key: &str| match map.remove(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            _ => None,
        };
        let next = link(&mut map, "@odata.nextLink");
        let delta = link(&mut map, "@odata.deltaLink");
        Ok(Self { items, next, delta })
    }
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

/// `base` + `/…` with each segment percent-encoded.
pub(crate) fn endpoint_of(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// `{resource}/.default` for Graph at `graph`.
fn scope_for(graph: &Url) -> String {
    let host = graph.host_str().unwrap_or_default().to_ascii_lowercase();
    if graph.scheme() == "https" && GRAPH_HOSTS.contains(&host.as_str()) {
        format!("https://{host}/.default")
    } else {
        format!("{GRAPH_BASE}/.default")
    }
}

#[async_trait]
impl Connector for EntraConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: true,
            signins: self.settings.ingest_signins,
            push: true,
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

    fn decode_push(&self, request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        crate::push::decode(request, &self.client_state)
    }

    fn screen_push(&self, request: &PushRequest) -> Result<PushScreen, ConnectorError> {
        crate::push::screen(request, &self.client_state)
    }

    async fn maintain(&self, state: Option<&str>) -> Result<Option<String>, ConnectorError> {
        crate::subscription::maintain(self, state).await
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
    use super::*;

    #[test]
    fn the_scope_is_the_graph_resource() {
        let url = |s: &str| {
            Url::parse(s)
                .unwrap_or_else(|_| Url::parse(GRAPH_BASE).unwrap_or_else(|_| unreachable!()))
        };
        assert_eq!(
            scope_for(&url("https://graph.microsoft.com")),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            scope_for(&url("https://graph.microsoft.us/")),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            scope_for(&url("http://127.0.0.1:9100")),
            "https://graph.microsoft.com/.default"
        );
        let e = endpoint_of(
            &url("http://127.0.0.1:9100/sim/"),
            &["v1.0", "users", "a b"],
        );
        assert_eq!(e.as_str(), "http://127.0.0.1:9100/sim/v1.0/users/a%20b");
    }
}
