//! One alert sink behind a bounded queue with its own worker: `emit` only queues, so detection
//! and action queueing never wait on a slow or dead webhook (it used to post inline, up to four
//! 10 s attempts per detection, which held every tenant's assessments behind it).
//!
//! A document that finds the queue full, or that the worker gives up on after its retries, is
//! a dead letter: counted (exported as a metric) and logged, never retried later. The queue is
//! bounded so that a dead webhook costs a fixed amount of memory.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// Documents a sink holds before new ones become dead letters.
pub(crate) const QUEUE_DOCUMENTS: usize = 1_024;

/// What a sink has done since start.
#[derive(Debug, Default)]
pub struct SinkStats {
    delivered: AtomicU64,
    dead_letters: AtomicU64,
}

impl SinkStats {
    /// Documents delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Documents dropped: the queue was full, or every retry failed.
    pub fn dead_letters(&self) -> u64 {
        self.dead_letters.load(Ordering::Relaxed)
    }
}

/// The sending side of one sink.
pub(crate) struct Sink {
    name: &'static str,
    queue: mpsc::Sender<Arc<str>>,
    stats: Arc<SinkStats>,
}

impl Sink {
    /// Starts a worker on `runtime` that hands each queued document to `deliver`, which retries
    /// as it sees fit and says whether the document got through.
    pub(crate) fn start<F, Fut>(
        name: &'static str,
        capacity: usize,
        runtime: &tokio::runtime::Handle,
        deliver: F,
    ) -> Self
    where
        F: Fn(Arc<str>) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send,
    {
        let (queue, mut receiver) = mpsc::channel::<Arc<str>>(capacity.max(1));
        let stats = Arc::new(SinkStats::default());
        let worker = Arc::clone(&stats);
        runtime.spawn(async move {
            while let Some(document) = receiver.recv().await {
                if deliver(document).await {
                    worker.delivered.fetch_add(1, Ordering::Relaxed);
                } else {
                    worker.dead_letters.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(sink = name, "an alert could not be delivered; dropped");
                }
            }
        });
        Self { name, queue, stats }
    }

    /// Queues a document without waiting; a full queue makes it a dead letter.
    pub(crate) fn offer(&self, document: Arc<str>) {
        if self.queue.try_send(document).is_err() {
            self.stats.dead_letters.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(sink = self.name, "alert output queue full; alert dropped");
        }
    }

    /// Documents waiting for the worker.
    pub(crate) fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    pub(crate) fn stats(&self) -> &SinkStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A sink whose deliveries never finish neither blocks `offer` nor grows past its queue:
    /// the overflow is counted as dead letters.
    #[tokio::test]
    async fn a_stuck_sink_never_blocks_the_caller_and_counts_its_overflow() {
        let sink = Sink::start("test", 4, &tokio::runtime::Handle::current(), |_| async {
            std::future::pending::<bool>().await
        });
        let started = std::time::Instant::now();
        for n in 0..20 {
            sink.offer(Arc::from(format!("doc {n}")));
        }
        assert!(started.elapsed() < Duration::from_millis(100));
        // Four fitted the queue (the worker had not run yet), the rest are dead letters.
        assert_eq!(sink.stats().dead_letters(), 16);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // One is in the worker's hands for good; the others wait.
        assert_eq!(sink.queued(), 3);
    }
}
