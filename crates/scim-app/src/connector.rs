//! The live connection to one SCIM application: its base URL, how calls are authenticated,
//! the shared HTTP client, what the app supports (discovered once, then kept), and the helpers
//! every call uses (headers, JSON answers, error mapping).

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_connect::client::Fetched;
use gatehouse_connect::{HttpClient, RetryPolicy};
use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::{
    Capabilities, CheckReport, Connector, ConnectorContext, ConnectorError,
};
use gatehouse_core::records::{
    ActionReport, ActionTarget, DesiredAccount, Page, ProviderUser, ProvisionReport, PullMode,
};
use gatehouse_core::validate::{self, EndpointPolicy};
use gatehouse_core::Clock;
use http::Method;
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use crate::auth::{bearer, Auth, Client};
use crate::errors::error_from_response;
use crate::factory::Settings;
use crate::features::Features;
use crate::ScimAppCredentials;

/// How long one call may take before it counts as a transport failure (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The media type of SCIM messages (RFC 7644 §3.1).
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// A connector for one SCIM application integration.
pub struct ScimAppConnector {
    base: Url,
    auth: Auth,
    pub(crate) http: HttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    features: Mutex<Option<Features>>,
    /// Set when the app refused a PATCH (501/405) whatever it announced: PUT from then on.
    pub(crate) patch_refused: AtomicBool,
    /// The directory pass in progress, for incremental pulls by comparison.
    pub(crate) passes: gatehouse_connect::compare::Passes,
    /// The managed groups read by the provisioning pass in progress (its marker, the groups),
    /// so a pass reads each group's members once, not once per batch.
    pub(crate) group_cache: Mutex<Option<crate::groups::Cached>>,
    /// The app's users read by the provisioning pass in progress where the app does not
    /// filter (its marker, the users), so a pass lists `/Users` once, not once per batch.
    pub(crate) user_index: Mutex<Option<(String, crate::provision::UserIndex)>>,
    /// Numbers provisioning passes (with the clock, their marker).
    pub(crate) runs: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for ScimAppConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimAppConnector")
            .field("base", &self.base.as_str())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn parse_url(text: &str, field: &str) -> Result<Url, ConnectorError> {
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

impl ScimAppConnector {
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
        let credentials = validate::parse_typed::<ScimAppCredentials>(
            &context.credentials.to_object_for_validation(),
            endpoints,
        )
        .map_err(|e| ConnectorError::InvalidConfig(e.within("credentials").to_string()))?;
        let base = parse_url(&credentials.base_url, "credentials.base_url")?;
        let auth = match (
            credentials.token,
            credentials.token_url,
            credentials.client_id,
            credentials.client_secret,
        ) {
            (Some(token), _, _, _) => Auth::Bearer(bearer(&SecretString::from(token))?),
            (None, Some(url), Some(id), Some(secret)) => Auth::Client(Box::new(Client::new(
                parse_url(&url, "credentials.token_url")?,
                id,
                SecretString::from(secret),
                credentials.scope,
            ))),
            _ => {
                return Err(ConnectorError::InvalidConfig(
                    "credentials need token, or token_url, client_id and client_secret".into(),
                ))
            }
        };
        let http =
            HttpClient::for_connector(&context, settings.rate_limit_share, None, policy, timeout)?;
        tracing::debug!(
            tenant = %context.tenant_id,
            integration = %context.integration_id,
            base = %base,
            "scim_app connector built"
        );
        Ok(Self {
            base,
            auth,
            http,
            clock: context.clock,
            settings,
            features: Mutex::new(None),
            patch_refused: AtomicBool::new(false),
            passes: crate::users::passes(),
            group_cache: Mutex::new(None),
            user_index: Mutex::new(None),
            runs: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `{base}/{segments…}`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// Sends with the app's authorization; a JSON body when given, `If-Match` when given. A
    /// 401 with an OAuth client fetches a fresh token and tries once more.
    pub(crate) async fn send(
        &self,
        bucket: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Fetched, ConnectorError> {
        let mut refreshed = false;
        loop {
            let authorization = self.auth.header(&self.http, &*self.clock).await?;
            let build = |client: &reqwest::Client| {
                let mut request = client
                    .request(method.clone(), url.clone())
                    .header(
                        http::header::ACCEPT,
                        format!("{SCIM_JSON}, application/json"),
                    )
                    .header(http::header::AUTHORIZATION, authorization.clone());
                if let Some(version) = if_match {
                    request = request.header(http::header::IF_MATCH, version);
                }
                match body {
                    Some(body) => request
                        .header(http::header::CONTENT_TYPE, SCIM_JSON)
                        .body(body.to_string()),
                    None => request,
                }
            };
            let fetched = if method == Method::GET {
                self.http.send_json(bucket, url.as_str(), build).await?
            } else {
                self.http.send(bucket, url.as_str(), build).await?
            };
            if fetched.status == http::StatusCode::UNAUTHORIZED && !refreshed && self.auth.forget()
            {
                refreshed = true;
                continue;
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
    ) -> Result<Value, ConnectorError> {
        let fetched = self.send(bucket, Method::GET, url, None, None).await?;
        if !fetched.status.is_success() {
            return Err(error_from_response(fetched.status, &fetched.body, what));
        }
        parse_json(&fetched.body, what)
    }

    /// What the app supports: read once (`/ServiceProviderConfig`, `/Schemas`, and
    /// `/ResourceTypes` when `/Schemas` does not list the Group schema), then kept.
    pub(crate) async fn features(&self) -> Result<Features, ConnectorError> {
        if let Some(known) = self.features.lock().ok().and_then(|f| f.clone()) {
            return Ok(known);
        }
        self.discover().await
    }

    /// Reads the discovery documents again and keeps what they say.
    pub(crate) async fn discover(&self) -> Result<Features, ConnectorError> {
        let spc_url = self.url(&["ServiceProviderConfig"]);
        let features = match self
            .get_json("discovery", &spc_url, "reading /ServiceProviderConfig")
            .await
        {
            Ok(spc) => {
                let schemas = self
                    .get_json("discovery", &self.url(&["Schemas"]), "reading /Schemas")
                    .await;
                if let Err(e) = &schemas {
                    tracing::debug!(error = %e, "the app's /Schemas could not be read");
                }
                let mut features = Features::from_documents(&spc, schemas.ok().as_ref());
                if !features.groups {
                    // Some apps serve no (or a partial) /Schemas but list their resource types.
                    let types = self
                        .get_json(
                            "discovery",
                            &self.url(&["ResourceTypes"]),
                            "reading /ResourceTypes",
                        )
                        .await;
                    features.groups = types.is_ok_and(|t| Features::lists_groups(&t));
                }
                features
            }
            // An app without discovery documents: assume, and adapt on the first refusal.
            Err(ConnectorError::NotFound(_) | ConnectorError::Protocol(_)) => Features::assumed(),
            Err(other) => return Err(other),
        };
        if let Ok(mut slot) = self.features.lock() {
            *slot = Some(features.clone());
        }
        Ok(features)
    }

    /// Whether writes go by PATCH: announced, and never refused.
    pub(crate) fn use_patch(&self, features: &Features) -> bool {
        features.patch && !self.patch_refused.load(Ordering::Relaxed)
    }
}

pub(crate) fn parse_json(body: &[u8], what: &str) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| {
        ConnectorError::Protocol(format!(
            "{what}: the app's answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

#[async_trait]
impl Connector for ScimAppConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: false,
            signins: false,
            push: false,
            actions: vec![ActionKind::DisableAccount, ActionKind::EnableAccount],
        }
    }

    /// Reads the discovery documents and one user: reports what the app supports.
    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let features = self.discover().await?;
        let mut url = self.url(&["Users"]);
        url.query_pairs_mut()
            .append_pair("startIndex", "1")
            .append_pair("count", "1");
        let list = self.get_json("users", &url, "reading one user").await?;
        let mut notes = features.notes();
        if let Some(total) = list.get("totalResults").and_then(Value::as_u64) {
            notes.push(format!("the app holds {total} users"));
        }
        Ok(CheckReport {
            principal: Some(format!(
                "SCIM client of {}",
                self.base.host_str().unwrap_or("the app")
            )),
            notes,
        })
    }

    async fn users_page(
        &self,
        mode: PullMode,
        cursor: Option<&str>,
    ) -> Result<Page<ProviderUser>, ConnectorError> {
        crate::users::users_page(self, mode, cursor).await
    }

    async fn act(
        &self,
        action: ActionKind,
        target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        crate::actions::act(self, action, target).await
    }

    async fn provision(
        &self,
        desired: &[DesiredAccount],
        state: Option<&str>,
    ) -> Result<ProvisionReport, ConnectorError> {
        crate::provision::provision(self, desired, state).await
    }

    /// The app serves the Group schema: memberships are provisioned with the users.
    async fn provisions_groups(&self) -> Result<bool, ConnectorError> {
        Ok(self.features().await?.groups)
    }

    async fn provision_sweep(
        &self,
        keep: &HashSet<String>,
        state: Option<&str>,
    ) -> Result<ProvisionReport, ConnectorError> {
        crate::provision::sweep(self, keep, state).await
    }
}
