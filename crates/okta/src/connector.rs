//! The live connection to one Okta org: the base URL, the API token, the shared HTTP client, and
//! the helpers every call uses (authorization, JSON answers, error mapping, `Link` paging and the
//! same-org check on every link and cursor).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{OKTA_DOMAINS, RATE_HEADERS};
use async_trait::async_trait;
use gatehouse_connect::client::Fetched;
use gatehouse_connect::{next_link, resolve_base, HttpClient, RateBudget, RetryPolicy};
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{
    Capabilities, CheckReport, Connector, ConnectorContext, ConnectorError,
};
use gatehouse_core::records::{
    ActionReport, ActionTarget, EventPage, Page, ProviderGroup, ProviderUser, PullMode,
    PushOutcome, PushRequest, PushScreen,
};
use gatehouse_core::Clock;
use http::{HeaderMap, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::errors::error_from_response;
use crate::factory::Settings;

/// How long one Okta call may take before it counts as a transport failure (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A connector for one Okta integration.
pub struct OktaConnector {
    pub(crate) base: Url,
    token: SecretString,
    pub(crate) http: HttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// Who holds an admin role, as of the current users pull.
    pub(crate) roster: crate::roles::RosterCache,
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
        let token = context
            .credentials
            .secret("api_token")
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                ConnectorError::InvalidConfig("credentials.api_token is missing".into())
            })?;
        // Checked once here so that building the header later cannot fail.
        authorization(&token)?;
        let budget = Arc::new(RateBudget::new(settings.rate_limit_share));
        let http = HttpClient::new(
            Arc::clone(&context.clock),
            budget,
            Some(RATE_HEADERS),
            policy,
            REQUEST_TIMEOUT,
        )
        .map_err(ConnectorError::from)?
        .with_observer(context.observer.clone());
        tracing::debug!(
            tenant = %context.tenant_id,
            integration = %context.integration_id,
            base = %base,
            "okta connector built"
        );
        Ok(Self {
            base,
            token,
            http,
            clock: context.clock,
            settings,
            roster: crate::roles::RosterCache::default(),
        })
    }

    /// The org's settings as read from the integration's config.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `base` + `/api/v1/…` with each segment percent-encoded (ids and logins stay one segment).
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
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
        let fetched = self
            .http
            .send_json(bucket, url.as_str(), |client| {
                let mut request = client
                    .get(url.clone())
                    .header(http::header::ACCEPT, "application/json");
                if let Ok(value) = authorization(&self.token) {
                    request = request.header(http::header::AUTHORIZATION, value);
                }
                request
            })
            .await?;
        Ok(fetched)
    }

    /// Sends one request (with retries) and returns the answer, whatever its status.
    pub(crate) async fn send(
        &self,
        bucket: &str,
        method: Method,
        url: &Url,
    ) -> Result<Fetched, ConnectorError> {
        let mutating = method != Method::GET;
        let fetched = self
            .http
            .send(bucket, url.as_str(), |client| {
                let mut request = client
                    .request(method.clone(), url.clone())
                    .header(http::header::ACCEPT, "application/json");
                if let Ok(value) = authorization(&self.token) {
                    request = request.header(http::header::AUTHORIZATION, value);
                }
                if mutating {
                    request = request.header(http::header::CONTENT_TYPE, "application/json");
                }
                // Okta answers 411 to a POST or PUT without Content-Length, and hyper sends none
                // for an empty body unless told to.
                if method == Method::POST || method == Method::PUT {
                    request = request.header(http::header::CONTENT_LENGTH, "0");
                }
                request
            })
            .await?;
        Ok(fetched)
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

    /// Every item of a collection, following `next` links to the end.
    pub(crate) async fn get_all(
        &self,
        bucket: &str,
        first: Url,
        what: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut all = Vec::new();
        let mut url = Some(first);
        while let Some(current) = url {
            let (items, next) = self.get_page(bucket, &current, what).await?;
            let empty = items.is_empty();
            all.extend(items);
            // An empty page that still links onward would loop forever on a broken server.
            url = if empty { None } else { next };
        }
        Ok(all)
    }
}

/// `Authorization: SSWS <token>`, marked sensitive so it is never printed.
fn authorization(token: &SecretString) -> Result<HeaderValue, ConnectorError> {
    let mut value = HeaderValue::from_str(&format!("SSWS {}", token.expose_secret().trim()))
        .map_err(|_| {
            ConnectorError::InvalidConfig(
                "credentials.api_token contains characters not allowed in an HTTP header".into(),
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
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

    /// `GET /api/v1/users/me`: the user the API token acts as (the admin who created it).
    async fn check(&self) -> Result<CheckReport, ConnectorError> {
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

    async fn act(
        &self,
        action: ActionKind,
        target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        crate::actions::act(self, action, target).await
    }
}
