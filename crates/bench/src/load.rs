//! A closed-loop HTTP load generator: `connections` tasks each send one request at a time for a
//! fixed duration; latencies are recorded per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The report of the successful requests' `latencies` (in any order).
    pub fn from_latencies(mut latencies: Vec<Duration>, errors: u64, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        let at = |q: f64| -> Duration {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies[index.min(latencies.len() - 1)]
        };
        Self {
            requests: latencies.len() as u64,
            errors,
            elapsed,
            p50: at(0.50),
            p99: at(0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

/// Builds the request body for request number `n`.
pub type BodyFn = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

pub async fn run(
    url: &str,
    connections: usize,
    duration: Duration,
    body: BodyFn,
) -> anyhow::Result<Report> {
    run_split(&[url.to_owned()], connections, duration, body).await
}

/// [`run`] with its connections spread over `urls` (connection k sends to `urls[k % len]`): the
/// load split across replicas.
pub async fn run_split(
    urls: &[String],
    connections: usize,
    duration: Duration,
    body: BodyFn,
) -> anyhow::Result<Report> {
    anyhow::ensure!(!urls.is_empty(), "no URL to load");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()?;
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for k in 0..connections {
        let url = urls[k % urls.len()].clone();
        let (client, body) = (client.clone(), Arc::clone(&body));
        let (counter, errors) = (Arc::clone(&counter), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let result = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body(n))
                    .send()
                    .await;
                match result {
                    Ok(response) if response.status().is_success() => {
                        latencies.push(sent.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    Ok(Report::from_latencies(
        latencies,
        errors.load(Ordering::Relaxed),
        started.elapsed(),
    ))
}
