//! Prometheus metrics: requests by route, method and status; a latency histogram by route; the
//! store's size on disk.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

/// One alert sink: `webhook` or `jsonl` (a fixed set).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SinkLabels {
    sink: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type HistogramMaker = fn() -> Histogram;

/// The daemon's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, HistogramMaker>,
    store_size: Gauge,
    risk_dropped: Gauge,
    inbox_backlog: Gauge,
    risk_queue: Gauge,
    inbox_rounds: Gauge,
    inbox_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    output_queued: Family<SinkLabels, Gauge>,
    output_dead_letters: Family<SinkLabels, Counter>,
}

/// A count as a gauge value (prometheus-client gauges are `i64`).
fn saturating(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
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
        let store_size = Gauge::default();
        let risk_dropped = Gauge::default();
        let inbox_backlog = Gauge::default();
        let risk_queue = Gauge::default();
        let inbox_rounds = Gauge::default();
        let inbox_lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let output_queued = Family::<SinkLabels, Gauge>::default();
        let output_dead_letters = Family::<SinkLabels, Counter>::default();
        registry.register(
            "output_queued_documents",
            "Alert documents waiting in an output sink's queue",
            output_queued.clone(),
        );
        registry.register(
            "output_dead_letters",
            "Alert documents an output sink dropped (queue full or retries exhausted)",
            output_dead_letters.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "store_size_bytes",
            "Bytes the inventory store occupies on disk",
            store_size.clone(),
        );
        registry.register(
            "risk_unassessed_signins",
            "Sign-ins stored but not assessed because the risk runner had stopped (since start)",
            risk_dropped.clone(),
        );
        registry.register(
            "inbox_backlog_bytes",
            "Pushed deliveries acknowledged but not yet stored, in journal bytes",
            inbox_backlog.clone(),
        );
        registry.register(
            "inbox_lag_seconds",
            "From receipt to stored, for the most recently stored pushed delivery",
            inbox_lag.clone(),
        );
        registry.register(
            "inbox_commit_rounds",
            "Group-commit rounds of the push inbox's journal since start (one fdatasync each)",
            inbox_rounds.clone(),
        );
        registry.register(
            "risk_queued_batches",
            "Batches of stored sign-ins waiting for risk assessment",
            risk_queue.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            store_size,
            risk_dropped,
            risk_queue,
            inbox_rounds,
            inbox_backlog,
            inbox_lag,
            output_queued,
            output_dead_letters,
        }
    }

    pub(crate) fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
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
        self.risk_dropped.set(saturating(dropped));
        self.risk_queue.set(saturating(queued_batches));
    }

    pub(crate) fn set_inbox(&self, backlog_bytes: u64, rounds: u64, lag: std::time::Duration) {
        self.inbox_backlog.set(saturating(backlog_bytes));
        self.inbox_rounds.set(saturating(rounds));
        self.inbox_lag.set(lag.as_secs_f64());
    }

    pub(crate) fn set_output(&self, sink: &'static str, queued: usize, dead_letters: u64) {
        let labels = SinkLabels { sink };
        self.output_queued
            .get_or_create(&labels)
            .set(saturating(queued));
        // The engine keeps the running total; the counter catches up with it.
        let counter = self.output_dead_letters.get_or_create(&labels);
        counter.inc_by(dead_letters.saturating_sub(counter.get()));
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
