//! Prometheus metrics: requests by route, method and status; a latency histogram by route; the
//! store's size; the push inbox and the risk runner; and what the engine counted (pulls, provider
//! 429s, actions, detections, output failures).
//!
//! Every label has a fixed set of values, so the number of series cannot grow with what clients
//! send: `route` is the matched route template or `unmatched`, `method` a standard method or
//! `other`, `status` what this server answers. Counters end in `_total` (the library appends it);
//! gauges are kept for values that go down.

use std::sync::atomic::Ordering;

use std::sync::{Arc, Mutex};

use gatehouse_engine::stats::{EngineStats, LatencySnapshot};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The `method` label: the methods this API routes, and `other` for anything else.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(clippy::upper_case_acronyms)]
enum Method {
    GET,
    HEAD,
    POST,
    PUT,
    PATCH,
    DELETE,
    OPTIONS,
    #[allow(non_camel_case_types)]
    other,
}

impl Method {
    fn of(method: &http::Method) -> Self {
        match *method {
            http::Method::GET => Self::GET,
            http::Method::HEAD => Self::HEAD,
            http::Method::POST => Self::POST,
            http::Method::PUT => Self::PUT,
            http::Method::PATCH => Self::PATCH,
            http::Method::DELETE => Self::DELETE,
            http::Method::OPTIONS => Self::OPTIONS,
            _ => Self::other,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: Method,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Labels of the engine's counters; every value is one of the engine's fixed names.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutputLabels {
    output: &'static str,
}

type HistogramMaker = fn() -> Histogram;

/// A histogram counted by the engine (its buckets are atomics there), copied at each scrape.
#[derive(Debug, Clone)]
struct CopiedHistogram(Arc<Mutex<LatencySnapshot>>);

impl Default for CopiedHistogram {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LatencySnapshot {
            buckets: gatehouse_engine::stats::PUSH_LATENCY_BUCKETS
                .iter()
                .map(|bound| (*bound, 0))
                .collect(),
            count: 0,
            sum_seconds: 0.0,
        })))
    }
}

impl EncodeMetric for CopiedHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let Ok(snapshot) = self.0.lock() else {
            return Ok(());
        };
        // The text encoder wants per-bucket counts and adds them up itself, and the `+Inf`
        // bucket last.
        let mut buckets = Vec::with_capacity(snapshot.buckets.len() + 1);
        let mut previous = 0;
        for (bound, cumulative) in &snapshot.buckets {
            buckets.push((*bound, cumulative - previous));
            previous = *cumulative;
        }
        buckets.push((f64::MAX, snapshot.count - previous));
        encoder.encode_histogram::<()>(snapshot.sum_seconds, snapshot.count, &buckets, None)
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        prometheus_client::metrics::MetricType::Histogram
    }
}

/// The daemon's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, HistogramMaker>,
    store_size: Gauge,
    risk_dropped: Counter,
    inbox_backlog: Gauge,
    risk_queue: Gauge,
    inbox_rounds: Counter,
    inbox_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    pulls: Family<JobLabels, Counter>,
    rate_limited: Family<ProviderLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    detections: Family<KindLabels, Counter>,
    output_failures: Family<OutputLabels, Counter>,
    output_queued: Family<OutputLabels, Gauge>,
    assessed: Counter,
    push_assessed: CopiedHistogram,
}

/// A count as a gauge value (prometheus-client gauges are `i64`).
fn saturating(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// Brings a counter up to a total counted elsewhere; `fetch_max` keeps it monotonic when two
/// scrapes race.
fn catch_up(counter: &Counter, total: u64) {
    counter.inner().fetch_max(total, Ordering::Relaxed);
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gatehouse");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, HistogramMaker>::new_with_constructor(
            latency_histogram,
        );
        let metrics = Self {
            requests: requests.clone(),
            latency: latency.clone(),
            store_size: Gauge::default(),
            risk_dropped: Counter::default(),
            inbox_backlog: Gauge::default(),
            risk_queue: Gauge::default(),
            inbox_rounds: Counter::default(),
            inbox_lag: Gauge::default(),
            pulls: Family::default(),
            rate_limited: Family::default(),
            actions: Family::default(),
            detections: Family::default(),
            output_failures: Family::default(),
            output_queued: Family::default(),
            assessed: Counter::default(),
            push_assessed: CopiedHistogram::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            requests,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            latency,
        );
        registry.register(
            "store_size_bytes",
            "Bytes the inventory store occupies on disk",
            metrics.store_size.clone(),
        );
        registry.register(
            "risk_unassessed_signins",
            "Sign-ins stored but not assessed because the risk runner had stopped",
            metrics.risk_dropped.clone(),
        );
        registry.register(
            "inbox_backlog_bytes",
            "Pushed deliveries acknowledged but not yet stored, in journal bytes",
            metrics.inbox_backlog.clone(),
        );
        registry.register(
            "inbox_lag_seconds",
            "From receipt to stored, for the most recently stored pushed delivery",
            metrics.inbox_lag.clone(),
        );
        registry.register(
            "inbox_commit_rounds",
            "Group-commit rounds of the push inbox's journal (one fdatasync each)",
            metrics.inbox_rounds.clone(),
        );
        registry.register(
            "risk_queued_batches",
            "Batches of stored sign-ins waiting for risk assessment",
            metrics.risk_queue.clone(),
        );
        registry.register(
            "pulls",
            "Pull runs by job (users, full_users, groups, signins) and outcome",
            metrics.pulls.clone(),
        );
        registry.register(
            "provider_rate_limited",
            "429 answers from providers, by provider type (retried ones included)",
            metrics.rate_limited.clone(),
        );
        registry.register(
            "actions",
            "Response actions that reached a final status, by action and outcome",
            metrics.actions.clone(),
        );
        registry.register(
            "detections",
            "New detections by kind",
            metrics.detections.clone(),
        );
        registry.register(
            "output_failures",
            "Alert documents an output (webhook, jsonl) could not take: its queue was full or \
             its retries ran out",
            metrics.output_failures.clone(),
        );
        registry.register(
            "output_queued_documents",
            "Alert documents waiting in an output's queue",
            metrics.output_queued.clone(),
        );
        registry.register(
            "signins_assessed",
            "Sign-ins the risk runner assessed, pulled and pushed",
            metrics.assessed.clone(),
        );
        registry.register(
            "push_assessed_seconds",
            "From the receipt of a pushed delivery to each of its new sign-ins assessed: what a \
             sender waits until an attack in its events can be acted on",
            metrics.push_assessed.clone(),
        );
        for output in ["webhook", "jsonl"] {
            // Every series exists from the first scrape, at 0.
            drop(
                metrics
                    .output_failures
                    .get_or_create(&OutputLabels { output }),
            );
        }
        Self {
            registry,
            ..metrics
        }
    }

    /// Counts a request. `route` is the matched route's template (or `unmatched`), never the
    /// raw path.
    pub(crate) fn observe(&self, route: &str, method: &http::Method, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: Method::of(method),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub(crate) fn set_store_size(&self, bytes: u64) {
        self.store_size.set(saturating(bytes));
    }

    pub(crate) fn set_risk(&self, dropped: u64, queued_batches: usize) {
        catch_up(&self.risk_dropped, dropped);
        self.risk_queue.set(saturating(queued_batches));
    }

    pub(crate) fn set_inbox(&self, backlog_bytes: u64, rounds: u64, lag: std::time::Duration) {
        self.inbox_backlog.set(saturating(backlog_bytes));
        catch_up(&self.inbox_rounds, rounds);
        self.inbox_lag.set(lag.as_secs_f64());
    }

    /// Copies the engine's counters; every series exists from the first scrape, at 0.
    pub(crate) fn set_engine(&self, stats: &EngineStats) {
        for (job, outcome, n) in stats.pulls() {
            catch_up(&self.pulls.get_or_create(&JobLabels { job, outcome }), n);
        }
        for (provider, n) in stats.rate_limits() {
            catch_up(
                &self
                    .rate_limited
                    .get_or_create(&ProviderLabels { provider }),
                n,
            );
        }
        for (action, outcome, n) in stats.actions() {
            catch_up(
                &self
                    .actions
                    .get_or_create(&ActionLabels { action, outcome }),
                n,
            );
        }
        for (kind, n) in stats.detections() {
            catch_up(&self.detections.get_or_create(&KindLabels { kind }), n);
        }
        catch_up(&self.assessed, stats.assessed_total());
        if let Ok(mut copy) = self.push_assessed.0.lock() {
            *copy = stats.push_latency();
        }
    }

    /// An output sink's queue depth and the documents it could not take (its dead letters).
    pub(crate) fn set_output(&self, output: &'static str, queued: usize, dead_letters: u64) {
        let labels = OutputLabels { output };
        self.output_queued
            .get_or_create(&labels)
            .set(saturating(queued));
        catch_up(&self.output_failures.get_or_create(&labels), dead_letters);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
