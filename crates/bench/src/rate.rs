//! An open-loop load generator: requests go out on a fixed schedule (`rate` a second) whether or
//! not earlier ones were answered, over at most `connections` connections, and each latency is
//! taken from the moment its request was *due*. A closed loop at saturation measures queueing
//! (its latency is connections ÷ throughput); this measures what a sender at a given rate sees,
//! stalls included (no coordinated omission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio::time::MissedTickBehavior;

use crate::load::{BodyFn, Report};

pub async fn run(
    url: &str,
    rate: f64,
    connections: usize,
    duration: Duration,
    body: BodyFn,
) -> anyhow::Result<Report> {
    anyhow::ensure!(rate > 0.0, "the rate must be positive");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()?;
    let connections = Arc::new(Semaphore::new(connections));
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Option<Duration>>();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut sent = 0u64;
    while sent < total {
        ticker.tick().await;
        let due_now = ((started.elapsed().as_secs_f64() * rate) as u64).min(total);
        for n in sent..due_now {
            let due = started + Duration::from_secs_f64(n as f64 / rate);
            let (client, url, body) = (client.clone(), url.to_owned(), Arc::clone(&body));
            let (connections, done) = (Arc::clone(&connections), done_tx.clone());
            tokio::spawn(async move {
                // Waiting for a free connection is part of the latency: the request was due.
                let Ok(_connection) = connections.acquire_owned().await else {
                    return;
                };
                let result = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body(n))
                    .send()
                    .await;
                let ok = matches!(&result, Ok(response) if response.status().is_success());
                let _ = done.send(ok.then(|| due.elapsed()));
            });
        }
        sent = due_now;
    }
    drop(done_tx);
    let (mut latencies, mut errors) = (Vec::with_capacity(total as usize), 0);
    while let Some(outcome) = done_rx.recv().await {
        match outcome {
            Some(latency) => latencies.push(latency),
            None => errors += 1,
        }
    }
    Ok(Report::from_latencies(latencies, errors, started.elapsed()))
}
