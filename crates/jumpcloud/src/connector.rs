//! The live connection to one JumpCloud organization: the console API base (`/api/…`), the
//! Directory Insights base (`/insights/directory/v1/…`), both chosen by the organization's
//! region unless custom endpoints name one base for both ([`Hosts`]), the API key, the shared
//! HTTP client, and the helpers every call uses (headers, JSON answers, error mapping).

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
};
use gatehouse_core::validate::{self, EndpointPolicy};
use gatehouse_core::Clock;
use http::{HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::errors::error_from_response;
use crate::factory::Settings;
use crate::{JumpCloudCredentials, Region};

/// The console API host (v1 `/api`, v2 `/api/v2`) of the US data centre.
pub const CONSOLE_BASE: &str = "https://console.jumpcloud.com";
/// The Directory Insights host of the US data centre.
pub const INSIGHTS_BASE: &str = "https://api.jumpcloud.com";
/// The console API host of the EU data centre (the specs' `consoleHost` `console.eu`).
pub const CONSOLE_BASE_EU: &str = "https://console.eu.jumpcloud.com";
/// The Directory Insights host of the EU data centre (the spec's `apiHost` `api.eu`).
pub const INSIGHTS_BASE_EU: &str = "https://api.eu.jumpcloud.com";
/// How long one call may take before it counts as a transport failure (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A connector for one JumpCloud integration.
pub struct JumpCloudConnector {
    hosts: Hosts,
    api_key: HeaderValue,
    org_id: Option<HeaderValue>,
    pub(crate) http: HttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// The directory pass in progress, for incremental pulls by comparison.
    pub(crate) passes: gatehouse_connect::compare::Passes,
}

impl fmt::Debug for JumpCloudConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JumpCloudConnector")
            .field("console", &self.hosts.console.as_str())
            .field("insights", &self.hosts.insights.as_str())
            .field("org_id", &self.org_id.is_some())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl JumpCloudConnector {
    /// Builds the connector with an explicit retry policy (the factory uses the default one;
    /// tests shorten the backoff).
    pub fn from_context(
        context: ConnectorContext,
        policy: RetryPolicy,
    ) -> Result<Self, ConnectorError> {
        Self::from_context_with_timeout(context, policy, REQUEST_TIMEOUT)
    }

    /// Like [`from_context`](Self::from_context), with every call given up after `timeout`
    /// instead of 60 s: a test of a provider that stops answering then needs no real minute of
    /// waiting.
    pub fn from_context_with_timeout(
        context: ConnectorContext,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let endpoints = EndpointPolicy {
            allow_custom_endpoints: context.allow_custom_endpoints,
        };
        let settings = Settings::from_config(&context.config, endpoints)?;
        let credentials = validate::parse_typed::<JumpCloudCredentials>(
            &context.credentials.to_object_for_validation(),
            endpoints,
        )
        .map_err(|e| ConnectorError::InvalidConfig(e.within("credentials").to_string()))?;
        let hosts = Hosts::for_settings(&settings)?;
        let key = SecretString::from(credentials.api_key.trim().to_owned());
        let mut api_key = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
            ConnectorError::InvalidConfig(
                "credentials.api_key holds characters not allowed in a header".into(),
            )
        })?;
        api_key.set_sensitive(true);
        let org_id = match credentials.org_id.as_deref().map(str::trim) {
            Some(org) if !org.is_empty() => Some(HeaderValue::from_str(org).map_err(|_| {
                ConnectorError::InvalidConfig(
                    "credentials.org_id holds characters not allowed in a header".into(),
                )
            })?),
            _ => None,
        };
        let http =
            HttpClient::for_connector(&context, settings.rate_limit_share, None, policy, timeout)?;
        tracing::debug!(
            tenant = %context.tenant_id,
            integration = %context.integration_id,
            console = %hosts.console,
            region = ?settings.region,
            "jumpcloud connector built"
        );
        Ok(Self {
            hosts,
            api_key,
            org_id,
            http,
            clock: context.clock,
            settings,
            passes: crate::changes::passes(),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The hosts every call goes to.
    pub fn hosts(&self) -> &Hosts {
        &self.hosts
    }

    /// `{console}/api/{segments…}`, each segment percent-encoded.
    pub(crate) fn api(&self, segments: &[&str]) -> Url {
        self.hosts.api(segments)
    }

    /// `{insights}/insights/directory/v1/{segments…}`.
    pub(crate) fn insights(&self, segments: &[&str]) -> Url {
        self.hosts.insights(segments)
    }

    /// Sends with `x-api-key` (and `x-org-id`), a JSON body when given.
    pub(crate) async fn send(
        &self,
        bucket: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Fetched, ConnectorError> {
        let build = |client: &reqwest::Client| {
            let mut request = client
                .request(method.clone(), url.clone())
                .header(http::header::ACCEPT, "application/json")
                .header("x-api-key", self.api_key.clone());
            if let Some(org) = &self.org_id {
                request = request.header("x-org-id", org.clone());
            }
            match body {
                Some(body) => request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string()),
                None if method == Method::POST => request.header(http::header::CONTENT_LENGTH, "0"),
                None => request,
            }
        };
        let fetched = if method == Method::GET {
            self.http.send_json(bucket, url.as_str(), build).await?
        } else {
            self.http.send(bucket, url.as_str(), build).await?
        };
        Ok(fetched)
    }

    /// Sends and reads a JSON answer; any non-2xx status becomes the fitting
    /// [`ConnectorError`]. Also hands back the answer's headers.
    pub(crate) async fn call_json(
        &self,
        bucket: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(Value, http::HeaderMap), ConnectorError> {
        let fetched = self.send(bucket, method, url, body).await?;
        if !fetched.status.is_success() {
            return Err(error_from_response(fetched.status, &fetched.body, what));
        }
        Ok((parse_json(&fetched.body, what)?, fetched.headers))
    }

    /// GETs a JSON answer.
    pub(crate) async fn get_json(
        &self,
        bucket: &str,
        url: &Url,
        what: &str,
    ) -> Result<Value, ConnectorError> {
        self.call_json(bucket, Method::GET, url, None, what)
            .await
            .map(|(value, _)| value)
    }
}

/// Where the calls of one integration go: the console API (v1 and v2) and Directory Insights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    pub console: Url,
    pub insights: Url,
}

impl Hosts {
    /// The region's hosts, or custom endpoints' one base for both (which wins over the region:
    /// simulators and proxies serve both APIs on one host).
    pub fn for_settings(settings: &Settings) -> Result<Self, ConnectorError> {
        if let Some(base) = settings.base_url.as_deref() {
            let url = parse_base(base, "config.base_url")?;
            return Ok(Self {
                console: url.clone(),
                insights: url,
            });
        }
        let (console, insights) = match settings.region {
            Region::Us => (CONSOLE_BASE, INSIGHTS_BASE),
            Region::Eu => (CONSOLE_BASE_EU, INSIGHTS_BASE_EU),
        };
        Ok(Self {
            console: parse_base(console, "console")?,
            insights: parse_base(insights, "insights")?,
        })
    }

    fn join(base: &Url, segments: &[&str]) -> Url {
        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// `{console}/api/{segments…}`, each segment percent-encoded (v2 calls start with `v2`).
    pub fn api(&self, segments: &[&str]) -> Url {
        let mut all = vec!["api"];
        all.extend_from_slice(segments);
        Self::join(&self.console, &all)
    }

    /// `{insights}/insights/directory/v1/{segments…}`.
    pub fn insights(&self, segments: &[&str]) -> Url {
        let mut all = vec!["insights", "directory", "v1"];
        all.extend_from_slice(segments);
        Self::join(&self.insights, &all)
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
            "{what}: JumpCloud's answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// A `{"totalCount": n, "results": [...]}` list answer's results.
pub(crate) fn results(mut value: Value, what: &str) -> Result<Vec<Value>, ConnectorError> {
    match value.get_mut("results").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        None | Some(Value::Null) if value.is_object() => Ok(Vec::new()),
        _ => Err(ConnectorError::Protocol(format!(
            "{what}: JumpCloud's answer has no `results` list"
        ))),
    }
}

#[async_trait]
impl Connector for JumpCloudConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: true,
            signins: self.settings.ingest_signins,
            push: false,
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

    async fn act(
        &self,
        action: ActionKind,
        target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        crate::actions::act(self, action, target).await
    }

    /// The first pull reads `signin_lookback_hours` back and follows on without a gap.
    fn signin_history_reach(&self) -> Option<chrono::Duration> {
        self.settings
            .ingest_signins
            .then(|| chrono::Duration::hours(self.settings.signin_lookback_hours))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settings(config: serde_json::Value) -> Settings {
        let config = serde_json::from_value(config).unwrap();
        Settings::from_config(&config, EndpointPolicy::default()).unwrap()
    }

    #[test]
    fn each_region_has_its_own_hosts_for_every_call() {
        let us = Hosts::for_settings(&settings(serde_json::json!({}))).unwrap();
        assert_eq!(
            us.api(&["systemusers"]).as_str(),
            "https://console.jumpcloud.com/api/systemusers"
        );
        assert_eq!(
            us.api(&["v2", "usergroups", "5f1e", "members"]).as_str(),
            "https://console.jumpcloud.com/api/v2/usergroups/5f1e/members"
        );
        assert_eq!(
            us.insights(&["events"]).as_str(),
            "https://api.jumpcloud.com/insights/directory/v1/events"
        );
        let eu = Hosts::for_settings(&settings(serde_json::json!({"region": "eu"}))).unwrap();
        assert_eq!(
            eu.api(&["systemusers", "5c86", "expire"]).as_str(),
            "https://console.eu.jumpcloud.com/api/systemusers/5c86/expire"
        );
        assert_eq!(
            eu.api(&["v2", "usergroups"]).as_str(),
            "https://console.eu.jumpcloud.com/api/v2/usergroups"
        );
        assert_eq!(
            eu.insights(&["events"]).as_str(),
            "https://api.eu.jumpcloud.com/insights/directory/v1/events"
        );
        let explicit_us = Hosts::for_settings(&settings(serde_json::json!({"region": "us"})));
        assert_eq!(explicit_us.unwrap(), us);
    }

    #[test]
    fn custom_endpoints_win_over_the_region() {
        let config = serde_json::from_value(serde_json::json!({
            "region": "eu", "base_url": "http://127.0.0.1:9300/"
        }))
        .unwrap();
        let custom = EndpointPolicy {
            allow_custom_endpoints: true,
        };
        let settings = Settings::from_config(&config, custom).unwrap();
        let hosts = Hosts::for_settings(&settings).unwrap();
        assert_eq!(
            hosts.api(&["v2", "usergroups"]).as_str(),
            "http://127.0.0.1:9300/api/v2/usergroups"
        );
        assert_eq!(
            hosts.insights(&["events"]).as_str(),
            "http://127.0.0.1:9300/insights/directory/v1/events"
        );
    }

    #[test]
    fn results_may_be_empty_but_must_be_a_list() {
        assert!(results(serde_json::json!({"totalCount": 0}), "x")
            .unwrap()
            .is_empty());
        let items = results(
            serde_json::json!({"totalCount": 1, "results": [{"_id": "a"}]}),
            "x",
        )
        .unwrap();
        assert_eq!(items.len(), 1);
        assert!(results(serde_json::json!([]), "x").is_err());
    }

    proptest::proptest! {
        #![proptest_config(gatehouse_connect::fuzz::config(64))]

        /// A list envelope read keeps every record of its `results`, and refuses only an
        /// answer that is not an object or whose `results` is not a list.
        #[test]
        fn any_json_as_a_list_envelope_is_read_or_refused(page in gatehouse_connect::fuzz::json()) {
            let listed = page.get("results").and_then(Value::as_array).cloned();
            match results(page.clone(), "fuzz") {
                Ok(items) => assert_eq!(items, listed.unwrap_or_default()),
                Err(_) => assert!(
                    !page.is_object() || !(page["results"].is_array() || page["results"].is_null())
                ),
            }
        }
    }
}
