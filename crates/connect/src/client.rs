//! The outbound HTTP client every connector uses: timeouts, no redirects (a redirect could lead
//! off the provider's hosts), retries with backoff on transport errors, 5xx and 429, waits that
//! honour `Retry-After` and the provider's budget headers, and errors with secrets redacted.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gatehouse_core::provider::{CallObserver, ConnectorContext, ConnectorError};
use gatehouse_core::validate::{is_internal_host, is_internal_ip};
use gatehouse_core::Clock;
use http::{HeaderMap, StatusCode};
use rand::SeedableRng;

use crate::backoff::{retry_after, Backoff};
use crate::ratelimit::{RateBudget, RateHeaders, RateState};
use crate::redact;

/// Why a public-only client refused a host.
pub const REFUSED_INTERNAL: &str =
    "refused: the host is or resolves to a loopback, private, link-local or other internal \
     address, and custom endpoints are disabled";

fn build_client(timeout: Duration, public_only: bool) -> Result<reqwest::Client, CallError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")));
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
    }
    builder
        .build()
        .map_err(|e| CallError::Setup(e.without_url().to_string()))
}

/// Resolves with the system resolver, then refuses a name any of whose addresses is internal
/// (all of them, not the first: a name answering a public and a private address would otherwise
/// reach the private one on a retry or a reconnect).
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if is_internal_host(&host) {
                return Err(REFUSED_INTERNAL.into());
            }
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.iter().any(|addr| is_internal_ip(addr.ip())) {
                return Err(REFUSED_INTERNAL.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// The longest single wait for a rate-limit reset.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            backoff: Backoff::default(),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// Why a call failed after its retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url} answered {status} after {attempts} attempts")]
    Server {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url} kept answering 429 after {attempts} attempts")]
    RateLimited {
        url: String,
        retry_after: Option<Duration>,
        attempts: u32,
    },
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
}

impl From<CallError> for ConnectorError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::RateLimited { retry_after, .. } => Self::RateLimited { retry_after },
            CallError::Setup(reason) => Self::InvalidConfig(reason),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// A complete answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The shared outbound client of one integration.
pub struct HttpClient {
    http: reqwest::Client,
    timeout: Duration,
    /// Refuses internal addresses (custom endpoints disabled): see [`HttpClient::public_only`].
    public_only: bool,
    clock: Arc<dyn Clock>,
    budget: Arc<RateBudget>,
    rate_headers: Option<RateHeaders>,
    policy: RetryPolicy,
    observer: Option<Arc<dyn CallObserver>>,
}

impl HttpClient {
    pub fn new(
        clock: Arc<dyn Clock>,
        budget: Arc<RateBudget>,
        rate_headers: Option<RateHeaders>,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, CallError> {
        let http = build_client(timeout, false)?;
        Ok(Self {
            http,
            timeout,
            public_only: false,
            clock,
            budget,
            rate_headers,
            policy,
            observer: None,
        })
    }

    /// With `true` (custom endpoints disabled), never connects to an internal address
    /// ([`is_internal_ip`]): a URL naming one is refused before any request, and a host name is
    /// resolved by a resolver that refuses it when any of its addresses is internal, so neither
    /// a DNS name pointing at loopback or a private network nor a rebinding one reaches there.
    /// Redirects are never followed, so none can lead there either.
    pub fn public_only(mut self, public_only: bool) -> Result<Self, CallError> {
        if public_only != self.public_only {
            self.http = build_client(self.timeout, public_only)?;
            self.public_only = public_only;
        }
        Ok(self)
    }

    /// The client of a connector built from `context`: its clock and 429 observer, a budget of
    /// `rate_limit_share` of the provider's limits, and, unless the operator allowed custom
    /// endpoints, no request to an internal address (SSRF). In one place so that no connector
    /// can forget the last.
    pub fn for_connector(
        context: &ConnectorContext,
        rate_limit_share: f64,
        rate_headers: Option<RateHeaders>,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let budget = Arc::new(RateBudget::new(rate_limit_share));
        let client = Self::new(
            Arc::clone(&context.clock),
            budget,
            rate_headers,
            policy,
            timeout,
        )
        .and_then(|http| http.public_only(!context.allow_custom_endpoints))?;
        Ok(client.with_observer(context.observer.clone()))
    }

    /// Reports every 429 to `observer` (the daemon's metrics), retried or not.
    pub fn with_observer(mut self, observer: Option<Arc<dyn CallObserver>>) -> Self {
        self.observer = observer;
        self
    }

    pub fn budget(&self) -> &RateBudget {
        &self.budget
    }

    /// Sends the request `build` makes, retrying transient failures, and reads the whole body.
    /// 4xx answers other than 429 are returned for the connector to interpret, and so is 501
    /// Not Implemented: the server lacks the feature (a SCIM app without PATCH), which no retry
    /// changes.
    pub async fn send(
        &self,
        bucket: &str,
        url_for_errors: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Fetched, CallError> {
        self.send_checked(bucket, url_for_errors, build, |_| true)
            .await
    }

    /// Like [`send`](Self::send), but a 2xx answer whose body is not JSON (cut short by a proxy
    /// or a reset) is retried like a transport error instead of handed back.
    pub async fn send_json(
        &self,
        bucket: &str,
        url_for_errors: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Fetched, CallError> {
        self.send_checked(bucket, url_for_errors, build, |fetched| {
            !fetched.status.is_success()
                || fetched.body.is_empty()
                || serde_json::from_slice::<serde::de::IgnoredAny>(&fetched.body).is_ok()
        })
        .await
    }

    async fn send_checked(
        &self,
        bucket: &str,
        url_for_errors: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        complete: impl Fn(&Fetched) -> bool,
    ) -> Result<Fetched, CallError> {
        let shown = redact::url(url_for_errors);
        if self.public_only {
            let request = build(&self.http)
                .build()
                .map_err(|e| CallError::Setup(e.without_url().to_string()))?;
            if request.url().host().is_some_and(|host| match host {
                url::Host::Ipv4(v4) => is_internal_ip(v4.into()),
                url::Host::Ipv6(v6) => is_internal_ip(v6.into()),
                url::Host::Domain(name) => is_internal_host(name),
            }) {
                return Err(CallError::Transport {
                    url: shown,
                    reason: REFUSED_INTERNAL.to_owned(),
                });
            }
        }
        let mut rng = rand::rngs::StdRng::from_entropy();
        let mut attempt: u32 = 0;
        loop {
            if let Some(wait) = self.budget.wait(bucket, self.clock.now()) {
                let wait = wait.min(self.policy.max_wait);
                tracing::debug!(
                    bucket,
                    wait_ms = wait.as_millis() as u64,
                    "rate budget share spent; waiting for reset"
                );
                tokio::time::sleep(wait).await;
            }
            let last = attempt + 1 >= self.policy.max_attempts;
            let outcome = match self.attempt(&build).await {
                Ok(fetched) if !complete(&fetched) => {
                    Err("the answer's body is incomplete or not JSON".to_owned())
                }
                other => other,
            };
            match outcome {
                Err(reason) => {
                    if last {
                        return Err(CallError::Transport { url: shown, reason });
                    }
                    tracing::warn!(url = %shown, attempt, %reason, "request failed; retrying");
                    tokio::time::sleep(self.policy.backoff.delay(attempt, &mut rng)).await;
                }
                Ok(fetched) => {
                    if let Some(names) = self.rate_headers {
                        if let Some(state) =
                            RateState::from_headers(&fetched.headers, names, self.clock.now())
                        {
                            self.budget.observe(bucket, state);
                        }
                    }
                    let status = fetched.status;
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        if let Some(observer) = &self.observer {
                            observer.rate_limited();
                        }
                        let wait = self.rate_limit_wait(&fetched.headers);
                        if last {
                            return Err(CallError::RateLimited {
                                url: shown,
                                retry_after: wait,
                                attempts: attempt + 1,
                            });
                        }
                        let wait = wait
                            .unwrap_or_else(|| self.policy.backoff.delay(attempt, &mut rng))
                            .min(self.policy.max_wait);
                        tracing::warn!(url = %shown, attempt, wait_ms = wait.as_millis() as u64, "rate limited (429); waiting");
                        tokio::time::sleep(wait).await;
                    } else if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
                        if last {
                            return Err(CallError::Server {
                                url: shown,
                                status: status.as_u16(),
                                attempts: attempt + 1,
                            });
                        }
                        tracing::warn!(url = %shown, attempt, status = status.as_u16(), "provider error; retrying");
                        tokio::time::sleep(self.policy.backoff.delay(attempt, &mut rng)).await;
                    } else {
                        return Ok(fetched);
                    }
                }
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Fetched, String> {
        let response = build(&self.http).send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        // A body cut short (reset, truncated) fails here and is retried like any transport error.
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("reading the body: {}", transport(e)))?;
        Ok(Fetched {
            status,
            headers,
            body,
        })
    }

    /// How long a 429 asks us to wait: `Retry-After`, else until the budget's reset.
    fn rate_limit_wait(&self, headers: &HeaderMap) -> Option<Duration> {
        let now = self.clock.now();
        retry_after(headers, now).or_else(|| {
            let names = self.rate_headers?;
            let state = RateState::from_headers(headers, names, now)?;
            Some(
                (state.reset_at - now).to_std().unwrap_or(Duration::ZERO)
                    + Duration::from_millis(250),
            )
        })
    }
}

/// What went wrong on the wire, for an integration's status: reqwest's own message is the same
/// "error sending request" for a timeout, a refused connection and a reset, so the kind and
/// the underlying causes (io and protocol errors, never the URL) are named.
fn transport(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        let line = inner.to_string();
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = inner.source();
    }
    text
}
