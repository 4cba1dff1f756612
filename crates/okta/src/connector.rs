//! The live connection to one Okta org: the base URL, how it authenticates (API token or service
//! app), the shared HTTP client, and the helpers every call uses (authorization with one retry on
//! a refused access token, JSON answers, error mapping, `Link` paging and the same-org check on
//! every link and cursor).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{OKTA_DOMAINS, RATE_HEADERS};
use async_trait::async_trait;
use gatehouse_connect::client::Fetched;
use gatehouse_connect::{next_link, resolve_base, HttpClient, RetryPolicy};
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
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::auth::Auth;
use crate::config::OktaCredentials;
use crate::errors::error_from_response;
use crate::factory::Settings;

/// How long one Okta call may take before it counts as a transport failure (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Okta gives a System Log query up to 30 s before it answers with its own timeout error
/// (`docs/reference/system-log-query`); a client that gave up at the same 30 s would turn a slow
/// but successful query into a transport failure and retry it from scratch.
const LOG_REQUEST_TIMEOUT: Duration = Duration::from_secs(75);

/// How long one call in `bucket` may take.
pub(crate) fn request_timeout(bucket: &str) -> Duration {
    if bucket == "logs" {
        LOG_REQUEST_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    }
}

/// A connector for one Okta integration.
pub struct OktaConnector {
    pub(crate) base: Url,
    auth: Auth,
    pub(crate) http: HttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// Who holds an admin role, as of the current users pull.
    pub(crate) roster: crate::roles::RosterCache,
    /// Replaces [`request_timeout`] for every call when set (tests of slow providers).
    timeout: Option<Duration>,
}

impl fmt::Debug for OktaConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaConnector")
            .field("base", &self.base.as_str())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OktaConnector {
    /// Builds the connector with an explicit retry policy (the factory uses the default one;
    /// tests shorten the backoff).
    pub fn from_context(
        context: ConnectorContext,
        policy: RetryPolicy,
    ) -> Result<Self, ConnectorError> {
        Self::build(context, policy, None)
    }

    /// Like [`from_context`](Self::from_context), with every call (token requests included)
    /// given up after `timeout` instead of Okta's 30 s (75 s for the System Log): a test of a
    /// provider that stops answering then needs no real minute of waiting.
    pub fn from_context_with_timeout(
        context: ConnectorContext,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        Self::build(context, policy, Some(timeout))
    }

    fn build(
        context: ConnectorContext,
        policy: RetryPolicy,
        timeout: Option<Duration>,
    ) -> Result<Self, ConnectorError> {
        let settings = Settings::from_config(&context.config)?;
        let domain = match context.credentials.value("domain") {
            Some(Value::String(domain)) if !domain.trim().is_empty() => domain,
            _ => {
                return Err(ConnectorError::InvalidConfig(
                    "credentials.domain (the Okta org host) is missing".into(),
                ))
            }
        };
        let base = resolve_base(&domain, OKTA_DOMAINS, context.allow_custom_endpoints)
            .map_err(|e| ConnectorError::InvalidConfig(format!("credentials.domain: {e}")))?;
        let policy_of_endpoints = EndpointPolicy {
            allow_custom_endpoints: context.allow_custom_endpoints,
        };
        let credentials = validate::parse_typed::<OktaCredentials>(
            &context.credentials.to_object_for_validation(),
            policy_of_endpoints,
        )
        .map_err(|e| ConnectorError::InvalidConfig(e.within("credentials").to_string()))?;
        // The org authorization server lives on the org's own host (same-org rule).
        let token_url = endpoint_of(&base, &["oauth2", "v1", "token"]);
        let auth = Auth::new(&credentials, &settings, token_url)?;
        let http = HttpClient::for_connector(
            &context,
            settings.rate_limit_share,
            Some(RATE_HEADERS),
            policy,
            timeout.unwrap_or(REQUEST_TIMEOUT),
        )?;
        tracing::debug!(
            tenant = %context.tenant_id,
            integration = %context.integration_id,
            base = %base,
            "okta connector built"
        );
        Ok(Self {
            base,
            auth,
            http,
            clock: context.clock,
            settings,
            roster: crate::roles::RosterCache::default(),
            timeout,
        })
    }

    /// The org's settings as read from the integration's config.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `base` + `/api/v1/…` with each segment percent-encoded (ids and logins stay one segment).
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        endpoint_of(&self.base, segments)
    }

    /// A link or cursor, accepted only when it points at this org (same scheme, host and port)
    /// and at the collection it continues (`expected_path`): a forged cursor or `next` link
    /// cannot make Gatehouse call another host, nor carry the API token there.
    pub(crate) fn same_org(&self, link: &str, expected_path: &str) -> Result<Url, ConnectorError> {
        let refuse = |why: &str| {
            ConnectorError::Protocol(format!(
                "refusing to follow a paging link {why}: {}",
                gatehouse_connect::redact::url(link)
            ))
        };
        let url = Url::parse(link).map_err(|_| refuse("that is not an absolute URL"))?;
        let same_origin = url.scheme() == self.base.scheme()
            && url
                .host_str()
                .zip(self.base.host_str())
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if !same_origin {
            return Err(refuse("outside the integration's Okta org"));
        }
        if url.path() != expected_path {
            return Err(refuse(&format!(
                "to another collection than {expected_path}"
            )));
        }
        Ok(url)
    }

    /// GETs with retries, also retrying a 2xx whose body was cut short.
    async fn send_get_json(&self, bucket: &str, url: &Url) -> Result<Fetched, ConnectorError> {
        self.authorized(bucket, &Method::GET, url, true).await
    }

    /// Sends one request (with retries) and returns the answer, whatever its status.
    pub(crate) async fn send(
        &self,
        bucket: &str,
        method: Method,
        url: &Url,
    ) -> Result<Fetched, ConnectorError> {
        self.authorized(bucket, &method, url, false).await
    }

    /// Sends with the integration's credentials. An access token the API refuses (401: revoked,
    /// or expired before its `expires_in` said) is dropped and the call made once more with a
    /// new one; a second refusal is the answer. A 403 for a scope the token lacks becomes
    /// `Forbidden` naming the scope.
    async fn authorized(
        &self,
        bucket: &str,
        method: &Method,
        url: &Url,
        json: bool,
    ) -> Result<Fetched, ConnectorError> {
        let mut retried = false;
        loop {
            let presented = self.auth.present(&self.http, &*self.clock).await?;
            let build = |client: &reqwest::Client| {
                let mut request = client
                    .request(method.clone(), url.clone())
                    .timeout(self.timeout.unwrap_or_else(|| request_timeout(bucket)))
                    .header(http::header::ACCEPT, "application/json");
                request = self
                    .auth
                    .apply(request, &presented, method, url, self.clock.now());
                if *method != Method::GET {
                    request = request.header(http::header::CONTENT_TYPE, "application/json");
                }
                // Okta answers 411 to a POST or PUT without Content-Length, and hyper sends none
                // for an empty body unless told to.
                if *method == Method::POST || *method == Method::PUT {
                    request = request.header(http::header::CONTENT_LENGTH, "0");
                }
                request
            };
            let fetched = if json {
                self.http.send_json(bucket, url.as_str(), build).await?
            } else {
                self.http.send(bucket, url.as_str(), build).await?
            };
            if fetched.status == StatusCode::UNAUTHORIZED && self.auth.is_oauth() && !retried {
                retried = true;
                tracing::debug!(
                    bucket,
                    "okta refused the access token; asking for a new one"
                );
                self.auth.refused(&presented, &fetched.headers).await;
                continue;
            }
            if fetched.status == StatusCode::FORBIDDEN {
                if let Some(scope) = missing_scope(&fetched.headers) {
                    return Err(ConnectorError::Forbidden(format!(
                        "the access token lacks the Okta scope {scope} that {} {} needs; grant \
                         it to the service app (Okta API Scopes tab) and add it to \
                         credentials.scopes",
                        method,
                        url.path()
                    )));
                }
            }
            return Ok(fetched);
        }
    }

    /// GETs a JSON answer; any non-2xx status becomes the fitting [`ConnectorError`].
    pub(crate) async fn get_json(
        &self,
        bucket: &str,
        url: &Url,
        what: &str,
    ) -> Result<(Value, HeaderMap), ConnectorError> {
        let fetched = self.send_get_json(bucket, url).await?;
        if !fetched.status.is_success() {
            return Err(error_from_response(fetched.status, &fetched.body, what));
        }
        let value = serde_json::from_slice(&fetched.body).map_err(|e| {
            ConnectorError::Protocol(format!(
                "{what}: Okta's answer is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        Ok((value, fetched.headers))
    }

    /// GETs one page of a collection: the JSON array and the validated `next` link.
    pub(crate) async fn get_page(
        &self,
        bucket: &str,
        url: &Url,
        what: &str,
    ) -> Result<(Vec<Value>, Option<Url>), ConnectorError> {
        let (value, headers) = self.get_json(bucket, url, what).await?;
        let Value::Array(items) = value else {
            return Err(ConnectorError::Protocol(format!(
                "{what}: Okta's answer is not a JSON array"
            )));
        };
        let next = next_link(&headers)
            .map(|link| self.same_org(&link, url.path()))
            .transpose()?;
        Ok((items, next))
    }

    /// What `keep` takes of every item of a collection, following `next` links to the end.
    /// Each page's records are dropped once read: a group of 100,000 members kept as parsed
    /// user records would hold gigabytes, its member ids a few megabytes.
    pub(crate) async fn collect_all<T>(
        &self,
        bucket: &str,
        first: Url,
        what: &str,
        mut keep: impl FnMut(&Value) -> Option<T>,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut all = Vec::new();
        let mut url = Some(first);
        while let Some(current) = url {
            let (items, next) = self.get_page(bucket, &current, what).await?;
            let empty = items.is_empty();
            all.extend(items.iter().filter_map(&mut keep));
            // An empty page that still links onward would loop forever on a broken server.
            url = if empty { None } else { next };
        }
        Ok(all)
    }
}

/// `base` + `/…` with each segment percent-encoded (ids and logins stay one segment).
fn endpoint_of(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// The scope an `insufficient_scope` refusal names in `WWW-Authenticate` (`scope="…"`).
fn missing_scope(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.contains("insufficient_scope"))
        .find_map(|v| {
            let start = v.find("scope=\"")? + "scope=\"".len();
            let rest = &v[start..];
            let scope = &rest[..rest.find('"')?];
            // Only scope names pass on: this text reaches error messages.
            scope
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b' ')
                .then(|| scope.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
}

#[async_trait]
impl Connector for OktaConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: true,
            // `ingest_system_log: false` is Okta-specific, so only this connector can honour it.
            signins: self.settings.ingest_system_log,
            push: true,
            actions: vec![
                ActionKind::DisableAccount,
                ActionKind::EnableAccount,
                ActionKind::RevokeSessions,
                ActionKind::EnforceMfa,
            ],
        }
    }

    /// With an API token, `GET /api/v1/users/me`: the admin the token acts as. A service app
    /// has no user (Okta's `me` is the user of an API token or a session), so it proves itself
    /// by getting an access token and reading one user (`okta.users.read` and an admin role).
    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        if let Some((client_id, _)) = self.auth.service_app() {
            let presented = self.auth.present(&self.http, &*self.clock).await?;
            let granted = presented.granted_scope().unwrap_or_default().to_owned();
            let mut url = self.endpoint(&["api", "v1", "users"]);
            url.query_pairs_mut().append_pair("limit", "1");
            self.get_json("users", &url, "checking the service app")
                .await?;
            return Ok(CheckReport {
                principal: Some(format!("service app {client_id}")),
                notes: vec![format!("scopes granted: {granted}")],
            });
        }
        let url = self.endpoint(&["api", "v1", "users", "me"]);
        let (me, _) = self
            .get_json("users-me", &url, "checking the API token")
            .await?;
        let principal = me
            .pointer("/profile/login")
            .and_then(Value::as_str)
            .or_else(|| me.get("id").and_then(Value::as_str))
            .map(str::to_owned);
        Ok(CheckReport {
            principal,
            notes: Vec::new(),
        })
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
        crate::logs::signins_page(self, cursor).await
    }

    /// The first System Log pull starts at `since` = now − the look-back (at most Okta's 90
    /// days of retention) and follows the `next` links from there without a gap.
    fn signin_history_reach(&self) -> Option<chrono::Duration> {
        self.settings
            .ingest_system_log
            .then(|| chrono::Duration::hours(self.settings.system_log_lookback_hours))
    }

    fn decode_push(&self, request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        crate::push::decode_push(request)
    }

    fn screen_push(&self, request: &PushRequest) -> Result<PushScreen, ConnectorError> {
        crate::push::screen_push(request)
    }

    async fn confirm_events(
        &self,
        provider_event_ids: &[String],
    ) -> Result<Confirmation, ConnectorError> {
        crate::confirm::confirm_events(self, provider_event_ids).await
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

    /// Okta's own System Log query timeout is 30 s: ours must outlast it, so a slow query ends
    /// in Okta's answer (retried with backoff) instead of our hanging up at the same moment.
    #[test]
    fn system_log_calls_outlast_okta_s_query_timeout() {
        let okta_query_timeout = Duration::from_secs(30);
        assert!(request_timeout("logs") > okta_query_timeout + Duration::from_secs(15));
        assert_eq!(request_timeout("users"), REQUEST_TIMEOUT);
    }
}
